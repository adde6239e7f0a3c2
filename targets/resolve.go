package targets

import (
	"context"
	"fmt"
	"slices"

	"github.com/immyoss/engine/immy"
)

// Resolve returns the computers (indices into Fleet().Computers) that
// deployment i's target selects, sorted by computer id, under the same rules
// as Match. A target that selects tenants selects no computers.
//
// A filter that fails at run time on some computers leaves them out: Resolve
// then returns the computers it could decide together with a [FilterErrors]
// naming each failure. Any other error (a cancelled ctx) returns none.
func (m *Matcher) Resolve(ctx context.Context, i int) ([]int, error) {
	t, err := m.check(i)
	if err != nil {
		return nil, err
	}
	ix := m.ix
	if t.tenants || t.dangling || t.key < 0 {
		return []int{}, nil
	}
	// Scans (all computers, filters) are shared by the deployments with the
	// same target: computed once, copied out.
	scan := t.typ == immy.TargetAllComputers || t.typ == immy.TargetFilter
	if scan {
		if got, ok := m.scans.Load(*t); ok {
			return slices.Clone(got.([]int)), nil
		}
	}
	// The candidates the type's index gives, and whether they are in id order.
	var cand []int32
	sorted := true
	scoped := func() {
		switch t.scope {
		case scopeCross, scopeFree:
			cand = ix.byRank
		default:
			cand = ix.subtreeComputers(t.scope, t.propagate)
			sorted = !t.propagate
		}
	}
	switch t.typ {
	case immy.TargetAllComputers, immy.TargetFilter:
		scoped()
	case immy.TargetComputer:
		cand = []int32{t.key}
	case immy.TargetPerson:
		cand = ix.personComputers[t.key]
	case immy.TargetTag:
		cand = slices.Clone(ix.tagComputers[t.key])
		for _, tn := range ix.tagTenants[t.key] {
			cand = append(cand, ix.subtreeComputers(tn, false)...)
		}
		for _, p := range ix.tagPersons[t.key] {
			cand = append(cand, ix.personComputers[p]...)
		}
		cand = ix.sortComputers(cand)
	case immy.TargetGroup:
		cand = ix.groupComputers[t.key]
	case immy.TargetDeviceGroup:
		cand = ix.deviceGroupMember[t.key]
	case immy.TargetClientGroup:
		for _, tn := range ix.clientTenants[t.key] {
			cand = append(cand, ix.subtreeComputers(tn, false)...)
		}
		sorted = false
	default:
		return []int{}, nil
	}
	if t.filter >= 0 && len(cand) >= int(groupMinEvals) {
		m.groupFilter(ctx, t.filter) // a scan of many computers: by groups
	}
	out := make([]int, 0, len(cand))
	var ferrs error
	for n, c := range cand {
		if n%1024 == 1023 {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("targets: deployment %q: %w", m.deps[i].ID, err)
			}
		}
		if !m.admits(t, c) {
			continue
		}
		if t.filter >= 0 {
			ok, err := m.filterResult(ctx, t.filter, int(c))
			if err != nil {
				m.filterFailed(ctx, &ferrs, int32(i), int(c), err)
				if _, partial := partialMatch(ferrs); !partial {
					return nil, ferrs
				}
				continue
			}
			if !ok {
				continue
			}
		}
		out = append(out, int(c))
	}
	if !sorted {
		out = sortByRank(ix, out)
	}
	if ferrs != nil {
		return out, ferrs // not kept: the failures are told on every call
	}
	if scan {
		m.scans.Store(*t, slices.Clone(out))
	}
	return out, nil
}

// ResolveTenants returns the tenants (indices into Fleet().Tenants) that
// deployment i's target selects, sorted by tenant id: the target of a cloud
// task (all-tenants, tenant, tenant-tag, or client-group). A single-tenant
// target keeps its tenant (and its descendants when it propagates); a
// cross-tenant one skips the tenants excluded from cross-tenant deployments.
// Other target types are an error.
func (m *Matcher) ResolveTenants(ctx context.Context, i int) ([]int, error) {
	t, err := m.check(i)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("targets: deployment %q: %w", m.deps[i].ID, err)
	}
	ix := m.ix
	var cand []int32
	switch t.typ {
	case immy.TargetAllTenants, immy.TargetTenant:
		cand = ix.tenantsByRank
	case immy.TargetTenantTag:
		if t.key >= 0 {
			cand = ix.tagTenants[t.key]
		}
	case immy.TargetClientGroup:
		if t.key >= 0 {
			cand = ix.clientTenants[t.key]
		}
	default:
		return nil, fmt.Errorf("targets: deployment %q: target %s selects computers, not tenants: %w",
			m.deps[i].ID, t.typ, immy.ErrInvalid)
	}
	out := []int{}
	if t.dangling {
		return out, nil
	}
	for _, tn := range cand {
		if t.scope >= 0 {
			if tn != t.scope && !(t.propagate && ix.inSubtree(t.scope, tn)) {
				continue
			}
		} else if ix.f.Tenants[tn].ExcludeFromCrossTenant {
			continue
		}
		out = append(out, int(tn))
	}
	// Every candidate list is in id order already.
	return out, nil
}

// sortByRank sorts computer indices by computer id.
func sortByRank(ix *Index, cs []int) []int {
	tmp := make([]int32, len(cs))
	for i, c := range cs {
		tmp[i] = int32(c)
	}
	tmp = ix.sortComputers(tmp)
	cs = cs[:len(tmp)]
	for i, c := range tmp {
		cs[i] = int(c)
	}
	return cs
}
