package session

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/immyoss/engine/immy"
)

// Notifier tells the logged-on user of a computer about a session, before
// execution and after it. Before may postpone or cancel the session. A
// Notifier that cannot reach anyone returns an error: the session goes on.
type Notifier interface {
	Before(ctx context.Context, n Notice) (Reply, error)
	After(ctx context.Context, n Notice) error
}

// Notice is what a user is told.
type Notice struct {
	Session  string
	Computer string
	// Actions are the actions that change the computer: before, those
	// planned; after, those that ran, with their results.
	Actions []Action
	// Status is the session's final status (After only).
	Status Status
	// Reboot is what became of a reboot (After only).
	Reboot RebootOutcome
}

// Answer is a user's answer before execution.
type Answer uint8

// Values of Answer.
const (
	Proceed  Answer = iota // go on now
	Postpone               // postpone until Reply.Until
	Decline                // cancel the session
)

// Reply is a user's answer to Notifier.Before.
type Reply struct {
	Answer Answer
	// Until is when a postponed session starts again (from inventory: the
	// computer may have changed); zero means DefaultPostpone from now.
	Until  time.Time
	Reason string // the user's words, kept as the session's reason
}

// DefaultPostpone is how long a postponement without a time lasts.
const DefaultPostpone = time.Hour

// beforeExecution tells the user before the first action runs, once per
// session, when the request asks for it and an action changes something.
func (x *runCtx) beforeExecution() error {
	n := x.e.cfg.Notifier
	if n == nil || !x.s.req.Notify || x.s.notified {
		return nil
	}
	var changes []Action
	for _, a := range x.actions() {
		if !a.Status.Done() && a.changes() {
			changes = append(changes, a)
		}
	}
	if len(changes) == 0 {
		return nil
	}
	x.s.notified = true
	reply, err := n.Before(x.ctx, Notice{Session: x.s.id, Computer: x.comp.ID, Actions: changes})
	if err != nil {
		if stop := x.checkStop(); stop != nil {
			return stop
		}
		x.e.log(x.s, -1, "the user could not be told before execution: "+err.Error())
		return nil
	}
	switch reply.Answer {
	case Postpone:
		until := reply.Until
		if until.IsZero() {
			until = x.e.cfg.Now().Add(DefaultPostpone)
		}
		reason := ReasonPostponed
		if reply.Reason != "" {
			reason += ": " + reply.Reason
		}
		return &postponeErr{until: until.UTC(), reason: reason}
	case Decline:
		return errCancel
	}
	return nil
}

// notifyAfter tells the user how the session went, when the request asks for it.
func (x *runCtx) notifyAfter(st Status) {
	n := x.e.cfg.Notifier
	if n == nil || !x.s.req.Notify {
		return
	}
	var ran []Action
	for _, a := range x.actions() {
		if a.Attempts > 0 {
			ran = append(ran, a)
		}
	}
	if len(ran) == 0 {
		return
	}
	rep := x.s.report()
	if err := n.After(x.ctx, Notice{Session: x.s.id, Computer: x.comp.ID, Actions: ran, Status: st, Reboot: rep.Reboot}); err != nil {
		x.e.log(x.s, -1, "the user could not be told after execution: "+err.Error())
	}
}

// Rebooter is an optional interface of script runners that can restart a
// computer. With prompt, the logged-on user is asked first and may decline
// (ErrRebootDeclined).
type Rebooter interface {
	Reboot(ctx context.Context, computer string, prompt bool) error
}

// ErrRebootDeclined: the user declined a prompted reboot.
var ErrRebootDeclined = errors.New("reboot declined")

// Reasons a reboot did not happen.
const (
	RebootSuppressed    = "suppressed"
	RebootBusinessHours = "business-hours"
	RebootDeclined      = "declined"
	RebootUnsupported   = "no-reboot-support"
	RebootFailed        = "reboot-failed"
)

// reboot does what the preference says about a reboot the actions need.
func (x *runCtx) reboot() error {
	acts := x.actions()
	var required, changed bool
	for _, a := range acts {
		required = required || a.RebootRequired
		changed = changed || (a.Attempts > 0 && a.changes() && a.Result == Success)
	}
	pref := x.s.req.Reboot
	if !required && !(pref == RebootForce && changed) {
		return nil
	}
	if x.s.report().Reboot.Rebooted {
		return nil // done before the session stopped
	}
	if err := x.setStage(StageReboot); err != nil {
		return err
	}
	out := RebootOutcome{Required: true}
	now := x.e.cfg.Now()
	switch {
	case pref == RebootSuppress:
		out.Pending, out.Reason = true, RebootSuppressed
	case pref != RebootForce && x.s.req.SuppressRebootsDuringBusinessHours && x.inBusinessHours(now):
		out.Pending, out.Reason = true, RebootBusinessHours
	default:
		var rb Rebooter
		for _, p := range x.e.runners(x.comp) {
			if r, ok := p.runner.(Rebooter); ok {
				rb = r
				break
			}
		}
		if rb == nil {
			out.Pending, out.Reason = true, RebootUnsupported
			break
		}
		err := rb.Reboot(x.ctx, x.comp.ID, pref == RebootPrompt)
		switch {
		case err == nil:
			out.Rebooted = true
		case x.ctx.Err() != nil:
			return context.Cause(x.ctx)
		case errors.Is(err, immy.ErrOffline):
			out.Pending, out.Reason = true, RebootFailed+": computer offline"
		case errors.Is(err, ErrRebootDeclined):
			out.Pending, out.Reason = true, RebootDeclined
		default:
			out.Pending, out.Reason = true, fmt.Sprintf("%s: %v", RebootFailed, err)
		}
	}
	return x.e.commit(x.ctx, x.s, Record{Kind: RecordReboot, Reboot: &out}, nil)
}

// inBusinessHours reports whether t is within the business hours of the
// computer's tenant, in the computer's time zone or else the tenant's.
func (x *runCtx) inBusinessHours(t time.Time) bool {
	tenant := x.e.tenants[x.comp.Tenant]
	if tenant == nil || tenant.BusinessHours == nil {
		return false
	}
	zone := x.comp.TimeZone
	if zone == "" {
		zone = tenant.TimeZone
	}
	loc := time.UTC
	if zone != "" {
		l, err := time.LoadLocation(zone)
		if err != nil {
			x.e.log(x.s, -1, fmt.Sprintf("time zone %q: %v; business hours read in UTC", zone, err))
		} else {
			loc = l
		}
	}
	in, err := InBusinessHours(tenant.BusinessHours, t.In(loc))
	if err != nil {
		x.e.log(x.s, -1, err.Error())
		return false
	}
	return in
}

// InBusinessHours reports whether t, in the time zone the hours are kept in,
// falls within them. Hours are "HH:MM" (24-hour); an end at or before the
// start runs past midnight, and the window belongs to the day it starts.
// Weekdays empty means Monday to Friday.
func InBusinessHours(bh *immy.BusinessHours, t time.Time) (bool, error) {
	start, err := clock(bh.Start)
	if err != nil {
		return false, fmt.Errorf("session: business hours start: %w", err)
	}
	end, err := clock(bh.End)
	if err != nil {
		return false, fmt.Errorf("session: business hours end: %w", err)
	}
	days := bh.Weekdays
	if len(days) == 0 {
		days = []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}
	}
	isDay := func(d time.Weekday) bool {
		for _, w := range days {
			if w == d {
				return true
			}
		}
		return false
	}
	m := t.Hour()*60 + t.Minute()
	if start < end {
		return isDay(t.Weekday()) && m >= start && m < end, nil
	}
	// past midnight: the evening of a business day, or the morning after one
	if m >= start && isDay(t.Weekday()) {
		return true, nil
	}
	return m < end && isDay(t.AddDate(0, 0, -1).Weekday()), nil
}

func clock(s string) (int, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, fmt.Errorf("%q is not HH:MM: %w", s, immy.ErrInvalid)
	}
	return t.Hour()*60 + t.Minute(), nil
}
