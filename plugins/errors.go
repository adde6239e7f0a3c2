package plugins

import (
	"errors"
	"fmt"
	"strings"

	"github.com/immyoss/engine/immy"
)

// Errors of the plugin manager. Errors of a plugin's answers are mapped onto
// immy's sentinels: immy.ErrOffline, immy.ErrNoUserLoggedOn, immy.ErrNotFound
// and immy.ErrInvalid.
var (
	// ErrUnsupported: the plugin did not declare the capability, or its
	// protocol version has none. It wraps errors.ErrUnsupported.
	ErrUnsupported = fmt.Errorf("plugins: capability not supported: %w", errors.ErrUnsupported)
	// ErrCrashed: the plugin process exited (or stopped answering) during the
	// call. The manager restarts it; the call may be retried. See CrashError.
	ErrCrashed = errors.New("plugins: plugin crashed")
	// ErrStopped: the instance was stopped or the manager closed.
	ErrStopped = errors.New("plugins: instance stopped")
	// ErrFailed: the instance could not be (re)started and the manager gave up;
	// InstanceStatus.Err tells why.
	ErrFailed = errors.New("plugins: instance failed")
	// ErrNotDelivered: a script provably never reached the agent (the plugin
	// was not running, or the plugin reported the agent offline before the
	// script began), so running it through another pathway cannot run it
	// twice. It is only ever found beside immy.ErrOffline. An
	// immy.ErrOffline without it means the script may have started: the
	// session must detect again before anything is re-run.
	ErrNotDelivered = errors.New("plugins: script not delivered")
)

// unreachableError marks an error of RunScript after which the agent cannot
// be reached through the integration for now (the plugin crashed, stopped,
// failed or lost its connection; the plugin said the agent is offline):
// errors.Is matches immy.ErrOffline, and ErrNotDelivered as well when the
// script provably did not reach the agent. Its message is err's.
type unreachableError struct {
	err          error
	notDelivered bool
}

func (e *unreachableError) Error() string { return e.err.Error() }

func (e *unreachableError) Unwrap() []error {
	if e.notDelivered {
		return []error{e.err, immy.ErrOffline, ErrNotDelivered}
	}
	return []error{e.err, immy.ErrOffline}
}

// CrashError reports a call cut short by the plugin process exiting. errors.Is
// matches ErrCrashed; the work it was doing did not complete and may be retried
// once the manager has restarted the plugin. Returned by Instance.RunScript,
// the error also matches immy.ErrOffline (and not ErrNotDelivered): the agent
// is unreachable through the integration until the plugin is back, and the
// script may have started, so the session waits, detects again, and only then
// decides whether to re-run it.
type CrashError struct {
	Instance string
	Call     string // the RPC, such as "RunScript"
	Err      error  // what the transport reported
}

func (e *CrashError) Error() string {
	return fmt.Sprintf("plugins: instance %q: %s: plugin process exited during the call: %v", e.Instance, e.Call, e.Err)
}

// Unwrap makes errors.Is(err, ErrCrashed) hold.
func (e *CrashError) Unwrap() []error { return []error{ErrCrashed, e.Err} }

// ChecksumError refuses a plugin binary whose SHA-256 is not the expected one.
type ChecksumError struct {
	Path      string
	Want, Got string // lower-case hex
}

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("plugins: %s: SHA-256 is %s, want %s: refusing to run it", e.Path, e.Got, e.Want)
}

// Unwrap makes errors.Is(err, immy.ErrInvalid) hold.
func (e *ChecksumError) Unwrap() error { return immy.ErrInvalid }

// ResponseError reports records of a plugin's answer that the engine could not
// accept, every one of them. The records that were valid were still delivered.
type ResponseError struct {
	Instance string
	Call     string
	Problems immy.Problems
}

func (e *ResponseError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "plugins: instance %q: %s: %d invalid record(s) skipped", e.Instance, e.Call, len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n\t")
		b.WriteString(p.Error())
	}
	return b.String()
}

// Unwrap makes errors.Is(err, immy.ErrInvalid) hold.
func (e *ResponseError) Unwrap() error { return immy.ErrInvalid }
