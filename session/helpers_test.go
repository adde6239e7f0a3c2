package session

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/immytest"
	"github.com/immyoss/engine/resolver"
	"github.com/immyoss/engine/targets"
)

// harness is an engine over a fleet of fake computers.
type harness struct {
	t       *testing.T
	fleet   *immy.Fleet
	fake    *immytest.FakeFleet
	planner *resolver.Planner
	journal *MemoryJournal
	engine  *Engine
	cfg     Config
}

func newPlanner(t testing.TB, f *immy.Fleet) *resolver.Planner {
	t.Helper()
	at := f.At
	if at.IsZero() {
		at = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	}
	cat, err := resolver.NewCatalogue(f)
	require.NoError(t, err)
	ix, err := targets.NewIndex(f, targets.Config{At: at})
	require.NoError(t, err)
	p, err := resolver.NewPlanner(ix, cat, resolver.Config{At: at})
	require.NoError(t, err)
	return p
}

// newHarness gives f fake scripts, puts every computer online, and starts an
// engine; tune changes the engine's Config before it is made.
func newHarness(t *testing.T, f *immy.Fleet, tune func(*Config)) *harness {
	t.Helper()
	return newHarnessPrep(t, f, nil, tune)
}

// newHarnessPrep is newHarness with prep run on the fleet after its fake
// scripts are given and before anything is compiled.
func newHarnessPrep(t *testing.T, f *immy.Fleet, prep func(*immy.Fleet), tune func(*Config)) *harness {
	t.Helper()
	immytest.FakeScripts(f)
	if prep != nil {
		prep(f)
	}
	h := &harness{t: t, fleet: f, fake: immytest.NewFakeFleet(f), journal: &MemoryJournal{}}
	for _, id := range h.fake.IDs() {
		h.fake.Computer(id).SetOnline(true)
	}
	h.planner = newPlanner(t, f)
	h.cfg = Config{Planner: h.planner, Runner: h.fake, Inventory: h.fake, Journal: h.journal,
		Now: func() time.Time { return time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC) }}
	if tune != nil {
		tune(&h.cfg)
	}
	h.engine = h.newEngine()
	return h
}

func (h *harness) newEngine() *Engine {
	e, err := New(h.cfg)
	require.NoError(h.t, err)
	h.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(h.t, e.Close(ctx))
	})
	return e
}

func (h *harness) run(req Request) Report {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := h.engine.Run(ctx, req)
	require.NoError(h.t, err)
	return rep
}

func (h *harness) wait(id string) Report {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := h.engine.Wait(ctx, id)
	require.NoError(h.t, err)
	return rep
}

// changes lists the actions other than none, as "item:action".
func changes(acts []Action) []string {
	var out []string
	for _, a := range acts {
		if a.Planned.Action != resolver.ActionNone {
			out = append(out, a.Item()+":"+a.Planned.Action.String())
		}
	}
	return out
}

// outcomes lists each action as "item:action:status:result:reason".
func outcomes(acts []Action) []string {
	out := make([]string, len(acts))
	for i, a := range acts {
		out[i] = a.Item() + ":" + a.Planned.Action.String() + ":" + a.Status.String() + ":" + a.Result.String() + ":" + a.Reason
	}
	return out
}

func v(s string) immy.Version { return immy.MustParseVersion(s) }

func versions(list ...string) []immy.SoftwareVersion {
	out := make([]immy.SoftwareVersion, len(list))
	for i, s := range list {
		out[i] = immy.SoftwareVersion{Version: v(s)}
	}
	return out
}

func luaScript(body string) *immy.Script { return &immy.Script{Language: immy.LanguageLua, Body: body} }

// scriptRuns counts the runs of scripts on a fake computer whose body starts
// with prefix.
func scriptRuns(c *immytest.FakeComputer, prefix string) int {
	n := 0
	for _, r := range c.Runs() {
		if !r.Inventory && strings.HasPrefix(r.Script.Body, prefix) {
			n++
		}
	}
	return n
}

func offlineFault() immytest.Fault {
	return immytest.Fault{Effect: immytest.FaultOffline}
}

// until reads a subscription's events until the session's final status, and
// returns them all.
func until(t *testing.T, sub *Subscription, session string) []Event {
	t.Helper()
	var out []Event
	timeout := time.After(20 * time.Second)
	for {
		select {
		case ev, ok := <-sub.C:
			require.True(t, ok, "subscription closed")
			out = append(out, ev)
			if ev.Session == session && ev.Kind == EventSession && ev.Status.Final() {
				return out
			}
		case <-timeout:
			t.Fatal("the session did not end")
		}
	}
}
