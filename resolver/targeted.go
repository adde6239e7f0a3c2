package resolver

import "context"

// Targets reports whether deployment's target selects computer, as a
// session's decisions see it (its filter run now, excluded computers and
// tenants left out). An unknown deployment or computer, or a filter that
// fails, selects nothing. A session asks it of a rerun that names the
// deployment its action came from: that deployment's parameters (secrets
// among them) go only where its target reaches.
func (p *Planner) Targets(ctx context.Context, deployment, computer string) bool {
	ids, err := p.m.MatchID(ctx, computer)
	if err != nil {
		return false
	}
	for _, id := range ids {
		if id == deployment {
			return true
		}
	}
	return false
}
