package fleetstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/resolver"
	"github.com/immyoss/engine/targets"
)

// Planned is a planner of one revision of the store's fleet and its plan of
// one session: what [Store.PreviewOn] previews a change against without
// planning the whole fleet twice. It is immutable.
type Planned struct {
	Revision int64       // the revision planned
	Fleet    *immy.Fleet // the fleet planned
	Planner  *resolver.Planner
	Plan     *resolver.Plan
	Session  resolver.Session
	cfg      resolver.Config
}

// Planned plans the store's current fleet for session s with cfg (a zero
// cfg.At means the fleet's time, else now, as resolver.PlanFleet).
func (s *Store) Planned(ctx context.Context, cfg resolver.Config, sess resolver.Session) (*Planned, error) {
	f, rev := s.Snapshot()
	return plannedOf(ctx, f, rev, cfg, sess)
}

func plannedOf(ctx context.Context, f *immy.Fleet, rev int64, cfg resolver.Config, sess resolver.Session) (*Planned, error) {
	at := cfg.At
	if at.IsZero() {
		at = f.At
	}
	if at.IsZero() {
		at = time.Now()
	}
	pc := cfg
	pc.At = at
	cat, err := resolver.NewCatalogue(f)
	if err != nil {
		return nil, fmt.Errorf("fleetstore: plan: %w", err)
	}
	ix, err := targets.NewIndex(f, targets.Config{At: at})
	if err != nil {
		return nil, fmt.Errorf("fleetstore: plan: %w", err)
	}
	p, err := resolver.NewPlanner(ix, cat, pc)
	if err != nil {
		return nil, fmt.Errorf("fleetstore: plan: %w", err)
	}
	plan, err := p.Plan(ctx, sess)
	if err != nil {
		return nil, fmt.Errorf("fleetstore: plan: %w", err)
	}
	return &Planned{Revision: rev, Fleet: f, Planner: p, Plan: plan, Session: sess, cfg: cfg}, nil
}

// ErrStale is returned by PreviewOn given a Planned of another revision
// than the store's current one (it moved on, here or in another process,
// by an edit or an inventory write): plan it again.
var ErrStale = errors.New("fleetstore: planned fleet is not the store's current one")

// PreviewOn is [Store.PreviewChange] against pl, a Planned of the store's
// current revision: pl's planner is updated with what the change changes
// (resolver.Planner.Update), and only the computers that may plan
// differently are planned again, so that an edit's preview costs what it
// touches rather than two plans of the whole fleet. It returns the preview
// (the same as PreviewChange's for pl's session and config) and the Planned
// of the fleet the change makes, with the revision Apply gives it when
// nothing else lands first: keep it when Apply returns that revision. A pl
// of another revision than the store's current one is refused with
// ErrStale. Nothing is written.
func (s *Store) PreviewOn(ctx context.Context, ch Change, pl *Planned) (*ChangePreview, *Planned, error) {
	if pl == nil || pl.Planner == nil || pl.Plan == nil {
		return nil, nil, fmt.Errorf("fleetstore: preview: no planned fleet: %w", immy.ErrInvalid)
	}
	d, err := s.dryRun(ctx, ch)
	if err != nil {
		return nil, nil, err
	}
	if d.rev != pl.Revision {
		return nil, nil, fmt.Errorf("%w (the store is at revision %d)", ErrStale, d.rev)
	}
	out := &ChangePreview{Revision: d.rev}
	for _, o := range d.ops {
		out.Entities = append(out.Entities, EntityChange{Op: o.verb(), Kind: o.kind, ID: o.id})
	}
	for _, i := range d.inventories {
		out.Inventories = append(out.Inventories, d.next.Computers[i].ID)
	}
	if len(d.ops) == 0 && len(d.inventories) == 0 {
		return out, pl, nil
	}
	changes := d.changes()
	var next *Planned
	if changes.Settings {
		// the evaluation time may have moved: the index is made anew
		if next, err = plannedOf(ctx, d.next, d.rev+1, pl.cfg, pl.Session); err != nil {
			return nil, nil, err
		}
	} else {
		q, err := pl.Planner.Update(d.next, changes)
		if err != nil {
			return nil, nil, fmt.Errorf("fleetstore: preview: %w", err)
		}
		ids, all, err := q.Touched(ctx, pl.Planner, changes)
		if err != nil {
			return nil, nil, fmt.Errorf("fleetstore: preview: %w", err)
		}
		plan, err := q.Replan(ctx, pl.Plan, pl.Session, ids, all)
		if err != nil {
			return nil, nil, fmt.Errorf("fleetstore: preview: %w", err)
		}
		next = &Planned{Revision: d.rev + 1, Fleet: d.next, Planner: q, Plan: plan, Session: pl.Session, cfg: pl.cfg}
	}
	out.Diff = resolver.Diff(pl.Plan, next.Plan)
	return out, next, nil
}

// changes names what the dry run changes: the entities it writes (not the
// puts that change nothing), the computers whose inventory it writes, and
// those whose known results of a deleted task it drops.
func (d dry) changes() targets.Changes {
	ch := Change{}
	tasksGone := map[string]bool{}
	for _, o := range d.ops {
		ch.Ops = append(ch.Ops, o.Op)
		if o.kind == KindTask && o.IsDelete() {
			tasksGone[o.id] = true
		}
	}
	c := ch.Changes()
	for _, i := range d.inventories {
		c.Computers = append(c.Computers, d.next.Computers[i].ID)
	}
	if len(tasksGone) > 0 {
		for _, comp := range d.cur.Computers {
			for id := range comp.Tasks {
				if tasksGone[id] {
					c.Computers = append(c.Computers, comp.ID)
					break
				}
			}
		}
	}
	return c
}
