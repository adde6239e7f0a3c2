package schedule

import (
	"errors"
	"fmt"
	"time"
	_ "time/tzdata" // schedules read time zones the same on every system
)

// LoadZone loads an IANA time zone by name. "" and "UTC" are UTC; "Local" is
// refused, as it would mean something different on each engine process.
func LoadZone(name string) (*time.Location, error) {
	if name == "" {
		return time.UTC, nil
	}
	if name == "Local" {
		return nil, errors.New(`time zone "Local" depends on the machine; want an IANA name such as Europe/Paris`)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q (want an IANA name such as Europe/Paris)", name)
	}
	return loc, nil
}

// wall returns the wall-clock time of t in loc as a time in UTC with the same
// fields.
func wall(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}

// period is one span of a zone's offset from UTC: [start, end) in Unix
// seconds, end 0 for "forever".
type period struct {
	start, end int64
	offset     int64
}

// instant returns the instant a wall-clock time w (UTC fields) names in loc:
// the instant itself when it exists once; the first of the two when the clocks
// went back and the wall time happens twice; and, when the clocks went forward
// over it, the first instant after the gap (the moment the clocks jumped),
// rounded up to a whole minute.
func instant(w time.Time, loc *time.Location) time.Time {
	if loc == time.UTC {
		return w
	}
	naive := w.Unix()
	// Offsets lie within ±18 hours: the periods in effect from a day before
	// to a day after naive hold every candidate.
	var ps []period
	t := time.Unix(naive-86400, 0).In(loc)
	for range 16 {
		start, end := t.ZoneBounds()
		_, off := t.Zone()
		p := period{offset: int64(off), start: -1 << 62, end: 1 << 62}
		if !start.IsZero() {
			p.start = start.Unix()
		}
		if !end.IsZero() {
			p.end = end.Unix()
		}
		ps = append(ps, p)
		if end.IsZero() || p.end > naive+86400 {
			break
		}
		t = end.In(loc)
	}
	for _, p := range ps {
		if u := naive - p.offset; u >= p.start && u < p.end {
			// The earliest period that holds the wall time: the first
			// occurrence when it repeats.
			return time.Unix(u, int64(w.Nanosecond())).UTC()
		}
	}
	// In a gap: the transition where the wall clock jumped over w.
	for i := 1; i < len(ps); i++ {
		jump := ps[i].start
		if jump+ps[i-1].offset <= naive && naive < jump+ps[i].offset {
			at := time.Unix(jump, 0).UTC()
			if r := at.Truncate(time.Minute); !r.Equal(at) {
				at = r.Add(time.Minute)
			}
			return at
		}
	}
	// Unreachable for a well-formed zone; fall back on Go's reading.
	return time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), w.Nanosecond(), loc).UTC()
}
