package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/examples/immy-server/internal/core"
	"github.com/immyoss/engine/immy/fleetfile"
	"github.com/immyoss/engine/session/durable"
	"github.com/immyoss/engine/session/schedule"
	"github.com/immyoss/engine/targets"
)

// TestScheduleTick: a tick queues each due session of the fleet's schedules
// once, as a River fire job of session/durable; the fire job starts the
// session (here it waits for its offline computer).
func TestScheduleTick(t *testing.T) {
	ctx := context.Background()
	c, err := core.Open(ctx, core.Config{DB: filepath.Join(t.TempDir(), "immy.db"), ClientID: "sched", FetchPoll: 20 * time.Millisecond})
	require.NoError(t, err)
	defer c.Close(ctx)
	ff, err := fleetfile.Load("s.yaml", strings.NewReader(`version: 1
tenants: [{id: t1}]
computers: [{id: pc1, tenant: t1}, {id: pc2, tenant: t1}]
schedules:
  - {id: hourly, cron: "0 * * * *", execute_right_after_detection: true}
`))
	require.NoError(t, err)
	ch, err := c.Fleet.SourceChange(ctx, ff.Fleet, "test")
	require.NoError(t, err)
	ch.Actor = "test"
	_, err = c.Fleet.Apply(ctx, ch)
	require.NoError(t, err)
	require.NoError(t, c.Start(ctx))

	f := c.Fleet.Fleet()
	ix, err := targets.NewIndex(f, targets.Config{})
	require.NoError(t, err)
	p, err := schedule.New(ix, schedule.Config{})
	require.NoError(t, err)
	log := slog.New(slog.DiscardHandler)
	last := map[string]time.Time{}
	now := time.Now().UTC().Truncate(time.Hour).Add(-time.Hour + 30*time.Minute) // half past, an hour ago
	require.Equal(t, 0, tickOnce(ctx, c.Queue, p, last, now, log), "the first tick only marks the time")
	later := now.Add(45 * time.Minute) // past the full hour
	require.Equal(t, 2, tickOnce(ctx, c.Queue, p, last, later, log), "one session per computer")
	require.Equal(t, 0, tickOnce(ctx, c.Queue, p, map[string]time.Time{"hourly": now}, later, log), "a tick again queues nothing new")

	// the fires start their sessions, with ids made from their keys
	require.Eventually(t, func() bool {
		rows, err := c.Journal.Sessions(ctx, nil, "", 0, 10)
		return err == nil && len(rows) == 2
	}, 20*time.Second, 50*time.Millisecond)
	rows, err := c.Journal.Sessions(ctx, nil, "", 0, 10)
	require.NoError(t, err)
	var computers []string
	for _, r := range rows {
		computers = append(computers, r.Computer)
		key := schedule.SessionKey("hourly", later.Truncate(time.Hour), r.Computer)
		require.Equal(t, durable.FireSessionID(key), r.ID, "the session of the fire's key")
	}
	require.ElementsMatch(t, []string{"pc1", "pc2"}, computers)
}
