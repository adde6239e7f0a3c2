package sqlstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// postgresSteps are the PostgreSQL schema's migrations: step i brings the
// schema to version i+1. Steps are only ever appended.
var postgresSteps = []string{
	// 1: sessions and their records
	`CREATE TABLE immy_sessions (
		id       text COLLATE "C" PRIMARY KEY,
		computer text NOT NULL,
		status   text NOT NULL,
		last_seq integer NOT NULL,
		created  timestamptz NOT NULL,
		updated  timestamptz NOT NULL,
		ended    boolean NOT NULL DEFAULT false
	);
	CREATE INDEX immy_sessions_open ON immy_sessions (computer, created, id) WHERE NOT ended;
	CREATE INDEX immy_sessions_open_created ON immy_sessions (created, id) WHERE NOT ended;
	CREATE TABLE immy_records (
		session text COLLATE "C" NOT NULL REFERENCES immy_sessions (id),
		seq     integer NOT NULL,
		kind    text NOT NULL,
		body    json NOT NULL,
		PRIMARY KEY (session, seq)
	);`,
	// 2: a computer has one session not ended, at most: a session is
	// created only when its computer has none (pgCreate), and this index
	// is the last line against two processes creating one at once.
	`CREATE UNIQUE INDEX immy_sessions_computer_open ON immy_sessions (computer) WHERE NOT ended AND computer <> '';`,
}

// migrationLock is the key of the advisory lock that makes two processes
// migrating one PostgreSQL database take turns.
const migrationLock = 0x696d6d7973746f72 // "immystor"

type postgresBackend struct {
	pool *pgxpool.Pool
}

// OpenPostgres returns a Store over the PostgreSQL database of pool,
// migrating its schema (in the pool's search path). The pool stays the
// caller's: Close leaves it open. Several engine processes may share one
// database: the sequence rule holds across them.
func OpenPostgres(ctx context.Context, pool *pgxpool.Pool, cfg Config) (*Store, error) {
	if pool == nil {
		return nil, errors.New("sqlstore: OpenPostgres: nil pool")
	}
	if err := migratePostgres(ctx, pool, postgresSteps); err != nil {
		return nil, err
	}
	return newStore(&postgresBackend{pool: pool}, cfg, false), nil
}

func migratePostgres(ctx context.Context, pool *pgxpool.Pool, steps []string) error {
	for {
		done, err := migratePostgresStep(ctx, pool, steps)
		if err != nil || done {
			return err
		}
	}
}

func migratePostgresStep(ctx context.Context, pool *pgxpool.Pool, steps []string) (done bool, err error) {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return false, fmt.Errorf("sqlstore: migrate: %w", err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrationLock)); err != nil {
		return false, fmt.Errorf("sqlstore: migrate: lock: %w", err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS immy_schema_version (
		version integer PRIMARY KEY,
		applied timestamptz NOT NULL DEFAULT now()
	)`); err != nil {
		return false, fmt.Errorf("sqlstore: migrate: %w", err)
	}
	var have int
	if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM immy_schema_version`).Scan(&have); err != nil {
		return false, fmt.Errorf("sqlstore: migrate: schema version: %w", err)
	}
	switch {
	case have > len(steps):
		return false, &SchemaError{Dialect: "postgres", Have: have, Know: len(steps)}
	case have == len(steps):
		return true, tx.Commit(ctx)
	}
	if _, err := tx.Exec(ctx, steps[have]); err != nil {
		return false, fmt.Errorf("sqlstore: migrate to schema version %d: %w", have+1, err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO immy_schema_version (version) VALUES ($1)`, have+1); err != nil {
		return false, fmt.Errorf("sqlstore: migrate to schema version %d: %w", have+1, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return false, fmt.Errorf("sqlstore: migrate to schema version %d: %w", have+1, err)
	}
	return false, nil
}

// The sequence rule in one statement each: the session's row is created
// (first record) or moved on from the previous Seq, and the record is
// inserted only when that happened; no row inserted means refused. Across
// processes, the primary key of immy_sessions and the row lock of the update
// make the second writer of a (session, seq) find nothing to do.
//
// A session that is not ended is created (or given a computer) only when its
// computer has no other one not ended. Two processes that create one at once
// both find none; the unique index immy_sessions_computer_open then makes the
// second wait for the first to commit and do nothing (ON CONFLICT DO NOTHING
// without a target covers every unique index), so that no statement fails
// and the batch's transaction goes on. pgOpen then tells why a record was
// refused.
const (
	pgCreate = `WITH s AS (
		INSERT INTO immy_sessions (id, computer, status, last_seq, created, updated, ended)
		SELECT $1::text, $2::text, $3::text, 1, $4::timestamptz, $4::timestamptz, $5::boolean
		WHERE $5::boolean OR $2::text = '' OR NOT EXISTS (
			SELECT 1 FROM immy_sessions WHERE computer = $2 AND NOT ended AND id <> $1)
		ON CONFLICT DO NOTHING RETURNING id)
	INSERT INTO immy_records (session, seq, kind, body) SELECT id, 1, $6, $7 FROM s`
	pgNext = `WITH s AS (
		UPDATE immy_sessions SET last_seq = $2, updated = $3,
			status = COALESCE($4, status), ended = COALESCE($5, ended), computer = COALESCE($6, computer)
		WHERE id = $1 AND last_seq = $2 - 1
			AND ($6::text IS NULL OR $6::text = '' OR COALESCE($5::boolean, ended) OR NOT EXISTS (
				SELECT 1 FROM immy_sessions WHERE computer = $6::text AND NOT ended AND id <> $1))
		RETURNING id)
	INSERT INTO immy_records (session, seq, kind, body) SELECT id, $2, $7, $8 FROM s`
	// the session's last Seq (NULL: no such session) and the computer's
	// other session not ended, if any
	pgOpen = `SELECT (SELECT last_seq FROM immy_sessions WHERE id = $1),
		(SELECT id FROM immy_sessions WHERE computer = $2 AND NOT ended AND id <> $1 ORDER BY created, id LIMIT 1)`
)

func (b *postgresBackend) write(ctx context.Context, batch []*appendReq) error {
	tx, err := b.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return fmt.Errorf("sqlstore: begin: %w", err)
	}
	defer tx.Rollback(ctx)
	var qb pgx.Batch
	for _, r := range batch {
		if r.seq == 1 {
			computer := ""
			if r.computer != nil {
				computer = *r.computer
			}
			qb.Queue(pgCreate, r.id, computer, r.statusOr(), r.time, r.ended != nil && *r.ended, r.kind, r.body)
		} else {
			qb.Queue(pgNext, r.id, r.seq, r.time, r.status, r.ended, r.computer, r.kind, r.body)
		}
	}
	br := tx.SendBatch(ctx, &qb)
	var why []*appendReq // refused records that would open a computer's session
	for _, r := range batch {
		tag, err := br.Exec()
		if err != nil {
			br.Close()
			if pe := (*pgconn.PgError)(nil); errors.As(err, &pe) && pe.Code == "23505" {
				// a unique violation: records the session's row does not
				// account for, written by another writer
				r.refuse(0)
				return r.err
			}
			return fmt.Errorf("sqlstore: session %q: record %d: %w", r.id, r.seq, err)
		}
		if tag.RowsAffected() == 0 {
			r.refuse(0)
			if r.opens() {
				why = append(why, r)
			}
		}
	}
	if err := br.Close(); err != nil {
		return fmt.Errorf("sqlstore: batch: %w", err)
	}
	for _, r := range why {
		if err := b.explain(ctx, tx, r); err != nil {
			return err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("sqlstore: commit: %w", err)
	}
	return nil
}

// explain finds why r, which would open its computer's session, was
// refused: the computer's other session not ended (a *BusyError), else the
// sequence rule. A session the computer had when r was written may have
// ended since: a first record is then written again, a few times at most.
// Each statement of the transaction (read committed) sees what was committed
// before it began.
func (b *postgresBackend) explain(ctx context.Context, tx pgx.Tx, r *appendReq) error {
	for attempt := 1; ; attempt++ {
		var (
			last *int
			open *string
		)
		if err := tx.QueryRow(ctx, pgOpen, r.id, *r.computer).Scan(&last, &open); err != nil {
			return fmt.Errorf("sqlstore: session %q: open session of computer %q: %w", r.id, *r.computer, err)
		}
		switch {
		case open != nil:
			r.busy(*open)
			return nil
		case last != nil || r.seq != 1 || attempt == 3:
			return nil // refused by the sequence rule
		}
		tag, err := tx.Exec(ctx, pgCreate, r.id, *r.computer, r.statusOr(), r.time, false, r.kind, r.body)
		if err != nil {
			return fmt.Errorf("sqlstore: session %q: record %d: %w", r.id, r.seq, err)
		}
		if tag.RowsAffected() == 1 {
			r.err = nil
			return nil
		}
	}
}

func (b *postgresBackend) page(ctx context.Context, id string, after row, limit int) ([]row, error) {
	var (
		rows pgx.Rows
		err  error
	)
	if id != "" {
		rows, err = b.pool.Query(ctx, `SELECT session, seq, body FROM immy_records
			WHERE session = $1 AND seq > $2 ORDER BY seq LIMIT $3`, id, after.seq, limit)
	} else {
		rows, err = b.pool.Query(ctx, `SELECT session, seq, body FROM immy_records
			WHERE (session, seq) > ($1, $2) ORDER BY session, seq LIMIT $3`, after.session, after.seq, limit)
	}
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.session, &r.seq, &r.body); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (b *postgresBackend) unfinished(ctx context.Context) ([]string, error) {
	rows, err := b.pool.Query(ctx, `SELECT id FROM immy_sessions WHERE NOT ended ORDER BY created, id`)
	if err != nil {
		return nil, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return ids, err
}

func (b *postgresBackend) active(ctx context.Context, computer string) (string, bool, error) {
	var id string
	err := b.pool.QueryRow(ctx, `SELECT id FROM immy_sessions WHERE computer = $1 AND NOT ended
		ORDER BY created, id LIMIT 1`, computer).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return id, true, nil
}

func (b *postgresBackend) close() error { return nil }
