package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/internal/pgtest"
)

// dialectKit drives the migration tests on one dialect.
type dialectKit struct {
	steps []string
	// open opens a Store on the test's database (fresh for each new kit).
	open func(t *testing.T) (*Store, error)
	// migrate runs migrations with steps of the test's choosing.
	migrate func(t *testing.T, steps []string) error
	// schema describes the database: its tables, indexes and versions.
	schema func(t *testing.T) []string
	exec   func(t *testing.T, sql string)
	try    func(t *testing.T, sql string) error
}

func sqliteKit(t *testing.T) dialectKit {
	path := filepath.Join(t.TempDir(), "immy.db")
	raw, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)&_txlock=immediate")
	require.NoError(t, err)
	t.Cleanup(func() { raw.Close() })
	return dialectKit{
		steps: sqliteSteps,
		open: func(t *testing.T) (*Store, error) {
			s, err := OpenSQLite(t.Context(), path, Config{})
			if err == nil {
				require.NoError(t, s.Close())
			}
			return s, err
		},
		migrate: func(t *testing.T, steps []string) error { return migrateSQLite(t.Context(), raw, steps) },
		schema: func(t *testing.T) []string {
			var out []string
			rows, err := raw.Query(`SELECT type || ' ' || name FROM sqlite_master ORDER BY name`)
			require.NoError(t, err)
			for rows.Next() {
				var s string
				require.NoError(t, rows.Scan(&s))
				out = append(out, s)
			}
			require.NoError(t, rows.Err())
			return append(out, versionsOf(t, raw.QueryRowContext)...)
		},
		exec: func(t *testing.T, q string) {
			_, err := raw.Exec(q)
			require.NoError(t, err)
		},
		try: func(t *testing.T, q string) error {
			_, err := raw.Exec(q)
			return err
		},
	}
}

func versionsOf(t *testing.T, q func(ctx context.Context, q string, args ...any) *sql.Row) []string {
	var v string
	err := q(t.Context(), `SELECT group_concat(version || '@' || applied, ',') FROM immy_schema_version`).Scan(&v)
	if err != nil {
		return []string{"versions: " + err.Error()}
	}
	return []string{"versions " + v}
}

func postgresKit(t *testing.T, url string) dialectKit {
	pool, err := pgxpool.New(t.Context(), url)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return dialectKit{
		steps: postgresSteps,
		open: func(t *testing.T) (*Store, error) {
			s, err := OpenPostgres(t.Context(), pool, Config{})
			if err == nil {
				require.NoError(t, s.Close())
			}
			return s, err
		},
		migrate: func(t *testing.T, steps []string) error { return migratePostgres(t.Context(), pool, steps) },
		schema: func(t *testing.T) []string {
			var out []string
			rows, err := pool.Query(t.Context(), `SELECT c.relkind::text || ' ' || c.relname FROM pg_class c
				JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' ORDER BY c.relname`)
			require.NoError(t, err)
			for rows.Next() {
				var s string
				require.NoError(t, rows.Scan(&s))
				out = append(out, s)
			}
			require.NoError(t, rows.Err())
			var v string
			if err := pool.QueryRow(t.Context(), `SELECT string_agg(version || '@' || applied, ',' ORDER BY version) FROM immy_schema_version`).Scan(&v); err != nil {
				return append(out, "versions: "+err.Error())
			}
			return append(out, "versions "+v)
		},
		exec: func(t *testing.T, q string) {
			_, err := pool.Exec(t.Context(), q)
			require.NoError(t, err)
		},
		try: func(t *testing.T, q string) error {
			_, err := pool.Exec(t.Context(), q)
			return err
		},
	}
}

func dialects(t *testing.T) map[string]func(t *testing.T) dialectKit {
	out := map[string]func(t *testing.T) dialectKit{"sqlite": sqliteKit}
	if pgtest.Enabled(t) {
		out["postgres"] = func(t *testing.T) dialectKit { return postgresKit(t, pgtest.Database(t)) }
	}
	return out
}

func TestMigrate(t *testing.T) {
	for name, kit := range dialects(t) {
		t.Run(name, func(t *testing.T) {
			t.Run("fresh", func(t *testing.T) {
				k := kit(t)
				_, err := k.open(t)
				require.NoError(t, err)
				got := k.schema(t)
				require.Contains(t, fmt.Sprint(got), "immy_sessions")
				require.Contains(t, fmt.Sprint(got), "immy_records")
				last := got[len(got)-1]
				require.True(t, strings.HasPrefix(last, "versions 1@"), last)
				for v := 2; v <= len(k.steps); v++ {
					require.Contains(t, last, fmt.Sprintf(",%d@", v))
				}
				require.Equal(t, len(k.steps)-1, strings.Count(last, ","), last)
			})
			t.Run("two open sessions of a computer", func(t *testing.T) {
				// a database of schema 1 where two processes both started a
				// session of pc1: schema 2 cannot be reached until one ends
				k := kit(t)
				require.NoError(t, k.migrate(t, k.steps[:1]))
				insertSQL := func(id string) string {
					if name == "sqlite" {
						return `INSERT INTO immy_sessions (id, computer, status, created, updated)
							VALUES ('` + id + `', 'pc1', 'pending', '2026-01-01', '2026-01-01')`
					}
					return `INSERT INTO immy_sessions (id, computer, status, last_seq, created, updated)
						VALUES ('` + id + `', 'pc1', 'pending', 1, now(), now())`
				}
				insert := func(id string) { require.NoError(t, k.try(t, insertSQL(id))) }
				insert("s-1")
				insert("s-2")
				before := k.schema(t)
				require.ErrorContains(t, k.migrate(t, k.steps), "migrate to schema version 2")
				if d := cmp.Diff(before, k.schema(t)); d != "" {
					t.Errorf("a failed step left changes (-before +after):\n%s", d)
				}
				k.exec(t, `UPDATE immy_sessions SET ended = (1 = 1) WHERE id = 's-2'`)
				require.NoError(t, k.migrate(t, k.steps))
				require.Contains(t, fmt.Sprint(k.schema(t)), "immy_sessions_computer_open")
				// the index is the last line
				err := k.try(t, insertSQL("s-3"))
				require.Error(t, err, "a second open session of pc1")
				require.Regexp(t, `UNIQUE constraint failed: immy_sessions\.computer|immy_sessions_computer_open`, err.Error())
			})
			t.Run("reopen is a no-op", func(t *testing.T) {
				k := kit(t)
				_, err := k.open(t)
				require.NoError(t, err)
				before := k.schema(t)
				_, err = k.open(t)
				require.NoError(t, err)
				if d := cmp.Diff(before, k.schema(t)); d != "" {
					t.Errorf("schema changed by a reopen (-before +after):\n%s", d)
				}
			})
			t.Run("newer schema refused", func(t *testing.T) {
				for _, migrated := range []bool{false, true} {
					k := kit(t)
					if migrated {
						_, err := k.open(t)
						require.NoError(t, err)
					} else {
						k.exec(t, `CREATE TABLE immy_schema_version (version integer PRIMARY KEY, applied text NOT NULL)`)
					}
					k.exec(t, fmt.Sprintf(`INSERT INTO immy_schema_version (version, applied) VALUES (%d, '2030-01-01')`, len(k.steps)+7))
					before := k.schema(t)
					_, err := k.open(t)
					var se *SchemaError
					require.ErrorAs(t, err, &se)
					require.Equal(t, len(k.steps)+7, se.Have)
					require.Equal(t, len(k.steps), se.Know)
					require.Contains(t, err.Error(), "newer than this engine knows")
					if d := cmp.Diff(before, k.schema(t)); d != "" {
						t.Errorf("schema changed by a refused open (-before +after):\n%s", d)
					}
				}
			})
			t.Run("failed step leaves nothing", func(t *testing.T) {
				k := kit(t)
				require.NoError(t, k.migrate(t, k.steps[:1]))
				before := k.schema(t)
				bad := append(k.steps[:1:1],
					`CREATE TABLE immy_half (x integer); CREATE INDEX immy_half_x ON immy_half (x); INSERT INTO immy_missing VALUES (1)`)
				err := k.migrate(t, bad)
				require.ErrorContains(t, err, "migrate to schema version 2")
				if d := cmp.Diff(before, k.schema(t)); d != "" {
					t.Errorf("a failed step left changes (-before +after):\n%s", d)
				}
				// fixed, the step applies
				good := append(k.steps[:1:1], `CREATE TABLE immy_half (x integer)`)
				require.NoError(t, k.migrate(t, good))
				got := k.schema(t)
				require.Contains(t, fmt.Sprint(got), "immy_half")
				require.Contains(t, got[len(got)-1], ",2@")
			})
		})
	}
}
