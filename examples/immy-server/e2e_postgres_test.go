package main

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/internal/pgtest"
)

// TestEndToEndPostgres runs the end-to-end scenario on PostgreSQL with two
// server processes over one database: the agent connects to process A,
// every API call goes to process B (which sees A's agent's computer through
// the store's feed, and queues the sessions on A's River queue, where the
// agent is), and A is killed with SIGKILL mid-action and started again. It
// needs IMMY_TEST_POSTGRES_URL (see .ci/postgres); under CI=true it fails
// without it.
func TestEndToEndPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs two servers and an agent")
	}
	db := pgtest.Database(t)
	bin, err := binaries()
	require.NoError(t, err)
	dir := t.TempDir()
	fleetFile, files := writeE2EFleet(t, dir)
	portA, portB := freePort(t), freePort(t)
	a := startServer(t, bin, filepath.Join(dir, "a"), portA, "--db", db, "--client-id", "a", "--fleet", fleetFile)
	require.NotEmpty(t, a.admin)
	b := startServer(t, bin, filepath.Join(dir, "b"), portB, "--db", db, "--client-id", "b")
	require.Empty(t, b.admin, "the fleet and the admin token are the first process's")
	b.admin = a.admin
	scenario(t, bin, dir, files, a, b, func() *server {
		return startServer(t, bin, filepath.Join(dir, "a"), portA, "--db", db, "--client-id", "a")
	})
}
