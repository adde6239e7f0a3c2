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
	// half past, two hours ago: the tick past the full hour is then in the past
	// too (a fire found late starts at that tick, which must not be ahead)
	now := time.Now().UTC().Truncate(time.Hour).Add(-2*time.Hour + 30*time.Minute)
	require.Equal(t, 0, tickOnce(ctx, c.Queue, p, c, now, log), "the first tick only marks the time")
	later := now.Add(45 * time.Minute) // past the full hour
	require.Equal(t, 2, tickOnce(ctx, c.Queue, p, c, later, log), "one session per computer")
	require.Equal(t, 0, tickOnce(ctx, c.Queue, p, memTicks{"hourly": now}, later, log), "a tick again queues nothing new")
	ticks, err := c.LastTicks(ctx)
	require.NoError(t, err)
	require.Equal(t, map[string]time.Time{"hourly": later}, ticks)

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

// memTicks is a tickStore of fixed last ticks.
type memTicks map[string]time.Time

func (m memTicks) LastTicks(context.Context) (map[string]time.Time, error) { return m, nil }
func (m memTicks) SetLastTick(context.Context, string, time.Time) error    { return nil }

// TestScheduleMissedWhileDown: the last tick is in the database, so a fire
// that passed while no server ran is queued at the first tick after the
// next start, found late (past LateAfter) and so missed: its sessions start
// at that tick rather than at the fire's time. Over a database that never
// ticked, the same tick only marks the time.
func TestScheduleMissedWhileDown(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "immy.db")
	log := slog.New(slog.DiscardHandler)
	open := func(db string) (*core.Core, *schedule.Planner) {
		c, err := core.Open(ctx, core.Config{DB: db, ClientID: "sched"})
		require.NoError(t, err)
		ff, err := fleetfile.Load("s.yaml", strings.NewReader(`version: 1
tenants: [{id: t1}]
computers: [{id: pc1, tenant: t1}, {id: pc2, tenant: t1}]
schedules:
  - {id: daily, cron: "0 3 * * *", execute_right_after_detection: true}
`))
		require.NoError(t, err)
		ch, err := c.Fleet.SourceChange(ctx, ff.Fleet, "test")
		require.NoError(t, err)
		ch.Actor = "test"
		_, err = c.Fleet.Apply(ctx, ch)
		require.NoError(t, err)
		ix, err := targets.NewIndex(c.Fleet.Fleet(), targets.Config{})
		require.NoError(t, err)
		p, err := schedule.New(ix, schedule.Config{})
		require.NoError(t, err)
		return c, p
	}

	day := time.Now().UTC().Truncate(24 * time.Hour).Add(-48 * time.Hour)
	before := day.Add(2 * time.Hour) // 02:00, the fire at 03:00 still ahead
	c, p := open(db)
	require.Equal(t, 0, tickOnce(ctx, c.Queue, p, c, before, log), "the first tick only marks the time")
	require.NoError(t, c.Close(ctx)) // the server goes down over 03:00

	after := day.Add(9 * time.Hour) // restarted at 09:00
	c, p = open(db)
	defer c.Close(ctx)
	ticks, err := c.LastTicks(ctx)
	require.NoError(t, err)
	require.Equal(t, map[string]time.Time{"daily": before}, ticks, "the last tick outlived the restart")
	fires, err := p.Due(ctx, "daily", ticks["daily"], after)
	require.NoError(t, err)
	require.Len(t, fires, 1)
	require.True(t, fires[0].Missed, "found six hours late: missed")
	require.Equal(t, after, fires[0].Start, "a missed fire starts when found")
	require.Equal(t, 2, tickOnce(ctx, c.Queue, p, c, after, log), "the missed fire queued, one session per computer")
	require.Equal(t, 0, tickOnce(ctx, c.Queue, p, c, after.Add(time.Minute), log), "and only once")

	fresh, fp := open(filepath.Join(t.TempDir(), "fresh.db"))
	defer fresh.Close(ctx)
	require.Equal(t, 0, tickOnce(ctx, fresh.Queue, fp, fresh, after, log), "never ticked: nothing made up")
}
