package session

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy/immytest"
)

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// wakes replaces the engine's timers: it keeps what each would run, for the
// test to run when it has moved the clock.
type wakes struct {
	mu    sync.Mutex
	fns   []func()
	armed chan time.Duration
}

func newWakes() *wakes { return &wakes{armed: make(chan time.Duration, 16)} }

func (w *wakes) afterFunc(d time.Duration, f func()) *time.Timer {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.fns = append(w.fns, f)
	w.armed <- d
	return time.NewTimer(24 * time.Hour)
}

// next returns the delay of the next timer armed.
func (w *wakes) next(t *testing.T) time.Duration {
	t.Helper()
	select {
	case d := <-w.armed:
		return d
	case <-time.After(10 * time.Second):
		t.Fatal("no timer armed")
		return 0
	}
}

func (w *wakes) fire(t *testing.T) {
	t.Helper()
	w.mu.Lock()
	require.NotEmpty(t, w.fns, "no session waits")
	f := w.fns[len(w.fns)-1]
	w.mu.Unlock()
	f()
}

// mutatingRuns lists the scripts run on c that may change it: every fake
// script that only reads starts with "return".
func mutatingRuns(c *immytest.FakeComputer) []string {
	var out []string
	for _, r := range c.Runs() {
		if !r.Inventory && !strings.HasPrefix(r.Script.Body, "return ") {
			out = append(out, r.Script.Body)
		}
	}
	return out
}

func TestExecuteAtInProcess(t *testing.T) {
	detect := time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)
	execute := detect.Add(2 * time.Hour)
	clock := &fakeClock{now: detect}
	w := newWakes()
	h := newHarness(t, smallFleet(), func(c *Config) { c.Now = clock.Now })
	h.engine.afterFunc = w.afterFunc
	sub := h.engine.Subscribe("")
	defer sub.Close()
	id, err := h.engine.Start(context.Background(), Request{Computer: "pc1", Source: Scheduled, ExecuteAt: execute})
	require.NoError(t, err)
	waitFor(t, sub, func(ev Event) bool { return ev.Kind == EventSession && ev.Status == Postponed })

	rep, _ := h.engine.Report(id)
	require.Equal(t, Postponed, rep.Status)
	require.Equal(t, ReasonExecutionTime, rep.Reason)
	require.Equal(t, execute, rep.PostponedUntil)
	require.Equal(t, StageDetection, rep.Stage)
	require.Equal(t, []string{"app:install", "vcredist:install", "phone:install"}, changes(rep.Actions), "the plan is kept while it waits")
	pc := h.fake.Computer("pc1")
	require.Empty(t, mutatingRuns(pc), "a script that changes the computer ran before the execution time")
	detections := len(pc.Runs())
	require.Equal(t, 2*time.Hour, w.next(t))

	clock.set(execute)
	w.fire(t)
	rep = h.wait(id)
	require.Equal(t, Passed, rep.Status, rep.Reason)
	require.Equal(t, 1, scriptRuns(pc, `install("App"`))
	require.Equal(t, 1, plans(h.journal, id), "the session went on from its plan")
	require.Equal(t, []Status{Running, Postponed, Pending, Running, Passed}, statuses(h.journal, id))
	for _, r := range pc.Runs()[:detections] {
		require.True(t, r.Inventory || strings.HasPrefix(r.Script.Body, "return "), r.Script.Body)
	}
	// The second part starts with execution, not inventory.
	require.False(t, pc.Runs()[detections].Inventory, "the session read the inventory again after waiting")
}

func TestExecuteAtPastOrNothingToDo(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	for name, req := range map[string]Request{
		"past":           {Computer: "pc1", ExecuteAt: now.Add(-time.Minute)},
		"now":            {Computer: "pc1", ExecuteAt: now},
		"detection only": {Computer: "pc1", Kind: DetectionOnly, ExecuteAt: now.Add(time.Hour)},
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, smallFleet(), nil)
			rep := h.run(req)
			require.True(t, rep.Status.Final(), rep.Status.String())
			require.NotContains(t, statuses(h.journal, rep.ID), Postponed)
		})
	}
}

func TestExecuteAtResumedFromJournal(t *testing.T) {
	// An engine that closes while the session waits: the next one, over
	// the same journal, waits for the same time and goes on from the plan.
	detect := time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)
	execute := detect.Add(time.Hour)
	clock := &fakeClock{now: detect}
	h := newHarness(t, smallFleet(), func(c *Config) { c.Now = clock.Now })
	h.engine.afterFunc = newWakes().afterFunc
	sub := h.engine.Subscribe("")
	id, err := h.engine.Start(context.Background(), Request{Computer: "pc1", ExecuteAt: execute})
	require.NoError(t, err)
	waitFor(t, sub, func(ev Event) bool { return ev.Kind == EventSession && ev.Status == Postponed })
	sub.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, h.engine.Close(ctx))

	w := newWakes()
	h.engine = h.newEngine()
	h.engine.afterFunc = w.afterFunc
	ids, err := h.engine.Resume(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{id}, ids)
	require.Equal(t, time.Hour, w.next(t))
	require.Empty(t, mutatingRuns(h.fake.Computer("pc1")))
	clock.set(execute)
	w.fire(t)
	rep := h.wait(id)
	require.Equal(t, Passed, rep.Status, rep.Reason)
	require.Equal(t, 1, plans(h.journal, id))
}

func TestExecuteAtDispatched(t *testing.T) {
	ctx := context.Background()
	detect := time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)
	execute := detect.Add(3 * time.Hour)
	clock := &fakeClock{now: detect}
	h, other, d := twoProcesses(t, smallFleet(), func(c *Config) { c.Now = clock.Now })
	id, err := h.engine.Start(ctx, Request{Computer: "pc1", Source: Scheduled, ExecuteAt: execute})
	require.NoError(t, err)
	rep, err := h.engine.Work(ctx, d.next(t))
	require.NoError(t, err)
	require.Equal(t, Postponed, rep.Status)
	require.Equal(t, ReasonExecutionTime, rep.Reason)
	require.Equal(t, execute, rep.PostponedUntil)
	require.Len(t, changes(rep.Actions), 3)
	pc := h.fake.Computer("pc1")
	require.Empty(t, mutatingRuns(pc))
	runs := len(pc.Runs())

	// Before its time, Work in any process returns at once.
	clock.set(execute.Add(-time.Second))
	rep, err = other.Work(ctx, id)
	require.NoError(t, err)
	require.Equal(t, Postponed, rep.Status)
	require.Len(t, pc.Runs(), runs)

	clock.set(execute)
	rep, err = other.Work(ctx, id)
	require.NoError(t, err)
	require.Equal(t, Passed, rep.Status, rep.Reason)
	require.Equal(t, 1, plans(h.journal, id))
	require.False(t, pc.Runs()[runs].Inventory, "the session read the inventory again after waiting")
	require.Equal(t, 1, scriptRuns(pc, `install("App"`))
	require.True(t, d.empty())
}
