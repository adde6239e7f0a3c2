package targets

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/immytest"
)

// matchAll returns every computer's matches, by computer id.
func matchAll(t *testing.T, m *Matcher) map[string][]string {
	t.Helper()
	f := m.Index().Fleet()
	out := map[string][]string{}
	for c := range f.Computers {
		ds, err := m.Match(context.Background(), c, nil)
		if _, partial := partialMatch(err); err != nil && !partial {
			require.NoError(t, err)
		}
		ids := []string{}
		for _, d := range ds {
			ids = append(ids, m.deps[d].ID)
		}
		slices.Sort(ids)
		out[f.Computers[c].ID] = ids
	}
	return out
}

func freshMatcher(t *testing.T, f *immy.Fleet) *Matcher {
	t.Helper()
	ix, err := NewIndex(f, Config{})
	require.NoError(t, err)
	m, err := ix.Compile(f.Deployments)
	require.NoError(t, err)
	return m
}

// TestUpdateBranches updates one matcher twice, each time differently (as a
// store's preview and its apply do): each update matches as a matcher built
// from scratch, the first keeps matching as it did, and Touched names every
// computer whose matches changed.
func TestUpdateBranches(t *testing.T) {
	f := immytest.Generate(immytest.GenConfig{Seed: 7, Tenants: 8, Computers: 3*memoBlock + 17, Mix: immytest.FilteredMix})
	m0 := freshMatcher(t, f)
	before := matchAll(t, m0) // every filter's result remembered

	filterOf := func(expr string) func(*immy.Fleet) Changes {
		return func(n *immy.Fleet) Changes {
			n.Deployments = slices.Clone(n.Deployments)
			n.Deployments[0].Target = immy.Target{Type: immy.TargetFilter, Expr: expr}
			return Changes{Deployments: []string{n.Deployments[0].ID}}
		}
	}
	computer := func(i int, edit func(*immy.Computer)) func(*immy.Fleet) Changes {
		return func(n *immy.Fleet) Changes {
			n.Computers = slices.Clone(n.Computers)
			edit(&n.Computers[i])
			return Changes{Computers: []string{n.Computers[i].ID}}
		}
	}
	branches := []struct {
		name string
		edit func(*immy.Fleet) Changes
	}{
		// two new filters, one slot each: neither reads the other's results
		{"filter online", filterOf(`computer.online`)},
		{"filter not online", filterOf(`not computer.online`)},
		{"inventory", computer(memoBlock+3, func(c *immy.Computer) { c.Online = !c.Online; c.OS = "Windows 11 Pro"; c.Software = nil })},
		{"tag", computer(5, func(c *immy.Computer) { c.Tags = append(slices.Clip(c.Tags), "canary") })},
		{"kind", computer(7, func(c *immy.Computer) { c.Kind = immy.KindServer })},
		{"created", func(n *immy.Fleet) Changes {
			c := n.Computers[0]
			c.ID = "pc-created"
			n.Computers = append(slices.Clip(n.Computers), c)
			return Changes{Computers: []string{c.ID}}
		}},
		{"deleted", func(n *immy.Fleet) Changes {
			id := n.Computers[3].ID
			n.Computers = slices.Delete(slices.Clone(n.Computers), 3, 4)
			return Changes{Computers: []string{id}}
		}},
		{"tenant", func(n *immy.Fleet) Changes {
			n.Tenants = slices.Clone(n.Tenants)
			n.Tenants[2].ExcludeFromCrossTenant = !n.Tenants[2].ExcludeFromCrossTenant
			n.Tenants[2].Name = "renamed"
			return Changes{Tenants: []string{n.Tenants[2].ID}}
		}},
	}
	for _, br := range branches {
		t.Run(br.name, func(t *testing.T) {
			next := *f
			ch := br.edit(&next)
			ix, err := m0.Index().Update(&next, ch)
			require.NoError(t, err)
			deps := m0.deps
			if len(ch.Deployments) > 0 {
				deps = next.Deployments
			}
			m, err := m0.Update(ix, deps)
			require.NoError(t, err)
			got := matchAll(t, m)
			want := matchAll(t, freshMatcher(t, &next))
			require.Empty(t, cmp.Diff(want, got), "updated against rebuilt")
			require.Empty(t, cmp.Diff(before, matchAll(t, m0)), "the matcher updated from changed")

			touched, all, err := m.Touched(context.Background(), m0, ch)
			require.NoError(t, err)
			require.False(t, all)
			for id, ds := range got {
				if !slices.Equal(ds, before[id]) {
					_, ok := slices.BinarySearch(touched, id)
					require.True(t, ok, fmt.Sprintf("computer %s changed matches but is not touched", id))
				}
			}
			for id := range before {
				if _, kept := got[id]; !kept {
					_, ok := slices.BinarySearch(touched, id)
					require.True(t, ok, "computer %s deleted but not touched", id)
				}
			}
		})
	}
}
