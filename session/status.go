package session

import (
	"fmt"
	"slices"

	"github.com/immyoss/engine/immy"
)

// names spells the values of a small enumeration; index i spells value i.
type names[T ~uint8] struct {
	kind  string
	names []string
}

func (n names[T]) str(v T) string {
	if int(v) < len(n.names) {
		return n.names[v]
	}
	return fmt.Sprintf("%s(%d)", n.kind, uint8(v))
}

func (n names[T]) marshal(v T) ([]byte, error) {
	if int(v) >= len(n.names) {
		return nil, fmt.Errorf("session: invalid %s %d: %w", n.kind, uint8(v), immy.ErrInvalid)
	}
	return []byte(n.names[v]), nil
}

func (n names[T]) unmarshal(dst *T, b []byte) error {
	i := slices.Index(n.names, string(b))
	if i < 0 {
		return fmt.Errorf("session: unknown %s %q: %w", n.kind, b, immy.ErrInvalid)
	}
	*dst = T(i)
	return nil
}

// Status is where a session stands.
type Status uint8

// Values of Status. Passed, PartiallyPassed, Failed and Cancelled are final.
const (
	Created             Status = iota // created: recorded, not yet queued
	Pending                           // pending: queued for a running slot
	PendingConnectivity               // pending-connectivity: waiting for the computer to come online
	Running                           // running
	Postponed                         // postponed: the user asked for later
	Passed                            // passed: every action succeeded (or none was needed)
	PartiallyPassed                   // partially-passed: some actions succeeded, some failed
	Failed                            // failed: nothing succeeded, or the session could not run
	Cancelled                         // cancelled
)

var statusNames = names[Status]{"status", []string{"created", "pending", "pending-connectivity", "running", "postponed", "passed", "partially-passed", "failed", "cancelled"}}

func (s Status) String() string { return statusNames.str(s) }

// Final reports whether the status ends the session.
func (s Status) Final() bool { return s >= Passed }

// MarshalText implements encoding.TextMarshaler.
func (s Status) MarshalText() ([]byte, error) { return statusNames.marshal(s) }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Status) UnmarshalText(b []byte) error { return statusNames.unmarshal(s, b) }

// Stage is the part of a session under way.
type Stage uint8

// Values of Stage, in the order a session goes through them.
const (
	StageNone       Stage = iota // none: not started
	StageInventory               // inventory: reading what the computer reports
	StageResolution              // resolution: the winning deployment of each item
	StageOnboarding              // onboarding: onboarding-only tasks, in onboarding sessions
	StageDetection               // detection: the state of each item, read-only; the plan
	StageExecution               // execution: the actions, each verified by detecting again
	StageReboot                  // reboot: a reboot the actions asked for, by the preference
	StageDone                    // done
)

var stageNames = names[Stage]{"stage", []string{"none", "inventory", "resolution", "onboarding", "detection", "execution", "reboot", "done"}}

func (s Stage) String() string { return stageNames.str(s) }

// MarshalText implements encoding.TextMarshaler.
func (s Stage) MarshalText() ([]byte, error) { return stageNames.marshal(s) }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Stage) UnmarshalText(b []byte) error { return stageNames.unmarshal(s, b) }

// ActionStatus is where one action stands.
type ActionStatus uint8

// Values of ActionStatus.
const (
	NotStarted             ActionStatus = iota // not-started
	WaitingForPrerequisite                     // waiting-for-prerequisite: a prerequisite action runs first
	Performing                                 // performing: its scripts run
	DeterminingResult                          // determining-result: verifying by detecting again
	Complete                                   // complete: it ran; see its Result
	Skipped                                    // skipped: it did not run; see its Result and reason
)

var actionStatusNames = names[ActionStatus]{"action status", []string{"not-started", "waiting-for-prerequisite", "performing", "determining-result", "complete", "skipped"}}

func (s ActionStatus) String() string { return actionStatusNames.str(s) }

// Done reports whether the action has ended (complete or skipped).
func (s ActionStatus) Done() bool { return s == Complete || s == Skipped }

// MarshalText implements encoding.TextMarshaler.
func (s ActionStatus) MarshalText() ([]byte, error) { return actionStatusNames.marshal(s) }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *ActionStatus) UnmarshalText(b []byte) error { return actionStatusNames.unmarshal(s, b) }

// Result is how an action ended.
type Result uint8

// Values of Result.
const (
	NoResult        Result = iota // "": not ended, or ended without a verdict (an ignored item)
	Success                       // success
	ResultFailed                  // failed
	ResultCancelled               // cancelled
	Indeterminable                // indeterminable: it ran, and what it did cannot be known (the computer went away)
)

var resultNames = names[Result]{"result", []string{"", "success", "failed", "cancelled", "indeterminable"}}

func (r Result) String() string { return resultNames.str(r) }

// MarshalText implements encoding.TextMarshaler.
func (r Result) MarshalText() ([]byte, error) { return resultNames.marshal(r) }

// UnmarshalText implements encoding.TextUnmarshaler.
func (r *Result) UnmarshalText(b []byte) error { return resultNames.unmarshal(r, b) }

// Kind is what a session does.
type Kind uint8

// Values of Kind.
const (
	// FullMaintenance: every item whose deployment reaches the computer.
	FullMaintenance Kind = iota
	// SingleItem: one item (Request.Item), with its prerequisites and
	// configuration task; its ad hoc deployments take part.
	SingleItem
	// ResolutionOnly: the winning deployments, nothing detected or run.
	ResolutionOnly
	// DetectionOnly: the what-if on the real computer: inventory, resolution
	// and detection, and the plan; nothing is changed.
	DetectionOnly
	// RerunAction: one action again (Request.Rerun), detected and verified.
	RerunAction
	// OnboardingRun: a full maintenance session with onboarding deployments
	// and onboarding-only tasks, which run first.
	OnboardingRun
)

var kindNames = names[Kind]{"session kind", []string{"full-maintenance", "single-item", "resolution-only", "detection-only", "rerun-action", "onboarding"}}

func (k Kind) String() string { return kindNames.str(k) }

// MarshalText implements encoding.TextMarshaler.
func (k Kind) MarshalText() ([]byte, error) { return kindNames.marshal(k) }

// UnmarshalText implements encoding.TextUnmarshaler.
func (k *Kind) UnmarshalText(b []byte) error { return kindNames.unmarshal(k, b) }

// Source is who asked for a session; it decides its place in the queue: ad
// hoc before onboarding before scheduled.
type Source uint8

// Values of Source.
const (
	Scheduled      Source = iota // scheduled: from a schedule
	FromOnboarding               // onboarding: a new computer
	AdHoc                        // adhoc: a technician, now
)

var sourceNames = names[Source]{"source", []string{"scheduled", "onboarding", "adhoc"}}

func (s Source) String() string { return sourceNames.str(s) }

// MarshalText implements encoding.TextMarshaler.
func (s Source) MarshalText() ([]byte, error) { return sourceNames.marshal(s) }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Source) UnmarshalText(b []byte) error { return sourceNames.unmarshal(s, b) }

// OfflinePolicy is what a session does when its computer is offline.
type OfflinePolicy uint8

// Values of OfflinePolicy.
const (
	// WaitForConnectivity: the session waits, pending connectivity, and
	// continues where it stopped when the computer connects (Engine.Connected).
	WaitForConnectivity OfflinePolicy = iota
	// SkipOffline: the session ends failed, reason computer-offline.
	SkipOffline
)

var offlineNames = names[OfflinePolicy]{"offline policy", []string{"wait", "skip"}}

func (p OfflinePolicy) String() string { return offlineNames.str(p) }

// MarshalText implements encoding.TextMarshaler.
func (p OfflinePolicy) MarshalText() ([]byte, error) { return offlineNames.marshal(p) }

// UnmarshalText implements encoding.TextUnmarshaler.
func (p *OfflinePolicy) UnmarshalText(b []byte) error { return offlineNames.unmarshal(p, b) }

// RebootPreference is what a session does when an action needs a reboot.
type RebootPreference uint8

// Values of RebootPreference.
const (
	// RebootNormal reboots when an action needs it, unless suppressed during
	// business hours.
	RebootNormal RebootPreference = iota
	// RebootSuppress never reboots; a needed reboot is reported pending.
	RebootSuppress
	// RebootPrompt asks the logged-on user, unless suppressed during
	// business hours.
	RebootPrompt
	// RebootForce reboots after any change, even during business hours.
	RebootForce
)

var rebootNames = names[RebootPreference]{"reboot preference", []string{"normal", "suppress", "prompt", "force"}}

func (p RebootPreference) String() string { return rebootNames.str(p) }

// MarshalText implements encoding.TextMarshaler.
func (p RebootPreference) MarshalText() ([]byte, error) { return rebootNames.marshal(p) }

// UnmarshalText implements encoding.TextUnmarshaler.
func (p *RebootPreference) UnmarshalText(b []byte) error { return rebootNames.unmarshal(p, b) }
