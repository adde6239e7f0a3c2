package journaltest

import (
	"fmt"
	"time"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/resolver"
	"github.com/immyoss/engine/session"
)

// base is the time of the first record of the kit's sessions: not UTC and
// with nanoseconds, so that a journal that rounds or drops the zone's offset
// is caught (records compare by instant).
var base = time.Date(2026, time.March, 29, 1, 59, 58, 123456789, time.FixedZone("CET", 3600))

// Every returns one record of every RecordKind for session id, Seq 1, 2, ...,
// with every field of its kind set: a created request with every option, a
// status with a message holding non-ASCII text, a NUL and a would-be
// password marker, decisions with candidates, a plan of two actions, an
// action update, a reset, a reboot outcome, and the final status. It is what
// the round-trip check appends; journal implementations may use it in their
// own tests.
func Every(id string) []session.Record {
	planned := resolver.Action{
		Item: "chrome", Deployment: "d-chrome", Action: resolver.ActionUpdate,
		Reason: "newer-version-available", Detected: "118.0.5993.70", Version: "119.0.6045.105",
		RequiredBy: "office",
	}
	act := session.Action{
		Planned: planned, ItemKind: immy.ItemSoftware, Onboarding: true,
		Status: session.Complete, Result: session.Success, Reason: session.ReasonVerified,
		Message: "installed «Chrome» — ok", DecidedAfter: "vcredist", After: "119.0.6045.105",
		Output: "line 1\nline 2\twith tab", Value: "42", Attempts: 2, RebootRequired: true,
	}
	task := session.Action{
		Planned:  resolver.Action{Item: "bitlocker", Action: resolver.ActionTaskEnforce, Reason: "enforce"},
		ItemKind: immy.ItemTask, Status: session.NotStarted,
	}
	t := func(i int) time.Time { return base.Add(time.Duration(i) * 1500 * time.Millisecond) }
	recs := []session.Record{
		{Kind: session.RecordCreated, Request: &session.Request{
			ID: id, Computer: "pc-" + id, Kind: session.SingleItem, Source: session.AdHoc,
			Item: "chrome", Named: []string{"d-adhoc", "office"},
			Rerun:   &planned,
			Offline: session.SkipOffline, Reboot: session.RebootPrompt,
			SuppressRebootsDuringBusinessHours: true, Notify: true,
		}},
		{Kind: session.RecordStatus, Status: session.Postponed, Reason: session.ReasonPostponed,
			Message: "the user said «später» \x00 [redacted]", Until: base.Add(time.Hour).UTC()},
		{Kind: session.RecordStage, Stage: session.StageResolution},
		{Kind: session.RecordDecisions, Revision: 41, Decisions: []resolver.Decision{
			{Item: "chrome", Winner: "d-chrome", Desired: "latest", Candidates: []resolver.Lost{
				{Deployment: "d-old", LostOn: resolver.RulePriority},
				{Deployment: "d-tenant", LostOn: resolver.RuleScope},
			}},
			{Item: "office", Winner: "d-office", Desired: "16.0"},
		}},
		{Kind: session.RecordPlan, Revision: 42, Segment: "main", Actions: []session.Action{act, task}},
		{Kind: session.RecordAction, Index: 1, Action: &act},
		{Kind: session.RecordReboot, Reboot: &session.RebootOutcome{Required: true, Pending: true, Reason: "business-hours"}},
		{Kind: session.RecordReset},
		{Kind: session.RecordStage, Stage: session.StageExecution},
		{Kind: session.RecordStatus, Status: session.PartiallyPassed, Reason: "1 of 2 actions failed"},
	}
	for i := range recs {
		recs[i].Session, recs[i].Seq, recs[i].Time = id, i+1, t(i)
	}
	return recs
}

// Simple returns n small records of session id, Seq 1..n: a created record,
// then action updates; the load of the concurrency checks.
func Simple(id string, n int) []session.Record {
	recs := make([]session.Record, n)
	for i := range recs {
		r := session.Record{Session: id, Seq: i + 1, Time: base.Add(time.Duration(i) * time.Millisecond)}
		if i == 0 {
			r.Kind = session.RecordCreated
			r.Request = &session.Request{ID: id, Computer: "pc-" + id}
		} else {
			r.Kind = session.RecordAction
			r.Index = i - 1
			r.Action = &session.Action{
				Planned: resolver.Action{Item: fmt.Sprintf("item-%d", i), Action: resolver.ActionInstall},
				Status:  session.Performing,
			}
		}
		recs[i] = r
	}
	return recs
}
