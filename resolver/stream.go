package resolver

import (
	"context"
	"iter"
	"runtime"
	"sync"
	"sync/atomic"
)

// Plan plans session s on every computer of the fleet, concurrently, and
// returns the computers sorted by id. The result does not depend on the
// number of workers or on scheduling. A caller that goes through the
// computers once (to write them, or to sum them up) can use PlanEach
// instead, which never holds the whole fleet's plans.
func (p *Planner) Plan(ctx context.Context, s Session) (*Plan, error) {
	sf, err := p.compileSession(s)
	if err != nil {
		return nil, err
	}
	plan := &Plan{At: p.at, Session: s.Kind, Computers: make([]ComputerPlan, len(p.sorted))}
	if err := p.planInto(ctx, p.newWorkers(len(p.sorted)), sf, p.sorted, p.byGroup, plan.Computers); err != nil {
		return nil, err
	}
	return plan, nil
}

// planWindow is how many computers PlanEach plans at once: enough that the
// computers of a tenant and kind mostly come together (their shared
// decisions are made once per window), few enough that the plans a
// stream holds stay a few megabytes.
var planWindow = 8192 // a variable for the tests

// PlanEach plans session s on every computer of the fleet, as Plan does,
// and yields the computers' plans one at a time, sorted by id: a caller that
// writes a whole fleet's plan (see PlanWriter) or sums it up never holds all
// of them: PlanEach plans the computers concurrently, a window of 8,192 at a
// time, one window ahead of the loop (so at most three windows' plans are
// alive: the one read, the one waiting, the one planned). Each plan is the
// same as Plan's.
//
//	for cp, err := range p.PlanEach(ctx, s) {
//		if err != nil {
//			return err
//		}
//		// use cp
//	}
//
// An error (an unknown session, a cancelled context) is yielded once, with
// a nil plan, and ends the sequence. Breaking out of the loop stops the
// planning; PlanEach's goroutines are done when the loop is. A plan yielded
// is the caller's to keep: it is not reused.
func (p *Planner) PlanEach(ctx context.Context, s Session) iter.Seq2[*ComputerPlan, error] {
	return func(yield func(*ComputerPlan, error) bool) {
		sf, err := p.compileSession(s)
		if err != nil {
			yield(nil, err)
			return
		}
		ctx, cancel := context.WithCancel(ctx)
		type batch struct {
			plans []ComputerPlan
			err   error
		}
		ready := make(chan batch, 1) // one window waits while the loop reads another
		stop := make(chan struct{})  // the loop is over
		go func() {
			defer close(ready)
			ws := p.newWorkers(min(planWindow, len(p.sorted)))
			for start := 0; start < len(p.sorted); start += planWindow {
				sorted := p.sorted[start:min(start+planWindow, len(p.sorted))]
				plans := make([]ComputerPlan, len(sorted))
				err := p.planInto(ctx, ws, sf, sorted, groupOrder(p.m, sorted), plans)
				select { // the error too reaches a loop still running
				case ready <- batch{plans, err}:
				case <-stop:
					return
				}
				if err != nil {
					return
				}
			}
		}()
		defer func() {
			close(stop)
			cancel()
			for range ready { // until the planner has stopped
			}
		}()
		for b := range ready {
			if b.err != nil {
				yield(nil, b.err)
				return
			}
			for i := range b.plans {
				if !yield(&b.plans[i], nil) {
					return
				}
			}
		}
	}
}

// newWorkers returns the workers for planning n computers at once: as many
// as Config.Workers says, none idle for want of computers. Their slabs end
// up in the plans: they are not pooled.
func (p *Planner) newWorkers(n int) []*worker {
	workers := p.cfg.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = max(1, min(workers, (n+planChunk-1)/planChunk))
	ws := make([]*worker, workers)
	for i := range ws {
		ws[i] = p.newWorker()
		ws[i].shares = p.keyed
	}
	return ws
}

// planChunk is how many computers a worker takes at once, in group order.
const planChunk = 256

// planInto plans the computers sorted (fleet indices) into out (by the same
// position), with the workers ws at once, in the order of order (positions
// in sorted, by matcher group: see groupOrder).
func (p *Planner) planInto(ctx context.Context, ws []*worker, sf *sessionFilter, sorted []int, order []int32, out []ComputerPlan) error {
	var next atomic.Int64
	var failed atomic.Pointer[error]
	fail := func(err error) { failed.CompareAndSwap(nil, &err) } // err escapes here only
	var wg sync.WaitGroup
	for _, w := range ws {
		wg.Go(func() {
			for failed.Load() == nil {
				start := int(next.Add(planChunk)) - planChunk
				if start >= len(sorted) {
					return
				}
				if err := ctx.Err(); err != nil {
					fail(err)
					return
				}
				for _, i := range order[start:min(start+planChunk, len(sorted))] {
					if err := p.planOne(ctx, w, sorted[i], sf, nil, true, &out[i]); err != nil {
						fail(err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	if e := failed.Load(); e != nil {
		return *e
	}
	return nil
}
