package session

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/immytest"
	"github.com/immyoss/engine/immy/inventory"
)

// rebootHarness is appFleet's pc1 with a reboot pending, its runner a
// RebootingFleet (or the plain fake when canReboot is false).
func rebootHarness(t *testing.T, canReboot bool, tune func(*Config, *immytest.RebootingFleet)) (*harness, *immytest.RebootingFleet) {
	t.Helper()
	var rf *immytest.RebootingFleet
	h := newHarness(t, appFleet("", immy.DesiredLatest, ""), func(c *Config) {
		rf = &immytest.RebootingFleet{FakeFleet: c.Runner.(*immytest.FakeFleet)}
		if canReboot {
			c.Runner = rf
		}
		c.RebootPoll = time.Millisecond
		if tune != nil {
			tune(c, rf)
		}
	})
	// the fake fleet of the harness is made before tune runs: point the
	// rebooter at it
	rf.FakeFleet = h.fake
	h.fake.Computer("pc1").SetRebootPending(true, inventory.PendingCBS)
	return h, rf
}

func TestRebootPendingBeforeChanges(t *testing.T) {
	business := &immy.BusinessHours{Start: "08:00", End: "18:00"}
	tests := []struct {
		name      string
		req       Request
		hours     bool
		canReboot bool
		declined  bool
		boots     int
		prompts   []bool
		log       string
	}{
		{name: "normal reboots first", canReboot: true, boots: 1, prompts: []bool{false}, log: "rebooting before any change"},
		// force reboots again after the change, as it always does
		{name: "force reboots first", req: Request{Reboot: RebootForce}, canReboot: true, boots: 2, prompts: []bool{false, false}},
		{name: "force reboots first in business hours", req: Request{Reboot: RebootForce, SuppressRebootsDuringBusinessHours: true}, hours: true, canReboot: true, boots: 2, prompts: []bool{false, false}},
		{name: "prompt asks first", req: Request{Reboot: RebootPrompt}, canReboot: true, boots: 1, prompts: []bool{true}},
		{name: "prompt declined goes on", req: Request{Reboot: RebootPrompt}, canReboot: true, declined: true, prompts: []bool{true}, log: "declined the reboot"},
		{name: "suppress goes on", req: Request{Reboot: RebootSuppress}, canReboot: true, log: "as the reboot preference suppress says"},
		{name: "normal in business hours goes on", req: Request{SuppressRebootsDuringBusinessHours: true}, hours: true, canReboot: true, log: "during business hours"},
		{name: "no rebooter goes on", log: "no runner of the computer can reboot it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var prompts []bool
			h, rf := rebootHarness(t, tt.canReboot, nil)
			if tt.hours {
				h.fleet.Tenants[0].BusinessHours = business
				h.fleet.Tenants[0].TimeZone = "Europe/Paris"
				h.planner = newPlanner(t, h.fleet)
				h.cfg.Planner = h.planner
				h.engine = h.newEngine()
			}
			rf.Answer = func(_ string, prompt bool) error {
				prompts = append(prompts, prompt)
				if tt.declined {
					return ErrRebootDeclined
				}
				return nil
			}
			sub := h.engine.Subscribe("")
			defer sub.Close()
			req := tt.req
			req.ID, req.Computer = "s1", "pc1"
			rep := h.run(req)
			require.Equal(t, Passed, rep.Status, "%s %s", rep.Reason, rep.Message)
			require.Equal(t, []string{"app:install:complete:success:verified"}, outcomes(rep.Actions))
			pc := h.fake.Computer("pc1")
			require.Equal(t, tt.boots, pc.Boots())
			require.Equal(t, tt.prompts, prompts)
			if tt.req.Reboot != RebootForce {
				require.Equal(t, RebootOutcome{}, rep.Reboot, "a reboot before changes is not the actions' reboot")
			}
			var logs []string
			for _, ev := range until(t, sub, "s1") {
				if ev.Kind == EventLog {
					logs = append(logs, ev.Text)
				}
			}
			require.Contains(t, strings.Join(logs, "\n"), "a reboot is pending (cbs-reboot-pending)")
			if tt.log != "" {
				require.Contains(t, strings.Join(logs, "\n"), tt.log)
			}
		})
	}
}

func TestNoRebootPendingNoReboot(t *testing.T) {
	h, _ := rebootHarness(t, true, nil)
	h.fake.Computer("pc1").SetRebootPending(false)
	rep := h.run(Request{Computer: "pc1"})
	require.Equal(t, Passed, rep.Status)
	require.Zero(t, h.fake.Computer("pc1").Boots())

	// nothing to change: no reboot either, pending or not
	h.fake.Computer("pc1").SetRebootPending(true)
	rep = h.run(Request{Computer: "pc1"})
	require.Equal(t, Passed, rep.Status)
	require.Empty(t, changes(rep.Actions))
	require.Zero(t, h.fake.Computer("pc1").Boots())
}

// The computer is down for a while after its reboot: the session waits and
// installs when it is back.
func TestRebootFirstWaitsForTheComputer(t *testing.T) {
	h, _ := rebootHarness(t, true, func(c *Config, rf *immytest.RebootingFleet) { rf.DownFor = 50 * time.Millisecond })
	rep := h.run(Request{Computer: "pc1"})
	require.Equal(t, Passed, rep.Status, "%s %s", rep.Reason, rep.Message)
	require.Equal(t, 1, h.fake.Computer("pc1").Boots())
	require.Equal(t, []string{"app:install:complete:success:verified"}, outcomes(rep.Actions))
}

// A computer that does not come back fails the session, nothing run.
func TestRebootFirstTimeout(t *testing.T) {
	h, _ := rebootHarness(t, true, func(c *Config, rf *immytest.RebootingFleet) {
		rf.DownFor = time.Hour
		c.RebootTimeout = 30 * time.Millisecond
	})
	rep := h.run(Request{Computer: "pc1"})
	require.Equal(t, Failed, rep.Status)
	require.Equal(t, ReasonRebootTimeout, rep.Reason)
	require.Contains(t, rep.Message, "did not come back within 30ms")
	require.Equal(t, []string{"app:install:skipped::reboot-timeout"}, outcomes(rep.Actions))
	require.Empty(t, bodies(h), "nothing ran")
}

// The engine stops while the computer reboots; another engine over the
// journal goes on from the plan once the computer answers, without
// rebooting again.
func TestRebootFirstResumedFromJournal(t *testing.T) {
	h, _ := rebootHarness(t, true, func(c *Config, rf *immytest.RebootingFleet) {
		rf.DownFor = time.Hour
		c.RebootTimeout = time.Hour
	})
	sub := h.engine.Subscribe("")
	id, err := h.engine.Start(context.Background(), Request{Computer: "pc1"})
	require.NoError(t, err)
	waitFor(t, sub, func(ev Event) bool {
		return ev.Kind == EventLog && strings.Contains(ev.Text, "rebooting before any change")
	})
	sub.Close()
	require.NoError(t, h.engine.Close(context.Background()))
	rep, err := h.engine.Journaled(context.Background(), id)
	require.NoError(t, err)
	require.Equal(t, StageReboot, rep.Stage, "journaled: waiting for the reboot")

	pc := h.fake.Computer("pc1")
	pc.SetOnline(true) // back
	e2 := h.newEngine()
	_, err = e2.Resume(context.Background())
	require.NoError(t, err)
	rep, err = e2.Wait(context.Background(), id)
	require.NoError(t, err)
	require.Equal(t, Passed, rep.Status, "%s %s", rep.Reason, rep.Message)
	require.Equal(t, 1, pc.Boots(), "not rebooted again")
	require.Equal(t, []string{"app:install:complete:success:verified"}, outcomes(rep.Actions))
}
