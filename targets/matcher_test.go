package targets

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
)

func computerIDs(f *immy.Fleet, cs []int) []string {
	out := []string{}
	for _, c := range cs {
		out = append(out, f.Computers[c].ID)
	}
	return out
}

func tenantIDs(f *immy.Fleet, ts []int) []string {
	out := []string{}
	for _, t := range ts {
		out = append(out, f.Tenants[t].ID)
	}
	return out
}

func TestResolveTargetTypes(t *testing.T) {
	contoso := []string{"c-dc", "c-lt", "c-pdc", "c-srv", "c-ws"}
	all := []string{"c-dc", "c-lt", "c-pdc", "c-srv", "c-ws", "e-ws", "n-unk"}
	tests := []struct {
		name   string
		target immy.Target
		want   []string
	}{
		{"all computers skip excluded tenant and computer", immy.Target{Type: immy.TargetAllComputers}, all},
		{"tenant", immy.Target{Type: immy.TargetAllComputers, Tenant: "contoso"}, contoso},
		{"tenant propagated", immy.Target{Type: immy.TargetAllComputers, Tenant: "contoso", PropagateToChildren: true},
			append(slices.Clone(contoso), "e-ws")},
		{"propagation reaches a tenant excluded from cross-tenant", immy.Target{Type: immy.TargetAllComputers, Tenant: "msp", PropagateToChildren: true},
			append(slices.Clone(contoso), "e-ws", "f-ws")},
		{"tenant without computers", immy.Target{Type: immy.TargetAllComputers, Tenant: "msp"}, []string{}},
		{"unknown tenant", immy.Target{Type: immy.TargetAllComputers, Tenant: "nope"}, []string{}},
		{"computer", immy.Target{Type: immy.TargetComputer, Computer: "c-ws"}, []string{"c-ws"}},
		{"computer excluded from maintenance", immy.Target{Type: immy.TargetComputer, Computer: "n-excl"}, []string{}},
		{"individual target ignores cross-tenant exclusion", immy.Target{Type: immy.TargetComputer, Computer: "f-ws"}, []string{"f-ws"}},
		{"computer outside the target's tenant", immy.Target{Type: immy.TargetComputer, Computer: "c-ws", Tenant: "northwind"}, []string{}},
		{"person through affinity", immy.Target{Type: immy.TargetPerson, Person: "john"}, []string{"c-lt"}},
		{"person with one computer", immy.Target{Type: immy.TargetPerson, Person: "jane"}, []string{"c-ws"}},
		{"affinity stays within the tenant", immy.Target{Type: immy.TargetPerson, Person: "ext"}, []string{"f-ws"}},
		{"tenant tag does not reach child tenants", immy.Target{Type: immy.TargetTag, Tag: "vip"}, contoso},
		{"computer tag", immy.Target{Type: immy.TargetTag, Tag: "canary"}, []string{"c-lt"}},
		{"person tag reaches primary computers", immy.Target{Type: immy.TargetTag, Tag: "exec"}, []string{"c-lt"}},
		{"unknown tag", immy.Target{Type: immy.TargetTag, Tag: "nope"}, []string{}},
		{"user group with nested group and device member", immy.Target{Type: immy.TargetGroup, Group: "sales"}, []string{"c-lt", "c-ws", "n-unk"}},
		{"static group with nested group", immy.Target{Type: immy.TargetGroup, Group: "servers"}, []string{"c-dc", "c-pdc", "c-srv"}},
		{"static group with group filter", immy.Target{Type: immy.TargetGroup, Group: "servers", Filter: immy.FilterDomainControllers}, []string{"c-dc", "c-pdc"}},
		{"unknown group", immy.Target{Type: immy.TargetGroup, Group: "nope"}, []string{}},
		{"expr filter", immy.Target{Type: immy.TargetFilter, Expr: `computer.os startsWith "Windows 1"`}, []string{"c-lt", "c-ws"}},
		{"expr filter in a tenant", immy.Target{Type: immy.TargetFilter, Expr: `computer.os == ""`, Tenant: "contoso"}, []string{"c-dc", "c-pdc"}},
		{"lua filter", immy.Target{Type: immy.TargetFilter, Lua: `return computer.attributes.site == "hq"`}, []string{"c-lt"}},
		{"lua filter in the VM", immy.Target{Type: immy.TargetFilter, Lua: `for _, s in ipairs({"x"}) do end return installed("adobe*")`}, []string{"c-lt"}},
		{"device group", immy.Target{Type: immy.TargetDeviceGroup, DeviceGroup: "rmm-laptops"}, []string{"c-lt"}},
		{"client group: agreement ending on the day counts, one starting tomorrow does not", immy.Target{Type: immy.TargetClientGroup, ClientGroup: "managed-security"}, contoso},
		{"client group: agreement starting on the day counts, an expired one does not", immy.Target{Type: immy.TargetClientGroup, ClientGroup: "backup"}, []string{"e-ws"}},
		{"group filter servers", immy.Target{Type: immy.TargetAllComputers, Filter: immy.FilterServers}, []string{"c-dc", "c-pdc", "c-srv"}},
		{"group filter workstations", immy.Target{Type: immy.TargetAllComputers, Filter: immy.FilterWorkstations}, []string{"c-ws", "e-ws"}},
		{"group filter portable", immy.Target{Type: immy.TargetAllComputers, Filter: immy.FilterPortable}, []string{"c-lt"}},
		{"group filter workstations and portable", immy.Target{Type: immy.TargetAllComputers, Filter: immy.FilterWorkstationsAndPortable}, []string{"c-lt", "c-ws", "e-ws"}},
		{"group filter domain controllers", immy.Target{Type: immy.TargetAllComputers, Filter: immy.FilterDomainControllers}, []string{"c-dc", "c-pdc"}},
		{"group filter primary domain controllers", immy.Target{Type: immy.TargetAllComputers, Filter: immy.FilterPrimaryDomainControllers}, []string{"c-pdc"}},
		{"tenant targets select no computers", immy.Target{Type: immy.TargetAllTenants}, []string{}},
		{"tenant client group selects no computers", immy.Target{Type: immy.TargetClientGroup, ClientGroup: "managed-security", Category: immy.CategoryTenant}, []string{}},
	}
	f := tableFleet()
	for _, tc := range tests {
		f.Deployments = append(f.Deployments, immy.Deployment{ID: tc.name, Target: tc.target})
	}
	ix, err := NewIndex(f, Config{})
	require.NoError(t, err)
	m, err := ix.Compile(f.Deployments)
	require.NoError(t, err)
	ctx := context.Background()
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := m.Resolve(ctx, i)
			require.NoError(t, err)
			if diff := cmp.Diff(tc.want, computerIDs(f, got)); diff != "" {
				t.Errorf("Resolve (-want +got):\n%s", diff)
			}
			for c := range f.Computers {
				matched, err := m.Match(ctx, c, nil)
				require.NoError(t, err)
				in := slices.Contains(tc.want, f.Computers[c].ID)
				if slices.Contains(matched, i) != in {
					t.Errorf("Match(%s) = %v, want deployment %d in it: %v", f.Computers[c].ID, matched, i, in)
				}
				e, err := m.Explain(ctx, i, c)
				require.NoError(t, err)
				if e.Selected != in {
					t.Errorf("Explain(%s).Selected = %v, want %v:\n%s", f.Computers[c].ID, e.Selected, in, e)
				}
			}
		})
	}
}

func TestResolveTenants(t *testing.T) {
	tests := []struct {
		name   string
		target immy.Target
		want   []string
	}{
		{"all tenants skip the excluded one", immy.Target{Type: immy.TargetAllTenants}, []string{"contoso", "contoso-east", "msp", "northwind"}},
		{"one tenant", immy.Target{Type: immy.TargetTenant, Tenant: "contoso"}, []string{"contoso"}},
		{"one tenant propagated", immy.Target{Type: immy.TargetTenant, Tenant: "contoso", PropagateToChildren: true}, []string{"contoso", "contoso-east"}},
		{"tenant tag", immy.Target{Type: immy.TargetTenantTag, Tag: "vip"}, []string{"contoso"}},
		{"tenant tag within a tenant", immy.Target{Type: immy.TargetTenantTag, Tag: "vip", Tenant: "northwind"}, []string{}},
		{"client group", immy.Target{Type: immy.TargetClientGroup, ClientGroup: "managed-security", Category: immy.CategoryTenant}, []string{"contoso"}},
		{"client group, agreement starting today", immy.Target{Type: immy.TargetClientGroup, ClientGroup: "backup", Category: immy.CategoryTenant}, []string{"contoso-east"}},
	}
	f := tableFleet()
	for _, tc := range tests {
		f.Deployments = append(f.Deployments, immy.Deployment{ID: tc.name, Target: tc.target})
	}
	f.Deployments = append(f.Deployments, immy.Deployment{ID: "computers", Target: immy.Target{Type: immy.TargetAllComputers}})
	ix, err := NewIndex(f, Config{})
	require.NoError(t, err)
	m, err := ix.Compile(f.Deployments)
	require.NoError(t, err)
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := m.ResolveTenants(context.Background(), i)
			require.NoError(t, err)
			if diff := cmp.Diff(tc.want, tenantIDs(f, got)); diff != "" {
				t.Errorf("ResolveTenants (-want +got):\n%s", diff)
			}
		})
	}
	_, err = m.ResolveTenants(context.Background(), len(tests))
	require.ErrorIs(t, err, immy.ErrInvalid)
}

func TestIndexTenantDistanceAndAffinity(t *testing.T) {
	f := tableFleet()
	ix, err := NewIndex(f, Config{})
	require.NoError(t, err)
	for _, tc := range []struct {
		ancestor, tenant string
		want             int
	}{
		{"contoso", "contoso", 0},
		{"contoso", "contoso-east", 1},
		{"msp", "contoso-east", 2},
		{"contoso-east", "contoso", -1},
		{"fabrikam", "contoso", -1},
		{"northwind", "contoso", -1},
		{"nope", "contoso", -1},
		{"contoso", "nope", -1},
	} {
		require.Equal(t, tc.want, ix.TenantDistance(tc.ancestor, tc.tenant), "TenantDistance(%s, %s)", tc.ancestor, tc.tenant)
	}
	primaries := map[string]string{}
	for c := range f.Computers {
		if p, ok := ix.PrimaryPerson(c); ok {
			primaries[f.Computers[c].ID] = f.Persons[p].ID
		}
	}
	if diff := cmp.Diff(map[string]string{"c-lt": "john", "c-ws": "jane", "f-ws": "ext"}, primaries); diff != "" {
		t.Errorf("primary persons (-want +got):\n%s", diff)
	}
	c, ok := ix.Computer("c-lt")
	require.True(t, ok)
	require.Equal(t, 0, c)
	_, ok = ix.Computer("nope")
	require.False(t, ok)
	tn, ok := ix.ComputerTenant(c)
	require.True(t, ok)
	require.Equal(t, "contoso", f.Tenants[tn].ID)
	want, ok := ix.Tenant("contoso")
	require.True(t, ok)
	require.Equal(t, want, tn)
	_, ok = ix.Tenant("nope")
	require.False(t, ok)
	require.Same(t, f, ix.Fleet())
	require.Equal(t, "2026-11-23", ix.Day().String(), "the evaluation day is taken in UTC")
}

func TestIndexAtDefaultsAndOverride(t *testing.T) {
	f := tableFleet()
	f.Deployments = []immy.Deployment{{ID: "d", Target: immy.Target{Type: immy.TargetClientGroup, ClientGroup: "managed-security"}}}
	// On the 24th (UTC), ag-1 has ended and ag-2 has started: northwind, not contoso.
	ix, err := NewIndex(f, Config{At: f.At.AddDate(0, 0, 1)})
	require.NoError(t, err)
	require.Equal(t, "2026-11-24", ix.Day().String())
	m, err := ix.Compile(f.Deployments)
	require.NoError(t, err)
	got, err := m.Resolve(context.Background(), 0)
	require.NoError(t, err)
	require.Equal(t, []string{"n-unk"}, computerIDs(f, got))
}

func TestNewIndexCycles(t *testing.T) {
	f := &immy.Fleet{
		Tenants: []immy.Tenant{{ID: "b", Parent: "c"}, {ID: "a", Parent: "b"}, {ID: "c", Parent: "a"}, {ID: "under", Parent: "a"}, {ID: "ok"}},
		Groups: []immy.Group{
			{ID: "g2", Kind: immy.GroupComputers, Groups: []string{"g1"}},
			{ID: "g1", Kind: immy.GroupComputers, Groups: []string{"g2"}},
			{ID: "self", Kind: immy.GroupPersons, Groups: []string{"self"}},
		},
	}
	_, err := NewIndex(f, Config{})
	require.Error(t, err)
	var ps immy.Problems
	require.True(t, errors.As(err, &ps))
	var got []string
	for _, p := range ps {
		got = append(got, p.Error())
		require.ErrorIs(t, p, immy.ErrCycle)
	}
	want := []string{
		`group "g1": groups: nested group cycle: g1 -> g2 -> g1`,
		`group "self": groups: nested group cycle: self -> self`,
		`tenant "a": parent: tenant cycle: a -> b -> c -> a`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	var ce *immy.CycleError
	require.True(t, errors.As(err, &ce))
}

func TestCompileReportsEveryBadFilter(t *testing.T) {
	f := tableFleet()
	ix, err := NewIndex(f, Config{})
	require.NoError(t, err)
	deps := []immy.Deployment{
		{ID: "ok", Target: immy.Target{Type: immy.TargetFilter, Expr: `computer.online`}},
		{ID: "bad-expr", Target: immy.Target{Type: immy.TargetFilter, Expr: "computer.online and\n  computer.nope == 1"}},
		{ID: "not-bool", Target: immy.Target{Type: immy.TargetFilter, Expr: `computer.os`}},
		{ID: "bad-lua", Target: immy.Target{Type: immy.TargetFilter, Lua: `return computer.os ==`}},
		{ID: "both", Target: immy.Target{Type: immy.TargetFilter, Expr: `true`, Lua: `return true`}},
	}
	_, err = ix.Compile(deps)
	var ps immy.Problems
	require.True(t, errors.As(err, &ps), "%v", err)
	var got []string
	for _, p := range ps {
		got = append(got, p.Error())
		require.ErrorIs(t, p, immy.ErrInvalid)
	}
	want := []string{
		`deployment "bad-expr": target.expr: expr filter: line 2, column 12: computer has no field nope, near "computer.nope == 1"`,
		`deployment "not-bool": target.expr: expr filter: line 1, column 1: expected bool, but got string, near "computer.os"`,
		`deployment "bad-lua": target.lua: lua filter: line 1, column 22: syntax error near "==" at the end of the filter, near "return computer.os =="`,
		`deployment "both": target.expr: a filter target needs exactly one of expr and lua`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

func TestMatchOutOfRange(t *testing.T) {
	ix, err := NewIndex(tableFleet(), Config{})
	require.NoError(t, err)
	m, err := ix.Compile(nil)
	require.NoError(t, err)
	_, err = m.Match(context.Background(), 99, nil)
	require.ErrorIs(t, err, immy.ErrNotFound)
	_, err = m.Resolve(context.Background(), 0)
	require.ErrorIs(t, err, immy.ErrNotFound)
	_, err = m.Explain(context.Background(), 0, 0)
	require.ErrorIs(t, err, immy.ErrNotFound)
}

func TestCheckFilters(t *testing.T) {
	f := tableFleet()
	f.Deployments = []immy.Deployment{
		{ID: "ok", Target: immy.Target{Type: immy.TargetFilter, Expr: `computer.online`}},
		{ID: "bad", Target: immy.Target{Type: immy.TargetFilter, Lua: `return computer.os ==`}},
		{ID: "bad-again", Target: immy.Target{Type: immy.TargetFilter, Lua: `return computer.os ==`}},
		{ID: "both", Target: immy.Target{Type: immy.TargetFilter, Expr: `1`, Lua: `x`}},
		{ID: "tag", Target: immy.Target{Type: immy.TargetTag, Tag: "x", Expr: `not checked`}},
	}
	f.Schedules = []immy.Schedule{{ID: "nightly", Target: immy.Target{Type: immy.TargetFilter, Expr: `computer.nope`}}}
	var got []string
	for _, p := range CheckFilters(f) {
		got = append(got, p.Error())
		require.ErrorIs(t, p, immy.ErrInvalid)
	}
	want := []string{
		`deployment "bad": target.lua: lua filter: line 1, column 22: syntax error near "==" at the end of the filter, near "return computer.os =="`,
		`deployment "bad-again": target.lua: lua filter: line 1, column 22: syntax error near "==" at the end of the filter, near "return computer.os =="`,
		`schedule "nightly": target.expr: expr filter: line 1, column 10: computer has no field nope, near "computer.nope"`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("CheckFilters (-want +got):\n%s", diff)
	}
}

// Dangling references that Validate reports do not break resolution.
func TestResolveToleratesDanglingReferences(t *testing.T) {
	f := &immy.Fleet{
		Tenants: []immy.Tenant{{ID: "a"}},
		Computers: []immy.Computer{
			{ID: "orphan", Tenant: "gone", Kind: immy.KindWorkstation},
			{ID: "odd-kind", Tenant: "a", Kind: immy.ComputerKind(200)},
		},
		Groups: []immy.Group{{ID: "g", Kind: immy.GroupComputers, Members: []string{"orphan", "ghost"}, Groups: []string{"missing"}}},
		Deployments: []immy.Deployment{
			{ID: "all", Target: immy.Target{Type: immy.TargetAllComputers}},
			{ID: "in-a", Target: immy.Target{Type: immy.TargetAllComputers, Tenant: "a"}},
			{ID: "group", Target: immy.Target{Type: immy.TargetGroup, Group: "g"}},
			{ID: "workstations", Target: immy.Target{Type: immy.TargetAllComputers, Filter: immy.FilterWorkstations}},
			{ID: "unset", Target: immy.Target{}},
		},
	}
	ix, err := NewIndex(f, Config{})
	require.NoError(t, err)
	m, err := ix.Compile(f.Deployments)
	require.NoError(t, err)
	want := [][]string{{"odd-kind", "orphan"}, {"odd-kind"}, {"orphan"}, {"orphan"}, {}}
	for i := range f.Deployments {
		got, err := m.Resolve(context.Background(), i)
		require.NoError(t, err)
		require.Equal(t, want[i], computerIDs(f, got), f.Deployments[i].ID)
	}
	e, err := m.Explain(context.Background(), 0, 0)
	require.NoError(t, err)
	require.Contains(t, e.String(), "computer has no known tenant")
	e, err = m.Explain(context.Background(), 4, 0)
	require.NoError(t, err)
	require.False(t, e.Selected)
}

func TestComputersByID(t *testing.T) {
	f := &immy.Fleet{
		Tenants: []immy.Tenant{{ID: "t"}},
		Computers: []immy.Computer{
			{ID: "pc-b", Tenant: "t"}, {ID: "pc-a", Tenant: "t"}, {ID: "pc-c", Tenant: "t"}, {ID: "pc-a", Tenant: "t"},
		},
	}
	ix, err := NewIndex(f, Config{})
	require.NoError(t, err)
	// by id, the same id by index
	require.Equal(t, []int{1, 3, 0, 2}, ix.ComputersByID())
}
