package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// The schema's migrations, per dialect: step i brings the schema to version
// i+1. Steps are only ever appended. Tables are named immy_agent_*, and the
// schema's version is kept apart from other users of the database (the
// session journal's immy_schema_version among them).
var (
	sqliteSteps = []string{
		// 1: install tokens and enrolled agents. Times are UTC text of fixed
		// width, so that text order is time order; an expiry of NULL is never.
		`CREATE TABLE immy_agent_tokens (
			id       TEXT PRIMARY KEY,
			tenant   TEXT NOT NULL,
			hash     BLOB NOT NULL UNIQUE,
			created  TEXT NOT NULL,
			expires  TEXT,
			max_uses INTEGER NOT NULL DEFAULT 0 CHECK (max_uses >= 0),
			uses     INTEGER NOT NULL DEFAULT 0 CHECK (uses >= 0)
		);
		CREATE INDEX immy_agent_tokens_tenant ON immy_agent_tokens (tenant, id);
		CREATE TABLE immy_agent_records (
			id         TEXT PRIMARY KEY,
			tenant     TEXT NOT NULL,
			public_key BLOB NOT NULL,
			token      TEXT NOT NULL,
			ephemeral  INTEGER NOT NULL DEFAULT 0,
			enrolled   TEXT NOT NULL
		);
		CREATE INDEX immy_agent_records_tenant ON immy_agent_records (tenant, id);`,
	}
	postgresSteps = []string{
		// 1: install tokens and enrolled agents
		`CREATE TABLE immy_agent_tokens (
			id       text COLLATE "C" PRIMARY KEY,
			tenant   text NOT NULL,
			hash     bytea NOT NULL UNIQUE,
			created  timestamptz NOT NULL,
			expires  timestamptz,
			max_uses integer NOT NULL DEFAULT 0 CHECK (max_uses >= 0),
			uses     integer NOT NULL DEFAULT 0 CHECK (uses >= 0)
		);
		CREATE INDEX immy_agent_tokens_tenant ON immy_agent_tokens (tenant, id);
		CREATE TABLE immy_agent_records (
			id         text COLLATE "C" PRIMARY KEY,
			tenant     text NOT NULL,
			public_key bytea NOT NULL,
			token      text NOT NULL,
			ephemeral  boolean NOT NULL DEFAULT false,
			enrolled   timestamptz NOT NULL
		);
		CREATE INDEX immy_agent_records_tenant ON immy_agent_records (tenant, id);`,
	}
)

// migrationLock is the key of PostgreSQL's advisory lock that makes two
// processes migrating one database take turns.
const migrationLock = 0x696d6d7961676e74 // "immyagnt"

// migrate brings the schema to the last of steps, each step in a
// transaction of its own with the version it reaches, so that a step that
// fails leaves the database at the version before it.
func migrate(ctx context.Context, db *sql.DB, d dialect, steps []string) error {
	for {
		done, err := migrateStep(ctx, db, d, steps)
		if err != nil || done {
			return err
		}
	}
}

func migrateStep(ctx context.Context, db *sql.DB, d dialect, steps []string) (done bool, err error) {
	tx, err := db.BeginTx(ctx, nil) // SQLite: immediate, so that two openers take turns
	if err != nil {
		return false, fmt.Errorf("sqlstore: migrate: %w", err)
	}
	defer tx.Rollback()
	if d == postgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrationLock)); err != nil {
			return false, fmt.Errorf("sqlstore: migrate: lock: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS immy_agent_schema_version (
		version INTEGER PRIMARY KEY,
		applied TEXT NOT NULL
	)`); err != nil {
		return false, fmt.Errorf("sqlstore: migrate: %w", err)
	}
	var have int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM immy_agent_schema_version`).Scan(&have); err != nil {
		return false, fmt.Errorf("sqlstore: migrate: schema version: %w", err)
	}
	switch {
	case have > len(steps):
		return false, &SchemaError{Dialect: d.String(), Have: have, Know: len(steps)}
	case have == len(steps):
		return true, tx.Commit()
	}
	if _, err := tx.ExecContext(ctx, steps[have]); err != nil {
		return false, fmt.Errorf("sqlstore: migrate to schema version %d: %w", have+1, err)
	}
	if _, err := tx.ExecContext(ctx, d.rebind(`INSERT INTO immy_agent_schema_version (version, applied) VALUES (?, ?)`),
		have+1, time.Now().UTC().Format(sqliteTime)); err != nil {
		return false, fmt.Errorf("sqlstore: migrate to schema version %d: %w", have+1, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("sqlstore: migrate to schema version %d: %w", have+1, err)
	}
	return false, nil
}

// SchemaError is returned when a database's schema is newer than this code
// knows: it was migrated by a later version of the engine. Nothing was
// changed.
type SchemaError struct {
	Dialect string // "sqlite" or "postgres"
	Have    int    // the database's schema version
	Know    int    // the newest version this code knows
}

func (e *SchemaError) Error() string {
	return fmt.Sprintf("sqlstore: %s database has agent schema version %d, newer than this engine knows (%d): upgrade the engine", e.Dialect, e.Have, e.Know)
}
