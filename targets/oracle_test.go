package targets

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/immytest"
)

// oracle decides target membership the slow, obvious way, straight from the
// fleet and the rules of DESIGN.md, without any index. The matcher must agree
// with it on every (deployment, computer) pair of generated fleets.
type oracle struct {
	f       *immy.Fleet
	day     immy.Date
	primary map[string]string // computer id -> primary person id
	filters map[string]*Filter
	groups  map[string]map[string]bool
}

func newOracle(t testing.TB, f *immy.Fleet) *oracle {
	o := &oracle{f: f, day: immy.DateOf(f.At.UTC()), primary: map[string]string{}, filters: map[string]*Filter{}, groups: map[string]map[string]bool{}}
	for i := range f.Computers {
		if p, ok := PrimaryPerson(&f.Computers[i], f.Persons); ok {
			o.primary[f.Computers[i].ID] = f.Persons[p].ID
		}
	}
	for _, g := range f.Groups {
		o.groups[g.ID] = o.members(g.ID)
	}
	return o
}

func (o *oracle) tenant(id string) *immy.Tenant {
	for i := range o.f.Tenants {
		if o.f.Tenants[i].ID == id {
			return &o.f.Tenants[i]
		}
	}
	return nil
}

func (o *oracle) person(id string) *immy.Person {
	for i := range o.f.Persons {
		if o.f.Persons[i].ID == id {
			return &o.f.Persons[i]
		}
	}
	return nil
}

// descendant reports whether tenant t is a strict descendant of a.
func (o *oracle) descendant(t, a string) bool {
	for cur := o.tenant(t); cur != nil && cur.Parent != ""; cur = o.tenant(cur.Parent) {
		if cur.Parent == a {
			return true
		}
	}
	return false
}

// members returns the computers of a group, recursively (the fleet has no cycles).
func (o *oracle) members(id string) map[string]bool {
	out := map[string]bool{}
	for _, g := range o.f.Groups {
		if g.ID != id {
			continue
		}
		for _, m := range g.Members {
			for _, c := range o.f.Computers {
				if c.ID == m || (g.Kind != immy.GroupComputers && o.primary[c.ID] == m) {
					out[c.ID] = true
				}
			}
		}
		for _, n := range g.Groups {
			for c := range o.members(n) {
				out[c] = true
			}
		}
		break
	}
	return out
}

func (o *oracle) kindPasses(g immy.GroupFilter, k immy.ComputerKind) bool {
	switch g {
	case immy.FilterAll:
		return true
	case immy.FilterServers:
		return k == immy.KindServer || k == immy.KindDomainController || k == immy.KindPrimaryDomainController
	case immy.FilterWorkstations:
		return k == immy.KindWorkstation
	case immy.FilterPortable:
		return k == immy.KindPortable
	case immy.FilterWorkstationsAndPortable:
		return k == immy.KindWorkstation || k == immy.KindPortable
	case immy.FilterDomainControllers:
		return k == immy.KindDomainController || k == immy.KindPrimaryDomainController
	case immy.FilterPrimaryDomainControllers:
		return k == immy.KindPrimaryDomainController
	}
	return false
}

func (o *oracle) selects(t testing.TB, tg immy.Target, c *immy.Computer) bool {
	switch tg.Type {
	case immy.TargetAllTenants, immy.TargetTenant, immy.TargetTenantTag:
		return false
	}
	if tg.Category == immy.CategoryTenant || c.ExcludedFromMaintenance || !o.kindPasses(tg.Filter, c.Kind) {
		return false
	}
	tenant := o.tenant(c.Tenant)
	individual := tg.Type == immy.TargetComputer || tg.Type == immy.TargetPerson
	switch {
	case tg.Tenant != "":
		if c.Tenant != tg.Tenant && !(tg.PropagateToChildren && o.descendant(c.Tenant, tg.Tenant)) {
			return false
		}
	case !individual:
		if tenant != nil && tenant.ExcludeFromCrossTenant {
			return false
		}
	}
	switch tg.Type {
	case immy.TargetAllComputers:
		return true
	case immy.TargetComputer:
		return c.ID == tg.Computer
	case immy.TargetPerson:
		return o.primary[c.ID] == tg.Person && tg.Person != ""
	case immy.TargetTag:
		if slices.Contains(c.Tags, tg.Tag) || (tenant != nil && slices.Contains(tenant.Tags, tg.Tag)) {
			return true
		}
		p := o.person(o.primary[c.ID])
		return p != nil && slices.Contains(p.Tags, tg.Tag)
	case immy.TargetGroup:
		return o.groups[tg.Group][c.ID]
	case immy.TargetFilter:
		lang, src := LanguageExpr, tg.Expr
		if src == "" {
			lang, src = LanguageLua, tg.Lua
		}
		f, ok := o.filters[src]
		if !ok {
			var err error
			f, err = Compile(lang, src)
			require.NoError(t, err)
			o.filters[src] = f
		}
		ok, err := f.Eval(context.Background(), Env{Computer: c, Tenant: tenant})
		require.NoError(t, err)
		return ok
	case immy.TargetDeviceGroup:
		return slices.Contains(c.DeviceGroups, tg.DeviceGroup)
	case immy.TargetClientGroup:
		for _, a := range o.f.Agreements {
			if a.Tenant == c.Tenant && a.ClientGroup == tg.ClientGroup && a.ActiveOn(o.day) {
				return true
			}
		}
	}
	return false
}

func (o *oracle) selectsTenant(tg immy.Target, tn *immy.Tenant) bool {
	if tg.Tenant != "" {
		if tn.ID != tg.Tenant && !(tg.PropagateToChildren && o.descendant(tn.ID, tg.Tenant)) {
			return false
		}
	} else if tn.ExcludeFromCrossTenant {
		return false
	}
	switch tg.Type {
	case immy.TargetAllTenants, immy.TargetTenant:
		return true
	case immy.TargetTenantTag:
		return slices.Contains(tn.Tags, tg.Tag)
	case immy.TargetClientGroup:
		for _, a := range o.f.Agreements {
			if a.Tenant == tn.ID && a.ClientGroup == tg.ClientGroup && a.ActiveOn(o.day) {
				return true
			}
		}
	}
	return false
}

func TestMatcherAgreesWithOracle(t *testing.T) {
	ctx := context.Background()
	fleets := []*immy.Fleet{
		// This package's generator, which weighs every target type alike and
		// nests groups, and immytest's, which draws an MSP's usual mix.
		genFleet(genConfig{Seed: 1, Tenants: 30, Computers: 600, PersonsPerTenant: 4, GroupsPerTenant: 2, Deployments: 150}),
		genFleet(genConfig{Seed: 2, Tenants: 30, Computers: 600, PersonsPerTenant: 4, GroupsPerTenant: 2, Deployments: 150}),
		genFleet(genConfig{Seed: 3, Tenants: 30, Computers: 600, PersonsPerTenant: 4, GroupsPerTenant: 2, Deployments: 150}),
		immytest.Generate(immytest.GenConfig{Seed: 4, Tenants: 30, Computers: 600}),
		// Few tenants, many deployments: computers with many matches.
		genFleet(genConfig{Seed: 5, Tenants: 6, Computers: 200, PersonsPerTenant: 4, GroupsPerTenant: 2, Deployments: 500}),
		// More computers than a block of the filter results (memoBlock).
		genFleet(genConfig{Seed: 6, Tenants: 20, Computers: 8*memoBlock + 100, PersonsPerTenant: 3, GroupsPerTenant: 2, Deployments: 60}),
	}
	most := 0
	defer func() {
		// Both ways of sorting matches (see sortMatches) are exercised.
		require.Greater(t, most, 32, "no computer with many matches")
	}()
	for seed, f := range fleets {
		require.NoError(t, f.Validate())
		o := newOracle(t, f)
		ix, err := NewIndex(f, Config{})
		require.NoError(t, err)
		m, err := ix.Compile(f.Deployments)
		require.NoError(t, err)

		want := make([][]int, len(f.Computers)) // computer -> deployments
		selectedByType := map[immy.TargetType]int{}
		defer func() {
			// The generated fleets must exercise every computer target type.
			for _, typ := range []immy.TargetType{immy.TargetAllComputers, immy.TargetComputer, immy.TargetPerson, immy.TargetTag,
				immy.TargetGroup, immy.TargetFilter, immy.TargetDeviceGroup, immy.TargetClientGroup} {
				require.Positive(t, selectedByType[typ], "seed %d: no selection by a %s target", seed, typ)
			}
		}()
		for i, d := range f.Deployments {
			var wantComputers []string
			for c := range f.Computers {
				if o.selects(t, d.Target, &f.Computers[c]) {
					want[c] = append(want[c], i)
					selectedByType[d.Target.Type]++
					wantComputers = append(wantComputers, f.Computers[c].ID)
				}
			}
			sort.Strings(wantComputers)
			got, err := m.Resolve(ctx, i)
			require.NoError(t, err)
			if diff := cmp.Diff(wantComputers, computerIDs(f, got), cmp.Comparer(func(a, b []string) bool { return slices.Equal(a, b) })); diff != "" {
				t.Fatalf("seed %d: Resolve(%s %+v) (-want +got):\n%s", seed, d.ID, d.Target, diff)
			}
			if selectsTenants(d.Target) {
				var wantTenants []string
				for k := range f.Tenants {
					if o.selectsTenant(d.Target, &f.Tenants[k]) {
						wantTenants = append(wantTenants, f.Tenants[k].ID)
					}
				}
				sort.Strings(wantTenants)
				got, err := m.ResolveTenants(ctx, i)
				require.NoError(t, err)
				if diff := cmp.Diff(wantTenants, tenantIDs(f, got), cmp.Comparer(func(a, b []string) bool { return slices.Equal(a, b) })); diff != "" {
					t.Fatalf("seed %d: ResolveTenants(%s %+v) (-want +got):\n%s", seed, d.ID, d.Target, diff)
				}
			}
		}
		var buf []int
		sharedOf := map[int][][]int32{}
		defer func() {
			require.Less(t, len(sharedOf), len(f.Computers), "seed %d: computers must share groups", seed)
			for g, lists := range sharedOf {
				for _, l := range lists[1:] {
					require.Equal(t, lists[0], l, "seed %d: group %d", seed, g)
				}
			}
		}()
		for c := range f.Computers {
			most = max(most, len(want[c]))
			buf, err = m.Match(ctx, c, buf[:0])
			require.NoError(t, err)
			if diff := cmp.Diff(want[c], buf, cmp.Comparer(func(a, b []int) bool { return slices.Equal(a, b) })); diff != "" {
				t.Fatalf("seed %d: Match(%s) (-want +got):\n%s", seed, f.Computers[c].ID, diff)
			}
			// MatchSplit: the two parts, each ascending and disjoint, are
			// Match's; the shared part is its group's.
			group, rest, err := m.MatchSplit(ctx, c, nil)
			require.NoError(t, err)
			shared, err := m.AppendShared(ctx, c, nil)
			require.NoError(t, err)
			require.Equal(t, m.Group(c), group)
			require.True(t, slices.IsSorted(shared) && slices.IsSorted(rest), "seed %d: MatchSplit(%s) not ascending", seed, f.Computers[c].ID)
			split := make([]int, 0, len(shared)+len(rest))
			for _, i := range slices.Concat(shared, rest) {
				split = append(split, int(i))
			}
			slices.Sort(split)
			require.Equal(t, len(split), len(slices.Compact(slices.Clone(split))), "seed %d: MatchSplit(%s) parts overlap", seed, f.Computers[c].ID)
			if diff := cmp.Diff(want[c], split, cmp.Comparer(func(a, b []int) bool { return slices.Equal(a, b) })); diff != "" {
				t.Fatalf("seed %d: MatchSplit(%s) (-want +got):\n%s", seed, f.Computers[c].ID, diff)
			}
			if group >= 0 {
				sharedOf[group] = append(sharedOf[group], shared)
			}
			// Explain agrees on a sample of the pairs.
			for i := c % 7; i < len(f.Deployments); i += 7 {
				e, err := m.Explain(ctx, i, c)
				require.NoError(t, err)
				if e.Selected != slices.Contains(want[c], i) {
					t.Fatalf("seed %d: Explain(%s, %s) = %v, want %v", seed, f.Deployments[i].ID, f.Computers[c].ID, e, !e.Selected)
				}
			}
		}
	}
}

// A single-tenant target never selects a computer of another tenant, unless
// the target propagates and the computer's tenant is a descendant.
func TestSingleTenantStaysInItsTenant(t *testing.T) {
	ctx := context.Background()
	for seed := uint64(10); seed < 16; seed++ {
		f := genFleet(genConfig{Seed: seed, Tenants: 25, Computers: 400, PersonsPerTenant: 3, GroupsPerTenant: 2, Deployments: 120})
		o := newOracle(t, f)
		ix, err := NewIndex(f, Config{})
		require.NoError(t, err)
		m, err := ix.Compile(f.Deployments)
		require.NoError(t, err)
		checked := 0
		for i, d := range f.Deployments {
			if d.Target.Tenant == "" {
				continue
			}
			got, err := m.Resolve(ctx, i)
			require.NoError(t, err)
			for _, c := range got {
				ct := f.Computers[c].Tenant
				if ct != d.Target.Tenant && !(d.Target.PropagateToChildren && o.descendant(ct, d.Target.Tenant)) {
					t.Fatalf("seed %d: deployment %s on tenant %s (propagate %v) selects %s of tenant %s",
						seed, d.ID, d.Target.Tenant, d.Target.PropagateToChildren, f.Computers[c].ID, ct)
				}
				checked++
			}
		}
		require.Positive(t, checked, "seed %d: no single-tenant selection to check", seed)
	}
}

// A Matcher is safe for concurrent use: goroutines sharing one, with its
// filter results filled in as they go, all see the sequential answers.
func TestMatcherConcurrentUse(t *testing.T) {
	ctx := context.Background()
	f := genFleet(genConfig{Seed: 99, Tenants: 20, Computers: 300, PersonsPerTenant: 3, GroupsPerTenant: 2, Deployments: 80})
	ix, err := NewIndex(f, Config{LuaPoolSize: 2})
	require.NoError(t, err)
	ref, err := ix.Compile(f.Deployments)
	require.NoError(t, err)
	want := make([][]int, len(f.Computers))
	for c := range f.Computers {
		want[c], err = ref.Match(ctx, c, nil)
		require.NoError(t, err)
	}
	m, err := ix.Compile(f.Deployments)
	require.NoError(t, err)
	errs := make(chan error, 4)
	for g := range 4 {
		go func() {
			var buf []int
			for k := range f.Computers {
				c := (k*7 + g*31) % len(f.Computers) // each goroutine in its own order
				var err error
				buf, err = m.Match(ctx, c, buf[:0])
				if err != nil {
					errs <- err
					return
				}
				if !slices.Equal(buf, want[c]) {
					errs <- fmt.Errorf("goroutine %d: Match(%s) = %v, want %v", g, f.Computers[c].ID, buf, want[c])
					return
				}
			}
			errs <- nil
		}()
	}
	for range 4 {
		require.NoError(t, <-errs)
	}
}
