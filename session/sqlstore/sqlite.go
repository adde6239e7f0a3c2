package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver

	"github.com/immyoss/engine/internal/sqlitedsn"
)

// sqliteSteps are the SQLite schema's migrations: step i brings the schema
// to version i+1. Steps are only ever appended.
var sqliteSteps = []string{
	// 1: sessions and their records. Records are kept in the order
	// appended (the rowid) and keyed by (session, seq), where session is
	// the session's number (the rowid of immy_sessions, given in the order
	// sessions are created): the sessions under way at one time have
	// numbers close together, so that a transaction of records of many
	// sessions writes few pages, even when session ids are random.
	`CREATE TABLE immy_sessions (
		n        INTEGER PRIMARY KEY,
		id       TEXT NOT NULL UNIQUE,
		computer TEXT NOT NULL,
		status   TEXT NOT NULL,
		created  TEXT NOT NULL,
		updated  TEXT NOT NULL,
		ended    INTEGER NOT NULL DEFAULT 0
	);
	CREATE INDEX immy_sessions_open ON immy_sessions (computer, created, id) WHERE ended = 0;
	CREATE INDEX immy_sessions_open_created ON immy_sessions (created, id) WHERE ended = 0;
	CREATE TABLE immy_records (
		id      INTEGER PRIMARY KEY,
		session INTEGER NOT NULL REFERENCES immy_sessions (n),
		seq     INTEGER NOT NULL,
		kind    TEXT NOT NULL,
		body    TEXT NOT NULL
	);
	CREATE UNIQUE INDEX immy_records_key ON immy_records (session, seq);`,
	// 2: a computer has one session not ended, at most: the writer checks
	// before it creates one; the index is the last line.
	`CREATE UNIQUE INDEX immy_sessions_computer_open ON immy_sessions (computer) WHERE ended = 0 AND computer <> '';`,
	// 3 (undone by 4): records are keyed by (seq, session), not (session, seq). A
	// transaction holds one record each of many sessions: keyed by session
	// first, its index entries landed on as many leaf pages as the
	// sessions under way span (most of the index's recent pages with
	// thousands under way), each page written to the WAL and synced at
	// every commit. The sessions under way are at few distinct Seqs, and
	// mostly reach a Seq in the order they began: keyed by Seq first, the
	// entries land at the end of those few Seqs' runs, a few pages. A
	// session's records are found a Seq at a time (lastSeq, page), as a
	// session's Seqs run 1, 2, 3... without a gap.
	`DROP INDEX immy_records_key;
	CREATE UNIQUE INDEX immy_records_seq ON immy_records (seq, session);`,
	// 4: records keyed by (session, seq) again, as in 1. Keyed by Seq
	// first, a journal wrote fewer WAL bytes in commits of thousands of
	// records, but the engine's commits hold tens of records at Seqs
	// spread over a session's whole life (sessions start one after
	// another), and there it cost a third more CPU per action
	// (BenchmarkSessions, 2,000 sessions: 164 us against 218 us, paired
	// runs); a session's last Seq and records are one range of the index
	// again.
	`DROP INDEX immy_records_seq;
	CREATE UNIQUE INDEX immy_records_key ON immy_records (session, seq);`,
}

// sqliteTime is how times are kept: UTC, fixed width, so that text order
// is time order.
const sqliteTime = "2006-01-02T15:04:05.000000000Z"

type sqliteBackend struct {
	db *sql.DB
	// w is the writer's own connection: its page cache stays warm from one
	// transaction to the next, which a connection taken from the pool
	// each time would lose (another connection's commit invalidates it).
	w *sql.Conn

	// statements prepared once on w, used in each of its transactions
	stLast, stCreate, stUpdate, stOpen *sql.Stmt
	// stInsert[k] inserts k records in one statement (k = 1..insertRows),
	// prepared when first needed
	stInsert [insertRows + 1]*sql.Stmt
	// the records of the transaction under way, inserted insertRows at a
	// time, and the arguments of one statement
	pending []*appendReq
	pendN   []int64
	args    []any

	// the writer's alone: the number and last Seq of sessions it wrote,
	// valid while the database's data_version is version
	last    map[string]known
	version int64
}

type known struct {
	n    int64 // the session's number; 0: no such session
	last int   // its last Seq
}

// maxCachedSessions bounds the writer's memory of last Seqs.
const maxCachedSessions = 1 << 16

// insertRows is the number of records one INSERT statement writes: a
// transaction of many records runs one statement per insertRows records,
// not one per record (SQLite allows 32,766 parameters; 4 per row).
const insertRows = 64

func newSQLiteBackend(ctx context.Context, db *sql.DB) (*sqliteBackend, error) {
	b := &sqliteBackend{db: db, last: map[string]known{}, version: -1}
	var err error
	if b.w, err = db.Conn(ctx); err != nil {
		return nil, err
	}
	// The writer copies the WAL back into the database (a checkpoint,
	// which runs in the commit that passes the bound, before its Appends
	// return) every 4000 pages instead of SQLite's 1000: the pages a
	// journal rewrites at every commit (index pages of the sessions under
	// way, the sessions' rows) are copied once per checkpoint, so fewer
	// checkpoints copy fewer pages (BenchmarkSessions, 1,000 sessions,
	// schema 3: 7% less CPU per action, paired runs).
	if _, err := b.w.ExecContext(ctx, `PRAGMA wal_autocheckpoint = 4000`); err != nil {
		b.close()
		return nil, err
	}
	for _, p := range []struct {
		st **sql.Stmt
		q  string
	}{
		{&b.stLast, `SELECT n, COALESCE((SELECT MAX(seq) FROM immy_records WHERE session = s.n), 0)
			FROM immy_sessions s WHERE id = ?`},
		{&b.stCreate, `INSERT INTO immy_sessions (id, computer, status, created, updated, ended) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO NOTHING`},
		{&b.stUpdate, `UPDATE immy_sessions SET updated = ?, status = COALESCE(?, status), ended = COALESCE(?, ended),
			computer = COALESCE(?, computer) WHERE n = ?`},
		{&b.stOpen, `SELECT id FROM immy_sessions WHERE computer = ? AND ended = 0 AND id <> ?
			ORDER BY created, id LIMIT 1`},
	} {
		if *p.st, err = b.w.PrepareContext(ctx, p.q); err != nil {
			b.close()
			return nil, err
		}
	}
	return b, nil
}

// OpenSQLite opens (creating it if needed) the SQLite database at path and
// migrates its schema. The database is one file in WAL mode, with foreign
// keys on, a busy timeout of 10 s for other connections and processes, and
// transactions that take the write lock when they begin. Close the Store to
// close it.
func OpenSQLite(ctx context.Context, path string, cfg Config) (*Store, error) {
	dsn, err := sqlitedsn.DSN(path, cfg.Synchronous)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: %w", err)
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open %s: %w", path, err)
	}
	conns := cfg.MaxConns
	if conns <= 0 {
		conns = 4
	}
	conns++ // the writer's own
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	db.SetConnMaxIdleTime(0)
	if err := migrateSQLite(ctx, db, sqliteSteps); err != nil {
		db.Close()
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	b, err := newSQLiteBackend(ctx, db)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlstore: open %s: %w", path, err)
	}
	return newStore(b, cfg, true), nil
}

// migrateSQLite brings the schema to the last of steps, each step in its own
// transaction with the version it reaches.
func migrateSQLite(ctx context.Context, db *sql.DB, steps []string) error {
	for {
		done, err := migrateSQLiteStep(ctx, db, steps)
		if err != nil || done {
			return err
		}
	}
}

func migrateSQLiteStep(ctx context.Context, db *sql.DB, steps []string) (done bool, err error) {
	tx, err := db.BeginTx(ctx, nil) // immediate: the write lock, so that two openers take turns
	if err != nil {
		return false, fmt.Errorf("sqlstore: migrate: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS immy_schema_version (
		version INTEGER PRIMARY KEY,
		applied TEXT NOT NULL
	)`); err != nil {
		return false, fmt.Errorf("sqlstore: migrate: %w", err)
	}
	var have int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM immy_schema_version`).Scan(&have); err != nil {
		return false, fmt.Errorf("sqlstore: migrate: schema version: %w", err)
	}
	switch {
	case have > len(steps):
		return false, &SchemaError{Dialect: "sqlite", Have: have, Know: len(steps)}
	case have == len(steps):
		return true, tx.Commit()
	}
	if _, err := tx.ExecContext(ctx, steps[have]); err != nil {
		return false, fmt.Errorf("sqlstore: migrate to schema version %d: %w", have+1, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO immy_schema_version (version, applied) VALUES (?, ?)`,
		have+1, time.Now().UTC().Format(sqliteTime)); err != nil {
		return false, fmt.Errorf("sqlstore: migrate to schema version %d: %w", have+1, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("sqlstore: migrate to schema version %d: %w", have+1, err)
	}
	return false, nil
}

// write checks each record's Seq against the last the session has, and
// changes the session's row only when the record creates it or changes its
// status: most records write their own row and an index entry, nothing
// more. Writers take turns (transactions begin immediate), so the check
// holds across processes too; the unique index on (session, seq) is the
// last line.
//
// The last Seq of the sessions the writer wrote comes from memory while no
// other connection has committed since (PRAGMA data_version, read under the
// write lock, tells); otherwise from the index.
func (b *sqliteBackend) write(ctx context.Context, batch []*appendReq) (err error) {
	// The transaction is run by hand on w, so that the statements
	// prepared on w run as they are: database/sql prepares a Conn's
	// statement again in each of its Tx.
	if _, err := b.w.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		return fmt.Errorf("sqlstore: begin: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			if _, rerr := b.w.ExecContext(context.Background(), `ROLLBACK`); rerr != nil {
				err = errors.Join(err, fmt.Errorf("sqlstore: rollback: %w", rerr))
			}
		}
	}()
	defer func() {
		if err != nil {
			clear(b.last) // what the transaction wrote is undone
		}
	}()
	var version int64
	if err := b.w.QueryRowContext(ctx, `PRAGMA data_version`).Scan(&version); err != nil {
		return fmt.Errorf("sqlstore: data version: %w", err)
	}
	if version != b.version || len(b.last) > maxCachedSessions {
		clear(b.last)
		b.version = version
	}
	last, create, update, open := b.stLast, b.stCreate, b.stUpdate, b.stOpen
	b.pending, b.pendN = b.pending[:0], b.pendN[:0]
	defer func() { clear(b.pending[:cap(b.pending)]) }() // the requests are their writers' again
	for _, r := range batch {
		k, ok := b.last[r.id]
		if !ok {
			err := last.QueryRowContext(ctx, r.id).Scan(&k.n, &k.last)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("sqlstore: session %q: last record: %w", r.id, err)
			}
		}
		if r.seq != k.last+1 {
			b.last[r.id] = k
			r.refuse(k.last + 1)
			continue
		}
		if r.opens() {
			// one session not ended per computer: the check holds, as
			// the writer holds the write lock
			var id string
			err := open.QueryRowContext(ctx, *r.computer, r.id).Scan(&id)
			switch {
			case err == nil:
				b.last[r.id] = k
				r.busy(id)
				continue
			case !errors.Is(err, sql.ErrNoRows):
				return fmt.Errorf("sqlstore: session %q: open session of computer %q: %w", r.id, *r.computer, err)
			}
		}
		switch {
		case k.n == 0:
			// the session's first record (a session's row exists when
			// it has records)
			computer := ""
			if r.computer != nil {
				computer = *r.computer
			}
			t := r.time.UTC().Format(sqliteTime)
			res, err := create.ExecContext(ctx, r.id, computer, r.statusOr(), t, t, r.ended != nil && *r.ended)
			if err != nil {
				return fmt.Errorf("sqlstore: session %q: record %d: %w", r.id, r.seq, err)
			}
			if c, err := res.RowsAffected(); err != nil {
				return fmt.Errorf("sqlstore: session %q: record %d: %w", r.id, r.seq, err)
			} else if c == 0 {
				r.refuse(0)
				continue
			}
			if k.n, err = res.LastInsertId(); err != nil {
				return fmt.Errorf("sqlstore: session %q: record %d: %w", r.id, r.seq, err)
			}
		case r.status != nil || r.ended != nil || r.computer != nil:
			if _, err := update.ExecContext(ctx, r.time.UTC().Format(sqliteTime), r.status, r.ended, r.computer, k.n); err != nil {
				return fmt.Errorf("sqlstore: session %q: record %d: %w", r.id, r.seq, err)
			}
		}
		b.pending, b.pendN = append(b.pending, r), append(b.pendN, k.n)
		if len(b.pending) == insertRows {
			if err := b.insert(ctx); err != nil {
				return err
			}
		}
		if r.ended != nil && *r.ended {
			delete(b.last, r.id)
		} else {
			b.last[r.id] = known{n: k.n, last: r.seq}
		}
	}
	if err := b.insert(ctx); err != nil {
		return err
	}
	if _, err := b.w.ExecContext(ctx, `COMMIT`); err != nil {
		return fmt.Errorf("sqlstore: commit: %w", err)
	}
	committed = true
	return nil
}

// insert writes the pending records in one statement. An error names the
// first of them; the transaction then fails whole, and Store.commit writes
// each record alone to find the one at fault.
func (b *sqliteBackend) insert(ctx context.Context) error {
	k := len(b.pending)
	if k == 0 {
		return nil
	}
	st := b.stInsert[k]
	if st == nil {
		var q strings.Builder
		q.WriteString(`INSERT INTO immy_records (session, seq, kind, body) VALUES (?, ?, ?, ?)`)
		for range k - 1 {
			q.WriteString(`, (?, ?, ?, ?)`)
		}
		var err error
		if st, err = b.w.PrepareContext(ctx, q.String()); err != nil {
			return fmt.Errorf("sqlstore: prepare insert of %d records: %w", k, err)
		}
		b.stInsert[k] = st
	}
	b.args = b.args[:0]
	for i, r := range b.pending {
		b.args = append(b.args, b.pendN[i], r.seq, r.kind, r.body)
	}
	_, err := st.ExecContext(ctx, b.args...)
	clear(b.args)
	if err != nil {
		r := b.pending[0]
		if k > 1 {
			return fmt.Errorf("sqlstore: records of session %q from %d and %d more: %w", r.id, r.seq, k-1, err)
		}
		return fmt.Errorf("sqlstore: session %q: record %d: %w", r.id, r.seq, err)
	}
	b.pending, b.pendN = b.pending[:0], b.pendN[:0]
	return nil
}

func (b *sqliteBackend) page(ctx context.Context, id string, after row, limit int) ([]row, error) {
	var (
		rows *sql.Rows
		err  error
	)
	if id != "" {
		rows, err = b.db.QueryContext(ctx, `SELECT r.id, s.id, r.seq, r.body FROM immy_sessions s
			JOIN immy_records r ON r.session = s.n
			WHERE s.id = ? AND r.seq > ? ORDER BY r.seq LIMIT ?`, id, after.seq, limit)
	} else {
		rows, err = b.db.QueryContext(ctx, `SELECT r.id, s.id, r.seq, r.body FROM immy_records r
			JOIN immy_sessions s ON s.n = r.session
			WHERE r.id > ? ORDER BY r.id LIMIT ?`, after.pos, limit)
	}
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.pos, &r.session, &r.seq, &r.body); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (b *sqliteBackend) unfinished(ctx context.Context) ([]string, error) {
	rows, err := b.db.QueryContext(ctx, `SELECT id FROM immy_sessions WHERE ended = 0 ORDER BY created, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

func (b *sqliteBackend) active(ctx context.Context, computer string) (string, bool, error) {
	var id string
	err := b.db.QueryRowContext(ctx, `SELECT id FROM immy_sessions WHERE computer = ? AND ended = 0
		ORDER BY created, id LIMIT 1`, computer).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return id, true, nil
}

func (b *sqliteBackend) close() error {
	var errs []error
	for _, st := range append([]*sql.Stmt{b.stLast, b.stCreate, b.stUpdate, b.stOpen}, b.stInsert[:]...) {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	if b.w != nil {
		errs = append(errs, b.w.Close())
	}
	return errors.Join(append(errs, b.db.Close())...)
}
