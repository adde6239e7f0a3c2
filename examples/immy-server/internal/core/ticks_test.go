package core

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
)

// TestLastTicks: the schedules' last ticks outlive the core and only move
// forward, on both databases.
func TestLastTicks(t *testing.T) {
	eachDB(t, func(t *testing.T, db string) {
		ctx := context.Background()
		t0 := time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)
		c, err := Open(ctx, Config{DB: db, ClientID: "ticks"})
		require.NoError(t, err)
		require.NoError(t, c.SetLastTick(ctx, "a", t0))
		require.NoError(t, c.SetLastTick(ctx, "a", t0.Add(time.Hour)))
		require.NoError(t, c.SetLastTick(ctx, "a", t0.Add(time.Minute))) // older: ignored
		require.NoError(t, c.SetLastTick(ctx, "b", t0))
		require.NoError(t, c.Close(ctx))

		c, err = Open(ctx, Config{DB: db, ClientID: "ticks"})
		require.NoError(t, err)
		defer c.Close(ctx)
		got, err := c.LastTicks(ctx)
		require.NoError(t, err)
		if d := cmp.Diff(map[string]time.Time{"a": t0.Add(time.Hour), "b": t0}, got); d != "" {
			t.Errorf("last ticks (-want +got):\n%s", d)
		}
	})
}
