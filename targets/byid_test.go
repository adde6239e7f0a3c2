package targets_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/targets"
)

func ExampleMatcher_ResolveID() {
	fleet := exampleFleet()
	ix, err := targets.NewIndex(fleet, targets.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	m, err := ix.Compile(fleet.Deployments)
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	computers, _ := m.ResolveID(ctx, "msp-workstations")
	fmt.Println(computers)
	deployments, _ := m.MatchID(ctx, "contoso-lt-01")
	fmt.Println(deployments)
	_, err = m.ResolveID(ctx, "nope")
	fmt.Println(err)
	// Output:
	// [contoso-lt-01 fabrikam-pc-01]
	// [everyone msp-workstations johns vip win11]
	// targets: no deployment "nope": not found
}

// TestByIDAgreesWithIndexes pins the by-id helpers to the index forms on
// every deployment and computer of the example fleet.
func TestByIDAgreesWithIndexes(t *testing.T) {
	ctx := context.Background()
	fleet := exampleFleet()
	ix, err := targets.NewIndex(fleet, targets.Config{})
	require.NoError(t, err)
	m, err := ix.Compile(fleet.Deployments)
	require.NoError(t, err)
	for i, d := range fleet.Deployments {
		got, err := m.ResolveID(ctx, d.ID)
		require.NoError(t, err)
		cs, err := m.Resolve(ctx, i)
		require.NoError(t, err)
		want := []string{}
		for _, c := range cs {
			want = append(want, fleet.Computers[c].ID)
		}
		require.Empty(t, cmp.Diff(want, got), d.ID)
		for c, pc := range fleet.Computers {
			byID, err := m.ExplainID(ctx, d.ID, pc.ID)
			require.NoError(t, err)
			byIndex, err := m.Explain(ctx, i, c)
			require.NoError(t, err)
			require.Empty(t, cmp.Diff(byIndex, byID), "%s on %s", d.ID, pc.ID)
		}
	}
	for c, pc := range fleet.Computers {
		got, err := m.MatchID(ctx, pc.ID)
		require.NoError(t, err)
		is, err := m.Match(ctx, c, nil)
		require.NoError(t, err)
		want := []string{}
		for _, i := range is {
			want = append(want, fleet.Deployments[i].ID)
		}
		require.Empty(t, cmp.Diff(want, got), pc.ID)
	}
	_, err = m.MatchID(ctx, "nope")
	require.ErrorIs(t, err, immy.ErrNotFound)
	_, err = m.ExplainID(ctx, "everyone", "nope")
	require.ErrorIs(t, err, immy.ErrNotFound)
	_, err = m.ExplainID(ctx, "nope", "contoso-lt-01")
	require.ErrorIs(t, err, immy.ErrNotFound)
}
