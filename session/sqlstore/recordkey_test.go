package sqlstore

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/session"
	"github.com/immyoss/engine/session/journaltest"
)

// TestUpgradeRecordKey opens a database as schema 2 wrote it (records keyed
// by (session, seq)) and one schema 3 had keyed by (seq, session): after the
// migrations, records are keyed by (session, seq), every record replays,
// each session continues from its last Seq and refuses any other.
func TestUpgradeRecordKey(t *testing.T) {
	for _, from := range []int{2, 3} {
		t.Run(fmt.Sprintf("schema %d", from), func(t *testing.T) { testUpgradeRecordKey(t, from) })
	}
}

func testUpgradeRecordKey(t *testing.T, from int) {
	path := filepath.Join(t.TempDir(), "immy.db")
	raw, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)&_txlock=immediate")
	require.NoError(t, err)
	defer raw.Close()
	require.NoError(t, migrateSQLite(t.Context(), raw, sqliteSteps[:from]))
	// what the writer of schema 2 and 3 wrote: a session's row, then its records
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
	require.Equal(t, map[int]string{2: "immy_records_key", 3: "immy_records_seq"}[from], idx)

	s := openSQLite(t, path, Config{})
	require.NoError(t, raw.QueryRow(`SELECT group_concat(name) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'immy_records'`).Scan(&idx))
	require.Equal(t, "immy_records_key", idx)
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

// TestAnotherWriter: when another connection has committed, the writer
// looks its sessions up again: a session the other writer appended to goes
// on from the other's last record, one it left alone from its own.
func TestAnotherWriter(t *testing.T) {
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
	refused(a, s1[3]) // a knew 3 records: looked up again
	ok(a, s1[4])
	ok(b, s1[5])
	refused(a, s1[4])
	ok(a, s1[6])
	ok(b, s1[7])      // s2 left alone
	ok(a, s2[2])      // looked up again
	refused(a, s2[2]) // from memory
	ok(a, s2[3])
	var got []int
	require.NoError(t, b.ReplaySession(t.Context(), "s1", func(r session.Record) error { got = append(got, r.Seq); return nil }))
	require.Equal(t, []int{1, 2, 3, 4, 5, 6, 7, 8}, got)
	got = nil
	require.NoError(t, b.ReplaySession(t.Context(), "s2", func(r session.Record) error { got = append(got, r.Seq); return nil }))
	require.Equal(t, []int{1, 2, 3, 4}, got)
}
