package session

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/immytest"
)

// smallFleet: one tenant, computers pc1 and pc2; software app (1.0, 2.0),
// vcredist, and phone, which needs vcredist; a task bitlocker. Every
// computer is to have app and phone at their latest.
func smallFleet() *immy.Fleet {
	return &immy.Fleet{
		At:      time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC),
		Tenants: []immy.Tenant{{ID: "t1", Name: "Tenant One"}},
		Computers: []immy.Computer{
			{ID: "pc1", Tenant: "t1", Name: "PC1", Kind: immy.KindWorkstation, Online: true},
			{ID: "pc2", Tenant: "t1", Name: "PC2", Kind: immy.KindWorkstation, Online: true},
		},
		Software: []immy.Software{
			{ID: "app", Name: "App", Detection: immy.Detection{DisplayName: "App"}, Versions: versions("1.0", "2.0")},
			{ID: "vcredist", Name: "VC Redist", Detection: immy.Detection{DisplayName: "VC Redist*"}, Versions: versions("14.40")},
			{ID: "phone", Name: "Phone", Detection: immy.Detection{DisplayName: "Phone"}, Versions: versions("18.1"),
				Prerequisites: []immy.Prerequisite{{Condition: immy.ConditionNotInstalled, Subjects: []string{"vcredist"}, Then: immy.PrereqInstall, On: []string{"vcredist"}}}},
		},
		Deployments: []immy.Deployment{
			{ID: "d-app", Item: "app", Target: immy.Target{Type: immy.TargetAllComputers}, Desired: immy.DesiredLatest},
			{ID: "d-phone", Item: "phone", Target: immy.Target{Type: immy.TargetAllComputers}, Desired: immy.DesiredLatest},
		},
	}
}

func TestFailurePaths(t *testing.T) {
	tests := []struct {
		name   string
		fault  immytest.Fault
		tune   func(*Config)
		req    Request
		status Status
		want   []string
	}{
		{
			name:   "install fails",
			fault:  immytest.Fault{Match: `install("App"`, Effect: immytest.FaultExit, ExitCode: 1603},
			status: PartiallyPassed,
			want: []string{
				"app:install:complete:failed:script-failed",
				"vcredist:install:complete:success:verified",
				"phone:install:complete:success:verified",
			},
		},
		{
			name:   "verification fails",
			fault:  immytest.Fault{Match: `install("App"`, Effect: immytest.FaultNoop},
			status: PartiallyPassed,
			want: []string{
				"app:install:complete:failed:verification-failed",
				"vcredist:install:complete:success:verified",
				"phone:install:complete:success:verified",
			},
		},
		{
			name:   "prerequisite fails",
			fault:  immytest.Fault{Match: `install("VC Redist"`, Effect: immytest.FaultExit},
			status: PartiallyPassed,
			want: []string{
				"app:install:complete:success:verified",
				"vcredist:install:complete:failed:script-failed",
				"phone:install:skipped:failed:prerequisite-failed:vcredist",
			},
		},
		{
			name:   "script times out",
			fault:  immytest.Fault{Match: `install("Phone"`, Effect: immytest.FaultHang},
			tune:   func(c *Config) { c.ScriptTimeout = 500 * time.Millisecond }, // the others finish well within it, under -race on a loaded machine too
			status: PartiallyPassed,
			want: []string{
				"app:install:complete:success:verified",
				"vcredist:install:complete:success:verified",
				"phone:install:complete:failed:script-timeout",
			},
		},
		{
			name:   "runner offline midway, skip",
			fault:  immytest.Fault{Match: `install("VC Redist"`, Effect: immytest.FaultOffline},
			req:    Request{Offline: SkipOffline},
			status: Failed,
			want: []string{
				"app:install:complete:success:verified",
				"vcredist:install:complete:indeterminable:computer-offline",
				"phone:install:skipped::computer-offline",
			},
		},
		{
			name:   "everything fails",
			fault:  immytest.Fault{Match: `install(`, Effect: immytest.FaultExit},
			status: Failed,
			want: []string{
				"app:install:complete:failed:script-failed",
				"vcredist:install:complete:failed:script-failed",
				"phone:install:skipped:failed:prerequisite-failed:vcredist",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, smallFleet(), tt.tune)
			h.fake.Computer("pc1").Inject(tt.fault)
			req := tt.req
			req.Computer = "pc1"
			rep := h.run(req)
			if diff := cmp.Diff(tt.want, outcomes(rep.Actions)); diff != "" {
				t.Errorf("actions (-want +got):\n%s", diff)
			}
			require.Equal(t, tt.status, rep.Status, rep.Reason)
			for _, a := range rep.Actions {
				if a.Result == ResultFailed || a.Result == Indeterminable {
					require.NotEmpty(t, a.Message, "%s has no message", a.Item())
				}
			}
		})
	}
}

func TestOfflineMidwayWaitsAndResumes(t *testing.T) {
	h := newHarness(t, smallFleet(), nil)
	pc := h.fake.Computer("pc1")
	// The installer of vcredist runs, then the computer drops off.
	pc.Inject(immytest.Fault{Match: `install("VC Redist"`, Effect: immytest.FaultOfflineAfter, Times: 1})
	sub := h.engine.Subscribe("")
	defer sub.Close()
	id, err := h.engine.Start(context.Background(), Request{Computer: "pc1"})
	require.NoError(t, err)
	waitFor(t, sub, func(ev Event) bool { return ev.Kind == EventSession && ev.Status == PendingConnectivity })
	rep, _ := h.engine.Report(id)
	require.Equal(t, PendingConnectivity, rep.Status)
	require.Equal(t, ReasonComputerOffline, rep.Reason)
	require.Equal(t, Performing, rep.Actions[1].Status)

	pc.SetOnline(true)
	h.engine.Connected("pc1")
	rep = h.wait(id)
	require.Equal(t, Passed, rep.Status, rep.Reason)
	require.Equal(t, []string{
		"app:install:complete:success:verified",
		"vcredist:install:complete:success:verified-after-interruption",
		"phone:install:complete:success:verified",
	}, outcomes(rep.Actions))
	require.Equal(t, 1, scriptRuns(pc, `install("VC Redist"`), "the interrupted install ran again")
}

// waitFor reads events until one matches.
func waitFor(t *testing.T, sub *Subscription, match func(Event) bool) Event {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case ev, ok := <-sub.C:
			require.True(t, ok, "subscription closed")
			if match(ev) {
				return ev
			}
		case <-timeout:
			t.Fatal("the event did not come")
		}
	}
}

func TestCancelMidAction(t *testing.T) {
	h := newHarness(t, smallFleet(), nil)
	pc := h.fake.Computer("pc1")
	pc.Inject(immytest.Fault{Match: `install("VC Redist"`, Effect: immytest.FaultHang})
	sub := h.engine.Subscribe("")
	defer sub.Close()
	id, err := h.engine.Start(context.Background(), Request{Computer: "pc1"})
	require.NoError(t, err)
	waitFor(t, sub, func(ev Event) bool {
		return ev.Kind == EventAction && ev.Action.Item() == "vcredist" && ev.Action.Status == Performing
	})
	require.NoError(t, h.engine.Cancel(id))
	rep := h.wait(id)
	require.Equal(t, Cancelled, rep.Status)
	require.Equal(t, ReasonCancelled, rep.Reason)
	require.Equal(t, []string{
		"app:install:complete:success:verified",
		"vcredist:install:complete:cancelled:cancelled",
		"phone:install:skipped:cancelled:cancelled",
	}, outcomes(rep.Actions))
	require.Equal(t, 0, scriptRuns(pc, `install("Phone"`), "an action started after the cancel")
	require.NoError(t, h.engine.Cancel(id), "cancelling an ended session does nothing")
}

func TestCancelQueued(t *testing.T) {
	h := newHarness(t, smallFleet(), func(c *Config) { c.MaxRunning = 1 })
	h.fake.Computer("pc1").Inject(immytest.Fault{Match: `install("App"`, Effect: immytest.FaultHang})
	first, err := h.engine.Start(context.Background(), Request{Computer: "pc1"})
	require.NoError(t, err)
	second, err := h.engine.Start(context.Background(), Request{Computer: "pc2"})
	require.NoError(t, err)
	rep, _ := h.engine.Report(second)
	require.Equal(t, Pending, rep.Status)
	require.NoError(t, h.engine.Cancel(second))
	rep = h.wait(second)
	require.Equal(t, Cancelled, rep.Status)
	require.Empty(t, h.fake.Computer("pc2").Runs(), "a cancelled queued session touched its computer")
	require.NoError(t, h.engine.Cancel(first))
	require.Equal(t, Cancelled, h.wait(first).Status)
}

// notifier answers Before with its replies in turn (the last one again when
// they run out) and records what it was told.
type notifier struct {
	mu      sync.Mutex
	replies []Reply
	before  []Notice
	after   []Notice
}

func (n *notifier) Before(ctx context.Context, no Notice) (Reply, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.before = append(n.before, no)
	r := n.replies[min(len(n.before), len(n.replies))-1]
	return r, nil
}

func (n *notifier) After(ctx context.Context, no Notice) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.after = append(n.after, no)
	return nil
}

func TestPostpone(t *testing.T) {
	n := &notifier{replies: []Reply{{Answer: Postpone, Until: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC), Reason: "in a meeting"}}}
	h := newHarness(t, smallFleet(), func(c *Config) { c.Notifier = n })
	sub := h.engine.Subscribe("")
	defer sub.Close()
	id, err := h.engine.Start(context.Background(), Request{Computer: "pc1", Notify: true})
	require.NoError(t, err)
	waitFor(t, sub, func(ev Event) bool { return ev.Kind == EventSession && ev.Status == Postponed })
	rep, _ := h.engine.Report(id)
	require.Equal(t, Postponed, rep.Status)
	require.Equal(t, "postponed: in a meeting", rep.Reason)
	require.Equal(t, time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC), rep.PostponedUntil)
	require.Empty(t, rep.Actions, "a postponed session keeps no stale plan")
	require.Len(t, n.before, 1)
	require.Equal(t, []string{"app:install", "vcredist:install", "phone:install"}, changes(n.before[0].Actions))
	require.Equal(t, 0, scriptRuns(h.fake.Computer("pc1"), "install("), "a postponed session ran an installer")
	id2, busyErr := h.engine.Start(context.Background(), Request{Computer: "pc1"})
	require.ErrorIs(t, busyErr, ErrBusy, "a postponed session is still the computer's active one")
	require.Empty(t, id2)

	require.NoError(t, h.engine.Cancel(id))
	rep = h.wait(id)
	require.Equal(t, Cancelled, rep.Status)
}

func TestPostponeThenRun(t *testing.T) {
	// The user postpones to a time already past, then says yes: the session
	// starts over from inventory, is asked again, and runs.
	n := &notifier{replies: []Reply{{Answer: Postpone, Until: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}, {Answer: Proceed}}}
	h := newHarness(t, smallFleet(), func(c *Config) { c.Notifier = n })
	rep := h.run(Request{Computer: "pc1", Notify: true})
	require.Equal(t, Passed, rep.Status, rep.Reason)
	require.Len(t, n.before, 2)
	require.Equal(t, 1, scriptRuns(h.fake.Computer("pc1"), `install("App"`))
	var statuses []Status
	for _, r := range h.journal.Records() {
		if r.Kind == RecordStatus {
			statuses = append(statuses, r.Status)
		}
	}
	require.Equal(t, []Status{Running, Postponed, Pending, Running, Passed}, statuses)
}

func TestDeclineCancels(t *testing.T) {
	n := &notifier{replies: []Reply{{Answer: Decline}}}
	h := newHarness(t, smallFleet(), func(c *Config) { c.Notifier = n })
	rep := h.run(Request{Computer: "pc1", Notify: true})
	require.Equal(t, Cancelled, rep.Status)
	for _, a := range rep.Actions {
		require.Equal(t, Skipped, a.Status)
		require.Equal(t, ResultCancelled, a.Result)
	}
	require.Equal(t, 0, scriptRuns(h.fake.Computer("pc1"), "install("))
}

func TestNotifiedBeforeAndAfter(t *testing.T) {
	n := &notifier{replies: []Reply{{Answer: Proceed}}}
	h := newHarness(t, smallFleet(), func(c *Config) { c.Notifier = n })
	rep := h.run(Request{Computer: "pc1", Notify: true})
	require.Equal(t, Passed, rep.Status)
	require.Len(t, n.before, 1)
	require.Len(t, n.after, 1)
	require.Equal(t, Passed, n.after[0].Status)
	require.Len(t, n.after[0].Actions, 3)
	// Without Notify in the request, nobody is told.
	h.run(Request{Computer: "pc2"})
	require.Len(t, n.before, 1)
}
