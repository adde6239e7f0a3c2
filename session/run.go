package session

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/resolver"
)

// runCtx is one run of a session's goroutine: from where the session stands
// to its end, or to a stop (offline, postponed, cancelled, a journal failure,
// the engine closing).
type runCtx struct {
	e    *Engine
	s    *sess
	ctx  context.Context
	comp *immy.Computer
	inv  immy.Inventory
	rs   resolver.Session
	// the inventory read last in this run, and when (living.go)
	learnt immy.Inventory
	invAt  time.Time
}

type outHow uint8

const (
	outEnded outHow = iota
	outWaitConnectivity
	outPostponed
	outStopped
)

type outcome struct {
	how   outHow
	until time.Time
	err   error
}

// postponeErr stops a session until a time. A user's postponement drops
// the plan (the session starts over then); keep waits with it (the session
// goes on from its plan then).
type postponeErr struct {
	until  time.Time
	reason string
	keep   bool
}

func (p *postponeErr) Error() string {
	return "session: postponed until " + p.until.Format(time.RFC3339)
}

func (e *Engine) drive(ctx context.Context, s *sess) outcome {
	v, err := e.viewOf(s) // living.go
	if err != nil {
		x := &runCtx{e: e, s: s, ctx: ctx}
		return x.conclude(&stageFailure{reason: ReasonResolutionFailed, err: err})
	}
	e = v
	if t, ok := tenantOf(s.req.Computer); ok { // a tenant session: tenant.go
		x := &runCtx{e: e, s: s, ctx: ctx}
		return x.conclude(x.tenantMain(t))
	}
	x := &runCtx{e: e, s: s, ctx: ctx, comp: e.computer(s.req.Computer)}
	if x.comp == nil {
		// deleted from the fleet since the session was started
		return x.conclude(&stageFailure{reason: ReasonResolutionFailed,
			err: fmt.Errorf("computer %q is not in the fleet (revision %d): %w", s.req.Computer, e.rev, immy.ErrNotFound)})
	}
	switch s.req.Kind {
	case OnboardingRun:
		x.rs = resolver.Session{Kind: resolver.OnboardingSession}
	case SingleItem:
		x.rs = resolver.Session{Kind: resolver.AdHocSession, Named: append([]string{s.req.Item}, s.req.Named...)}
	}
	return x.conclude(x.main())
}

// conclude records how a run ended.
func (x *runCtx) conclude(err error) outcome {
	x.learned() // what the run read of the computer, before the session ends or waits (living.go)
	var je *JournalError
	var pe *postponeErr
	switch {
	case err == nil:
		return outcome{how: outEnded}
	case errors.As(err, &je):
		return outcome{how: outStopped, err: err}
	case errors.Is(err, errShutdown):
		return outcome{how: outStopped, err: fmt.Errorf("session: %w", ErrClosed)}
	case errors.Is(err, errCancel):
		if err := x.e.cancelRest(x.ctx, x.s); err != nil {
			return outcome{how: outStopped, err: err}
		}
		if err := x.finish(Cancelled, ReasonCancelled); err != nil {
			return outcome{how: outStopped, err: err}
		}
		return outcome{how: outEnded}
	case errors.As(err, &pe):
		var err error
		if !pe.keep {
			err = x.e.commit(x.ctx, x.s, Record{Kind: RecordReset}, func() { x.s.notified = false })
		}
		if err == nil {
			err = x.e.commit(x.ctx, x.s, Record{Kind: RecordStatus, Status: Postponed, Reason: pe.reason, Until: pe.until}, nil)
		}
		if err != nil {
			return outcome{how: outStopped, err: err}
		}
		return outcome{how: outPostponed, until: pe.until}
	case errors.Is(err, errOffline):
		if x.s.req.Offline == SkipOffline {
			if err := x.offlineRest(); err != nil {
				return outcome{how: outStopped, err: err}
			}
			if err := x.setStatusMessage(Failed, ReasonComputerOffline, offlineMessage(err)); err != nil {
				return outcome{how: outStopped, err: err}
			}
			return outcome{how: outEnded}
		}
		if err := x.setStatusMessage(PendingConnectivity, ReasonComputerOffline, offlineMessage(err)); err != nil {
			return outcome{how: outStopped, err: err}
		}
		return outcome{how: outWaitConnectivity}
	}
	// The session cannot go on: it fails with the reason of the stage that
	// failed, and the error, redacted, as its message.
	reason := ReasonInternalError
	var fe *stageFailure
	if errors.As(err, &fe) {
		reason = fe.reason
	}
	msg := x.e.secrets.str(err.Error())
	if err := x.e.commit(x.ctx, x.s, Record{Kind: RecordStatus, Status: Failed, Reason: reason, Message: msg}, nil); err != nil {
		return outcome{how: outStopped, err: err}
	}
	return outcome{how: outEnded}
}

// stageFailure is an error that keeps a stage from going on: the session
// ends failed with its reason, and the error as its message.
type stageFailure struct {
	reason string
	err    error
}

func (f *stageFailure) Error() string { return f.err.Error() }
func (f *stageFailure) Unwrap() error { return f.err }

func (x *runCtx) setStatus(st Status, reason string) error {
	return x.e.commit(x.ctx, x.s, Record{Kind: RecordStatus, Status: st, Reason: reason}, nil)
}

func (x *runCtx) setStage(st Stage) error {
	return x.e.commit(x.ctx, x.s, Record{Kind: RecordStage, Stage: st}, nil)
}

func (x *runCtx) finish(st Status, reason string) error {
	x.learned()
	return x.setStatus(st, reason)
}

func (x *runCtx) action(i int) Action {
	x.s.mu.Lock()
	defer x.s.mu.Unlock()
	return x.s.rep.Actions[i]
}

func (x *runCtx) count() int {
	x.s.mu.Lock()
	defer x.s.mu.Unlock()
	return len(x.s.rep.Actions)
}

func (x *runCtx) stage() Stage {
	x.s.mu.Lock()
	defer x.s.mu.Unlock()
	return x.s.rep.Stage
}

func (x *runCtx) actions() []Action {
	x.s.mu.Lock()
	defer x.s.mu.Unlock()
	return append([]Action(nil), x.s.rep.Actions...)
}

func (x *runCtx) setAction(i int, a Action) error {
	return x.e.commit(x.ctx, x.s, Record{Kind: RecordAction, Index: i, Action: &a}, nil)
}

// checkStop returns the stop error when the session's context ended.
func (x *runCtx) checkStop() error {
	if x.ctx.Err() != nil {
		return context.Cause(x.ctx)
	}
	return nil
}

// main runs the session's stages from where it stands.
func (x *runCtx) main() error {
	if err := x.checkStop(); err != nil {
		return err
	}
	if err := x.setStatus(Running, ""); err != nil {
		return err
	}
	rep := x.s.report()
	if !rep.mainPlanned {
		if err := x.setStage(StageInventory); err != nil {
			return err
		}
		inv, err := x.readInventory()
		if err != nil {
			return inventoryErr(err)
		}
		x.inv = inv
		if x.comp.ExcludedFromMaintenance {
			return x.finish(Passed, ReasonExcluded)
		}
		if x.s.req.Kind == RerunAction {
			if err := x.planRerun(); err != nil {
				return err
			}
		} else {
			done, err := x.resolveAndDetect(rep)
			if err != nil || done {
				return err
			}
		}
	}
	if x.s.req.Kind == DetectionOnly {
		return x.finish(Passed, ReasonDetectionOnly)
	}
	if err := x.execute(false); err != nil {
		return err
	}
	if err := x.reboot(); err != nil {
		return err
	}
	acts := x.actions()
	st, reason := finalStatus(acts)
	x.notifyAfter(st)
	return x.finish(st, reason)
}

func inventoryErr(err error) error {
	if isStop(err) {
		return err
	}
	return &stageFailure{reason: ReasonInventoryFailed, err: fmt.Errorf("inventory: %w", err)}
}

// resolveAndDetect runs the resolution, onboarding and detection stages and
// records the plan. done is true when the session ended (resolution only).
func (x *runCtx) resolveAndDetect(rep Report) (done bool, err error) {
	if err := x.setStage(StageResolution); err != nil {
		return false, err
	}
	decisions, problems, err := x.e.planner.Decide(x.ctx, x.comp.ID, x.rs)
	if err != nil {
		if stop := x.checkStop(); stop != nil {
			return false, stop
		}
		return false, &stageFailure{reason: ReasonResolutionFailed, err: fmt.Errorf("resolution: %w", err)}
	}
	if err := x.e.commit(x.ctx, x.s, Record{Kind: RecordDecisions, Decisions: decisions, Problems: problems, Revision: x.e.rev}, nil); err != nil {
		return false, err
	}
	if x.s.req.Kind == ResolutionOnly {
		return true, x.finish(Passed, "")
	}
	if x.s.req.Kind == OnboardingRun {
		var onboarding, rest []resolver.Decision
		for _, d := range decisions {
			if t := x.e.tasks[d.Item]; t != nil && t.OnboardingOnly {
				onboarding = append(onboarding, d)
			} else {
				rest = append(rest, d)
			}
		}
		decisions = rest
		if !rep.onboardingPlanned {
			if err := x.setStage(StageOnboarding); err != nil {
				return false, err
			}
			det, err := x.detect(onboarding)
			if err != nil {
				return false, err
			}
			acts, problems := x.plan(onboarding, det, true)
			if err := x.recordPlan(acts, problems, segOnboarding); err != nil {
				return false, err
			}
		}
		if x.pendingWork(true) {
			if err := x.execute(true); err != nil {
				return false, err
			}
			// the onboarding tasks may have changed the computer
			inv, err := x.readInventory()
			if err != nil {
				return false, inventoryErr(err)
			}
			x.inv = inv
		}
	}
	if err := x.setStage(StageDetection); err != nil {
		return false, err
	}
	det, err := x.detect(decisions)
	if err != nil {
		return false, err
	}
	acts, problems := x.plan(decisions, det, false)
	return false, x.recordPlan(acts, problems, segMain)
}

// pendingWork reports whether actions of a segment are left to do.
func (x *runCtx) pendingWork(onboarding bool) bool {
	for _, a := range x.actions() {
		if a.Onboarding == onboarding && !a.Status.Done() {
			return true
		}
	}
	return false
}

func (x *runCtx) recordPlan(acts []Action, problems []resolver.Problem, segment string) error {
	return x.e.commit(x.ctx, x.s, Record{Kind: RecordPlan, Actions: acts, Problems: problems, Segment: segment, Revision: x.e.rev}, nil)
}

// execute runs the actions of one segment (the onboarding stage's, or the
// others) that have not ended, in order.
func (x *runCtx) execute(onboarding bool) error {
	if err := x.executionTime(onboarding); err != nil {
		return err
	}
	if err := x.beforeExecution(); err != nil {
		return err
	}
	if !onboarding {
		if err := x.rebootFirst(); err != nil { // a reboot pending before changes: rebootfirst.go
			return err
		}
	}
	// the onboarding stage runs its own actions
	if !onboarding && x.stage() != StageExecution {
		if err := x.setStage(StageExecution); err != nil {
			return err
		}
	}
	n := x.count()
	retries := len(x.comp.Pathways)
	for i := 0; i < n; i++ {
		a := x.action(i)
		if a.Onboarding != onboarding || a.Status.Done() {
			continue
		}
		if err := x.checkStop(); err != nil {
			return err
		}
		err := x.executeOne(i)
		if errors.Is(err, errOffline) && retries > 0 && x.anotherPathway() {
			// another pathway may reach the computer: the action is
			// detected again there before anything is re-run
			retries--
			i--
			continue
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// executionTime stops a session that reaches execution before its
// Request.ExecuteAt, with actions of the segment left to run: it waits,
// postponed with its plan kept, and goes on from the plan then.
func (x *runCtx) executionTime(onboarding bool) error {
	at := x.s.req.ExecuteAt
	if at.IsZero() || !at.After(x.e.cfg.Now()) || !x.pendingWork(onboarding) {
		return nil
	}
	return &postponeErr{until: at.UTC(), reason: ReasonExecutionTime, keep: true}
}

// anotherPathway reports whether a pathway of the computer is still believed online.
func (x *runCtx) anotherPathway() bool {
	for _, p := range x.e.runners(x.comp) {
		if p.online && len(x.comp.Pathways) > 0 {
			return true
		}
	}
	return false
}

// finalStatus is the status of a session whose actions ended: passed when
// none failed, partially passed when some succeeded and some failed, failed
// when none succeeded.
func finalStatus(acts []Action) (Status, string) {
	var ok, bad int
	var failed []string
	for _, a := range acts {
		switch a.Result {
		case Success:
			ok++
		case ResultFailed, Indeterminable, ResultCancelled:
			bad++
			failed = append(failed, a.Item())
		}
	}
	switch {
	case bad == 0:
		return Passed, ""
	case ok > 0:
		return PartiallyPassed, fmt.Sprintf("%d of %d actions failed: %s", bad, ok+bad, strings.Join(failed, ", "))
	}
	return Failed, fmt.Sprintf("%d of %d actions failed: %s", bad, ok+bad, strings.Join(failed, ", "))
}

// cancelRest ends every action of s that has not ended as cancelled: a
// running one complete, the others skipped.
func (e *Engine) cancelRest(ctx context.Context, s *sess) error {
	rep := s.report()
	for i, a := range rep.Actions {
		if a.Status.Done() {
			continue
		}
		if a.Status == Performing || a.Status == DeterminingResult {
			a.Status = Complete
		} else {
			a.Status = Skipped
		}
		a.Result, a.Reason = ResultCancelled, ReasonCancelled
		if err := e.commit(ctx, s, Record{Kind: RecordAction, Index: i, Action: &a}, nil); err != nil {
			return err
		}
	}
	return nil
}

// offlineRest ends the actions of a session skipped because its computer
// is offline: a running one indeterminable (what it did cannot be known).
func (x *runCtx) offlineRest() error {
	for i, a := range x.actions() {
		if a.Status.Done() {
			continue
		}
		if a.Status == Performing || a.Status == DeterminingResult {
			a.Status, a.Result = Complete, Indeterminable
			a.Message = "the computer went offline while the action ran"
		} else {
			a.Status, a.Result = Skipped, NoResult
		}
		a.Reason = ReasonComputerOffline
		if err := x.setAction(i, a); err != nil {
			return err
		}
	}
	return nil
}
