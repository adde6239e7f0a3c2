package fleetstore

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/resolver"
)

func TestPreview(t *testing.T) {
	ctx := context.Background()
	src := mspFleet(t)
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			s := b.open(t)
			importFleet(t, s, src)
			before, rev := s.Fleet(), s.Revision()
			tables := dump(t, s)

			// Every deployment of a software goes to "uninstalled".
			var ops []Op
			for _, d := range before.Deployments {
				if d.Desired != 0 && d.Desired != immy.DesiredUninstalled {
					d.Desired, d.Version = immy.DesiredUninstalled, immy.Version{}
					ops = append(ops, PutDeployment(d))
				}
			}
			require.NotEmpty(t, ops)
			ch := Change{Base: rev, Actor: "alice", Ops: ops}
			got, err := s.Preview(ctx, ch, resolver.Config{}, resolver.Session{})
			require.NoError(t, err)
			require.False(t, got.Empty())
			require.True(t, before == s.Fleet())
			require.Equal(t, rev, s.Revision())
			require.Equal(t, tables, dump(t, s), "a preview writes nothing")
			uninstalls := 0
			for _, c := range got.Computers {
				for _, a := range c.Actions {
					if a.New != nil && a.New.Action == resolver.ActionUninstall {
						uninstalls++
					}
				}
			}
			require.Positive(t, uninstalls)

			// The preview is the diff of the plans before and after applying.
			_, err = s.Apply(ctx, ch)
			require.NoError(t, err)
			oldPlan, err := resolver.PlanFleet(ctx, before, resolver.Config{}, resolver.Session{})
			require.NoError(t, err)
			newPlan, err := resolver.PlanFleet(ctx, s.Fleet(), resolver.Config{}, resolver.Session{})
			require.NoError(t, err)
			if diff := cmp.Diff(resolver.Diff(oldPlan, newPlan), got); diff != "" {
				t.Fatalf("preview differs from the applied change (-applied +preview):\n%s", diff)
			}

			// A change that would break a rule is refused as Apply refuses it.
			d := before.Deployments[0]
			d.Item = "nothing"
			_, err = s.Preview(ctx, Change{Base: s.Revision(), Actor: "alice", Ops: []Op{PutDeployment(d)}}, resolver.Config{}, resolver.Session{})
			var ps immy.Problems
			require.ErrorAs(t, err, &ps)
			// and one against an old revision of what moved on conflicts.
			_, err = s.Preview(ctx, ch, resolver.Config{}, resolver.Session{})
			require.ErrorIs(t, err, ErrConflict)
		})
	}
}
