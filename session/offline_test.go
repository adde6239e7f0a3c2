package session

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/immytest"
)

// pendingConnectivity starts a session on pc1 and waits until it is pending
// connectivity; it returns the session's id and its report then.
func pendingConnectivity(t *testing.T, h *harness, req Request) (string, Report) {
	t.Helper()
	sub := h.engine.Subscribe("")
	defer sub.Close()
	id, err := h.engine.Start(context.Background(), req)
	require.NoError(t, err)
	waitFor(t, sub, func(ev Event) bool {
		require.False(t, ev.Kind == EventSession && ev.Status.Final(), "the session ended %s (%s) instead of waiting", ev.Status, ev.Reason)
		return ev.Kind == EventSession && ev.Status == PendingConnectivity
	})
	rep, ok := h.engine.Report(id)
	require.True(t, ok)
	require.Equal(t, PendingConnectivity, rep.Status)
	require.Equal(t, ReasonComputerOffline, rep.Reason)
	active, ok := h.engine.Active(req.Computer)
	require.True(t, ok, "a session pending connectivity is still the computer's active one")
	require.Equal(t, id, active)
	return id, rep
}

// scriptsRun lists the bodies of the scripts that ran on a fake computer
// (inventory reads and runs refused because it was offline left out).
func scriptsRun(c *immytest.FakeComputer) []string {
	var out []string
	for _, r := range c.Runs() {
		if !r.Inventory && r.Err == nil {
			out = append(out, r.Script.Body)
		}
	}
	return out
}

// statuses lists the session statuses the journal recorded for a session.
func statuses(j *MemoryJournal, id string) []Status {
	var out []Status
	for _, r := range j.Records() {
		if r.Session == id && r.Kind == RecordStatus {
			out = append(out, r.Status)
		}
	}
	return out
}

// plans counts the plan records of a session.
func plans(j *MemoryJournal, id string) int {
	n := 0
	for _, r := range j.Records() {
		if r.Session == id && r.Kind == RecordPlan {
			n++
		}
	}
	return n
}

func TestOfflineAtStartWaits(t *testing.T) {
	h := newHarness(t, smallFleet(), nil)
	pc := h.fake.Computer("pc1")
	pc.SetOnline(false)
	id, rep := pendingConnectivity(t, h, Request{Computer: "pc1"})
	require.Equal(t, StageInventory, rep.Stage)
	require.Empty(t, rep.Actions, "a session that never reached its computer has no plan")
	require.Empty(t, scriptsRun(pc), "a script ran on an offline computer")

	// Told the computer connected while it is still away, the session
	// tries again and waits again; it neither fails nor runs anything.
	sub := h.engine.Subscribe(id)
	defer sub.Close()
	h.engine.Connected("pc1")
	waitFor(t, sub, func(ev Event) bool { return ev.Kind == EventSession && ev.Status == Running })
	waitFor(t, sub, func(ev Event) bool {
		require.False(t, ev.Kind == EventSession && ev.Status.Final(), "the session ended %s while its computer was away", ev.Status)
		return ev.Kind == EventSession && ev.Status == PendingConnectivity
	})
	require.Empty(t, scriptsRun(pc))

	pc.SetOnline(true)
	h.engine.Connected("pc1")
	rep = h.wait(id)
	require.Equal(t, Passed, rep.Status, rep.Reason)
	require.Equal(t, []string{
		"app:install:complete:success:verified",
		"vcredist:install:complete:success:verified",
		"phone:install:complete:success:verified",
	}, outcomes(rep.Actions))
	for _, a := range rep.Actions {
		require.Equal(t, 1, a.Attempts, a.Item())
	}
	require.Equal(t, []string{`install("App", version)`, `install("VC Redist", version)`, `install("Phone", version)`}, scriptsRun(pc))
	require.Equal(t, []Status{Running, PendingConnectivity, Pending, Running, PendingConnectivity, Pending, Running, Passed}, statuses(h.journal, id))
	require.Equal(t, 1, plans(h.journal, id))
	_, active := h.engine.Active("pc1")
	require.False(t, active)
}

func TestOfflineAtStartSkips(t *testing.T) {
	for _, kind := range []Kind{FullMaintenance, DetectionOnly, SingleItem} {
		t.Run(kind.String(), func(t *testing.T) {
			h := newHarness(t, smallFleet(), nil)
			pc := h.fake.Computer("pc1")
			pc.SetOnline(false)
			req := Request{Computer: "pc1", Kind: kind, Offline: SkipOffline}
			if kind == SingleItem {
				req.Item = "phone"
			}
			rep := h.run(req)
			require.Equal(t, Failed, rep.Status)
			require.Equal(t, ReasonComputerOffline, rep.Reason)
			require.Equal(t, StageDone, rep.Stage)
			require.Empty(t, rep.Actions)
			require.Empty(t, rep.Decisions, "the session stopped before resolution")
			require.Empty(t, scriptsRun(pc), "a script ran on an offline computer")
			require.Equal(t, []Status{Running, Failed}, statuses(h.journal, rep.ID))
			_, active := h.engine.Active("pc1")
			require.False(t, active, "a skipped session is not left active")
		})
	}
}

// detectionFleet is smallFleet where app and phone are found by detection
// scripts, and a task bitlocker is enforced: detection runs scripts.
func detectionFleet() *immy.Fleet {
	f := smallFleet()
	f.Computers = f.Computers[:1]
	f.Computers[0].Tasks = map[string]bool{"bitlocker": false}
	for i := range f.Software {
		if id := f.Software[i].ID; id == "app" || id == "phone" {
			f.Software[i].Detection = immy.Detection{Script: &immy.Script{Language: immy.LanguageLua}}
		}
	}
	f.Tasks = []immy.Task{{ID: "bitlocker", Name: "BitLocker"}}
	f.Deployments = append(f.Deployments, immy.Deployment{ID: "d-bitlocker", Item: "bitlocker",
		Target: immy.Target{Type: immy.TargetAllComputers}, Mode: immy.ModeEnforce})
	return f
}

func TestOfflineDuringDetectionWaitsAndResumes(t *testing.T) {
	tests := []struct {
		name  string
		match string // the detection script the computer drops off in
	}{
		{name: "detection script", match: `return query("Phone")`},
		{name: "task test", match: `return get("task:bitlocker")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, detectionFleet(), nil)
			pc := h.fake.Computer("pc1")
			pc.Inject(immytest.Fault{Match: tt.match, Effect: immytest.FaultOffline, Times: 1})
			id, rep := pendingConnectivity(t, h, Request{Computer: "pc1"})
			require.Equal(t, StageDetection, rep.Stage)
			require.Empty(t, rep.Actions, "a plan was recorded before detection completed")
			for _, body := range scriptsRun(pc) {
				require.Contains(t, body, "return ", "a script that changes the computer ran during detection: %s", body)
			}
			before := len(pc.Runs())

			pc.SetOnline(true)
			h.engine.Connected("pc1")
			rep = h.wait(id)
			require.Equal(t, Passed, rep.Status, rep.Reason)
			require.Equal(t, []string{
				"app:install:complete:success:verified",
				"bitlocker:task-enforce:complete:success:verified",
				"vcredist:install:complete:success:verified",
				"phone:install:complete:success:verified",
			}, outcomes(rep.Actions))
			require.Equal(t, 1, plans(h.journal, id))

			// After the computer came back, the detection it dropped off
			// in ran to its end before the first action.
			resumed := pc.Runs()[before:]
			firstChange, detected := -1, -1
			for i, r := range resumed {
				switch {
				case r.Inventory || r.Err != nil:
				case strings.HasPrefix(r.Script.Body, tt.match):
					if firstChange < 0 {
						detected = i
					}
				case !strings.HasPrefix(r.Script.Body, "return ") && firstChange < 0:
					firstChange = i
				}
			}
			require.GreaterOrEqual(t, detected, 0, "the detection that was cut off did not run again")
			require.Greater(t, firstChange, detected, "an action ran before detection completed")
			for _, m := range mutating[2:] {
				require.Equal(t, 1, scriptRuns(pc, m), m)
			}
			require.Equal(t, 1, scriptRuns(pc, `install("App"`))
		})
	}
}

// errAgentDisconnected is how the real agent reports a lost connection:
// an error of its own that wraps immy.ErrOffline.
var errAgentDisconnected = fmt.Errorf("agent disconnected: %w", immy.ErrOffline)

// droppingRunner reaches the fake fleet the way a real runner does, and
// loses its connection once, on the first script whose body starts with
// match: before sending it (the script never runs) or after (it ran, its
// result is lost). The error wraps immy.ErrOffline, as the agent's and the
// plugins' do; the computer itself stays up, as when a connection drops and
// the agent dials back in. It logs every call in order.
type droppingRunner struct {
	fake  *immytest.FakeFleet
	match string
	after bool

	mu      sync.Mutex
	dropped bool
	calls   []string // "inventory", or the script's body; a dropped call is "drop:" + body
}

func (r *droppingRunner) RunScript(ctx context.Context, req immy.ScriptRequest) (immy.ScriptResult, error) {
	r.mu.Lock()
	drop := !r.dropped && strings.HasPrefix(req.Script.Body, r.match)
	r.dropped = r.dropped || drop
	if drop {
		r.calls = append(r.calls, "drop:"+req.Script.Body)
	} else {
		r.calls = append(r.calls, req.Script.Body)
	}
	r.mu.Unlock()
	if drop && !r.after {
		return immy.ScriptResult{}, fmt.Errorf("agent: run script on %s: %w", req.Computer, errAgentDisconnected)
	}
	res, err := r.fake.RunScript(ctx, req)
	if drop && err == nil {
		return immy.ScriptResult{}, fmt.Errorf("agent: wait for the result on %s: %w", req.Computer, errAgentDisconnected)
	}
	return res, err
}

func (r *droppingRunner) Inventory(ctx context.Context, computer string) (immy.Inventory, error) {
	r.mu.Lock()
	r.calls = append(r.calls, "inventory")
	r.mu.Unlock()
	return r.fake.Inventory(ctx, computer)
}

func (r *droppingRunner) log() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.calls...)
}

func TestRunnerDisconnectsAfterChangeSent(t *testing.T) {
	tests := []struct {
		name  string
		match string
		after bool
		want  string // the outcome of the action dropped
		tries int    // its attempts
		// detect is the call that detects the dropped action again
		detect string
	}{
		{name: "install ran, result lost", match: `install("App"`, after: true,
			want: "app:update:complete:success:verified-after-interruption", tries: 1, detect: "inventory"},
		{name: "install never ran", match: `install("App"`,
			want: "app:update:complete:success:verified", tries: 2, detect: "inventory"},
		{name: "uninstall step ran, result lost", match: `uninstall("App")`, after: true,
			want: "app:update:complete:success:verified", tries: 2, detect: "inventory"},
		{name: "prerequisite install ran, result lost", match: `install("VC Redist"`, after: true,
			want: "vcredist:install:complete:success:verified-after-interruption", tries: 1, detect: "inventory"},
		{name: "task set ran, result lost", match: `set("task:bitlocker"`, after: true,
			want: "bitlocker:task-enforce:complete:success:verified-after-interruption", tries: 1, detect: `return get("task:bitlocker")`},
		{name: "task set never ran", match: `set("task:bitlocker"`,
			want: "bitlocker:task-enforce:complete:success:verified", tries: 2, detect: `return get("task:bitlocker")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r *droppingRunner
			h := newHarness(t, crashFleet(), func(c *Config) {
				r = &droppingRunner{fake: c.Runner.(*immytest.FakeFleet), match: tt.match, after: tt.after}
				c.Runner, c.Inventory = r, r
			})
			pc := h.fake.Computer("pc1")
			id, rep := pendingConnectivity(t, h, Request{Computer: "pc1"})
			require.Equal(t, StageExecution, rep.Stage)
			dropped := -1
			for i, a := range rep.Actions {
				if a.Status == Performing || a.Status == DeterminingResult {
					require.Equal(t, -1, dropped, "two actions were running")
					dropped = i
				}
			}
			require.GreaterOrEqual(t, dropped, 0, "no action was left running")

			h.engine.Connected("pc1")
			rep = h.wait(id)
			require.Equal(t, Passed, rep.Status, rep.Reason)
			require.Equal(t, tt.want, outcomes(rep.Actions)[dropped])
			require.Equal(t, tt.tries, rep.Actions[dropped].Attempts)
			for _, m := range mutating {
				require.Equal(t, 1, scriptRuns(pc, m), "%s ran on the computer more than once, or never", m)
			}

			// After the drop, the action was detected again before any
			// script that changes the computer was sent.
			calls := r.log()
			at := -1
			for i, c := range calls {
				if strings.HasPrefix(c, "drop:") {
					at = i
				}
			}
			require.GreaterOrEqual(t, at, 0, "the connection never dropped")
			detectedAgain := false
			for _, c := range calls[at+1:] {
				if strings.HasPrefix(c, tt.detect) {
					detectedAgain = true
				}
				if isChange(c) {
					require.True(t, detectedAgain, "%q was sent before the dropped action was detected again; calls after the drop: %q", c, calls[at+1:])
				}
			}
			require.True(t, detectedAgain, "the dropped action was not detected again: %q", calls[at+1:])
		})
	}
}

// isChange reports whether a script body of crashFleet changes the computer.
func isChange(body string) bool {
	for _, m := range mutating {
		if strings.HasPrefix(body, m) {
			return true
		}
	}
	return false
}

func TestPathwayOnlineWakesSession(t *testing.T) {
	f := smallFleet()
	f.Computers[0].Pathways = []immy.Pathway{{Integration: "rmm-a", AgentID: "a1", Online: true}}
	var calls []string
	h := newHarness(t, f, func(c *Config) {
		c.Runners = map[string]immy.ScriptRunner{"rmm-a": &integration{name: "a", fake: c.Runner.(*immytest.FakeFleet), calls: &calls}}
		c.Inventory = nil
	})
	pc := h.fake.Computer("pc1")
	pc.SetOnline(false)
	id, _ := pendingConnectivity(t, h, Request{Computer: "pc1"})
	require.Empty(t, scriptsRun(pc))

	// The integration reports its agent back: the session runs.
	pc.SetOnline(true)
	h.engine.SetPathwayOnline("pc1", "rmm-a", true)
	rep := h.wait(id)
	require.Equal(t, Passed, rep.Status, rep.Reason)
	require.Len(t, scriptsRun(pc), 3)
}

// failingInventory is an inventory source that fails with an error that is
// not offline, and quotes a password (as a careless integration might).
type failingInventory struct{ secret string }

func (f failingInventory) Inventory(ctx context.Context, computer string) (immy.Inventory, error) {
	return immy.Inventory{}, fmt.Errorf("rmm: token %s rejected for %s", f.secret, computer)
}

func TestSessionThatCannotRunHasReasonAndMessage(t *testing.T) {
	const secret = "s3cret-pass"
	f := smallFleet()
	f.Tasks = []immy.Task{{ID: "vpn", Parameters: []immy.Parameter{{Name: "key", Type: immy.ParamPassword}}}}
	f.Deployments = append(f.Deployments, immy.Deployment{ID: "d-vpn", Item: "vpn", Target: immy.Target{Type: immy.TargetAllComputers},
		Mode: immy.ModeEnforce, Parameters: map[string]any{"key": secret}})
	h := newHarness(t, f, func(c *Config) { c.Inventory = failingInventory{secret: secret} })
	sub := h.engine.Subscribe("")
	defer sub.Close()
	id, err := h.engine.Start(context.Background(), Request{Computer: "pc1"})
	require.NoError(t, err)
	events := until(t, sub, id)
	rep := h.wait(id)

	require.Equal(t, Failed, rep.Status)
	require.Equal(t, ReasonInventoryFailed, rep.Reason)
	require.Equal(t, "inventory: rmm: token "+Redacted+" rejected for pc1", rep.Message)
	last := events[len(events)-1]
	require.Equal(t, ReasonInventoryFailed, last.Reason)
	require.Equal(t, rep.Message, last.Text)
	b, err := json.Marshal(h.journal.Records())
	require.NoError(t, err)
	require.NotContains(t, string(b), secret)
	require.Contains(t, string(b), `"message":"inventory: rmm: token `+Redacted)
	require.Empty(t, scriptsRun(h.fake.Computer("pc1")))
}
