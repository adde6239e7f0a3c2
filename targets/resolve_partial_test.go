package targets_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/targets"
)

// TestResolveKeepsWhatAFailingFilterDoesNotTouch: a filter that fails at
// run time on some computers leaves only those out of Resolve; the others
// come back with FilterErrors naming each failure, every call (nothing of a
// partial result is kept as the target's).
func TestResolveKeepsWhatAFailingFilterDoesNotTouch(t *testing.T) {
	f := &immy.Fleet{
		Tenants: []immy.Tenant{{ID: "t"}},
		Computers: []immy.Computer{
			{ID: "pc-four", Tenant: "t", Kind: immy.KindWorkstation, Tags: []string{"a", "b", "c", "d"}},
			{ID: "pc-two", Tenant: "t", Kind: immy.KindWorkstation, Tags: []string{"a", "b"}},
			{ID: "pc-one", Tenant: "t", Kind: immy.KindWorkstation, Tags: []string{"a"}},
		},
		Deployments: []immy.Deployment{{ID: "d", Item: "app",
			Target: immy.Target{Type: immy.TargetFilter, Expr: `computer.tags[3] == "d"`}}},
	}
	ix, err := targets.NewIndex(f, targets.Config{})
	require.NoError(t, err)
	m, err := ix.Compile(f.Deployments)
	require.NoError(t, err)
	for range 2 {
		ids, err := m.ResolveID(context.Background(), "d")
		require.Equal(t, []string{"pc-four"}, ids)
		var fes targets.FilterErrors
		require.True(t, errors.As(err, &fes), "%v", err)
		var failed []string
		for _, fe := range fes {
			require.Equal(t, "d", fe.ID)
			failed = append(failed, fe.Computer)
		}
		require.Equal(t, []string{"pc-one", "pc-two"}, failed)
	}
}
