package session

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/inventory"
)

// A reboot pending before changes
//
// Before its first change, a session asks whether the computer has a reboot
// pending (Windows: Component Based Servicing's RebootPending, Windows
// Update's RebootRequired, the Session Manager's PendingFileRenameOperations;
// Linux: /var/run/reboot-required): through a runner that is a
// RebootStateReader, else with the reboot script of package immy/inventory
// run through the runner when the computer's OS tells its platform (a
// computer of unknown OS is not asked). Installers often fail, or finish
// another product's half-done update, on a computer that waits for a
// reboot. What the session does then is its RebootPreference's:
//
//	normal    reboots first; goes on without rebooting during business
//	          hours when the request suppresses reboots then
//	prompt    asks the logged-on user to reboot first (Rebooter with
//	          prompt); goes on when declined, or during business hours as
//	          normal does
//	force     reboots first, business hours or not
//	suppress  goes on, the reboot left pending
//
// Without a Rebooter among the computer's runners, or when the reboot fails,
// it goes on too; each case is a log event saying so. Nothing is skipped for
// a pending reboot. A reboot before changes is not the session's
// RebootOutcome (which is about the reboot its actions ask for).
//
// After the reboot the session waits, in stage reboot (journaled), for the
// computer to come back: asked every Config.RebootPoll, it is back when it
// answers after having been unreachable, or answers from another boot. A
// computer not back within Config.RebootTimeout fails the session with
// reason reboot-timeout, its actions skipped. A session resumed in that
// stage (the engine stopped meanwhile) goes on as soon as the computer
// answers. Then the plan is executed as recorded.

// Defaults of Config.RebootTimeout and Config.RebootPoll.
const (
	DefaultRebootTimeout = 30 * time.Minute
	DefaultRebootPoll    = 15 * time.Second
)

// ReasonRebootTimeout: a computer rebooted before changes did not come back
// within Config.RebootTimeout.
const ReasonRebootTimeout = "reboot-timeout"

// RebootStateReader is an optional interface of script runners that tell
// natively whether a computer has a reboot pending, and its boot.
type RebootStateReader interface {
	RebootState(ctx context.Context, computer string) (inventory.RebootState, error)
}

// rebootFirst reboots a computer with a reboot pending before the session's
// first change, as the preference says, and waits for it to come back.
func (x *runCtx) rebootFirst() error {
	if _, ok := tenantOf(x.s.req.Computer); ok {
		return nil // a tenant is no computer
	}
	var changes bool
	for _, a := range x.actions() {
		if a.Onboarding {
			continue
		}
		if a.Attempts > 0 {
			return nil // changes began: too late to reboot first
		}
		changes = changes || (!a.Status.Done() && a.changes())
	}
	if !changes {
		return nil
	}
	if x.stage() == StageReboot {
		// resumed while the computer came back from a reboot before changes
		return x.waitRebooted(inventory.RebootState{}, true)
	}
	st, known, err := x.rebootState()
	if err != nil {
		return err
	}
	if !known || !st.Pending {
		return nil
	}
	why := strings.Join(st.Reasons, ", ")
	pref := x.s.req.Reboot
	switch {
	case pref == RebootSuppress:
		x.e.log(x.s, -1, "a reboot is pending ("+why+"): going on without it, as the reboot preference suppress says")
		return nil
	case pref != RebootForce && x.s.req.SuppressRebootsDuringBusinessHours && x.inBusinessHours(x.e.cfg.Now()):
		x.e.log(x.s, -1, "a reboot is pending ("+why+"): going on without it during business hours")
		return nil
	}
	var rb Rebooter
	for _, p := range x.e.runners(x.comp) {
		if r, ok := p.runner.(Rebooter); ok {
			rb = r
			break
		}
	}
	if rb == nil {
		x.e.log(x.s, -1, "a reboot is pending ("+why+"): going on without it, no runner of the computer can reboot it")
		return nil
	}
	if err := x.setStage(StageReboot); err != nil {
		return err
	}
	x.e.log(x.s, -1, "a reboot is pending ("+why+"): rebooting before any change")
	err = rb.Reboot(x.ctx, x.comp.ID, pref == RebootPrompt)
	switch {
	case err == nil:
	case x.ctx.Err() != nil:
		return context.Cause(x.ctx)
	case errors.Is(err, ErrRebootDeclined):
		x.e.log(x.s, -1, "the user declined the reboot: going on without it")
		return nil
	case errors.Is(err, immy.ErrOffline):
		return x.offline(&pathwayError{pathway: "reboot", err: err})
	default:
		x.e.log(x.s, -1, "the reboot failed, going on without it: "+x.e.secrets.str(err.Error()))
		return nil
	}
	return x.waitRebooted(st, false)
}

// rebootState asks whether the computer has a reboot pending, through its
// first runner that answers. known is false when no runner can tell (the
// computer's platform is unknown, or the check failed: logged). err is a
// stop error only (offline, the session's context ended).
func (x *runCtx) rebootState() (st inventory.RebootState, known bool, err error) {
	st, err = x.askRebootState()
	switch {
	case err == nil:
		return st, true, nil
	case errors.Is(err, errors.ErrUnsupported):
		return st, false, nil
	case x.ctx.Err() != nil:
		return st, false, context.Cause(x.ctx)
	case errors.Is(err, immy.ErrOffline):
		return st, false, x.offline(err)
	}
	x.e.log(x.s, -1, "whether a reboot is pending could not be read, going on: "+x.e.secrets.str(err.Error()))
	return st, false, nil
}

// askRebootState asks the computer's first online runner; errors wrap
// errors.ErrUnsupported when no runner can tell.
func (x *runCtx) askRebootState() (inventory.RebootState, error) {
	var last error = immy.ErrOffline
	plat, platOK := inventory.PlatformOf(x.comp.OS)
	for _, p := range x.e.runners(x.comp) {
		var st inventory.RebootState
		var err error
		if r, ok := p.runner.(RebootStateReader); ok {
			st, err = r.RebootState(x.ctx, x.comp.ID)
		} else if platOK {
			st, err = inventory.CollectRebootState(x.ctx, p.runner, x.comp.ID, plat)
		} else {
			return st, fmt.Errorf("session: no way to ask whether a reboot is pending: %w", errors.ErrUnsupported)
		}
		if err == nil {
			return st, nil
		}
		last = x.pathwayErr(p, err)
		if !errors.Is(err, immy.ErrOffline) || x.ctx.Err() != nil {
			break
		}
	}
	return inventory.RebootState{}, last
}

// waitRebooted waits for a rebooted computer to come back: to answer after
// having been unreachable, or to answer from another boot than before's (or
// at all, when resumed). It fails the session when Config.RebootTimeout
// passes first.
func (x *runCtx) waitRebooted(before inventory.RebootState, resumed bool) error {
	deadline := time.Now().Add(x.e.cfg.RebootTimeout)
	down := false
	for {
		st, err := x.askRebootState()
		switch {
		case x.ctx.Err() != nil:
			return context.Cause(x.ctx)
		case err == nil && (resumed || down || (before.Boot != "" && st.Boot != before.Boot)):
			x.e.log(x.s, -1, "the computer is back from its reboot")
			return nil
		case err != nil && errors.Is(err, immy.ErrOffline):
			down = true
		}
		if !time.Now().Before(deadline) {
			return x.rebootTimedOut()
		}
		t := time.NewTimer(min(x.e.cfg.RebootPoll, time.Until(deadline)))
		select {
		case <-x.ctx.Done():
			t.Stop()
			return context.Cause(x.ctx)
		case <-t.C:
		}
	}
}

// rebootTimedOut ends the session failed: its actions skipped.
func (x *runCtx) rebootTimedOut() error {
	for i, a := range x.actions() {
		if a.Status.Done() {
			continue
		}
		a.Status, a.Result, a.Reason = Skipped, NoResult, ReasonRebootTimeout
		if err := x.setAction(i, a); err != nil {
			return err
		}
	}
	return &stageFailure{reason: ReasonRebootTimeout, err: fmt.Errorf("session: the computer did not come back within %s of its reboot before changes", x.e.cfg.RebootTimeout)}
}
