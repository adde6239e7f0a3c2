package targets

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
)

// TestMatchKeepsWhatFailingFiltersDoNotTouch: a filter that fails at run time
// on a computer leaves out the deployments that share it, each reported in
// a FilterErrors, and every other deployment still matches.
func TestMatchKeepsWhatFailingFiltersDoNotTouch(t *testing.T) {
	f := &immy.Fleet{
		Tenants: []immy.Tenant{{ID: "t"}},
		Computers: []immy.Computer{
			{ID: "two-tags", Tenant: "t", Kind: immy.KindWorkstation, Tags: []string{"a", "b"}},
			{ID: "four-tags", Tenant: "t", Kind: immy.KindWorkstation, Tags: []string{"a", "b", "c", "d"}},
		},
	}
	deps := []immy.Deployment{
		{ID: "all", Target: immy.Target{Type: immy.TargetAllComputers}},
		{ID: "expr-1", Target: immy.Target{Type: immy.TargetFilter, Expr: `computer.tags[3] == "d"`}},
		{ID: "tag", Target: immy.Target{Type: immy.TargetTag, Tag: "a"}},
		{ID: "expr-2", Target: immy.Target{Type: immy.TargetFilter, Expr: `computer.tags[3] == "d"`, Tenant: "t"}},
		{ID: "lua", Target: immy.Target{Type: immy.TargetFilter, Lua: `return computer.tags[3]:upper() == "C"`}},
		{ID: "fine", Target: immy.Target{Type: immy.TargetFilter, Expr: `len(computer.tags) > 1`}},
	}
	ix, err := NewIndex(f, Config{})
	require.NoError(t, err)
	m, err := ix.Compile(deps)
	require.NoError(t, err)
	ctx := context.Background()

	got, err := m.Match(ctx, 0, nil)
	require.Equal(t, []int{0, 2, 5}, got, "the deployments whose filters worked")
	var es FilterErrors
	require.True(t, errors.As(err, &es), "want FilterErrors, got %v", err)
	type failed struct {
		Dep        int
		ID, Comp   string
		Lang       Language
		HasMessage bool
	}
	var seen []failed
	for _, e := range es {
		seen = append(seen, failed{e.Deployment, e.ID, e.Computer, e.Lang, e.Message() != "" && e.Err != nil})
	}
	require.Empty(t, cmp.Diff([]failed{
		{1, "expr-1", "two-tags", LanguageExpr, true},
		{3, "expr-2", "two-tags", LanguageExpr, true},
		{4, "lua", "two-tags", LanguageLua, true},
	}, seen))
	var fe *FilterError
	require.True(t, errors.As(err, &fe))
	require.NotContains(t, fe.Error(), "\n", "one line")

	got, err = m.Match(ctx, 1, nil)
	require.NoError(t, err)
	require.Equal(t, []int{0, 1, 2, 3, 4, 5}, got)

	// MatchSplit reports the same filters; a cancelled ctx is no filter's fault.
	_, _, err = m.MatchSplit(ctx, 0, nil)
	require.True(t, errors.As(err, &es))
	require.Len(t, es, 3)
}
