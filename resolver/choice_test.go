package resolver_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/fleetfile"
	"github.com/immyoss/engine/resolver"
)

func entry(name, version, publisher string) immy.DetectedSoftware {
	return immy.DetectedSoftware{Name: name, Version: immy.ParseInventoryVersion(version), Publisher: publisher}
}

// TestDetectChoice checks detection by publisher, version constraint, version
// map and the choice among several entries, each with real products; the
// planner reads the same as Catalogue.Detect.
func TestDetectChoice(t *testing.T) {
	gitInventory := []immy.DetectedSoftware{
		entry("Git", "2.40.0", "The Git Development Community"),
		entry("Git Extensions", "5.2.1.18061", "Git Extensions"),
		entry("Git LFS version 3.6.1", "3.6.1", "GitHub, Inc."),
	}
	corretto := []immy.DetectedSoftware{
		entry("Amazon Corretto", "21.0.5.11", "Amazon.com Inc."),
		entry("Amazon Corretto", "17.0.12.7", "Amazon.com Inc."),
	}
	python := immy.VersionMapping{Match: `^(?P<maj>\d+)\.(?P<min>\d+)\.(?P<micro>\d+)150\.0$`, To: "${maj}.${min}.${micro}"}
	tests := []struct {
		product   string
		detection immy.Detection
		inventory []immy.DetectedSoftware
		present   bool
		version   string // the detected version's text, "" for unknown
	}{
		{"Git by publisher, not Git Extensions nor Git LFS",
			immy.Detection{DisplayName: "Git*", Publishers: []string{"The Git Development Community"}}, gitInventory, true, "2.40.0"},
		{"Git by name alone takes Git Extensions' higher version (the bug of issue 17)",
			immy.Detection{DisplayName: "Git*"}, gitInventory, true, "5.2.1.18061"},
		{"Git LFS by publisher glob",
			immy.Detection{DisplayName: "Git*", Publishers: []string{"GitHub*"}}, gitInventory, true, "3.6.1"},
		{"7-Zip, not its fork 7-Zip ZS",
			immy.Detection{DisplayName: "7-Zip*", Publishers: []string{"Igor Pavlov"}},
			[]immy.DetectedSoftware{entry("7-Zip ZS 24.09 (x64)", "24.09", "Tino Reichardt"), entry("7-Zip 24.08 (x64)", "24.08", "Igor Pavlov")}, true, "24.08"},
		{"only the fork installed: 7-Zip absent",
			immy.Detection{DisplayName: "7-Zip*", Publishers: []string{"Igor Pavlov"}},
			[]immy.DetectedSoftware{entry("7-Zip ZS 24.09 (x64)", "24.09", "Tino Reichardt")}, false, ""},
		{"Amazon Corretto 17 by version range",
			immy.Detection{DisplayName: "Amazon Corretto*", Versions: ">=17 <18"}, corretto, true, "17.0.12.7"},
		{"Amazon Corretto 21 by version range",
			immy.Detection{DisplayName: "Amazon Corretto*", Versions: ">=21 <22"}, corretto, true, "21.0.5.11"},
		{"Amazon Corretto 11 absent",
			immy.Detection{DisplayName: "Amazon Corretto*", Versions: "~11"}, corretto, false, ""},
		{"an agent without publishers: Git kept, publisher unknown",
			immy.Detection{DisplayName: "Git", Publishers: []string{"The Git Development Community"}},
			[]immy.DetectedSoftware{entry("Git", "2.51.2", "")}, true, "2.51.2"},
		{"a known publisher beats an unknown one, then the version",
			immy.Detection{DisplayName: "Git", Publishers: []string{"The Git Development Community"}},
			[]immy.DetectedSoftware{entry("Git", "2.51.2", ""), entry("Git", "2.40.0", "The Git Development Community")}, true, "2.40.0"},
		{"Corretto with an unknown version stays present",
			immy.Detection{DisplayName: "Amazon Corretto*", Versions: ">=17 <18"},
			[]immy.DetectedSoftware{entry("Amazon Corretto", "unknown", "Amazon.com Inc.")}, true, ""},
		{"an agent without publishers: Git's exact name beats Git LFS's higher version",
			immy.Detection{DisplayNames: []string{"Git", "Git *"}, Publishers: []string{"The Git Development Community"}},
			[]immy.DetectedSoftware{entry("Git", "2.51.2", ""), entry("Git LFS version 3.7.0", "3.7.0", "")}, true, "2.51.2"},
		{"several Git entries: the highest",
			immy.Detection{DisplayName: "Git"},
			[]immy.DetectedSoftware{entry("Git", "2.40.0", ""), entry("Git", "2.47.1.windows.2", ""), entry("Git", "2.47.1", "")}, true, "2.47.1.windows.2"},
		{"Python's registry version mapped to its release",
			immy.Detection{DisplayName: "Python 3.13.* (64-bit)", VersionMap: []immy.VersionMapping{python}},
			[]immy.DetectedSoftware{entry("Python 3.13.4 (64-bit)", "3.13.4150.0", "Python Software Foundation"), entry("Python Launcher", "3.13.4150.0", "")}, true, "3.13.4"},
		{"IntelliJ IDEA build mapped to its release",
			immy.Detection{DisplayName: "IntelliJ IDEA *", VersionMap: []immy.VersionMapping{{Match: `^252\.28238\.`, To: "2025.2.5"}}},
			[]immy.DetectedSoftware{entry("IntelliJ IDEA 2025.2.5", "252.28238.7", "JetBrains s.r.o.")}, true, "2025.2.5"},
		{"the mapped version meets the range, not the registry's",
			immy.Detection{DisplayName: "IntelliJ IDEA *", Versions: ">=2025.2", VersionMap: []immy.VersionMapping{{Match: `^252\.28238\.`, To: "2025.2.5"}}},
			[]immy.DetectedSoftware{entry("IntelliJ IDEA 2025.2.5", "252.28238.7", "JetBrains s.r.o.")}, true, "2025.2.5"},
		{"a mapping to no version: present, unknown",
			immy.Detection{DisplayName: "Tool", VersionMap: []immy.VersionMapping{{Match: `.*`, To: "n/a"}}},
			[]immy.DetectedSoftware{entry("Tool", "1.0", "")}, true, ""},
		{"an escaped star is a star",
			immy.Detection{DisplayName: `Foo\*`}, []immy.DetectedSoftware{entry("Foobar", "2", ""), entry("FOO*", "1", "")}, true, "1"},
		{"an escaped question mark is a question mark",
			immy.Detection{DisplayName: `What\?`}, []immy.DetectedSoftware{entry("Whats", "2", "")}, false, ""},
		{"a list of alternatives: Firefox's two names",
			immy.Detection{DisplayNames: []string{"Mozilla Firefox (*", "Firefox Developer Edition*"}},
			[]immy.DetectedSoftware{entry("Firefox Developer Edition 134.0b5 (x64 en-US)", "134.0b5", "Mozilla")}, true, "134.0b5"},
		{"Notepad++ by one of two publisher globs",
			immy.Detection{DisplayName: "Notepad++*", Publishers: []string{"Don Ho", "Notepad++ Team"}},
			[]immy.DetectedSoftware{entry("Notepad++ (64-bit x64)", "8.7.4", "Notepad++ Team")}, true, "8.7.4"},
	}
	for _, tt := range tests {
		t.Run(tt.product, func(t *testing.T) {
			f := &immy.Fleet{
				Tenants:   []immy.Tenant{{ID: "t", Name: "T"}},
				Computers: []immy.Computer{{ID: "c", Tenant: "t", Software: tt.inventory}},
				Software:  []immy.Software{{ID: "s", Name: "S", Detection: tt.detection, Versions: []immy.SoftwareVersion{{Version: immy.MustParseVersion("9999")}}}},
				Deployments: []immy.Deployment{{ID: "d", Item: "s", Target: immy.Target{Type: immy.TargetAllComputers},
					Desired: immy.DesiredAnyVersion}},
			}
			require.NoError(t, f.Validate())
			cat, err := resolver.NewCatalogue(f)
			require.NoError(t, err)
			st, known := cat.Detect("s", tt.inventory)
			require.True(t, known)
			require.Equal(t, tt.present, st.Present)
			require.Equal(t, tt.version, st.Version.String())

			plan, err := resolver.PlanFleet(context.Background(), f, resolver.Config{}, resolver.Session{})
			require.NoError(t, err)
			cp, ok := plan.Computer("c")
			require.True(t, ok)
			acts := cp.Actions()
			require.Len(t, acts, 1)
			if tt.present {
				require.Equal(t, resolver.ActionNone, acts[0].Action, "present: any version is fine")
			} else {
				require.Equal(t, resolver.ActionInstall, acts[0].Action)
			}
			require.Equal(t, tt.version, acts[0].Detected, "the planner reads what Detect reads")
		})
	}
}

func TestDetectionProblems(t *testing.T) {
	f := &immy.Fleet{
		Software: []immy.Software{{ID: "s", Name: "S", Detection: immy.Detection{
			DisplayName: "S", Versions: ">= nonsense",
			VersionMap: []immy.VersionMapping{{Match: "(", To: "1"}},
		}}},
	}
	ps := resolver.Check(f)
	require.Len(t, ps, 2)
	require.Equal(t, "detection.version_map[0].match", ps[0].Field)
	require.Contains(t, ps[0].Message, "missing closing )")
	require.Equal(t, "detection.versions", ps[1].Field)
	require.Contains(t, ps[1].Message, `constraint ">= nonsense"`)
}

// FuzzDetectChoice checks, over inventories of arbitrary names, versions and
// publishers, that detection never panics, that the planner reads what
// Catalogue.Detect reads, and that an entry is left out only for a known
// publisher or version that does not fit.
func FuzzDetectChoice(f *testing.F) {
	f.Add("Amazon Corretto", "17.0.12.7", "Amazon.com Inc.", "Amazon Corretto", "21.0.5.11", "")
	f.Add("Python 3.13.2 (64-bit)", "3.13.2150.0", "Python Software Foundation", "Git", "latest", "x")
	f.Fuzz(func(t *testing.T, n1, v1, p1, n2, v2, p2 string) {
		inv := []immy.DetectedSoftware{entry(n1, v1, p1), entry(n2, v2, p2)}
		fl := &immy.Fleet{
			Tenants:   []immy.Tenant{{ID: "t", Name: "T"}},
			Computers: []immy.Computer{{ID: "c", Tenant: "t", Software: inv}},
			Software: []immy.Software{{ID: "s", Name: "S", Versions: []immy.SoftwareVersion{{Version: immy.MustParseVersion("17.1")}},
				Detection: immy.Detection{DisplayNames: []string{"Amazon Corretto*", "Python*"}, Publishers: []string{"Amazon*", "Python Software Foundation"},
					Versions: ">=17 <18 || ^3.13", VersionMap: []immy.VersionMapping{{Match: `^(\d+)\.(\d+)\.(\d+)150\.0$`, To: "${1}.${2}.${3}"}}}}},
			Deployments: []immy.Deployment{{ID: "d", Item: "s", Target: immy.Target{Type: immy.TargetAllComputers}, Desired: immy.DesiredLatest}},
		}
		cat, err := resolver.NewCatalogue(fl)
		require.NoError(t, err)
		st, matches, known := cat.DetectExplained("s", inv)
		require.True(t, known)
		chosen := 0
		for _, m := range matches {
			if m.Chosen {
				chosen++
			}
		}
		require.Equal(t, st.Present, chosen == 1)
		require.LessOrEqual(t, chosen, 1)
		plan, err := resolver.PlanFleet(context.Background(), fl, resolver.Config{}, resolver.Session{})
		require.NoError(t, err)
		cp, _ := plan.Computer("c")
		acts := cp.Actions()
		require.Len(t, acts, 1)
		require.Equal(t, st.Present, acts[0].Action != resolver.ActionInstall)
		require.Equal(t, st.Version.String(), acts[0].Detected)
	})
}

func TestMapVersion(t *testing.T) {
	f := &immy.Fleet{Software: []immy.Software{{ID: "python", Name: "Python", Detection: immy.Detection{Script: &immy.Script{Body: "x"},
		VersionMap: []immy.VersionMapping{{Match: `^(?P<maj>\d+)\.(?P<min>\d+)\.(?P<micro>\d+)150\.0$`, To: "${maj}.${min}.${micro}"}}}}}}
	cat, err := resolver.NewCatalogue(f)
	require.NoError(t, err)
	require.Equal(t, "3.13.4", cat.MapVersion("python", immy.MustParseVersion("3.13.4150.0")).String())
	require.Equal(t, "3.12.1", cat.MapVersion("python", immy.MustParseVersion("3.12.1")).String(), "no mapping matches")
	require.Equal(t, "1.0", cat.MapVersion("nope", immy.MustParseVersion("1.0")).String())
}

// BenchmarkDetectionFleet plans issue 17's workstation, copied to 2,000
// computers: detection with publishers, ranges and version maps on the hot path.
func BenchmarkDetectionFleet(b *testing.B) {
	f, err := fleetfile.LoadFile("testdata/detection/fleet.yaml")
	require.NoError(b, err)
	fl := f.Fleet
	proto := fl.Computers
	fl.Computers = nil
	for i := range 1000 {
		for _, c := range proto {
			c.ID = fmt.Sprintf("%s-%04d", c.ID, i)
			fl.Computers = append(fl.Computers, c)
		}
	}
	ctx := context.Background()
	run := func(b *testing.B, fl *immy.Fleet) {
		for b.Loop() {
			if _, err := resolver.PlanFleet(ctx, fl, resolver.Config{}, resolver.Session{}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(fl.Computers)), "ns/computer")
	}
	b.Run("filters", func(b *testing.B) { run(b, fl) })
	// the same names, without publishers, ranges and maps: the cost of the narrowing
	plain := *fl
	plain.Software = append([]immy.Software(nil), fl.Software...)
	for i := range plain.Software {
		d := &plain.Software[i].Detection
		d.Publishers, d.Versions, d.VersionMap = nil, "", nil
	}
	b.Run("names-only", func(b *testing.B) { run(b, &plain) })
}
