package schedule

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/targets"
)

func BenchmarkNext(b *testing.B) {
	for _, tc := range []struct{ cron, zone string }{
		{"0 2 * * *", "America/New_York"},
		{"*/5 * * * 1-5", "Europe/Berlin"},
		{"0 0 29 2 *", "UTC"},
	} {
		s, err := Compile(immy.Schedule{ID: "b", Cron: tc.cron, TimeZone: tc.zone})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(tc.cron, func(b *testing.B) {
			at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
			for b.Loop() {
				at = s.Next(at, nil)
			}
		})
	}
}

func BenchmarkCompile(b *testing.B) {
	for b.Loop() {
		if _, err := Compile(immy.Schedule{ID: "b", Cron: "*/15 1-3 * * 0", TimeZone: "Europe/Berlin"}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSessions plans one fire over 10,000 computers in 20 zones.
func BenchmarkSessions(b *testing.B) {
	zones := []string{"America/New_York", "Europe/Berlin", "Australia/Sydney", "Asia/Kolkata", "UTC"}
	f := &immy.Fleet{Schedules: []immy.Schedule{{ID: "nightly", Cron: "0 2 * * *", JitterMinutes: 30}}}
	for i := range 20 {
		f.Tenants = append(f.Tenants, immy.Tenant{ID: fmt.Sprintf("t%02d", i), TimeZone: zones[i%len(zones)]})
	}
	for i := range 10000 {
		f.Computers = append(f.Computers, immy.Computer{ID: fmt.Sprintf("pc-%05d", i), Tenant: fmt.Sprintf("t%02d", i%20), Kind: immy.KindWorkstation})
	}
	ix, err := targets.NewIndex(f, targets.Config{})
	if err != nil {
		b.Fatal(err)
	}
	p, err := New(ix, Config{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	fires, err := p.Due(ctx, "nightly", time.Date(2026, 3, 8, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC))
	if err != nil || len(fires) == 0 {
		b.Fatal(err, len(fires))
	}
	b.ResetTimer()
	for b.Loop() {
		n := 0
		for _, fire := range fires {
			bs, err := p.Batches(ctx, fire)
			if err != nil {
				b.Fatal(err)
			}
			for _, batch := range bs {
				n += len(batch)
			}
		}
		if n != 10000 {
			b.Fatal(n)
		}
	}
}
