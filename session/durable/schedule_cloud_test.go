package durable_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/session"
	"github.com/immyoss/engine/session/durable"
	"github.com/immyoss/engine/session/durable/internal/durabletest"
	"github.com/immyoss/engine/session/schedule"
	"github.com/immyoss/engine/session/sqlstore"
	"github.com/immyoss/engine/targets"
)

// TestScheduleCloudFires: a tenant schedule's two fires, a day apart, each
// start one tenant session per tenant through River. The first sets each
// tenant's MFA through its integration (once); the second finds it set and
// changes nothing, its monitored task read again.
func TestScheduleCloudFires(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const tenants = 3
	dir := t.TempDir()
	store, err := sqlstore.OpenSQLite(ctx, filepath.Join(dir, "immy.db"), sqlstore.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, store.Close()) })
	fleet := durabletest.CloudFleet(tenants)
	planner, err := durabletest.Planner(fleet)
	require.NoError(t, err)
	ix, err := targets.NewIndex(fleet, targets.Config{At: durabletest.At})
	require.NoError(t, err)
	sched, err := schedule.New(ix, schedule.Config{})
	require.NoError(t, err)
	logPath := filepath.Join(dir, "actions.log")
	logged, err := durabletest.OpenLogged(ctx, fleet, logPath, "engine", 0)
	require.NoError(t, err)
	t.Cleanup(func() { logged.Close() })
	c := &clock{now: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)}
	q, err := durable.Open(ctx, durable.Config{SQLite: store.DB(), Workers: 4, SweepInterval: 200 * time.Millisecond,
		Schedules: sched, Now: c.Now, ScheduleInterval: time.Hour})
	require.NoError(t, err)
	engine, err := session.New(session.Config{Planner: planner, Runner: logged, Integrations: logged, Journal: store,
		Dispatcher: q, Now: func() time.Time { return durabletest.At }})
	require.NoError(t, err)
	require.NoError(t, q.Start(ctx, engine))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, q.Close(ctx))
		require.NoError(t, engine.Close(ctx))
	})
	d := &sqliteEngine{store: store, queue: q, engine: engine}

	_, err = q.Tick(ctx) // first seen
	require.NoError(t, err)
	counts := func() (sets, gets int) {
		entries, err := durabletest.ReadLog(logPath)
		require.NoError(t, err)
		for _, e := range entries {
			switch {
			case e.Kind == "run":
				sets++
			case e.Body == "get(mfa)":
				gets++
			}
		}
		return sets, gets
	}
	for day, want := range []struct{ sets, gets int }{
		{tenants, 2 * tenants}, // tested, set, verified
		{tenants, 3 * tenants}, // tested: compliant
	} {
		fire := time.Date(2026, 11, 22+day, 2, 0, 0, 0, time.UTC)
		c.set(fire.Add(30 * time.Second))
		for range 2 {
			_, err := q.Tick(ctx) // the second queues nothing more
			require.NoError(t, err)
		}
		ss, err := sched.Sessions(ctx, schedule.Fire{Schedule: durabletest.CloudSchedule, Zone: "UTC", At: fire})
		require.NoError(t, err)
		require.Len(t, ss, tenants)
		var ids []string
		for _, s := range ss {
			ids = append(ids, durable.FireSessionID(s.Key))
		}
		for i, rep := range waitSessions(t, d, ids) {
			require.Equal(t, session.Passed, rep.Status, "%s: %s %s", ss[i].Computer, rep.Reason, rep.Message)
			require.Equal(t, ss[i].Computer, rep.Computer)
			require.Len(t, rep.Actions, 2)
		}
		for i := range tenants {
			v, ok := logged.TenantState(durabletest.Tenant(i), "mfa")
			require.True(t, ok)
			require.Equal(t, "on", v)
		}
		sets, gets := counts()
		require.Equal(t, want.sets, sets, "day %d: sets", day+1)
		require.Equal(t, want.gets, gets, "day %d: MFA reads", day+1)
	}
	var all []string
	require.NoError(t, store.Replay(ctx, func(r session.Record) error {
		if r.Request != nil {
			all = append(all, r.Session)
		}
		return nil
	}))
	require.Len(t, all, 2*tenants, "one session per tenant and fire")
}
