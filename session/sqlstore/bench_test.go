package sqlstore

import (
	"flag"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/immyoss/engine/internal/pgtest"
	"github.com/immyoss/engine/resolver"
	"github.com/immyoss/engine/session"
	"github.com/immyoss/engine/session/internal/bareappend"
)

// benchActions is the actions per session, 2 records each.
const benchActions = 20

// benchSessions sets BenchmarkJournal's number of sessions written at once.
var benchSessions = flag.Int("journal.sessions", 10_000, "BenchmarkJournal: sessions written at once")

// BenchmarkJournal measures durable throughput: 10,000 sessions at once
// (-journal.sessions=N), each a created record, then 2 records per action
// (performing, complete: what the engine journals), then its final status;
// each session done, its writer begins another. It reports actions per
// second (b.N counts actions) and the process's CPU time (user and system)
// per action. bare-append is the floor a store is compared with: the same
// records as JSON lines appended to one file, one f.Sync per group-commit
// batch of the same size, nothing read or checked.
//
//	go test ./session/sqlstore -run '^$' -bench 'BenchmarkJournal/(sqlite$|bare-append)' -benchtime 100000x -count 3
func BenchmarkJournal(b *testing.B) {
	for name, cfg := range map[string]Config{
		"sqlite":             {},
		"sqlite-sync-normal": {Synchronous: "NORMAL"}, // no fsync at commit: survives kill -9, not power loss
	} {
		b.Run(name, func(b *testing.B) {
			s, err := OpenSQLite(b.Context(), filepath.Join(b.TempDir(), "immy.db"), cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			benchActionsPerSecond(b, s)
		})
	}
	b.Run("postgres", func(b *testing.B) {
		pgtest.URL(b)
		pool, err := pgxpool.New(b.Context(), pgtest.Database(b))
		if err != nil {
			b.Fatal(err)
		}
		defer pool.Close()
		s, err := OpenPostgres(b.Context(), pool, Config{})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		benchActionsPerSecond(b, s)
	})
	b.Run("bare-append", func(b *testing.B) {
		a, err := bareappend.New(filepath.Join(b.TempDir(), "journal.jsonl"), Config{}.maxBatch())
		if err != nil {
			b.Fatal(err)
		}
		defer a.Close()
		benchActionsPerSecond(b, a)
	})
}

func benchActionsPerSecond(b *testing.B, j session.Journal) {
	ctx := b.Context()
	var (
		next   atomic.Int64 // actions handed out
		failed atomic.Value
		wg     sync.WaitGroup
	)
	epoch := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b.ResetTimer()
	cpu0 := cpuTime()
	for g := range *benchSessions {
		wg.Go(func() {
			for n := 0; ; n++ {
				id := fmt.Sprintf("bench-%03d-%06d", g, n)
				seq := 0
				write := func(r session.Record) bool {
					seq++
					r.Session, r.Seq, r.Time = id, seq, epoch.Add(time.Duration(seq)*time.Second)
					if err := j.Append(ctx, r); err != nil {
						failed.Store(err)
						return false
					}
					return true
				}
				if !write(session.Record{Kind: session.RecordCreated, Request: &session.Request{ID: id, Computer: "pc-" + id}}) {
					return
				}
				for i := range benchActions {
					if next.Add(1) > int64(b.N) {
						write(session.Record{Kind: session.RecordStatus, Status: session.Passed})
						return
					}
					a := session.Action{
						Planned: resolver.Action{Item: fmt.Sprintf("item-%02d", i), Deployment: "d1", Action: resolver.ActionInstall,
							Reason: "not-installed", Version: "1.2.3"},
						Status: session.Performing, Attempts: 1,
					}
					for _, st := range []session.ActionStatus{session.Performing, session.Complete} {
						a.Status = st
						if st == session.Complete {
							a.Result, a.Reason, a.After = session.Success, session.ReasonVerified, "1.2.3"
						}
						if !write(session.Record{Kind: session.RecordAction, Index: i, Action: &a}) {
							return
						}
					}
				}
				if !write(session.Record{Kind: session.RecordStatus, Status: session.Passed}) {
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	cpu := cpuTime() - cpu0
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "actions/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/action")
}

// cpuTime is the process's CPU time so far, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
