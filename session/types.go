package session

import (
	"slices"
	"time"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/resolver"
)

// Request asks for one session on one computer.
type Request struct {
	// ID names the session; "" lets the engine number it.
	ID       string `json:"id,omitempty"`
	Computer string `json:"computer"`
	Kind     Kind   `json:"kind"`
	Source   Source `json:"source"`
	// Item is the item of a SingleItem session.
	Item string `json:"item,omitempty"`
	// Named are further item or deployment ids a SingleItem session runs
	// (naming an ad hoc deployment lets it take part).
	Named []string `json:"named,omitempty"`
	// Rerun is the action a RerunAction session runs again, as a previous
	// session planned it (Action.Planned).
	Rerun *resolver.Action `json:"rerun,omitempty"`
	// Offline is what to do when the computer is offline.
	Offline OfflinePolicy `json:"offline"`
	// Reboot is the reboot preference.
	Reboot RebootPreference `json:"reboot"`
	// SuppressRebootsDuringBusinessHours turns normal and prompt into
	// suppress during the business hours of the computer's tenant.
	SuppressRebootsDuringBusinessHours bool `json:"suppress_reboots_during_business_hours,omitempty"`
	// Notify tells the logged-on user before and after execution, through
	// Config.Notifier, who may postpone or cancel.
	Notify bool `json:"notify,omitempty"`
	// ExecuteAt, when set, is when execution may start: a session that
	// reaches execution earlier (a scheduled session, detected at its
	// detection time) records its plan, then waits, postponed with reason
	// waiting-for-execution-time until ExecuteAt, and goes on from its plan
	// then, without detecting again. Sessions that execute nothing ignore it.
	ExecuteAt time.Time `json:"execute_at,omitzero"`
}

func (r Request) clone() Request {
	r.Named = slices.Clone(r.Named)
	if r.Rerun != nil {
		a := *r.Rerun
		r.Rerun = &a
	}
	return r
}

// Action is one action of a session: what the plan says, and how it went.
type Action struct {
	// Planned is the action as the resolver planned it: item, deployment,
	// action, the reason it was planned, the version detected and the version
	// it brings, and the item it was planned for.
	Planned resolver.Action `json:"planned"`
	// ItemKind tells software from task.
	ItemKind immy.ItemKind `json:"item_kind"`
	// Onboarding marks the actions of the onboarding stage.
	Onboarding bool         `json:"onboarding,omitempty"`
	Status     ActionStatus `json:"status"`
	Result     Result       `json:"result"`
	// Reason says why the action ended as it did ("verified",
	// "script-failed", "prerequisite-failed:vcredist", ...); before it ends,
	// why it waits.
	Reason string `json:"reason"`
	// Message is a sentence for a person, with the details; passwords are
	// redacted.
	Message string `json:"message,omitempty"`
	// DecidedAfter names the item whose action must run before this one can
	// be decided (a configuration task after its software changes): in a
	// detection-only session the action is reported as decided after it.
	DecidedAfter string `json:"decided_after,omitempty"`
	// After is the version detected when the action was verified.
	After string `json:"after,omitempty"`
	// Output is the output kept: a monitor's get, or the last script's when
	// it failed; redacted and capped.
	Output string `json:"output,omitempty"`
	// Value is the last value of a monitor's get script.
	Value string `json:"value,omitempty"`
	// Attempts counts the times its scripts were started.
	Attempts int `json:"attempts,omitempty"`
	// RebootRequired: a script asked for a reboot (exit code 3010 or 1641).
	RebootRequired bool `json:"reboot_required,omitempty"`
}

// Item returns the action's item id.
func (a *Action) Item() string { return a.Planned.Item }

// changes reports whether the action's kind changes the computer.
func (a *Action) changes() bool {
	switch a.Planned.Action {
	case resolver.ActionNone, resolver.ActionFail, resolver.ActionTaskAudit, resolver.ActionTaskMonitor:
		return false
	}
	return true
}

// Report is a session as it stands: its request, status, decisions and
// actions.
type Report struct {
	ID       string  `json:"id"`
	Computer string  `json:"computer"`
	Request  Request `json:"request"`
	Status   Status  `json:"status"`
	// Reason says why the session stands where it does: computer-offline,
	// postponed, cancelled, "2 of 5 actions failed", or, for a session that
	// could not run, inventory-failed, resolution-failed or internal-error.
	Reason string `json:"reason,omitempty"`
	// Message is a sentence for a person with the details of the reason: the
	// error that kept the session from running. Passwords are redacted.
	Message string `json:"message,omitempty"`
	Stage   Stage  `json:"stage"`
	// Decisions are the winning deployments of the resolution stage.
	Decisions []resolver.Decision `json:"decisions,omitempty"`
	// Problems held or refused part of the plan, and the rest went on: an
	// item held because a deployment's filter failed on the computer (no
	// deployment of it wins), an item private to another tenant refused as
	// a prerequisite or configuration task. Each is also an EventProblem.
	Problems []resolver.Problem `json:"problems,omitempty"`
	// Actions in execution order: the onboarding stage's, then the others.
	Actions        []Action  `json:"actions"`
	Created        time.Time `json:"created"`
	Ended          time.Time `json:"ended,omitzero"`
	PostponedUntil time.Time `json:"postponed_until,omitzero"`
	// Reboot is what became of a reboot the actions asked for.
	Reboot RebootOutcome `json:"reboot,omitzero"`
	// Revision is the revision of the Config.Fleet the session planned
	// from; 0 without a FleetSource.
	Revision int64 `json:"revision,omitempty"`

	onboardingPlanned, mainPlanned bool // the plans recorded so far
}

// RebootOutcome is what a session did about reboots.
type RebootOutcome struct {
	Required bool   `json:"required,omitempty"` // an action asked for one, or the preference forces one
	Rebooted bool   `json:"rebooted,omitempty"`
	Pending  bool   `json:"pending,omitempty"` // required and not done
	Reason   string `json:"reason,omitempty"`  // why not: suppressed, business-hours, declined, no-reboot-support
}

func (r *Report) clone() Report {
	c := *r
	c.Request = r.Request.clone()
	c.Decisions = slices.Clone(r.Decisions)
	c.Problems = slices.Clone(r.Problems)
	c.Actions = slices.Clone(r.Actions)
	return c
}

// Reasons an action or a session ends with, beside the resolver's reasons
// (which say why an action was planned). Reasons about another item carry its
// id after a colon.
const (
	ReasonVerified            = "verified"                    // detection after the action finds the desired state
	ReasonVerifiedAfterResume = "verified-after-interruption" // the action was running when the session stopped; detection found it done
	ReasonVerificationFailed  = "verification-failed"         // detection after the action does not find the desired state
	ReasonScriptFailed        = "script-failed"               // a script exited with an error code
	ReasonScriptTimeout       = "script-timeout"              // a script ran past its deadline
	ReasonNoScript            = "no-script"                   // no script for a step: "no-script:install"
	ReasonNoUpgradeStrategy   = "no-upgrade-strategy"         // an update, and the software has none
	ReasonNoRepairStrategy    = "no-repair-strategy"          // a repair, and the software has none
	ReasonPrerequisiteFailed  = resolver.ReasonPrerequisiteFailed
	ReasonSoftwareFailed      = "software-failed"   // a configuration task not run because its software failed
	ReasonNoUserLoggedOn      = "no-user-logged-on" // a user-context script, and nobody is logged on
	ReasonInvalidParameters   = "invalid-parameters"
	ReasonDetectionFailed     = "detection-failed"
	ReasonRunnerError         = "runner-error" // the script could not be run
	ReasonCompliant           = "compliant"    // an audit's test passed; an enforce found nothing to set
	ReasonNonCompliant        = "non-compliant"
	ReasonOutputKept          = "output-kept"   // a monitor's get ran
	ReasonDecidedAfter        = "decided-after" // detection only: "decided-after:ITEM"
	ReasonDetectionOnly       = "detection-only"
	ReasonComputerOffline     = "computer-offline"
	ReasonCancelled           = "cancelled"
	ReasonPostponed           = "postponed"
	ReasonExecutionTime       = "waiting-for-execution-time" // a session: planned, it waits for Request.ExecuteAt
	ReasonExcluded            = "excluded-from-maintenance"
	ReasonInventoryFailed     = "inventory-failed"  // a session: the computer's inventory could not be read (not offline)
	ReasonResolutionFailed    = "resolution-failed" // a session: the winning deployments could not be decided
	ReasonInternalError       = "internal-error"    // a session: an error the engine did not expect; see Report.Message
	ReasonIgnored             = resolver.ReasonIgnored
)
