package session

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/immytest"
	"github.com/immyoss/engine/immy/inventory"
)

// scriptOnly is a runner that is no inventory source (an RMM's run-script):
// it answers the Linux inventory script with a recorded dpkg listing and
// runs every other script on the fake computer.
type scriptOnly struct {
	fake        *immytest.FakeFleet
	inventories int
}

func (r *scriptOnly) RunScript(ctx context.Context, req immy.ScriptRequest) (immy.ScriptResult, error) {
	if s, _ := inventory.Script(inventory.Linux); req.Script.Body == s.Body {
		r.inventories++
		var out string
		for _, sw := range r.fake.Computer(req.Computer).Software() {
			out += "Package: " + sw.Name + "\nStatus: install ok installed\nVersion: " + sw.Version.String() + "\n\n"
		}
		return immy.ScriptResult{Output: "#immy:inventory 1\n#immy:section dpkg\n" + out + "#immy:end\n"}, nil
	}
	return r.fake.RunScript(ctx, req)
}

func TestInventoryByScriptThroughAnyRunner(t *testing.T) {
	var r *scriptOnly
	h := newHarness(t, appFleet("2.0", immy.DesiredLatest, ""), func(c *Config) {
		r = &scriptOnly{fake: c.Runner.(*immytest.FakeFleet)}
		c.Runner, c.Inventory = r, nil
	})
	r.fake = h.fake
	h.fleet.Computers[0].OS = "Debian GNU/Linux 12" // read by the engine made below
	h.planner = newPlanner(t, h.fleet)
	h.cfg.Planner = h.planner
	h.engine = h.newEngine()

	rep := h.run(Request{Computer: "pc1"})
	require.Equal(t, Passed, rep.Status, "%s %s", rep.Reason, rep.Message)
	require.Equal(t, []string{"app:none:complete:success:up-to-date"}, outcomes(rep.Actions), "App 2.0 read from the script's dpkg listing")
	require.Equal(t, 1, r.inventories)

	// an OS no script serves: the inventory fails, saying so
	h.fleet.Computers[0].OS = "macOS 14.5"
	h.planner = newPlanner(t, h.fleet)
	h.cfg.Planner = h.planner
	h.engine = h.newEngine()
	rep = h.run(Request{ID: "macos", Computer: "pc1"})
	require.Equal(t, Failed, rep.Status)
	require.Equal(t, ReasonInventoryFailed, rep.Reason)
	require.Contains(t, rep.Message, `no inventory script fits the computer's OS "macOS 14.5"`)
}

func TestOfflineReasonNamesPathways(t *testing.T) {
	f := appFleet("", immy.DesiredLatest, "")
	f.Computers[0].Pathways = []immy.Pathway{{Integration: "ninja-eu", AgentID: "a-17", Online: true}, {AgentID: "own-1", Online: true}}
	h := newHarness(t, f, func(c *Config) { c.Inventory = nil })
	h.fake.Computer("pc1").SetOnline(false)
	rep := h.run(Request{Computer: "pc1", Offline: SkipOffline})
	require.Equal(t, Failed, rep.Status)
	require.Equal(t, ReasonComputerOffline, rep.Reason)
	require.Contains(t, rep.Message, "no pathway reached the computer: the engine's agent own-1: ")
	require.Contains(t, rep.Message, "computer offline")

	// no runner for the integration, and the agent's offline too
	h.fake.Computer("pc1").SetOnline(true)
	h.cfg.Runner = nil
	h.cfg.Runners = map[string]immy.ScriptRunner{"other": h.fake}
	h.engine = h.newEngine()
	rep = h.run(Request{ID: "no-runner", Computer: "pc1", Offline: SkipOffline})
	require.Equal(t, ReasonComputerOffline, rep.Reason)
	require.Equal(t, "no pathway reached the computer: no runner configured for integration ninja-eu (agent a-17), the engine's agent own-1", rep.Message)
}
