package immy_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
)

func TestConstraint(t *testing.T) {
	tests := []struct {
		product, constraint, version string
		want                         bool
	}{
		{"Amazon Corretto 17", ">=17 <18", "17.0.13.11", true},
		{"Amazon Corretto 21 is not 17", ">=17 <18", "21.0.5.11", false},
		{"an 18 pre-release is not 17", ">=17 <18", "18.0.0-rc1", false},
		{"Corretto 17 by prefix", "17", "17.0.13.11", true},
		{"Corretto 17 by wildcard", "17.x", "17.0.13.11", true},
		{"Corretto 17 by star", "17.*", "21.0.5", false},
		{"Windows 10 22H2 builds, tilde over four segments", "~10.0.19045.3570", "10.0.19045.5247", true},
		{"the next Windows build is out of the tilde", "~10.0.19045.3570", "10.0.19046.1", false},
		{"below the tilde's base", "~10.0.19045.3570", "10.0.19045.3000", false},
		{"Chrome major by caret", "^131.0.6778.86", "131.0.6834.1", true},
		{"Chrome next major", "^131.0.6778.86", "132.0.1", false},
		{"caret over zero major", "^0.2.3", "0.2.9", true},
		{"caret over zero major, next minor", "^0.2.3", "0.3.0", false},
		{"caret over zero minor", "^0.0.3", "0.0.4", false},
		{"tilde with two segments", "~1.2", "1.2.9", true},
		{"tilde with two segments, next minor", "~1.2", "1.3", false},
		{"tilde greater-than form", "~> 2.40", "2.40.1", true},
		{"Office build range", "16.0.17928.20114 - 16.0.18025", "16.0.18025.20104", true},
		{"Office build range, after", "16.0.17928.20114 - 16.0.18025", "16.0.18026", false},
		{"Office build range, before", "16.0.17928.20114 - 16.0.18025", "16.0.17928.20000", false},
		{"Teams alternatives", "<24000 || >=24335.0.0.0", "24335.206.3314.4", true},
		{"Teams alternatives, neither", "<24000 || >=24335.0.0.0", "24243.1.1.1", false},
		{"comma-separated", ">= 14.30, < 15", "14.38.33130", true},
		{"equal ignores leading zeros", "=23.6.20320", "23.006.20320", true},
		{"equal is exact", "= 1.2", "1.2.1", false},
		{"not equal", "!=2.29.2.windows.2", "2.29.2.windows.1", true},
		{"Git for Windows labels", ">2.29.2 <=2.29.2.windows.2", "2.29.2.windows.1", true},
		{"OpenSSL letters", ">=1.1.1k", "1.1.1w", true},
		{"Python pre-release below release", "<3.13.0", "3.13.0rc1", false},
		{"Python pre-release below a pre-release bound", "<3.13.0rc2", "3.13.0rc1", true},
		{"any", "*", "0.0.1", true},
		{"Microsoft.Git five segments", ">=2.47.0.0.3", "2.47.0.0.2", false},
		{"Microsoft.Git five segments by prefix", "2.47.0.0.3", "2.47.0.0.3", true},
	}
	for _, tt := range tests {
		t.Run(tt.product, func(t *testing.T) {
			c, err := immy.ParseConstraint(tt.constraint)
			require.NoError(t, err)
			require.Equal(t, tt.want, c.Check(immy.MustParseVersion(tt.version)), "%q on %q", tt.constraint, tt.version)
			ok, err := immy.MustParseVersion(tt.version).Satisfies(tt.constraint)
			require.NoError(t, err)
			require.Equal(t, tt.want, ok)
		})
	}
	require.False(t, immy.MustParseConstraint("*").Check(immy.Version{}), "the zero Version meets no constraint")
	require.True(t, immy.Constraint{}.Check(immy.MustParseVersion("1")))
}

func TestParseConstraintErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "empty constraint"},
		{">=", `">=" has no version`},
		{">= latest", `term ">=latest": version "latest": no version`},
		{"1.2 ||", "an empty alternative"},
		{">=1.x", "a wildcard goes with no operator"},
		{"1 - latest", `range "1" - "latest"`},
		{">= a, < b", `term ">=a"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := immy.ParseConstraint(tt.in)
			require.ErrorIs(t, err, immy.ErrInvalid)
			require.ErrorContains(t, err, tt.want)
			require.ErrorContains(t, err, "immy: ")
		})
	}
	// every bad term at once
	_, err := immy.ParseConstraint(">= a, < b")
	require.ErrorContains(t, err, `term "<b"`)
}

func FuzzParseConstraint(f *testing.F) {
	for _, s := range []string{">=17 <18", "~10.0.19045.3570", "^0.2.3", "1 - 2", "<24000 || >=24335", "*", "17.x", ">= 1.2, < 2", "||", ">="} {
		f.Add(s, "17.0.13.11")
	}
	f.Fuzz(func(t *testing.T, c, v string) {
		k, err := immy.ParseConstraint(c)
		if err != nil {
			return
		}
		ver := immy.ParseInventoryVersion(v)
		got := k.Check(ver)
		if ver.IsZero() && got {
			t.Fatalf("%q holds for the zero Version", c)
		}
		// the constraint's text compiles again to the same constraint
		k2, err := immy.ParseConstraint(k.String())
		if err != nil || k2.Check(ver) != got {
			t.Fatalf("%q does not compile again from its text: %v", c, err)
		}
	})
}
