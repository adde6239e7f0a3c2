package targets

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/immytest"
)

// TestMatchOfIsMatchOnWanted: over FleetScale's targets (and filters that
// fail on computers with few tags), MatchOf and MatchSplitOf with a random
// half of the deployments wanted give every wanted deployment's match and
// filter error as Match gives it; with none wanted, no filter is evaluated.
func TestMatchOfIsMatchOnWanted(t *testing.T) {
	cfg := immytest.FleetScale(8_000)
	cfg.Computers = 150
	f := immytest.Generate(cfg)
	for i := range 40 {
		f.Deployments = append(f.Deployments, immy.Deployment{ID: fmt.Sprintf("d-failing-%d", i), Item: f.Deployments[i].Item,
			Target: immy.Target{Type: immy.TargetFilter, Expr: fmt.Sprintf(`computer.tags[1] != "nope" && computer.name != "n%d"`, i)}})
	}
	ix, err := NewIndex(f, Config{})
	require.NoError(t, err)
	ctx := context.Background()
	plain, err := ix.Compile(f.Deployments)
	require.NoError(t, err)

	none, err := ix.Compile(f.Deployments)
	require.NoError(t, err)
	for c := range f.Computers {
		_, err := none.MatchOf(ctx, c, nil, NewWanted(len(f.Deployments)))
		require.NoError(t, err)
	}
	for i := range none.memo {
		require.Nil(t, none.memo[i].Load(), "a filter was evaluated with nothing wanted")
	}

	r := rand.New(rand.NewPCG(3, 4))
	want := NewWanted(len(f.Deployments))
	for i := range f.Deployments {
		if r.IntN(2) == 0 {
			want.Add(i)
		}
	}
	of, err := ix.Compile(f.Deployments)
	require.NoError(t, err)
	split, err := ix.Compile(f.Deployments)
	require.NoError(t, err)
	wanted := func(ms []int) []int {
		return slices.DeleteFunc(slices.Clone(ms), func(i int) bool { return !want.Has(i) })
	}
	wantedErrs := func(err error) []int {
		var out []int
		if es, ok := err.(FilterErrors); ok { //nolint:errorlint // as returned
			for _, e := range es {
				if want.Has(e.Deployment) {
					out = append(out, e.Deployment)
				}
			}
		}
		return out
	}
	failed := 0
	for c := range f.Computers {
		ms, perr := plain.Match(ctx, c, nil)
		got, gerr := of.MatchOf(ctx, c, nil, want)
		require.Empty(t, cmp.Diff(wanted(ms), wanted(got)), "computer %d: Match (-) and MatchOf (+), wanted", c)
		require.Equal(t, wantedErrs(perr), wantedErrs(gerr), "computer %d: filter errors", c)
		failed += len(wantedErrs(perr))

		g, rest, serr := split.MatchSplitOf(ctx, c, nil, want)
		if serr == nil {
			shared, err := split.AppendShared(ctx, c, nil)
			require.NoError(t, err)
			var all []int
			for _, i := range append(shared, rest...) {
				all = append(all, int(i))
			}
			slices.Sort(all)
			require.Equal(t, plain.Group(c), g)
			require.Empty(t, cmp.Diff(wanted(ms), wanted(all)), "computer %d: Match (-) and MatchSplitOf (+), wanted", c)
		}
		require.Equal(t, wantedErrs(perr), wantedErrs(serr), "computer %d: MatchSplitOf's filter errors", c)
	}
	require.Positive(t, failed, "no wanted filter failed")
}
