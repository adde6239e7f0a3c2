package fleetstore

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The fleet store's tables share a database with the journal's
// (session/sqlstore) and keep a migration history of their own,
// immy_fleet_schema_version, one per dialect: step i brings the schema to
// version i+1, and steps are only ever appended.
//
// immy_fleet_entities holds one row per entity ever created: its kind and
// id, its stored document (NULL once deleted: the row stays, so that a
// change made before the delete conflicts with it), the revision of its last
// admin change, and the revision and position of its creation, which give
// the fleet its order. immy_fleet_inventory holds what agents and sessions
// found on each computer, with a revision of its own. immy_fleet_state holds
// the fleet's revision. immy_fleet_audit keeps every admin change of an
// entity.
var sqliteSteps = []string{
	// 1: entities, inventories, the revision, the audit log
	`CREATE TABLE immy_fleet_state (
		id       INTEGER PRIMARY KEY CHECK (id = 1),
		revision INTEGER NOT NULL
	);
	INSERT INTO immy_fleet_state (id, revision) VALUES (1, 0);
	CREATE TABLE immy_fleet_entities (
		kind        TEXT NOT NULL,
		id          TEXT NOT NULL,
		created_rev INTEGER NOT NULL,
		created_pos INTEGER NOT NULL,
		revision    INTEGER NOT NULL,
		doc         TEXT,
		PRIMARY KEY (kind, id)
	) WITHOUT ROWID;
	CREATE TABLE immy_fleet_inventory (
		computer TEXT PRIMARY KEY,
		revision INTEGER NOT NULL,
		doc      TEXT NOT NULL
	) WITHOUT ROWID;
	CREATE TABLE immy_fleet_audit (
		seq           INTEGER PRIMARY KEY AUTOINCREMENT,
		revision      INTEGER NOT NULL,
		at            TEXT NOT NULL,
		actor         TEXT NOT NULL,
		kind          TEXT NOT NULL,
		entity        TEXT NOT NULL,
		op            TEXT NOT NULL,
		tenant        TEXT NOT NULL,
		tenant_before TEXT NOT NULL,
		before        TEXT,
		after         TEXT
	);
	CREATE INDEX immy_fleet_audit_entity ON immy_fleet_audit (kind, entity, seq);
	CREATE INDEX immy_fleet_audit_tenant ON immy_fleet_audit (tenant, seq);
	CREATE INDEX immy_fleet_audit_tenant_before ON immy_fleet_audit (tenant_before, seq);`,
	// 2: the source that created an entity (Change.Source), "" for none
	`ALTER TABLE immy_fleet_entities ADD COLUMN source TEXT NOT NULL DEFAULT '';`,
}

var postgresSteps = []string{
	// 1: entities, inventories, the revision, the audit log
	`CREATE TABLE immy_fleet_state (
		id       integer PRIMARY KEY CHECK (id = 1),
		revision bigint NOT NULL
	);
	INSERT INTO immy_fleet_state (id, revision) VALUES (1, 0);
	CREATE TABLE immy_fleet_entities (
		kind        text COLLATE "C" NOT NULL,
		id          text COLLATE "C" NOT NULL,
		created_rev bigint NOT NULL,
		created_pos bigint NOT NULL,
		revision    bigint NOT NULL,
		doc         text,
		PRIMARY KEY (kind, id)
	);
	CREATE TABLE immy_fleet_inventory (
		computer text COLLATE "C" PRIMARY KEY,
		revision bigint NOT NULL,
		doc      text NOT NULL
	);
	CREATE TABLE immy_fleet_audit (
		seq           bigserial PRIMARY KEY,
		revision      bigint NOT NULL,
		at            timestamptz NOT NULL,
		actor         text NOT NULL,
		kind          text COLLATE "C" NOT NULL,
		entity        text COLLATE "C" NOT NULL,
		op            text NOT NULL,
		tenant        text COLLATE "C" NOT NULL,
		tenant_before text COLLATE "C" NOT NULL,
		before        text,
		after         text
	);
	CREATE INDEX immy_fleet_audit_entity ON immy_fleet_audit (kind, entity, seq);
	CREATE INDEX immy_fleet_audit_tenant ON immy_fleet_audit (tenant, seq);
	CREATE INDEX immy_fleet_audit_tenant_before ON immy_fleet_audit (tenant_before, seq);`,
	// 2: the source that created an entity (Change.Source), "" for none
	`ALTER TABLE immy_fleet_entities ADD COLUMN source text COLLATE "C" NOT NULL DEFAULT '';`,
}

// sqliteTime is how SQLite keeps times: UTC, fixed width, so that text order
// is time order (as session/sqlstore keeps them).
const sqliteTime = "2006-01-02T15:04:05.000000000Z"

// migrationLock is the key of the advisory lock that makes two processes
// migrating one PostgreSQL database take turns ("immyflee").
const migrationLock = 0x696d6d79666c6565

// dialect is what differs between SQLite and PostgreSQL.
type dialect struct {
	name  string
	steps []string
	// forUpdate locks the state row for the transaction (PostgreSQL; SQLite
	// transactions take the write lock when they begin).
	forUpdate string
	dollar    bool // placeholders $1, $2, ... instead of ?
}

var (
	sqliteDialect   = dialect{name: "sqlite", steps: sqliteSteps}
	postgresDialect = dialect{name: "postgres", steps: postgresSteps, forUpdate: " FOR UPDATE", dollar: true}
)

// q rewrites a query's ? placeholders for the dialect.
func (d dialect) q(query string) string {
	if !d.dollar {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// time is a time as the dialect keeps it.
func (d dialect) time(t time.Time) any {
	if d.dollar {
		return t.UTC()
	}
	return t.UTC().Format(sqliteTime)
}

// scanTime reads a time kept by time.
func (d dialect) scanTime(v any) (time.Time, error) {
	switch v := v.(type) {
	case time.Time:
		return v.UTC(), nil
	case string:
		return time.Parse(sqliteTime, v)
	case []byte:
		return time.Parse(sqliteTime, string(v))
	}
	return time.Time{}, fmt.Errorf("time of type %T", v)
}

// SchemaError is returned when a database's fleet schema is newer than this
// code knows: it was migrated by a later version of the engine. Nothing was
// changed.
type SchemaError struct {
	Dialect string // "sqlite" or "postgres"
	Have    int    // the database's fleet schema version
	Know    int    // the newest version this code knows
}

func (e *SchemaError) Error() string {
	return fmt.Sprintf("fleetstore: %s database has fleet schema version %d, newer than this engine knows (%d): upgrade the engine", e.Dialect, e.Have, e.Know)
}

// migrate brings the schema to the last of the dialect's steps, each step in
// its own transaction with the version it reaches.
func (d dialect) migrate(ctx context.Context, db *sql.DB) error {
	for {
		done, err := d.migrateStep(ctx, db)
		if err != nil || done {
			return err
		}
	}
}

func (d dialect) migrateStep(ctx context.Context, db *sql.DB) (done bool, err error) {
	tx, err := db.BeginTx(ctx, nil) // SQLite: immediate, so that two openers take turns
	if err != nil {
		return false, fmt.Errorf("fleetstore: migrate: %w", err)
	}
	defer tx.Rollback()
	if d.dollar {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrationLock)); err != nil {
			return false, fmt.Errorf("fleetstore: migrate: lock: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS immy_fleet_schema_version (
		version INTEGER PRIMARY KEY,
		applied TEXT NOT NULL
	)`); err != nil {
		return false, fmt.Errorf("fleetstore: migrate: %w", err)
	}
	var have int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM immy_fleet_schema_version`).Scan(&have); err != nil {
		return false, fmt.Errorf("fleetstore: migrate: schema version: %w", err)
	}
	switch {
	case have > len(d.steps):
		return false, &SchemaError{Dialect: d.name, Have: have, Know: len(d.steps)}
	case have == len(d.steps):
		return true, tx.Commit()
	}
	if _, err := tx.ExecContext(ctx, d.steps[have]); err != nil {
		return false, fmt.Errorf("fleetstore: migrate to schema version %d: %w", have+1, err)
	}
	if _, err := tx.ExecContext(ctx, d.q(`INSERT INTO immy_fleet_schema_version (version, applied) VALUES (?, ?)`),
		have+1, time.Now().UTC().Format(sqliteTime)); err != nil {
		return false, fmt.Errorf("fleetstore: migrate to schema version %d: %w", have+1, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("fleetstore: migrate to schema version %d: %w", have+1, err)
	}
	return false, nil
}
