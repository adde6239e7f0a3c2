package resolver

import (
	"context"
	"fmt"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/targets"
)

// worker is one goroutine's reusable memory.
type worker struct {
	match   []int
	cands   []candRec
	group   []Candidate
	seq     *sequencer
	inv     invState
	sitems  []seqItem
	hits    []nameHit
	decs    []decision
	loss    []lost
	enc     encoder
	results slab[byte]    // the records of a whole-fleet plan are carved from it
	shares  bool          // decide by decideShared (Plan's workers)
	probs   []planProblem // the computer's items held by failing filters
	base    groupBase     // for decideShared: the group last planned
	rest    []int32
	tail    []candRec
	nlost   int32          // decideShared: the losers of every decision
	want    targets.Wanted // wantedOn's memory
}

type candRec struct {
	key  uint64
	dep  int32
	item int32
	dist int32 // tenant distance
}

func (p *Planner) newWorker() *worker {
	return &worker{
		seq:  newSequencer(p.cat, p.table, p.aims, p.codes),
		base: groupBase{group: -1},
		inv:  newInvState(p.cat),
	}
}

// slab hands out sub-slices of large blocks, so that a whole-fleet plan makes
// few allocations. Handed-out slices never move.
type slab[T any] struct{ buf []T }

const slabSize = 128 << 10

// tail returns the free part of the current block, empty: a caller appends
// to it, then takes what it appended (see holds).
func (s *slab[T]) tail() []T { return s.buf[len(s.buf):len(s.buf)] }

// holds reports whether b, appended to what tail returned, is still in the
// block: take(len(b)) then returns b's memory.
func (s *slab[T]) holds(b []T) bool {
	free := s.buf[len(s.buf):cap(s.buf)]
	return len(b) > 0 && len(b) <= len(free) && &free[0] == &b[0]
}

// keep returns b in the slab: b's own memory when it was appended to what
// tail returned and is still in the block (holds), else a copy.
func (s *slab[T]) keep(b []T) []T {
	if s.holds(b) {
		return s.take(len(b))
	}
	out := s.take(len(b))
	copy(out, b)
	return out
}

func (s *slab[T]) take(n int) []T {
	if n == 0 {
		return nil
	}
	if len(s.buf)+n > cap(s.buf) {
		s.buf = make([]T, 0, max(slabSize, n))
	}
	s.buf = s.buf[:len(s.buf)+n]
	return s.buf[len(s.buf)-n : len(s.buf) : len(s.buf)]
}

// PlanComputer plans session s on one computer. st is what detection found;
// nil reads the computer's inventory from the fleet (the what-if).
func (p *Planner) PlanComputer(ctx context.Context, computer string, s Session, st State) (*ComputerPlan, error) {
	c, ok := p.ix.Computer(computer)
	if !ok {
		return nil, fmt.Errorf("resolver: unknown computer %q: %w", computer, immy.ErrNotFound)
	}
	sf, err := p.compileSession(s)
	if err != nil {
		return nil, err
	}
	w := p.workers.Get().(*worker)
	defer p.workers.Put(w)
	var reader stateReader
	var ps publicState
	if st != nil {
		ps = newPublicState(p.cat, st)
		reader = ps
	}
	cp := new(ComputerPlan)
	if err := p.planOne(ctx, w, c, sf, reader, false, cp); err != nil {
		return nil, err
	}
	if st != nil {
		if cp.extra == nil {
			cp.extra = new(planExtra)
		}
		cp.extra.state, cp.extra.vals = true, *ps.vals
	}
	return cp, nil
}

// planOne plans one computer into cp. st nil reads its inventory. pooled
// carves the result from the worker's slabs.
func (p *Planner) planOne(ctx context.Context, w *worker, c int, s *sessionFilter, st stateReader, pooled bool, cp *ComputerPlan) error {
	comp := &p.fleet.Computers[c]
	*cp = ComputerPlan{ID: comp.ID, pc: p.pc, comp: int32(c), tenant: -1}
	if t, ok := p.ix.ComputerTenant(c); ok {
		cp.tenant = int32(t)
	}
	if comp.ExcludedFromMaintenance {
		cp.Excluded = true
		return nil
	}
	w.probs = w.probs[:0]
	shares := w.shares
	var err error
	if shares {
		err = p.decideShared(ctx, w, c, s)
		if err == errHeld { // a filter failed: this computer alone is decided the general way
			shares = false
		}
	}
	if !shares {
		err = p.decide(ctx, w, c, s)
	}
	if err != nil {
		return err
	}
	if !shares { // decideShared makes w.sitems itself
		w.sitems = w.sitems[:0]
		for _, d := range w.decs {
			w.sitems = append(w.sitems, seqItem{it: d.item, dep: d.winner})
		}
	}
	if len(w.sitems) == 0 {
		p.keepProblems(w, cp, nil)
		return nil
	}
	if st == nil {
		w.inv.load(comp, &p.names, &w.hits)
		st = &w.inv
	}
	w.seq.tenant = cp.tenant
	acts := w.seq.run(w.sitems, st, s.kind == OnboardingSession)
	p.keepProblems(w, cp, w.seq.probs)
	w.enc.reset()
	if pooled { // straight into the free part of the worker's slab
		w.enc.buf = w.results.tail()
	}
	w.enc.actions(p.pc, acts)
	if shares { // the shared decisions' losers are the group's
		cp.shared = w.base.losers
		for i := range w.decs {
			if d := &w.decs[i]; d.own {
				w.enc.losers(p.pc, d.item, w.loss[d.lost0:d.lost0+d.nlost])
			}
		}
	} else {
		for i := range w.decs {
			if d := &w.decs[i]; d.nlost > 0 {
				w.enc.losers(p.pc, d.item, w.loss[d.lost0:d.lost0+d.nlost])
			}
		}
	}
	cp.nact, cp.nlost = uint32(len(acts)), uint32(w.nlost)
	if !shares {
		cp.nlost = uint32(len(w.loss))
	}
	b := w.enc.buf
	switch {
	case pooled && w.results.holds(b): // written in place
		cp.rec = w.results.take(len(b))
		w.enc.buf = nil // cp's now
	case pooled: // the slab's free part was too short: into a new one
		cp.rec = w.results.take(len(b))
		copy(cp.rec, b)
	default:
		cp.rec = make([]byte, len(b))
		copy(cp.rec, b)
	}
	return nil
}
