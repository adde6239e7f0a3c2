package session

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/immyoss/engine/immy"
)

// sess is the engine's state of one session.
type sess struct {
	id    string
	req   Request
	prio  int
	order uint64
	index int // in the queue heap, -1 when not queued; guarded by Engine.mu

	// wmu serialises the session's journal writes; mu guards rep.
	wmu  sync.Mutex
	mu   sync.Mutex
	rep  Report
	jseq int

	// notified: the user was told before execution (the session's
	// goroutine only; rebuilt by Resume)
	notified bool
	// view is the Engine of the fleet revision the session planned from
	// (its goroutine only; living.go)
	view *Engine

	// scheduling state, guarded by smu
	smu       sync.Mutex
	state     sessState
	cancelReq bool
	connected bool // Connected was called while it ran
	cancel    context.CancelCauseFunc
	timer     *time.Timer
	done      chan struct{}
	err       error // why it stopped without ending (a journal failure, Close)
}

type sessState uint8

const (
	stQueued  sessState = iota // in the queue
	stRunning                  // its goroutine runs
	stWaiting                  // pending connectivity, or postponed
	stEnded                    // final status written
	stStopped                  // between two states, or stopped without ending
)

func priority(r Request) int {
	switch {
	case r.Source == AdHoc:
		return 0
	case r.Source == FromOnboarding || r.Kind == OnboardingRun:
		return 1
	}
	return 2
}

// sessHeap orders queued sessions: priority, then arrival.
type sessHeap []*sess

func (h sessHeap) Len() int { return len(h) }
func (h sessHeap) Less(i, j int) bool {
	if h[i].prio != h[j].prio {
		return h[i].prio < h[j].prio
	}
	return h[i].order < h[j].order
}
func (h sessHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *sessHeap) Push(x any) {
	s := x.(*sess)
	s.index = len(*h)
	*h = append(*h, s)
}
func (h *sessHeap) Pop() any {
	old := *h
	s := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	s.index = -1
	return s
}

func (e *Engine) newSess(req Request) *sess {
	return &sess{id: req.ID, req: req, prio: priority(req), order: e.order.Add(1), index: -1, state: stStopped,
		done: make(chan struct{}), rep: Report{ID: req.ID, Computer: req.Computer, Request: req.clone()}}
}

func (e *Engine) lookup(id string) (*sess, bool) {
	v, ok := e.sessions.Load(id)
	if !ok {
		return nil, false
	}
	return v.(*sess), true
}

// Start records a session and queues it (pending); it returns the session's
// id at once. A computer has one active session at a time: another is a
// *BusyError.
func (e *Engine) Start(ctx context.Context, req Request) (string, error) {
	req = req.clone()
	cur, err := e.currentFor(req.Computer) // the fleet's current revision, for req (living.go)
	if err != nil {
		return "", err
	}
	if err := cur.validate(&req); err != nil {
		return "", err
	}
	if e.closed.Load() {
		return "", fmt.Errorf("session: %w", ErrClosed)
	}
	if e.cfg.Dispatcher != nil {
		return e.startDispatched(ctx, req)
	}
	var s *sess
	if req.ID == "" {
		for {
			req.ID = e.newID()
			s = e.newSess(req)
			if _, taken := e.sessions.LoadOrStore(req.ID, s); !taken {
				break
			}
		}
	} else {
		s = e.newSess(req)
		if _, taken := e.sessions.LoadOrStore(req.ID, s); taken {
			return "", fmt.Errorf("session: request: id %q is taken: %w", req.ID, immy.ErrInvalid)
		}
	}
	if err := e.journalNew(ctx, s); err != nil {
		return "", err
	}
	e.enqueue(s)
	return s.id, nil
}

// journalNew makes s, registered under its id, its computer's active
// session and journals its creation. On failure nothing of s is left: a
// *BusyError when the computer has an active session (this engine's, or one
// the journal knows of another process's, returned as is), else the
// journal's error.
func (e *Engine) journalNew(ctx context.Context, s *sess) error {
	req := &s.req
	if v, busy := e.active.LoadOrStore(req.Computer, s); busy {
		e.sessions.Delete(req.ID)
		return &BusyError{Computer: req.Computer, Session: v.(*sess).id}
	}
	q := req.clone()
	if err := e.commit(ctx, s, Record{Kind: RecordCreated, Request: &q}, nil); err != nil {
		e.sessions.Delete(req.ID)
		e.active.CompareAndDelete(req.Computer, s)
		if busy := (*BusyError)(nil); errors.As(err, &busy) {
			return busy
		}
		return err
	}
	return nil
}

// enqueue puts a session in the queue and starts what the cap allows.
func (e *Engine) enqueue(s *sess) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s.smu.Lock()
	if e.closed.Load() {
		e.end(s, stStopped, fmt.Errorf("session: %w", ErrClosed))
		s.smu.Unlock()
		return
	}
	s.state = stQueued
	s.smu.Unlock()
	heap.Push(&e.queue, s)
	e.queued.Add(1)
	e.dispatch()
}

// dispatch starts queued sessions while the cap allows; e.mu is held.
func (e *Engine) dispatch() {
	for !e.closed.Load() && e.running.Load() < int64(e.cfg.MaxRunning) && e.queue.Len() > 0 {
		s := heap.Pop(&e.queue).(*sess)
		e.queued.Add(-1)
		e.running.Add(1)
		ctx, cancel := context.WithCancelCause(context.Background())
		s.smu.Lock()
		s.cancel, s.connected, s.state = cancel, false, stRunning
		if s.cancelReq {
			cancel(errCancel)
		}
		s.smu.Unlock()
		e.wg.Add(1)
		go e.run(ctx, s)
	}
}

// run drives one session until it ends or stops, then frees its slot.
func (e *Engine) run(ctx context.Context, s *sess) {
	defer e.wg.Done()
	out := e.drive(ctx, s)
	s.cancel(nil)
	s.smu.Lock()
	switch out.how {
	case outEnded:
		e.end(s, stEnded, nil)
	case outWaitConnectivity:
		s.state = stWaiting
		switch {
		case s.cancelReq:
			e.cancelWaiting(s)
		case s.connected:
			// the computer connected while the session was stopping
			e.wakeLocked(s)
		}
	case outPostponed:
		s.state = stWaiting
		if s.cancelReq {
			e.cancelWaiting(s)
		} else {
			e.arm(s, out.until)
		}
	case outStopped:
		e.end(s, stStopped, out.err)
	}
	s.smu.Unlock()
	// Sequentially consistent with enqueue, which counts the queued session
	// before it reads the running count: one of the two starts it.
	e.running.Add(-1)
	if e.queued.Load() > 0 {
		e.mu.Lock()
		e.dispatch()
		e.mu.Unlock()
	}
}

// end retires a session; s.smu is held. A session ends once: a second end
// leaves the first one's outcome (closing done twice would panic with s.smu
// held, and a worker that recovers panics, as River's do, would leave it
// locked for good).
func (e *Engine) end(s *sess, st sessState, err error) {
	if s.finished() {
		return
	}
	s.state, s.err = st, err
	e.active.CompareAndDelete(s.req.Computer, s)
	if s.timer != nil {
		s.timer.Stop()
	}
	close(s.done)
}

// arm wakes a postponed session at until; s.smu is held.
func (e *Engine) arm(s *sess, until time.Time) {
	d := until.Sub(e.cfg.Now())
	s.timer = e.afterFunc(max(d, 0), func() { e.wake(s) })
}

// wake queues a waiting session again.
func (e *Engine) wake(s *sess) {
	s.smu.Lock()
	defer s.smu.Unlock()
	e.wakeLocked(s)
}

// wakeLocked is wake with s.smu held.
func (e *Engine) wakeLocked(s *sess) {
	if s.state != stWaiting || e.closed.Load() {
		return
	}
	s.state = stStopped // until recorded
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		err := e.commit(context.Background(), s, Record{Kind: RecordStatus, Status: Pending}, nil)
		s.smu.Lock()
		if err != nil {
			e.end(s, stStopped, err)
			s.smu.Unlock()
			return
		}
		s.smu.Unlock()
		// a Cancel from here on is seen by dispatch
		e.enqueue(s)
	}()
}

// Connected tells the engine that a computer came online: the engine forgets
// which of its pathways it had found offline, and its session pending
// connectivity is queued again and continues where it stopped.
func (e *Engine) Connected(computer string) {
	if c := e.latest.Load().computer(computer); c != nil {
		e.forgetPathways(c)
	}
	e.reachable(computer)
}

// reachable queues again the computer's session pending connectivity, or
// keeps its running session from waiting.
func (e *Engine) reachable(computer string) {
	if e.cfg.Dispatcher != nil {
		e.reachableDispatched(computer)
		return
	}
	v, ok := e.active.Load(computer)
	if !ok {
		return
	}
	s := v.(*sess)
	s.smu.Lock()
	defer s.smu.Unlock()
	switch {
	case s.state == stRunning:
		s.connected = true // it may be about to wait: it will not
	case s.state == stWaiting && s.report().Status == PendingConnectivity:
		e.wakeLocked(s)
	}
}

// Cancel cancels a session: a running action ends cancelled, nothing new
// starts, and the session ends cancelled. Cancelling an ended session does
// nothing.
func (e *Engine) Cancel(id string) error {
	if e.cfg.Dispatcher != nil {
		return e.cancelDispatched(context.Background(), id)
	}
	s, ok := e.lookup(id)
	if !ok {
		return fmt.Errorf("session: unknown session %q: %w", id, immy.ErrNotFound)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	s.smu.Lock()
	defer s.smu.Unlock()
	if s.cancelReq {
		return nil
	}
	s.cancelReq = true
	switch s.state {
	case stRunning:
		s.cancel(errCancel)
	case stQueued:
		heap.Remove(&e.queue, s.index)
		e.queued.Add(-1)
		e.cancelWaiting(s)
	case stWaiting:
		e.cancelWaiting(s)
	}
	return nil
}

// cancelWaiting ends a session that is not running as cancelled; s.smu is held.
func (e *Engine) cancelWaiting(s *sess) {
	if s.timer != nil {
		s.timer.Stop()
	}
	s.state = stStopped
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		ctx := context.Background()
		err := e.cancelRest(ctx, s)
		if err == nil {
			err = e.commit(ctx, s, Record{Kind: RecordStatus, Status: Cancelled, Reason: ReasonCancelled}, nil)
		}
		s.smu.Lock()
		defer s.smu.Unlock()
		if err != nil {
			e.end(s, stStopped, err)
			return
		}
		e.end(s, stEnded, nil)
	}()
}

// Wait waits for a session to end (or stop) and returns its report. A
// session stopped by a journal failure returns its report so far and a
// *JournalError; one stopped by Close returns ErrClosed.
func (e *Engine) Wait(ctx context.Context, id string) (Report, error) {
	s, ok := e.lookup(id)
	if !ok {
		return Report{}, fmt.Errorf("session: unknown session %q: %w", id, immy.ErrNotFound)
	}
	select {
	case <-s.done:
	case <-ctx.Done():
		return s.report(), fmt.Errorf("session: wait for %q: %w", id, ctx.Err())
	}
	s.smu.Lock()
	err := s.err
	s.smu.Unlock()
	return s.report(), err
}

// Run starts a session and waits for it to end.
func (e *Engine) Run(ctx context.Context, req Request) (Report, error) {
	id, err := e.Start(ctx, req)
	if err != nil {
		return Report{}, err
	}
	return e.Wait(ctx, id)
}

// Report returns a session's report as it stands.
func (e *Engine) Report(id string) (Report, bool) {
	s, ok := e.lookup(id)
	if !ok {
		return Report{}, false
	}
	return s.report(), true
}

// Active returns the id of the computer's session that has not ended.
func (e *Engine) Active(computer string) (string, bool) {
	v, ok := e.active.Load(computer)
	if !ok {
		return "", false
	}
	return v.(*sess).id, true
}

// Counts tells how many sessions run and how many wait in the queue.
func (e *Engine) Counts() (running, queued int) {
	return int(e.running.Load()), int(e.queued.Load())
}

func (s *sess) report() Report {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rep.clone()
}

// Subscribe returns a subscription to the events of one session, or of every
// session when id is "". Each session's events arrive in order.
func (e *Engine) Subscribe(id string) *Subscription { return e.hub.subscribe(id) }

// Close stops the engine: queued sessions stay queued in the journal,
// running ones stop where they are (as after a crash, without writing
// anything more), and Close waits for their goroutines until ctx ends.
// Another engine over the same journal resumes them.
func (e *Engine) Close(ctx context.Context) error {
	e.mu.Lock()
	e.closed.Store(true)
	e.sessions.Range(func(_, v any) bool {
		s := v.(*sess)
		s.smu.Lock()
		defer s.smu.Unlock()
		switch s.state {
		case stRunning:
			s.cancel(errShutdown)
		case stQueued, stWaiting:
			if s.index >= 0 {
				heap.Remove(&e.queue, s.index)
				e.queued.Add(-1)
			}
			e.end(s, stStopped, fmt.Errorf("session: %w", ErrClosed))
		}
		return true
	})
	e.mu.Unlock()
	done := make(chan struct{})
	go func() {
		e.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("session: close: %w", ctx.Err())
	}
}

// Resume reads the journal and takes over the sessions that had not ended:
// they are queued again and continue where they stopped; an action that was
// running is detected again before anything is re-run. Ended sessions are
// loaded too, for Report and Wait. It returns the ids of the sessions
// resumed, sorted. Sessions this engine already knows are left alone.
//
// With a Config.Dispatcher, Resume instead hands the Dispatcher every session
// that has not ended and does not wait for connectivity (see Redispatch).
func (e *Engine) Resume(ctx context.Context) ([]string, error) {
	if e.cfg.Dispatcher != nil {
		return e.Redispatch(ctx)
	}
	reps := map[string]*Report{}
	seqs := map[string]int{}
	var order []string
	err := e.journal.Replay(ctx, func(rec Record) error {
		r, ok := reps[rec.Session]
		if !ok {
			if rec.Kind != RecordCreated {
				return fmt.Errorf("session: journal: session %q starts with a %s record: %w", rec.Session, rec.Kind, immy.ErrInvalid)
			}
			r = &Report{}
			reps[rec.Session] = r
			order = append(order, rec.Session)
		}
		r.apply(&rec)
		seqs[rec.Session] = rec.Seq
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("session: resume: %w", err)
	}
	var resumed []string
	for _, id := range order {
		r := reps[id]
		if n, err := strconv.ParseUint(id[min(1, len(id)):], 10, 64); err == nil && id[0] == 's' {
			for cur := e.nextID.Load(); n > cur && !e.nextID.CompareAndSwap(cur, n); cur = e.nextID.Load() {
			}
		}
		s := e.newSess(r.Request)
		s.rep = *r
		s.jseq = seqs[id]
		s.notified = r.Stage >= StageExecution
		if _, known := e.sessions.LoadOrStore(id, s); known {
			continue
		}
		if r.Status.Final() {
			s.smu.Lock()
			s.state = stEnded
			close(s.done)
			s.smu.Unlock()
			continue
		}
		if v, busy := e.active.LoadOrStore(r.Computer, s); busy {
			s.smu.Lock()
			e.end(s, stStopped, &BusyError{Computer: r.Computer, Session: v.(*sess).id})
			s.smu.Unlock()
			continue
		}
		resumed = append(resumed, id)
		if r.Status == Postponed && !r.PostponedUntil.IsZero() {
			s.smu.Lock()
			s.state = stWaiting
			e.arm(s, r.PostponedUntil)
			s.smu.Unlock()
			continue
		}
		e.enqueue(s)
	}
	slices.Sort(resumed)
	return resumed, nil
}
