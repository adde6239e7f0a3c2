package durable

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/session"
	"github.com/immyoss/engine/session/schedule"
)

// Job kinds, as River stores them.
const (
	KindSession = "immy_session"
	KindFire    = "immy_fire"
)

// Defaults of Config.
const (
	DefaultQueue             = "immy"
	DefaultFetchPollInterval = 50 * time.Millisecond
	DefaultJobTimeout        = session.DefaultScriptTimeout + 5*time.Minute
	DefaultRescueMargin      = 5 * time.Minute
	DefaultSweepInterval     = time.Minute
	DefaultBusySnooze        = 5 * time.Second
	DefaultMaxAttempts       = 100
)

// Config configures a Queue. One of SQLite and Postgres is required; every
// other field has a useful zero value.
type Config struct {
	// SQLite is the database River keeps its jobs in, next to the journal:
	// sqlstore's Store.DB(). River's tables are migrated on Open.
	SQLite *sql.DB
	// Postgres is the pool of the PostgreSQL database River keeps its jobs
	// in, shared by every engine process. River's tables are migrated on
	// Open.
	Postgres *pgxpool.Pool
	// Queue is River's queue name; "" means DefaultQueue.
	Queue string
	// Workers caps the sessions this process works at once (River's
	// MaxWorkers for the queue); zero means session.DefaultMaxRunning. Give
	// the engine a Config.MaxRunning of at least as much.
	Workers int
	// FetchPollInterval is how often River looks for new jobs; zero means
	// DefaultFetchPollInterval.
	FetchPollInterval time.Duration
	// JobTimeout bounds how long one job works a session: past it, the
	// session stops where it is and is worked again by the next job (the
	// action that was running detected again). Zero means
	// DefaultJobTimeout, longer than a script's default timeout.
	JobTimeout time.Duration
	// RescueStuckJobsAfter is how long a job may run before River takes it
	// for the job of a process that died and runs it again: the time a
	// session of a killed process waits before another process resumes it.
	// It must exceed JobTimeout; zero means JobTimeout+DefaultRescueMargin.
	RescueStuckJobsAfter time.Duration
	// SweepInterval is how often the queue dispatches again the sessions
	// of the journal that have not ended and have no job (Engine.Redispatch):
	// those of a process that died between journaling and queueing them.
	// Zero means DefaultSweepInterval; negative sweeps only on Start.
	SweepInterval time.Duration
	// BusySnooze is how long a session waits when its computer has another
	// session running in this process; zero means DefaultBusySnooze.
	BusySnooze time.Duration
	// Logger receives River's logs; nil discards them.
	Logger *slog.Logger
	// ClientID names this engine process to River, stable across its
	// restarts ("" lets River pick a random one). Two processes must never
	// run with the same ID at once (River's rule). With it, Start makes the
	// jobs its previous run left running (killed) available at once,
	// instead of waiting for River's rescuer (RescueStuckJobsAfter, then up
	// to 30 s).
	ClientID string
	// Schedules, when set, makes the queue start the sessions of the
	// fleet's schedules: a periodic River job (KindScheduleTick, enqueued
	// by the leader process every ScheduleInterval) runs Tick. See
	// "Schedules" in the package documentation.
	Schedules *schedule.Planner
	// ScheduleInterval is how often the schedules are ticked; zero means
	// DefaultScheduleInterval. It should be shorter than the gap between
	// two fires of a schedule: of the fires between two ticks, only the
	// latest starts.
	ScheduleInterval time.Duration
	// Now is the clock of the schedule ticks; nil means time.Now.
	Now func() time.Time
}

// client is what the queue uses of River's client, whatever its driver.
type client interface {
	InsertMany(ctx context.Context, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error)
	Start(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
	JobList(ctx context.Context, params *river.JobListParams) (*river.JobListResult, error)
}

// Queue dispatches sessions through River: it is the session.Dispatcher of
// an engine, and works the sessions River hands this process with the
// engine's Work. Make it with Open, give it to session.Config.Dispatcher,
// then call Start with the engine; Close it when done.
type Queue struct {
	cfg    Config
	client client
	// the same client, typed, for inserts in a transaction (one is set)
	sqliteClient *river.Client[*sql.Tx]
	pgClient     *river.Client[pgx.Tx]
	engine       atomic.Pointer[session.Engine]

	mu      sync.Mutex // Start and Close
	started bool
	stop    context.CancelFunc

	rmu     sync.Mutex      // requeue: working and ctx
	working bool            // between Start and Close
	ctx     context.Context // until Close
	wg      sync.WaitGroup
}

var _ session.Dispatcher = (*Queue)(nil)

// Open migrates River's tables in the database and returns a queue that is
// not working yet.
func Open(ctx context.Context, cfg Config) (*Queue, error) {
	if (cfg.SQLite == nil) == (cfg.Postgres == nil) {
		return nil, fmt.Errorf("durable: exactly one of Config.SQLite and Config.Postgres is required: %w", immy.ErrInvalid)
	}
	if cfg.Queue == "" {
		cfg.Queue = DefaultQueue
	}
	if cfg.Workers <= 0 {
		cfg.Workers = session.DefaultMaxRunning
	}
	if cfg.FetchPollInterval <= 0 {
		cfg.FetchPollInterval = DefaultFetchPollInterval
	}
	if cfg.JobTimeout <= 0 {
		cfg.JobTimeout = DefaultJobTimeout
	}
	if cfg.RescueStuckJobsAfter <= 0 {
		cfg.RescueStuckJobsAfter = cfg.JobTimeout + DefaultRescueMargin
	}
	if cfg.RescueStuckJobsAfter <= cfg.JobTimeout {
		return nil, fmt.Errorf("durable: Config.RescueStuckJobsAfter (%s) must exceed Config.JobTimeout (%s): %w",
			cfg.RescueStuckJobsAfter, cfg.JobTimeout, immy.ErrInvalid)
	}
	if cfg.SweepInterval == 0 {
		cfg.SweepInterval = DefaultSweepInterval
	}
	if cfg.BusySnooze <= 0 {
		cfg.BusySnooze = DefaultBusySnooze
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	q := &Queue{cfg: cfg}
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &sessionWorker{q: q}); err != nil {
		return nil, fmt.Errorf("durable: %w", err)
	}
	if err := river.AddWorkerSafely(workers, &fireWorker{q: q}); err != nil {
		return nil, fmt.Errorf("durable: %w", err)
	}
	if err := q.addScheduleTick(workers); err != nil {
		return nil, err
	}
	rc := &river.Config{
		Logger:               logger,
		Queues:               map[string]river.QueueConfig{cfg.Queue: {MaxWorkers: cfg.Workers}},
		Workers:              workers,
		FetchCooldown:        min(cfg.FetchPollInterval, river.FetchCooldownDefault),
		FetchPollInterval:    cfg.FetchPollInterval,
		JobTimeout:           cfg.JobTimeout,
		RescueStuckJobsAfter: cfg.RescueStuckJobsAfter,
		MaxAttempts:          DefaultMaxAttempts,
		ID:                   cfg.ClientID,
		PeriodicJobs:         q.periodicJobs(),
	}
	var err error
	if cfg.SQLite != nil {
		drv := riversqlite.New(cfg.SQLite)
		if err = migrate(ctx, drv); err == nil {
			q.sqliteClient, err = river.NewClient(drv, rc)
			q.client = q.sqliteClient
		}
	} else {
		drv := riverpgxv5.New(cfg.Postgres)
		if err = migrate(ctx, drv); err == nil {
			q.pgClient, err = river.NewClient(drv, rc)
			q.client = q.pgClient
		}
	}
	if err == nil {
		err = q.migrateSchedules(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("durable: %w", err)
	}
	return q, nil
}

// migrate brings River's tables up to date.
func migrate[TTx any](ctx context.Context, drv riverdriver.Driver[TTx]) error {
	m, err := rivermigrate.New(drv, &rivermigrate.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return fmt.Errorf("river migrations: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("river migrations: %w", err)
	}
	return nil
}

// Start works the sessions River hands this process with engine (made with
// this queue as its Config.Dispatcher), dispatches the sessions of the
// journal that have not ended (Engine.Redispatch), and sweeps them again
// every Config.SweepInterval.
func (q *Queue) Start(ctx context.Context, engine *session.Engine) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.started {
		return fmt.Errorf("durable: queue already started: %w", immy.ErrInvalid)
	}
	q.engine.Store(engine)
	if err := q.reclaim(ctx); err != nil {
		return err
	}
	if _, err := engine.Redispatch(ctx); err != nil {
		return fmt.Errorf("durable: %w", err)
	}
	if err := q.client.Start(ctx); err != nil {
		return fmt.Errorf("durable: start River: %w", err)
	}
	q.started = true
	sctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	q.stop = stop
	q.rmu.Lock()
	q.working, q.ctx = true, sctx
	q.rmu.Unlock()
	if q.cfg.SweepInterval > 0 {
		q.rmu.Lock()
		q.wg.Add(1)
		q.rmu.Unlock()
		go q.sweep(sctx)
	}
	return nil
}

// reclaim makes available the jobs that this process's previous run (the
// same ClientID) left running: it was killed, since River allows one process
// per ID. It writes River's job table directly, the one place this package
// does: River's public API leaves a running job to its rescuer.
func (q *Queue) reclaim(ctx context.Context) error {
	if q.cfg.ClientID == "" {
		return nil
	}
	var ids []int64
	params := river.NewJobListParams().States(rivertype.JobStateRunning).Kinds(KindSession, KindFire).First(1000)
	for {
		res, err := q.client.JobList(ctx, params)
		if err != nil {
			return fmt.Errorf("durable: list running jobs: %w", err)
		}
		for _, j := range res.Jobs {
			if n := len(j.AttemptedBy); n > 0 && j.AttemptedBy[n-1] == q.cfg.ClientID {
				ids = append(ids, j.ID)
			}
		}
		if len(res.Jobs) < 1000 {
			break
		}
		params = params.After(res.LastCursor)
	}
	for _, id := range ids {
		var err error
		if q.cfg.SQLite != nil {
			_, err = q.cfg.SQLite.ExecContext(ctx, `UPDATE river_job SET state = 'available' WHERE id = ? AND state = 'running'`, id)
		} else {
			_, err = q.cfg.Postgres.Exec(ctx, `UPDATE river_job SET state = 'available' WHERE id = $1 AND state = 'running'`, id)
		}
		if err != nil {
			return fmt.Errorf("durable: make job %d of an earlier run available: %w", id, err)
		}
	}
	return nil
}

// sweep dispatches again, now and then, what has no job.
func (q *Queue) sweep(ctx context.Context) {
	defer q.wg.Done()
	t := time.NewTicker(q.cfg.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			// a failure is tried again at the next tick
			_, _ = q.engine.Load().Redispatch(ctx)
		}
	}
}

// Close stops working: the sessions running here stop where they are (as
// after a crash, writing nothing more) and their jobs are made available at
// once to the other processes. It waits until ctx ends. It does not close
// the engine or the database.
func (q *Queue) Close(ctx context.Context) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.started {
		return nil
	}
	q.started = false
	q.rmu.Lock()
	q.working = false
	q.rmu.Unlock()
	q.stop()
	q.wg.Wait()
	if err := q.client.StopAndCancel(ctx); err != nil {
		return fmt.Errorf("durable: stop River: %w", err)
	}
	return nil
}

// sessionArgs are a session job's: one job per session, queued once while
// it waits or runs.
type sessionArgs struct {
	Session string `json:"session" river:"unique"`
}

func (sessionArgs) Kind() string { return KindSession }

// sessionUnique: a session has one job among those waiting or running;
// once that job ended, the session can be queued again (woken).
var sessionUnique = river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
	rivertype.JobStateScheduled, rivertype.JobStateRetryable,
}}

// riverPriority maps a session's priority (0 ad hoc, 1 onboarding, 2
// scheduled) onto River's (1 first, 4 last).
func riverPriority(p int) int { return min(max(p+1, 1), 4) }

// Dispatch implements session.Dispatcher: one unique River job per session,
// inserted in one batch. A session whose job is still marked running (its
// process parked it, and River has not recorded the job's end yet) is
// queued again as soon as that job ends.
func (q *Queue) Dispatch(ctx context.Context, sessions []session.Dispatched) error {
	if len(sessions) == 0 {
		return nil
	}
	params := make([]river.InsertManyParams, len(sessions))
	for i, s := range sessions {
		params[i] = river.InsertManyParams{Args: sessionArgs{Session: s.ID}, InsertOpts: &river.InsertOpts{
			Queue: q.cfg.Queue, Priority: riverPriority(s.Priority), UniqueOpts: sessionUnique}}
	}
	res, err := q.client.InsertMany(ctx, params)
	if err != nil {
		return fmt.Errorf("durable: queue %d sessions: %w", len(sessions), err)
	}
	var later []session.Dispatched
	for i, r := range res {
		if r.UniqueSkippedAsDuplicate && r.Job != nil && r.Job.State == rivertype.JobStateRunning {
			later = append(later, sessions[i])
		}
	}
	if len(later) > 0 {
		q.requeue(later)
	}
	return nil
}

// requeue dispatches again sessions whose only job was running, while the
// journal says they wait for a job (pending), until one is queued.
func (q *Queue) requeue(sessions []session.Dispatched) {
	q.rmu.Lock()
	defer q.rmu.Unlock()
	e := q.engine.Load()
	if !q.working || e == nil {
		return // not working: Start's Redispatch, or the sweep, queues them
	}
	ctx := q.ctx
	q.wg.Add(1)
	go func() {
		defer q.wg.Done()
		for try := 0; try < 40 && len(sessions) > 0; try++ {
			select {
			case <-ctx.Done():
				return
			case <-time.After(q.cfg.FetchPollInterval + 50*time.Millisecond):
			}
			var again []session.Dispatched
			for _, s := range sessions {
				rep, err := e.Journaled(ctx, s.ID)
				if err == nil && rep.Status == session.Pending {
					again = append(again, s)
				}
			}
			sessions = nil
			if len(again) == 0 {
				return
			}
			params := make([]river.InsertManyParams, len(again))
			for i, s := range again {
				params[i] = river.InsertManyParams{Args: sessionArgs{Session: s.ID}, InsertOpts: &river.InsertOpts{
					Queue: q.cfg.Queue, Priority: riverPriority(s.Priority), UniqueOpts: sessionUnique}}
			}
			res, err := q.client.InsertMany(ctx, params)
			if err != nil {
				sessions = again // the sweep catches up if this keeps failing
				continue
			}
			for i, r := range res {
				if r.UniqueSkippedAsDuplicate && r.Job != nil && r.Job.State == rivertype.JobStateRunning {
					sessions = append(sessions, again[i])
				}
			}
		}
	}()
}

// sessionWorker works a session job.
type sessionWorker struct {
	river.WorkerDefaults[sessionArgs]
	q *Queue
}

func (w *sessionWorker) Work(ctx context.Context, job *river.Job[sessionArgs]) error {
	e := w.q.engine.Load()
	if e == nil {
		return river.JobSnooze(time.Second)
	}
	rep, err := e.Work(ctx, job.Args.Session)
	switch {
	case err == nil:
		if rep.Status == session.Postponed && !rep.PostponedUntil.IsZero() {
			return river.JobSnooze(max(time.Until(rep.PostponedUntil), 0))
		}
		return nil
	case errors.Is(err, session.ErrOutOfSequence):
		return nil // another process wrote to the session: it works it
	case errors.Is(err, immy.ErrNotFound):
		return river.JobCancel(err)
	case errors.Is(err, session.ErrBusy):
		return river.JobSnooze(w.q.cfg.BusySnooze)
	case ctx.Err() != nil || errors.Is(err, session.ErrClosed):
		return river.JobSnooze(0) // stopped here: again at once, wherever
	}
	return err // a journal failure: River tries again after a while
}

// Fire is one start of a scheduled session: a unique job per Key, worked at
// At (or at once when zero or past: a missed fire runs once when an engine
// comes back), that starts Request.
type Fire struct {
	// Key is unique per (schedule, fire time, computer): a fire inserted
	// twice is queued once, and starts its session once.
	Key string `json:"key" river:"unique"`
	// At is when the session starts.
	At time.Time `json:"at"`
	// Request is the session to start; its ID is made from Key.
	Request session.Request `json:"request"`
}

func (Fire) Kind() string { return KindFire }

// FireSessionID is the id of the session a fire starts: from its key, so
// that a fire worked twice starts its session once.
func FireSessionID(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "f" + hex.EncodeToString(sum[:16])
}

// InsertFires queues fires in one batch, and returns how many were new.
func (q *Queue) InsertFires(ctx context.Context, fires []Fire) (int, error) {
	if len(fires) == 0 {
		return 0, nil
	}
	params, err := q.fireParams(fires)
	if err != nil {
		return 0, err
	}
	res, err := q.client.InsertMany(ctx, params)
	if err != nil {
		return 0, fmt.Errorf("durable: queue %d fires: %w", len(fires), err)
	}
	n := 0
	for _, r := range res {
		if !r.UniqueSkippedAsDuplicate {
			n++
		}
	}
	return n, nil
}

// fireParams are the River jobs of fires: unique per key, scheduled at At.
func (q *Queue) fireParams(fires []Fire) ([]river.InsertManyParams, error) {
	params := make([]river.InsertManyParams, len(fires))
	for i, f := range fires {
		if f.Key == "" {
			return nil, fmt.Errorf("durable: fire %d (computer %q): empty key: %w", i, f.Request.Computer, immy.ErrInvalid)
		}
		f.Request.ID = ""
		params[i] = river.InsertManyParams{Args: f, InsertOpts: &river.InsertOpts{
			Queue: q.cfg.Queue, Priority: riverPriority(2), ScheduledAt: f.At, UniqueOpts: river.UniqueOpts{ByArgs: true}}}
	}
	return params, nil
}

// fireWorker starts the session of a fire.
type fireWorker struct {
	river.WorkerDefaults[Fire]
	q *Queue
}

func (w *fireWorker) Work(ctx context.Context, job *river.Job[Fire]) error {
	e := w.q.engine.Load()
	if e == nil {
		return river.JobSnooze(time.Second)
	}
	req := job.Args.Request
	req.ID = FireSessionID(job.Args.Key)
	_, err := e.Start(ctx, req)
	switch {
	case err == nil, errors.Is(err, session.ErrExists):
		return nil // started, now or by an earlier try
	case errors.Is(err, session.ErrBusy):
		return nil // the computer has a session: this fire is skipped
	case errors.Is(err, immy.ErrInvalid), errors.Is(err, immy.ErrNotFound):
		return river.JobCancel(err) // it will never start
	}
	return err
}
