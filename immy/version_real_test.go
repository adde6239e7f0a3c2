package immy_test

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
)

// TestVersionRealOrder checks each rule of the Version documentation with the
// versions real products write: each version sorts strictly before the next.
func TestVersionRealOrder(t *testing.T) {
	tests := []struct {
		product string
		chain   []string
	}{
		{"Microsoft.Git (winget), five segments", []string{"2.47.0.0", "2.47.0.0.3", "2.47.0.1", "2.47.1"}},
		{"Python, glued pre-releases", []string{"3.13.0a2", "3.13.0b1", "3.13.0rc1", "3.13.0rc2", "3.13.0", "3.13.1"}},
		{"MariaDB Connector, capitalised pre-release", []string{"9.5.0Beta1", "9.5.0Beta2", "9.5.0"}},
		{"pre-release words in order", []string{"2.0dev1", "2.0a1", "2.0alpha2", "2.0b1", "2.0beta2", "2.0pre1", "2.0preview2", "2.0rc1", "2.0c2", "2.0"}},
		{"OpenSSL, letter releases", []string{"1.1.1", "1.1.1b", "1.1.1k", "1.1.1w", "1.1.2"}},
		{"OpenSSH, portable releases", []string{"9.6", "9.6p1", "9.6p2", "9.7"}},
		{"Unity, final builds", []string{"6000.3.6", "6000.3.6f1", "6000.3.6f2", "6000.3.7"}},
		{"Git for Windows", []string{"2.29.2", "2.29.2.windows.1", "2.29.2.windows.2", "2.29.3"}},
		{"OpenSSL Debian packages, revisions", []string{"3.0.8", "3.0.8-1", "3.0.8-2", "3.0.9~rc1-1", "3.0.9"}},
		{"Homebrew revisions", []string{"8.15.0", "8.15.0_1", "8.15.0_2", "8.15.1"}},
		{"Node, semver pre-release", []string{"1.2.3-beta.1", "1.2.3-beta.2", "1.2.3"}},
		{"Liberica JDK re-releases, numeric builds", []string{"17.0.17", "17.0.17+11", "17.0.17+15", "17.0.18+1"}},
		{"yt-dlp, ISO dates", []string{"2023.12.30", "2024-05-01", "2024-05-02", "2024.5.3"}},
		{"Scoop's dated builds of the same day", []string{"2026-08-17", "2026-08-17.3", "2026-08-17.4", "2026-08-18"}},
		{"nightly builds with a time", []string{"2019-01-11", "2019-01-11_00-10", "2019-01-11_08-05", "2019-01-12"}},
		{"Zoom, build in brackets", []string{"6.2.3 (47500)", "6.2.3 (47507)", "6.2.4 (1)"}},
		{"a build after a word", []string{"2.137 (Build 570)", "2.137 (Build 571)", "2.138"}},
		{"Chrome, four segments", []string{"131.0.6778.86", "131.0.6778.109", "132.0.6834.83"}},
		{"Adobe Reader, leading zeros", []string{"23.006.20320", "23.008.20470", "24.001.20604"}},
		{"a beta after a space", []string{"2.0 Beta 3", "2.0 RC1", "2.0"}},
		{"Firefox Nightly, a pre-release with a build date", []string{"86.0a1.20210118214232", "86.0a1.20210119093715", "86.0b1", "86.0"}},
		{"Spotify, a commit after the build", []string{"1.2.89.539", "1.2.89.539.gfb3c63a3", "1.2.90"}},
		{"Debian snapshots with double tildes", []string{"0.13~~git20221201.g166b3fa-1", "0.13~~git20221202-1", "0.13-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.product, func(t *testing.T) {
			for i := range tt.chain {
				for j := range tt.chain {
					a, b := immy.MustParseVersion(tt.chain[i]), immy.MustParseVersion(tt.chain[j])
					want := 0
					switch {
					case i < j:
						want = -1
					case i > j:
						want = 1
					}
					require.Equal(t, want, a.Compare(b), "Compare(%q, %q)", a, b)
				}
			}
		})
	}
}

// TestVersionRealEqual checks the forms that mean the same version.
func TestVersionRealEqual(t *testing.T) {
	tests := []struct{ product, a, b string }{
		{"rclone, v prefix", "v1.81.2", "1.81.2"},
		{"GitHub CLI, capital V", "V2.40.1", "2.40.1"},
		{"7-Zip, architecture after the version", "25.01 (x64)", "25.01"},
		{"a bitness after the version", "1.4.2 64-bit", "1.4.2"},
		{"Windows resource version", "1,3,0,335", "1.3.0.335"},
		{"Windows resource version with spaces", "1, 3, 0, 335", "1.3.0.335"},
		{"Zoom, bracketed build", "6.2.3 (47507)", "6.2.3+47507"},
		{"a build after the word build", "2.137 (Build 571)", "2.137+571"},
		{"Python, glued and semver pre-release", "3.13.0rc1", "3.13.0-rc.1"},
		{"glued and semver pre-release, no dot", "3.13.0rc1", "3.13.0-rc1"},
		{"short pre-release words", "3.13.0b1", "3.13.0-beta.1"},
		{"preview is pre", "8.0.100-preview.1", "8.0.100-pre.1"},
		{"pre-release case", "9.5.0Beta1", "9.5.0beta1"},
		{"ISO date", "2024-05-01", "2024.5.1"},
		{"Debian epoch and revision tail", "1:9.2p1-2+deb12u2", "9.2p1-2"},
		{"Ubuntu revision tail", "1.2.11.dfsg-2ubuntu9.2", "1.2.11.dfsg-2"},
		{"WildFly's Final is the release", "26.1.3.Final", "26.1.3"},
		{"a revision of zero", "3.0.8-0", "3.0.8"},
		{"non-numeric build ignored", "1.0+exp.sha.5114f85", "1.0"},
		{"trailing zero segments", "2.47.0.0.0", "2.47"},
	}
	for _, tt := range tests {
		t.Run(tt.product, func(t *testing.T) {
			a, b := immy.MustParseVersion(tt.a), immy.MustParseVersion(tt.b)
			require.True(t, a.Equal(b), "%q (%s) != %q (%s)", tt.a, a.Canonical(), tt.b, b.Canonical())
			require.Equal(t, a.Canonical(), b.Canonical())
			require.Equal(t, tt.a, a.String(), "the text is kept")
		})
	}
}

// TestParseInventoryVersion checks that the inventory keeps an entry whose
// version is not one as present with an unknown version, and otherwise reads
// exactly as the catalogue does.
func TestParseInventoryVersion(t *testing.T) {
	for _, s := range []string{"latest", "r15", "", "Unknown", "1..2", "n/a"} {
		_, err := immy.ParseVersion(s)
		require.Error(t, err, "the catalogue refuses %q", s)
		require.True(t, immy.ParseInventoryVersion(s).IsZero(), "the inventory reads %q as unknown", s)
	}
	for _, s := range []string{"25.01 (x64)", "1:9.2p1-2+deb12u2", "2.29.2.windows.2", "v1.81.2", "6.2.3 (47507)"} {
		v := immy.MustParseVersion(s)
		inv := immy.ParseInventoryVersion(s)
		require.Equal(t, v.Canonical(), inv.Canonical(), s)
		require.Equal(t, s, inv.String())
	}
}

func TestVersionCanonical(t *testing.T) {
	for in, want := range map[string]string{
		"23.006.20320":       "23.6.20320",
		"2.47.0.0.3":         "2.47.0.0.3",
		"3.13.0rc1":          "3.13-rc.1",
		"2.29.2.windows.2":   "2.29.2.windows.2",
		"8.15.0_1":           "8.15_1",
		"17.0.17+11":         "17.0.17+11",
		"1:9.2p1-2+deb12u2":  "9.2.p.1_2",
		"2019-01-11_00-10":   "2019.1.11.0.10",
		"10.0.19045.3570":    "10.0.19045.3570",
		"1.0.0-x-y-z.--":     "1-x-y-z.--",
		"1.0~20200101+dfsg1": "1-20200101",
	} {
		require.Equal(t, want, immy.MustParseVersion(in).Canonical(), in)
	}
	require.Empty(t, immy.Version{}.Canonical())
}

func BenchmarkParseVersion(b *testing.B) {
	in := []string{"10.0.19045.3570", "23.006.20320", "3.13.0rc1", "2.47.1.windows.2", "1:9.2p1-2+deb12u2", "6.2.3 (47507)"}
	for b.Loop() {
		for _, s := range in {
			if _, err := immy.ParseVersion(s); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(in)), "ns/version")
}

func BenchmarkVersionCompare(b *testing.B) {
	x, y := immy.MustParseVersion("131.0.6778.86"), immy.MustParseVersion("131.0.6778.109")
	for b.Loop() {
		if x.Compare(y) >= 0 {
			b.Fatal("order")
		}
	}
}

// TestVersionSize keeps a Version at 64 bytes on 64-bit machines: inventories
// hold millions of them.
func TestVersionSize(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("32-bit")
	}
	require.Equal(t, uintptr(64), unsafe.Sizeof(immy.Version{}))
}
