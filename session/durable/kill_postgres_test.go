package durable_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/internal/pgtest"
	"github.com/immyoss/engine/session/durable"
	"github.com/immyoss/engine/session/durable/internal/durabletest"
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
		before := logged(t, logPath, "engine-1")
		p := startProc(t, args("engine-1")...)
		// Kill it while it works: once it has logged something, at a random
		// point (a loaded machine may take seconds to start a process).
		for deadline := time.Now().Add(20 * time.Second); logged(t, logPath, "engine-1") == before && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(time.Duration(rng.IntN(400)) * time.Millisecond)
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

// logged counts the entries of the action log written by the processes
// named proc (entries name "proc#pid").
func logged(t *testing.T, logPath, proc string) int {
	t.Helper()
	entries, err := durabletest.ReadLog(logPath)
	if errors.Is(err, fs.ErrNotExist) {
		return 0
	}
	require.NoError(t, err)
	n := 0
	for _, e := range entries {
		if strings.HasPrefix(e.Proc, proc+"#") {
			n++
		}
	}
	return n
}
