package durable_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/internal/pgtest"
	"github.com/immyoss/engine/session"
	"github.com/immyoss/engine/session/durable"
	"github.com/immyoss/engine/session/durable/internal/durabletest"
	"github.com/immyoss/engine/session/schedule"
	"github.com/immyoss/engine/session/sqlstore"
	"github.com/immyoss/engine/targets"
)

// TestKillScheduledCloudTasks: a schedule of tenants fires once; its tick
// runs three times from two processes (its fire queued once per tenant);
// engine processes working the tenant sessions are killed with SIGKILL at
// random points and restarted until every session ended. Each tenant had
// one session for the fire, passed, and its cloud task's change (the set
// through the tenant's integration, kept in the action log) ran exactly
// once, never again without a detection in between.
func TestKillScheduledCloudTasks(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills engine processes")
	}
	db := filepath.Join(t.TempDir(), "immy.db")
	killCloud(t, []string{"-sqlite", db}, func() (*sqlstore.Store, durable.Config) {
		store, err := sqlstore.OpenSQLite(context.Background(), db, sqlstore.Config{})
		require.NoError(t, err)
		return store, durable.Config{SQLite: store.DB()}
	})
}

// TestKillScheduledCloudTasksPostgres is TestKillScheduledCloudTasks on
// PostgreSQL.
func TestKillScheduledCloudTasksPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills engine processes")
	}
	url := pgtest.Database(t)
	pool, err := pgxpool.New(context.Background(), url)
	require.NoError(t, err)
	defer pool.Close()
	killCloud(t, []string{"-postgres", url}, func() (*sqlstore.Store, durable.Config) {
		store, err := sqlstore.OpenPostgres(context.Background(), pool, sqlstore.Config{})
		require.NoError(t, err)
		return store, durable.Config{Postgres: pool}
	})
}

// killCloud runs the kill test over the database that db (the engine
// processes' flags) names and open opens in the test.
func killCloud(t *testing.T, db []string, open func() (*sqlstore.Store, durable.Config)) {
	const tenants, kills = 30, 5
	ctx := context.Background()
	logPath := filepath.Join(t.TempDir(), "actions.log")

	// Tick the schedule: first seen at 01:00, then the 02:00 fire, ticked
	// by two queues, one twice.
	fleet := durabletest.CloudFleet(tenants)
	ix, err := targets.NewIndex(fleet, targets.Config{At: durabletest.At})
	require.NoError(t, err)
	sched, err := schedule.New(ix, schedule.Config{})
	require.NoError(t, err)
	store, qcfg := open()
	c := &clock{now: time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC)}
	qcfg.Schedules, qcfg.Now = sched, c.Now
	var qs []*durable.Queue
	for range 2 {
		q, err := durable.Open(ctx, qcfg)
		require.NoError(t, err)
		qs = append(qs, q)
	}
	res, err := qs[0].Tick(ctx)
	require.NoError(t, err)
	require.Empty(t, res.Fires, "never ticked before: nothing due")
	c.set(time.Date(2026, 11, 23, 2, 0, 20, 0, time.UTC))
	inserted := 0
	for _, q := range []*durable.Queue{qs[0], qs[1], qs[0]} {
		res, err := q.Tick(ctx)
		require.NoError(t, err)
		inserted += res.Inserted
	}
	require.Equal(t, tenants, inserted, "one fire job per tenant, whichever process ticks and however often")
	require.NoError(t, store.Close())

	fire := time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)
	args := append(slices.Clone(db), "-log", logPath, "-tenants", fmt.Sprint(tenants), "-fire", fire.Format(time.RFC3339),
		"-id", "engine-1", "-workers", "8", "-delay", "150ms", "-job-timeout", "20s", "-rescue", "25s")
	seed := *killSeed
	rng := rand.New(rand.NewPCG(seed, seed+1))
	killed := 0
	for try := 0; killed < kills && try < 2*kills; try++ {
		// Killed once the engine made 1 to 12 integration calls more: a
		// kill in the middle of sessions, however slowly the process starts
		// on a loaded machine.
		before := logLines(t, logPath)
		p := startProc(t, args...)
		for target, deadline := before+1+rng.IntN(12), time.Now().Add(liveness); logLines(t, logPath) < target && time.Now().Before(deadline); {
			select {
			case <-p.done:
			case <-time.After(10 * time.Millisecond):
				continue
			}
			break
		}
		if p.kill(t) {
			killed++
		} else {
			require.True(t, p.exitOK, "the engine process failed:\n%s", p.out.String())
		}
	}
	t.Logf("seed %d: %d kills", seed, killed)
	startProc(t, args...).wait(t, 60*time.Second)

	store, _ = open()
	defer store.Close()
	left, err := store.Unfinished(ctx)
	require.NoError(t, err)
	require.Empty(t, left)
	// Every session of the journal is one of the fire's, one per tenant.
	perComputer := map[string][]string{}
	ids := map[string]bool{}
	require.NoError(t, store.Replay(ctx, func(r session.Record) error {
		if r.Request != nil && !ids[r.Session] {
			ids[r.Session] = true
			perComputer[r.Request.Computer] = append(perComputer[r.Request.Computer], r.Session)
		}
		return nil
	}))
	ss, err := sched.Sessions(ctx, schedule.Fire{Schedule: durabletest.CloudSchedule, Zone: "UTC", At: fire})
	require.NoError(t, err)
	require.Len(t, ss, tenants)
	require.Len(t, perComputer, tenants, "sessions of tenants")
	resumed := 0
	for _, s := range ss {
		id := durable.FireSessionID(s.Key)
		require.Equal(t, []string{id}, perComputer[s.Computer], "one session for the fire: %s", s.Computer)
		rep, err := journaled(ctx, store, id)
		require.NoError(t, err)
		require.Equal(t, session.Passed, rep.Status, "%s: %s %s", s.Computer, rep.Reason, rep.Message)
		require.Equal(t, session.Scheduled, rep.Request.Source)
		require.Len(t, rep.Actions, 2, s.Computer)
		running := 0
		require.NoError(t, store.ReplaySession(ctx, id, func(r session.Record) error {
			if r.Kind == session.RecordStatus && r.Status == session.Running {
				running++
			}
			return nil
		}))
		if running > 1 {
			resumed++
		}
	}
	entries, err := durabletest.ReadLog(logPath)
	require.NoError(t, err)
	require.Empty(t, durabletest.Repeats(entries), "changes run twice without a detection in between")
	sets := map[string]int{}
	for _, e := range entries {
		if e.Kind == "run" {
			sets[e.Computer+" "+e.Body]++
		}
	}
	want := map[string]int{}
	for i := range tenants {
		want[session.TenantSession(durabletest.Tenant(i))+" set(mfa,on)"] = 1
	}
	require.Equal(t, want, sets, "each tenant's change ran exactly once")
	t.Logf("%d tenant sessions, %d of them resumed after a kill; %d integration calls logged", tenants, resumed, len(entries))
	require.Positive(t, resumed, "no kill interrupted a session: the test proved nothing")
}

// logLines counts the whole lines of the action log.
func logLines(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0
	}
	require.NoError(t, err)
	return bytes.Count(b, []byte("\n"))
}
