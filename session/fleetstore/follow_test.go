package fleetstore

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/resolver"
)

// Edit through one process, plan through another: the second store learns
// the first one's revision (on PostgreSQL by notification alone: its poll is
// an hour) and plans from it.
func TestFollowEditHerePlanThere(t *testing.T) {
	src := mspFleet(t)
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			editor := b.open(t)
			importFleet(t, editor, src)
			planner := b.open(t)
			before := planner.Fleet()

			poll := 5 * time.Millisecond
			if b.name == "postgres" {
				poll = time.Hour
			}
			revs := make(chan int64, 16)
			done := make(chan error, 1)
			go func() {
				done <- planner.Follow(ctx, FollowConfig{Poll: poll, OnChange: func(_ *immy.Fleet, rev int64) { revs <- rev }})
			}()

			var ops []Op
			for _, d := range src.Deployments {
				if d.Desired != 0 && d.Desired != immy.DesiredUninstalled {
					d.Desired, d.Version = immy.DesiredUninstalled, immy.Version{}
					ops = append(ops, PutDeployment(d))
				}
			}
			rev, err := editor.Apply(ctx, Change{Base: editor.Revision(), Actor: "alice", Ops: ops})
			require.NoError(t, err)
			for got := int64(0); got != rev; {
				select {
				case got = <-revs:
				case <-time.After(time.Minute): // a guard against hanging, not a measure
					t.Fatalf("the planner never learned revision %d (it is at %d)", rev, planner.Revision())
				}
			}
			if diff := cmp.Diff(editor.Fleet(), planner.Fleet(), fleetCmp...); diff != "" {
				t.Fatalf("followed fleet (-editor +planner):\n%s", diff)
			}
			plan := func(f *immy.Fleet) *resolver.Plan {
				p, err := resolver.PlanFleet(ctx, f, resolver.Config{}, resolver.Session{})
				require.NoError(t, err)
				return p
			}
			require.True(t, resolver.Diff(plan(editor.Fleet()), plan(planner.Fleet())).Empty())
			require.False(t, resolver.Diff(plan(before), plan(planner.Fleet())).Empty(), "the edit changed the plan")

			cancel()
			require.NoError(t, <-done)
		})
	}
}
