package session

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
)

var errCrash = errors.New("the process died")

// crashJournal is a journal whose process dies at its n-th write: that write
// and every later one fail, and nothing of them is kept.
type crashJournal struct {
	*MemoryJournal
	mu     sync.Mutex
	n      int
	writes int
}

func (j *crashJournal) Append(ctx context.Context, rec Record) error {
	j.mu.Lock()
	j.writes++
	dead := j.n > 0 && j.writes >= j.n
	j.mu.Unlock()
	if dead {
		return errCrash
	}
	return j.MemoryJournal.Append(ctx, rec)
}

// crashFleet needs every kind of step: an update by uninstall then
// install, a prerequisite install before its dependent, and an enforced task
// (test false, set, test again).
func crashFleet() *immy.Fleet {
	f := smallFleet()
	f.Computers = f.Computers[:1]
	f.Computers[0].Software = []immy.DetectedSoftware{{Name: "App", Version: v("1.0")}}
	f.Computers[0].Tasks = map[string]bool{"bitlocker": false}
	f.Software[0].UpgradeStrategy = immy.UpgradeUninstallInstall
	f.Tasks = []immy.Task{{ID: "bitlocker", Name: "BitLocker"}}
	f.Deployments = append(f.Deployments, immy.Deployment{ID: "d-bitlocker", Item: "bitlocker",
		Target: immy.Target{Type: immy.TargetAllComputers}, Mode: immy.ModeEnforce})
	return f
}

// mutating are the scripts that change the computer in crashFleet's session.
var mutating = []string{`uninstall("App")`, `install("App"`, `install("VC Redist"`, `install("Phone"`, `set("task:bitlocker"`}

// TestCrashAtEveryJournalWrite stops the engine at each journal write of a
// session in turn, resumes the session with a new engine over the journal,
// and checks that it ended, that every script that changes the computer ran
// exactly once (an action that was running when the engine stopped is
// detected again, never re-run blindly), and that the computer ends in its
// desired state.
func TestCrashAtEveryJournalWrite(t *testing.T) {
	// A run without a crash counts the writes.
	clean := newHarness(t, crashFleet(), nil)
	rep := clean.run(Request{Computer: "pc1"})
	require.Equal(t, Passed, rep.Status, "%s %v", rep.Reason, outcomes(rep.Actions))
	total := clean.journal.Len()
	require.Greater(t, total, 12)
	for _, body := range mutating {
		require.Equal(t, 1, scriptRuns(clean.fake.Computer("pc1"), body), body)
	}

	interruptions := 0
	for n := 1; n <= total; n++ {
		t.Run(fmt.Sprintf("write-%02d", n), func(t *testing.T) {
			crash := &crashJournal{MemoryJournal: &MemoryJournal{}, n: n}
			h := newHarness(t, crashFleet(), func(c *Config) { c.Journal = crash })
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			id, err := h.engine.Start(ctx, Request{Computer: "pc1"})
			if n == 1 {
				require.ErrorIs(t, err, errCrash, "the first write records the session")
				require.Equal(t, 0, crash.MemoryJournal.Len())
				return
			}
			require.NoError(t, err)
			_, err = h.engine.Wait(ctx, id)
			var je *JournalError
			require.ErrorAs(t, err, &je)
			require.ErrorIs(t, err, errCrash)
			require.Equal(t, n-1, crash.MemoryJournal.Len())
			before := h.fake.Computer("pc1").Runs()
			interrupted := false
			var kept Report
			for _, r := range crash.MemoryJournal.Records() {
				kept.apply(&r)
			}
			for _, a := range kept.Actions {
				interrupted = interrupted || a.Status == Performing || a.Status == DeterminingResult
			}
			if interrupted {
				interruptions++
			}

			// A new engine, over what the journal kept.
			h.cfg.Journal = crash.MemoryJournal
			e2 := h.newEngine()
			ids, err := e2.Resume(ctx)
			require.NoError(t, err)
			require.Equal(t, []string{id}, ids)
			rep, err := e2.Wait(ctx, id)
			require.NoError(t, err)
			require.Equal(t, Passed, rep.Status, "%s %v", rep.Reason, outcomes(rep.Actions))
			require.Len(t, rep.Actions, 4)
			for _, a := range rep.Actions {
				require.Equal(t, Success, a.Result, "%s: %s %s", a.Item(), a.Reason, a.Message)
			}

			pc := h.fake.Computer("pc1")
			runs := pc.Runs()
			for _, body := range mutating {
				require.Equal(t, 1, scriptRuns(pc, body), "%s ran again after the crash", body)
			}
			// An action that was running when the engine stopped is
			// detected again (an inventory read, or a task's test) before
			// anything else runs.
			if interrupted && len(runs) > len(before) {
				next := runs[len(before)]
				require.True(t, next.Inventory || strings.Contains(next.Script.Body, "get("),
					"the resumed engine started with %q, not a detection", next.Script.Body)
			}
			last := crash.MemoryJournal.Records()
			require.True(t, last[len(last)-1].Status.Final(), "the session did not end in the journal")

			// The computer is in its desired state: nothing left to do.
			h.engine = e2
			again := h.run(Request{Computer: "pc1", Kind: DetectionOnly})
			require.Empty(t, changes(again.Actions))
		})
	}
	// Each action was stopped once while its scripts ran: after
	// "performing" was written (its determining-result is not journaled
	// unless its scripts asked for a reboot, and none of these do).
	require.Equal(t, len(rep.Actions), interruptions)
}

// TestDeterminingJournaledForReboot: an action costs the journal two
// records (its start and its result); its determining-result is journaled
// only when its scripts asked for a reboot, so that a crash before its result
// is recorded still knows the reboot was asked for.
func TestDeterminingJournaledForReboot(t *testing.T) {
	determining := func(recs []Record) []int {
		var at []int
		for i, r := range recs {
			if r.Kind == RecordAction && r.Action.Status == DeterminingResult {
				at = append(at, i)
			}
		}
		return at
	}
	for _, reboot := range []bool{false, true} {
		t.Run(fmt.Sprintf("reboot=%v", reboot), func(t *testing.T) {
			prep := func(f *immy.Fleet) {
				if reboot {
					f.Software[0].Install = luaScript(`install("App", version) exit(3010)`)
				}
			}
			clean := newHarnessPrep(t, appFleet("", immy.DesiredLatest, ""), prep, nil)
			rep := clean.run(Request{Computer: "pc1"})
			require.Equal(t, Passed, rep.Status, rep.Reason)
			recs := clean.journal.Records()
			var actionRecs int
			for _, r := range recs {
				if r.Kind == RecordAction {
					actionRecs++
				}
			}
			at := determining(recs)
			if !reboot {
				require.Empty(t, at)
				require.Equal(t, 2, actionRecs, "performing and complete")
				return
			}
			require.Len(t, at, 1)
			require.Equal(t, 3, actionRecs)

			// The process dies writing the action's result: the resumed
			// session still knows the reboot was asked for.
			crash := &crashJournal{MemoryJournal: &MemoryJournal{}, n: at[0] + 2}
			h := newHarnessPrep(t, appFleet("", immy.DesiredLatest, ""), prep, func(c *Config) { c.Journal = crash })
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			id, err := h.engine.Start(ctx, Request{Computer: "pc1"})
			require.NoError(t, err)
			_, err = h.engine.Wait(ctx, id)
			require.ErrorIs(t, err, errCrash)
			h.cfg.Journal = crash.MemoryJournal
			e2 := h.newEngine()
			_, err = e2.Resume(ctx)
			require.NoError(t, err)
			rep, err = e2.Wait(ctx, id)
			require.NoError(t, err)
			require.Equal(t, Passed, rep.Status, rep.Reason)
			require.Equal(t, ReasonVerifiedAfterResume, rep.Actions[0].Reason)
			require.True(t, rep.Actions[0].RebootRequired)
			require.True(t, rep.Reboot.Required)
		})
	}
}
