package sqlstore

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/internal/pgtest"
	"github.com/immyoss/engine/session"
	"github.com/immyoss/engine/session/journaltest"
)

func openSQLite(t *testing.T, path string, cfg Config) *Store {
	t.Helper()
	s, err := OpenSQLite(t.Context(), path, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func TestJournalSQLite(t *testing.T) {
	for name, cfg := range map[string]Config{
		"default": {},
		// what River's SQLite driver asks for: one connection; and group
		// commits of at most 3 records
		"one-conn": {MaxConns: 1, MaxBatch: 3, Synchronous: "normal"},
	} {
		t.Run(name, func(t *testing.T) {
			journaltest.RunWith(t, journaltest.Options{
				Open: func(t *testing.T) session.Journal {
					return openSQLite(t, filepath.Join(t.TempDir(), "immy.db"), cfg)
				},
				Reopen: func(t *testing.T, old session.Journal) session.Journal {
					s := old.(*Store)
					var path string
					require.NoError(t, s.DB().QueryRow(`SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&path))
					require.NoError(t, s.Close())
					return openSQLite(t, path, cfg)
				},
			})
		})
	}
}

func openPostgres(t *testing.T, url string, cfg Config) *Store {
	t.Helper()
	pool, err := pgxpool.New(t.Context(), url)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	s, err := OpenPostgres(t.Context(), pool, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func TestJournalPostgres(t *testing.T) {
	pgtest.URL(t)
	urls := map[session.Journal]string{}
	var mu sync.Mutex
	journaltest.RunWith(t, journaltest.Options{
		Open: func(t *testing.T) session.Journal {
			url := pgtest.Database(t)
			s := openPostgres(t, url, Config{})
			mu.Lock()
			urls[s] = url
			mu.Unlock()
			return s
		},
		Reopen: func(t *testing.T, old session.Journal) session.Journal {
			mu.Lock()
			url := urls[old]
			mu.Unlock()
			require.NoError(t, old.(*Store).Close())
			s := openPostgres(t, url, Config{})
			mu.Lock()
			urls[s] = url
			mu.Unlock()
			return s
		},
	})
}

// both opens two Stores over one database, as two engine processes would.
func both(t *testing.T) map[string][2]*Store {
	path := filepath.Join(t.TempDir(), "immy.db")
	out := map[string][2]*Store{"sqlite": {openSQLite(t, path, Config{}), openSQLite(t, path, Config{})}}
	if url := pgtest.MaybeDatabase(t); url != "" {
		out["postgres"] = [2]*Store{openPostgres(t, url, Config{}), openPostgres(t, url, Config{})}
	}
	return out
}

// TestTwoWriters races two Stores (two processes) on the same (session,
// seq): exactly one wins, whatever each process's writer batched with it.
func TestTwoWriters(t *testing.T) {
	for name, st := range both(t) {
		t.Run(name, func(t *testing.T) {
			const sessions = 40
			ctx := t.Context()
			var (
				wg   sync.WaitGroup
				mu   sync.Mutex
				wins = map[string]int{}
			)
			for i := range sessions {
				id := fmt.Sprintf("s-%02d", i)
				for w := range 2 {
					wg.Go(func() {
						for _, r := range journaltest.Simple(id, 5) {
							r.Message = fmt.Sprintf("writer %d", w)
							err := st[w].Append(ctx, r)
							if err != nil {
								require.ErrorIs(t, err, session.ErrOutOfSequence)
								continue
							}
							mu.Lock()
							wins[fmt.Sprintf("%s/%d", id, r.Seq)]++
							mu.Unlock()
						}
					})
				}
			}
			wg.Wait()
			require.Len(t, wins, sessions*5, "every (session, seq) written")
			for k, n := range wins {
				require.Equal(t, 1, n, "%s won by %d writers", k, n)
			}
			n := 0
			require.NoError(t, st[1].Replay(ctx, func(session.Record) error { n++; return nil }))
			require.Equal(t, sessions*5, n)
		})
	}
}

// TestSessions checks the sessions' rows: Unfinished and ActiveSession
// follow the records.
func TestSessions(t *testing.T) {
	stores := map[string]*Store{"sqlite": openSQLite(t, filepath.Join(t.TempDir(), "immy.db"), Config{})}
	if url := pgtest.MaybeDatabase(t); url != "" {
		stores["postgres"] = openPostgres(t, url, Config{})
	}
	for name, s := range stores {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			created := func(id, computer string, i int) session.Record {
				r := journaltest.Simple(id, 1)[0]
				r.Request.Computer = computer
				r.Time = r.Time.Add(-time.Duration(i) * time.Minute)
				return r
			}
			status := func(id string, seq int, st session.Status) session.Record {
				return session.Record{Session: id, Seq: seq, Kind: session.RecordStatus, Status: st, Time: created(id, "", 0).Time}
			}
			ids, err := s.Unfinished(ctx)
			require.NoError(t, err)
			require.Empty(t, ids)
			_, ok, err := s.ActiveSession(ctx, "pc1")
			require.NoError(t, err)
			require.False(t, ok)

			busy := func(err error, computer, id string) {
				t.Helper()
				var be *session.BusyError
				require.ErrorAs(t, err, &be)
				require.Equal(t, session.BusyError{Computer: computer, Session: id}, *be)
			}

			require.NoError(t, s.Append(ctx, created("s-a", "pc1", 1)))
			// pc1 has s-a not ended: s-b is refused, and nothing of it kept
			busy(s.Append(ctx, created("s-b", "pc1", 2)), "pc1", "s-a")
			require.NoError(t, s.Append(ctx, created("s-c", "pc2", 3)))
			require.NoError(t, s.Append(ctx, status("s-c", 2, session.Running)))
			require.NoError(t, s.Append(ctx, created("s-d", "pc3", 4)))
			require.NoError(t, s.Append(ctx, status("s-d", 2, session.Postponed)))
			require.NoError(t, s.Append(ctx, status("s-d", 3, session.Cancelled)))
			// sessions without a computer are never refused; s-e is the oldest
			require.NoError(t, s.Append(ctx, created("s-e", "", 5)))
			require.NoError(t, s.Append(ctx, created("s-f", "", 0)))

			ids, err = s.Unfinished(ctx)
			require.NoError(t, err)
			if d := cmp.Diff([]string{"s-e", "s-c", "s-a", "s-f"}, ids); d != "" {
				t.Errorf("unfinished, oldest first (-want +got):\n%s", d)
			}
			for _, c := range []struct {
				computer, want string
				ok             bool
			}{{"pc1", "s-a", true}, {"pc2", "s-c", true}, {"pc3", "", false}, {"pc-none", "", false}} {
				id, ok, err := s.ActiveSession(ctx, c.computer)
				require.NoError(t, err)
				require.Equal(t, c.ok, ok, c.computer)
				require.Equal(t, c.want, id, c.computer)
			}

			// s-a ends: pc1 has no active session, and takes s-b
			require.NoError(t, s.Append(ctx, status("s-a", 2, session.Passed)))
			_, ok, err = s.ActiveSession(ctx, "pc1")
			require.NoError(t, err)
			require.False(t, ok)
			require.NoError(t, s.Append(ctx, created("s-b", "pc1", 2)))
			id, ok, err := s.ActiveSession(ctx, "pc1")
			require.NoError(t, err)
			require.True(t, ok)
			require.Equal(t, "s-b", id)
			require.ErrorIs(t, s.Append(ctx, created("s-b", "pc1", 2)), session.ErrOutOfSequence, "s-b twice")

			// many sessions created at once, written in few transactions:
			// the refused ones fail alone
			const n = 16
			errs := make([]error, 2*n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() { errs[i] = s.Append(ctx, created(fmt.Sprintf("s-many-%02d", i), "pc-many", 0)) })
				wg.Go(func() {
					errs[n+i] = s.Append(ctx, created(fmt.Sprintf("s-other-%02d", i), fmt.Sprintf("pc-other-%02d", i), 0))
				})
			}
			wg.Wait()
			won := ""
			for i, err := range errs[:n] {
				if err == nil {
					require.Empty(t, won, "two sessions of pc-many won")
					won = fmt.Sprintf("s-many-%02d", i)
				}
			}
			require.NotEmpty(t, won, "no session of pc-many won")
			for _, err := range errs[:n] {
				if err != nil {
					busy(err, "pc-many", won)
				}
			}
			for i, err := range errs[n:] {
				require.NoError(t, err, "s-other-%02d", i)
			}
		})
	}
}

// TestHandOff moves a session from one Store (process) to another and back:
// each sees what the other wrote, though it remembers what it wrote itself.
func TestHandOff(t *testing.T) {
	for name, st := range both(t) {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			recs := journaltest.Simple("s-handoff", 6)
			a, b := st[0], st[1]
			require.NoError(t, a.Append(ctx, recs[0]))
			require.NoError(t, a.Append(ctx, recs[1]))
			require.NoError(t, b.Append(ctx, recs[2]), "b goes on where a stopped")
			require.ErrorIs(t, a.Append(ctx, recs[2]), session.ErrOutOfSequence, "a, unaware of b's record")
			require.ErrorIs(t, a.Append(ctx, recs[4]), session.ErrOutOfSequence, "a gap")
			require.NoError(t, a.Append(ctx, recs[3]), "a takes the session back")
			require.ErrorIs(t, b.Append(ctx, recs[3]), session.ErrOutOfSequence)
			require.NoError(t, b.Append(ctx, recs[4]))
			require.NoError(t, a.Append(ctx, recs[5]))
			var got []session.Record
			require.NoError(t, b.ReplaySession(ctx, "s-handoff", func(r session.Record) error { got = append(got, r); return nil }))
			if d := cmp.Diff(recs, got, journaltest.Equal); d != "" {
				t.Errorf("replay (-want +got):\n%s", d)
			}
		})
	}
}

func TestClosed(t *testing.T) {
	s, err := OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "immy.db"), Config{})
	require.NoError(t, err)
	recs := journaltest.Simple("s1", 2)
	require.NoError(t, s.Append(t.Context(), recs[0]))
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "a second Close")
	require.ErrorIs(t, s.Append(t.Context(), recs[1]), ErrClosed)
	require.ErrorIs(t, s.Replay(t.Context(), func(session.Record) error { return nil }), ErrClosed)
	require.ErrorIs(t, s.ReplaySession(t.Context(), "s1", func(session.Record) error { return nil }), ErrClosed)
	_, err = s.Unfinished(t.Context())
	require.ErrorIs(t, err, ErrClosed)
	_, _, err = s.ActiveSession(t.Context(), "pc-s1")
	require.ErrorIs(t, err, ErrClosed)
}

func TestOpenSQLiteBadInput(t *testing.T) {
	for _, c := range []struct {
		path string
		cfg  Config
		want string
	}{
		{"", Config{}, "sqlite path"},
		{filepath.Join(t.TempDir(), "a?b.db"), Config{}, "sqlite path"},
		{filepath.Join(t.TempDir(), "x.db"), Config{Synchronous: "OFF"}, `Config.Synchronous "OFF"`},
		{filepath.Join(t.TempDir(), "missing", "dir", "x.db"), Config{}, "sqlstore:"},
	} {
		_, err := OpenSQLite(t.Context(), c.path, c.cfg)
		require.ErrorContains(t, err, c.want, c.path)
	}
}

// TestCorruptBody: a record whose body cannot be read is an error naming
// the session and the record, not a panic.
func TestCorruptBody(t *testing.T) {
	s := openSQLite(t, filepath.Join(t.TempDir(), "immy.db"), Config{})
	require.NoError(t, s.Append(t.Context(), journaltest.Simple("s1", 1)[0]))
	_, err := s.DB().Exec(`UPDATE immy_records SET body = '{"kind":"no-such-kind"}'`)
	require.NoError(t, err)
	err = s.Replay(t.Context(), func(session.Record) error { return nil })
	require.ErrorContains(t, err, `session "s1": record 1`)
}

// TestMissingRecord: a session whose records have a gap (one deleted by
// hand, or lost) does not replay as if nothing were missing: Replay and
// ReplaySession stop at the gap with an error naming the session and the
// record, on both databases; the sessions before it replay.
func TestMissingRecord(t *testing.T) {
	urls := map[string]string{"sqlite": ""}
	if url := pgtest.MaybeDatabase(t); url != "" {
		urls["postgres"] = url
	}
	for name, url := range urls {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			var s *Store
			if url == "" {
				s = openSQLite(t, filepath.Join(t.TempDir(), "immy.db"), Config{})
			} else {
				s = openPostgres(t, url, Config{})
			}
			for _, id := range []string{"s-ok", "s-gap", "s-head"} {
				for _, r := range journaltest.Simple(id, 4) {
					require.NoError(t, s.Append(ctx, r))
				}
			}
			del := func(id string, seq int) {
				t.Helper()
				if db := s.DB(); db != nil {
					_, err := db.ExecContext(ctx, `DELETE FROM immy_records WHERE seq = ? AND session = (SELECT n FROM immy_sessions WHERE id = ?)`, seq, id)
					require.NoError(t, err)
					return
				}
				pool, err := pgxpool.New(ctx, url)
				require.NoError(t, err)
				defer pool.Close()
				_, err = pool.Exec(ctx, `DELETE FROM immy_records WHERE session = $1 AND seq = $2`, id, seq)
				require.NoError(t, err)
			}
			for _, id := range []string{"s-ok", "s-gap", "s-head"} {
				require.NoError(t, s.ReplaySession(ctx, id, func(session.Record) error { return nil }), id)
			}
			del("s-gap", 3)
			del("s-head", 1)

			var seen []int
			err := s.ReplaySession(ctx, "s-gap", func(r session.Record) error { seen = append(seen, r.Seq); return nil })
			require.ErrorIs(t, err, ErrMissingRecord)
			require.ErrorContains(t, err, `session "s-gap": record 4 comes where record 3 should`)
			require.Equal(t, []int{1, 2}, seen, "the records before the gap were replayed")
			err = s.ReplaySession(ctx, "s-head", func(session.Record) error { return nil })
			require.ErrorIs(t, err, ErrMissingRecord)
			require.ErrorContains(t, err, `session "s-head": record 2 comes where record 1 should`)
			require.NoError(t, s.ReplaySession(ctx, "s-ok", func(session.Record) error { return nil }))
			err = s.Replay(ctx, func(session.Record) error { return nil })
			require.ErrorIs(t, err, ErrMissingRecord)
		})
	}
}

// TestTwoWritersOneComputer races two Stores (two processes) creating a
// session of the same computer: exactly one is created, the other is
// refused with a *session.BusyError naming it, and the records batched
// with the refused one are written.
func TestTwoWritersOneComputer(t *testing.T) {
	for name, st := range both(t) {
		t.Run(name, func(t *testing.T) {
			const computers = 40
			ctx := t.Context()
			created := func(id, computer string) session.Record {
				r := journaltest.Simple(id, 1)[0]
				r.Request.Computer = computer
				return r
			}
			var (
				wg   sync.WaitGroup
				errs [computers][2]error
			)
			start := make(chan struct{})
			for i := range computers {
				computer := fmt.Sprintf("pc-%02d", i)
				for w := range 2 {
					wg.Go(func() {
						<-start
						errs[i][w] = st[w].Append(ctx, created(fmt.Sprintf("%s-%d", computer, w), computer))
					})
					// a session of its own computer, batched with the race
					wg.Go(func() {
						<-start
						own := fmt.Sprintf("%s-own-%d", computer, w)
						require.NoError(t, st[w].Append(ctx, created(own, own)))
					})
				}
			}
			close(start)
			wg.Wait()
			for i := range computers {
				computer := fmt.Sprintf("pc-%02d", i)
				e := errs[i]
				require.True(t, (e[0] == nil) != (e[1] == nil), "computer %s: exactly one session created: %v; %v", computer, e[0], e[1])
				won, lost := 0, 1
				if e[0] != nil {
					won, lost = 1, 0
				}
				winner := fmt.Sprintf("%s-%d", computer, won)
				var busy *session.BusyError
				require.ErrorAs(t, e[lost], &busy)
				require.Equal(t, session.BusyError{Computer: computer, Session: winner}, *busy)
				for _, s := range st {
					id, ok, err := s.ActiveSession(ctx, computer)
					require.NoError(t, err)
					require.True(t, ok)
					require.Equal(t, winner, id)
				}
			}
			ids, err := st[0].Unfinished(ctx)
			require.NoError(t, err)
			require.Len(t, ids, 3*computers, "the winners and the sessions of their own computer")
		})
	}
}
