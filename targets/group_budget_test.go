package targets

import (
	"fmt"
	"maps"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/immytest"
)

// TestGroupingBudget: filters that each read fields no other filter reads
// (a hostile fleet file) cannot make an index keep more group numbers than
// groupBudget times its computers. A field of one value everywhere keeps
// none, a field set that refines one field's grouping by fields that split
// nothing shares that field's; a filter past the budget is evaluated per
// computer, with the same results as a matcher that groups nothing.
func TestGroupingBudget(t *testing.T) {
	withGroupMinEvals(t, 1)
	const keys = 3 * groupBudget // more groupings of two groups than the budget holds
	cfg := immytest.FleetScale(100_000)
	cfg.Computers = 2 * keys
	f := immytest.Generate(cfg)
	require.Greater(t, len(f.Deployments), 3*keys)
	f.Deployments = f.Deployments[:3*keys]
	for i := range f.Computers {
		c := &f.Computers[i]
		c.Attributes = maps.Clone(c.Attributes)
		if c.Attributes == nil {
			c.Attributes = map[string]string{}
		}
		c.Attributes[fmt.Sprintf("k%d", i%keys)] = "x" // on two computers each
	}
	constant := map[string]bool{} // the filters that read fields of one value
	for i := range f.Deployments {
		d := &f.Deployments[i]
		var src string
		switch k := i / 3; i % 3 {
		case 0: // two groups
			src = fmt.Sprintf(`computer.attributes["k%d"] == "x"`, k)
		case 1: // absent everywhere: one group
			src = fmt.Sprintf(`computer.attributes["z%d"] == ""`, k)
			constant[src] = true
		case 2: // the groups of k alone
			src = fmt.Sprintf(`computer.attributes["k%d"] == "x" and computer.attributes["z%d"] == ""`, k, k)
		}
		d.Target = immy.Target{Category: d.Target.Category, Type: immy.TargetFilter, Expr: src}
	}
	ix, err := NewIndex(f, Config{})
	require.NoError(t, err)
	on, err := ix.Compile(f.Deployments)
	require.NoError(t, err)
	got := matchAll(t, on)

	n := len(f.Computers)
	arrays := map[*uint16]int{} // kept group numbers, each once (a set shares a field's)
	used, unused := 0, 0
	for key, g := range ix.groups.by {
		switch {
		case g.fine:
			require.Nil(t, g.of, key)
			unused++
		case g.n <= 1:
			require.Nil(t, g.of, "%s: one group keeps no group numbers", key)
		default:
			require.Len(t, g.of, n, key)
			arrays[&g.of[0]] = len(g.of)
			used++
		}
	}
	entries := 0
	for _, l := range arrays {
		entries += l
	}
	t.Logf("%d computers, %d filters: %d groupings used (%d group numbers kept, budget %d), %d past the budget",
		n, len(on.filters), used, entries, groupBudget*n, unused)
	require.Equal(t, int64(entries), ix.groups.kept.Load(), "the budget counts what is kept")
	require.LessOrEqual(t, entries, groupBudget*n)
	require.Greater(t, unused, 0, "the filters should have gone past the budget")
	require.Greater(t, used, groupBudget/2, "the budget should have been used")
	for s := range on.filters {
		if fl := on.filters[s].f; constant[fl.Source()] {
			g := ix.grouping(fl.reads)
			require.False(t, g.fine, "a grouping of one group is used past the budget: %s", fl.Source())
			require.Nil(t, g.of, fl.Source())
		}
	}

	groupOff = true
	off, err := ix.Compile(f.Deployments)
	require.NoError(t, err)
	want := matchAll(t, off)
	groupOff = false
	require.Empty(t, cmp.Diff(want, got))
}
