package targets

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/immytest"
)

// withGroupMinEvals sets groupMinEvals for one test.
func withGroupMinEvals(t *testing.T, n int32) {
	t.Helper()
	old := groupMinEvals
	groupMinEvals = n
	t.Cleanup(func() { groupMinEvals = old })
}

// TestGroupedMatchesPlain pins grouped evaluation to the per-computer path
// over FleetScale's filters (every distinct filter of the 5,000 deployments
// of FleetScale(100_000), over fewer computers): each filter evaluated by
// groups gives, on every computer it knows, what the filter gives on the
// computer alone; and a matcher that groups every filter resolves and
// matches every deployment and computer as one that groups none.
func TestGroupedMatchesPlain(t *testing.T) {
	cfg := immytest.FleetScale(100_000)
	cfg.Computers = 600
	if testing.Short() {
		cfg.Computers = 200
	}
	f := immytest.Generate(cfg)
	ix, err := NewIndex(f, Config{})
	require.NoError(t, err)
	m, err := ix.Compile(f.Deployments)
	require.NoError(t, err)
	ctx := context.Background()

	grouped, guarded, unknown, known := 0, 0, 0, 0
	for s, slot := range m.filters {
		m.groupFilter(ctx, int32(s))
		r := m.groups[s].res.Load()
		if r == nil {
			continue
		}
		grouped++
		// grouped by every field it reads, or by its guards
		whole := slot.f.reads != nil && !ix.grouping(slot.f.reads).fine
		if !whole {
			guarded++
		}
		for c := range f.Computers {
			want, werr := slot.f.Eval(ctx, m.env(c))
			got, ok := r.lookup(c)
			if !ok {
				if whole {
					require.Error(t, werr, "filter %q: only a group whose evaluation fails is unknown, computer %s",
						slot.f.Source(), f.Computers[c].ID)
				}
				unknown++
				continue
			}
			known++
			require.NoError(t, werr, "filter %q, computer %s", slot.f.Source(), f.Computers[c].ID)
			require.Equal(t, want, got, "filter %q, computer %s", slot.f.Source(), f.Computers[c].ID)
		}
	}
	t.Logf("%d of %d filters grouped (%d by their guards); %d results known, %d left to the computer",
		grouped, len(m.filters), guarded, known, unknown)
	require.Greater(t, grouped-guarded, len(m.filters)/3, "many of FleetScale's filters read fields that group")
	require.Greater(t, guarded, 0, "some of FleetScale's filters are grouped by their guards")

	// Whole matchers: every filter grouped (from its first evaluation) against none.
	withGroupMinEvals(t, 1)
	on, err := ix.Compile(f.Deployments)
	require.NoError(t, err)
	groupOff = true
	off, err := ix.Compile(f.Deployments)
	require.NoError(t, err)
	wantMatch := matchAll(t, off)
	wantResolve := resolveAll(t, off)
	groupOff = false
	require.Empty(t, cmp.Diff(wantMatch, matchAll(t, on)))
	require.Empty(t, cmp.Diff(wantResolve, resolveAll(t, on)))
	n := 0
	for s := range on.groups {
		if on.groups[s].res.Load() != nil {
			n++
		}
	}
	require.Greater(t, n, 0, "the matcher should have grouped filters")
}

// resolveAll returns every deployment's computers (or its error), by id.
func resolveAll(t *testing.T, m *Matcher) map[string]string {
	t.Helper()
	f := m.Index().Fleet()
	out := map[string]string{}
	for i, d := range m.deps {
		cs, err := m.Resolve(context.Background(), i)
		out[d.ID] = fmt.Sprint(computerIDs(f, cs), err)
	}
	return out
}

// TestGroupedUpdate checks that grouped results inherited along updates
// give way on the computers that changed: each updated matcher, whose
// filters were grouped before the update, matches as one built from scratch.
func TestGroupedUpdate(t *testing.T) {
	withGroupMinEvals(t, 1)
	f := immytest.Generate(immytest.GenConfig{Seed: 11, Tenants: 6, Computers: 2*memoBlock + 40,
		Mix: immytest.FilteredMix, Filters: immytest.FiltersDistinct})
	m := freshMatcher(t, f)
	matchAll(t, m) // every filter grouped
	n := 0
	for s := range m.groups {
		if m.groups[s].res.Load() != nil {
			n++
		}
	}
	require.Greater(t, n, 0)
	edits := []func(c *immy.Computer){
		func(c *immy.Computer) { c.OS = "Windows Server 2022 Datacenter" },
		func(c *immy.Computer) { c.Tags = append(slices.Clip(c.Tags), "canary", "lab") },
		func(c *immy.Computer) { c.Attributes = map[string]string{"site": "branch", "department": "Finance"} },
		func(c *immy.Computer) { c.Online = !c.Online; c.Model = "OptiPlex 7090"; c.Manufacturer = "Dell Inc." },
		func(c *immy.Computer) { c.Kind = immy.KindServer; c.Tags = nil },
	}
	for step, edit := range edits {
		next := *f
		next.Computers = slices.Clone(f.Computers)
		var ch Changes
		for i := step; i < len(next.Computers); i += 37 {
			c := &next.Computers[i]
			c.Attributes = maps.Clone(c.Attributes)
			edit(c)
			ch.Computers = append(ch.Computers, c.ID)
		}
		ix, err := m.Index().Update(&next, ch)
		require.NoError(t, err)
		um, err := m.Update(ix, next.Deployments)
		require.NoError(t, err)
		require.Empty(t, cmp.Diff(matchAll(t, freshMatcher(t, &next)), matchAll(t, um)), "step %d", step)
		f, m = &next, um
	}
}

// TestFilterGuards: the guards of an expr filter (or of a Lua filter that is
// one return) are the operands of its top-level and-chain over fields that
// can be known, up to the first that may fail, needs the VM or (in Lua) is
// not a boolean.
func TestFilterGuards(t *testing.T) {
	for _, tc := range []struct {
		src  string
		want []string // the keys of the guards' field sets
	}{
		{`computer.kind == "server"`, nil},
		{`computer.kind == "server" and installed("7-Zip*")`, []string{"computer.kind"}},
		{`installed("7-Zip*") and computer.kind == "server"`, []string{"computer.kind"}},
		{`computer.name startsWith "AC-" and computer.os contains "Pro" and has_tag("lab")`,
			[]string{"computer.name", "computer.os", "computer.tags\x00tenant.tags"}},
		{`(computer.online or computer.kind == "server") and computer.os startsWith "Windows"`,
			[]string{"computer.kind\x00computer.online", "computer.os"}},
		// the VM runs int() first, which may fail before the guard
		{`int(split(computer.os, " ")[2]) > 16 and computer.kind == "server"`, nil},
		{`computer.kind == "server" and int(split(computer.os, " ")[2]) > 16 and computer.online`, []string{"computer.kind"}},
		{`computer.online or computer.kind == "server"`, nil},
		{`return starts_with(computer.name, "AC-") and computer.kind == "server" and contains(tenant.tags, "vip")`,
			[]string{"computer.name", "computer.kind", "tenant.tags"}},
		{`return computer.attributes.site == "hq" and installed("7-Zip*")`, []string{"attr:site"}},
		// string.find's result is a number or nil, not a boolean: no guard from it on
		{`return string.find(computer.os, "Pro", 1, true) and computer.kind == "server"`, nil},
		{`return computer.kind == "server"`, nil},
	} {
		lang := LanguageExpr
		if strings.HasPrefix(tc.src, "return ") {
			lang = LanguageLua
		}
		f, err := Compile(lang, tc.src)
		require.NoError(t, err, tc.src)
		var got []string
		for _, g := range f.guards {
			got = append(got, g.reads.key)
		}
		require.Equal(t, tc.want, got, tc.src)
	}
}

// The matcher's own tests, again with every filter evaluated by groups from
// its first evaluation: against the oracle (filters that fail included),
// along updates, and under concurrent use.

func TestGroupedAgreesWithOracle(t *testing.T) {
	withGroupMinEvals(t, 1)
	TestMatcherAgreesWithOracle(t)
}

func TestGroupedUpdateBranches(t *testing.T) {
	withGroupMinEvals(t, 1)
	TestUpdateBranches(t)
}

func TestGroupedConcurrentUse(t *testing.T) {
	withGroupMinEvals(t, 1)
	TestMatcherConcurrentUse(t)
}
