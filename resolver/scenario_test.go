package resolver_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/fleetfile"
	"github.com/immyoss/engine/resolver"
)

// expectation is a scenario's expect.yaml (see testdata/scenarios/README.md).
type expectation struct {
	Computers map[string]struct {
		Winners map[string]string `yaml:"winners"`
		Actions []struct {
			Item   string `yaml:"item"`
			Action string `yaml:"action"`
		} `yaml:"actions"`
	} `yaml:"computers"`
	Error string `yaml:"error"`
}

// planScenario loads a fleet file as immyctl does, with the resolver's check,
// and plans a full maintenance session.
func planScenario(path string) (*resolver.Plan, error) {
	cfg := fleetfile.Config{Checks: []fleetfile.Check{func(f *fleetfile.File) immy.Problems { return resolver.Check(f.Fleet) }}}
	f, err := cfg.LoadFile(path)
	if err != nil {
		return nil, err
	}
	return resolver.PlanFleet(context.Background(), f.Fleet, resolver.Config{}, resolver.Session{})
}

// TestScenarios runs every scenario of testdata/scenarios, copied from the
// project's shared scenarios: the listed winners match, and the actions other
// than none are exactly the listed ones, in order; an error scenario fails
// with its text.
func TestScenarios(t *testing.T) {
	dirs, err := filepath.Glob("testdata/scenarios/*/expect.yaml")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(dirs), 5)
	for _, expectPath := range dirs {
		dir := filepath.Dir(expectPath)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			raw, err := os.ReadFile(expectPath)
			require.NoError(t, err)
			var want expectation
			require.NoError(t, yaml.Unmarshal(raw, &want))

			plan, err := planScenario(filepath.Join(dir, "fleet.yaml"))
			if want.Error != "" {
				require.Error(t, err)
				require.Contains(t, err.Error(), want.Error)
				return
			}
			require.NoError(t, err)
			require.NotEmpty(t, want.Computers)
			for id, w := range want.Computers {
				cp, ok := plan.Computer(id)
				require.True(t, ok, "computer %s is not in the plan", id)
				got := map[string]string{}
				for _, d := range cp.Decisions() {
					if _, listed := w.Winners[d.Item]; listed {
						got[d.Item] = d.Winner
					}
				}
				require.Empty(t, cmp.Diff(w.Winners, got), "winners of %s", id)

				type step struct{ Item, Action string }
				wantSteps := []step{}
				for _, a := range w.Actions {
					wantSteps = append(wantSteps, step{a.Item, a.Action})
				}
				gotSteps := []step{}
				for _, a := range cp.Actions() {
					if a.Action != resolver.ActionNone {
						gotSteps = append(gotSteps, step{a.Item, a.Action.String()})
					}
				}
				require.Empty(t, cmp.Diff(wantSteps, gotSteps), "actions of %s", id)
			}
		})
	}
}
