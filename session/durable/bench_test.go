package durable_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/immyoss/engine/session"
	"github.com/immyoss/engine/session/durable/internal/durabletest"
)

// BenchmarkSQLiteSessions runs sessions of four actions each through River
// on one SQLite file, against fake computers: b.N sessions at once.
//
//	go test -run '^$' -bench SQLiteSessions -benchtime 2000x ./session/durable/
func BenchmarkSQLiteSessions(b *testing.B) {
	ctx := context.Background()
	d := newSQLiteEngine(b, b.N, func(c *durableConfig) { c.Workers = 256 })
	b.ResetTimer()
	start := time.Now()
	// Sessions are started from 32 goroutines, as a scheduler or many
	// technicians would: Start waits for its journal write and its job.
	ids := make([]string, b.N)
	var g errgroup.Group
	g.SetLimit(32)
	for i := range b.N {
		g.Go(func() error {
			id, err := d.engine.Start(ctx, session.Request{Computer: durabletest.Computer(i)})
			ids[i] = id
			return err
		})
	}
	require.NoError(b, g.Wait())
	reps := d.waitEnded(b, ids)
	b.StopTimer()
	for _, r := range reps {
		require.Equal(b, session.Passed, r.Status)
	}
	el := time.Since(start).Seconds()
	b.ReportMetric(float64(b.N)/el, "sessions/s")
	b.ReportMetric(float64(4*b.N)/el, "actions/s")
}
