// Package core wires the engine's parts into the example server's runtime:
// the fleet store, the session journal, the River queue and the agent
// store in one database (a SQLite file, or PostgreSQL), the agent server,
// and a session engine over the fleet's current revision.
//
// The fleet changes (an admin's edit, an agent enrolling, inventory): the
// one session.Engine is made over the fleet store as its Config.Fleet, and
// plans each session from the store's current revision; what sessions learn
// of their computers goes back to the store through
// fleetstore.SessionSink.
package core

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/immyoss/engine/agent"
	agentsql "github.com/immyoss/engine/agent/sqlstore"
	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/resolver"
	"github.com/immyoss/engine/session"
	"github.com/immyoss/engine/session/durable"
	"github.com/immyoss/engine/session/fleetstore"
	"github.com/immyoss/engine/session/sqlstore"
	"github.com/immyoss/engine/targets"
)

// Config configures a Core.
type Config struct {
	// DB is the path of the SQLite file, or a postgres:// URL.
	DB string
	// ClientID names this process to River, stable across its restarts.
	ClientID string
	// MaxRunning caps the sessions this process works at once.
	MaxRunning int
	// ScriptTimeout bounds each script; zero means the engine's default.
	ScriptTimeout time.Duration
	// Logger receives the logs; nil discards them.
	Logger *slog.Logger
	// Runners are the script runners of integrations (plugin instances), by
	// instance id; the agent server is the engine's own Runner.
	Runners map[string]immy.ScriptRunner
	// FetchPoll is River's poll interval; zero means its default.
	FetchPoll time.Duration
	// Notifier, when set, tells people before and after execution (the
	// emails); the postponements asked are answered after it.
	Notifier session.Notifier
	// Integrations serves the integration calls of tenant (cloud) scripts.
	Integrations session.Integrations
}

// Core is the server's runtime.
type Core struct {
	cfg     Config
	log     *slog.Logger
	Fleet   *fleetstore.Store
	Journal *Journal
	Agents  *agent.Server
	Tokens  *agentsql.Store
	Queue   *durable.Queue
	SQL     *sql.DB       // the SQLite database (nil on PostgreSQL)
	Pool    *pgxpool.Pool // the PostgreSQL pool (nil on SQLite)
	Dialect string        // "sqlite" or "postgres"

	// OnAgent, when set, is told each agent status change (metrics);
	// OnSessionEnd each session that ended in this process.
	OnAgent      func(agent.Status)
	OnSessionEnd func(id string)

	engine *session.Engine

	pmu     sync.Mutex // guards planner, prev
	planner *resolver.Planner
	prevRev int64

	post         postponer
	router       *router
	presence     chan func(context.Context)
	presenceDone chan struct{}
	invSem       chan struct{} // bounds the inventory reads under way
}

// IsPostgres reports whether dsn names a PostgreSQL database.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Open opens the database, migrating every part's tables, and the agent
// server. Call Start to start working sessions.
func Open(ctx context.Context, cfg Config) (c *Core, err error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	c = &Core{cfg: cfg, log: cfg.Logger}
	defer func() {
		if err != nil {
			c.Close(context.WithoutCancel(ctx))
		}
	}()
	var js *sqlstore.Store
	if IsPostgres(cfg.DB) {
		c.Dialect = "postgres"
		if c.Pool, err = pgxpool.New(ctx, cfg.DB); err != nil {
			return nil, fmt.Errorf("core: postgres: %w", err)
		}
		if c.Fleet, err = fleetstore.OpenPostgres(ctx, c.Pool, fleetstore.Config{}); err != nil {
			return nil, err
		}
		if js, err = sqlstore.OpenPostgres(ctx, c.Pool, sqlstore.Config{}); err != nil {
			return nil, err
		}
		if c.Tokens, err = agentsql.OpenPostgres(ctx, c.Pool, agentsql.Config{}); err != nil {
			return nil, err
		}
		if c.Queue, err = durable.Open(ctx, c.queueConfig(durable.Config{Postgres: c.Pool})); err != nil {
			return nil, err
		}
	} else {
		c.Dialect = "sqlite"
		if dir := filepath.Dir(cfg.DB); dir != "" {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, fmt.Errorf("core: %w", err)
			}
		}
		if js, err = sqlstore.OpenSQLite(ctx, cfg.DB, sqlstore.Config{Synchronous: "NORMAL"}); err != nil {
			return nil, err
		}
		c.SQL = js.DB()
		if c.Fleet, err = fleetstore.OpenSQLite(ctx, cfg.DB, fleetstore.Config{Synchronous: "NORMAL"}); err != nil {
			js.Close()
			return nil, err
		}
		if c.Tokens, err = agentsql.OpenSQLite(ctx, cfg.DB, agentsql.Config{}); err != nil {
			js.Close()
			return nil, err
		}
		if c.Queue, err = durable.Open(ctx, c.queueConfig(durable.Config{SQLite: c.SQL})); err != nil {
			js.Close()
			return nil, err
		}
	}
	c.router.own = c.Queue
	if err := c.migratePresence(ctx); err != nil {
		return nil, fmt.Errorf("core: %w", err)
	}
	if err := c.migrateSessionTenants(ctx); err != nil {
		return nil, fmt.Errorf("core: %w", err)
	}
	if err := c.migratePostpones(ctx); err != nil {
		return nil, fmt.Errorf("core: %w", err)
	}
	if err := c.migrateTicks(ctx); err != nil {
		return nil, fmt.Errorf("core: %w", err)
	}
	c.post.c = c
	c.Journal = newJournal(js, c)
	if err := c.sweepPostpones(ctx); err != nil {
		return nil, fmt.Errorf("core: postponements: %w", err)
	}
	c.Agents = agent.NewServer(agent.Config{
		Store:    c.Tokens,
		Tenant:   c.tenantOf,
		OnStatus: c.onStatus,
		Logger:   c.log.With("part", "agent"),
	})
	c.engine, err = session.New(session.Config{
		Fleet: c.Fleet, NewPlanner: BuildPlanner, InventorySink: fleetstore.SessionSink(c.Fleet),
		Runner: c.Agents, Runners: c.cfg.Runners,
		Journal: c.Journal, Dispatcher: c.router, Notifier: c.notifier(), Integrations: c.cfg.Integrations,
		MaxRunning: c.cfg.MaxRunning, ScriptTimeout: c.cfg.ScriptTimeout,
	})
	if err != nil {
		return nil, fmt.Errorf("core: engine: %w", err)
	}
	return c, nil
}

func (c *Core) queueConfig(q durable.Config) durable.Config {
	c.router = &router{c: c, name: QueueName(c.cfg.ClientID), qcfg: q}
	c.router.qcfg.FetchPollInterval = c.cfg.FetchPoll
	q.Queue = c.router.name
	q.ClientID = c.cfg.ClientID
	q.Workers = c.cfg.MaxRunning
	q.FetchPollInterval = c.cfg.FetchPoll
	q.Logger = c.log.With("part", "river")
	return q
}

// Start starts working the sessions River hands this process (those an
// earlier run left included).
func (c *Core) Start(ctx context.Context) error {
	if err := c.Queue.Start(ctx, c.engine); err != nil {
		return err
	}
	go c.heartbeat(ctx)
	go func() {
		// the revisions other processes write: their edits, their agents
		if err := c.Fleet.Follow(ctx, fleetstore.FollowConfig{}); err != nil {
			c.log.Warn("fleet store not followed", "err", err)
		}
	}()
	return nil
}

// tenantOf is the agent server's Config.Tenant: only agents of a
// computer's tenant run its scripts.
func (c *Core) tenantOf(_ context.Context, computer string) (string, error) {
	f := c.Fleet.Fleet()
	for i := range f.Computers {
		if f.Computers[i].ID == computer {
			return f.Computers[i].Tenant, nil
		}
	}
	return "", fmt.Errorf("computer %q: %w", computer, immy.ErrNotFound)
}

// Engine returns the session engine.
func (c *Core) Engine(context.Context) (*session.Engine, error) { return c.engine, nil }

// EngineFor returns the session engine, which plans a computer's session
// from the fleet's current revision.
func (c *Core) EngineFor(ctx context.Context, _ string) (*session.Engine, error) {
	return c.engine, nil
}

// Planner returns a planner of the fleet's current revision (the what-if of
// the API's plans), made from the last one with what changed.
func (c *Core) Planner(ctx context.Context) (*resolver.Planner, *immy.Fleet, error) {
	f, rev := c.Fleet.Snapshot()
	c.pmu.Lock()
	defer c.pmu.Unlock()
	if c.planner == nil || c.prevRev != rev {
		p, err := BuildPlanner(f)
		if err != nil {
			return nil, nil, err
		}
		c.planner, c.prevRev = p, rev
	}
	return c.planner, c.planner.Catalogue().Fleet(), nil
}

// BuildPlanner compiles a planner over a fleet.
func BuildPlanner(f *immy.Fleet) (*resolver.Planner, error) {
	cat, err := resolver.NewCatalogue(f)
	if err != nil {
		return nil, fmt.Errorf("core: catalogue: %w", err)
	}
	ix, err := targets.NewIndex(f, targets.Config{At: f.At})
	if err != nil {
		return nil, fmt.Errorf("core: targets: %w", err)
	}
	p, err := resolver.NewPlanner(ix, cat, resolver.Config{At: f.At})
	if err != nil {
		return nil, fmt.Errorf("core: planner: %w", err)
	}
	return p, nil
}

// Engines calls fn with the engine (metrics).
func (c *Core) Engines(fn func(*session.Engine) bool) { fn(c.engine) }

// Close stops working (sessions under way stop where they are, for the next
// start to resume them from the journal) and closes everything.
func (c *Core) Close(ctx context.Context) error {
	var errs []error
	if c.Queue != nil {
		qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		errs = append(errs, c.Queue.Close(qctx))
		cancel()
	}
	if c.engine != nil {
		errs = append(errs, c.engine.Close(ctx))
	}
	if c.router != nil {
		c.router.mu.Lock()
		for _, q := range c.router.others {
			errs = append(errs, q.Close(ctx))
		}
		c.router.mu.Unlock()
	}
	if c.Agents != nil {
		errs = append(errs, c.Agents.Close())
	}
	if c.Tokens != nil {
		errs = append(errs, c.Tokens.Close())
	}
	if c.Fleet != nil {
		errs = append(errs, c.Fleet.Close())
	}
	if c.Journal != nil {
		errs = append(errs, c.Journal.Store.Close())
	}
	if c.Pool != nil {
		c.Pool.Close()
	}
	var out []error
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, fleetstore.ErrClosed) {
			out = append(out, err)
		}
	}
	return errors.Join(out...)
}

// Redacted returns a database name fit for a log: a URL's password hidden.
func Redacted(dsn string) string {
	if !IsPostgres(dsn) {
		return dsn
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "postgres://..."
	}
	return u.Redacted()
}
