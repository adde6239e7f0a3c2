package core

import (
	"path/filepath"
	"testing"

	"github.com/immyoss/engine/internal/pgtest"
)

// eachDB runs run on a fresh SQLite file and, when a PostgreSQL server for
// tests is there (internal/pgtest), on a fresh PostgreSQL database, each as
// a subtest named by its dialect.
func eachDB(t *testing.T, run func(t *testing.T, db string)) {
	dbs := map[string]string{"sqlite": filepath.Join(t.TempDir(), "immy.db")}
	if pg := pgtest.MaybeDatabase(t); pg != "" {
		dbs["postgres"] = pg
	}
	for name, db := range dbs {
		t.Run(name, func(t *testing.T) { run(t, db) })
	}
}
