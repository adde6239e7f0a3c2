package durable

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/session"
	"github.com/immyoss/engine/session/schedule"
)

// KindScheduleTick is the kind of the periodic job that ticks the schedules.
const KindScheduleTick = "immy_schedule_tick"

// DefaultScheduleInterval is Config.ScheduleInterval's default.
const DefaultScheduleInterval = time.Minute

// The schedules' own tables, beside River's and the journal's: each
// schedule's last tick (Unix nanoseconds, UTC), and the version of this
// schema. Each step is one migration, applied in order on Open.
var scheduleSteps = []string{
	`CREATE TABLE immy_schedule_state (
		schedule text PRIMARY KEY,
		last_seen_ns bigint NOT NULL
	)`,
}

// TickResult is what one Tick did.
type TickResult struct {
	// Now is the tick's time (Config.Now, in UTC): each schedule's last
	// tick from now on.
	Now time.Time
	// Fires are the fires that were due, by schedule id then as
	// schedule.Planner.Due sorts them.
	Fires []schedule.Fire
	// Sessions counts the sessions of those fires; Inserted those whose
	// fire job is new (the others were queued by an earlier tick, here or
	// in another process).
	Sessions, Inserted int
}

// ScheduledFire is the fire of one session of a schedule: its key, started
// at its detection time, a scheduled session of one item (SingleItem) or
// full maintenance that waits for its execution time before changing
// anything; for a tenant schedule, a tenant session (s.Computer is
// session.TenantSession(tenant)) of the tenant's cloud tasks.
func ScheduledFire(s schedule.Session) Fire {
	req := session.Request{Computer: s.Computer, Source: session.Scheduled, ExecuteAt: s.ExecuteAt.UTC()}
	if s.Item != "" {
		req.Kind, req.Item = session.SingleItem, s.Item
	}
	return Fire{Key: s.Key, At: s.DetectAt.UTC(), Request: req}
}

// Tick starts what the schedules of Config.Schedules have due now
// (Config.Now): for each schedule, the fires after its last tick
// (schedule.Planner.Due: a fire missed while no engine ran starts once, the
// latest), whose sessions it queues as fires (ScheduledFire), one batch of
// schedule.Planner.Batches at a time, each a unique River job per session
// key worked at its detection time. The schedule's last tick is written in
// the transaction of its last batch, and only ever moves forward: a tick
// that fails half-way, runs twice, or runs in two processes at once queues
// each session once. The periodic job of kind KindScheduleTick calls it; a
// schedule never ticked before has nothing due at its first tick. Errors of
// one schedule do not keep the others from ticking; they come back joined.
func (q *Queue) Tick(ctx context.Context) (TickResult, error) {
	p := q.cfg.Schedules
	if p == nil {
		return TickResult{}, fmt.Errorf("durable: tick: no Config.Schedules: %w", immy.ErrInvalid)
	}
	now := q.cfg.Now().UTC()
	res := TickResult{Now: now}
	last, err := q.scheduleState(ctx)
	if err != nil {
		return res, err
	}
	scheds := p.Schedules()
	slices.SortFunc(scheds, func(a, b *schedule.Schedule) int { return strings.Compare(a.ID(), b.ID()) })
	var errs []error
	for _, s := range scheds {
		if err := q.tickSchedule(ctx, p, s.ID(), last[s.ID()], now, &res); err != nil {
			errs = append(errs, fmt.Errorf("durable: tick schedule %q: %w", s.ID(), err))
		}
	}
	return res, errors.Join(errs...)
}

func (q *Queue) tickSchedule(ctx context.Context, p *schedule.Planner, id string, last, now time.Time, res *TickResult) error {
	fires, err := p.Due(ctx, id, last, now)
	if err != nil {
		return err
	}
	var batches [][]Fire
	for _, f := range fires {
		bs, err := p.Batches(ctx, f)
		if err != nil {
			return err
		}
		for _, b := range bs {
			fb := make([]Fire, len(b))
			for i, s := range b {
				fb[i] = ScheduledFire(s)
			}
			batches = append(batches, fb)
		}
	}
	if len(batches) == 0 {
		batches = [][]Fire{nil} // only the last tick to write
	}
	for i, b := range batches {
		seen := time.Time{}
		if i == len(batches)-1 {
			seen = now
		}
		n, err := q.insertFiresTx(ctx, b, id, seen)
		if err != nil {
			return err
		}
		res.Sessions += len(b)
		res.Inserted += n
	}
	res.Fires = append(res.Fires, fires...)
	return nil
}

// insertFiresTx inserts fires and, when seen is set, moves the schedule's
// last tick forward to it, in one transaction.
func (q *Queue) insertFiresTx(ctx context.Context, fires []Fire, sched string, seen time.Time) (int, error) {
	params, err := q.fireParams(fires)
	if err != nil {
		return 0, err
	}
	inserted := 0
	count := func(n int) { inserted = n }
	if q.cfg.SQLite != nil {
		err = sqliteTx(ctx, q.cfg.SQLite, func(tx *sql.Tx) error {
			if len(params) > 0 {
				res, err := q.sqliteClient.InsertManyTx(ctx, tx, params)
				if err != nil {
					return err
				}
				count(newJobs(res))
			}
			if seen.IsZero() {
				return nil
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO immy_schedule_state (schedule, last_seen_ns) VALUES (?, ?)
				ON CONFLICT (schedule) DO UPDATE SET last_seen_ns = excluded.last_seen_ns
				WHERE excluded.last_seen_ns > immy_schedule_state.last_seen_ns`, sched, seen.UnixNano())
			return err
		})
	} else {
		err = pgx.BeginFunc(ctx, q.cfg.Postgres, func(tx pgx.Tx) error {
			if len(params) > 0 {
				res, err := q.pgClient.InsertManyTx(ctx, tx, params)
				if err != nil {
					return err
				}
				count(newJobs(res))
			}
			if seen.IsZero() {
				return nil
			}
			_, err := tx.Exec(ctx, `INSERT INTO immy_schedule_state (schedule, last_seen_ns) VALUES ($1, $2)
				ON CONFLICT (schedule) DO UPDATE SET last_seen_ns = excluded.last_seen_ns
				WHERE excluded.last_seen_ns > immy_schedule_state.last_seen_ns`, sched, seen.UnixNano())
			return err
		})
	}
	if err != nil {
		return 0, fmt.Errorf("queue %d fires: %w", len(fires), err)
	}
	return inserted, nil
}

func sqliteTx(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// ScheduleState returns each schedule's last tick, as Tick keeps it.
func (q *Queue) ScheduleState(ctx context.Context) (map[string]time.Time, error) {
	return q.scheduleState(ctx)
}

func (q *Queue) scheduleState(ctx context.Context) (map[string]time.Time, error) {
	const query = `SELECT schedule, last_seen_ns FROM immy_schedule_state`
	// *sql.Rows and pgx.Rows read alike.
	var rows interface {
		Next() bool
		Scan(dest ...any) error
		Err() error
	}
	if q.cfg.SQLite != nil {
		r, err := q.cfg.SQLite.QueryContext(ctx, query)
		if err != nil {
			return nil, fmt.Errorf("durable: read schedule state: %w", err)
		}
		defer r.Close()
		rows = r
	} else {
		r, err := q.cfg.Postgres.Query(ctx, query)
		if err != nil {
			return nil, fmt.Errorf("durable: read schedule state: %w", err)
		}
		defer r.Close()
		rows = r
	}
	out := map[string]time.Time{}
	for rows.Next() {
		var id string
		var ns int64
		if err := rows.Scan(&id, &ns); err != nil {
			return nil, fmt.Errorf("durable: read schedule state: %w", err)
		}
		out[id] = time.Unix(0, ns).UTC()
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("durable: read schedule state: %w", err)
	}
	return out, nil
}

func newJobs(res []*rivertype.JobInsertResult) int {
	n := 0
	for _, r := range res {
		if !r.UniqueSkippedAsDuplicate {
			n++
		}
	}
	return n
}

// migrateSchedules brings the schedules' tables to the last of
// scheduleSteps, in one transaction; a schema newer than this code knows is
// refused.
func (q *Queue) migrateSchedules(ctx context.Context) error {
	err := q.migrateScheduleSteps(ctx, scheduleSteps)
	if err != nil {
		return fmt.Errorf("schedule tables: %w", err)
	}
	return nil
}

func (q *Queue) migrateScheduleSteps(ctx context.Context, steps []string) error {
	const create = `CREATE TABLE IF NOT EXISTS immy_schedule_version (version integer PRIMARY KEY)`
	const current = `SELECT COALESCE(MAX(version), 0) FROM immy_schedule_version`
	check := func(have int) error {
		if have > len(steps) {
			return fmt.Errorf("schema version %d is newer than this engine knows (%d): %w", have, len(steps), immy.ErrInvalid)
		}
		return nil
	}
	if q.cfg.SQLite != nil {
		return sqliteTx(ctx, q.cfg.SQLite, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, create); err != nil {
				return err
			}
			var have int
			if err := tx.QueryRowContext(ctx, current).Scan(&have); err != nil {
				return err
			}
			if err := check(have); err != nil {
				return err
			}
			for v := have + 1; v <= len(steps); v++ {
				if _, err := tx.ExecContext(ctx, steps[v-1]); err != nil {
					return fmt.Errorf("step %d: %w", v, err)
				}
				if _, err := tx.ExecContext(ctx, `INSERT INTO immy_schedule_version (version) VALUES (?)`, v); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return pgx.BeginFunc(ctx, q.cfg.Postgres, func(tx pgx.Tx) error {
		// one process migrates at a time
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('immy_schedule_version'))`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, create); err != nil {
			return err
		}
		var have int
		if err := tx.QueryRow(ctx, current).Scan(&have); err != nil {
			return err
		}
		if err := check(have); err != nil {
			return err
		}
		for v := have + 1; v <= len(steps); v++ {
			if _, err := tx.Exec(ctx, steps[v-1]); err != nil {
				return fmt.Errorf("step %d: %w", v, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO immy_schedule_version (version) VALUES ($1)`, v); err != nil {
				return err
			}
		}
		return nil
	})
}

// scheduleTickArgs are the periodic tick's: it has none.
type scheduleTickArgs struct{}

func (scheduleTickArgs) Kind() string { return KindScheduleTick }

// tickWorker runs Tick.
type tickWorker struct {
	river.WorkerDefaults[scheduleTickArgs]
	q *Queue
}

func (w *tickWorker) Work(ctx context.Context, _ *river.Job[scheduleTickArgs]) error {
	_, err := w.q.Tick(ctx)
	return err // the next tick tries again: its job has one attempt
}

// addScheduleTick sets the schedules' defaults and registers the tick's
// worker, when the queue has schedules.
func (q *Queue) addScheduleTick(workers *river.Workers) error {
	if q.cfg.Now == nil {
		q.cfg.Now = time.Now
	}
	if q.cfg.ScheduleInterval <= 0 {
		q.cfg.ScheduleInterval = DefaultScheduleInterval
	}
	if q.cfg.Schedules == nil {
		return nil
	}
	if err := river.AddWorkerSafely(workers, &tickWorker{q: q}); err != nil {
		return fmt.Errorf("durable: %w", err)
	}
	return nil
}

// periodicJobs is the tick, every Config.ScheduleInterval, enqueued by
// River's leader process only, and once when a leader starts.
func (q *Queue) periodicJobs() []*river.PeriodicJob {
	if q.cfg.Schedules == nil {
		return nil
	}
	return []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(q.cfg.ScheduleInterval),
		func() (river.JobArgs, *river.InsertOpts) {
			// Ahead of sessions, so that a busy queue does not hold it back;
			// one at a time, so that ticks slower than the interval do not
			// pile up and take every worker from the sessions.
			return scheduleTickArgs{}, &river.InsertOpts{Queue: q.cfg.Queue, Priority: 1, MaxAttempts: 1,
				UniqueOpts: tickUnique}
		}, &river.PeriodicJobOpts{ID: KindScheduleTick, RunOnStart: true})}
}

// tickUnique: one tick job waits or runs at a time. A tick covers every fire
// since the last one, so a tick skipped while another waits or runs loses
// nothing.
var tickUnique = river.UniqueOpts{ByState: []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
	rivertype.JobStateScheduled, rivertype.JobStateRetryable,
}}
