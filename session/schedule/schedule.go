package schedule

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"net/url"
	"time"

	"github.com/immyoss/engine/immy"
)

// MinExecuteAfter is the least time between a fire's detection and its
// execution, unless the schedule executes right after detection; it is also
// the delay when the schedule leaves ExecuteAfterMinutes at zero.
const MinExecuteAfter = 60 * time.Minute

// MaxMinutes bounds ExecuteAfterMinutes and JitterMinutes: one week.
const MaxMinutes = 7 * 24 * 60

// Schedule is a compiled immy.Schedule: its cron parsed, its time zone loaded
// and its delays checked. It is immutable and safe for concurrent use.
type Schedule struct {
	src          immy.Schedule
	cron         *cron
	loc          *time.Location // nil: each computer's own
	executeAfter time.Duration
	jitter       time.Duration
}

// Compile compiles one schedule on its own: the cron expression (five
// fields, through gronx), the time zone, and the minutes. Every problem comes
// back at once as immy.Problems (section "schedules", the schedule's id, the
// field as the fleet file spells it). What needs the fleet (the item, the
// target) is checked by New.
func Compile(s immy.Schedule) (*Schedule, error) {
	c, ps := compile(0, s)
	if len(ps) > 0 {
		ps.Sort()
		return nil, ps
	}
	return c, nil
}

func compile(i int, s immy.Schedule) (*Schedule, immy.Problems) {
	var ps immy.Problems
	add := func(field string, err error, format string, args ...any) {
		ps = append(ps, immy.Problem{Section: "schedules", Index: i, ID: s.ID, Field: field, Message: fmt.Sprintf(format, args...), Err: err})
	}
	c := &Schedule{src: s}
	if s.ID == "" {
		add("id", immy.ErrInvalid, "missing id")
	}
	if s.Cron == "" {
		add("cron", immy.ErrInvalid, "missing cron")
	} else if cr, errs := parseCron(s.Cron); len(errs) > 0 {
		for _, err := range errs {
			add("cron", immy.ErrInvalid, "%v", err)
		}
	} else {
		c.cron = cr
	}
	if s.TimeZone != "" {
		loc, err := LoadZone(s.TimeZone)
		if err != nil {
			add("time_zone", immy.ErrInvalid, "%v", err)
		}
		c.loc = loc
	}
	switch after := s.ExecuteAfterMinutes; {
	case after < 0:
		add("execute_after_minutes", immy.ErrInvalid, "negative minutes %d", after)
	case after > MaxMinutes:
		add("execute_after_minutes", immy.ErrInvalid, "%d minutes is more than a week (%d)", after, MaxMinutes)
	case s.ExecuteRightAfterDetection && after != 0:
		add("execute_after_minutes", immy.ErrInvalid, "%d minutes with execute_right_after_detection: leave one of them unset", after)
	case s.ExecuteRightAfterDetection:
	case after == 0:
		c.executeAfter = MinExecuteAfter
	case time.Duration(after)*time.Minute < MinExecuteAfter:
		add("execute_after_minutes", immy.ErrInvalid, "%d minutes: execution comes at least %d minutes after detection, unless execute_right_after_detection", after, int(MinExecuteAfter/time.Minute))
	default:
		c.executeAfter = time.Duration(after) * time.Minute
	}
	switch j := s.JitterMinutes; {
	case j < 0:
		add("jitter_minutes", immy.ErrInvalid, "negative minutes %d", j)
	case j > MaxMinutes:
		add("jitter_minutes", immy.ErrInvalid, "%d minutes is more than a week (%d)", j, MaxMinutes)
	default:
		c.jitter = time.Duration(j) * time.Minute
	}
	if len(ps) > 0 {
		return nil, ps
	}
	return c, nil
}

// ID returns the schedule's id.
func (s *Schedule) ID() string { return s.src.ID }

// Source returns the schedule as given.
func (s *Schedule) Source() immy.Schedule { return s.src }

// Location returns the schedule's time zone, or nil when the schedule fires in
// each computer's own.
func (s *Schedule) Location() *time.Location { return s.loc }

// ExecuteAfter returns the delay from a computer's detection to its execution:
// zero when the schedule executes right after detection, otherwise at least
// MinExecuteAfter.
func (s *Schedule) ExecuteAfter() time.Duration { return s.executeAfter }

// zone returns loc, or the schedule's zone, or UTC.
func (s *Schedule) zone(loc *time.Location) *time.Location {
	switch {
	case loc != nil:
		return loc
	case s.loc != nil:
		return s.loc
	}
	return time.UTC
}

// Next returns the first fire strictly after after, in UTC, computing the
// cron's wall-clock minutes in loc (nil: the schedule's zone, or UTC when it
// has none). A wall time the clocks pass twice (the autumn change) fires once,
// at its first occurrence; a wall time the clocks skip (the spring change)
// fires at the first minute after the gap, once however many of the skipped
// minutes match. It returns the zero time when the cron has no fire within 29
// years.
func (s *Schedule) Next(after time.Time, loc *time.Location) time.Time {
	loc = s.zone(loc)
	after = after.UTC()
	w := wall(after, loc).Truncate(time.Minute)
	for {
		w = s.cron.next(w)
		if w.IsZero() {
			return time.Time{}
		}
		// instant is monotonic in w: the first wall time whose instant is
		// after after is the answer. Wall times of the repeated hour seen
		// again from its second pass map before after and are skipped.
		if t := instant(w, loc); t.After(after) {
			return t
		}
	}
}

// Fires returns the fires in (from, to], ascending, in UTC, as Next computes
// them. It returns every one: the caller bounds the range.
func (s *Schedule) Fires(from, to time.Time, loc *time.Location) []time.Time {
	var out []time.Time
	for t := s.Next(from, loc); !t.IsZero() && !t.After(to); t = s.Next(t, loc) {
		out = append(out, t)
	}
	return out
}

// Latest returns the latest fire in (last, now] in loc: the one fire to start
// after the engine was away since last, however many it missed.
func (s *Schedule) Latest(last, now time.Time, loc *time.Location) (time.Time, bool) {
	if !now.After(last) {
		return time.Time{}, false
	}
	var found time.Time
	// Walk back from now in steps that grow, then forward to the latest.
	for step := time.Hour; ; step *= 2 {
		from := now.Add(-step)
		if !from.After(last) {
			from = last
		}
		if t := s.Next(from, loc); !t.IsZero() && !t.After(now) {
			found = t
			break
		}
		if from.Equal(last) || step > searchYears*366*24*time.Hour {
			return time.Time{}, false
		}
	}
	for t := s.Next(found, loc); !t.IsZero() && !t.After(now); t = s.Next(t, loc) {
		found = t
	}
	return found, true
}

// Jitter returns the computer's random delay for one fire: in [0,
// JitterMinutes) at one-second steps, drawn from a hash of the schedule id,
// the computer id and the fire time, so that every engine process computes the
// same delay.
func (s *Schedule) Jitter(computer string, fire time.Time) time.Duration {
	n := int64(s.jitter / time.Second)
	if n <= 0 {
		return 0
	}
	h := sha256.New()
	for _, part := range []string{s.src.ID, computer, fire.UTC().Format(time.RFC3339)} {
		var size [8]byte
		binary.BigEndian.PutUint64(size[:], uint64(len(part)))
		h.Write(size[:])
		h.Write([]byte(part))
	}
	sum := h.Sum(nil)
	return time.Duration(binary.BigEndian.Uint64(sum[:8])%uint64(n)) * time.Second
}

// Times returns a computer's detection and execution times for a fire that
// starts at start (the fire's time, or later for a missed fire): detection
// at start plus the computer's jitter, execution ExecuteAfter later.
func (s *Schedule) Times(computer string, fire, start time.Time) (detect, execute time.Time) {
	detect = start.UTC().Add(s.Jitter(computer, fire))
	return detect, detect.Add(s.executeAfter)
}

// SessionKey is the unique key of the session a fire of a schedule starts on
// a computer: the schedule id, the fire time in UTC (RFC 3339) and the
// computer id, each path-escaped and joined by "/", as in
// "nightly/2026-03-08T07:00:00Z/pc-1".
func SessionKey(schedule string, fire time.Time, computer string) string {
	return url.PathEscape(schedule) + "/" + fire.UTC().Format(time.RFC3339) + "/" + url.PathEscape(computer)
}

// FireKey is the unique key of one fire of a schedule in one time zone: the
// schedule id, the fire time in UTC (RFC 3339) and the zone's name, as in
// "nightly/2026-03-08T07:00:00Z/America%2FNew_York".
func FireKey(schedule string, fire time.Time, zone string) string {
	return url.PathEscape(schedule) + "/" + fire.UTC().Format(time.RFC3339) + "/" + url.PathEscape(zone)
}
