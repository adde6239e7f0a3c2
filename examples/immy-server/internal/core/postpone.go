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
type postponer struct{ c *Core }

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
	return nil
}
