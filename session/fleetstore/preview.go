package fleetstore

import (
	"context"
	"fmt"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/resolver"
)

// Preview returns what a change would do to the plans of the fleet without
// applying it: the plan of the current fleet and of the fleet the change
// would make, both for session s with cfg, and their [resolver.Diff]. The
// change is refused as Apply would refuse it (malformed, conflicting, or
// breaking a rule), with the same errors; nothing is written.
//
// Both fleets are planned whole: a preview takes about twice a PlanFleet of
// the fleet. [Store.PreviewChange] also tells which entities would change.
func (s *Store) Preview(ctx context.Context, ch Change, cfg resolver.Config, sess resolver.Session) (resolver.PlanDiff, error) {
	p, err := s.PreviewChange(ctx, ch, cfg, sess)
	if err != nil {
		return resolver.PlanDiff{}, err
	}
	return p.Diff, nil
}

// ChangePreview is what a change would do, as [Store.PreviewChange] finds it.
type ChangePreview struct {
	// Revision is the revision the change was previewed against.
	Revision int64
	// Entities are the entities the change would create, update or delete,
	// in the change's order; a put that changes nothing is left out.
	Entities []EntityChange
	// Inventories are the ids of the computers whose inventory the change's
	// Inventory would write, in the order first reported.
	Inventories []string
	// Diff is what changes between the plans of the fleet before and after.
	Diff resolver.PlanDiff
}

// Empty reports whether the change would change nothing at all.
func (p *ChangePreview) Empty() bool {
	return len(p.Entities) == 0 && len(p.Inventories) == 0 && p.Diff.Empty()
}

// EntityChange is one entity a change would change.
type EntityChange struct {
	Op   string // "create", "update" or "delete", as in the audit log
	Kind Kind
	ID   string
}

// PreviewChange is [Store.Preview] that also tells which entities and
// inventories the change would write. Nothing is written.
func (s *Store) PreviewChange(ctx context.Context, ch Change, cfg resolver.Config, sess resolver.Session) (*ChangePreview, error) {
	d, err := s.dryRun(ctx, ch)
	if err != nil {
		return nil, err
	}
	out := &ChangePreview{Revision: d.rev}
	for _, o := range d.ops {
		out.Entities = append(out.Entities, EntityChange{Op: o.verb(), Kind: o.kind, ID: o.id})
	}
	for _, i := range d.inventories {
		out.Inventories = append(out.Inventories, d.next.Computers[i].ID)
	}
	if len(d.ops) == 0 && len(d.inventories) == 0 {
		return out, nil
	}
	oldPlan, err := resolver.PlanFleet(ctx, d.cur, cfg, sess)
	if err != nil {
		return nil, fmt.Errorf("fleetstore: preview: plan of revision in store: %w", err)
	}
	newPlan, err := resolver.PlanFleet(ctx, d.next, cfg, sess)
	if err != nil {
		return nil, fmt.Errorf("fleetstore: preview: plan after the change: %w", err)
	}
	out.Diff = resolver.Diff(oldPlan, newPlan)
	return out, nil
}

// dry is what dryRun finds.
type dry struct {
	rev         int64
	cur, next   *immy.Fleet
	ops         []op
	inventories []int // indexes in next.Computers
}

// dryRun makes the fleet ch would make of the current one, checking it as
// Apply does, in a transaction that is rolled back.
func (s *Store) dryRun(ctx context.Context, ch Change) (dry, error) {
	if err := ch.check(); err != nil {
		return dry{}, err
	}
	tx, snap, done, err := s.begin(ctx)
	if err != nil {
		return dry{}, err
	}
	defer done()
	defer tx.Rollback()
	if ch.Base > snap.rev {
		return dry{}, fmt.Errorf("fleetstore: change made against revision %d, but the store is at revision %d: %w", ch.Base, snap.rev, immy.ErrInvalid)
	}
	if ch.Base < snap.rev {
		if err := s.conflicts(ctx, tx, ch); err != nil {
			return dry{}, err
		}
	}
	ops, err := changedOps(snap, ch.Ops)
	if err != nil {
		return dry{}, err
	}
	// the fleets leave the store: snap's, and the one the change would make,
	// which may share snap's computers
	snap.share()
	out := dry{rev: snap.rev, cur: snap.fleet, next: snap.fleet, ops: ops}
	if len(ops) == 0 && len(ch.Inventory) == 0 {
		return out, nil
	}
	n, d, err := s.after(snap, ops, ch.Inventory)
	if err != nil {
		return dry{}, err
	}
	n.settle(snap, d, false)
	out.next, out.inventories = n.fleet, d.idx
	return out, nil
}
