package resolver

import (
	"bytes"
	"context"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
)

// locateByIndex stands for a Config.Locate that trusts the index it is
// given (a locator over a list of the fleet's deployments, say), unlike
// fleetfile.File.Locate, which checks the id at that index.
func locateByIndex(p immy.Problem) immy.Problem {
	p.File, p.Line = "fleet.yaml", 100+p.Index
	return p
}

// A plan that Replan keeps from the planner before an update locates its
// problems in the updated fleet, as a fresh plan does: a deployment added
// or removed before the one whose filter failed moves it in the fleet,
// while the computer the problem is on is not touched.
func TestReplanLocatesKeptProblemsInTheNewFleet(t *testing.T) {
	ctx := context.Background()
	f := filterErrorFleet()
	p := newPlanner(t, f, Config{Locate: locateByIndex})
	plan, err := p.Plan(ctx, Session{})
	require.NoError(t, err)
	two, _ := plan.Computer("pc-two")
	require.Len(t, two.Problems(), 1)
	require.Equal(t, 101, two.Problems()[0].Line, "d-uninstall is the fleet's deployment 1")

	// d-new, first in the fleet, reaches pc-four alone: pc-two's plan is kept.
	added := *f
	added.Deployments = slices.Concat([]immy.Deployment{{ID: "d-new", Item: "other",
		Target: immy.Target{Type: immy.TargetComputer, Computer: "pc-four"}, Desired: immy.DesiredLatest}}, f.Deployments)
	// d-latest, before d-uninstall, goes: pc-two's plan changes, and is made again.
	removed := *f
	removed.Deployments = slices.Clone(f.Deployments[1:])
	for _, tt := range []struct {
		name string
		next *immy.Fleet
		ch   Changes
		kept bool
	}{
		{"added before it", &added, Changes{Deployments: []string{"d-new"}}, true},
		{"removed before it", &removed, Changes{Deployments: []string{"d-latest"}}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			q, err := p.Update(tt.next, tt.ch)
			require.NoError(t, err)
			ids, all, err := q.Touched(ctx, p, tt.ch)
			require.NoError(t, err)
			require.False(t, all)
			require.Equal(t, !tt.kept, slices.Contains(ids, "pc-two"), "touched: %v", ids)
			got, err := q.Replan(ctx, plan, Session{}, ids, all)
			require.NoError(t, err)
			fresh, err := newPlanner(t, tt.next, Config{Locate: locateByIndex}).Plan(ctx, Session{})
			require.NoError(t, err)
			want, _ := fresh.Computer("pc-two")
			cp, _ := got.Computer("pc-two")
			require.Equal(t, problemLines(want.Problems()), problemLines(cp.Problems()))
			var a, b bytes.Buffer
			require.NoError(t, fresh.WriteJSON(&a))
			require.NoError(t, got.WriteJSON(&b))
			require.Equal(t, a.String(), b.String(), "the plan's JSON, with its problems' lines")

			// The plan Replan kept it from still locates in its own fleet.
			require.Equal(t, 101, two.Problems()[0].Line)
			if tt.kept {
				for _, c := range Diff(plan, got).Computers {
					require.NotEqual(t, "pc-two", c.ID, "a kept plan has no differences")
				}
			}
		})
	}
}

func problemLines(ps []Problem) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Error())
	}
	return out
}
