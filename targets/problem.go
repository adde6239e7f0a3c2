package targets

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// FilterError is a filter that failed at run time on one computer (an index
// out of range, a Lua error, its deadline): the deployment whose target it
// is cannot tell whether it selects the computer. Match leaves the deployment
// out and reports it; a caller decides what that means (the resolver holds
// the deployment's item on that computer).
type FilterError struct {
	Deployment int    // the deployment's index in the list given to Compile
	ID         string // the deployment's id
	Computer   string // the computer's id
	Lang       Language
	Err        error // the filter's error
}

// Error renders "targets: deployment "d1": expr filter on computer "pc": message",
// on one line.
func (e *FilterError) Error() string {
	return fmt.Sprintf("targets: deployment %q: %s filter on computer %q: %s", e.ID, e.Lang, e.Computer, e.Message())
}

// Message is the filter's error on one line (its first), without the
// package prefix, at most a few hundred bytes.
func (e *FilterError) Message() string {
	if e.Err == nil {
		return "failed"
	}
	msg := strings.TrimPrefix(e.Err.Error(), "targets: ")
	// the first line: expr's errors go on with the source and a caret,
	// Lua's with a traceback
	msg, _, _ = strings.Cut(msg, "\n")
	msg = strings.Join(strings.Fields(msg), " ")
	const maxLen = 300
	if len(msg) > maxLen {
		cut := maxLen
		for cut > 0 && msg[cut]&0xc0 == 0x80 { // not inside a character
			cut--
		}
		msg = msg[:cut] + "..."
	}
	return msg
}

// Unwrap returns the filter's error.
func (e *FilterError) Unwrap() error { return e.Err }

// FilterErrors is every filter that failed in one call: on one computer in
// one Match, in ascending order of deployment; on the computers of one
// deployment in one Resolve, in order of computer id. Match and Resolve
// return it as their error together with everything they could decide: the
// rest is not affected.
type FilterErrors []*FilterError

// Error lists every failed filter, one a line.
func (es FilterErrors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.Is and errors.As see each FilterError.
func (es FilterErrors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// filterFailed records in *acc that deployment i's filter failed on computer
// c with ferr. A cancelled or expired ctx is not a filter's fault: it is kept
// as the error itself, which Match returns alone.
func (m *Matcher) filterFailed(ctx context.Context, acc *error, i int32, c int, ferr error) {
	if ctx.Err() != nil && (errors.Is(ferr, context.Canceled) || errors.Is(ferr, context.DeadlineExceeded)) {
		if _, partial := (*acc).(FilterErrors); *acc == nil || partial {
			*acc = fmt.Errorf("targets: deployment %q: %w", m.deps[i].ID, ferr)
		}
		return
	}
	fe := &FilterError{Deployment: int(i), ID: m.deps[i].ID, Computer: m.ix.f.Computers[c].ID, Err: ferr}
	if t := &m.targets[i]; t.filter >= 0 {
		fe.Lang = m.filters[t.filter].f.Language()
	}
	switch es := (*acc).(type) {
	case nil:
		*acc = FilterErrors{fe}
	case FilterErrors:
		*acc = append(es, fe)
	}
}

// partialMatch reports whether err, from the part of a match that evaluates
// filters, leaves the matches found valid: it holds only filter errors.
func partialMatch(err error) (FilterErrors, bool) {
	es, ok := err.(FilterErrors)
	return es, ok
}

// sortFilterErrors puts es in ascending order of deployment (filters are
// evaluated by scope, not in deployment order).
func sortFilterErrors(es FilterErrors) {
	for i := 1; i < len(es); i++ {
		for j := i; j > 0 && es[j].Deployment < es[j-1].Deployment; j-- {
			es[j], es[j-1] = es[j-1], es[j]
		}
	}
}
