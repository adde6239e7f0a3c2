package fleetstore

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/immytest"
	"github.com/immyoss/engine/session"
)

// benchRunner is a computer without latency: every script succeeds, and
// its inventory is the generated fleet's.
type benchRunner struct{ inv map[string]immy.Inventory }

func (benchRunner) RunScript(context.Context, immy.ScriptRequest) (immy.ScriptResult, error) {
	return immy.ScriptResult{}, nil
}

func (r benchRunner) Inventory(_ context.Context, computer string) (immy.Inventory, error) {
	return r.inv[computer], nil
}

// snapshotsOnly hides a Store's Unchanged from the engine: every session
// takes the current revision, as before the engine asked.
type snapshotsOnly struct{ s *Store }

func (o snapshotsOnly) Snapshot() (*immy.Fleet, int64) { return o.s.Snapshot() }

// BenchmarkSessionWrites is the server's shape on fleets of 1,000 and
// 100,000 computers in SQLite: a session engine over the store (its
// InventorySink SessionSink) runs one detection-only session after another,
// each of another computer, and each session's end writes what it read of
// its computer into the store. One op is one session and its inventory
// write.
//
//   - engine=snapshot: the engine takes the store's current revision for
//     every session (a FleetSource without Unchanged), so every write finds
//     the revision before handed out and copies the computers;
//   - engine=unchanged: the engine asks Unchanged and plans from the
//     revision it indexed last, which every write leaves the current one
//     private: it changes the computers in place;
//   - engine=unchanged/own-write: before each session an agent reports the
//     session's computer (online, its OS): the session plans from the
//     current revision, so each write copies again (the case Unchanged
//     cannot spare).
//
// Run it with
//
//	go test -run '^$' -bench BenchmarkSessionWrites -benchmem ./session/fleetstore/
func BenchmarkSessionWrites(b *testing.B) {
	for _, n := range []int{1000, 100_000} {
		b.Run(fmt.Sprintf("fleet=%d", n), func(b *testing.B) { benchSessionWrites(b, n) })
	}
}

func benchSessionWrites(b *testing.B, computers int) {
	ctx := context.Background()
	f := immytest.Generate(immytest.FleetScale(computers))
	s, err := OpenSQLite(ctx, filepath.Join(b.TempDir(), "immy.db"), Config{Synchronous: "NORMAL"})
	require.NoError(b, err)
	defer s.Close()
	importFleet(b, s, f)
	runner := benchRunner{inv: make(map[string]immy.Inventory, len(f.Computers))}
	runners := map[string]immy.ScriptRunner{}
	var reached []int // the computers sessions reach: the others wait for connectivity
	for i, c := range f.Computers {
		runner.inv[c.ID] = immy.Inventory{Identity: immy.Identity{Hostname: c.Name, OS: c.OS}, Software: c.Software}
		for _, p := range c.Pathways {
			if p.Integration != "" {
				runners[p.Integration] = runner
			}
		}
		if c.Online {
			reached = append(reached, i)
		}
	}
	next := 0 // the online computers' sessions, in turn, across the variants
	for _, bc := range []struct {
		name     string
		src      session.FleetSource
		ownWrite bool
	}{{"engine=snapshot", snapshotsOnly{s}, false}, {"engine=unchanged", s, false}, {"engine=unchanged/own-write", s, true}} {
		b.Run(bc.name, func(b *testing.B) {
			e, err := session.New(session.Config{Fleet: bc.src, Runner: runner, Runners: runners, Inventory: runner, InventorySink: SessionSink(s)})
			require.NoError(b, err)
			defer e.Close(ctx)
			online := true
			runOne := func() {
				c := &f.Computers[reached[next%len(reached)]]
				next++
				if bc.ownWrite {
					if _, err := s.PutInventory(ctx, []Inventory{{Computer: c.ID, Online: &online, OS: c.OS + " (agent)"}}); err != nil {
						b.Fatal(err)
					}
				}
				id, err := e.Start(ctx, session.Request{Computer: c.ID, Kind: session.DetectionOnly})
				if err != nil {
					b.Fatal(err)
				}
				wctx, cancel := context.WithTimeout(ctx, time.Minute)
				rep, err := e.Wait(wctx, id)
				cancel()
				if err != nil {
					rep, _ := e.Report(id)
					b.Fatalf("session of %s: %v: %s %s %s", c.ID, err, rep.Status, rep.Reason, rep.Message)
				}
				if rep.Status != session.Passed {
					b.Fatalf("session of %s: %s: %s", c.ID, rep.Reason, rep.Message)
				}
			}
			// New took the current revision: the first write copies the
			// computers in every variant
			runOne()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				runOne()
			}
		})
	}
}
