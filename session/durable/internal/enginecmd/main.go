// Command enginecmd is an engine process for the durable package's kill
// tests: it works the sessions of durabletest.Fleet through River over a
// SQLite file or a PostgreSQL database, against fake computers whose changes
// are kept in an action log, and exits 0 once every computer's session has
// ended. With -tenants, it works instead the tenant sessions of one fire
// (-fire) of durabletest.CloudSchedule over durabletest.CloudFleet, queued by
// the test, whose cloud tasks reach the tenants' integration kept in the
// action log, and exits 0 once each of them ended.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/session"
	"github.com/immyoss/engine/session/durable"
	"github.com/immyoss/engine/session/durable/internal/durabletest"
	"github.com/immyoss/engine/session/schedule"
	"github.com/immyoss/engine/session/sqlstore"
	"github.com/immyoss/engine/targets"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "enginecmd:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		sqlitePath = flag.String("sqlite", "", "the SQLite file")
		pgURL      = flag.String("postgres", "", "the PostgreSQL database URL")
		logPath    = flag.String("log", "", "the action log")
		computers  = flag.Int("computers", 50, "computers in the fleet")
		id         = flag.String("id", "engine-1", "River client id (stable across restarts)")
		workers    = flag.Int("workers", 8, "sessions worked at once")
		delay      = flag.Duration("delay", 20*time.Millisecond, "longest wait before each script")
		jobTimeout = flag.Duration("job-timeout", 20*time.Second, "River JobTimeout")
		rescue     = flag.Duration("rescue", 25*time.Second, "River RescueStuckJobsAfter")
		tenants    = flag.Int("tenants", 0, "work the tenant sessions of a fire of durabletest.CloudFleet of this many tenants")
		fireAt     = flag.String("fire", "", "with -tenants: the fire's time (RFC 3339, UTC)")
	)
	flag.Parse()
	ctx := context.Background()

	var store *sqlstore.Store
	qcfg := durable.Config{Workers: *workers, JobTimeout: *jobTimeout, RescueStuckJobsAfter: *rescue,
		SweepInterval: time.Second, BusySnooze: 200 * time.Millisecond, ClientID: *id}
	var err error
	switch {
	case *sqlitePath != "":
		store, err = sqlstore.OpenSQLite(ctx, *sqlitePath, sqlstore.Config{})
		if err != nil {
			return err
		}
		qcfg.SQLite = store.DB()
	case *pgURL != "":
		pool, perr := pgxpool.New(ctx, *pgURL)
		if perr != nil {
			return perr
		}
		defer pool.Close()
		store, err = sqlstore.OpenPostgres(ctx, pool, sqlstore.Config{})
		if err != nil {
			return err
		}
		qcfg.Postgres = pool
	default:
		return errors.New("-sqlite or -postgres is required")
	}
	defer store.Close()

	if *tenants > 0 {
		return runCloud(ctx, store, qcfg, *tenants, *fireAt, *logPath, *id, *delay, *workers)
	}
	fleet := durabletest.Fleet(*computers)
	planner, err := durabletest.Planner(fleet)
	if err != nil {
		return err
	}
	logged, err := durabletest.OpenLogged(ctx, fleet, *logPath, *id, *delay)
	if err != nil {
		return err
	}
	defer logged.Close()
	q, err := durable.Open(ctx, qcfg)
	if err != nil {
		return err
	}
	engine, err := session.New(session.Config{Planner: planner, Runner: logged, Inventory: logged, Journal: store,
		Dispatcher: q, MaxRunning: *workers, Now: func() time.Time { return durabletest.At }})
	if err != nil {
		return err
	}
	if err := q.Start(ctx, engine); err != nil {
		return err
	}
	// Every computer has its session: made now, or by an earlier run.
	for i := range *computers {
		c := durabletest.Computer(i)
		_, err := engine.Start(ctx, session.Request{ID: "sess-" + c, Computer: c})
		if err != nil && !errors.Is(err, session.ErrExists) && !errors.Is(err, session.ErrBusy) {
			return fmt.Errorf("start %s: %w", c, err)
		}
	}
	for {
		left, err := store.Unfinished(ctx)
		if err != nil {
			return err
		}
		if len(left) == 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := q.Close(cctx); err != nil {
		return err
	}
	if err := engine.Close(cctx); err != nil {
		return err
	}
	fmt.Println("all sessions ended")
	return nil
}

// runCloud works the tenant sessions of one fire of durabletest.CloudSchedule
// until each ended.
func runCloud(ctx context.Context, store *sqlstore.Store, qcfg durable.Config, tenants int, fireAt, logPath, id string, delay time.Duration, workers int) error {
	at, err := time.Parse(time.RFC3339, fireAt)
	if err != nil {
		return fmt.Errorf("-fire: %w", err)
	}
	fleet := durabletest.CloudFleet(tenants)
	planner, err := durabletest.Planner(fleet)
	if err != nil {
		return err
	}
	ix, err := targets.NewIndex(fleet, targets.Config{At: durabletest.At})
	if err != nil {
		return err
	}
	sched, err := schedule.New(ix, schedule.Config{})
	if err != nil {
		return err
	}
	sessions, err := sched.Sessions(ctx, schedule.Fire{Schedule: durabletest.CloudSchedule, Zone: "UTC", At: at})
	if err != nil {
		return err
	}
	logged, err := durabletest.OpenLogged(ctx, fleet, logPath, id, delay)
	if err != nil {
		return err
	}
	defer logged.Close()
	q, err := durable.Open(ctx, qcfg)
	if err != nil {
		return err
	}
	engine, err := session.New(session.Config{Planner: planner, Runner: logged, Inventory: logged, Integrations: logged,
		Journal: store, Dispatcher: q, MaxRunning: workers, Now: func() time.Time { return durabletest.At }})
	if err != nil {
		return err
	}
	if err := q.Start(ctx, engine); err != nil {
		return err
	}
	// Each session of the fire is started by its fire job, worked here or
	// by an earlier process: wait until each has been journaled and none
	// is left unfinished.
	for _, s := range sessions {
		for {
			n := 0
			err := store.ReplaySession(ctx, durable.FireSessionID(s.Key), func(session.Record) error { n++; return nil })
			if err != nil && !errors.Is(err, immy.ErrNotFound) {
				return err
			}
			if n > 0 {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	for {
		left, err := store.Unfinished(ctx)
		if err != nil {
			return err
		}
		if len(left) == 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := q.Close(cctx); err != nil {
		return err
	}
	if err := engine.Close(cctx); err != nil {
		return err
	}
	fmt.Printf("all %d tenant sessions ended\n", len(sessions))
	return nil
}
