package main

import (
	"context"
	"log/slog"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/examples/immy-server/internal/api"
	"github.com/immyoss/engine/examples/immy-server/internal/config"
	"github.com/immyoss/engine/immy"
)

// TestPluginSetRestart restarts the real example RMM plugin (a separate
// process over go-plugin) through plugins.Manager: the old process is
// stopped and a new one answers; an id not configured is immy.ErrNotFound.
func TestPluginSetRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds examples/rmm-plugin")
	}
	ctx := context.Background()
	dir := t.TempDir()
	bin := filepath.Join(dir, "rmm-plugin")
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "../rmm-plugin").CombinedOutput()
	require.NoError(t, err, "%s", out)
	sum, err := fileSHA256(bin)
	require.NoError(t, err)
	root := filepath.Join(dir, "shells")
	p := config.Plugin{ID: "example-rmm", Path: bin, SHA256: sum,
		Settings: map[string]string{"shells": "shell-1", "client": "local", "root": root}}
	cfg := &config.Config{Plugins: []config.Plugin{p}}
	ps, err := startPlugins(ctx, cfg, dir, slog.New(slog.DiscardHandler), api.NewMetrics())
	require.NoError(t, err)
	defer ps.Close()
	old, ok := ps.m.Instance("example-rmm")
	require.True(t, ok, "started")

	pi, err := ps.Restart(ctx, "example-rmm")
	require.NoError(t, err)
	require.Equal(t, "example-rmm", pi.ID)
	require.True(t, pi.Healthy, "%+v", pi)
	now, ok := ps.m.Instance("example-rmm")
	require.True(t, ok, "running again")
	require.NotSame(t, old, now, "a new instance")
	hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	require.Error(t, old.Health(hctx), "the old process is stopped")
	require.NoError(t, now.Health(hctx))

	_, err = ps.Restart(ctx, "nope")
	require.ErrorIs(t, err, immy.ErrNotFound)
}
