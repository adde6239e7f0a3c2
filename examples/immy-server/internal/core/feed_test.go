package core

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/internal/pgtest"
	"github.com/immyoss/engine/session"
	"github.com/immyoss/engine/session/sqlstore"
)

// TestFeedInTheRecordsTransaction (PostgreSQL): a record's row of the
// fleet feed is written in the transaction that writes the record,
// whichever writer wrote it; a record refused or rolled back has none; a
// row is numbered as its transaction commits, so that a transaction open
// long does not number its record before one committed meanwhile.
func TestFeedInTheRecordsTransaction(t *testing.T) {
	db := pgtest.MaybeDatabase(t)
	if db == "" {
		t.Skip("no PostgreSQL (eval \"$(bash .ci/postgres)\")")
	}
	ctx := context.Background()
	c, err := Open(ctx, Config{DB: db, ClientID: "feed-test"})
	require.NoError(t, err)
	defer c.Close(ctx)
	// a second Open migrates again, in place
	c2, err := Open(ctx, Config{DB: db, ClientID: "feed-test-2"})
	require.NoError(t, err)
	require.NoError(t, c2.Close(ctx))

	run := time.Now().Format("150405.000000000")
	feedRows := func(id string) []int {
		t.Helper()
		rows, err := c.Pool.Query(ctx, `SELECT seq FROM immy_server_feed WHERE session = $1 ORDER BY id`, id)
		require.NoError(t, err)
		defer rows.Close()
		var out []int
		for rows.Next() {
			var seq int
			require.NoError(t, rows.Scan(&seq))
			out = append(out, seq)
		}
		require.NoError(t, rows.Err())
		return out
	}
	var start int64
	require.NoError(t, c.Pool.QueryRow(ctx, `SELECT COALESCE(MAX(id), 0) FROM immy_server_feed`).Scan(&start))

	// through the server's journal, and through another writer of the
	// same journal (another process, or this one dying right after)
	id := "feed-" + run
	rec := func(seq int, kind session.RecordKind) session.Record {
		r := session.Record{Session: id, Seq: seq, Kind: kind, Time: time.Now().UTC(), Status: session.Running}
		if kind == session.RecordCreated {
			r.Status, r.Request = session.Pending, &session.Request{Computer: "feed-pc-" + run}
		}
		return r
	}
	require.NoError(t, c.Journal.Append(ctx, rec(1, session.RecordCreated)))
	other, err := sqlstore.OpenPostgres(ctx, c.Pool, sqlstore.Config{})
	require.NoError(t, err)
	require.NoError(t, other.Append(ctx, rec(2, session.RecordStatus)))
	require.NoError(t, other.Close())
	require.Equal(t, []int{1, 2}, feedRows(id), "each record has its row as soon as it is written")
	require.Error(t, c.Journal.Append(ctx, rec(7, session.RecordStatus)), "a record out of sequence is refused")
	require.Equal(t, []int{1, 2}, feedRows(id), "a refused record has no row")

	// the fleet stream reads them, in order, once a second old
	var got []int
	require.Eventually(t, func() bool {
		recs, err := c.Journal.Feed(ctx, start, 1000)
		require.NoError(t, err)
		got = got[:0]
		for _, r := range recs {
			if r.Session == id {
				got = append(got, r.Record.Seq)
				require.Equal(t, "feed-pc-"+run, r.Computer)
			}
		}
		return len(got) == 2
	}, 10*time.Second, 100*time.Millisecond)
	require.Equal(t, []int{1, 2}, got)

	// a transaction that writes a record and rolls back leaves no row; one
	// open while another commits is numbered after it, as it commits
	late := "feed-late-" + run
	require.NoError(t, c.Journal.Append(ctx, session.Record{Session: late, Seq: 1, Kind: session.RecordCreated, Time: time.Now().UTC(),
		Status: session.Pending, Request: &session.Request{Computer: "feed-late-pc-" + run}}))
	insert := `INSERT INTO immy_records (session, seq, kind, body) VALUES ($1, $2, 'log', '{}')`
	tx, err := c.Pool.Begin(ctx)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, insert, late, 2)
	require.NoError(t, err)
	require.NoError(t, tx.Rollback(ctx))
	require.Equal(t, []int{1}, feedRows(late), "a rolled-back record has no row")

	tx, err = c.Pool.Begin(ctx)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, insert, late, 2) // numbered at the commit, below
	require.NoError(t, err)
	require.NoError(t, c.Journal.Append(ctx, rec(3, session.RecordStatus))) // committed meanwhile
	require.NoError(t, tx.Commit(ctx))
	var lateID, meanwhileID int64
	require.NoError(t, c.Pool.QueryRow(ctx, `SELECT id FROM immy_server_feed WHERE session = $1 AND seq = 2`, late).Scan(&lateID))
	require.NoError(t, c.Pool.QueryRow(ctx, `SELECT id FROM immy_server_feed WHERE session = $1 AND seq = 3`, id).Scan(&meanwhileID))
	require.Greater(t, lateID, meanwhileID, "the open transaction's record is numbered as it commits")
	// the raw record is no record the journal could replay: out it goes
	_, err = c.Pool.Exec(ctx, `DELETE FROM immy_records WHERE session = $1 AND seq = 2`, late)
	require.NoError(t, err)
	_, err = c.Pool.Exec(ctx, `DELETE FROM immy_server_feed WHERE session = $1 AND seq = 2`, late)
	require.NoError(t, err)
}
