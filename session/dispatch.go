package session

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/immyoss/engine/immy"
)

// Dispatcher hands sessions to the engine processes that work them: a queue
// shared by every process over one journal (package session/durable puts
// one on River). Whichever process takes a session calls [Engine.Work].
type Dispatcher interface {
	// Dispatch queues sessions to be worked. A session that is already
	// queued, or being worked, must stay queued once: Dispatch may be called
	// again for it (Engine.Redispatch does, after a crash).
	Dispatch(ctx context.Context, sessions []Dispatched) error
}

// Dispatched is a session handed to a Dispatcher.
type Dispatched struct {
	ID       string
	Computer string
	// Priority orders the queue, lower first: 0 ad hoc, 1 onboarding,
	// 2 scheduled.
	Priority int
}

// ActiveSessioner is implemented by journals that know each computer's
// session that has not ended, across every engine process that writes to
// them. Start, with a Dispatcher, refuses a second session for a computer
// (a *BusyError) when its journal is one. Such a journal's Append refuses,
// atomically, a RecordCreated for a computer (not "") that has another
// session not ended (no final status recorded), with an error for which
// errors.As finds a *BusyError naming it: two processes that start a session
// of one computer at once cannot both succeed, whatever ActiveSession told
// them before.
type ActiveSessioner interface {
	ActiveSession(ctx context.Context, computer string) (id string, ok bool, err error)
}

// UnfinishedLister is implemented by journals that list the sessions that
// have not ended without reading every record: what Redispatch reads.
type UnfinishedLister interface {
	Unfinished(ctx context.Context) ([]string, error)
}

// ErrExists is matched by the error of Start, with a Dispatcher, for a
// request whose ID names a session that exists already (in this process or
// in the journal): starting it twice is harmless.
var ErrExists = errors.New("session exists")

// newID numbers a session started without an id.
func (e *Engine) newID() string {
	switch {
	case e.cfg.NewID != nil:
		return e.cfg.NewID()
	case e.cfg.Dispatcher != nil:
		var b [16]byte
		_, _ = rand.Read(b[:]) // never fails (crypto/rand)
		return hex.EncodeToString(b[:])
	}
	return "s" + strconv.FormatUint(e.nextID.Add(1), 10)
}

func (e *Engine) dispatched(s *sess) Dispatched {
	return Dispatched{ID: s.id, Computer: s.req.Computer, Priority: s.prio}
}

func (s *sess) finished() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// load reads one session from the journal: its report and last Seq.
func (e *Engine) load(ctx context.Context, id string) (Report, int, error) {
	rp, ok := e.journal.(SessionReplayer)
	if !ok {
		return Report{}, 0, fmt.Errorf("session: the journal cannot read one session (not a SessionReplayer): %w", immy.ErrInvalid)
	}
	var r Report
	seq := 0
	err := rp.ReplaySession(ctx, id, func(rec Record) error {
		if seq == 0 && rec.Kind != RecordCreated {
			return fmt.Errorf("session %q starts with a %s record: %w", id, rec.Kind, immy.ErrInvalid)
		}
		if rec.Seq != seq+1 {
			return fmt.Errorf("session %q: record %d after record %d: %w", id, rec.Seq, seq, immy.ErrInvalid)
		}
		r.apply(&rec)
		seq = rec.Seq
		return nil
	})
	if err != nil {
		return Report{}, 0, fmt.Errorf("session: journal: %w", err)
	}
	return r, seq, nil
}

// Journaled returns a session's report as its journal holds it: with a
// Dispatcher, the report of a session worked by any engine process.
func (e *Engine) Journaled(ctx context.Context, id string) (Report, error) {
	r, _, err := e.load(ctx, id)
	return r, err
}

// startDispatched is Start with a Dispatcher: the session is journaled and
// dispatched.
func (e *Engine) startDispatched(ctx context.Context, req Request) (string, error) {
	if req.ID == "" {
		req.ID = e.newID()
	}
	if err := e.checkIdle(ctx, req.Computer); err != nil {
		return "", err
	}
	s := e.newSess(req)
	s.state = stWaiting
	if _, taken := e.sessions.LoadOrStore(req.ID, s); taken {
		return "", fmt.Errorf("session: request: id %q is taken: %w", req.ID, ErrExists)
	}
	// Another process may start a session for the computer after checkIdle
	// asked: then the journal refuses this one, a *BusyError.
	if err := e.journalNew(ctx, s); err != nil {
		if errors.Is(err, ErrOutOfSequence) {
			return "", fmt.Errorf("session: request: id %q is taken: %w", req.ID, errors.Join(ErrExists, err))
		}
		return "", err
	}
	if err := e.cfg.Dispatcher.Dispatch(ctx, []Dispatched{e.dispatched(s)}); err != nil {
		return e.undispatched(ctx, s, fmt.Errorf("session: dispatch %q: %w", s.id, err))
	}
	return s.id, nil
}

// undispatched settles a session that Start journaled and could not
// dispatch (derr). When ctx ended (the caller gave up, or the process is
// stopping), it stays pending in the journal for Redispatch, as after a
// crash. Otherwise nobody will work it: it ends failed, or, when even that
// cannot be written, it stays pending for Redispatch. But a sweep
// (Redispatch) may have dispatched it meanwhile, from the journal: when it
// runs or ended here it is left to that, and Start returns its id. s.smu is
// held across the failed record, so that Work cannot claim the session
// between the check and the write (a Work in another process has its next
// write refused instead).
func (e *Engine) undispatched(ctx context.Context, s *sess, derr error) (string, error) {
	s.smu.Lock()
	defer s.smu.Unlock()
	if s.state == stRunning || s.finished() {
		return s.id, nil
	}
	if ctx.Err() != nil {
		e.end(s, stStopped, derr)
		return "", derr
	}
	cerr := e.commit(ctx, s, Record{Kind: RecordStatus, Status: Failed, Reason: ReasonInternalError,
		Message: e.latest.Load().secrets.str(derr.Error())}, nil)
	if cerr != nil {
		e.end(s, stStopped, cerr)
	} else {
		e.end(s, stEnded, nil)
	}
	return "", derr
}

// checkIdle returns a *BusyError when the computer has a session that has
// not ended, as this process or the journal knows.
func (e *Engine) checkIdle(ctx context.Context, computer string) error {
	if v, ok := e.active.Load(computer); ok {
		if err := e.settleStale(ctx, v.(*sess)); err != nil {
			return err
		}
	}
	if as, ok := e.journal.(ActiveSessioner); ok {
		id, found, err := as.ActiveSession(ctx, computer)
		if err != nil {
			return fmt.Errorf("session: active session of %q: %w", computer, err)
		}
		if found {
			return &BusyError{Computer: computer, Session: id}
		}
	}
	return nil
}

// settleStale retires o, a session this process knew as active, when the
// journal says it ended (in another process); otherwise it is a *BusyError.
func (e *Engine) settleStale(ctx context.Context, o *sess) error {
	busy := &BusyError{Computer: o.req.Computer, Session: o.id}
	o.smu.Lock()
	running := o.state == stRunning
	o.smu.Unlock()
	if running {
		return busy
	}
	rep, seq, err := e.load(ctx, o.id)
	switch {
	case errors.Is(err, immy.ErrNotFound):
		rep, seq = o.report(), -1
	case err != nil:
		return err
	case !rep.Status.Final():
		return busy
	}
	e.retire(o, rep, seq)
	return nil
}

// retire ends a session that is not running here with the report the
// journal holds (seq < 0 keeps its own).
func (e *Engine) retire(o *sess, rep Report, seq int) {
	o.smu.Lock()
	defer o.smu.Unlock()
	if o.state == stRunning {
		return
	}
	if o.finished() {
		e.active.CompareAndDelete(o.req.Computer, o)
		return
	}
	if seq >= 0 {
		o.refresh(rep, seq)
	}
	e.end(o, stEnded, nil)
}

// refresh replaces the session's state by the journal's; s.smu is held and
// the session does not run.
func (s *sess) refresh(rep Report, seq int) {
	s.wmu.Lock()
	s.mu.Lock()
	s.rep = rep
	s.mu.Unlock()
	s.jseq = seq
	s.wmu.Unlock()
	s.notified = rep.Stage >= StageExecution
}

// local returns this process's state of a session, made from the journal's
// report when it has none (or only one that ended or stopped).
func (e *Engine) local(id string, rep Report) *sess {
	for {
		v, loaded := e.sessions.Load(id)
		if loaded && !v.(*sess).finished() {
			return v.(*sess)
		}
		req := rep.Request.clone()
		req.ID = id
		ns := e.newSess(req)
		ns.state = stWaiting
		if loaded {
			if e.sessions.CompareAndSwap(id, v, ns) {
				return ns
			}
		} else if _, l := e.sessions.LoadOrStore(id, ns); !l {
			return ns
		}
	}
}

// Work runs one session in this process, from where its journal says it
// stands, until it ends or parks: pending connectivity (woken by Connected
// or SetPathwayOnline in any process, which dispatches it again) or
// postponed (Report.PostponedUntil: the caller works it again then; before
// then, Work returns at once). It is what a Dispatcher's worker calls. Work
// waits for one of Config.MaxRunning slots, and refuses (a *BusyError) a
// session whose computer has another session running here. An action that
// was running when an earlier process stopped is detected again before
// anything is re-run.
//
// The error is nil when the session ended or parked. A session whose journal
// write is refused with ErrOutOfSequence is worked by another process: Work
// stops at once, writes nothing more, and returns that error. When ctx ends,
// the session stops where it is (as after a crash, writing nothing more) and
// Work returns ctx's error: the next Work resumes it.
func (e *Engine) Work(ctx context.Context, id string) (Report, error) {
	if _, ok := e.journal.(SessionReplayer); !ok {
		return Report{}, fmt.Errorf("session: work: the journal cannot read one session (not a SessionReplayer): %w", immy.ErrInvalid)
	}
	if e.closed.Load() {
		return Report{}, fmt.Errorf("session: %w", ErrClosed)
	}
	select {
	case e.slots <- struct{}{}:
	case <-ctx.Done():
		return Report{}, fmt.Errorf("session: work %q: %w", id, ctx.Err())
	}
	defer func() { <-e.slots }()
	rep, seq, err := e.load(ctx, id)
	if err != nil {
		return Report{}, err
	}
	if rep.Status.Final() {
		if v, ok := e.sessions.Load(id); ok {
			e.retire(v.(*sess), rep, seq)
		}
		return rep, nil
	}
	if rep.Status == Postponed && rep.PostponedUntil.After(e.cfg.Now()) {
		return rep, nil
	}
	sctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	defer cancel(nil)
	s, err := e.claim(ctx, id, rep, seq, cancel)
	if err != nil {
		return rep, err
	}
	stop := context.AfterFunc(ctx, func() { cancel(errShutdown) })
	e.running.Add(1)
	out := e.drive(sctx, s)
	e.running.Add(-1)
	stop()
	cancel(nil)

	var werr error
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
			e.wakeSoon(s.id)
		}
	case outPostponed:
		s.state = stWaiting
		if s.cancelReq {
			e.cancelWaiting(s)
		}
	case outStopped:
		werr = out.err
		if ctx.Err() != nil && !e.closed.Load() && errors.Is(werr, ErrClosed) {
			werr = fmt.Errorf("session: work %q stopped: %w", id, ctx.Err())
		}
		e.end(s, stStopped, werr)
	}
	s.smu.Unlock()
	return s.report(), werr
}

// claim makes s, the session's state in this process, running with the
// journal's report.
func (e *Engine) claim(ctx context.Context, id string, rep Report, seq int, cancel context.CancelCauseFunc) (*sess, error) {
	for {
		s := e.local(id, rep)
		if v, busy := e.active.LoadOrStore(rep.Computer, s); busy && v.(*sess) != s {
			if err := e.settleStale(ctx, v.(*sess)); err != nil {
				return nil, err
			}
			continue
		}
		s.smu.Lock()
		if s.state == stRunning || s.state == stStopped && !s.finished() {
			// running, or between two states (a goroutine of this engine
			// records its cancel or its wake): its owner settles it first
			s.smu.Unlock()
			return nil, fmt.Errorf("session: %q already runs in this engine: %w", id, ErrBusy)
		}
		if s.finished() {
			s.smu.Unlock()
			continue
		}
		s.refresh(rep, seq)
		s.state, s.cancel, s.connected = stRunning, cancel, false
		if s.cancelReq {
			cancel(errCancel)
		}
		if e.closed.Load() {
			cancel(errShutdown)
		}
		s.smu.Unlock()
		return s, nil
	}
}

// idle returns this process's state of a session that does not run here,
// refreshed from the journal.
func (e *Engine) idle(id string, rep Report, seq int) (*sess, error) {
	for {
		s := e.local(id, rep)
		s.smu.Lock()
		if s.state == stRunning {
			s.smu.Unlock()
			return nil, fmt.Errorf("session: %q runs in this engine: %w", id, ErrBusy)
		}
		if s.finished() {
			s.smu.Unlock()
			continue
		}
		s.refresh(rep, seq)
		s.smu.Unlock()
		e.active.LoadOrStore(rep.Computer, s)
		return s, nil
	}
}

// reachableDispatched is reachable with a Dispatcher: a session running here
// will not wait; one pending connectivity, here or in the journal, is
// dispatched again.
func (e *Engine) reachableDispatched(computer string) {
	var ids []string
	if v, ok := e.active.Load(computer); ok {
		s := v.(*sess)
		s.smu.Lock()
		running := s.state == stRunning
		if running {
			s.connected = true // it may be about to wait: it will not
		}
		s.smu.Unlock()
		if running {
			return
		}
		ids = append(ids, s.id)
	}
	if e.closed.Load() {
		return
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		ctx := context.Background()
		if as, ok := e.journal.(ActiveSessioner); ok {
			if id, found, err := as.ActiveSession(ctx, computer); err == nil && found {
				ids = append(ids, id)
			}
		}
		slices.Sort(ids)
		for _, id := range slices.Compact(ids) {
			// A failure leaves the session pending connectivity or pending
			// in the journal: Redispatch or the next wake dispatches it.
			_ = e.wakeDispatched(ctx, id)
		}
	}()
}

// wakeSoon dispatches a parked session again, from another goroutine.
func (e *Engine) wakeSoon(id string) {
	if e.closed.Load() {
		return
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		_ = e.wakeDispatched(context.Background(), id)
	}()
}

// wakeDispatched records a session pending connectivity as pending and
// dispatches it. Another process that woke it first makes the record
// refused (ErrOutOfSequence): then that process dispatches it.
func (e *Engine) wakeDispatched(ctx context.Context, id string) error {
	rep, seq, err := e.load(ctx, id)
	if err != nil {
		return err
	}
	if rep.Status != PendingConnectivity {
		return nil
	}
	s, err := e.idle(id, rep, seq)
	if err != nil {
		return err
	}
	if err := e.commit(ctx, s, Record{Kind: RecordStatus, Status: Pending}, nil); err != nil {
		return err
	}
	return e.cfg.Dispatcher.Dispatch(ctx, []Dispatched{e.dispatched(s)})
}

// cancelDispatched is Cancel with a Dispatcher. A session running here is
// cancelled as without one; another is cancelled in the journal: its actions
// not ended are recorded cancelled, then the session. A process working it
// has its next write refused (ErrOutOfSequence) and stops at once.
func (e *Engine) cancelDispatched(ctx context.Context, id string) error {
	for attempt := 1; ; attempt++ {
		if v, ok := e.sessions.Load(id); ok {
			s := v.(*sess)
			s.smu.Lock()
			if s.state == stRunning {
				s.cancelReq = true
				s.cancel(errCancel)
				s.smu.Unlock()
				return nil
			}
			s.smu.Unlock()
		}
		rep, seq, err := e.load(ctx, id)
		if err != nil {
			return err
		}
		if rep.Status.Final() {
			return nil
		}
		s, err := e.idle(id, rep, seq)
		if err == nil {
			err = e.cancelRest(ctx, s)
			if err == nil {
				err = e.commit(ctx, s, Record{Kind: RecordStatus, Status: Cancelled, Reason: ReasonCancelled}, nil)
			}
			if err == nil {
				s.smu.Lock()
				if s.state != stRunning && !s.finished() {
					e.end(s, stEnded, nil)
				}
				s.smu.Unlock()
				return nil
			}
		}
		// another process wrote to it meanwhile, or it started here: again
		if attempt == 5 || !(errors.Is(err, ErrOutOfSequence) || errors.Is(err, ErrBusy)) {
			return fmt.Errorf("session: cancel %q: %w", id, err)
		}
	}
}

// Redispatch hands the Dispatcher every session of the journal that has not
// ended and does not wait for connectivity (those wait for Connected), and
// returns their ids, sorted. Call it when an engine process starts, and now
// and then: it dispatches what a process that died between journaling a
// session and dispatching it left behind. It relies on the Dispatcher to
// queue a session once.
func (e *Engine) Redispatch(ctx context.Context) ([]string, error) {
	if e.cfg.Dispatcher == nil {
		return nil, fmt.Errorf("session: redispatch: no Config.Dispatcher: %w", immy.ErrInvalid)
	}
	var reps []Report
	if ul, ok := e.journal.(UnfinishedLister); ok {
		ids, err := ul.Unfinished(ctx)
		if err != nil {
			return nil, fmt.Errorf("session: redispatch: %w", err)
		}
		for _, id := range ids {
			rep, _, err := e.load(ctx, id)
			if errors.Is(err, immy.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("session: redispatch: %w", err)
			}
			reps = append(reps, rep)
		}
	} else {
		byID := map[string]*Report{}
		err := e.journal.Replay(ctx, func(rec Record) error {
			r, ok := byID[rec.Session]
			if !ok {
				r = &Report{}
				byID[rec.Session] = r
			}
			r.apply(&rec)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("session: redispatch: %w", err)
		}
		for _, r := range byID {
			reps = append(reps, *r)
		}
	}
	var batch []Dispatched
	var ids []string
	for _, r := range reps {
		if r.ID == "" || r.Status.Final() || r.Status == PendingConnectivity {
			continue
		}
		batch = append(batch, Dispatched{ID: r.ID, Computer: r.Computer, Priority: priority(r.Request)})
		ids = append(ids, r.ID)
	}
	slices.SortFunc(batch, func(a, b Dispatched) int {
		if a.Priority != b.Priority {
			return a.Priority - b.Priority
		}
		return strings.Compare(a.ID, b.ID)
	})
	const chunk = 1000
	for len(batch) > 0 {
		n := min(chunk, len(batch))
		if err := e.cfg.Dispatcher.Dispatch(ctx, batch[:n]); err != nil {
			return nil, fmt.Errorf("session: redispatch: %w", err)
		}
		batch = batch[n:]
	}
	slices.Sort(ids)
	return ids, nil
}
