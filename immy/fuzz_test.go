package immy_test

import (
	"strings"
	"testing"

	"github.com/immyoss/engine/immy"
)

var versionSeeds = []string{
	"", "1", "1.2", "1.2.0", "01.02", "23.006.20320", "23.6.20320", "10.0.19045.999",
	"10.0.19045.4000", "10.0.19045.10001", "1.2.3.4.5", "3.1.4-beta.1", "3.1.4",
	"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-beta.11", "1.0.0-rc.1+build.5", "1.2-01",
	"1..2", "-1", " 1.2", "18446744073709551616", "1-99999999999999999999",
	"1-1" + strings.Repeat("a", 300), "1-a.-", "1+x", "0-0",
	"v1.81.2", "2.47.0.0.3", "3.13.0a2", "3.13.0rc1", "9.5.0Beta1", "1.1.1w", "9.6p1",
	"6000.3.6f1", "3.0.8-1", "8.15.0_1", "17.0.17+11", "2024-05-01", "2019-01-11_00-10",
	"6.2.3 (47507)", "2.137 (Build 571)", "1,3,0,335", "2.29.2.windows.2", "25.01 (x64)",
	"1:9.2p1-2+deb12u2", "1.0~rc1-1", "latest", "r15", "2.0 Beta 3", "1.0.0.Final",
}

// FuzzParseVersion checks that parsing never panics, that an accepted version
// keeps its text and parses again from it to an equal version, and that a
// rejected one is the zero Version.
func FuzzParseVersion(f *testing.F) {
	for _, s := range versionSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := immy.ParseVersion(s)
		inv := immy.ParseInventoryVersion(s)
		if err != nil {
			if !v.IsZero() {
				t.Fatalf("ParseVersion(%q) failed (%v) but returned %v", s, err, v)
			}
			if !inv.IsZero() {
				t.Fatalf("ParseVersion(%q) failed (%v) but the inventory read %v", s, err, inv)
			}
			return
		}
		// the catalogue and the inventory read every text the same
		if !inv.Equal(v) || inv.String() != v.String() || inv.Canonical() != v.Canonical() {
			t.Fatalf("%q: the catalogue reads %s, the inventory %s", s, v.Canonical(), inv.Canonical())
		}
		if v.String() != s {
			t.Fatalf("ParseVersion(%q).String() = %q", s, v.String())
		}
		w, err := immy.ParseVersion(v.String())
		if err != nil {
			t.Fatalf("ParseVersion(%q) accepted, but its String %q is rejected: %v", s, v.String(), err)
		}
		if !w.Equal(v) || v.Compare(w) != 0 || w.Segments() != v.Segments() || w.Prerelease() != v.Prerelease() || w.Canonical() != v.Canonical() {
			t.Fatalf("%q does not parse again to an equal version", s)
		}
		if v.Compare(v) != 0 {
			t.Fatalf("Compare(%q, itself) != 0", s)
		}
		var u immy.Version
		text, _ := v.MarshalText()
		if err := u.UnmarshalText(text); err != nil || !u.Equal(v) {
			t.Fatalf("%q does not survive MarshalText/UnmarshalText: %v", s, err)
		}
	})
}

// FuzzVersionOrder checks that Compare is a total order on every three parsed
// versions: reflexive, antisymmetric, transitive, and consistent with Equal and Less.
func FuzzVersionOrder(f *testing.F) {
	for i, s := range versionSeeds {
		f.Add(s, versionSeeds[(i+1)%len(versionSeeds)], versionSeeds[(i+7)%len(versionSeeds)])
	}
	f.Add("2", "10", "1"+strings.Repeat("a", 300))
	f.Add("1-2", "1-10", "1-1"+strings.Repeat("a", 300))
	f.Fuzz(func(t *testing.T, a, b, c string) {
		// both entry points: the catalogue's and the inventory's (which may
		// give the zero Version, which takes part in the order too)
		var vs [6]immy.Version
		for i, s := range [3]string{a, b, c} {
			vs[i], _ = immy.ParseVersion(s)
			vs[3+i] = immy.ParseInventoryVersion(s)
		}
		for _, x := range vs {
			if x.Compare(x) != 0 || !x.Equal(x) || x.Less(x) {
				t.Fatalf("%q is not equal to itself", x)
			}
			for _, y := range vs {
				xy, yx := x.Compare(y), y.Compare(x)
				if xy < -1 || xy > 1 {
					t.Fatalf("Compare(%q, %q) = %d, want -1, 0 or 1", x, y, xy)
				}
				if xy != -yx {
					t.Fatalf("Compare(%q, %q) = %d but Compare(%q, %q) = %d", x, y, xy, y, x, yx)
				}
				if x.Equal(y) != (xy == 0) || x.Less(y) != (xy < 0) || x.Equal(y) != (x.Canonical() == y.Canonical()) {
					t.Fatalf("Equal/Less(%q, %q) disagree with Compare = %d", x, y, xy)
				}
				for _, z := range vs {
					yz, xz := y.Compare(z), x.Compare(z)
					if xy <= 0 && yz <= 0 && xz > 0 {
						t.Fatalf("not transitive: %q <= %q <= %q but %q > %q", x, y, z, x, z)
					}
					if xy == 0 && yz == 0 && xz != 0 {
						t.Fatalf("equality not transitive: %q == %q == %q but Compare(%q, %q) = %d", x, y, z, x, z, xz)
					}
				}
			}
		}
	})
}

// FuzzParseDate checks that parsing a date never panics and that an accepted
// date prints as the text it was parsed from.
func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"2026-11-23", "2026-02-29", "2024-02-29", "0001-01-01", "9999-12-31", "2026-1-1", "", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := immy.ParseDate(s)
		if err != nil {
			return
		}
		if d.String() != s {
			t.Fatalf("ParseDate(%q) prints as %q", s, d)
		}
		var back immy.Date
		if err := back.UnmarshalText([]byte(d.String())); err != nil || back != d {
			t.Fatalf("%q does not survive its text: %v", s, err)
		}
	})
}
