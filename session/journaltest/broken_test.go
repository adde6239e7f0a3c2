package journaltest_test

import (
	"context"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/session"
	"github.com/immyoss/engine/session/journaltest"
)

// Broken journals, each breaking one rule: the kit must fail them, on the
// check that names the rule.
var broken = map[string]struct {
	check string // the subtest that must fail
	open  func() session.Journal
	// reopen: nil keeps the journal
	reopen func(old session.Journal) session.Journal
}{
	"no-sequence":    {check: "sequence", open: func() session.Journal { return &sliceJournal{} }},
	"same-seq":       {check: "same-seq-race", open: func() session.Journal { return &sliceJournal{} }},
	"drops-field":    {check: "round-trip", open: func() session.Journal { return dropMessage{&session.MemoryJournal{}} }},
	"reorders":       {check: "order", open: func() session.Journal { return reversed{&session.MemoryJournal{}} }},
	"ignores-ctx":    {check: "cancelled", open: func() session.Journal { return ignoreCtx{&session.MemoryJournal{}} }},
	"forgets":        {check: "durable", open: func() session.Journal { return &session.MemoryJournal{} }, reopen: func(session.Journal) session.Journal { return &session.MemoryJournal{} }},
	"not-replayer":   {check: "replay-session", open: func() session.Journal { return wrongSession{&session.MemoryJournal{}} }},
	"check-then-act": {check: "one-per-computer", open: func() session.Journal { return &checkThenAct{} }},
}

// TestKitFailsBrokenJournals runs the kit, in a child process, on each
// broken journal and checks that it fails, and on the named check.
func TestKitFailsBrokenJournals(t *testing.T) {
	if os.Getenv("JOURNALTEST_BROKEN") != "" {
		t.Skip("in the child")
	}
	for name, b := range broken {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestBrokenChild$", "-test.v")
			cmd.Env = append(os.Environ(), "JOURNALTEST_BROKEN="+name)
			out, err := cmd.CombinedOutput()
			require.Error(t, err, "the kit passed a broken journal:\n%s", out)
			require.Contains(t, string(out), "--- FAIL: TestBrokenChild/"+b.check+" ", "the failing check:\n%s", out)
		})
	}
}

func TestBrokenChild(t *testing.T) {
	name := os.Getenv("JOURNALTEST_BROKEN")
	if name == "" {
		t.Skip("run by TestKitFailsBrokenJournals")
	}
	b := broken[name]
	o := journaltest.Options{Open: func(*testing.T) session.Journal { return b.open() }}
	o.Reopen = func(_ *testing.T, old session.Journal) session.Journal { return old }
	if b.reopen != nil {
		o.Reopen = func(_ *testing.T, old session.Journal) session.Journal { return b.reopen(old) }
	}
	if name == "same-seq" {
		o.Sessions = 1
	}
	journaltest.RunWith(t, o)
}

// sliceJournal keeps whatever it is given: no sequence rule.
type sliceJournal struct {
	mu   sync.Mutex
	recs []session.Record
}

func (j *sliceJournal) Append(ctx context.Context, r session.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.recs = append(j.recs, r)
	return nil
}

func (j *sliceJournal) Replay(ctx context.Context, fn func(session.Record) error) error {
	j.mu.Lock()
	recs := slices.Clone(j.recs)
	j.mu.Unlock()
	for _, r := range recs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

type dropMessage struct{ *session.MemoryJournal }

func (j dropMessage) Append(ctx context.Context, r session.Record) error {
	r.Message = strings.ReplaceAll(r.Message, "\x00", "") // as a jsonb column would refuse it
	return j.MemoryJournal.Append(ctx, r)
}

type reversed struct{ *session.MemoryJournal }

func (j reversed) Replay(ctx context.Context, fn func(session.Record) error) error {
	recs := j.Records()
	slices.Reverse(recs)
	for _, r := range recs {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

type ignoreCtx struct{ *session.MemoryJournal }

func (j ignoreCtx) Append(_ context.Context, r session.Record) error {
	return j.MemoryJournal.Append(context.Background(), r)
}

type wrongSession struct{ *session.MemoryJournal }

func (j wrongSession) ReplaySession(ctx context.Context, id string, fn func(session.Record) error) error {
	return j.MemoryJournal.ReplaySession(ctx, strings.TrimSuffix(id, "-more"), fn)
}

// checkThenAct refuses a second session of a computer by asking first and
// appending after: two sessions created at once both pass.
type checkThenAct struct {
	sliceJournal
	mu   sync.Mutex
	open map[string]string // computer -> session not ended
}

func (j *checkThenAct) Append(ctx context.Context, r session.Record) error {
	if r.Kind == session.RecordCreated && r.Request != nil && r.Request.Computer != "" {
		c := r.Request.Computer
		if id, ok, _ := j.ActiveSession(ctx, c); ok && id != r.Session {
			return &session.BusyError{Computer: c, Session: id}
		}
		time.Sleep(time.Millisecond) // the window between check and act, widened
		j.mu.Lock()
		if j.open == nil {
			j.open = map[string]string{}
		}
		j.open[c] = r.Session
		j.mu.Unlock()
	}
	if r.Kind == session.RecordStatus && r.Status.Final() {
		j.mu.Lock()
		for c, id := range j.open {
			if id == r.Session {
				delete(j.open, c)
			}
		}
		j.mu.Unlock()
	}
	return j.sliceJournal.Append(ctx, r)
}

func (j *checkThenAct) ActiveSession(_ context.Context, computer string) (string, bool, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	id, ok := j.open[computer]
	return id, ok, nil
}
