package core

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/internal/pgtest"
	"github.com/immyoss/engine/session"
)

// TestPostponeDurable: a postponement asked through one core is honoured
// by a core opened after it closed (a restart) and by another core working
// the same database at once, and only once.
func TestPostponeDurable(t *testing.T) {
	dbs := map[string]string{"sqlite": filepath.Join(t.TempDir(), "immy.db")}
	if pg := pgtest.MaybeDatabase(t); pg != "" {
		dbs["postgres"] = pg
	}
	for name, db := range dbs {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			open := func(id string) *Core {
				c, err := Open(ctx, Config{DB: db, ClientID: id, MaxRunning: 1})
				require.NoError(t, err)
				return c
			}
			until := time.Date(2031, 5, 6, 7, 8, 9, 123456789, time.UTC)

			first := open("postpone-a")
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
			if got := before(second, "s-never-asked"); got.Answer != session.Proceed {
				t.Errorf("a session never postponed: %+v", got)
			}

			require.NoError(t, second.Postpone(ctx, "s-live", until))
			if got := before(other, "s-live"); got.Answer != session.Postpone || !got.Until.Equal(until) {
				t.Errorf("asked in one process, not honoured in the other: %+v", got)
			}
		})
	}
}
