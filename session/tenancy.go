package session

import (
	"context"
	"fmt"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/resolver"
)

// ownedBy reports whether an item private to tenant owner ("" for a public
// item) may reach computer c: only its own tenant's computers.
func (e *Engine) ownedBy(c *immy.Computer, owner string) bool {
	return owner == "" || (c != nil && c.Tenant == owner)
}

// privateElsewhere refuses a request that would run an item private to
// another tenant on the computer c (nil when unknown): a single-item run of
// it (by item, or by one of its deployments) or the rerun of one of its
// actions. The resolver refuses the rest (prerequisites, configuration
// tasks).
func (e *Engine) privateElsewhere(c *immy.Computer, req *Request) []error {
	if c == nil {
		return nil
	}
	var errs []error
	check := func(field, id string) {
		owner := ""
		if sw := e.software[id]; sw != nil {
			owner = sw.Tenant
		} else if t := e.tasks[id]; t != nil {
			owner = t.Tenant
		}
		if !e.ownedBy(c, owner) {
			errs = append(errs, fmt.Errorf("%s: item %q is private to tenant %q and cannot run on computer %q of tenant %q: %w",
				field, id, owner, c.ID, c.Tenant, immy.ErrInvalid))
		}
	}
	switch req.Kind {
	case SingleItem:
		check("item", req.Item)
		for _, n := range req.Named {
			if d := e.deps[n]; d != nil && !e.isItem(n) {
				check("named", d.Item)
				continue
			}
			check("named", n)
		}
	case RerunAction:
		if req.Rerun != nil {
			check("rerun.item", req.Rerun.Item)
			errs = append(errs, e.rerunDeployment(c, req.Rerun)...)
		}
	}
	return errs
}

// rerunDeployment refuses a rerun whose action names a deployment that is
// not of its item or whose target does not reach the computer: the
// deployment's parameters, secrets among them, go only where it reaches.
func (e *Engine) rerunDeployment(c *immy.Computer, a *resolver.Action) []error {
	if a.Deployment == "" {
		return nil
	}
	d := e.deps[a.Deployment]
	switch {
	case d == nil:
		return []error{fmt.Errorf("rerun.deployment: unknown deployment %q: %w", a.Deployment, immy.ErrInvalid)}
	case d.Item != a.Item:
		return []error{fmt.Errorf("rerun.deployment: deployment %q is of item %q, not %q: %w", a.Deployment, d.Item, a.Item, immy.ErrInvalid)}
	case !e.planner.Targets(context.Background(), a.Deployment, c.ID):
		return []error{fmt.Errorf("rerun.deployment: deployment %q does not target computer %q of tenant %q: %w",
			a.Deployment, c.ID, c.Tenant, immy.ErrInvalid)}
	}
	return nil
}

// emitProblems emits an EventProblem for each problem of a record.
func (e *Engine) emitProblems(s *sess, rec *Record) {
	for i := range rec.Problems {
		p := rec.Problems[i]
		e.hub.emit(Event{Time: rec.Time, Kind: EventProblem, Session: s.id, Computer: s.req.Computer, Index: -1, Problem: &p, Text: p.Error()})
	}
}
