// Package sysinfo reads what the agent reports of the machine it runs on:
// its identity, its installed software and its logged-on users.
//
//	var src sysinfo.Source // the running machine
//	inv, err := src.Inventory(ctx)
//
// On Linux it reads files, so a Source with Root set reads any Linux file
// system, whatever the OS: recorded machines under testdata, or a host's
// root mounted into a container.
//
//   - identity: /sys/class/dmi/id (product_uuid, product_serial, sys_vendor,
//     product_name, chassis_type), /etc/os-release (and /etc/debian_version
//     for Debian's point release), /etc/machine-id, the kernel's hostname;
//     the domain from sssd.conf, else the hostname's DNS suffix; the kind
//     from the chassis, a Samba AD domain controller's smb.conf, else a
//     workstation when a desktop session type is installed and a server
//     otherwise (virtual machines report chassis "other");
//   - software: dpkg's status database, and rpm -qa when an rpm database
//     and rpm are there;
//   - logged-on users: systemd-logind's session files (greeters left out),
//     merged with utmp.
//
// On Windows it reads the registry and the system's APIs into a
// WindowsSnapshot: MachineGuid, ProductType (workstation, server, domain
// controller; the PDC emulator via DsGetDcName), the CurrentVersion values
// (with Windows 11's name corrected from its build), the SMBIOS table
// (GetSystemFirmwareTable, parsed by ParseSMBIOS), the domain joined, the
// Remote Desktop Services sessions' users with their user principal names,
// and the Uninstall keys of HKLM, its WOW6432Node and every loaded user hive,
// with upgrade codes from the Windows Installer's UpgradeCodes. A recorded
// snapshot (JSON) in Source.Windows gives the same answers on any OS, which
// is how that logic is tested.
//
// Elsewhere (macOS, the BSDs) only the hostname is known; the inventory
// is errors.ErrUnsupported.
//
// Versions as package managers and installers write them go through
// NormalizeVersion, which is immy.ParseInventoryVersion: the catalogue's own
// reading ("1:9.2p1-2+deb12u2" is 9.2p1 revision 2, its text kept); text that
// is no version leaves the entry present with an unknown version. Firmware
// placeholders ("To Be Filled By O.E.M.", "Default string") are dropped,
// hardware UUIDs written in upper case. The parsers (ParseOSRelease,
// ParseDpkgStatus, ParseRPMQuery, ParseUtmp, ParseLogindSession,
// ParseSMBIOS) report malformed input with line numbers or offsets, every
// problem at once, and never panic.
//
// The software parsers (dpkg, rpm, the Uninstall entries) live in package
// immy/inventory, which sysinfo calls: the inventory scripts that reach a
// computer through an RMM print the same formats, and are read by the same
// code, so that a computer's inventory is the same whichever way it is read.
package sysinfo
