package session_test

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/immytest"
	"github.com/immyoss/engine/internal/pgtest"
	"github.com/immyoss/engine/resolver"
	"github.com/immyoss/engine/session"
	"github.com/immyoss/engine/session/internal/bareappend"
	"github.com/immyoss/engine/session/sqlstore"
	"github.com/immyoss/engine/targets"
)

// benchComputers sets BenchmarkSessions' number of sessions; 0 means 10,000
// (1,000 with -short).
var benchComputers = flag.Int("sessions.computers", 0, "BenchmarkSessions: sessions at once (0: 10,000, or 1,000 with -short)")

// zeroRunner is a fake runner without latency and without Lua: scripts are
// understood by their step parameter, the state is a set of installed
// software per computer. It is the cheapest runner there can be, so that a
// benchmark measures the engine.
type zeroRunner struct {
	computers map[string]*zeroComputer // made up front, then read only
}

type zeroComputer struct {
	mu       sync.Mutex
	software map[string]immy.DetectedSoftware
}

func (z *zeroRunner) RunScript(ctx context.Context, req immy.ScriptRequest) (immy.ScriptResult, error) {
	c := z.computers[req.Computer]
	name, _ := req.Parameters["software_name"].(string)
	c.mu.Lock()
	defer c.mu.Unlock()
	switch req.Parameters["step"] {
	case "install":
		v, err := immy.ParseVersion(req.Parameters["version"].(string))
		if err != nil {
			return immy.ScriptResult{ExitCode: 1}, nil
		}
		c.software[name] = immy.DetectedSoftware{Name: name, Version: v}
	case "uninstall":
		delete(c.software, name)
	}
	return immy.ScriptResult{}, nil
}

func (z *zeroRunner) Inventory(ctx context.Context, computer string) (immy.Inventory, error) {
	c := z.computers[computer]
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]immy.DetectedSoftware, 0, len(c.software))
	for _, s := range c.software {
		out = append(out, s)
	}
	return immy.Inventory{Software: out}, nil
}

// countingJournal counts the records written through it.
type countingJournal struct {
	session.Journal
	n atomic.Int64
}

func (j *countingJournal) Append(ctx context.Context, r session.Record) error {
	j.n.Add(1)
	return j.Journal.Append(ctx, r)
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSessions runs 10,000 sessions at once, each installing 20
// software (20 actions, each verified by a fresh inventory), against a
// runner without latency, with each journal: in memory, SQLite with
// synchronous FULL (the default: every commit synced) and NORMAL, the bare
// append that SQLite FULL is measured against (the same records as JSON
// lines appended to one file, one fsync per group commit, nothing checked
// or indexed), and PostgreSQL (skipped unless IMMY_TEST_POSTGRES_URL names
// a server). It
// reports actions per second, the CPU time (user and system, of the whole
// process: engine, journal, database driver and the trivial runner) per
// action, and the journal records per action. -short, or
// -sessions.computers=N, runs fewer sessions.
//
//	go test ./session -run '^$' -bench BenchmarkSessions -benchtime 1x -count 3
func BenchmarkSessions(b *testing.B) {
	computers := *benchComputers
	switch {
	case computers > 0:
	case testing.Short():
		computers = 1_000
	default:
		computers = 10_000
	}
	const items = 20
	fb := immytest.NewFleet().At("2026-11-23T10:00:00Z").Tenant("t1")
	for i := range computers {
		fb.Computer(fmt.Sprintf("pc%05d", i), "t1", immy.KindWorkstation)
	}
	for i := range items {
		id := fmt.Sprintf("app%02d", i)
		fb.Software(id, immytest.Name("Application "+id), immytest.Versions("1.0", "2.0"))
		fb.Deploy("d-"+id, id, immytest.OnAllComputers())
	}
	f := fb.Build()
	for i := range f.Software {
		f.Software[i].Install = &immy.Script{Body: "install"}
		f.Software[i].Uninstall = &immy.Script{Body: "uninstall"}
	}
	cat, err := resolver.NewCatalogue(f)
	require.NoError(b, err)
	ix, err := targets.NewIndex(f, targets.Config{At: f.At})
	require.NoError(b, err)
	planner, err := resolver.NewPlanner(ix, cat, resolver.Config{At: f.At})
	require.NoError(b, err)

	sqlite := func(sync string) func(b *testing.B) session.Journal {
		return func(b *testing.B) session.Journal {
			s, err := sqlstore.OpenSQLite(b.Context(), filepath.Join(b.TempDir(), "immy.db"), sqlstore.Config{Synchronous: sync})
			require.NoError(b, err)
			b.Cleanup(func() { s.Close() })
			return s
		}
	}
	for _, jv := range []struct {
		name string
		open func(b *testing.B) session.Journal
	}{
		{"memory", func(*testing.B) session.Journal { return &session.MemoryJournal{} }},
		{"sqlite-full", sqlite("FULL")},
		{"sqlite-normal", sqlite("NORMAL")},
		{"bare-append", func(b *testing.B) session.Journal {
			a, err := bareappend.New(filepath.Join(b.TempDir(), "journal.jsonl"), 4096) // sqlstore's group commit bound
			require.NoError(b, err)
			b.Cleanup(func() { a.Close() })
			return a
		}},
		{"postgres", func(b *testing.B) session.Journal {
			pool, err := pgxpool.New(b.Context(), pgtest.Database(b))
			require.NoError(b, err)
			b.Cleanup(pool.Close)
			s, err := sqlstore.OpenPostgres(b.Context(), pool, sqlstore.Config{})
			require.NoError(b, err)
			b.Cleanup(func() { s.Close() })
			return s
		}},
	} {
		b.Run(fmt.Sprintf("journal=%s/sessions=%d", jv.name, computers), func(b *testing.B) {
			ctx := context.Background()
			var actions, records int64
			var elapsed, cpu time.Duration
			for b.Loop() {
				b.StopTimer()
				runner := &zeroRunner{computers: map[string]*zeroComputer{}}
				for _, c := range f.Computers {
					runner.computers[c.ID] = &zeroComputer{software: map[string]immy.DetectedSoftware{}}
				}
				journal := &countingJournal{Journal: jv.open(b)}
				e, err := session.New(session.Config{Planner: planner, Runner: runner, Inventory: runner, Journal: journal, MaxRunning: computers})
				require.NoError(b, err)
				b.StartTimer()
				start, cpu0 := time.Now(), cpuTime()
				ids := make([]string, computers)
				for i := range computers {
					ids[i], err = e.Start(ctx, session.Request{Computer: f.Computers[i].ID})
					if err != nil {
						b.Fatal(err)
					}
				}
				for _, id := range ids {
					rep, err := e.Wait(ctx, id)
					if err != nil || rep.Status != session.Passed || len(rep.Actions) != items {
						b.Fatalf("session %s: %v %s %d actions", id, err, rep.Status, len(rep.Actions))
					}
				}
				elapsed += time.Since(start)
				cpu += cpuTime() - cpu0
				actions += int64(computers * items)
				records += journal.n.Load()
				b.StopTimer()
				require.NoError(b, e.Close(ctx))
				b.StartTimer()
			}
			b.ReportMetric(float64(actions)/elapsed.Seconds(), "actions/s")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(actions), "cpu-ns/action")
			b.ReportMetric(float64(records)/float64(actions), "records/action")
		})
	}
}
