package resolver

import "github.com/immyoss/engine/immy"

// The public side of the sequencer: Action, and Catalogue.Actions for
// callers that decide winners themselves.

// Action is one step of a session's plan.
type Action struct {
	Item string `json:"item"`
	// Deployment is the item's own winning deployment, or "" for a
	// prerequisite or configuration task brought in without one.
	Deployment string     `json:"deployment"`
	Action     ActionKind `json:"action"`
	Reason     string     `json:"reason"`
	Detected   string     `json:"detected"` // the version detected, "" when absent or not a software
	// DetectedFrom names the inventory entry Detected comes from and why it
	// was chosen, when there was a choice: several entries matched, the
	// version was mapped, or the publisher or version was unknown. "" else.
	DetectedFrom string `json:"detected_from,omitempty"`
	Version      string `json:"version"` // the version the action brings, "" when none
	// RequiredBy names the item a prerequisite action or a configuration task
	// is planned for.
	RequiredBy string `json:"required_by,omitempty"`
}

// publicAction turns an action into its public form.
func (c *Catalogue) publicAction(deps []immy.Deployment, a *action) Action {
	var out Action
	c.setAction(&out, deps, a)
	return out
}

// setAction writes the public form of a into out, a zero Action: field by
// field, the empty ones left alone, so that filling a slice of Actions
// copies no Action (ComputerPlan.Actions).
func (c *Catalogue) setAction(out *Action, deps []immy.Deployment, a *action) {
	r := &c.reasons[a.reason]
	out.Item, out.Action, out.Reason = c.items[a.item].id, a.kind, r.text
	if a.dep >= 0 {
		out.Deployment = deps[a.dep].ID
	}
	if a.detected != nil {
		out.Detected = a.detected.String()
	}
	if a.version != nil {
		out.Version = a.version.String()
	}
	if r.about >= 0 {
		out.RequiredBy = c.items[r.about].id
	}
}

// Actions plans the actions of one session on one computer from its decisions
// and what detection found, without a target index: the pure part of the
// planner, for callers who decide winners themselves (see Decide). st may be
// nil: every software is then absent and every test unknown. Decisions for
// items the catalogue does not hold are ignored. The computer is not known,
// so no item private to a tenant is planned (see ActionsFor).
func (c *Catalogue) Actions(s Session, decisions []Decision, st State) []Action {
	acts, _ := c.ActionsFor(nil, s, decisions, st)
	return acts
}

// ActionsFor is Actions on computer comp (nil for one not known), with the
// problems that refused part of it: an item private to a tenant reaches only
// that tenant's computers, whether decided, named by a prerequisite rule of a
// software about to be installed (which then fails with reason
// prerequisite-private:ITEM, before any of its rules is read) or its
// configuration task (left out).
func (c *Catalogue) ActionsFor(comp *immy.Computer, s Session, decisions []Decision, st State) ([]Action, []Problem) {
	deps := make([]immy.Deployment, 0, len(decisions))
	items := make([]seqItem, 0, len(decisions))
	for _, d := range decisions {
		k, ok := c.byID[d.Item]
		if !ok || d.Deployment == nil {
			continue
		}
		deps = append(deps, *d.Deployment)
		items = append(items, seqItem{it: k, dep: int32(len(deps) - 1)})
	}
	q := newSequencer(c, deps, c.aims(deps), nil)
	q.tenant, q.checkOwn = c.tenantOf(comp), true
	acts := q.run(items, newPublicState(c, st), s.Kind == OnboardingSession)
	out := make([]Action, len(acts))
	for i := range acts {
		out[i] = c.publicAction(deps, &acts[i])
	}
	var probs []Problem
	id := ""
	if comp != nil {
		id = comp.ID
	}
	for _, pp := range sortProblems(q.probs) {
		probs = append(probs, c.problem(pp, id, deps, nil, nil))
	}
	return out, probs
}

// tenantOf is the sequencer's tenant of a computer: its tenant's index in the
// fleet, -1 for none, -3 for a computer or tenant not known.
func (c *Catalogue) tenantOf(comp *immy.Computer) int32 {
	switch {
	case comp == nil:
		return -3
	case comp.Tenant == "":
		return -1
	}
	for i := range c.fleet.Tenants {
		if c.fleet.Tenants[i].ID == comp.Tenant {
			return int32(i)
		}
	}
	return -3
}
