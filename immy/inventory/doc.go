// Package inventory reads a computer's installed software: the built-in
// inventory scripts that run through any immy.ScriptRunner, and the parsers
// of what they print, which are also the parsers the engine's agent reads
// its own machine with (agent/sysinfo). One reading of an inventory,
// whichever way the computer is reached.
//
// # Through any runner
//
// Collect runs the script of a platform through a runner and parses its
// output:
//
//	p, ok := inventory.PlatformOf(computer.OS) // "Windows 11 Pro" -> Windows
//	sw, err := inventory.Collect(ctx, runner, computer.ID, p)
//
// A plugin author (an RMM whose API runs scripts but lists no software)
// does the same in two steps: Script(p) gives the script to run through the
// RMM, Parse(output) reads what it printed. The scripts:
//
//   - Linux (sh, no root needed): dpkg-query for dpkg's installed packages
//     and rpm -qa where an rpm database is, with their publishers (dpkg's
//     Origin or Maintainer, rpm's Vendor).
//   - Windows (PowerShell 5.1 or 7, as SYSTEM): the Uninstall keys of HKLM,
//     HKLM\SOFTWARE\WOW6432Node (32-bit software on 64-bit Windows) and every
//     loaded user hive under HKU (per-user installs), with DisplayName,
//     DisplayVersion, Publisher, the product code (the key's name, for
//     Windows Installer products) and the upgrade code (from the Windows
//     Installer's UpgradeCodes). System components and updates of other
//     products are left out, as the agent leaves them out.
//
// The scripts print sections, each in the native format of its source, so
// that each is read by the one parser of that format (see Parse for the
// format). The output ends with an end mark: output cut short by a runner's
// cap is an error, never an inventory missing software (which a session
// would take for absent and install again).
//
// # The parsers
//
// ParseDpkgStatus (dpkg's status database), ParseRPMQuery (rpm -qa with
// RPMQueryFormat) and WindowsSoftware (Uninstall entries and upgrade codes)
// turn each source into immy.DetectedSoftware, versions read by
// immy.ParseInventoryVersion, sorted by Sort. Malformed input is reported
// with line numbers, every problem at once (up to 20), and never panics.
// UnpackGUID and PackGUID convert the Windows Installer's packed GUIDs.
package inventory
