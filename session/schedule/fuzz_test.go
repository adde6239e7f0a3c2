package schedule

import (
	"testing"
	"time"

	"github.com/immyoss/engine/immy"
)

// FuzzCompile compiles any cron and zone: it never panics, and a schedule
// that compiles gives fires in order.
func FuzzCompile(f *testing.F) {
	for _, seed := range []struct{ cron, zone string }{
		{"0 2 * * *", "America/New_York"},
		{"*/15 1-3 * * 0", "Europe/Berlin"},
		{"30 2 L * *", "Australia/Sydney"},
		{"0 18 * * 2#2", "Asia/Kolkata"},
		{"0 0 29 2 *", ""},
		{"5,10-20/3 */2 1W * MON-FRI", "UTC"},
		{"0 0 30 2 *", "Local"},
		{"61 * * * *", "../../etc/passwd"},
		{"*/ * * * *", "Mars/Olympus"},
		{"@daily", ""},
		{"9999999999999999999 * * * *", ""},
	} {
		f.Add(seed.cron, seed.zone)
	}
	f.Fuzz(func(t *testing.T, expr, zone string) {
		s, err := Compile(immy.Schedule{ID: "fuzz", Cron: expr, TimeZone: zone})
		if err != nil {
			if _, ok := err.(immy.Problems); !ok {
				t.Fatalf("error %T, want immy.Problems", err)
			}
			return
		}
		at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		for range 3 {
			next := s.Next(at, nil)
			if next.IsZero() {
				t.Fatalf("%q in %q compiled but never fires after %s", expr, zone, at)
			}
			if !next.After(at) {
				t.Fatalf("%q in %q: Next(%s) = %s, not after", expr, zone, at, next)
			}
			at = next
		}
	})
}
