package targets

import (
	"context"
	"slices"

	"github.com/immyoss/engine/immy"
)

// Reaches reports whether deployment d's target reaches a tenant, a person or
// a computer, given by id; an empty id is not asked about. The target reaches
// the computer when it selects it; the person when it selects one of the
// computers whose primary person it is; the tenant when it is a tenant-wide
// target that selects the tenant: a cloud task's target selecting it, or an
// all-computers target (cross-tenant, or scoped to the tenant or to an
// ancestor propagating to it) selecting one of its computers. A target naming
// a computer, a person, a tag, a group or a filter reaches a tenant only
// through the computer or person asked about.
//
// d is found among the matcher's deployments by ID. An unknown deployment,
// tenant, person or computer, and a filter that fails, reach nothing. It is
// the question technician tools ask on a PSA ticket, and the method set of
// plugins.TicketDeployments' matcher, without a context: filters run under
// context.Background (Lua filters keep their own deadline).
func (m *Matcher) Reaches(d *immy.Deployment, tenant, person, computer string) bool {
	if d == nil {
		return false
	}
	i := slices.IndexFunc(m.deps, func(x immy.Deployment) bool { return x.ID == d.ID })
	if i < 0 {
		return false
	}
	ctx := context.Background()
	ix := m.ix
	if m.targets[i].tenants {
		t, ok := ix.Tenant(tenant)
		if !ok {
			return false
		}
		ts, err := m.ResolveTenants(ctx, i)
		return err == nil && slices.Contains(ts, t)
	}
	if tenant == "" && person == "" && computer == "" {
		return false
	}
	cs, err := m.Resolve(ctx, i)
	if _, partial := partialMatch(err); err != nil && !partial {
		return false
	}
	if c, ok := ix.Computer(computer); ok && slices.Contains(cs, c) {
		return true
	}
	if p, ok := ix.personIDs[person]; ok && person != "" {
		for _, c := range ix.PersonComputers(int(p)) {
			if slices.Contains(cs, c) {
				return true
			}
		}
	}
	if t, ok := ix.Tenant(tenant); ok && tenant != "" && m.targets[i].typ == immy.TargetAllComputers {
		for _, c := range cs {
			if ct, ok := ix.ComputerTenant(c); ok && ct == t {
				return true
			}
		}
	}
	return false
}
