package resolver

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"weak"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/targets"
)

// Changes names what changed from one fleet to the next, by id, section by
// section (see targets.Changes): what Planner.Update applies.
type Changes = targets.Changes

// Update returns the planner of next, the planner's fleet changed by ch
// alone (the entities ch lists may differ; the others are equal and
// computers keep their places, as the fleet store makes its fleets). The
// planner is immutable: p stays as it was, with every plan made from it.
// What the two share depends on what changed:
//
//   - computers' inventory and presence (software, OS, online, UPNs that keep
//     the primary person, attributes, name...): everything but the changed
//     computers' filter results; O(changed computers);
//   - deployments: the index, and each filter compiled and its results on
//     every computer; the targets, postings and rank keys are made again,
//     O(deployments), no filter compiled twice nor run again;
//   - a computer's kind, exclusion, tags or device groups: the index is
//     patched (copies of what the change touches), the table recompiled as
//     for deployments;
//   - a computer's tenant or primary person, a computer created or deleted,
//     tenants, persons, groups, agreements, settings: the index is built
//     again (O(fleet)); filters are not compiled again, nor run again on
//     unchanged computers (unless the tenants changed or a computer was
//     deleted);
//   - software and tasks: the catalogue too is built again.
//
// Touched then says which computers' plans may differ, and Replan plans
// them again.
func (p *Planner) Update(next *immy.Fleet, ch Changes) (*Planner, error) {
	ix, err := p.ix.Update(next, ch)
	if err != nil {
		return nil, fmt.Errorf("resolver: %w", err)
	}
	catChanged := len(ch.Software)+len(ch.Tasks) > 0
	var cat *Catalogue
	if catChanged {
		if cat, err = NewCatalogue(next); err != nil {
			return nil, err
		}
	} else {
		c := *p.cat // the items and detection do not change: the fleet does
		c.fleet = next
		cat = &c
	}
	if catChanged || len(ch.Deployments) > 0 || !ix.SharesLookups(p.ix) {
		q, err := buildPlanner(ix, cat, p.cfg, p)
		if err != nil {
			return nil, err
		}
		if !catChanged {
			q.edit = editOf(p, q, ch) // Replan re-ranks only the edited items (update_edit.go)
		}
		return q, nil
	}
	// Only what filters and detection read of some computers changed: the
	// table, rank keys and groups are p's.
	m, err := p.m.Update(ix, p.table)
	if err != nil {
		return nil, fmt.Errorf("resolver: %w", err)
	}
	q := &Planner{cfg: p.cfg, at: p.at, ix: ix, m: m, cat: cat, fleet: next, aims: p.aims, table: p.table,
		deps: p.deps, hot: p.hot, byID: p.byID, sorted: p.sorted, byGroup: p.byGroup, depth: p.depth,
		keyed: p.keyed, codes: p.codes}
	pc := *p.pc
	pc.cat, pc.fleet, pc.names = cat, next, &q.names
	q.pc = &pc
	// p's idle workers serve q: they read the same table, rank keys and
	// catalogue (its items; the tenants, which they read from the fleet,
	// did not change), and building one costs O(deployments). p is held
	// weakly: q does not keep the planners before it alive.
	wp := weak.Make(p)
	q.workers.New = func() any {
		if p := wp.Value(); p != nil {
			if w, ok := p.workers.Get().(*worker); ok {
				return w
			}
		}
		return q.newWorker()
	}
	return q, nil
}

// compileTable compiles a planner's table of deployments: afresh, or
// updated from prev, the matcher of the planner being updated.
func compileTable(ix *targets.Index, table []immy.Deployment, prev *targets.Matcher) (*targets.Matcher, error) {
	if prev == nil {
		return ix.Compile(table)
	}
	return prev.Update(ix, table)
}

// Touched returns the ids, sorted, of the computers whose plans may differ
// between old and p, where p was made by old.Update(next, ch): those ch
// names, those a changed deployment's target selects before or after, those
// of a changed tenant's subtree, and so on (targets.Matcher.Touched). It
// includes the computers old's fleet had and p's has not. all reports that
// every plan may differ (software, tasks or settings changed); ids are then
// nil.
//
// The answer holds for every session but an ad hoc one that names a
// deployment whose item changed: such a session runs other items, on every
// computer with a deployment of the old item or the new, and Touched, which
// knows no session, does not say so. Replan plans every computer again in
// that case (sameNamedItems), so Touched and Replan together are right for
// every session.
func (p *Planner) Touched(ctx context.Context, old *Planner, ch Changes) (ids []string, all bool, err error) {
	if len(ch.Software)+len(ch.Tasks) > 0 || ch.Settings {
		return nil, true, nil
	}
	ids, all, err = p.m.Touched(ctx, old.m, ch)
	if err != nil {
		return nil, false, fmt.Errorf("resolver: %w", err)
	}
	return ids, all, nil
}

// Replan returns the plan of session s over p's fleet from plan, a plan of
// the same session made by a planner p was updated from: the computers
// named (ids) are planned again, or left out when p's fleet does not have
// them, and every other computer keeps its plan from plan (shared, not
// copied: Diff passes over them at once). Given what Touched returned, the
// result equals p.Plan(ctx, s). all (Touched's) plans every computer again.
//
// When p was made by an edit of deployments alone, a named computer is
// planned from its entry in plan: only the edited deployments' items are
// ranked again (update_edit.go).
//
// An ad hoc session that names a deployment runs the deployment's item on
// every computer. When that item changed (or the session's items differ
// for another reason: see sameNamedItems), the plans of computers the
// deployment does not target change too, and ids, which do not depend on
// the session, miss them: every computer is planned again.
func (p *Planner) Replan(ctx context.Context, plan *Plan, s Session, ids []string, all bool) (*Plan, error) {
	if all || plan == nil {
		return p.Plan(ctx, s)
	}
	if plan.Session != s.Kind {
		return nil, fmt.Errorf("resolver: replan of a %s session from a plan of a %s session: %w", s.Kind, plan.Session, immy.ErrInvalid)
	}
	sf, err := p.compileSession(s)
	if err != nil {
		return nil, err
	}
	if len(sf.deps) > 0 && !p.sameNamedItems(plan, s) {
		return p.Plan(ctx, s)
	}
	if !slices.IsSorted(ids) {
		ids = slices.Clone(ids)
		slices.Sort(ids)
	}
	ids = slices.Compact(slices.Clip(ids))
	old := plan.Computers
	out := &Plan{At: p.at, Session: s.Kind, Computers: make([]ComputerPlan, 0, len(old)+len(ids))}
	type job struct {
		pos, old int // old: the computer's place in plan, -1 for none
		c        int
	}
	var jobs []job
	i := 0
	for _, id := range ids {
		for i < len(old) && old[i].ID < id {
			out.Computers = append(out.Computers, old[i])
			i++
		}
		prev := -1
		if i < len(old) && old[i].ID == id {
			prev = i
			i++
		}
		if c, ok := p.ix.Computer(id); ok {
			jobs = append(jobs, job{len(out.Computers), prev, c})
			out.Computers = append(out.Computers, ComputerPlan{})
		}
	}
	out.Computers = append(out.Computers, old[i:]...)
	var sel *editSelection
	if p.edit != nil {
		if sel, err = p.selection(ctx); err != nil {
			return nil, err
		}
	} else if len(jobs) > len(p.sorted)/2 { // most of the fleet: Plan shares more of the work
		return p.Plan(ctx, s)
	}
	workers := p.cfg.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	const chunk = 64
	workers = max(1, min(workers, (len(jobs)+chunk-1)/chunk))
	var next atomic.Int64
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			w := p.workers.Get().(*worker)
			defer p.workers.Put(w)
			sc := editScratch{layouts: map[*planContext]layout{}}
			for failed.Load() == nil {
				start := int(next.Add(chunk)) - chunk
				if start >= len(jobs) {
					return
				}
				for _, j := range jobs[start:min(start+chunk, len(jobs))] {
					cp := &out.Computers[j.pos]
					how := editWhole
					var err error
					if sel != nil && j.old >= 0 {
						how, err = p.replanEdited(ctx, w, &sc, sel, j.c, &old[j.old], sf, cp)
					}
					if err == nil && how == editWhole {
						err = p.planOne(ctx, w, j.c, sf, nil, false, cp)
					}
					if err != nil {
						failed.CompareAndSwap(nil, &err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	if e := failed.Load(); e != nil {
		return nil, *e
	}
	p.relocate(out.Computers) // problem.go
	return out, nil
}

// samePlan reports whether a and b are one computer plan, shared by two
// plans (Replan): Diff need not read them.
func samePlan(a, b *ComputerPlan) bool {
	if a.pc != b.pc || a.comp != b.comp || a.ID != b.ID || a.Excluded != b.Excluded || a.shared != b.shared || a.extra != b.extra {
		return false
	}
	if len(a.rec) == 0 || len(b.rec) == 0 {
		return a.Excluded || (len(a.rec) == 0 && len(b.rec) == 0 && a.shared == nil && a.extra == nil)
	}
	return len(a.rec) == len(b.rec) && &a.rec[0] == &b.rec[0]
}

// sameNamedItems reports whether ad hoc session s runs the same items over
// p's fleet as over the fleet plan was made from (compileSession's rule: an
// item named, and the item of a deployment named, by id). The older fleet's
// deployments are read from the context of a record of plan: every record
// of plan was made under the same items of s, since Replan plans every
// computer again when they change. false when plan has no record to read,
// or a name is not found in the older fleet (a deployment created).
func (p *Planner) sameNamedItems(plan *Plan, s Session) bool {
	var old *planContext
	for i := range plan.Computers {
		if old = plan.Computers[i].pc; old != nil {
			break
		}
	}
	if old == nil {
		return false
	}
	now, ok := namedItems(s.Named, p.cat, func(id string) (*immy.Deployment, bool) {
		i, ok := p.byID[id]
		if !ok {
			return nil, false
		}
		return &p.table[i], true
	})
	if !ok {
		return false
	}
	var rows map[string]int // old.deps by id, made on the first miss
	before, ok := namedItems(s.Named, old.cat, func(id string) (*immy.Deployment, bool) {
		// the same row in both tables when the layout did not move
		if i, ok := p.byID[id]; ok && int(i) < len(old.deps) && old.deps[i].ID == id {
			return &old.deps[i], true
		}
		if rows == nil {
			rows = make(map[string]int, len(old.deps))
			for r := range old.deps {
				rows[old.deps[r].ID] = r
			}
		}
		r, ok := rows[id]
		if !ok {
			return nil, false
		}
		return &old.deps[r], true
	})
	return ok && slices.Equal(now, before)
}

// namedItems returns the ids, sorted and distinct, of the items of cat an
// ad hoc session naming names runs: an item named, or the item of a
// deployment named (dep looks it up by id), when cat has it. ok is false
// when a name is neither.
func namedItems(names []string, cat *Catalogue, dep func(id string) (*immy.Deployment, bool)) (items []string, ok bool) {
	for _, n := range names {
		if _, ok := cat.byID[n]; ok {
			items = append(items, n)
			continue
		}
		d, ok := dep(n)
		if !ok {
			return nil, false
		}
		if _, ok := cat.byID[d.Item]; ok {
			items = append(items, d.Item)
		}
	}
	slices.Sort(items)
	return slices.Compact(items), true
}
