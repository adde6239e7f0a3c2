package pgtest_test

import (
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/internal/pgtest"
)

// TestDatabase checks that a test gets a database of its own, empty and
// writable, and that it is gone once the test has ended.
func TestDatabase(t *testing.T) {
	admin := pgtest.URL(t)
	var names []string
	for range 2 {
		t.Run("db", func(t *testing.T) {
			u := pgtest.Database(t)
			conn, err := pgx.Connect(t.Context(), u)
			require.NoError(t, err)
			defer conn.Close(t.Context())
			var current string
			require.NoError(t, conn.QueryRow(t.Context(), `SELECT current_database()`).Scan(&current))
			require.Equal(t, pgtest.Name(u), current)
			var tables int
			require.NoError(t, conn.QueryRow(t.Context(), `SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`).Scan(&tables))
			require.Zero(t, tables, "a fresh database is empty")
			_, err = conn.Exec(t.Context(), `CREATE TABLE t (x int)`)
			require.NoError(t, err)
			names = append(names, current)
		})
	}
	require.Len(t, names, 2)
	require.NotEqual(t, names[0], names[1], "each test has its own database")
	conn, err := pgx.Connect(t.Context(), admin)
	require.NoError(t, err)
	defer conn.Close(t.Context())
	var left int
	require.NoError(t, conn.QueryRow(t.Context(), `SELECT count(*) FROM pg_database WHERE datname = ANY($1)`, names).Scan(&left))
	require.Zero(t, left, "the databases are dropped at cleanup")
}
