package sqlstore_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/agent/sqlstore"
)

// execSQL runs statements on the database of dsn, outside any Store.
func execSQL(t *testing.T, dsn string, stmts ...string) {
	t.Helper()
	ctx := t.Context()
	if strings.HasPrefix(dsn, "postgres://") {
		pool, err := pgxpool.New(ctx, dsn)
		require.NoError(t, err)
		defer pool.Close()
		for _, s := range stmts {
			_, err := pool.Exec(ctx, s)
			require.NoError(t, err, s)
		}
		return
	}
	db, err := sql.Open("sqlite", dsn)
	require.NoError(t, err)
	defer db.Close()
	for _, s := range stmts {
		_, err := db.ExecContext(ctx, s)
		require.NoError(t, err, s)
	}
}

func TestMigrations(t *testing.T) {
	for _, db := range databases(t) {
		if !db.persistent {
			continue
		}
		t.Run(db.name, func(t *testing.T) {
			ctx := t.Context()

			t.Run("beside another schema's version table", func(t *testing.T) {
				dsn := db.newDB(t)
				// the session journal's table, at a version of its own
				execSQL(t, dsn, `CREATE TABLE immy_schema_version (version INTEGER PRIMARY KEY, applied TEXT NOT NULL)`,
					`INSERT INTO immy_schema_version VALUES (7, 'x')`)
				s, err := sqlstore.Open(ctx, dsn, sqlstore.Config{})
				require.NoError(t, err)
				require.NoError(t, s.Close())
			})
			t.Run("reopened and opened at once", func(t *testing.T) {
				dsn := db.newDB(t)
				var wg sync.WaitGroup
				errs := make([]error, 4)
				for i := range errs {
					wg.Go(func() {
						s, err := sqlstore.Open(ctx, dsn, sqlstore.Config{})
						if err == nil {
							err = s.Close()
						}
						errs[i] = err
					})
				}
				wg.Wait()
				for _, err := range errs {
					require.NoError(t, err)
				}
				s, err := sqlstore.Open(ctx, dsn, sqlstore.Config{})
				require.NoError(t, err)
				require.NoError(t, s.Close())
			})
			t.Run("a newer schema is refused and left alone", func(t *testing.T) {
				dsn := db.newDB(t)
				s, err := sqlstore.Open(ctx, dsn, sqlstore.Config{})
				require.NoError(t, err)
				require.NoError(t, s.Close())
				execSQL(t, dsn, `INSERT INTO immy_agent_schema_version (version, applied) VALUES (99, 'later')`)
				_, err = sqlstore.Open(ctx, dsn, sqlstore.Config{})
				var se *sqlstore.SchemaError
				require.ErrorAs(t, err, &se)
				require.Equal(t, sqlstore.SchemaError{Dialect: db.name, Have: 99, Know: 1}, *se)
				require.ErrorContains(t, err, "agent schema version 99, newer than this engine knows (1): upgrade the engine")
			})
		})
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct{ dsn, want string }{
		{"", `sqlstore: sqlite path "": empty, or holds '?' or '#'`},
		{"sqlite:/tmp/x.db?mode=ro", `sqlstore: sqlite path "/tmp/x.db?mode=ro": empty, or holds '?' or '#'`},
		{filepath.Join(t.TempDir(), "no", "such", "dir", "x.db"), "sqlstore: migrate"},
		{"postgres://user:hunter2@127.0.0.1:1/x?connect_timeout=1", "sqlstore: migrate"},
	} {
		_, err := sqlstore.Open(ctx, tc.dsn, sqlstore.Config{})
		require.ErrorContains(t, err, tc.want, tc.dsn)
		require.NotContains(t, err.Error(), "hunter2", "a password in the URL is never in an error")
	}
	_, err := sqlstore.OpenPostgres(ctx, nil, sqlstore.Config{})
	require.EqualError(t, err, "sqlstore: OpenPostgres: nil pool")
}
