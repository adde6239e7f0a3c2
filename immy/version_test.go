package immy_test

import (
	"encoding"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
)

var (
	_ encoding.TextMarshaler   = immy.Version{}
	_ encoding.TextUnmarshaler = (*immy.Version)(nil)
)

func TestParseVersion(t *testing.T) {
	tests := []struct {
		in   string
		seg  [4]uint64
		pre  string
		text string
	}{
		{in: "1", seg: [4]uint64{1}},
		{in: "1.2", seg: [4]uint64{1, 2}},
		{in: "10.0.19045.3570", seg: [4]uint64{10, 0, 19045, 3570}},
		{in: "23.006.20320", seg: [4]uint64{23, 6, 20320}},
		{in: "0.0.0.0", seg: [4]uint64{}},
		{in: "007", seg: [4]uint64{7}},
		{in: "3.1.4-beta.1", seg: [4]uint64{3, 1, 4}, pre: "beta.1"},
		{in: "1.0.0-0", seg: [4]uint64{1}}, // a package revision of 0
		{in: "1.0.0-x-y-z.--", seg: [4]uint64{1}, pre: "x-y-z.--"},
		{in: "1.0.0-rc.1+build.5", seg: [4]uint64{1}, pre: "rc.1"},
		{in: "1.0+20130313144700", seg: [4]uint64{1}},
		{in: "1.0+exp.sha.5114f85", seg: [4]uint64{1}},
		{in: "18446744073709551615", seg: [4]uint64{18446744073709551615}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			v, err := immy.ParseVersion(tt.in)
			require.NoError(t, err)
			got := struct {
				Seg  [4]uint64
				Pre  string
				Text string
			}{v.Segments(), v.Prerelease(), v.String()}
			want := struct {
				Seg  [4]uint64
				Pre  string
				Text string
			}{tt.seg, tt.pre, tt.in}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ParseVersion(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
			require.False(t, v.IsZero())
		})
	}
}

func TestParseVersionRejects(t *testing.T) {
	tests := []struct {
		in   string
		want string // a fragment of the error message
	}{
		{"", "empty version"},
		{"   ", "empty version"},
		{"latest", "no version: a version starts with a number"},
		{"r15", "no version"}, // a Subversion revision alone
		{"a.b", "no version"},
		{".1", "no version"},
		{"-1", "no version"},
		{"+1", "no version"},
		{"１.2", "no version"}, // a full-width digit is not a decimal digit
		{"1..2", `unexpected "..2" after the version`},
		{"1.2.x", `".x" is a wildcard, not a version`},
		{"1.", `unexpected "." after the version`},
		{"1.2-", `unexpected "-" after the version`},
		{"1.2-beta..1", `invalid pre-release "beta..1"`},
		{"1.2-beta/1", `invalid pre-release "beta/1"`},
		{"1.2+", `invalid build metadata ""`},
		{"1.2+a/b", `invalid build metadata "a/b"`},
		{"1.2-3/4", `unexpected "/4" in the package revision`},
		{"18446744073709551616", "segment 1 is too large"},
		{"1.99999999999999999999", "segment 2 is too large"},
		{"1.2.3.4.99999999999999999999", "segment 5 is too large"},
		{"1." + strings.Repeat("1", immy.MaxVersionLen), "longer than 256 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			v, err := immy.ParseVersion(tt.in)
			require.Error(t, err)
			require.ErrorIs(t, err, immy.ErrInvalid)
			require.ErrorContains(t, err, tt.want)
			require.True(t, strings.HasPrefix(err.Error(), "immy: "), "error %q lacks the package prefix", err)
			require.True(t, v.IsZero(), "a rejected version must be the zero Version")
		})
	}
}

func TestMustParseVersionPanics(t *testing.T) {
	require.Panics(t, func() { immy.MustParseVersion("1..2") })
	require.Equal(t, "1.2", immy.MustParseVersion("1.2").String())
}

// TestVersionOrder checks each listed version sorts strictly before the next,
// and therefore, by the check below, before every later one.
func TestVersionOrder(t *testing.T) {
	chains := map[string][]string{
		"windows build":  {"10.0.19045.999", "10.0.19045.4000", "10.0.19045.10001"},
		"segment counts": {"1", "1.0.0.1", "1.1", "1.1.1", "1.1.1.1", "2"},
		"leading zeros":  {"23.006.20319", "23.6.20320.1", "23.007"},
		"pre-release before release": {
			"3.1.4-beta.1", "3.1.4", "3.1.5-alpha",
		},
		// semver 2.0.0, item 11.
		"semver pre-release": {
			"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
			"1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0",
		},
		"numeric identifiers before alphanumeric": {"1-x.9", "1-x.10", "1-x.1a", "1-x.z", "1-x.z.0"},
		// Numbers beyond 64 bits, and pre-releases longer than semver's library takes.
		"huge identifiers": {
			"1-x.2", "1-x.10", "1-x.99999999999999999999", "1-x.100000000000000000000",
			"1-x.1" + strings.Repeat("a", 200), "1-x.Z", "1-x." + strings.Repeat("z", 200),
			"1-2", "1-10", "1-99999999999999999999", "1-100000000000000000000",
		},
		"hyphens sort before letters and digits in ASCII": {"1-a.-", "1-a.0a", "1-a.z"},
	}
	for name, chain := range chains {
		t.Run(name, func(t *testing.T) {
			vs := make([]immy.Version, len(chain))
			for i, s := range chain {
				vs[i] = immy.MustParseVersion(s)
			}
			for i := range vs {
				for j := range vs {
					want := 0
					switch {
					case i < j:
						want = -1
					case i > j:
						want = 1
					}
					require.Equal(t, want, vs[i].Compare(vs[j]), "Compare(%s, %s)", vs[i], vs[j])
					require.Equal(t, want < 0, vs[i].Less(vs[j]), "Less(%s, %s)", vs[i], vs[j])
					require.Equal(t, want == 0, vs[i].Equal(vs[j]), "Equal(%s, %s)", vs[i], vs[j])
				}
			}
		})
	}
}

func TestVersionEqual(t *testing.T) {
	tests := []struct{ a, b string }{
		{"23.006.20320", "23.6.20320"},
		{"1.2", "1.2.0"},
		{"1.2", "1.2.0.0"},
		{"01.02", "1.2.0.0"},
		{"1.0.0+build.1", "1.0.0+build.2"},
		{"1.0.0-rc.1+build.1", "1.0-rc.1"},
		{"1-a.A", "1-a.a"}, // pre-releases compare case-insensitively
	}
	for _, tt := range tests {
		t.Run(tt.a+"=="+tt.b, func(t *testing.T) {
			a, b := immy.MustParseVersion(tt.a), immy.MustParseVersion(tt.b)
			require.True(t, a.Equal(b))
			require.True(t, b.Equal(a))
			require.Zero(t, a.Compare(b))
			require.False(t, a.Less(b))
			require.False(t, b.Less(a))
			// Equal versions keep their own text.
			require.Equal(t, tt.a, a.String())
			require.Equal(t, tt.b, b.String())
		})
	}
}

func TestZeroVersion(t *testing.T) {
	var zero immy.Version
	require.True(t, zero.IsZero())
	require.Empty(t, zero.String())
	require.Zero(t, zero.Compare(immy.Version{}))
	lowest := immy.MustParseVersion("0-0")
	require.Equal(t, -1, zero.Compare(lowest), "the zero Version sorts before every parsed one")
	require.Equal(t, 1, lowest.Compare(zero))
}

func TestVersionText(t *testing.T) {
	for _, s := range []string{"23.006.20320", "10.0.19045.3570", "3.1.4-beta.1+exp.sha.5114f85"} {
		v := immy.MustParseVersion(s)
		b, err := v.MarshalText()
		require.NoError(t, err)
		require.Equal(t, s, string(b))

		var back immy.Version
		require.NoError(t, back.UnmarshalText(b))
		require.Equal(t, s, back.String())
		require.True(t, back.Equal(v))
		require.Equal(t, v.Segments(), back.Segments())
		require.Equal(t, v.Prerelease(), back.Prerelease())
	}

	// Empty text is the zero Version both ways.
	b, err := immy.Version{}.MarshalText()
	require.NoError(t, err)
	require.Empty(t, b)
	v := immy.MustParseVersion("1.2")
	require.NoError(t, v.UnmarshalText(nil))
	require.True(t, v.IsZero())

	// Bad text is an error and leaves the destination alone.
	v = immy.MustParseVersion("1.2")
	err = v.UnmarshalText([]byte("1..2"))
	require.ErrorIs(t, err, immy.ErrInvalid)
	require.Equal(t, "1.2", v.String())
}

func TestVersionSatisfies(t *testing.T) {
	tests := []struct {
		version, constraint string
		want                bool
	}{
		{"1.2.3", ">= 1.2, < 2", true},
		{"2.0.0", ">= 1.2, < 2", false},
		{"1.2", "~1.2.0", true},
		{"1.2.9", "~1.2", true},
		{"1.3.0", "~1.2", false},
		{"1.13.959", "^1.2", true},
		{"23.006.20320", "23.6.20320", true},
		{"23.006.20320", "> 23.5", true},
		{"10.0.19045.0", ">= 10.0.19045", true},
		{"10.0.19045.3570", ">= 10", true}, // four segments: Windows 10 22H2
		{"3.1.4-beta.1", ">= 3.1.0", true}, // by Version's order, not semver's pre-release rule
		{"3.1.4-beta.1", ">= 3.1.4-alpha", true},
		{"1.2.3", "1.2.3 || 2.x", true},
		{"2.5", "1.2.3 || 2.x", true},
	}
	for _, tt := range tests {
		t.Run(tt.version+" "+tt.constraint, func(t *testing.T) {
			got, err := immy.MustParseVersion(tt.version).Satisfies(tt.constraint)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestVersionSatisfiesErrors(t *testing.T) {
	tests := []struct {
		version    immy.Version
		constraint string
		want       string
	}{
		{immy.MustParseVersion("1.2.3"), ">= nonsense", `constraint ">= nonsense": term ">=nonsense"`},
		{immy.Version{}, ">= 1", "zero version"},
	}
	for _, tt := range tests {
		t.Run(tt.version.String()+" "+tt.constraint, func(t *testing.T) {
			ok, err := tt.version.Satisfies(tt.constraint)
			require.False(t, ok)
			require.ErrorIs(t, err, immy.ErrInvalid)
			require.ErrorContains(t, err, tt.want)
		})
	}
}

func TestVersionSemver(t *testing.T) {
	sv, err := immy.MustParseVersion("23.006.20320-rc.1+b7").Semver()
	require.NoError(t, err)
	require.Equal(t, "23.6.20320-rc.1", sv.String())

	_, err = immy.MustParseVersion("1.2.3.4").Semver()
	require.ErrorIs(t, err, immy.ErrInvalid)
	require.True(t, errors.Is(err, immy.ErrInvalid))
}
