package sqlstore

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/immyoss/engine/internal/pgtest"
	"github.com/immyoss/engine/resolver"
	"github.com/immyoss/engine/session"
)

const (
	benchSessions = 256 // sessions written at once
	benchActions  = 20  // actions per session, 3 records each
)

// BenchmarkJournal measures durable throughput: benchSessions sessions at
// once, each a created record, then 3 records per action (performing,
// determining-result, complete), then its final status. It reports actions
// per second (b.N counts actions). bare-append is the floor a store is
// compared with: the same JSON records appended to one file, one f.Sync per
// group-commit batch of the same size, nothing read or checked.
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
		f, err := os.Create(filepath.Join(b.TempDir(), "journal.jsonl"))
		if err != nil {
			b.Fatal(err)
		}
		a := newFileAppender(f, Config{}.maxBatch())
		defer a.close()
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
	for g := range benchSessions {
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
					for _, st := range []session.ActionStatus{session.Performing, session.DeterminingResult, session.Complete} {
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
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "actions/s")
}

// fileAppender is the bare append: JSON lines written to one file by one
// goroutine, in group-commit batches, each synced before its Appends
// return.
type fileAppender struct {
	f    *os.File
	reqs chan fileReq
	max  int
	done chan struct{}
}

type fileReq struct {
	line []byte
	done chan error
}

func newFileAppender(f *os.File, max int) *fileAppender {
	a := &fileAppender{f: f, reqs: make(chan fileReq), max: max, done: make(chan struct{})}
	go a.writer()
	return a
}

func (a *fileAppender) Append(ctx context.Context, rec session.Record) error {
	line, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	r := fileReq{line: append(line, '\n'), done: make(chan error, 1)}
	a.reqs <- r
	return <-r.done
}

func (a *fileAppender) Replay(context.Context, func(session.Record) error) error {
	return fmt.Errorf("bare append: no replay")
}

func (a *fileAppender) writer() {
	defer close(a.done)
	w := bufio.NewWriterSize(a.f, 1<<20)
	batch := make([]fileReq, 0, a.max)
	for {
		r, ok := <-a.reqs
		if !ok {
			return
		}
		batch = append(batch[:0], r)
	gather:
		for len(batch) < a.max {
			select {
			case r := <-a.reqs:
				batch = append(batch, r)
			default:
				break gather
			}
		}
		var err error
		for _, r := range batch {
			if _, werr := w.Write(r.line); werr != nil && err == nil {
				err = werr
			}
		}
		if ferr := w.Flush(); ferr != nil && err == nil {
			err = ferr
		}
		if serr := a.f.Sync(); serr != nil && err == nil {
			err = serr
		}
		for _, r := range batch {
			r.done <- err
		}
	}
}

func (a *fileAppender) close() {
	close(a.reqs)
	<-a.done
	a.f.Close()
}
