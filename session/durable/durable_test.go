package durable_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy/immytest"
	"github.com/immyoss/engine/resolver"
	"github.com/immyoss/engine/session"
	"github.com/immyoss/engine/session/durable"
	"github.com/immyoss/engine/session/durable/internal/durabletest"
	"github.com/immyoss/engine/session/sqlstore"
)

// sqliteEngine is an engine whose sessions go through River over one
// SQLite file, against fake computers.
type sqliteEngine struct {
	store  *sqlstore.Store
	queue  *durable.Queue
	engine *session.Engine
	fake   *immytest.FakeFleet
}

type durableConfig = durable.Config

func newSQLiteEngine(t testing.TB, computers int, tune func(*durable.Config)) *sqliteEngine {
	t.Helper()
	ctx := context.Background()
	store, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "immy.db"), sqlstore.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, store.Close()) })
	fleet := durabletest.Fleet(computers)
	planner, err := durabletest.Planner(fleet)
	require.NoError(t, err)
	fake := immytest.NewFakeFleet(fleet)
	cfg := durable.Config{SQLite: store.DB(), Workers: 16, SweepInterval: 200 * time.Millisecond}
	if tune != nil {
		tune(&cfg)
	}
	q, err := durable.Open(ctx, cfg)
	require.NoError(t, err)
	engine, err := session.New(session.Config{Planner: planner, Runner: fake, Inventory: fake, Journal: store,
		Dispatcher: q, Now: func() time.Time { return durabletest.At }})
	require.NoError(t, err)
	require.NoError(t, q.Start(ctx, engine))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, q.Close(ctx))
		require.NoError(t, engine.Close(ctx))
	})
	return &sqliteEngine{store: store, queue: q, engine: engine, fake: fake}
}

// liveness bounds how long a test waits for what must happen: sessions
// ending, ticks coming. It is no timing: on a machine loaded many times over
// (the race detector, other test binaries) River's retries of a journal
// write that met a busy database wait seconds each.
const liveness = 2 * time.Minute

// waitEnded waits until the journal has every session ended, and returns
// their reports.
func (s *sqliteEngine) waitEnded(t testing.TB, ids []string) []session.Report {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(liveness)
	for {
		left, err := s.store.Unfinished(ctx)
		require.NoError(t, err)
		if len(left) == 0 {
			break
		}
		require.True(t, time.Now().Before(deadline), "sessions not ended: %v", left)
		time.Sleep(20 * time.Millisecond)
	}
	out := make([]session.Report, len(ids))
	for i, id := range ids {
		rep, err := s.engine.Journaled(ctx, id)
		require.NoError(t, err)
		out[i] = rep
	}
	return out
}

// TestSQLiteMatchesInMemory runs sessions through River on SQLite and
// compares their reports with the in-memory engine's.
func TestSQLiteMatchesInMemory(t *testing.T) {
	const n = 20
	ctx := context.Background()
	fleet := durabletest.Fleet(n)
	planner, err := durabletest.Planner(fleet)
	require.NoError(t, err)
	fake := immytest.NewFakeFleet(fleet)
	mem, err := session.New(session.Config{Planner: planner, Runner: fake, Inventory: fake, Now: func() time.Time { return durabletest.At }})
	require.NoError(t, err)
	defer mem.Close(ctx)

	d := newSQLiteEngine(t, n, nil)
	var ids []string
	for i := range n {
		id, err := d.engine.Start(ctx, session.Request{Computer: durabletest.Computer(i)})
		require.NoError(t, err)
		ids = append(ids, id)
	}
	got := d.waitEnded(t, ids)
	// The journal keeps a decision's deployment by id only (Winner).
	ignore := []cmp.Option{cmpopts.IgnoreFields(session.Report{}, "ID", "Request", "Created", "Ended"),
		cmpopts.IgnoreFields(resolver.Decision{}, "Deployment"), cmpopts.IgnoreUnexported(session.Report{}), cmpopts.EquateEmpty()}
	for i := range n {
		want, err := mem.Run(ctx, session.Request{Computer: durabletest.Computer(i)})
		require.NoError(t, err)
		require.Equal(t, session.Passed, want.Status)
		require.Len(t, want.Actions, 4)
		require.Empty(t, cmp.Diff(want, got[i], ignore...), durabletest.Computer(i))
		// a session worked here is also seen by Wait
		w, err := d.engine.Wait(ctx, ids[i])
		require.NoError(t, err)
		require.Equal(t, session.Passed, w.Status)
	}
}

// TestSQLiteOfflineAndFires covers a session woken from pending
// connectivity, fires inserted twice that start their session once, and a
// fire for a computer that is busy.
func TestSQLiteOfflineAndFires(t *testing.T) {
	ctx := context.Background()
	d := newSQLiteEngine(t, 3, nil)
	d.fake.Computer("pc000").SetOnline(false)
	id, err := d.engine.Start(ctx, session.Request{Computer: "pc000"})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		rep, err := d.engine.Journaled(ctx, id)
		return err == nil && rep.Status == session.PendingConnectivity
	}, 10*time.Second, 10*time.Millisecond)
	d.fake.Computer("pc000").SetOnline(true)
	d.engine.Connected("pc000")

	fires := []durable.Fire{
		{Key: "sched-1/2026-11-23T10:00Z/pc001", Request: session.Request{Computer: "pc001", Source: session.Scheduled}},
		{Key: "sched-1/2026-11-23T10:00Z/pc002", Request: session.Request{Computer: "pc002", Source: session.Scheduled}},
		{Key: "sched-1/2026-11-23T10:00Z/pc000", At: time.Now().Add(time.Hour), Request: session.Request{Computer: "pc000", Source: session.Scheduled}},
	}
	n, err := d.queue.InsertFires(ctx, fires)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	n, err = d.queue.InsertFires(ctx, fires[:2])
	require.NoError(t, err)
	require.Equal(t, 0, n, "a fire is queued once")
	_, err = d.queue.InsertFires(ctx, []durable.Fire{{Request: session.Request{Computer: "pc001"}}})
	require.Error(t, err)

	want := []string{id, durable.FireSessionID(fires[0].Key), durable.FireSessionID(fires[1].Key)}
	require.Eventually(t, func() bool {
		for _, id := range want {
			if rep, err := d.engine.Journaled(ctx, id); err != nil || rep.Status != session.Passed {
				return false
			}
		}
		left, err := d.store.Unfinished(ctx)
		return err == nil && len(left) == 0
	}, 20*time.Second, 20*time.Millisecond)
	for _, c := range []string{"pc001", "pc002"} {
		require.Equal(t, 1, countRuns(d.fake.Computer(c), `install("Phone"`), c)
	}
	_, err = d.engine.Journaled(ctx, durable.FireSessionID(fires[2].Key))
	require.Error(t, err, "a fire of the future has not started")
}

func countRuns(c *immytest.FakeComputer, prefix string) int {
	n := 0
	for _, r := range c.Runs() {
		if !r.Inventory && len(r.Script.Body) >= len(prefix) && r.Script.Body[:len(prefix)] == prefix {
			n++
		}
	}
	return n
}

func TestOpenRefusals(t *testing.T) {
	ctx := context.Background()
	_, err := durable.Open(ctx, durable.Config{})
	require.Error(t, err)
	store, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "x.db"), sqlstore.Config{})
	require.NoError(t, err)
	defer store.Close()
	_, err = durable.Open(ctx, durable.Config{SQLite: store.DB(), JobTimeout: time.Minute, RescueStuckJobsAfter: time.Second})
	require.Error(t, err)
}
