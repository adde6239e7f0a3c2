package journaltest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/session"
)

// Options tells [RunWith] how to reach the journal under test.
type Options struct {
	// Open returns an empty journal; it is called once per check, and the
	// journal is closed, if it needs to be, by a t.Cleanup the function
	// registers.
	Open func(t *testing.T) session.Journal
	// Reopen, when set, releases old (closes it, as a process that ends
	// would) and returns a journal over the same storage: the durability
	// checks run only with it.
	Reopen func(t *testing.T, old session.Journal) session.Journal
	// Sessions and Records size the concurrency check: that many sessions
	// appended at once, each by its own goroutine, with that many records
	// each. Zero means 32 sessions of 20 records.
	Sessions, Records int
}

// Run runs the checks every [session.Journal] must pass, as subtests of t,
// on journals returned by open; see [RunWith].
func Run(t *testing.T, open func(t *testing.T) session.Journal) {
	t.Helper()
	RunWith(t, Options{Open: open})
}

// RunWith runs the checks every [session.Journal] must pass, as subtests of
// t:
//
//   - round-trip: a record of every RecordKind, every field set, comes back
//     from Replay equal (cmp.Diff; times compare by instant, nil and empty
//     slices alike);
//   - order: records of interleaved sessions come back each session's in
//     Seq order, every record exactly once;
//   - sequence: a session's first Seq is 1; a gap, a duplicate, a Seq of 0
//     are refused with an error matching session.ErrOutOfSequence and
//     change nothing; the next Seq is still accepted after a refusal;
//   - same-seq-race: the same (session, Seq) appended by two goroutines at
//     once: exactly one wins, and Replay holds the winner's record;
//   - concurrent: many sessions appended at once, all kept (run it with
//     -race);
//   - fn-error: an error of Replay's (and ReplaySession's) fn stops it and
//     is returned;
//   - cancelled: a cancelled context makes Append, Replay and ReplaySession
//     fail with an error matching context.Canceled, and Append write
//     nothing;
//   - replay-session: when the journal implements session.SessionReplayer,
//     one session's records alone, in Seq order; an unknown id matches
//     immy.ErrNotFound;
//   - sessions: when the journal implements session.UnfinishedLister, the
//     sessions with no final status (in any order); when it implements
//     session.ActiveSessioner, a computer's session not ended, and a
//     RecordCreated for a computer that has one refused with a
//     *session.BusyError (sessions without a computer never are);
//   - one-per-computer: when the journal implements session.ActiveSessioner,
//     two sessions of one computer created at once: exactly one is kept,
//     the other is refused with a *session.BusyError naming it; once it has
//     a final status, the computer takes a new session;
//   - durable (with Options.Reopen): what was appended is there after a
//     reopen, and the sequence goes on where it stopped.
func RunWith(t *testing.T, o Options) {
	t.Helper()
	if o.Sessions <= 0 {
		o.Sessions = 32
	}
	if o.Records <= 0 {
		o.Records = 20
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if c.reopen && o.Reopen == nil {
				t.Skip("journaltest: no Options.Reopen")
			}
			c.run(t, &o)
		})
	}
}

var checks = []struct {
	name   string
	reopen bool
	run    func(t *testing.T, o *Options)
}{
	{name: "round-trip", run: checkRoundTrip},
	{name: "order", run: checkOrder},
	{name: "sequence", run: checkSequence},
	{name: "same-seq-race", run: checkSameSeqRace},
	{name: "concurrent", run: checkConcurrent},
	{name: "fn-error", run: checkFnError},
	{name: "cancelled", run: checkCancelled},
	{name: "replay-session", run: checkReplaySession},
	{name: "sessions", run: checkSessions},
	{name: "one-per-computer", run: checkOnePerComputer},
	{name: "durable", reopen: true, run: checkDurable},
}

// Equal is the comparison the kit uses for records: times by instant, nil
// and empty slices alike.
var Equal = cmp.Options{cmpopts.EquateEmpty()}

func appendAll(t *testing.T, j session.Journal, recs []session.Record) {
	t.Helper()
	for _, r := range recs {
		require.NoError(t, j.Append(t.Context(), r), "append %s #%d", r.Session, r.Seq)
	}
}

// replayAll returns every record Replay gives, checking that each session's
// come in Seq order with no gap.
func replayAll(t *testing.T, j session.Journal) []session.Record {
	t.Helper()
	var out []session.Record
	last := map[string]int{}
	err := j.Replay(t.Context(), func(r session.Record) error {
		if r.Seq != last[r.Session]+1 {
			return fmt.Errorf("session %q: record %d replayed after %d", r.Session, r.Seq, last[r.Session])
		}
		last[r.Session] = r.Seq
		out = append(out, r)
		return nil
	})
	require.NoError(t, err, "replay")
	return out
}

// bySession returns records grouped by session in Seq order, sessions
// sorted: Replay is free to interleave sessions as it likes.
func bySession(recs []session.Record) []session.Record {
	out := slices.Clone(recs)
	slices.SortStableFunc(out, func(a, b session.Record) int {
		if a.Session != b.Session {
			if a.Session < b.Session {
				return -1
			}
			return 1
		}
		return a.Seq - b.Seq
	})
	return out
}

func diff(t *testing.T, what string, want, got []session.Record) {
	t.Helper()
	if d := cmp.Diff(bySession(want), bySession(got), Equal); d != "" {
		t.Errorf("%s (-want +got):\n%s", what, d)
	}
}

func checkRoundTrip(t *testing.T, o *Options) {
	j := o.Open(t)
	want := Every("s-every")
	appendAll(t, j, want)
	diff(t, "replay", want, replayAll(t, j))
	if sr, ok := j.(session.SessionReplayer); ok {
		var got []session.Record
		require.NoError(t, sr.ReplaySession(t.Context(), "s-every", func(r session.Record) error {
			got = append(got, r)
			return nil
		}))
		diff(t, "replay session", want, got)
	}
}

func checkOrder(t *testing.T, o *Options) {
	j := o.Open(t)
	ids := []string{"s-b", "s-a", "s-c"}
	var want []session.Record
	recs := map[string][]session.Record{}
	for i, id := range ids {
		recs[id] = Simple(id, 5+i)
		want = append(want, recs[id]...)
	}
	// interleave: one record of each session in turn
	for i := 0; ; i++ {
		n := 0
		for _, id := range ids {
			if i < len(recs[id]) {
				require.NoError(t, j.Append(t.Context(), recs[id][i]))
				n++
			}
		}
		if n == 0 {
			break
		}
	}
	got := replayAll(t, j)
	require.Len(t, got, len(want), "every record exactly once")
	diff(t, "replay", want, got)
}

func checkSequence(t *testing.T, o *Options) {
	ctx := t.Context()
	recs := Simple("s-seq", 4)
	cases := []struct {
		name    string
		before  []session.Record // appended first, all accepted
		refused session.Record
	}{
		{"first seq 2", nil, recs[1]},
		{"first seq 0", nil, func() session.Record { r := recs[0]; r.Seq = 0; return r }()},
		{"negative seq", recs[:1], func() session.Record { r := recs[1]; r.Seq = -1; return r }()},
		{"gap", recs[:1], recs[2]},
		{"duplicate first", recs[:1], recs[0]},
		{"duplicate last", recs[:2], recs[1]},
		{"earlier seq", recs[:3], recs[1]},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			j := o.Open(t)
			appendAll(t, j, c.before)
			err := j.Append(ctx, c.refused)
			require.ErrorIs(t, err, session.ErrOutOfSequence, "record %d after %d records", c.refused.Seq, len(c.before))
			diff(t, "after a refused record", c.before, replayAll(t, j))
			// the sequence goes on where it stopped
			next := recs[len(c.before)]
			require.NoError(t, j.Append(ctx, next), "record %d after the refusal", next.Seq)
			diff(t, "after the next record", recs[:len(c.before)+1], replayAll(t, j))
		})
	}
}

func checkSameSeqRace(t *testing.T, o *Options) {
	j := o.Open(t)
	const rounds = 20
	ctx := t.Context()
	var want []session.Record
	for i := range rounds {
		id := fmt.Sprintf("s-race-%02d", i)
		base := Simple(id, 2)
		require.NoError(t, j.Append(ctx, base[0]))
		want = append(want, base[0])
		// two writers, two different records with the same (session, seq)
		a, b := base[1], base[1]
		a.Action = &session.Action{Reason: "writer a"}
		b.Action = &session.Action{Reason: "writer b"}
		var (
			wg   sync.WaitGroup
			errs [2]error
		)
		start := make(chan struct{})
		for k, r := range []session.Record{a, b} {
			wg.Go(func() {
				<-start
				errs[k] = j.Append(ctx, r)
			})
		}
		close(start)
		wg.Wait()
		switch {
		case errs[0] == nil && errs[1] == nil:
			t.Fatalf("session %s: both writers of record 2 won", id)
		case errs[0] != nil && errs[1] != nil:
			t.Fatalf("session %s: both writers of record 2 lost: %v; %v", id, errs[0], errs[1])
		case errs[0] == nil:
			require.ErrorIs(t, errs[1], session.ErrOutOfSequence, "the loser")
			want = append(want, a)
		default:
			require.ErrorIs(t, errs[0], session.ErrOutOfSequence, "the loser")
			want = append(want, b)
		}
	}
	diff(t, "replay holds the winners", want, replayAll(t, j))
}

func checkConcurrent(t *testing.T, o *Options) {
	j := o.Open(t)
	ctx := t.Context()
	var (
		wg   sync.WaitGroup
		want []session.Record
		errs = make([]error, o.Sessions)
	)
	for i := range o.Sessions {
		recs := Simple(fmt.Sprintf("s-conc-%03d", i), o.Records)
		want = append(want, recs...)
		wg.Go(func() {
			for _, r := range recs {
				if err := j.Append(ctx, r); err != nil {
					errs[i] = err
					return
				}
			}
		})
	}
	wg.Wait()
	require.NoError(t, errors.Join(errs...))
	got := replayAll(t, j)
	require.Len(t, got, len(want), "every record exactly once")
	diff(t, "replay", want, got)
}

var errStop = errors.New("journaltest: stop here")

func checkFnError(t *testing.T, o *Options) {
	j := o.Open(t)
	appendAll(t, j, Simple("s-fn-1", 3))
	appendAll(t, j, Simple("s-fn-2", 3))
	calls := 0
	err := j.Replay(t.Context(), func(session.Record) error {
		calls++
		if calls == 2 {
			return errStop
		}
		return nil
	})
	require.ErrorIs(t, err, errStop, "replay returns fn's error")
	require.Equal(t, 2, calls, "replay stops at fn's error")
	sr, ok := j.(session.SessionReplayer)
	if !ok {
		return
	}
	calls = 0
	err = sr.ReplaySession(t.Context(), "s-fn-2", func(session.Record) error {
		calls++
		return errStop
	})
	require.ErrorIs(t, err, errStop, "replay session returns fn's error")
	require.Equal(t, 1, calls, "replay session stops at fn's error")
}

func checkCancelled(t *testing.T, o *Options) {
	j := o.Open(t)
	recs := Simple("s-cancel", 3)
	appendAll(t, j, recs[:1])
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	require.ErrorIs(t, j.Append(ctx, recs[1]), context.Canceled, "append")
	require.ErrorIs(t, j.Append(ctx, Simple("s-cancel-new", 1)[0]), context.Canceled, "append of a new session")
	called := false
	err := j.Replay(ctx, func(session.Record) error { called = true; return nil })
	require.ErrorIs(t, err, context.Canceled, "replay")
	require.False(t, called, "replay called fn with a cancelled context")
	if sr, ok := j.(session.SessionReplayer); ok {
		err := sr.ReplaySession(ctx, "s-cancel", func(session.Record) error { called = true; return nil })
		require.ErrorIs(t, err, context.Canceled, "replay session")
		require.False(t, called, "replay session called fn with a cancelled context")
	}
	// nothing was written: the sequence goes on at 2
	appendAll(t, j, recs[1:])
	diff(t, "after cancelled appends", recs, replayAll(t, j))
}

func checkReplaySession(t *testing.T, o *Options) {
	j := o.Open(t)
	sr, ok := j.(session.SessionReplayer)
	if !ok {
		t.Skip("journaltest: the journal is not a session.SessionReplayer")
	}
	ctx := t.Context()
	err := sr.ReplaySession(ctx, "s-none", func(session.Record) error { return nil })
	require.ErrorIs(t, err, immy.ErrNotFound, "an empty journal")
	a, b := Simple("s-one", 6), Simple("s-one-more", 4) // a prefix of the other's id
	for i := range a {
		require.NoError(t, j.Append(ctx, a[i]))
		if i < len(b) {
			require.NoError(t, j.Append(ctx, b[i]))
		}
	}
	for _, want := range [][]session.Record{a, b} {
		var got []session.Record
		require.NoError(t, sr.ReplaySession(ctx, want[0].Session, func(r session.Record) error {
			got = append(got, r)
			return nil
		}))
		if d := cmp.Diff(want, got, Equal); d != "" {
			t.Errorf("replay session %s, in Seq order (-want +got):\n%s", want[0].Session, d)
		}
	}
	err = sr.ReplaySession(ctx, "s-on", func(session.Record) error { return nil })
	require.ErrorIs(t, err, immy.ErrNotFound, "an id that is a prefix of a known one")
}

func checkDurable(t *testing.T, o *Options) {
	j := o.Open(t)
	every := Every("s-durable")
	appendAll(t, j, every)
	var want []session.Record
	want = append(want, every...)
	for i := range 5 {
		recs := Simple(fmt.Sprintf("s-durable-%d", i), 4)
		appendAll(t, j, recs[:3])
		want = append(want, recs[:3]...)
	}
	j = o.Reopen(t, j)
	diff(t, "after reopen", want, replayAll(t, j))
	next := Simple("s-durable-0", 4)
	require.ErrorIs(t, j.Append(t.Context(), next[2]), session.ErrOutOfSequence, "a duplicate after reopen")
	require.NoError(t, j.Append(t.Context(), next[3]), "the next record after reopen")
	want = append(want, next[3])
	j = o.Reopen(t, j)
	diff(t, "after a second reopen", want, replayAll(t, j))
}

func checkSessions(t *testing.T, o *Options) {
	j := o.Open(t)
	ul, listsUnfinished := j.(session.UnfinishedLister)
	as, knowsActive := j.(session.ActiveSessioner)
	if !listsUnfinished && !knowsActive {
		t.Skip("journaltest: the journal is neither a session.UnfinishedLister nor a session.ActiveSessioner")
	}
	ctx := t.Context()
	created := func(id, computer string, minute int) session.Record {
		return session.Record{Session: id, Seq: 1, Kind: session.RecordCreated, Time: base.Add(time.Duration(minute) * time.Minute),
			Request: &session.Request{ID: id, Computer: computer}}
	}
	status := func(id string, seq int, st session.Status) session.Record {
		return session.Record{Session: id, Seq: seq, Kind: session.RecordStatus, Time: base.Add(time.Hour), Status: st}
	}
	appendAll(t, j, []session.Record{
		created("s-1", "pc-a", 1),
		created("s-3", "pc-b", 3),
		status("s-3", 2, session.Running),
		created("s-4", "pc-c", 4),
		status("s-4", 2, session.Postponed),
		status("s-4", 3, session.Failed),
	})
	unfinished := func(want ...string) {
		t.Helper()
		if !listsUnfinished {
			return
		}
		got, err := ul.Unfinished(ctx)
		require.NoError(t, err)
		slices.Sort(got)
		if d := cmp.Diff(want, got, Equal); d != "" {
			t.Errorf("unfinished sessions (-want +got):\n%s", d)
		}
	}
	active := func(computer, want string) {
		t.Helper()
		if !knowsActive {
			return
		}
		id, ok, err := as.ActiveSession(ctx, computer)
		require.NoError(t, err)
		require.Equal(t, want != "", ok, "computer %s has an active session", computer)
		require.Equal(t, want, id, "computer %s's active session", computer)
	}
	// pc-a's second session, while s-1 has not ended: an ActiveSessioner
	// refuses it (one active session per computer), and keeps nothing of it
	second := created("s-2", "pc-a", 2)
	if knowsActive {
		requireBusy(t, j.Append(ctx, second), "pc-a", "s-1")
		unfinished("s-1", "s-3")
		active("pc-a", "s-1")
	} else {
		appendAll(t, j, []session.Record{second})
		unfinished("s-1", "s-2", "s-3")
	}
	active("pc-b", "s-3")
	active("pc-c", "")
	active("pc-none", "")
	appendAll(t, j, []session.Record{status("s-1", 2, session.Cancelled)})
	if knowsActive {
		// s-1 ended: pc-a may have another session
		appendAll(t, j, []session.Record{second})
	}
	unfinished("s-2", "s-3")
	active("pc-a", "s-2")
	// sessions without a computer are never refused
	appendAll(t, j, []session.Record{created("s-5", "", 5), created("s-6", "", 6)})
	unfinished("s-2", "s-3", "s-5", "s-6")
}

// requireBusy requires err to be a *session.BusyError naming computer and
// the active session id.
func requireBusy(t *testing.T, err error, computer, id string) {
	t.Helper()
	var busy *session.BusyError
	require.ErrorAs(t, err, &busy, "a second session of computer %s", computer)
	require.ErrorIs(t, err, session.ErrBusy)
	require.Equal(t, computer, busy.Computer, "the busy computer")
	require.Equal(t, id, busy.Session, "computer %s's active session", computer)
}

// checkOnePerComputer: when the journal implements session.ActiveSessioner,
// two sessions of one computer created at once: exactly one is kept, the
// other is refused with a *session.BusyError naming the winner; once the
// winner has a final status, the computer takes a new session.
func checkOnePerComputer(t *testing.T, o *Options) {
	j := o.Open(t)
	as, ok := j.(session.ActiveSessioner)
	if !ok {
		t.Skip("journaltest: the journal is not a session.ActiveSessioner")
	}
	ctx := t.Context()
	const rounds = 20
	created := func(id, computer string) session.Record {
		return session.Record{Session: id, Seq: 1, Kind: session.RecordCreated, Time: base,
			Request: &session.Request{ID: id, Computer: computer}}
	}
	var want []session.Record
	for i := range rounds {
		computer := fmt.Sprintf("pc-one-%02d", i)
		recs := []session.Record{created(computer+"-a", computer), created(computer+"-b", computer)}
		var (
			wg   sync.WaitGroup
			errs [2]error
		)
		start := make(chan struct{})
		for k, r := range recs {
			wg.Go(func() {
				<-start
				errs[k] = j.Append(ctx, r)
			})
		}
		close(start)
		wg.Wait()
		var winner, loser int
		switch {
		case errs[0] == nil && errs[1] == nil:
			t.Fatalf("computer %s: both sessions were created", computer)
		case errs[0] != nil && errs[1] != nil:
			t.Fatalf("computer %s: both sessions were refused: %v; %v", computer, errs[0], errs[1])
		case errs[0] == nil:
			winner, loser = 0, 1
		default:
			winner, loser = 1, 0
		}
		w := recs[winner]
		requireBusy(t, errs[loser], computer, w.Session)
		id, found, err := as.ActiveSession(ctx, computer)
		require.NoError(t, err)
		require.True(t, found, "computer %s has an active session", computer)
		require.Equal(t, w.Session, id, "computer %s's active session", computer)
		// a record that is not final leaves the winner active
		running := session.Record{Session: w.Session, Seq: 2, Kind: session.RecordStatus, Time: base, Status: session.Running}
		require.NoError(t, j.Append(ctx, running))
		third := created(computer+"-c", computer)
		requireBusy(t, j.Append(ctx, third), computer, w.Session)
		// the winner ends: the computer takes a new session
		end := session.Record{Session: w.Session, Seq: 3, Kind: session.RecordStatus, Time: base, Status: session.Passed}
		require.NoError(t, j.Append(ctx, end))
		require.NoError(t, j.Append(ctx, third), "computer %s: a session after the last one ended", computer)
		id, found, err = as.ActiveSession(ctx, computer)
		require.NoError(t, err)
		require.True(t, found, "computer %s has an active session", computer)
		require.Equal(t, third.Session, id, "computer %s's active session", computer)
		want = append(want, w, running, end, third)
	}
	// the refused sessions left nothing behind
	diff(t, "replay holds the winners", bySession(want), bySession(replayAll(t, j)))
}
