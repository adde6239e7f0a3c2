package core

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/session"
)

// TestPostponeDurable: a postponement asked through one core is honoured
// by a core opened after it closed (a restart) and by another core working
// the same database at once, and only once.
func TestPostponeDurable(t *testing.T) {
	eachDB(t, func(t *testing.T, db string) {
		ctx := context.Background()
		open := func(id string) *Core {
			c, err := Open(ctx, Config{DB: db, ClientID: id, MaxRunning: 1})
			require.NoError(t, err)
			return c
		}
		until := time.Date(2031, 5, 6, 7, 8, 9, 123456789, time.UTC)

		first := open("postpone-a")
		for i, id := range []string{"s-until", "s-default", "s-live"} {
			created(t, first, id, fmt.Sprintf("pc-%d", i))
		}
		require.NoError(t, first.Postpone(ctx, "s-until", until.Add(-time.Hour)))
		require.NoError(t, first.Postpone(ctx, "s-until", until)) // the second ask replaces the first
		require.NoError(t, first.Postpone(ctx, "s-default", time.Time{}))
		require.NoError(t, first.Close(ctx))

		// the restart: a new core over the same database
		second := open("postpone-a")
		defer second.Close(ctx)
		// and another process working the same database at once
		other := open("postpone-b")
		defer other.Close(ctx)

		before := func(c *Core, id string) session.Reply {
			t.Helper()
			r, err := c.post.Before(ctx, session.Notice{Session: id, Computer: "pc-1"})
			require.NoError(t, err)
			return r
		}
		want := session.Reply{Answer: session.Postpone, Until: until, Reason: "postponed through the API"}
		if d := cmp.Diff(want, before(second, "s-until")); d != "" {
			t.Errorf("after the restart (-want +got):\n%s", d)
		}
		if got := before(other, "s-until"); got.Answer != session.Proceed {
			t.Errorf("a postponement honoured twice: %+v", got)
		}
		if d := cmp.Diff(session.Reply{Answer: session.Postpone, Reason: "postponed through the API"}, before(other, "s-default")); d != "" {
			t.Errorf("in another process (-want +got):\n%s", d)
		}
		created(t, second, "s-never-asked", "pc-9")
		if got := before(second, "s-never-asked"); got.Answer != session.Proceed {
			t.Errorf("a session never postponed: %+v", got)
		}

		require.NoError(t, second.Postpone(ctx, "s-live", until))
		if got := before(other, "s-live"); got.Answer != session.Postpone || !got.Until.Equal(until) {
			t.Errorf("asked in one process, not honoured in the other: %+v", got)
		}
	})
}

// created writes the first record of a session, as an engine does.
func created(t *testing.T, c *Core, id, computer string) {
	t.Helper()
	require.NoError(t, c.Journal.Append(context.Background(), session.Record{Session: id, Seq: 1, Kind: session.RecordCreated,
		Time: time.Now(), Status: session.Pending, Request: &session.Request{Computer: computer}}))
}

// ended writes a session's final status.
func ended(t *testing.T, c *Core, id string, seq int, st session.Status) {
	t.Helper()
	require.NoError(t, c.Journal.Append(context.Background(), session.Record{Session: id, Seq: seq, Kind: session.RecordStatus,
		Time: time.Now(), Status: st}))
}

// postpones lists the sessions with a postponement asked.
func postpones(t *testing.T, c *Core) []string {
	t.Helper()
	rows, err := c.Journal.query(context.Background(), `SELECT session FROM immy_server_postpones ORDER BY session`)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		require.NoError(t, rows.Scan(&id))
		out = append(out, id)
	}
	require.NoError(t, rows.Err())
	return out
}

// TestPostponeGoesWithItsSession: a postponement asked of a session that
// ends before it executes (cancelled, detection only) is deleted as the
// session ends, in whichever process; one asked of an ended or unknown
// session is refused and leaves no row; rows a crash left behind (ended or
// unknown sessions) go at the next Open, a live session's stays.
func TestPostponeGoesWithItsSession(t *testing.T) {
	eachDB(t, func(t *testing.T, db string) {
		ctx := context.Background()
		open := func(id string) *Core {
			c, err := Open(ctx, Config{DB: db, ClientID: id, MaxRunning: 1})
			require.NoError(t, err)
			return c
		}
		a, b := open("ends-a"), open("ends-b")
		at := time.Now().Add(time.Hour)
		for i, id := range []string{"e-cancelled", "e-detected", "e-live", "e-done"} {
			created(t, a, id, fmt.Sprintf("ends-pc-%d", i))
		}
		require.NoError(t, a.Postpone(ctx, "e-cancelled", at))
		require.NoError(t, b.Postpone(ctx, "e-detected", time.Time{}))
		require.NoError(t, a.Postpone(ctx, "e-live", at))
		require.Equal(t, []string{"e-cancelled", "e-detected", "e-live"}, postpones(t, a))

		ended(t, a, "e-cancelled", 2, session.Cancelled)
		ended(t, b, "e-detected", 2, session.Passed) // the other process ends it
		require.Equal(t, []string{"e-live"}, postpones(t, a), "the ended sessions' asks are deleted")

		ended(t, a, "e-done", 2, session.Failed)
		require.ErrorIs(t, b.Postpone(ctx, "e-done", at), ErrSessionEnded)
		require.ErrorIs(t, a.Postpone(ctx, "e-nosuch", at), immy.ErrNotFound)
		require.Equal(t, []string{"e-live"}, postpones(t, a), "a refused ask leaves no row")

		// a crash between a session's end and the delete of its ask,
		// and an ask of a session the journal lost
		require.NoError(t, a.exec(ctx, `INSERT INTO immy_server_postpones (session, until_at, asked) VALUES (?, '', ''), (?, '', '')`, "e-done", "e-gone"))
		require.Equal(t, []string{"e-done", "e-gone", "e-live"}, postpones(t, a))
		require.NoError(t, a.Close(ctx))
		require.NoError(t, b.Close(ctx))
		c := open("ends-a")
		defer c.Close(ctx)
		require.Equal(t, []string{"e-live"}, postpones(t, c), "the next Open sweeps the stale asks")
		got, err := c.post.Before(ctx, session.Notice{Session: "e-live"})
		require.NoError(t, err)
		require.Equal(t, session.Postpone, got.Answer, "a live session's ask stays")
	})
}
