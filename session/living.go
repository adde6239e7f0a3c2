package session

import (
	"context"
	"fmt"
	"time"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/resolver"
	"github.com/immyoss/engine/targets"
)

// FleetSource is a fleet that changes: each revision an immutable
// *immy.Fleet, numbered. A session/fleetstore Store is one. The fleet
// returned must not change afterwards (a change makes a new one).
type FleetSource interface {
	// Snapshot returns the fleet of the current revision and its number.
	Snapshot() (*immy.Fleet, int64)
}

// ChangeTracker is what a FleetSource may also tell (a session/fleetstore
// Store does): whether the fleet of revision rev, one it handed out, is the
// current revision's in everything but the inventory and presence of
// computers other than those named.
//
// A session plans its computer from that computer and the admin's entities
// alone (filters read the computer, its tenant, their persons and groups;
// affinity the computer's own logons; detection its own inventory), and a
// tenant session from the admin's entities alone. So while the answer is
// true for a session's computer, the engine plans it from the revision it
// indexed last instead of taking the current one: it neither indexes a new
// revision nor holds the current revision's fleet, which a store would have
// to keep as it is (its next inventory write would copy every computer).
// The session records the revision it planned from: the older one.
type ChangeTracker interface {
	Unchanged(rev int64, computers ...string) bool
}

// InventorySink takes what sessions learn of computers. The engine tells it
// once per run of a session that read an inventory, after the run, with the
// inventory read last (after the session's changes, when it made any). An
// error does not change the session's outcome: it is emitted as a log event
// of the session. A session/fleetstore Store takes it through
// fleetstore.SessionSink, as an inventory revision of its own that never
// conflicts with an admin's change.
type InventorySink interface {
	Learned(ctx context.Context, l Learned) error
}

// Learned is what a session learnt of its computer.
type Learned struct {
	Computer string
	// Time is when the inventory was read: the computer was online then.
	Time time.Time
	// Inventory is what was read: the detected software, with versions
	// and publishers, and the identity (its OS). Its UPNs are the runner's
	// list of recent users, not logons: a sink keeps logons from the
	// agents that see them.
	Inventory immy.Inventory
}

// firstView returns the fleet view New starts with: the planner's, or the
// FleetSource's current revision.
func firstView(cfg *Config) (*fleetView, error) {
	if cfg.Fleet == nil {
		return newView(cfg.Planner, 0, nil), nil
	}
	f, rev := cfg.Fleet.Snapshot()
	p := cfg.Planner
	if p == nil {
		var err error
		if p, err = planFleet(cfg, f); err != nil {
			return nil, fmt.Errorf("session: fleet revision %d: %w", rev, err)
		}
	}
	return newView(p, rev, nil), nil
}

// planFleet makes the planner of a revision of the fleet.
func planFleet(cfg *Config, f *immy.Fleet) (*resolver.Planner, error) {
	if cfg.NewPlanner != nil {
		return cfg.NewPlanner(f)
	}
	cat, err := resolver.NewCatalogue(f)
	if err != nil {
		return nil, err
	}
	ix, err := targets.NewIndex(f, targets.Config{})
	if err != nil {
		return nil, err
	}
	return resolver.NewPlanner(ix, cat, resolver.Config{})
}

// newView indexes the planner's fleet; prev, when not nil, is the view of
// an earlier revision, whose index of computers is shared when every
// computer kept its place (most revisions: inventories and edits).
func newView(p *resolver.Planner, rev int64, prev *fleetView) *fleetView {
	cat := p.Catalogue()
	f := cat.Fleet()
	v := &fleetView{
		rev: rev, planner: p, cat: cat, fleet: f,
		tenants:  make(map[string]*immy.Tenant, len(f.Tenants)),
		software: make(map[string]*immy.Software, len(f.Software)),
		tasks:    make(map[string]*immy.Task, len(f.Tasks)),
		deps:     make(map[string]*immy.Deployment, len(f.Deployments)),
	}
	if prev != nil && samePlaces(prev.fleet.Computers, f.Computers) {
		v.cindex = prev.cindex
	} else {
		v.cindex = make(map[string]int, len(f.Computers))
		for i := range f.Computers {
			v.cindex[f.Computers[i].ID] = i
		}
	}
	for i := range f.Tenants {
		v.tenants[f.Tenants[i].ID] = &f.Tenants[i]
	}
	for i := range f.Software {
		v.software[f.Software[i].ID] = &f.Software[i]
	}
	for i := range f.Tasks {
		v.tasks[f.Tasks[i].ID] = &f.Tasks[i]
	}
	for i := range f.Deployments {
		v.deps[f.Deployments[i].ID] = &f.Deployments[i]
	}
	v.secrets = newRedactor(fleetSecrets(f))
	return v
}

// computer returns the computer of the view's fleet, nil when it has none.
func (v *fleetView) computer(id string) *immy.Computer {
	if i, ok := v.cindex[id]; ok {
		return &v.fleet.Computers[i]
	}
	return nil
}

// samePlaces reports whether every computer of next has its place in old.
func samePlaces(old, next []immy.Computer) bool {
	if len(old) != len(next) {
		return false
	}
	for i := range next {
		if old[i].ID != next[i].ID {
			return false
		}
	}
	return true
}

// current returns the Engine of the fleet's current revision: e's own
// without a FleetSource. A revision not seen before is indexed (its planner
// made) once, by the first session that needs it.
func (e *Engine) current() (*Engine, error) {
	return e.currentFor("")
}

// currentFor returns the Engine a session of target (Request.Computer: a
// computer or a tenant session; "" for none) plans from: the latest one
// indexed when the FleetSource, a ChangeTracker, says nothing its plan
// reads changed since (a write may land the next moment, as one may after
// a Snapshot: the session plans from a revision whose fleet equals, for
// it, the one current when it asked), otherwise the current revision's.
func (e *Engine) currentFor(target string) (*Engine, error) {
	if e.cfg.Fleet == nil {
		return e.root, nil
	}
	if ct, ok := e.cfg.Fleet.(ChangeTracker); ok && target != "" {
		l := e.latest.Load()
		if _, tenant := tenantOf(target); tenant && ct.Unchanged(l.rev) || !tenant && ct.Unchanged(l.rev, target) {
			return l, nil
		}
	}
	f, rev := e.cfg.Fleet.Snapshot()
	if l := e.latest.Load(); l.rev == rev {
		return l, nil
	}
	e.vmu.Lock()
	defer e.vmu.Unlock()
	if l := e.latest.Load(); l.rev == rev {
		return l, nil
	}
	prev := e.latest.Load()
	p, err := e.nextPlanner(prev, f)
	if err != nil {
		return nil, fmt.Errorf("session: fleet revision %d: %w", rev, err)
	}
	l := &Engine{engineCore: e.engineCore, fleetView: newView(p, rev, prev.fleetView)}
	e.latest.Store(l)
	return l, nil
}

// nextPlanner returns the planner of f, a later revision of prev's fleet:
// prev's planner updated with what changed (resolver.Planner.Update shares
// what did not), unless Config.NewPlanner makes planners, a computer left
// its place (one was deleted: an update needs the others to keep theirs),
// or the update fails.
func (e *Engine) nextPlanner(prev *Engine, f *immy.Fleet) (*resolver.Planner, error) {
	old := prev.fleet.Computers
	if e.cfg.NewPlanner == nil && len(f.Computers) >= len(old) && samePlaces(old, f.Computers[:len(old)]) {
		if p, err := prev.planner.Update(f, fleetChanges(prev.fleet, f)); err == nil {
			return p, nil
		}
	}
	return planFleet(&e.cfg, f)
}

// Revision returns the revision of the fleet the engine plans new sessions
// from: the FleetSource's latest one that a session came to, 0 without a
// FleetSource.
func (e *Engine) Revision() int64 { return e.latest.Load().rev }

// learned tells the InventorySink what the run read last of the computer,
// once: before the session ends or waits, so that whoever waits for it finds
// the sink told.
func (x *runCtx) learned() {
	sink := x.e.cfg.InventorySink
	if sink == nil || x.invAt.IsZero() {
		return
	}
	l := Learned{Computer: x.s.req.Computer, Time: x.invAt, Inventory: x.learnt}
	x.learnt, x.invAt = immy.Inventory{}, time.Time{}
	if err := sink.Learned(context.WithoutCancel(x.ctx), l); err != nil {
		x.e.log(x.s, -1, "what the session learnt of the computer was not kept: "+x.e.secrets.str(err.Error()))
	}
}

// saw keeps inv as what this run read last of the computer.
func (x *runCtx) saw(inv immy.Inventory) immy.Inventory {
	x.learnt, x.invAt = inv, x.e.cfg.Now().UTC()
	return inv
}

// viewOf returns the Engine of the fleet revision the session runs from:
// the current one for a session that is to plan (again), the one it planned
// from for a session that has its plan (the current one after a restart,
// which kept the plan, not the revision's fleet).
func (e *Engine) viewOf(s *sess) (*Engine, error) {
	if s.view != nil && s.report().mainPlanned {
		return s.view, nil
	}
	v, err := e.currentFor(s.req.Computer)
	if err != nil {
		return nil, err
	}
	s.view = v
	return v, nil
}
