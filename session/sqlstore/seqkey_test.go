package sqlstore

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/session"
	"github.com/immyoss/engine/session/journaltest"
)

// seqLengths are the numbers of records of the sessions the tests below
// write: every length to past a few doublings, and some past a page.
var seqLengths = append(seqRange(1, 70), 127, 128, 129, 511, 512, 513, 1100)

func seqRange(from, to int) []int {
	var out []int
	for n := from; n <= to; n++ {
		out = append(out, n)
	}
	return out
}

// writeSessions writes one session of each of seqLengths records, id
// "s-<length>", at once (their records batched together).
func writeSessions(t *testing.T, s *Store) {
	t.Helper()
	var wg sync.WaitGroup
	for _, n := range seqLengths {
		wg.Go(func() {
			for _, r := range journaltest.Simple(fmt.Sprintf("s-%04d", n), n) {
				if err := s.Append(t.Context(), r); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestLastSeq pins lastSeq, the probes of the (seq, session) index, to the
// plain MAX over the session's records.
func TestLastSeq(t *testing.T) {
	s := openSQLite(t, filepath.Join(t.TempDir(), "immy.db"), Config{Synchronous: "NORMAL"})
	writeSessions(t, s)
	b := s.be.(*sqliteBackend)
	ns := []int64{1 << 40} // no such session
	rows, err := b.db.Query(`SELECT n FROM immy_sessions ORDER BY n`)
	require.NoError(t, err)
	for rows.Next() {
		var n int64
		require.NoError(t, rows.Scan(&n))
		ns = append(ns, n)
	}
	require.NoError(t, rows.Err())
	require.Len(t, ns, len(seqLengths)+1)
	for _, n := range ns {
		var want int
		require.NoError(t, b.db.QueryRow(`SELECT COALESCE(MAX(seq), 0) FROM immy_records WHERE session = ?`, n).Scan(&want))
		got, err := b.lastSeq(t.Context(), n)
		require.NoError(t, err)
		require.Equal(t, want, got, "session %d", n)
	}
}

// TestPageOfSession pins page of one session, a walk of the (seq, session)
// index from Seq to Seq, to the plain query over the session's records.
func TestPageOfSession(t *testing.T) {
	s := openSQLite(t, filepath.Join(t.TempDir(), "immy.db"), Config{Synchronous: "NORMAL"})
	writeSessions(t, s)
	b := s.be.(*sqliteBackend)
	plain := func(id string, after, limit int) []row {
		rows, err := b.db.Query(`SELECT r.id, s.id, r.seq, r.body FROM immy_sessions s
			JOIN immy_records r ON r.session = s.n
			WHERE s.id = ? AND r.seq > ? ORDER BY r.seq LIMIT ?`, id, after, limit)
		require.NoError(t, err)
		defer rows.Close()
		var out []row
		for rows.Next() {
			var r row
			require.NoError(t, rows.Scan(&r.pos, &r.session, &r.seq, &r.body))
			out = append(out, r)
		}
		require.NoError(t, rows.Err())
		return out
	}
	for _, n := range append(seqLengths, 0) {
		if n > 10 && n < 100 && n%16 > 1 {
			continue // the plain query reads every record: a few of these lengths will do
		}
		id := fmt.Sprintf("s-%04d", n) // s-0000: no such session
		for _, after := range []int{0, 1, n / 2, n - 1, n, n + 1} {
			for _, limit := range []int{1, 2, 7, replayPage} {
				got, err := b.page(t.Context(), id, row{seq: after}, limit)
				require.NoError(t, err)
				if d := cmp.Diff(plain(id, after, limit), got, cmp.AllowUnexported(row{})); d != "" {
					t.Fatalf("session %s after %d limit %d (-plain +page):\n%s", id, after, limit, d)
				}
			}
		}
	}
}

// TestUpgradeToSeqKey opens a database as schema 2 wrote it (records keyed
// by (session, seq)): the migration keys them by (seq, session), and every
// record replays, each session continues from its last Seq and refuses any
// other.
func TestUpgradeToSeqKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "immy.db")
	raw, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)&_txlock=immediate")
	require.NoError(t, err)
	defer raw.Close()
	require.NoError(t, migrateSQLite(t.Context(), raw, sqliteSteps[:2]))
	// what the writer of schema 2 wrote: a session's row, then its records
	// (action records compact, the others JSON)
	var want []session.Record
	for i, n := range []int{1, 2, 5, 9} {
		id := fmt.Sprintf("old-%d", i)
		recs := journaltest.Simple(id, n)
		res, err := raw.Exec(`INSERT INTO immy_sessions (id, computer, status, created, updated) VALUES (?, ?, 'pending', ?, ?)`,
			id, "pc-"+id, recs[0].Time.Format(sqliteTime), recs[n-1].Time.Format(sqliteTime))
		require.NoError(t, err)
		sn, err := res.LastInsertId()
		require.NoError(t, err)
		for _, r := range recs {
			body, err := encodeCompact(&r)
			require.NoError(t, err)
			_, err = raw.Exec(`INSERT INTO immy_records (session, seq, kind, body) VALUES (?, ?, ?, ?)`, sn, r.Seq, r.Kind.String(), body)
			require.NoError(t, err)
		}
		want = append(want, recs...)
	}
	var idx string
	require.NoError(t, raw.QueryRow(`SELECT group_concat(name) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'immy_records'`).Scan(&idx))
	require.Equal(t, "immy_records_key", idx)

	s := openSQLite(t, path, Config{})
	require.NoError(t, raw.QueryRow(`SELECT group_concat(name) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'immy_records'`).Scan(&idx))
	require.Equal(t, "immy_records_seq", idx)
	var got []session.Record
	require.NoError(t, s.Replay(t.Context(), func(r session.Record) error { got = append(got, r); return nil }))
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("replay after the upgrade (-written +replayed):\n%s", d)
	}
	got = nil
	require.NoError(t, s.ReplaySession(t.Context(), "old-3", func(r session.Record) error { got = append(got, r); return nil }))
	if d := cmp.Diff(want[len(want)-9:], got); d != "" {
		t.Fatalf("replay of old-3 after the upgrade (-written +replayed):\n%s", d)
	}
	for i, n := range []int{1, 2, 5, 9} {
		id := fmt.Sprintf("old-%d", i)
		next := journaltest.Simple(id, n+1)[n]
		for _, seq := range []int{1, n, n + 2} {
			bad := next
			bad.Seq = seq
			require.ErrorIs(t, s.Append(t.Context(), bad), session.ErrOutOfSequence, "%s record %d", id, seq)
		}
		require.NoError(t, s.Append(t.Context(), next), "%s record %d", id, n+1)
	}
}

// TestHintsAfterAnotherWriter: when another connection has committed, the
// writer takes what it knew of a session as a hint, checked by one probe:
// a session the other writer appended to is looked up again, one it left
// alone goes on from the hint.
func TestHintsAfterAnotherWriter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "immy.db")
	a := openSQLite(t, path, Config{Synchronous: "NORMAL"})
	b := openSQLite(t, path, Config{Synchronous: "NORMAL"})
	s1, s2 := journaltest.Simple("s1", 9), journaltest.Simple("s2", 4)
	ok := func(s *Store, r session.Record) {
		t.Helper()
		require.NoError(t, s.Append(t.Context(), r), "%s record %d", r.Session, r.Seq)
	}
	refused := func(s *Store, r session.Record) {
		t.Helper()
		require.ErrorIs(t, s.Append(t.Context(), r), session.ErrOutOfSequence, "%s record %d", r.Session, r.Seq)
	}
	for _, r := range s1[:3] {
		ok(a, r)
	}
	ok(a, s2[0])
	ok(a, s2[1])
	ok(b, s1[3])      // b appends to s1 behind a's back
	refused(a, s1[3]) // a's hint (last 3) fails its probe: looked up again
	ok(a, s1[4])
	ok(b, s1[5])
	refused(a, s1[4])
	ok(a, s1[6])
	ok(b, s1[7])      // s2 left alone
	ok(a, s2[2])      // from the hint
	refused(a, s2[2]) // from memory
	ok(a, s2[3])
	var got []int
	require.NoError(t, b.ReplaySession(t.Context(), "s1", func(r session.Record) error { got = append(got, r.Seq); return nil }))
	require.Equal(t, []int{1, 2, 3, 4, 5, 6, 7, 8}, got)
	got = nil
	require.NoError(t, b.ReplaySession(t.Context(), "s2", func(r session.Record) error { got = append(got, r.Seq); return nil }))
	require.Equal(t, []int{1, 2, 3, 4}, got)
}
