package durable_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/internal/pgtest"
	"github.com/immyoss/engine/session/durable"
	"github.com/immyoss/engine/session/sqlstore"
)

// TestKillPostgres runs two engine processes on one PostgreSQL database and
// kills one of them with SIGKILL at random points: restarted (with the same
// River client id) twice, then left dead, so that the survivor finishes its
// work once River rescues its jobs.
func TestKillPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills engine processes")
	}
	url := pgtest.Database(t)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, url)
	require.NoError(t, err)
	defer pool.Close()
	// Migrate once, before the processes race to.
	store, err := sqlstore.OpenPostgres(ctx, pool, sqlstore.Config{})
	require.NoError(t, err)
	defer store.Close()
	_, err = durable.Open(ctx, durable.Config{Postgres: pool})
	require.NoError(t, err)

	const computers = 50
	logPath := filepath.Join(t.TempDir(), "actions.log")
	args := func(id string) []string {
		return []string{"-postgres", url, "-log", logPath, "-computers", fmt.Sprint(computers), "-id", id,
			"-workers", "8", "-delay", "60ms", "-job-timeout", "3s", "-rescue", "4s"}
	}
	seed := *killSeed
	rng := rand.New(rand.NewPCG(seed, seed+1))
	survivor := startProc(t, args("engine-2")...)
	kills := 0
	for round := range 3 {
		p := startProc(t, args("engine-1")...)
		time.Sleep(time.Duration(300+rng.IntN(700)) * time.Millisecond)
		if p.kill(t) {
			kills++
		} else {
			require.True(t, p.exitOK, "round %d: the engine process failed:\n%s", round, p.out.String())
		}
	}
	t.Logf("seed %d: %d kills of engine-1; engine-2 finishes", seed, kills)
	survivor.wait(t, 50*time.Second)
	checkOutcome(t, store, logPath, computers)
}
