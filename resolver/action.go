package resolver

import (
	"fmt"
	"slices"

	"github.com/immyoss/engine/immy"
)

// ActionKind is what a session does to an item.
type ActionKind uint8

// The actions of a plan, spelt as in the plan output.
const (
	ActionNone        ActionKind = iota // none: the item is left as it is
	ActionInstall                       // install
	ActionUpdate                        // update: to a higher version
	ActionDowngrade                     // downgrade: to a lower version
	ActionUninstall                     // uninstall
	ActionReinstall                     // reinstall: a repair after a failed test
	ActionTaskEnforce                   // task-enforce: test; if false, set; test again
	ActionTaskAudit                     // task-audit: test only
	ActionTaskMonitor                   // task-monitor: get, output kept
	ActionFail                          // fail: the item fails before anything runs
)

var actionNames = [...]string{"none", "install", "update", "downgrade", "uninstall", "reinstall", "task-enforce", "task-audit", "task-monitor", "fail"}

const numActionKinds = len(actionNames)

// String returns the action's spelling in the plan.
func (a ActionKind) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return fmt.Sprintf("action(%d)", uint8(a))
}

// MarshalText implements encoding.TextMarshaler.
func (a ActionKind) MarshalText() ([]byte, error) {
	if int(a) >= len(actionNames) {
		return nil, fmt.Errorf("resolver: invalid action %d: %w", uint8(a), immy.ErrInvalid)
	}
	return []byte(actionNames[a]), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (a *ActionKind) UnmarshalText(b []byte) error {
	i := slices.Index(actionNames[:], string(b))
	if i < 0 {
		return fmt.Errorf("resolver: unknown action %q: %w", b, immy.ErrInvalid)
	}
	*a = ActionKind(i)
	return nil
}

// installs reports whether the action leaves a software installed by running
// its installer (and so needs its prerequisites first).
func (a ActionKind) installs() bool {
	switch a {
	case ActionInstall, ActionUpdate, ActionDowngrade, ActionReinstall:
		return true
	}
	return false
}

// Reasons of actions. A reason is a kebab-case word; reasons about another
// item carry its id after a colon ("prerequisite-of:3cx").
const (
	ReasonSoftwareMissing      = "software-missing"       // install: not detected
	ReasonUpdateAvailable      = "update-available"       // update: detected below the version wanted
	ReasonUpToDate             = "up-to-date"             // none: detected at the version wanted
	ReasonNewerVersionDetected = "newer-version-detected" // none: detected above the version wanted, which is allowed
	ReasonOlderVersionRequired = "older-version-required" // downgrade: detected above the version allowed
	ReasonOlderVersionAllowed  = "older-version-allowed"  // none: older or equal, detected below the version
	ReasonSoftwareDetected     = "software-detected"      // none for any version; uninstall for uninstalled
	ReasonNotDetected          = "not-detected"           // none: absent, and absent is fine (uninstalled, update if found)
	ReasonIgnored              = "ignored"                // none: the item is not to be touched; not compliant either
	ReasonTestFailed           = "test-failed"            // reinstall (software) or task-enforce (task): the test returned false
	ReasonTestPassed           = "test-passed"            // none: an enforced task's test passed
	ReasonDecidedAtDetection   = "decided-at-detection"   // the what-if cannot know; detection decides
	ReasonAudit                = "audit"                  // task-audit
	ReasonMonitor              = "monitor"                // task-monitor
	ReasonNoVersion            = "no-version-available"   // fail: the software has no version to install
	ReasonVersionUnknown       = "version-unknown"        // none: detected, but its version could not be read

	// Reasons about another item; the item's id follows the colon.
	ReasonPrerequisiteOf       = "prerequisite-of"       // an action planned for a dependent
	ReasonPrerequisiteFail     = "prerequisite-fail"     // fail: a FAIL prerequisite holds; its subjects follow
	ReasonPrerequisiteFailed   = "prerequisite-failed"   // fail: a prerequisite of it failed
	ReasonPrerequisiteConflict = "prerequisite-conflict" // fail: a prerequisite action contradicts the item's own winning deployment
	ReasonConfigurationOf      = "configuration-of"      // a configuration task run right after its software
	ReasonPrerequisitePrivate  = "prerequisite-private"  // fail: a prerequisite rule names an item private to another tenant
)

// Test is what is known of a test script's result before the session runs.
type Test uint8

// Values of Test.
const (
	TestUnknown Test = iota // not known: detection decides
	TestPassed              // the test returned true
	TestFailed              // the test returned false
)

// SoftwareState is a software as detection found it on one computer.
type SoftwareState struct {
	Present bool
	// Version is the detected version; zero when absent or when detection
	// found the software without a version it could read (then nothing is
	// compared: see SoftwareAction).
	Version immy.Version
	// Test is the software's test script result, when known; a present
	// software whose test failed gets a repair.
	Test Test
}

// Outcome is the action the table gives, with its reason and the version the
// action brings (zero when it brings none).
type Outcome struct {
	Action  ActionKind
	Reason  string
	Version immy.Version
}

// SoftwareAction applies the table of the design to one software: desired is
// the winning deployment's desired state, version its version (for
// this-version, newer-or-equal and older-or-equal), sw the software (for its
// latest version and the versions older-or-equal picks from), and st what
// detection found.
//
// D is the detected version, V the version wanted: the software's latest for
// latest, update-if-found and any-version, the deployment's version otherwise.
//
//	desired                  D absent         D < V      D = V   D > V
//	latest, newer-or-equal   install          update     none    none
//	this-version             install          update     none    downgrade
//	older-or-equal           install          none       none    downgrade
//	any-version              install          none       none    none
//	update-if-found          none             update     none    none
//	uninstalled              none             uninstall  uninstall uninstall
//	ignored                  none (ignored, not compliant)
//
// An install or update brings V, except newer-or-equal, which brings the latest
// version when it is at least V, and older-or-equal, which installs the highest
// version of the software not above V (V itself when there is none). Where the
// table says none and the software is present, a failed test turns it into a
// reinstall of the detected version. An install that has no version to bring
// (a software without versions) is a fail with reason no-version-available.
//
// A software detected with a version that could not be read (an inventory
// text that is no version) is present: it is never installed again as if
// absent, nor updated or downgraded on a guess that would repeat every
// session. Where a version would decide, the action is none with reason
// version-unknown; uninstalled still uninstalls it, and a failed test still
// repairs it.
func SoftwareAction(desired immy.DesiredState, version immy.Version, sw *immy.Software, st SoftwareState) Outcome {
	var latest *immy.Version
	if sw != nil {
		latest = latestOf(sw)
	}
	d := &st.Version
	if !st.Present {
		d = nil
	}
	return softwareAction(desired, &version, latest, sw, st.Present, d, st.Test).public()
}

// latestOf points at the highest version of sw, nil when it has none.
func latestOf(sw *immy.Software) *immy.Version {
	var best *immy.Version
	for i := range sw.Versions {
		if v := &sw.Versions[i].Version; !v.IsZero() && (best == nil || best.Less(*v)) {
			best = v
		}
	}
	return best
}

// aim is what a software deployment aims at: the version it compares the
// detected one with (want) and the version an install or update brings. It
// depends on the deployment and the catalogue only, so the planner computes
// it once per deployment.
type aim struct {
	want, bring *immy.Version // nil when none
}

// aimOf computes the aim of a desired state; version and latest may be nil.
// The versions point into sw, version or latest, so that plans share them.
func aimOf(desired immy.DesiredState, version, latest *immy.Version, sw *immy.Software) aim {
	var a aim
	switch desired {
	case immy.DesiredLatest, immy.DesiredAnyVersion, immy.DesiredUpdateIfFound:
		a.want, a.bring = latest, latest
	case immy.DesiredNewerOrEqual:
		a.want, a.bring = version, version
		if !isZero(latest) && !isZero(version) && !latest.Less(*version) {
			a.bring = latest
		}
	case immy.DesiredThisVersion:
		a.want, a.bring = version, version
	case immy.DesiredOlderOrEqual:
		a.want, a.bring = version, olderOrEqual(sw, version)
	}
	if isZero(a.want) {
		a.want = nil
	}
	if isZero(a.bring) {
		a.bring = nil
	}
	return a
}

// softwareAction is SoftwareAction over pointers: the detected version d is
// nil when absent or unknown, and the version brought points into the
// catalogue, the deployment or d.
func softwareAction(desired immy.DesiredState, version, latest *immy.Version, sw *immy.Software, present bool, d *immy.Version, test Test) outcome {
	return aimedAction(desired, aimOf(desired, version, latest, sw), present, d, test)
}

// aimedAction is the table of SoftwareAction once the aim is known.
func aimedAction(desired immy.DesiredState, a aim, present bool, d *immy.Version, test Test) outcome {
	switch desired {
	case immy.DesiredIgnored:
		return outcome{kind: ActionNone, reason: rIgnored}
	case immy.DesiredUninstalled:
		if !present {
			return outcome{kind: ActionNone, reason: rNotDetected}
		}
		return outcome{kind: ActionUninstall, reason: rSoftwareDetected}
	case immy.DesiredLatest, immy.DesiredAnyVersion, immy.DesiredUpdateIfFound,
		immy.DesiredNewerOrEqual, immy.DesiredThisVersion, immy.DesiredOlderOrEqual:
	default:
		return outcome{kind: ActionNone, reason: rDecidedAtDetection}
	}
	if !present {
		if desired == immy.DesiredUpdateIfFound {
			return outcome{kind: ActionNone, reason: rNotDetected}
		}
		if a.bring == nil {
			return outcome{kind: ActionFail, reason: rNoVersion}
		}
		return outcome{kind: ActionInstall, reason: rSoftwareMissing, version: a.bring}
	}

	var out outcome
	if a.want == nil { // nothing to compare with: a software without versions
		out = outcome{kind: ActionNone, reason: rSoftwareDetected}
	} else {
		c := 0
		if !isZero(d) {
			c = d.Compare(*a.want)
		}
		switch {
		case isZero(d) && desired != immy.DesiredAnyVersion:
			// present, its version unknown: nothing to compare
			out = outcome{kind: ActionNone, reason: rVersionUnknown}
		case c < 0:
			switch desired {
			case immy.DesiredOlderOrEqual:
				out = outcome{kind: ActionNone, reason: rOlderVersionAllowed}
			case immy.DesiredAnyVersion:
				out = outcome{kind: ActionNone, reason: rSoftwareDetected}
			default:
				out = outcome{kind: ActionUpdate, reason: rUpdateAvailable, version: a.bring}
			}
		case c == 0:
			out = outcome{kind: ActionNone, reason: rUpToDate}
			if desired == immy.DesiredAnyVersion {
				out.reason = rSoftwareDetected
			}
		default:
			switch desired {
			case immy.DesiredThisVersion, immy.DesiredOlderOrEqual:
				out = outcome{kind: ActionDowngrade, reason: rOlderVersionRequired, version: a.bring}
			case immy.DesiredAnyVersion:
				out = outcome{kind: ActionNone, reason: rSoftwareDetected}
			default:
				out = outcome{kind: ActionNone, reason: rNewerVersionDetected}
			}
		}
	}
	if out.kind == ActionNone && test == TestFailed {
		out = outcome{kind: ActionReinstall, reason: rTestFailed, version: d}
	}
	return out
}

func isZero(v *immy.Version) bool { return v == nil || v.IsZero() }

// outcome is Outcome over a reason code and a shared version.
type outcome struct {
	kind    ActionKind
	reason  uint32
	version *immy.Version
}

func (o outcome) public() Outcome {
	out := Outcome{Action: o.kind, Reason: staticReasons[o.reason]}
	if o.version != nil {
		out.Version = *o.version
	}
	return out
}

// olderOrEqual points at the highest version of sw not above v, or at v.
func olderOrEqual(sw *immy.Software, v *immy.Version) *immy.Version {
	if isZero(v) {
		return v
	}
	var best *immy.Version
	if sw != nil {
		for i := range sw.Versions {
			sv := &sw.Versions[i].Version
			if !sv.IsZero() && !v.Less(*sv) && (best == nil || best.Less(*sv)) {
				best = sv
			}
		}
	}
	if best == nil {
		return v
	}
	return best
}

// TaskAction gives a task's action for a mode and what is known of its test:
//
//	enforce   task-enforce (reason test-failed, or decided-at-detection when
//	          the result is not known); none (test-passed) when the test is
//	          known to pass, since enforce would find nothing to set
//	audit     task-audit (audit): an audit runs its test in every session
//	monitor   task-monitor (monitor)
//	ignored   none (ignored)
func TaskAction(mode immy.TaskMode, test Test) Outcome {
	return taskAction(mode, test).public()
}

func taskAction(mode immy.TaskMode, test Test) outcome {
	switch mode {
	case immy.ModeEnforce:
		switch test {
		case TestPassed:
			return outcome{kind: ActionNone, reason: rTestPassed}
		case TestFailed:
			return outcome{kind: ActionTaskEnforce, reason: rTestFailed}
		}
		return outcome{kind: ActionTaskEnforce, reason: rDecidedAtDetection}
	case immy.ModeAudit:
		return outcome{kind: ActionTaskAudit, reason: rAudit}
	case immy.ModeMonitor:
		return outcome{kind: ActionTaskMonitor, reason: rMonitor}
	case immy.ModeIgnored:
		return outcome{kind: ActionNone, reason: rIgnored}
	}
	return outcome{kind: ActionNone, reason: rDecidedAtDetection}
}

// Codes of the reasons that name no other item; a catalogue numbers the
// reasons about its items after them.
const (
	rUpToDate uint32 = iota // the most frequent first: codes below 8 fit one byte with the kind
	rSoftwareMissing
	rUpdateAvailable
	rNotDetected
	rDecidedAtDetection
	rSoftwareDetected
	rIgnored
	rNewerVersionDetected
	rOlderVersionRequired
	rOlderVersionAllowed
	rTestFailed
	rTestPassed
	rAudit
	rMonitor
	rNoVersion
	rVersionUnknown
	numStaticReasons
)

var staticReasons = [numStaticReasons]string{
	ReasonUpToDate, ReasonSoftwareMissing, ReasonUpdateAvailable, ReasonNotDetected, ReasonDecidedAtDetection,
	ReasonSoftwareDetected, ReasonIgnored, ReasonNewerVersionDetected, ReasonOlderVersionRequired,
	ReasonOlderVersionAllowed, ReasonTestFailed, ReasonTestPassed, ReasonAudit, ReasonMonitor, ReasonNoVersion,
	ReasonVersionUnknown,
}
