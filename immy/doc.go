// Package immy is the vocabulary of the engine: the types every other package
// speaks, and the rules that hold within a fleet regardless of how it is used.
//
// A [Fleet] holds tenants (a tree), persons, computers with their detected
// software, groups, PSA agreements, the catalogue of [Software] and [Task] items,
// [Deployment] values that give an item a desired state on a [Target], and
// schedules. It is plain data: build it by hand, with immytest's builders, or
// load it from a fleet file with the fleetfile subpackage.
//
// Enumerations are small integer types whose String, MarshalText and
// UnmarshalText use the fleet file's spelling ("workstations-and-portable",
// "update-if-found"); an unknown spelling is an [*EnumError].
//
// [Version] is the version of Windows, installers and package managers, read by
// one set of documented rules everywhere ([ParseVersion] for the catalogue,
// [ParseInventoryVersion] for inventories): numeric segments with leading zeros
// kept in the text (23.006.20320 compares equal to 23.6.20320), v prefixes,
// glued pre-releases (3.13.0rc1), labels (1.1.1w, 2.47.1.windows.2), package
// revisions (3.0.8-1), numeric builds (17.0.17+11), dates and more.
// [Constraint] checks versions of any length against ">=17 <18", "~10.0.19045"
// or "^1.2 || 2.x":
//
//	a := immy.MustParseVersion("10.0.19045.999")
//	b := immy.MustParseVersion("10.0.19045.4000")
//	a.Less(b) // true
//
// [Fleet.Validate] reports every problem at once as [Problems], each naming its
// section, entity id and field; the fleetfile package adds file and line. Errors
// wrap the sentinels [ErrInvalid], [ErrNotFound] and [ErrCycle], and a cycle comes
// with its whole path as a [*CycleError].
//
// immy imports only the standard library and semver.
package immy
