package core

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/immyoss/engine/session"
)

// postponer is the engines' session.Notifier: it tells nobody, and answers
// "postpone" before the execution of a session whose postponement was asked
// through the API (sessions the API starts ask for notices). The asks are
// rows of immy_server_postpones in the server's database, so that they
// outlive a restart and hold whichever process works the session; the
// first Before that finds a row takes it (DELETE ... RETURNING), so a
// postponement is honoured once.
//
// A session that ends before it executes (detection only, cancelled,
// failed, nothing to do) never asks: its row goes as its final status is
// appended (Journal.Append). An ask is refused once its session has ended,
// checked after the row is written, so that an ask racing the session's
// end is deleted by one or the other; rows a crash left between the end
// and the delete go at the next Open (sweepPostpones).
type postponer struct{ c *Core }

// ErrSessionEnded: a postponement asked of a session that has ended.
var ErrSessionEnded = errors.New("core: the session has ended")

// migratePostpones creates the table of the postponements asked.
func (c *Core) migratePostpones(ctx context.Context) error {
	return c.exec(ctx, `CREATE TABLE IF NOT EXISTS immy_server_postpones (
		session TEXT PRIMARY KEY,
		until_at TEXT NOT NULL,
		asked   TEXT NOT NULL
	)`)
}

func (p *postponer) Before(ctx context.Context, n session.Notice) (session.Reply, error) {
	var until string
	q := `DELETE FROM immy_server_postpones WHERE session = ? RETURNING until_at`
	var err error
	if p.c.Pool != nil {
		err = p.c.Pool.QueryRow(ctx, rebind(q), n.Session).Scan(&until)
	} else {
		err = p.c.SQL.QueryRowContext(ctx, q, n.Session).Scan(&until)
	}
	switch {
	case errors.Is(err, sql.ErrNoRows) || errors.Is(err, pgx.ErrNoRows):
		return session.Reply{Answer: session.Proceed}, nil
	case err != nil:
		return session.Reply{}, fmt.Errorf("core: postponement of session %q: %w", n.Session, err)
	}
	var t time.Time
	if until != "" {
		if t, err = time.Parse(time.RFC3339Nano, until); err != nil {
			return session.Reply{}, fmt.Errorf("core: postponement of session %q: until %q: %w", n.Session, until, err)
		}
	}
	return session.Reply{Answer: session.Postpone, Until: t, Reason: "postponed through the API"}, nil
}

func (p *postponer) After(context.Context, session.Notice) error { return nil }

// Postpone asks that session id, when it reaches execution, waits until
// until (zero: session.DefaultPostpone) and starts again from inventory.
// The ask is stored in the database: it holds after a restart and in
// whichever process works the session. A second ask replaces the first.
func (c *Core) Postpone(ctx context.Context, id string, until time.Time) error {
	u := ""
	if !until.IsZero() {
		u = until.UTC().Format(time.RFC3339Nano)
	}
	err := c.exec(ctx, `INSERT INTO immy_server_postpones (session, until_at, asked) VALUES (?, ?, ?)
		ON CONFLICT (session) DO UPDATE SET until_at = excluded.until_at, asked = excluded.asked`,
		id, u, time.Now().UTC().Format(time.RFC3339Nano))
	if err != nil {
		return fmt.Errorf("core: postpone session %q: %w", id, err)
	}
	// after the row: a session that ended before it was written is seen
	// ended here; one that ends after it deletes it (Journal.Append)
	ended, err := c.Journal.ended(ctx, id)
	if err == nil && !ended {
		return nil
	}
	if derr := c.dropPostpone(ctx, id); derr != nil {
		return fmt.Errorf("core: postpone session %q: %w", id, errors.Join(err, derr))
	}
	if err != nil {
		return fmt.Errorf("core: postpone session %q: %w", id, err)
	}
	return fmt.Errorf("core: postpone session %q: %w", id, ErrSessionEnded)
}

// dropPostpone deletes the postponement asked of a session, if any.
func (c *Core) dropPostpone(ctx context.Context, id string) error {
	return c.exec(ctx, `DELETE FROM immy_server_postpones WHERE session = ?`, id)
}

// sweepPostpones deletes the postponements of sessions that have ended or
// that the journal does not know (a crash between a session's end and the
// delete of its ask).
func (c *Core) sweepPostpones(ctx context.Context) error {
	open, err := c.Journal.Unfinished(ctx)
	if err != nil {
		return err
	}
	live := make(map[string]bool, len(open))
	for _, id := range open {
		live[id] = true
	}
	rows, err := c.Journal.query(ctx, `SELECT session FROM immy_server_postpones`)
	if err != nil {
		return err
	}
	var stale []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		if !live[id] {
			stale = append(stale, id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, id := range stale {
		if err := c.dropPostpone(ctx, id); err != nil {
			return err
		}
	}
	if len(stale) > 0 {
		c.log.Info("postponements of ended sessions deleted", "count", len(stale))
	}
	return nil
}
