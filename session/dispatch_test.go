package session

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
)

// chanDispatcher is a Dispatcher over a channel: each Dispatch sends the
// ids, and the test's workers take them.
type chanDispatcher struct {
	mu   sync.Mutex
	c    chan string
	seen []Dispatched
}

func newChanDispatcher() *chanDispatcher { return &chanDispatcher{c: make(chan string, 1024)} }

func (d *chanDispatcher) Dispatch(_ context.Context, ss []Dispatched) error {
	d.mu.Lock()
	d.seen = append(d.seen, ss...)
	d.mu.Unlock()
	for _, s := range ss {
		d.c <- s.ID
	}
	return nil
}

// next waits for the next dispatched id.
func (d *chanDispatcher) next(t *testing.T) string {
	t.Helper()
	select {
	case id := <-d.c:
		return id
	case <-time.After(10 * time.Second):
		t.Fatal("nothing was dispatched")
		return ""
	}
}

func (d *chanDispatcher) empty() bool { return len(d.c) == 0 }

// twoProcesses is a harness whose engine dispatches, and a second engine
// over the same journal, fake computers and dispatcher: two processes.
func twoProcesses(t *testing.T, f *immy.Fleet, tune func(*Config)) (*harness, *Engine, *chanDispatcher) {
	d := newChanDispatcher()
	h := newHarness(t, f, func(c *Config) {
		c.Dispatcher = d
		if tune != nil {
			tune(c)
		}
	})
	return h, h.newEngine(), d
}

func TestDispatchWorkMatchesInProcess(t *testing.T) {
	ctx := context.Background()
	local := newHarness(t, crashFleet(), nil)
	want := local.run(Request{Computer: "pc1"})

	h, other, d := twoProcesses(t, crashFleet(), nil)
	id, err := h.engine.Start(ctx, Request{Computer: "pc1"})
	require.NoError(t, err)
	require.Len(t, id, 32, "a random 128-bit id")
	_, err = h.engine.Start(ctx, Request{Computer: "pc1"})
	require.ErrorIs(t, err, ErrBusy)
	_, err = other.Start(ctx, Request{Computer: "pc1"})
	require.ErrorIs(t, err, ErrBusy, "the journal knows the other process's session")
	require.Equal(t, id, d.next(t))
	require.Equal(t, []Dispatched{{ID: id, Computer: "pc1", Priority: 2}}, d.seen)

	// The other process works it.
	got, err := other.Work(ctx, id)
	require.NoError(t, err)
	ignore := cmpopts.IgnoreFields(Report{}, "ID", "Request", "Created", "Ended")
	require.Empty(t, cmp.Diff(want, got, ignore, cmpopts.IgnoreUnexported(Report{})))
	fromJournal, err := h.engine.Journaled(ctx, id)
	require.NoError(t, err)
	require.Equal(t, Passed, fromJournal.Status)

	// Working an ended session again does nothing.
	again, err := h.engine.Work(ctx, id)
	require.NoError(t, err)
	require.Equal(t, Passed, again.Status)
	for _, body := range mutating {
		require.Equal(t, 1, scriptRuns(h.fake.Computer("pc1"), body), body)
	}
	// The first process learns that the computer is free.
	id2, err := h.engine.Start(ctx, Request{Computer: "pc1", Kind: DetectionOnly, Source: AdHoc})
	require.NoError(t, err)
	require.Equal(t, id2, d.next(t))
	rep, err := h.engine.Work(ctx, id2)
	require.NoError(t, err)
	require.Equal(t, Passed, rep.Status)
	require.Empty(t, changes(rep.Actions))
	w, err := h.engine.Wait(ctx, id2)
	require.NoError(t, err, "Wait sees a session this process worked")
	require.Equal(t, Passed, w.Status)
}

// TestWorkAfterCrashAtEveryJournalWrite stops a process working a session at
// each journal write in turn; another process works it from the journal and
// runs every change exactly once, detecting an interrupted action first.
func TestWorkAfterCrashAtEveryJournalWrite(t *testing.T) {
	clean := newHarness(t, crashFleet(), nil)
	clean.run(Request{Computer: "pc1"})
	total := clean.journal.Len()
	for n := 2; n <= total; n++ {
		t.Run(fmt.Sprintf("write-%02d", n), func(t *testing.T) {
			ctx := context.Background()
			crash := &crashJournal{MemoryJournal: &MemoryJournal{}, n: n}
			d := newChanDispatcher()
			h := newHarness(t, crashFleet(), func(c *Config) { c.Journal, c.Dispatcher = crashReplayer{crash}, d })
			id, err := h.engine.Start(ctx, Request{Computer: "pc1"})
			require.NoError(t, err)
			_, err = h.engine.Work(ctx, d.next(t))
			require.ErrorIs(t, err, errCrash)
			before := len(h.fake.Computer("pc1").Runs())

			h.cfg.Journal = crash.MemoryJournal
			e2 := h.newEngine()
			ids, err := e2.Redispatch(ctx)
			require.NoError(t, err)
			require.Equal(t, []string{id}, ids)
			rep, err := e2.Work(ctx, d.next(t))
			require.NoError(t, err)
			require.Equal(t, Passed, rep.Status, "%s %v", rep.Reason, outcomes(rep.Actions))
			pc := h.fake.Computer("pc1")
			for _, body := range mutating {
				require.Equal(t, 1, scriptRuns(pc, body), "%s ran again in the other process", body)
			}
			var kept Report
			recs := crash.MemoryJournal.Records()
			for _, r := range recs[:n-1] {
				kept.apply(&r)
			}
			for _, a := range kept.Actions {
				if a.Status == Performing || a.Status == DeterminingResult {
					next := pc.Runs()[before]
					require.True(t, next.Inventory || strings.Contains(next.Script.Body, "get("),
						"the other process started with %q, not a detection", next.Script.Body)
				}
			}
		})
	}
}

// crashReplayer gives crashJournal the SessionReplayer of its memory.
type crashReplayer struct{ *crashJournal }

func (c crashReplayer) ReplaySession(ctx context.Context, id string, fn func(Record) error) error {
	return c.MemoryJournal.ReplaySession(ctx, id, fn)
}

// stealJournal lets another process write a record of the session just
// before this process's write number n.
type stealJournal struct {
	*MemoryJournal
	mu     sync.Mutex
	n      int
	writes int
	after  []Record // what this process tried to write once refused
}

func (j *stealJournal) Append(ctx context.Context, rec Record) error {
	j.mu.Lock()
	j.writes++
	steal := j.writes == j.n
	refused := j.writes > j.n
	if refused {
		j.after = append(j.after, rec)
	}
	j.mu.Unlock()
	if steal {
		other := Record{Session: rec.Session, Seq: rec.Seq, Kind: RecordStage, Stage: StageInventory, Time: rec.Time}
		if err := j.MemoryJournal.Append(ctx, other); err != nil {
			return err
		}
	}
	return j.MemoryJournal.Append(ctx, rec)
}

func TestWorkStopsOnOutOfSequence(t *testing.T) {
	ctx := context.Background()
	j := &stealJournal{MemoryJournal: &MemoryJournal{}, n: 6}
	d := newChanDispatcher()
	h := newHarness(t, crashFleet(), func(c *Config) { c.Journal, c.Dispatcher = stealReplayer{j}, d })
	id, err := h.engine.Start(ctx, Request{Computer: "pc1"})
	require.NoError(t, err)
	_, err = h.engine.Work(ctx, d.next(t))
	require.ErrorIs(t, err, ErrOutOfSequence)
	var je *JournalError
	require.ErrorAs(t, err, &je)
	require.Equal(t, id, je.Session)
	require.Empty(t, j.after, "nothing written after the refusal")
	require.Equal(t, 6, j.MemoryJournal.Len(), "5 of this process's records and the other's")
}

type stealReplayer struct{ *stealJournal }

func (s stealReplayer) ReplaySession(ctx context.Context, id string, fn func(Record) error) error {
	return s.MemoryJournal.ReplaySession(ctx, id, fn)
}

func TestDispatchOfflineWokenByAnotherProcess(t *testing.T) {
	ctx := context.Background()
	h, other, d := twoProcesses(t, smallFleet(), nil)
	h.fake.Computer("pc1").SetOnline(false)
	id, err := h.engine.Start(ctx, Request{Computer: "pc1"})
	require.NoError(t, err)
	rep, err := h.engine.Work(ctx, d.next(t))
	require.NoError(t, err)
	require.Equal(t, PendingConnectivity, rep.Status)
	require.True(t, d.empty())
	ids, err := other.Redispatch(ctx)
	require.NoError(t, err)
	require.Empty(t, ids, "a session pending connectivity waits for Connected")

	h.fake.Computer("pc1").SetOnline(true)
	other.Connected("pc1")
	require.Equal(t, id, d.next(t))
	other.Connected("pc1") // again: it is pending now, not dispatched twice
	rep, err = other.Work(ctx, id)
	require.NoError(t, err)
	require.Equal(t, Passed, rep.Status)
	require.True(t, d.empty())
	require.Equal(t, []Status{Running, PendingConnectivity, Pending, Running, Passed}, statuses(h.journal, id))
}

// postponeOnce postpones the first session it is told about.
type postponeOnce struct {
	until time.Time
	once  sync.Once
}

func (p *postponeOnce) Before(context.Context, Notice) (Reply, error) {
	r := Reply{Answer: Proceed}
	p.once.Do(func() { r = Reply{Answer: Postpone, Until: p.until} })
	return r, nil
}

func (p *postponeOnce) After(context.Context, Notice) error { return nil }

func TestDispatchPostponedAndCancelled(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	n := &postponeOnce{until: now.Add(time.Hour)}
	h, other, d := twoProcesses(t, smallFleet(), func(c *Config) { c.Notifier, c.Now = n, clock })
	id, err := h.engine.Start(ctx, Request{Computer: "pc1", Notify: true})
	require.NoError(t, err)
	rep, err := h.engine.Work(ctx, d.next(t))
	require.NoError(t, err)
	require.Equal(t, Postponed, rep.Status)
	require.Equal(t, now.Add(time.Hour), rep.PostponedUntil)
	// Before its time, Work returns at once.
	rep, err = other.Work(ctx, id)
	require.NoError(t, err)
	require.Equal(t, Postponed, rep.Status)
	mu.Lock()
	now = now.Add(time.Hour)
	mu.Unlock()
	rep, err = other.Work(ctx, id)
	require.NoError(t, err)
	require.Equal(t, Passed, rep.Status)

	// A session queued in one process is cancelled from the other.
	id2, err := h.engine.Start(ctx, Request{Computer: "pc2"})
	require.NoError(t, err)
	require.Equal(t, id2, d.next(t))
	require.NoError(t, other.Cancel(id2))
	rep, err = h.engine.Work(ctx, id2)
	require.NoError(t, err)
	require.Equal(t, Cancelled, rep.Status)
	require.Empty(t, scriptsRun(h.fake.Computer("pc2")))
	require.ErrorIs(t, other.Cancel("nope"), immy.ErrNotFound)
}

func TestWorkRefusals(t *testing.T) {
	ctx := context.Background()
	h, _, d := twoProcesses(t, smallFleet(), nil)
	_, err := h.engine.Work(ctx, "nope")
	require.ErrorIs(t, err, immy.ErrNotFound)
	id, err := h.engine.Start(ctx, Request{Computer: "pc1", ID: "fire-1"})
	require.NoError(t, err)
	require.Equal(t, "fire-1", d.next(t))
	_, err = h.engine.Start(ctx, Request{Computer: "pc2", ID: "fire-1"})
	require.ErrorIs(t, err, ErrExists)
	// a context that ends stops the session without ending it
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = h.engine.Work(cctx, id)
	require.ErrorIs(t, err, context.Canceled)
	rep, err := h.engine.Work(ctx, id)
	require.NoError(t, err)
	require.Equal(t, Passed, rep.Status)

	// without a SessionReplayer there is no dispatch
	_, err = New(Config{Planner: h.planner, Runner: h.fake, Journal: onlyJournal{}, Dispatcher: d})
	require.ErrorIs(t, err, immy.ErrInvalid)
	_, err = h.engine.Redispatch(ctx)
	require.NoError(t, err)
	_, err = newHarness(t, smallFleet(), nil).engine.Redispatch(ctx)
	require.True(t, errors.Is(err, immy.ErrInvalid))
}

type onlyJournal struct{}

func (onlyJournal) Append(context.Context, Record) error             { return nil }
func (onlyJournal) Replay(context.Context, func(Record) error) error { return nil }

// dispatchFunc is a Dispatcher made of a function.
type dispatchFunc func(ctx context.Context, ss []Dispatched) error

func (f dispatchFunc) Dispatch(ctx context.Context, ss []Dispatched) error { return f(ctx, ss) }

// gatedInventory signals entered on its first inventory and holds it until
// release is closed.
type gatedInventory struct {
	immy.InventorySource
	once             *sync.Once
	entered, release chan struct{}
}

func (g gatedInventory) Inventory(ctx context.Context, computer string) (immy.Inventory, error) {
	g.once.Do(func() { close(g.entered) })
	<-g.release
	return g.InventorySource.Inventory(ctx, computer)
}

// TestDispatchFailsWhileTheSessionRuns: Start journals a session, a sweep
// (Redispatch) dispatches it from the journal and this engine works it, and
// only then does Start's own Dispatch fail. The running session is left to
// run: Start returns its id, nothing records it failed, and nothing ends it
// twice (which closed its done channel twice, a panic with its scheduling
// mutex held: under River, whose workers recover panics, Close then hung
// on that mutex for good).
func TestDispatchFailsWhileTheSessionRuns(t *testing.T) {
	ctx := context.Background()
	gate := gatedInventory{once: &sync.Once{}, entered: make(chan struct{}), release: make(chan struct{})}
	var e *Engine
	worked := make(chan error, 1)
	d := dispatchFunc(func(ctx context.Context, ss []Dispatched) error {
		go func() {
			_, err := e.Work(ctx, ss[0].ID)
			worked <- err
		}()
		<-gate.entered // it runs here
		return errors.New("queue unavailable")
	})
	h := newHarness(t, crashFleet(), func(c *Config) {
		c.Dispatcher = d
		gate.InventorySource = c.Inventory
		c.Inventory = gate
	})
	e = h.engine
	id, err := e.Start(ctx, Request{Computer: "pc1"})
	require.NoError(t, err, "the session runs: its own dispatch failing does not fail it")
	close(gate.release)
	require.NoError(t, <-worked)
	rep, err := e.Wait(ctx, id)
	require.NoError(t, err)
	require.Equal(t, Passed, rep.Status, rep.Reason)
	fromJournal, err := e.Journaled(ctx, id)
	require.NoError(t, err)
	require.Equal(t, Passed, fromJournal.Status)
}

// TestDispatchFailsBeforeTheSessionRuns: when nothing works the session,
// Start's failed Dispatch ends it failed, with the reason, and frees the
// computer.
func TestDispatchFailsBeforeTheSessionRuns(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, crashFleet(), func(c *Config) {
		c.Dispatcher = dispatchFunc(func(context.Context, []Dispatched) error { return errors.New("queue unavailable") })
	})
	_, err := h.engine.Start(ctx, Request{ID: "s-1", Computer: "pc1"})
	require.ErrorContains(t, err, "queue unavailable")
	rep, err := h.engine.Journaled(ctx, "s-1")
	require.NoError(t, err)
	require.Equal(t, Failed, rep.Status)
	require.Equal(t, ReasonInternalError, rep.Reason)
	_, busy := h.engine.Active("pc1")
	require.False(t, busy, "the computer is free again")
}

// TestDispatchCancelledLeavesThePendingSession: a Start whose ctx ends while
// it dispatches (a fire job stopped with its process) leaves the session
// pending in the journal, as a crash would, for Redispatch; it does not
// fail it.
func TestDispatchCancelledLeavesThePendingSession(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	h := newHarness(t, crashFleet(), func(c *Config) {
		c.Dispatcher = dispatchFunc(func(ctx context.Context, _ []Dispatched) error {
			cancel()
			return ctx.Err()
		})
	})
	_, err := h.engine.Start(ctx, Request{ID: "s-1", Computer: "pc1"})
	require.ErrorIs(t, err, context.Canceled)
	rep, err := h.engine.Journaled(context.Background(), "s-1")
	require.NoError(t, err)
	require.Equal(t, Pending, rep.Status)
	_, busy := h.engine.Active("pc1")
	require.False(t, busy, "this process no longer holds it")
}
