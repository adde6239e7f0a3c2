package fleetstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/internal/sqlitedsn"
)

// Config tunes a Store. The zero Config is ready for use.
type Config struct {
	// Checks are rules of the fleet beyond those every change is held to
	// (immy's Validate, filters that compile, prerequisites without cycles);
	// each returns its problems with Section, Index, ID and Field set.
	Checks []func(*immy.Fleet) immy.Problems
	// Synchronous is SQLite's synchronous setting, as in session/sqlstore:
	// "FULL" (the default, for "") or "NORMAL".
	Synchronous string
	// Now gives the time of audit entries; nil means time.Now.
	Now func() time.Time
}

// ErrClosed is returned by the methods of a closed Store.
var ErrClosed = errors.New("fleetstore: store closed")

// Store is the living fleet, kept in SQL. It holds the fleet of its current
// revision in memory, loaded at Open, and changes it only by transactions
// that land whole or not at all. It is safe for concurrent use; writes take
// turns.
type Store struct {
	db      *sql.DB
	pool    *pgxpool.Pool // PostgreSQL: for Follow's listening connection
	d       dialect
	cfg     Config
	ownsDB  bool
	mu      sync.Mutex // held by a writer, from its transaction's begin to the new snapshot
	cur     atomic.Pointer[snapshot]
	changes changeTable              // what changed since which revision (changes.go)
	handed  atomic.Pointer[snapshot] // the latest snapshot handed out (Computer reads it)
	closed  atomic.Bool
	failing func(step string) error // tests: fault injection inside a transaction
}

// snapshot is the fleet at one revision. A change makes a new Fleet that
// shares what did not change. Once handed out (see shared) a snapshot's
// Fleet is never changed; until then, the next inventory write may take its
// computers over and change them in place (see handout.go).
type snapshot struct {
	rev      int64
	fleet    *immy.Fleet
	computer map[string]int // computer id -> index in fleet.Computers
	lastSeen *seenTable     // shared by the snapshots of one load, changed in place
	comps    *computers     // the state of fleet.Computers' array
}

// OpenSQLite opens (creating it if needed) the SQLite database at path,
// migrates the fleet's tables and loads the fleet. Give it the path of the
// journal's database (session/sqlstore) to keep both in one file. The
// database is in WAL mode, with a busy timeout of 10 s and transactions that
// take the write lock when they begin, as session/sqlstore opens it.
func OpenSQLite(ctx context.Context, path string, cfg Config) (*Store, error) {
	dsn, err := sqlitedsn.DSN(path, cfg.Synchronous)
	if err != nil {
		return nil, fmt.Errorf("fleetstore: %w", err)
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("fleetstore: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(4)
	s, err := open(ctx, db, sqliteDialect, cfg, true)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	return s, nil
}

// OpenPostgres returns a Store over the PostgreSQL database of pool,
// migrating the fleet's tables (in the pool's search path) and loading the
// fleet. The pool stays the caller's: Close leaves it open. Several engine
// processes may share one database: a change checks its conflicts and
// validates against the fleet the database holds, whoever wrote it.
func OpenPostgres(ctx context.Context, pool *pgxpool.Pool, cfg Config) (*Store, error) {
	if pool == nil {
		return nil, errors.New("fleetstore: OpenPostgres: nil pool")
	}
	s, err := open(ctx, stdlib.OpenDBFromPool(pool), postgresDialect, cfg, false)
	if err != nil {
		return nil, err
	}
	s.pool = pool
	return s, nil
}

func open(ctx context.Context, db *sql.DB, d dialect, cfg Config, owns bool) (*Store, error) {
	s := &Store{db: db, d: d, cfg: cfg, ownsDB: owns}
	if err := d.migrate(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	snap, err := s.load(ctx, db)
	if err != nil {
		db.Close()
		return nil, err
	}
	s.changes.changedAll(snap.rev)
	s.cur.Store(snap)
	return s, nil
}

// Close closes the store (and the SQLite database it opened).
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.db.Close()
}

// Fleet returns the fleet of the current revision. It is shared: do not
// change it. A later change makes a new Fleet; this one stays as it is, so
// that a session keeps the fleet it planned from.
func (s *Store) Fleet() *immy.Fleet { return s.shared().fleet }

// Revision returns the current revision: 0 for an empty store, one more for
// each change or inventory write that landed.
func (s *Store) Revision() int64 { return s.cur.Load().rev }

// Snapshot returns the fleet and its revision together.
func (s *Store) Snapshot() (*immy.Fleet, int64) {
	c := s.shared()
	return c.fleet, c.rev
}

// LastSeen returns when the computer was last seen, as PutInventory wrote
// it, and whether that is known.
func (s *Store) LastSeen(computer string) (time.Time, bool) {
	return s.cur.Load().lastSeen.get(computer)
}

// Refresh loads the fleet again if another process changed it.
func (s *Store) Refresh(ctx context.Context) error {
	if s.closed.Load() {
		return ErrClosed
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var rev int64
	if err := s.db.QueryRowContext(ctx, `SELECT revision FROM immy_fleet_state WHERE id = 1`).Scan(&rev); err != nil {
		return fmt.Errorf("fleetstore: revision: %w", err)
	}
	if rev == s.cur.Load().rev {
		return nil
	}
	snap, err := s.load(ctx, s.db)
	if err != nil {
		return err
	}
	s.changes.changedAll(snap.rev)
	s.cur.Store(snap)
	return nil
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// load reads the whole fleet.
func (s *Store) load(ctx context.Context, q querier) (*snapshot, error) {
	snap := &snapshot{fleet: &immy.Fleet{}, lastSeen: &seenTable{m: map[string]time.Time{}}, comps: &computers{}}
	if err := q.QueryRowContext(ctx, `SELECT revision FROM immy_fleet_state WHERE id = 1`).Scan(&snap.rev); err != nil {
		return nil, fmt.Errorf("fleetstore: load: revision: %w", err)
	}
	rows, err := q.QueryContext(ctx, `SELECT kind, id, doc FROM immy_fleet_entities WHERE doc IS NOT NULL
		ORDER BY kind, created_rev, created_pos`)
	if err != nil {
		return nil, fmt.Errorf("fleetstore: load: %w", err)
	}
	vals := map[Kind][]any{}
	var errs []error
	for rows.Next() {
		var kind, id, doc string
		if err := rows.Scan(&kind, &id, &doc); err != nil {
			rows.Close()
			return nil, fmt.Errorf("fleetstore: load: %w", err)
		}
		sec, ok := sectionOf[Kind(kind)]
		if !ok {
			errs = append(errs, fmt.Errorf("fleetstore: load: %s %q: unknown kind", kind, id))
			continue
		}
		v, err := sec.decode([]byte(doc))
		if err != nil {
			errs = append(errs, fmt.Errorf("fleetstore: load: %s %q: %w", kind, id, err))
			continue
		}
		vals[Kind(kind)] = append(vals[Kind(kind)], v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("fleetstore: load: %w", err)
	}
	rows.Close()
	for _, sec := range sections {
		sec.fill(snap.fleet, vals[sec.kind()])
	}
	snap.index()

	rows, err = q.QueryContext(ctx, `SELECT computer, doc FROM immy_fleet_inventory`)
	if err != nil {
		return nil, fmt.Errorf("fleetstore: load: inventory: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, doc string
		if err := rows.Scan(&id, &doc); err != nil {
			return nil, fmt.Errorf("fleetstore: load: inventory: %w", err)
		}
		i, ok := snap.computer[id]
		if !ok {
			continue // a computer deleted by an older engine; nothing reads it
		}
		var x inventoryDoc
		if err := unmarshal(doc, &x); err != nil {
			errs = append(errs, fmt.Errorf("fleetstore: load: inventory of %q: %w", id, err))
			continue
		}
		var dec decoder
		if seen := x.apply(&dec, &snap.fleet.Computers[i]); !seen.IsZero() {
			snap.lastSeen.m[id] = seen
		}
		if err := errors.Join(dec.errs...); err != nil {
			errs = append(errs, fmt.Errorf("fleetstore: load: inventory of %q: %w", id, err))
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("fleetstore: load: inventory: %w", err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return snap, nil
}

func (snap *snapshot) index() {
	snap.computer = make(map[string]int, len(snap.fleet.Computers))
	for i, c := range snap.fleet.Computers {
		snap.computer[c.ID] = i
	}
}

// begin starts a write: it takes the writer's turn, begins a transaction
// and returns the snapshot of the revision the database holds (loaded
// again if another process moved it on). The caller ends the transaction
// and then calls the returned function.
func (s *Store) begin(ctx context.Context) (*sql.Tx, *snapshot, func(), error) {
	if s.closed.Load() {
		return nil, nil, nil, ErrClosed
	}
	s.mu.Lock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		s.mu.Unlock()
		return nil, nil, nil, fmt.Errorf("fleetstore: begin: %w", err)
	}
	var rev int64
	if err := tx.QueryRowContext(ctx, `SELECT revision FROM immy_fleet_state WHERE id = 1`+s.d.forUpdate).Scan(&rev); err != nil {
		tx.Rollback()
		s.mu.Unlock()
		return nil, nil, nil, fmt.Errorf("fleetstore: revision: %w", err)
	}
	cur := s.cur.Load()
	if rev != cur.rev {
		if cur, err = s.load(ctx, tx); err != nil {
			tx.Rollback()
			s.mu.Unlock()
			return nil, nil, nil, err
		}
		s.changes.changedAll(cur.rev)
		s.cur.Store(cur)
	}
	return tx, cur, s.mu.Unlock, nil
}

// fault is the test hook between the steps of a transaction.
func (s *Store) fault(step string) error {
	if s.failing == nil {
		return nil
	}
	return s.failing(step)
}

func (s *Store) now() time.Time {
	if s.cfg.Now != nil {
		return s.cfg.Now()
	}
	return time.Now()
}
