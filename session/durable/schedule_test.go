package durable_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/internal/pgtest"
	"github.com/immyoss/engine/session"
	"github.com/immyoss/engine/session/durable"
	"github.com/immyoss/engine/session/durable/internal/durabletest"
	"github.com/immyoss/engine/session/schedule"
	"github.com/immyoss/engine/session/sqlstore"
	"github.com/immyoss/engine/targets"
)

// clock is a clock the test moves.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// schedulePlanner compiles the schedules over durabletest's fleet of n
// computers, whose tenant is in zone ("" for UTC).
func schedulePlanner(t *testing.T, n int, zone string, scheds ...immy.Schedule) *schedule.Planner {
	t.Helper()
	f := durabletest.Fleet(n)
	f.Tenants[0].TimeZone = zone
	f.Schedules = scheds
	ix, err := targets.NewIndex(f, targets.Config{At: durabletest.At})
	require.NoError(t, err)
	p, err := schedule.New(ix, schedule.Config{})
	require.NoError(t, err)
	return p
}

// ticker is a second engine process's queue over the engine's database:
// it ticks the schedules (never started, so the test calls Tick itself);
// the engine's queue works the fires.
func ticker(t *testing.T, d *sqliteEngine, p *schedule.Planner, c *clock) *durable.Queue {
	t.Helper()
	q, err := durable.Open(context.Background(), durable.Config{SQLite: d.store.DB(), Schedules: p, Now: c.Now})
	require.NoError(t, err)
	return q
}

type fireRow struct {
	Key     string
	At      time.Time
	Request session.Request
}

// fireJobs reads the fire jobs River holds, by key.
func fireJobs(t *testing.T, d *sqliteEngine) map[string][]fireRow {
	t.Helper()
	rows, err := d.store.DB().QueryContext(context.Background(), `SELECT json(args) FROM river_job WHERE kind = ?`, durable.KindFire)
	require.NoError(t, err)
	defer rows.Close()
	out := map[string][]fireRow{}
	for rows.Next() {
		var args []byte
		require.NoError(t, rows.Scan(&args))
		var f fireRow
		require.NoError(t, json.Unmarshal(args, &f))
		out[f.Key] = append(out[f.Key], f)
	}
	require.NoError(t, rows.Err())
	return out
}

// wantFires are the fires of a schedule fire's sessions.
func wantFires(t *testing.T, p *schedule.Planner, f schedule.Fire) map[string][]fireRow {
	t.Helper()
	ss, err := p.Sessions(context.Background(), f)
	require.NoError(t, err)
	out := map[string][]fireRow{}
	for _, s := range ss {
		req := session.Request{Computer: s.Computer, Source: session.Scheduled, ExecuteAt: s.ExecuteAt}
		out[s.Key] = []fireRow{{Key: s.Key, At: s.DetectAt, Request: req}}
	}
	return out
}

func sessionIDs(rows map[string][]fireRow) []string {
	var ids []string
	for k := range rows {
		ids = append(ids, durable.FireSessionID(k))
	}
	return ids
}

func TestScheduleTicks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const n = 3
	d := newSQLiteEngine(t, n, nil)
	p := schedulePlanner(t, n, "", immy.Schedule{ID: "nightly", Cron: "0 2 * * *", ExecuteAfterMinutes: 60, JitterMinutes: 30})
	c := &clock{now: time.Date(2026, 11, 20, 1, 0, 0, 0, time.UTC)}
	q := ticker(t, d, p, c)

	// A schedule never ticked has nothing due: its first tick only marks.
	res, err := q.Tick(ctx)
	require.NoError(t, err)
	require.Empty(t, res.Fires)
	state, err := q.ScheduleState(ctx)
	require.NoError(t, err)
	require.Equal(t, map[string]time.Time{"nightly": c.Now()}, state)

	c.set(time.Date(2026, 11, 20, 1, 59, 0, 0, time.UTC))
	res, err = q.Tick(ctx)
	require.NoError(t, err)
	require.Empty(t, res.Fires)

	c.set(time.Date(2026, 11, 20, 2, 1, 0, 0, time.UTC))
	res, err = q.Tick(ctx)
	require.NoError(t, err)
	fire := schedule.Fire{Schedule: "nightly", Zone: "UTC", At: time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC),
		Start: time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC)}
	require.Equal(t, []schedule.Fire{fire}, res.Fires)
	require.Equal(t, n, res.Sessions)
	require.Equal(t, n, res.Inserted)
	want := wantFires(t, p, fire)
	require.Empty(t, cmp.Diff(want, fireJobs(t, d)))
	for key, f := range want {
		require.Contains(t, key, "nightly/2026-11-20T02:00:00Z/pc00")
		at := f[0].At
		require.False(t, at.Before(fire.At), key)
		require.True(t, at.Before(fire.At.Add(30*time.Minute)), key)
		require.Equal(t, at.Add(time.Hour), f[0].Request.ExecuteAt, key)
	}

	// A tick that runs again over the same fires (a process that read the
	// state before this one wrote it) queues nothing more.
	_, err = d.store.DB().ExecContext(ctx, `UPDATE immy_schedule_state SET last_seen_ns = ?`,
		time.Date(2026, 11, 20, 1, 59, 0, 0, time.UTC).UnixNano())
	require.NoError(t, err)
	res, err = q.Tick(ctx)
	require.NoError(t, err)
	require.Len(t, res.Fires, 1)
	require.Equal(t, n, res.Sessions)
	require.Zero(t, res.Inserted)
	// The last tick never moves back.
	c.set(time.Date(2026, 11, 20, 1, 0, 0, 0, time.UTC))
	_, err = q.Tick(ctx)
	require.NoError(t, err)
	state, err = q.ScheduleState(ctx)
	require.NoError(t, err)
	require.Equal(t, time.Date(2026, 11, 20, 2, 1, 0, 0, time.UTC), state["nightly"])

	// Every session ran once, on its computer, as the schedule says.
	ids := sessionIDs(want)
	reps := waitSessions(t, d, ids)
	for i, rep := range reps {
		require.Equal(t, session.Passed, rep.Status, "%s %s", ids[i], rep.Reason)
	}
	requireRanOnce(t, d, n)
	for _, f := range want {
		rep, err := d.engine.Journaled(ctx, durable.FireSessionID(f[0].Key))
		require.NoError(t, err)
		require.Equal(t, f[0].Request.Computer, rep.Computer)
		require.Equal(t, session.Scheduled, rep.Request.Source)
		require.Equal(t, session.FullMaintenance, rep.Request.Kind)
		require.True(t, f[0].Request.ExecuteAt.Equal(rep.Request.ExecuteAt))
	}
	unfinished, err := d.store.Unfinished(ctx)
	require.NoError(t, err)
	require.Empty(t, unfinished)
}

// requireRanOnce checks that each of the first n computers had its changes
// made once: one session each.
func requireRanOnce(t *testing.T, d *sqliteEngine, n int) {
	t.Helper()
	for i := range n {
		installs := 0
		for _, r := range d.fake.Computer(durabletest.Computer(i)).Runs() {
			if !r.Inventory && strings.HasPrefix(r.Script.Body, `install("App"`) {
				installs++
			}
		}
		require.Equal(t, 1, installs, durabletest.Computer(i))
	}
}

// waitSessions waits until every session exists and has ended, and returns
// their reports.
func waitSessions(t *testing.T, d *sqliteEngine, ids []string) []session.Report {
	t.Helper()
	deadline := time.Now().Add(liveness)
	out := make([]session.Report, len(ids))
	for i, id := range ids {
		for {
			rep, err := d.engine.Journaled(context.Background(), id)
			if err == nil && rep.Status.Final() {
				out[i] = rep
				break
			}
			require.True(t, time.Now().Before(deadline), "session %s not ended: %v %v", id, rep.Status, err)
			time.Sleep(20 * time.Millisecond)
		}
	}
	return out
}

func TestScheduleMissedRunStartsOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const n = 2
	d := newSQLiteEngine(t, n, nil)
	p := schedulePlanner(t, n, "", immy.Schedule{ID: "nightly", Cron: "0 2 * * *", Item: "app", ExecuteRightAfterDetection: true})
	c := &clock{now: time.Date(2026, 11, 19, 12, 0, 0, 0, time.UTC)}
	q := ticker(t, d, p, c)
	_, err := q.Tick(ctx)
	require.NoError(t, err)

	// No engine ran over four fires: the latest starts, once, from now.
	c.set(time.Date(2026, 11, 23, 5, 0, 0, 0, time.UTC))
	res, err := q.Tick(ctx)
	require.NoError(t, err)
	fire := schedule.Fire{Schedule: "nightly", Zone: "UTC", At: time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC),
		Start: c.Now(), Missed: true}
	require.Equal(t, []schedule.Fire{fire}, res.Fires)
	require.Equal(t, n, res.Inserted)
	c.set(c.Now().Add(time.Minute))
	res, err = q.Tick(ctx)
	require.NoError(t, err)
	require.Empty(t, res.Fires)

	jobs := fireJobs(t, d)
	require.Len(t, jobs, n)
	for i := range n {
		key := schedule.SessionKey("nightly", fire.At, durabletest.Computer(i))
		f := jobs[key]
		require.Len(t, f, 1, key)
		require.True(t, f[0].At.Equal(time.Date(2026, 11, 23, 5, 0, 0, 0, time.UTC)), "a missed fire starts when found: %s", f[0].At)
		require.Equal(t, session.Request{Computer: durabletest.Computer(i), Kind: session.SingleItem, Item: "app",
			Source: session.Scheduled, ExecuteAt: f[0].At}, f[0].Request)
	}
	reps := waitSessions(t, d, sessionIDs(jobs))
	for _, rep := range reps {
		require.Equal(t, session.Passed, rep.Status, rep.Reason)
		require.Equal(t, session.SingleItem, rep.Request.Kind)
	}
	requireRanOnce(t, d, n)
}

func TestScheduleDaylightSavingInComputersZone(t *testing.T) {
	t.Parallel()
	// 02:30 does not exist in New York on 8 March 2026 (02:00 EST jumps to
	// 03:00 EDT): the schedule, in each computer's own zone, fires at 03:00
	// EDT, 07:00 UTC.
	ctx := context.Background()
	const n = 2
	d := newSQLiteEngine(t, n, nil)
	p := schedulePlanner(t, n, "America/New_York", immy.Schedule{ID: "nightly", Cron: "30 2 * * *"})
	c := &clock{now: time.Date(2026, 3, 8, 5, 0, 0, 0, time.UTC)} // 00:00 EST
	q := ticker(t, d, p, c)
	_, err := q.Tick(ctx)
	require.NoError(t, err)
	c.set(time.Date(2026, 3, 8, 6, 59, 0, 0, time.UTC)) // 01:59 EST
	res, err := q.Tick(ctx)
	require.NoError(t, err)
	require.Empty(t, res.Fires)
	c.set(time.Date(2026, 3, 8, 7, 1, 0, 0, time.UTC)) // 03:01 EDT
	res, err = q.Tick(ctx)
	require.NoError(t, err)
	at := time.Date(2026, 3, 8, 7, 0, 0, 0, time.UTC)
	require.Equal(t, []schedule.Fire{{Schedule: "nightly", Zone: "America/New_York", At: at, Start: at}}, res.Fires)
	jobs := fireJobs(t, d)
	require.Len(t, jobs, n)
	for i := range n {
		f := jobs["nightly/2026-03-08T07:00:00Z/"+durabletest.Computer(i)]
		require.Len(t, f, 1)
		require.True(t, f[0].At.Equal(at))
		require.True(t, f[0].Request.ExecuteAt.Equal(at.Add(time.Hour)), "the least wait before execution is an hour")
	}
	for _, rep := range waitSessions(t, d, sessionIDs(jobs)) {
		require.Equal(t, session.Passed, rep.Status, rep.Reason)
	}
}

func TestSchedulePeriodicTick(t *testing.T) {
	t.Parallel()
	// Through River's periodic job: the leader ticks every 100 ms.
	const n = 2
	ctx := context.Background()
	c := &clock{now: time.Date(2026, 11, 20, 1, 0, 0, 0, time.UTC)}
	p := schedulePlanner(t, n, "", immy.Schedule{ID: "nightly", Cron: "0 2 * * *", ExecuteRightAfterDetection: true})
	d := newSQLiteEngine(t, n, func(cfg *durable.Config) {
		cfg.Schedules, cfg.Now, cfg.ScheduleInterval = p, c.Now, 100*time.Millisecond
	})
	deadline := time.Now().Add(liveness)
	for {
		state, err := d.queue.ScheduleState(ctx)
		require.NoError(t, err)
		if _, ok := state["nightly"]; ok {
			break
		}
		require.True(t, time.Now().Before(deadline), "no tick")
		time.Sleep(20 * time.Millisecond)
	}
	c.set(time.Date(2026, 11, 20, 2, 0, 30, 0, time.UTC))
	var jobs map[string][]fireRow
	for {
		jobs = fireJobs(t, d)
		if len(jobs) == n {
			break
		}
		require.True(t, time.Now().Before(deadline), "fires not queued: %v", jobs)
		time.Sleep(20 * time.Millisecond)
	}
	for _, rep := range waitSessions(t, d, sessionIDs(jobs)) {
		require.Equal(t, session.Passed, rep.Status, rep.Reason)
	}
	// Ticks go on: still one job per session.
	time.Sleep(300 * time.Millisecond)
	for key, f := range fireJobs(t, d) {
		require.Len(t, f, 1, key)
	}
	requireRanOnce(t, d, n)
}

// TestScheduleSlowTickDoesNotPileUp: a tick slower than the schedule
// interval (here one that blocks until the test ends) holds one worker, not
// all of them: River's periodic enqueuer finds the running tick and queues
// no other, so sessions keep their workers. Before ticks were unique, each
// interval queued one more tick ahead of the sessions and they took every
// worker.
func TestScheduleSlowTickDoesNotPileUp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const n = 1
	p := schedulePlanner(t, n, "", immy.Schedule{ID: "nightly", Cron: "0 2 * * *"})
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	slow := func() time.Time {
		once.Do(func() { close(entered) })
		<-release
		return time.Date(2026, 11, 20, 1, 0, 0, 0, time.UTC)
	}
	d := newSQLiteEngine(t, n, func(cfg *durable.Config) {
		cfg.Schedules, cfg.Now, cfg.ScheduleInterval, cfg.Workers = p, slow, 200*time.Millisecond, 2
	})
	t.Cleanup(func() { close(release) }) // before the engine's cleanup
	select {
	case <-entered:
	case <-time.After(liveness):
		t.Fatal("no tick")
	}
	id, err := d.engine.Start(ctx, session.Request{Computer: durabletest.Computer(0)})
	require.NoError(t, err)
	reps := waitSessions(t, d, []string{id})
	require.Equal(t, session.Passed, reps[0].Status, reps[0].Reason)
	var open int
	require.NoError(t, d.store.DB().QueryRowContext(ctx,
		`SELECT count(*) FROM river_job WHERE kind = ? AND finalized_at IS NULL`, durable.KindScheduleTick).Scan(&open))
	require.Equal(t, 1, open, "ticks waiting or running while one is slow")
}

// TestScheduleTickOnBothDatabases ticks over SQLite and PostgreSQL (when
// IMMY_TEST_POSTGRES_URL is set): the schedules' tables are made on Open,
// again without harm, and a tick run twice over the same fire queues it
// once.
func TestScheduleTickOnBothDatabases(t *testing.T) {
	t.Parallel()
	const n = 3
	p := schedulePlanner(t, n, "", immy.Schedule{ID: "nightly", Cron: "0 2 * * *"})
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			ctx := context.Background()
			c := &clock{now: time.Date(2026, 11, 20, 1, 0, 0, 0, time.UTC)}
			cfg := durable.Config{Schedules: p, Now: c.Now}
			var reset func(time.Time)
			if db == "sqlite" {
				store, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "immy.db"), sqlstore.Config{})
				require.NoError(t, err)
				t.Cleanup(func() { require.NoError(t, store.Close()) })
				cfg.SQLite = store.DB()
				reset = func(at time.Time) {
					_, err := store.DB().ExecContext(ctx, `UPDATE immy_schedule_state SET last_seen_ns = ?`, at.UnixNano())
					require.NoError(t, err)
				}
			} else {
				pool, err := pgxpool.New(ctx, pgtest.Database(t))
				require.NoError(t, err)
				t.Cleanup(pool.Close)
				cfg.Postgres = pool
				reset = func(at time.Time) {
					_, err := pool.Exec(ctx, `UPDATE immy_schedule_state SET last_seen_ns = $1`, at.UnixNano())
					require.NoError(t, err)
				}
			}
			_, err := durable.Open(ctx, cfg)
			require.NoError(t, err)
			q, err := durable.Open(ctx, cfg) // migrated already
			require.NoError(t, err)
			res, err := q.Tick(ctx)
			require.NoError(t, err)
			require.Empty(t, res.Fires)
			c.set(time.Date(2026, 11, 20, 2, 0, 10, 0, time.UTC))
			for _, want := range []int{n, 0} {
				reset(time.Date(2026, 11, 20, 1, 0, 0, 0, time.UTC))
				res, err = q.Tick(ctx)
				require.NoError(t, err)
				require.Len(t, res.Fires, 1)
				require.Equal(t, n, res.Sessions)
				require.Equal(t, want, res.Inserted)
			}
			state, err := q.ScheduleState(ctx)
			require.NoError(t, err)
			require.Equal(t, map[string]time.Time{"nightly": c.Now()}, state)
		})
	}
}

func TestScheduleSchemaNewerRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "immy.db"), sqlstore.Config{})
	require.NoError(t, err)
	defer store.Close()
	_, err = durable.Open(ctx, durable.Config{SQLite: store.DB()})
	require.NoError(t, err)
	_, err = store.DB().ExecContext(ctx, `INSERT INTO immy_schedule_version (version) VALUES (99)`)
	require.NoError(t, err)
	_, err = durable.Open(ctx, durable.Config{SQLite: store.DB()})
	require.ErrorIs(t, err, immy.ErrInvalid)
	require.Contains(t, err.Error(), "schema version 99 is newer than this engine knows")
}

func TestTickWithoutSchedules(t *testing.T) {
	t.Parallel()
	d := newSQLiteEngine(t, 1, nil)
	_, err := d.queue.Tick(context.Background())
	require.ErrorIs(t, err, immy.ErrInvalid)
}
