package fleetstore

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/fleetfile"
	"github.com/immyoss/engine/resolver"
	"github.com/immyoss/engine/targets"
)

// replayStep is one step of a fleet built through the store: a change or an
// inventory write, and what it does to the fleet the step expects.
type replayStep struct {
	name   string
	change *Change
	inv    []Inventory
	want   func(w *immy.Fleet) // applies the step to the expected fleet
}

// replaySteps builds f through a store step by step, as an admin and agents
// would: the tenants, persons and computers; each computer's inventory; the
// groups and agreements; the catalogue; the known task results; each
// deployment; the schedules; then each deployment disabled and enabled
// again.
func replaySteps(f *immy.Fleet) []replayStep {
	var steps []replayStep
	bare := func(c immy.Computer) immy.Computer {
		c.OS, c.Online, c.UPNs, c.Software, c.Tasks = "", false, nil, nil, nil
		return c
	}
	var ops []Op
	if !f.At.IsZero() {
		ops = append(ops, PutSettings(Settings{At: f.At}))
	}
	for _, x := range f.Tenants {
		ops = append(ops, PutTenant(x))
	}
	for _, x := range f.Persons {
		ops = append(ops, PutPerson(x))
	}
	for _, x := range f.Computers {
		ops = append(ops, PutComputer(x))
	}
	steps = append(steps, replayStep{name: "tenants, persons, computers", change: &Change{Ops: ops}, want: func(w *immy.Fleet) {
		w.At, w.Tenants, w.Persons = f.At, f.Tenants, f.Persons
		for _, c := range f.Computers {
			w.Computers = append(w.Computers, bare(c))
		}
	}})
	for i, c := range f.Computers {
		inv := InventoryOf(c)
		inv.Tasks = nil // the tasks come with the catalogue
		steps = append(steps, replayStep{name: "inventory of " + c.ID, inv: []Inventory{inv}, want: func(w *immy.Fleet) {
			w.Computers = append([]immy.Computer(nil), w.Computers...)
			x := c
			x.Tasks = nil
			w.Computers[i] = x
		}})
	}
	ops = nil
	for _, x := range f.Groups {
		ops = append(ops, PutGroup(x))
	}
	for _, x := range f.Agreements {
		ops = append(ops, PutAgreement(x))
	}
	if len(ops) > 0 {
		steps = append(steps, replayStep{name: "groups and agreements", change: &Change{Ops: ops}, want: func(w *immy.Fleet) {
			w.Groups, w.Agreements = f.Groups, f.Agreements
		}})
	}
	ops = nil
	for _, x := range f.Software {
		ops = append(ops, PutSoftware(x))
	}
	for _, x := range f.Tasks {
		ops = append(ops, PutTask(x))
	}
	steps = append(steps, replayStep{name: "catalogue", change: &Change{Ops: ops}, want: func(w *immy.Fleet) {
		w.Software, w.Tasks = f.Software, f.Tasks
	}})
	var results []Inventory
	for _, c := range f.Computers {
		if len(c.Tasks) > 0 {
			results = append(results, Inventory{Computer: c.ID, Tasks: c.Tasks})
		}
	}
	if len(results) > 0 {
		steps = append(steps, replayStep{name: "known task results", inv: results, want: func(w *immy.Fleet) {
			w.Computers = append([]immy.Computer(nil), w.Computers...)
			for i, c := range f.Computers {
				w.Computers[i].Tasks = c.Tasks
			}
		}})
	}
	for _, d := range f.Deployments {
		steps = append(steps, replayStep{name: "deployment " + d.ID, change: &Change{Ops: []Op{PutDeployment(d)}}, want: func(w *immy.Fleet) {
			w.Deployments = append(append([]immy.Deployment(nil), w.Deployments...), d)
		}})
	}
	ops = nil
	for _, x := range f.Schedules {
		ops = append(ops, PutSchedule(x))
	}
	if len(ops) > 0 {
		steps = append(steps, replayStep{name: "schedules", change: &Change{Ops: ops}, want: func(w *immy.Fleet) { w.Schedules = f.Schedules }})
	}
	for i, d := range f.Deployments {
		if d.Disabled {
			continue
		}
		off := d
		off.Disabled = true
		set := func(x immy.Deployment) func(w *immy.Fleet) {
			return func(w *immy.Fleet) {
				w.Deployments = append([]immy.Deployment(nil), w.Deployments...)
				w.Deployments[i] = x
			}
		}
		steps = append(steps,
			replayStep{name: "disable " + d.ID, change: &Change{Ops: []Op{PutDeployment(off)}}, want: set(off)},
			replayStep{name: "enable " + d.ID, change: &Change{Ops: []Op{PutDeployment(d)}}, want: set(d)})
	}
	return steps
}

// planJSON is a plan's JSON.
func planJSON(t *testing.T, p *resolver.Plan) string {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, p.WriteJSON(&b))
	return b.String()
}

// The public scenarios and the bundled fleet, replayed as change sequences
// through the store: after each step the store's fleet is the step's, a
// store opened afresh on the database holds it too, and the plan from an
// index updated step by step with each change's Changes, the plan of the
// store's fleet and a fresh plan of the step's fleet are the same bytes. At
// the end the store holds the file's fleet and its plan meets the
// scenario's expect.yaml; a scenario that expects an error is refused at the
// step that brings it, changing nothing.
func TestScenariosReplayed(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("..", "..", "examples", "immyctl", "testdata", "scenarios", "*", "fleet.yaml"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(dirs), 5)
	dirs = append(dirs, filepath.Join("..", "..", "examples", "fleets", "msp.yaml"))
	ctx := context.Background()
	for _, path := range dirs {
		name := filepath.Base(filepath.Dir(path))
		if filepath.Base(path) == "msp.yaml" {
			name = "msp"
		}
		ff, err := fleetfile.LoadFile(path)
		require.NoError(t, err)
		file := ff.Fleet
		var expect struct {
			Computers map[string]struct {
				Winners map[string]string   `yaml:"winners"`
				Actions []map[string]string `yaml:"actions"`
			} `yaml:"computers"`
			Error string `yaml:"error"`
		}
		if raw, err := os.ReadFile(filepath.Join(filepath.Dir(path), "expect.yaml")); err == nil {
			require.NoError(t, yaml.Unmarshal(raw, &expect))
		}
		at := file.At
		if at.IsZero() {
			at = time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
		}
		cfg := resolver.Config{At: at}
		for _, b := range backends(t) {
			t.Run(name+"/"+b.name, func(t *testing.T) {
				s := b.open(t)
				want := &immy.Fleet{}
				var ix *targets.Index
				for n, st := range replaySteps(file) {
					before, rev := s.Snapshot()
					var ch targets.Changes
					var err error
					if st.change != nil {
						c := *st.change
						c.Base, c.Actor = rev, "replay"
						_, err = s.Apply(ctx, c)
						ch = c.Changes()
					} else {
						_, err = s.PutInventory(ctx, st.inv)
						ch = Change{Inventory: st.inv}.Changes()
					}
					if expect.Error != "" && err != nil {
						require.Contains(t, err.Error(), expect.Error, "step %d, %s", n+1, st.name)
						require.True(t, before == s.Fleet(), "a refused step changes nothing")
						require.Equal(t, rev, s.Revision())
						return
					}
					require.NoError(t, err, "step %d, %s", n+1, st.name)
					st.want(want)
					got := s.Fleet()
					if d := cmp.Diff(want, got, fleetCmp...); d != "" {
						t.Fatalf("step %d, %s: the store's fleet (-step +store):\n%s", n+1, st.name, d)
					}
					fresh := b.open(t)
					if d := cmp.Diff(got, fresh.Fleet(), fleetCmp...); d != "" {
						t.Fatalf("step %d, %s: a fresh store (-store +fresh):\n%s", n+1, st.name, d)
					}
					fresh.Close()

					if ix == nil {
						ix, err = targets.NewIndex(got, targets.Config{At: at})
					} else {
						ix, err = ix.Update(got, ch)
					}
					require.NoError(t, err, "step %d, %s: index", n+1, st.name)
					cat, err := resolver.NewCatalogue(got)
					require.NoError(t, err)
					p, err := resolver.NewPlanner(ix, cat, cfg)
					require.NoError(t, err)
					stepPlan, err := p.Plan(ctx, resolver.Session{})
					require.NoError(t, err)
					freshPlan, err := resolver.PlanFleet(ctx, want, cfg, resolver.Session{})
					require.NoError(t, err)
					if d := cmp.Diff(planJSON(t, freshPlan), planJSON(t, stepPlan)); d != "" {
						t.Fatalf("step %d, %s: the plan of the updated index (-fresh +updated):\n%s", n+1, st.name, d)
					}
				}
				require.Empty(t, expect.Error, "the store took a fleet the scenario expects refused")
				if d := cmp.Diff(file, s.Fleet(), fleetCmp...); d != "" {
					t.Fatalf("fleet file -> store -> fleet (-file +store):\n%s", d)
				}
				plan, err := resolver.PlanFleet(ctx, s.Fleet(), cfg, resolver.Session{})
				require.NoError(t, err)
				for id, w := range expect.Computers {
					var cp *resolver.ComputerPlan
					for i := range plan.Computers {
						if plan.Computers[i].ID == id {
							cp = &plan.Computers[i]
						}
					}
					require.NotNil(t, cp, "computer %s", id)
					winners := map[string]string{}
					for _, d := range cp.Decisions() {
						if _, ok := w.Winners[d.Item]; ok {
							winners[d.Item] = d.Winner
						}
					}
					require.Empty(t, cmp.Diff(w.Winners, winners), id)
					acts := []map[string]string{}
					for _, a := range cp.Actions() {
						if a.Action != resolver.ActionNone {
							acts = append(acts, map[string]string{"item": a.Item, "action": a.Action.String()})
						}
					}
					wantActs := []map[string]string{}
					for _, a := range w.Actions {
						wantActs = append(wantActs, map[string]string{"item": a["item"], "action": a["action"]})
					}
					require.Empty(t, cmp.Diff(wantActs, acts), id)
				}
			})
		}
	}
}
