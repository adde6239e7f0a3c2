package plugins_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/plugins"
)

// ownAgent is a hand-written fake of the engine's own agent.
type ownAgent struct{ ran []string }

func (a *ownAgent) RunScript(_ context.Context, req immy.ScriptRequest) (immy.ScriptResult, error) {
	a.ran = append(a.ran, req.Computer)
	return immy.ScriptResult{Output: "own agent\n", Value: "own agent"}, nil
}

func TestPathwayRunner(t *testing.T) {
	h := newHarness(t)
	h.start(t, "rmm", nil)
	own := &ownAgent{}
	computers := map[string]immy.Computer{
		"pc": {ID: "pc", Pathways: []immy.Pathway{
			{Integration: "", AgentID: "own-pc", Online: true, Priority: 5},
			{Integration: "rmm", AgentID: "offline-pc", Online: true, Priority: 10}, // listed online, offline by now
			{Integration: "rmm", AgentID: "agent-1", Online: false, Priority: 20},
		}},
		"srv": {ID: "srv", Pathways: []immy.Pathway{
			{Integration: "rmm", AgentID: "agent-7", Online: true, Priority: 1},
			{Integration: "", AgentID: "own-srv", Online: true, Priority: 0},
		}},
		"dark": {ID: "dark", Pathways: []immy.Pathway{{Integration: "rmm", AgentID: "x", Online: false}}},
		"lost": {ID: "lost", Pathways: []immy.Pathway{{Integration: "gone", AgentID: "x", Online: true}}},
		"flaky": {ID: "flaky", Pathways: []immy.Pathway{
			{Integration: "rmm", AgentID: "agent-3", Online: true, Priority: 1},
			{Integration: "", AgentID: "own-flaky", Online: true, Priority: 0},
		}},
	}
	r := &plugins.PathwayRunner{Manager: h.m, Agent: own, Computer: func(id string) (immy.Computer, bool) {
		c, ok := computers[id]
		return c, ok
	}}
	ctx := context.Background()

	res, err := r.RunScript(ctx, immy.ScriptRequest{Computer: "pc", Script: shell("echo via rmm")})
	require.NoError(t, err)
	require.Equal(t, "own agent", res.Value, "the offline RMM agent was passed over")
	require.Equal(t, []string{"own-pc"}, own.ran)

	res, err = r.RunScript(ctx, immy.ScriptRequest{Computer: "srv", Script: shell("echo via rmm")})
	require.NoError(t, err)
	require.Equal(t, "via rmm", res.Value, "the higher-priority pathway runs it")

	_, err = r.RunScript(ctx, immy.ScriptRequest{Computer: "dark", Script: shell("echo x")})
	require.ErrorIs(t, err, immy.ErrOffline)
	_, err = r.RunScript(ctx, immy.ScriptRequest{Computer: "lost", Script: shell("echo x")})
	require.ErrorIs(t, err, immy.ErrOffline)
	// The agent went away after the script began: not run again elsewhere.
	_, err = r.RunScript(ctx, immy.ScriptRequest{Computer: "flaky", Script: shell("echo started\noffline")})
	require.ErrorIs(t, err, immy.ErrOffline)
	require.NotErrorIs(t, err, plugins.ErrNotDelivered)
	require.ErrorContains(t, err, "the script may have started")
	require.Equal(t, []string{"own-pc"}, own.ran, "a script that may have started is not run on the next pathway")
	// Offline before it began: the next pathway runs it.
	res, err = r.RunScript(ctx, immy.ScriptRequest{Computer: "flaky", Script: shell("offline")})
	require.NoError(t, err)
	require.Equal(t, "own agent", res.Value)
	require.Equal(t, []string{"own-pc", "own-flaky"}, own.ran)

	_, err = r.RunScript(ctx, immy.ScriptRequest{Computer: "nobody", Script: shell("echo x")})
	require.ErrorIs(t, err, immy.ErrNotFound)
}
