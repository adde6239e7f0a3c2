package sysinfo

import (
	"github.com/immyoss/engine/immy"
)

// NormalizeVersion reads a version as a package manager or an installer writes
// it (a registry DisplayVersion, dpkg's or rpm's Version) into an immy.Version.
// It is immy.ParseInventoryVersion: the one reading of a version that the
// catalogue uses too, so a detected version and a catalogue version written
// the same always compare equal. The text is kept as written; what it means is
// read by the rules of immy.Version: a Debian epoch is dropped ("1:9.2p1-2" is
// 9.2p1-2), a package revision sorts after its base ("2.36-9+deb12u7" is
// 2.36-9, the distribution's "+deb12u7" kept but not compared), "~rc2" is a
// pre-release, "6.0.2 (37600)" has the build 37600, "25.01 (x64)" is 25.01.
// Text that holds no version ("fd431d51", "Unknown") gives the zero Version:
// the entry stays in the inventory, present with an unknown version.
func NormalizeVersion(raw string) immy.Version {
	return immy.ParseInventoryVersion(raw)
}
