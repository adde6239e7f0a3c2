package fleetstore_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/internal/pgtest"
	"github.com/immyoss/engine/session/fleetstore"
	"github.com/immyoss/engine/session/fleetstore/fleetstoretest"
)

// TestConformance runs the conformance kit on SQLite and on PostgreSQL.
func TestConformance(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		paths := map[fleetstoretest.Store]string{}
		open := func(t *testing.T, path string) fleetstoretest.Store {
			s, err := fleetstore.OpenSQLite(context.Background(), path, fleetstore.Config{})
			require.NoError(t, err)
			t.Cleanup(func() { s.Close() })
			paths[s] = path
			return s
		}
		fleetstoretest.RunWith(t, fleetstoretest.Options{
			Open:   func(t *testing.T) fleetstoretest.Store { return open(t, filepath.Join(t.TempDir(), "immy.db")) },
			Reopen: func(t *testing.T, s fleetstoretest.Store) fleetstoretest.Store { return open(t, paths[s]) },
			Fault:  fault,
		})
	})
	t.Run("postgres", func(t *testing.T) {
		pools := map[fleetstoretest.Store]*pgxpool.Pool{}
		open := func(t *testing.T, pool *pgxpool.Pool) fleetstoretest.Store {
			s, err := fleetstore.OpenPostgres(context.Background(), pool, fleetstore.Config{})
			require.NoError(t, err)
			t.Cleanup(func() { s.Close() })
			pools[s] = pool
			return s
		}
		fleetstoretest.RunWith(t, fleetstoretest.Options{
			Open: func(t *testing.T) fleetstoretest.Store {
				pool, err := pgxpool.New(context.Background(), pgtest.Database(t))
				require.NoError(t, err)
				t.Cleanup(pool.Close)
				return open(t, pool)
			},
			// another pool on the same database: another process
			Reopen: func(t *testing.T, s fleetstoretest.Store) fleetstoretest.Store {
				pool, err := pgxpool.New(context.Background(), pools[s].Config().ConnString())
				require.NoError(t, err)
				t.Cleanup(pool.Close)
				return open(t, pool)
			},
			Fault: fault,
		})
	})
}

func fault(_ *testing.T, s fleetstoretest.Store, err error) {
	fleetstore.SetFault(s.(*fleetstore.Store), err)
}
