package resolver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/fleetfile"
	"github.com/immyoss/engine/resolver"
	"github.com/immyoss/engine/targets"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files under testdata/detection")

// golden compares got with testdata/detection/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "detection", name)
	if *updateGolden {
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got), go test -update to accept:\n%s", path, diff)
	}
}

// installedAs is how each product's installer registers the version a session
// brings, in the Uninstall keys: the registry's own version text, not the
// release's (Python writes micro*1000+150, JetBrains its build number).
var installedAs = map[string]func(release string) immy.DetectedSoftware{
	"git": func(r string) immy.DetectedSoftware {
		return immy.DetectedSoftware{Name: "Git", Version: immy.ParseInventoryVersion(r), Publisher: "The Git Development Community"}
	},
	"git-extensions": func(r string) immy.DetectedSoftware {
		return immy.DetectedSoftware{Name: "Git Extensions", Version: immy.ParseInventoryVersion(r + ".18061"), Publisher: "Git Extensions"}
	},
	"git-lfs": func(r string) immy.DetectedSoftware {
		return immy.DetectedSoftware{Name: "Git LFS version " + r, Version: immy.ParseInventoryVersion(r), Publisher: "GitHub, Inc."}
	},
	"corretto-17": func(r string) immy.DetectedSoftware {
		return immy.DetectedSoftware{Name: "Amazon Corretto", Version: immy.ParseInventoryVersion(r), Publisher: "Amazon.com Inc."}
	},
	"corretto-21": func(r string) immy.DetectedSoftware {
		return immy.DetectedSoftware{Name: "Amazon Corretto", Version: immy.ParseInventoryVersion(r), Publisher: "Amazon.com Inc."}
	},
	"python-313": func(r string) immy.DetectedSoftware {
		reg := map[string]string{"3.13.4": "3.13.4150.0"}
		return immy.DetectedSoftware{Name: "Python " + r + " (64-bit)", Version: immy.ParseInventoryVersion(reg[r]), Publisher: "Python Software Foundation"}
	},
	"intellij": func(r string) immy.DetectedSoftware {
		build := map[string]string{"2025.2.5": "252.28238.7"}
		return immy.DetectedSoftware{Name: "IntelliJ IDEA " + r, Version: immy.ParseInventoryVersion(build[r]), Publisher: "JetBrains s.r.o."}
	},
}

// TestDetectionFleet plans the developer workstations of issue 17 (Git, Git
// Extensions, Git LFS, Corretto 17 and 21, Python, IntelliJ IDEA): each item
// is detected from its own entry, the plan is golden; then every install and
// update is applied to the inventory as the installers register it, and a
// second session reinstalls nothing.
func TestDetectionFleet(t *testing.T) {
	f, err := fleetfile.Config{Checks: []fleetfile.Check{func(f *fleetfile.File) immy.Problems { return resolver.Check(f.Fleet) }}}.
		LoadFile("testdata/detection/fleet.yaml")
	require.NoError(t, err)
	fl := f.Fleet
	ctx := context.Background()

	plan, err := resolver.PlanFleet(ctx, fl, resolver.Config{}, resolver.Session{})
	require.NoError(t, err)
	js, err := json.MarshalIndent(plan, "", "  ")
	require.NoError(t, err)
	golden(t, "session1.json", append(js, '\n'))

	type step struct{ Item, Action, Detected, Version string }
	var got []step
	cp, ok := plan.Computer("dev-01")
	require.True(t, ok)
	for _, a := range cp.Actions() {
		got = append(got, step{a.Item, a.Action.String(), a.Detected, a.Version})
	}
	want := []step{
		{"corretto-17", "update", "17.0.12.7", "17.0.13.11"}, // not 21.0.5.11, Corretto 21's entry
		{"corretto-21", "none", "21.0.5.11", ""},
		{"git", "update", "2.40.0", "2.51.2"}, // not Git Extensions' 5.2.1.18061, which would look newer
		{"git-extensions", "none", "5.2.1.18061", ""},
		{"git-lfs", "update", "3.6.1", "3.7.0"},
		{"intellij", "update", "2025.2.4", "2025.2.5"}, // 252.27397.103 mapped
		{"python-313", "update", "3.13.2", "3.13.4"},   // 3.13.2150.0 mapped
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("dev-01 (-want +got):\n%s", diff)
	}

	// Apply the first session: each install or update replaces the entry the
	// item was detected from by the installer's own registration.
	cat, err := resolver.NewCatalogue(fl)
	require.NoError(t, err)
	changed := 0
	for ci := range fl.Computers {
		comp := &fl.Computers[ci]
		cp, ok := plan.Computer(comp.ID)
		require.True(t, ok)
		for _, a := range cp.Actions() {
			if a.Action != resolver.ActionInstall && a.Action != resolver.ActionUpdate {
				continue
			}
			_, matches, _ := cat.DetectExplained(a.Item, comp.Software)
			for _, m := range matches {
				if m.Chosen {
					comp.Software = removeEntry(comp.Software, m.Name, m.Version)
				}
			}
			comp.Software = append(comp.Software, installedAs[a.Item](a.Version))
			changed++
		}
	}
	require.Equal(t, 9, changed)

	plan2, err := resolver.PlanFleet(ctx, fl, resolver.Config{}, resolver.Session{})
	require.NoError(t, err)
	for _, c := range plan2.Computers {
		for _, a := range c.Actions() {
			require.Equal(t, resolver.ActionNone, a.Action, "second session on %s: %s %s (detected %q, %s)", c.ID, a.Action, a.Item, a.Detected, a.DetectedFrom)
		}
	}
	js, err = json.MarshalIndent(plan2, "", "  ")
	require.NoError(t, err)
	golden(t, "session2.json", append(js, '\n'))

	// --explain of the choices
	ix, err := targets.NewIndex(fl, targets.Config{At: fl.At})
	require.NoError(t, err)
	cat2, err := resolver.NewCatalogue(fl)
	require.NoError(t, err)
	p, err := resolver.NewPlanner(ix, cat2, resolver.Config{At: fl.At})
	require.NoError(t, err)
	var b bytes.Buffer
	for _, q := range [][2]string{{"dev-01", "corretto-17"}, {"dev-01", "git"}, {"dev-01", "python-313"}, {"dev-02", "corretto-17"}, {"dev-02", "git"}} {
		e, err := p.Explain(ctx, q[0], q[1], resolver.Session{})
		require.NoError(t, err)
		require.NoError(t, e.WriteText(&b))
	}
	golden(t, "explain.txt", b.Bytes())
}

func removeEntry(sw []immy.DetectedSoftware, name, version string) []immy.DetectedSoftware {
	for i := range sw {
		if sw[i].Name == name && sw[i].Version.String() == version {
			return append(sw[:i:i], sw[i+1:]...)
		}
	}
	return sw
}

// TestDetectionFleetPlanText checks the text plan of the first session: the
// actions, and after them which inventory entry each choice took and why.
func TestDetectionFleetPlanText(t *testing.T) {
	f, err := fleetfile.LoadFile("testdata/detection/fleet.yaml")
	require.NoError(t, err)
	plan, err := resolver.PlanFleet(context.Background(), f.Fleet, resolver.Config{}, resolver.Session{})
	require.NoError(t, err)
	golden(t, "session1.txt", []byte(plan.String()))
}
