package schedule

import (
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/adhocore/gronx"
)

// searchYears bounds the search for the next fire. Within 1901-2099 the
// Gregorian calendar repeats every 28 years (weekdays and leap years alike),
// so a cron that matches any day matches one within 28 years of any time.
const searchYears = 29

// fieldNames names the five fields of a cron expression by gronx's positions
// (0 is the seconds field gronx prepends).
var fieldNames = [...]string{1: "minute", 2: "hour", 3: "day of month", 4: "month", 5: "day of week"}

// cron is a compiled five-field cron expression. Minutes, hours and months are
// bit sets computed once through gronx; days (day of month, month and day of
// week together, with gronx's L, W and # and its union of day of month and day
// of week) are asked of gronx day by day. It works on wall-clock times: a
// time.Time in UTC whose fields are the wall clock of some zone.
type cron struct {
	minutes uint64 // bit m: minute m
	hours   uint32 // bit h: hour h
	months  uint16 // bit m: month m (1-12)
	days    []string
}

// parseCron compiles expr, which must have exactly five fields (minute, hour,
// day of month, month, day of week), as gronx reads them.
// Every problem comes back, one error each.
func parseCron(expr string) (*cron, []error) {
	fields := strings.Fields(expr)
	if len(fields) != 5 {
		return nil, oneError(fmt.Errorf("cron %q has %d fields, want 5 (minute hour day-of-month month day-of-week)", expr, len(fields)))
	}
	segs, err := gronx.Segments(strings.Join(fields, " "))
	if err != nil || len(segs) != 6 {
		return nil, oneError(fmt.Errorf("cron %q: %v", expr, err))
	}
	c := &cron{days: []string{"*", "*", "*", segs[3], segs[4], segs[5]}}
	checker := &gronx.SegmentChecker{}
	set := func(pos, lo, hi int, at func(v int) time.Time) (uint64, error) {
		var m uint64
		for v := lo; v <= hi; v++ {
			checker.SetRef(at(v))
			due, err := checker.CheckDue(segs[pos], pos)
			if err != nil {
				return 0, fieldError(expr, pos, fields[pos-1], err)
			}
			if due {
				m |= 1 << v
			}
		}
		if m == 0 {
			return 0, fmt.Errorf("cron %q: %s field %q matches no %s", expr, fieldNames[pos], fields[pos-1], fieldNames[pos])
		}
		return m, nil
	}
	var errs []error
	mins, err := set(1, 0, 59, func(v int) time.Time { return time.Date(2001, 1, 1, 0, v, 0, 0, time.UTC) })
	errs = append(errs, err)
	hours, err := set(2, 0, 23, func(v int) time.Time { return time.Date(2001, 1, 1, v, 0, 0, 0, time.UTC) })
	errs = append(errs, err)
	months, err := set(4, 1, 12, func(v int) time.Time { return time.Date(2001, time.Month(v), 1, 0, 0, 0, 0, time.UTC) })
	errs = append(errs, err)
	// The day fields depend on the date (L, W, #): check them on days that
	// exercise every form once, so that a malformed one is reported here.
	for pos := 3; pos <= 5; pos += 2 {
		checker.SetRef(time.Date(2001, 1, 31, 0, 0, 0, 0, time.UTC))
		if _, err := checker.CheckDue(segs[pos], pos); err != nil {
			errs = append(errs, fieldError(expr, pos, fields[pos-1], err))
		}
	}
	errs = slices.DeleteFunc(errs, func(err error) bool { return err == nil })
	if len(errs) > 0 {
		return nil, errs
	}
	if !gronx.IsValid(strings.Join(fields, " ")) {
		return nil, oneError(fmt.Errorf("cron %q is not a valid cron expression", expr))
	}
	c.minutes, c.hours, c.months = mins, uint32(hours), uint16(months)
	// A cron whose days never come (the 30th of February) is refused: within
	// 28 years every pattern of dates recurs.
	from := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	if c.nextDay(from, from.AddDate(28, 0, 0)).IsZero() {
		return nil, oneError(fmt.Errorf("cron %q never fires: no date matches its day of month, month and day of week", expr))
	}
	return c, nil
}

func oneError(err error) []error { return []error{err} }

// fieldError reports a field gronx refuses, without gronx's position prefix.
func fieldError(expr string, pos int, field string, err error) error {
	msg := err.Error()
	var ne *strconv.NumError
	if errors.As(err, &ne) {
		msg = fmt.Sprintf("%q is not a number", ne.Num)
	}
	if _, rest, ok := strings.Cut(msg, ": "); ok && strings.HasPrefix(msg, "segment#") {
		msg = rest
	}
	return fmt.Errorf("cron %q: %s field %q: %s", expr, fieldNames[pos], field, msg)
}

// dayMatches asks gronx whether the date of d (midnight, UTC) matches the day
// fields.
func (c *cron) dayMatches(g *gronx.Gronx, d time.Time) bool {
	g.C.SetRef(d)
	due, err := g.SegmentsDue(c.days)
	return err == nil && due
}

// nextDay returns the first midnight at or after d (a midnight) and before end
// whose date matches, or the zero time.
func (c *cron) nextDay(d, end time.Time) time.Time {
	g := gronx.New()
	for d.Before(end) {
		if c.months&(1<<d.Month()) == 0 {
			d = time.Date(d.Year(), d.Month()+1, 1, 0, 0, 0, 0, time.UTC)
			continue
		}
		if c.dayMatches(g, d) {
			return d
		}
		d = d.AddDate(0, 0, 1)
	}
	return time.Time{}
}

// next returns the first wall-clock minute strictly after w (a wall-clock
// time, UTC) that matches, or the zero time when there is none within
// searchYears.
func (c *cron) next(w time.Time) time.Time {
	t := w.Truncate(time.Minute).Add(time.Minute)
	end := t.AddDate(searchYears, 0, 0)
	first := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	for day := first; ; day = day.AddDate(0, 0, 1) {
		day = c.nextDay(day, end)
		if day.IsZero() {
			return time.Time{}
		}
		h0, m0 := 0, 0
		if day.Equal(first) {
			h0, m0 = t.Hour(), t.Minute()
		}
		if h, m, ok := c.firstTime(h0, m0); ok {
			return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
		}
	}
}

// firstTime returns the first matching hour and minute at or after h0:m0 of
// a day.
func (c *cron) firstTime(h0, m0 int) (int, int, bool) {
	for h := h0; h < 24; h++ {
		if c.hours&(1<<h) == 0 {
			continue
		}
		from := 0
		if h == h0 {
			from = m0
		}
		if rest := c.minutes >> from; rest != 0 {
			return h, from + bits.TrailingZeros64(rest), true
		}
	}
	return 0, 0, false
}
