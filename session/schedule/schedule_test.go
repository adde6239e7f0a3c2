package schedule

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/adhocore/gronx"
	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
)

func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := LoadZone(name)
	require.NoError(t, err)
	return loc
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func mustCompile(t testing.TB, s immy.Schedule) *Schedule {
	t.Helper()
	c, err := Compile(s)
	require.NoError(t, err)
	return c
}

// TestNextAcrossDaylightSaving checks fire times worked out by hand from the
// published rules of each zone around the 2026 and 2027 changes.
func TestNextAcrossDaylightSaving(t *testing.T) {
	tests := []struct {
		name, zone, cron, after string
		want                    []string // successive Next from after
	}{
		// New York: 2026-03-08 02:00 EST -> 03:00 EDT; 2026-11-01 02:00 EDT -> 01:00 EST.
		{"ny spring gap", "America/New_York", "30 2 * * *", "2026-03-07T00:00:00Z",
			[]string{"2026-03-07T07:30:00Z", "2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"}},
		{"ny spring gap whole hour", "America/New_York", "0,30 2 * * *", "2026-03-07T12:00:00Z",
			[]string{"2026-03-08T07:00:00Z", "2026-03-09T06:00:00Z", "2026-03-09T06:30:00Z"}},
		{"ny gap and the hour after", "America/New_York", "0 2,3 * * *", "2026-03-07T12:00:00Z",
			[]string{"2026-03-08T07:00:00Z", "2026-03-09T06:00:00Z", "2026-03-09T07:00:00Z"}},
		{"ny every half hour in the gap", "America/New_York", "*/30 * * * *", "2026-03-08T05:59:00Z",
			[]string{"2026-03-08T06:00:00Z", "2026-03-08T06:30:00Z", "2026-03-08T07:00:00Z", "2026-03-08T07:30:00Z"}},
		{"ny autumn repeat", "America/New_York", "30 1 * * *", "2026-10-31T00:00:00Z",
			[]string{"2026-10-31T05:30:00Z", "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"}},
		{"ny every half hour in the repeat", "America/New_York", "*/30 * * * *", "2026-11-01T04:59:00Z",
			[]string{"2026-11-01T05:00:00Z", "2026-11-01T05:30:00Z", "2026-11-01T07:00:00Z", "2026-11-01T07:30:00Z"}},
		{"ny from inside the second pass", "America/New_York", "*/30 * * * *", "2026-11-01T06:10:00Z",
			[]string{"2026-11-01T07:00:00Z"}},
		{"ny 2027 spring", "America/New_York", "0 2 * * *", "2027-03-13T00:00:00Z",
			[]string{"2027-03-13T07:00:00Z", "2027-03-14T07:00:00Z", "2027-03-15T06:00:00Z"}},
		{"ny 2027 autumn", "America/New_York", "0 1 * * 0", "2027-11-01T00:00:00Z",
			[]string{"2027-11-07T05:00:00Z", "2027-11-14T06:00:00Z"}},
		// Berlin: 2026-03-29 02:00 CET -> 03:00 CEST; 2026-10-25 03:00 CEST -> 02:00 CET.
		{"berlin spring gap", "Europe/Berlin", "15 2 * * *", "2026-03-28T00:00:00Z",
			[]string{"2026-03-28T01:15:00Z", "2026-03-29T01:00:00Z", "2026-03-30T00:15:00Z"}},
		{"berlin autumn repeat", "Europe/Berlin", "15 2 * * *", "2026-10-24T00:00:00Z",
			[]string{"2026-10-24T00:15:00Z", "2026-10-25T00:15:00Z", "2026-10-26T01:15:00Z"}},
		{"berlin 2027 spring", "Europe/Berlin", "0 2 28 3 *", "2027-01-01T00:00:00Z",
			[]string{"2027-03-28T01:00:00Z", "2028-03-28T00:00:00Z"}},
		{"berlin 2027 autumn", "Europe/Berlin", "0 2 31 10 *", "2027-01-01T00:00:00Z",
			[]string{"2027-10-31T00:00:00Z", "2028-10-31T01:00:00Z"}},
		// Sydney: 2026-04-05 03:00 AEDT -> 02:00 AEST; 2026-10-04 02:00 AEST -> 03:00 AEDT.
		{"sydney autumn repeat", "Australia/Sydney", "30 2 * * *", "2026-04-03T00:00:00Z",
			[]string{"2026-04-03T15:30:00Z", "2026-04-04T15:30:00Z", "2026-04-05T16:30:00Z"}},
		{"sydney spring gap", "Australia/Sydney", "30 2 * * *", "2026-10-02T00:00:00Z",
			[]string{"2026-10-02T16:30:00Z", "2026-10-03T16:00:00Z", "2026-10-04T15:30:00Z"}},
		{"sydney 2027 spring gap", "Australia/Sydney", "30 2 3 10 *", "2027-01-01T00:00:00Z",
			[]string{"2027-10-02T16:00:00Z"}},
		// No daylight saving.
		{"kolkata", "Asia/Kolkata", "30 2 * * *", "2026-03-07T00:00:00Z",
			[]string{"2026-03-07T21:00:00Z", "2026-03-08T21:00:00Z"}},
		{"utc", "UTC", "30 2 * * 1-5", "2026-03-06T00:00:00Z",
			[]string{"2026-03-06T02:30:00Z", "2026-03-09T02:30:00Z"}},
		{"utc leap day", "UTC", "0 0 29 2 *", "2026-01-01T00:00:00Z",
			[]string{"2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"}},
		{"utc last day of month", "UTC", "0 12 L * *", "2026-02-01T00:00:00Z",
			[]string{"2026-02-28T12:00:00Z", "2026-03-31T12:00:00Z"}},
		{"utc second tuesday", "UTC", "0 18 * * 2#2", "2026-03-01T00:00:00Z",
			[]string{"2026-03-10T18:00:00Z", "2026-04-14T18:00:00Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustCompile(t, immy.Schedule{ID: "s", Cron: tt.cron, TimeZone: tt.zone})
			var got []string
			at := utc(tt.after)
			for range tt.want {
				at = s.Next(at, nil)
				got = append(got, at.Format(time.RFC3339))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Next (-want +got):\n%s", diff)
			}
		})
	}
}

// TestNextLordHowe checks the half-hour gap on its own: 02:15 does not exist
// on 2026-10-04 and fires at 02:30 LHDT (UTC+11).
func TestNextLordHowe(t *testing.T) {
	s := mustCompile(t, immy.Schedule{ID: "s", Cron: "15 2 * * *", TimeZone: "Australia/Lord_Howe"})
	got := s.Fires(utc("2026-10-02T00:00:00Z"), utc("2026-10-05T00:00:00Z"), nil)
	want := []time.Time{utc("2026-10-02T15:45:00Z"), utc("2026-10-03T15:30:00Z"), utc("2026-10-04T15:15:00Z")}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Fires (-want +got):\n%s", diff)
	}
}

// oracle lists the fires in (from, to] minute by minute: a UTC minute fires
// when its wall time matches (gronx's own IsDue) and has not been seen before
// in the walk, or when the clocks jumped to it over a wall minute that
// matches.
func oracle(t *testing.T, expr string, loc *time.Location, from, to time.Time) []time.Time {
	t.Helper()
	g := gronx.New()
	segs, err := gronx.Segments(expr)
	require.NoError(t, err)
	due := func(w time.Time) bool {
		g.C.SetRef(w)
		ok, err := g.SegmentsDue(segs)
		require.NoError(t, err)
		return ok
	}
	seen := map[time.Time]bool{}
	var out []time.Time
	prev := wall(from, loc).Truncate(time.Minute)
	for at := from.Truncate(time.Minute).Add(time.Minute); !at.After(to); at = at.Add(time.Minute) {
		w := wall(at, loc)
		fire := false
		for skipped := prev.Add(time.Minute); skipped.Before(w); skipped = skipped.Add(time.Minute) {
			fire = fire || due(skipped)
		}
		if !seen[w] && due(w) {
			fire = true
		}
		seen[w] = true
		if w.After(prev) {
			prev = w
		}
		if fire && at.After(from) {
			out = append(out, at)
		}
	}
	return out
}

// TestFiresAgainstOracle compares Fires with the minute-by-minute oracle on
// random crons over the days around each zone's changes.
func TestFiresAgainstOracle(t *testing.T) {
	windows := []struct{ zone, from string }{
		{"America/New_York", "2026-03-07T12:00:00Z"},
		{"America/New_York", "2026-10-31T12:00:00Z"},
		{"Europe/Berlin", "2027-03-27T12:00:00Z"},
		{"Europe/Berlin", "2027-10-30T12:00:00Z"},
		{"Australia/Sydney", "2026-04-04T00:00:00Z"},
		{"Australia/Sydney", "2027-10-02T00:00:00Z"},
		{"Australia/Lord_Howe", "2026-04-04T00:00:00Z"},
		{"Australia/Lord_Howe", "2026-10-03T00:00:00Z"},
		{"Asia/Kolkata", "2026-03-07T12:00:00Z"},
		{"UTC", "2026-12-31T12:00:00Z"},
	}
	minutes := []string{"*", "0", "30", "*/15", "5,35", "0-10/5", "59"}
	hours := []string{"*", "1", "2", "3", "1-3", "*/2", "0,2,4"}
	days := []string{"* * *", "* * 0", "* * 6,0", "L * *", "1-15 * *", "* 3,4,10,11 *"}
	r := rand.New(rand.NewPCG(6, 2026))
	for _, w := range windows {
		loc := mustZone(t, w.zone)
		from := utc(w.from)
		to := from.Add(36 * time.Hour)
		for range 6 {
			expr := minutes[r.IntN(len(minutes))] + " " + hours[r.IntN(len(hours))] + " " + days[r.IntN(len(days))]
			s := mustCompile(t, immy.Schedule{ID: "s", Cron: expr, TimeZone: w.zone})
			want := oracle(t, expr, loc, from, to)
			got := s.Fires(from, to, nil)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s %q from %s (-oracle +Fires):\n%s", w.zone, expr, w.from, diff)
			}
		}
	}
}

func TestLatest(t *testing.T) {
	s := mustCompile(t, immy.Schedule{ID: "s", Cron: "0 2 * * *", TimeZone: "Europe/Berlin"})
	tests := []struct {
		name, last, now string
		want            string // "" for none
	}{
		{"nothing since", "2026-03-10T02:00:00Z", "2026-03-10T12:00:00Z", ""},
		{"one fire", "2026-03-09T12:00:00Z", "2026-03-10T12:00:00Z", "2026-03-10T01:00:00Z"},
		{"fire exactly now", "2026-03-09T12:00:00Z", "2026-03-10T01:00:00Z", "2026-03-10T01:00:00Z"},
		{"fire exactly last is not again", "2026-03-10T01:00:00Z", "2026-03-10T12:00:00Z", ""},
		{"away a month: only the latest", "2026-02-01T00:00:00Z", "2026-03-10T12:00:00Z", "2026-03-10T01:00:00Z"},
		{"away three years", "2023-01-01T00:00:00Z", "2026-03-29T12:00:00Z", "2026-03-29T01:00:00Z"},
		{"now before last", "2026-03-10T12:00:00Z", "2026-03-01T00:00:00Z", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := s.Latest(utc(tt.last), utc(tt.now), nil)
			var gs string
			if ok {
				gs = got.Format(time.RFC3339)
			}
			require.Equal(t, tt.want, gs)
		})
	}
	yearly := mustCompile(t, immy.Schedule{ID: "y", Cron: "0 0 29 2 *"})
	got, ok := yearly.Latest(utc("2001-01-01T00:00:00Z"), utc("2026-06-01T00:00:00Z"), nil)
	require.True(t, ok)
	require.Equal(t, utc("2024-02-29T00:00:00Z"), got)
}

func TestCompileProblems(t *testing.T) {
	tests := []struct {
		name string
		s    immy.Schedule
		want []string // field: message fragment
	}{
		{"everything at once", immy.Schedule{ID: "bad", Cron: "61 * * * *", TimeZone: "Mars/Olympus", ExecuteAfterMinutes: -1, JitterMinutes: -5},
			[]string{"cron: cron \"61 * * * *\": minute field \"61\"", "execute_after_minutes: negative minutes -1", "jitter_minutes: negative minutes -5", "time_zone: unknown time zone \"Mars/Olympus\""}},
		{"missing", immy.Schedule{}, []string{"cron: missing cron", "id: missing id"}},
		{"four fields", immy.Schedule{ID: "s", Cron: "0 2 * *"}, []string{"cron: cron \"0 2 * *\" has 4 fields, want 5"}},
		{"six fields", immy.Schedule{ID: "s", Cron: "0 0 2 * * *"}, []string{"cron: cron \"0 0 2 * * *\" has 6 fields, want 5"}},
		{"macro", immy.Schedule{ID: "s", Cron: "@daily"}, []string{"cron: cron \"@daily\" has 1 fields, want 5"}},
		{"bad hour and day", immy.Schedule{ID: "s", Cron: "0 24 32 * *"}, []string{"cron: cron \"0 24 32 * *\": day of month field \"32\": '32' out of bounds(1, 31)", "cron: cron \"0 24 32 * *\": hour field \"24\": '24' out of bounds(0, 23)"}},
		{"never", immy.Schedule{ID: "s", Cron: "0 0 30 2 *"}, []string{"cron: cron \"0 0 30 2 *\" never fires"}},
		{"garbage", immy.Schedule{ID: "s", Cron: "a b c d e"}, []string{"day of month field \"c\": \"C\" is not a number", "day of week field \"e\"", "hour field \"b\"", "minute field \"a\"", "month field \"d\""}},
		{"local", immy.Schedule{ID: "s", Cron: "0 2 * * *", TimeZone: "Local"}, []string{"time_zone: time zone \"Local\" depends on the machine"}},
		{"under an hour", immy.Schedule{ID: "s", Cron: "0 2 * * *", ExecuteAfterMinutes: 30},
			[]string{"execute_after_minutes: 30 minutes: execution comes at least 60 minutes after detection"}},
		{"both", immy.Schedule{ID: "s", Cron: "0 2 * * *", ExecuteAfterMinutes: 90, ExecuteRightAfterDetection: true},
			[]string{"execute_after_minutes: 90 minutes with execute_right_after_detection"}},
		{"too long", immy.Schedule{ID: "s", Cron: "0 2 * * *", ExecuteAfterMinutes: MaxMinutes + 1, JitterMinutes: MaxMinutes + 1},
			[]string{"execute_after_minutes: 10081 minutes is more than a week", "jitter_minutes: 10081 minutes is more than a week"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compile(tt.s)
			require.Error(t, err)
			var ps immy.Problems
			require.True(t, errors.As(err, &ps), "want immy.Problems, got %T", err)
			require.True(t, errors.Is(err, immy.ErrInvalid))
			require.Len(t, ps, len(tt.want), "problems: %v", err)
			for i, p := range ps {
				require.Equal(t, "schedules", p.Section)
				require.Equal(t, tt.s.ID, p.ID)
				got := p.Field + ": " + p.Message
				require.True(t, strings.HasPrefix(got, tt.want[i]) || strings.Contains(got, tt.want[i]), "problem %d: %q does not hold %q", i, got, tt.want[i])
			}
		})
	}
}

func TestCompileAccepts(t *testing.T) {
	tests := []struct {
		s     immy.Schedule
		after time.Duration
	}{
		{immy.Schedule{ID: "a", Cron: "0 2 * * *"}, time.Hour},
		{immy.Schedule{ID: "b", Cron: "0 2 * * MON-FRI", ExecuteAfterMinutes: 60}, time.Hour},
		{immy.Schedule{ID: "c", Cron: "0  2 * *  sun", ExecuteAfterMinutes: 360}, 6 * time.Hour},
		{immy.Schedule{ID: "d", Cron: "*/5 * * JAN,DEC *", ExecuteRightAfterDetection: true}, 0},
		{immy.Schedule{ID: "e", Cron: "0 2 * * *", TimeZone: "UTC", ExecuteAfterMinutes: MaxMinutes, JitterMinutes: MaxMinutes}, MaxMinutes * time.Minute},
	}
	for _, tt := range tests {
		s := mustCompile(t, tt.s)
		require.Equal(t, tt.after, s.ExecuteAfter(), tt.s.ID)
		require.False(t, s.Next(utc("2026-01-01T00:00:00Z"), nil).IsZero(), tt.s.ID)
	}
}

func TestJitter(t *testing.T) {
	s := mustCompile(t, immy.Schedule{ID: "nightly", Cron: "0 2 * * *", JitterMinutes: 30})
	fire := utc("2026-03-10T02:00:00Z")
	// Deterministic: the same inputs give the same delay, in a process or
	// another (the value is pinned).
	require.Equal(t, s.Jitter("pc-1", fire), s.Jitter("pc-1", fire.In(mustZone(t, "Asia/Kolkata"))))
	pinned := s.Jitter("pc-1", fire)
	require.Equal(t, pinned, mustCompile(t, immy.Schedule{ID: "nightly", Cron: "0 3 * * *", JitterMinutes: 30}).Jitter("pc-1", fire))
	// Spread over [0, 30 min) by computer and by fire.
	seen := map[time.Duration]bool{}
	var lo, hi time.Duration = time.Hour, -1
	for i := range 2000 {
		j := s.Jitter("pc-"+string(rune('a'+i%26))+strings.Repeat("x", i/26), fire)
		require.GreaterOrEqual(t, j, time.Duration(0))
		require.Less(t, j, 30*time.Minute)
		require.Zero(t, j%time.Second)
		seen[j] = true
		lo, hi = min(lo, j), max(hi, j)
	}
	require.Greater(t, len(seen), 1000, "2000 computers should get mostly distinct delays")
	require.Less(t, lo, time.Minute)
	require.Greater(t, hi, 29*time.Minute)
	require.NotEqual(t, s.Jitter("pc-1", fire), s.Jitter("pc-1", fire.AddDate(0, 0, 1)), "another fire, another delay (for this pair)")
	// Without jitter, none.
	require.Zero(t, mustCompile(t, immy.Schedule{ID: "n", Cron: "0 2 * * *"}).Jitter("pc-1", fire))
	// The delay moves detection and execution alike.
	d, e := s.Times("pc-1", fire, fire)
	require.Equal(t, fire.Add(pinned), d)
	require.Equal(t, d.Add(time.Hour), e)
}

func TestKeys(t *testing.T) {
	fire := time.Date(2026, 3, 8, 3, 0, 0, 0, mustZone(t, "America/New_York"))
	require.Equal(t, "nightly/2026-03-08T07:00:00Z/pc-1", SessionKey("nightly", fire, "pc-1"))
	require.Equal(t, "a%2Fb/2026-03-08T07:00:00Z/c%2Fd", SessionKey("a/b", fire, "c/d"))
	require.NotEqual(t, SessionKey("a/b", fire, "c"), SessionKey("a", fire, "b/c"))
	require.Equal(t, "nightly/2026-03-08T07:00:00Z/America%2FNew_York", FireKey("nightly", fire, "America/New_York"))
}

func TestZoneOfLoadZone(t *testing.T) {
	for _, name := range []string{"", "UTC", "America/New_York", "Europe/Berlin", "Australia/Sydney", "Asia/Kolkata"} {
		loc, err := LoadZone(name)
		require.NoError(t, err, name)
		require.NotNil(t, loc)
	}
	for _, name := range []string{"Local", "Mars/Olympus", "../etc/passwd", "Europe/"} {
		_, err := LoadZone(name)
		require.Error(t, err, name)
	}
}
