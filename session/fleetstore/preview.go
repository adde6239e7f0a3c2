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
// the fleet.
func (s *Store) Preview(ctx context.Context, ch Change, cfg resolver.Config, sess resolver.Session) (resolver.PlanDiff, error) {
	next, cur, err := s.dryRun(ctx, ch)
	if err != nil {
		return resolver.PlanDiff{}, err
	}
	oldPlan, err := resolver.PlanFleet(ctx, cur, cfg, sess)
	if err != nil {
		return resolver.PlanDiff{}, fmt.Errorf("fleetstore: preview: plan of revision in store: %w", err)
	}
	newPlan, err := resolver.PlanFleet(ctx, next, cfg, sess)
	if err != nil {
		return resolver.PlanDiff{}, fmt.Errorf("fleetstore: preview: plan after the change: %w", err)
	}
	return resolver.Diff(oldPlan, newPlan), nil
}

// dryRun makes the fleet ch would make of the current one, checking it as
// Apply does, in a transaction that is rolled back.
func (s *Store) dryRun(ctx context.Context, ch Change) (next, cur *immy.Fleet, err error) {
	if err := ch.check(); err != nil {
		return nil, nil, err
	}
	tx, snap, done, err := s.begin(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer done()
	defer tx.Rollback()
	if ch.Base > snap.rev {
		return nil, nil, fmt.Errorf("fleetstore: change made against revision %d, but the store is at revision %d: %w", ch.Base, snap.rev, immy.ErrInvalid)
	}
	if ch.Base < snap.rev {
		if err := s.conflicts(ctx, tx, ch); err != nil {
			return nil, nil, err
		}
	}
	ops, err := changedOps(snap, ch.Ops)
	if err != nil {
		return nil, nil, err
	}
	if len(ops) == 0 {
		return snap.fleet, snap.fleet, nil
	}
	n, err := s.next(snap, ops)
	if err != nil {
		return nil, nil, err
	}
	return n.fleet, snap.fleet, nil
}
