package durable_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/session"
	"github.com/immyoss/engine/session/durable/internal/durabletest"
)

// BenchmarkSQLiteSessions runs sessions of four actions each through River
// on one SQLite file, against fake computers: b.N sessions at once.
func BenchmarkSQLiteSessions(b *testing.B) {
	ctx := context.Background()
	d := newSQLiteEngine(b, b.N, func(c *durableConfig) { c.Workers = 256 })
	b.ResetTimer()
	start := time.Now()
	ids := make([]string, b.N)
	for i := range b.N {
		id, err := d.engine.Start(ctx, session.Request{Computer: durabletest.Computer(i)})
		require.NoError(b, err)
		ids[i] = id
	}
	reps := d.waitEnded(b, ids)
	b.StopTimer()
	for _, r := range reps {
		require.Equal(b, session.Passed, r.Status)
	}
	el := time.Since(start).Seconds()
	b.ReportMetric(float64(b.N)/el, "sessions/s")
	b.ReportMetric(float64(4*b.N)/el, "actions/s")
}
