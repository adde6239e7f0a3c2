package core

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/immyoss/engine/session"
	"github.com/immyoss/engine/session/sqlstore"
)

// Journal is the session journal (session/sqlstore) that also wakes the
// readers of live events when a record lands, and refreshes a computer's
// inventory in the fleet store when one of its sessions ends. Every
// optional interface of the store (SessionReplayer, ActiveSessioner,
// UnfinishedLister) comes with the embedded Store.
type Journal struct {
	*sqlstore.Store
	c *Core

	// OnAppend, when set, is told how long each append took (metrics).
	OnAppend func(time.Duration)

	mu   sync.Mutex
	wake chan struct{} // closed and replaced at each append
}

func newJournal(s *sqlstore.Store, c *Core) *Journal {
	return &Journal{Store: s, c: c, wake: make(chan struct{})}
}

// Append writes the record, then wakes the readers of events.
func (j *Journal) Append(ctx context.Context, rec session.Record) error {
	start := time.Now()
	j.noteTenant(ctx, rec) // before the record: no reader sees it without
	if err := j.Store.Append(ctx, rec); err != nil {
		return err
	}
	if j.OnAppend != nil {
		j.OnAppend(time.Since(start))
	}
	// on PostgreSQL, the record's row of the fleet feed was written in its
	// transaction (feed.go)
	j.mu.Lock()
	close(j.wake)
	j.wake = make(chan struct{})
	j.mu.Unlock()
	if rec.Kind == session.RecordStatus && rec.Status.Final() && j.c != nil {
		// a postponement asked and never honoured (the session ended
		// before execution) goes with it
		if err := j.c.dropPostpone(ctx, rec.Session); err != nil {
			j.c.log.Warn("postponement of an ended session not deleted", "session", rec.Session, "err", err)
		}
		j.c.sessionEnded(rec.Session)
	}
	return nil
}

// ended reports whether a session has recorded a final status; a session
// the journal does not know is immy.ErrNotFound.
func (j *Journal) ended(ctx context.Context, id string) (bool, error) {
	ended := false
	err := j.ReplaySession(ctx, id, func(r session.Record) error {
		if r.Kind == session.RecordStatus {
			ended = r.Status.Final()
		}
		return nil
	})
	return ended, err
}

// Changed returns a channel closed at the next append in this process.
// Readers poll as well: other processes write to the journal too.
func (j *Journal) Changed() <-chan struct{} {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.wake
}

// Records returns the records of one session after seq, in order.
func (j *Journal) Records(ctx context.Context, id string, after int) ([]session.Record, error) {
	var out []session.Record
	err := j.ReplaySession(ctx, id, func(r session.Record) error {
		if r.Seq > after {
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

// FeedRecord is a record of any session, in the order records landed.
type FeedRecord struct {
	ID       int64
	Session  string
	Computer string
	Record   session.Record
}

// Feed returns up to limit records of any session appended after id, in the
// order they landed. The order is the journal's own (on SQLite the rowid of
// immy_records is the order of appends: the one place this reads the
// journal's tables, for the position only); the records themselves are read
// through the journal's ReplaySession, whatever form it keeps them in. On
// PostgreSQL, whose records have no such order, the database notes each
// record in immy_server_feed (a bigserial) as its transaction commits
// (feed.go); rows younger than a second are left for the next read, so
// that one whose number was taken before another's but committed after it
// is not skipped.
func (j *Journal) Feed(ctx context.Context, after int64, limit int) ([]FeedRecord, error) {
	var rows rowsLike
	var err error
	if j.c.SQL != nil {
		var r *sql.Rows
		r, err = j.c.SQL.QueryContext(ctx, `SELECT r.id, s.id, s.computer, r.seq FROM immy_records r
		JOIN immy_sessions s ON s.n = r.session WHERE r.id > ? ORDER BY r.id LIMIT ?`, after, limit)
		if err == nil {
			rows = sqlRowsT{r}
		}
	} else {
		var r pgx.Rows
		r, err = j.c.Pool.Query(ctx, `SELECT f.id, s.id, s.computer, f.seq FROM immy_server_feed f
		JOIN immy_sessions s ON s.id = f.session WHERE f.id > $1 AND f.at < now() - interval '1 second'
		ORDER BY f.id LIMIT $2`, after, limit)
		if err == nil {
			rows = pgRows{r}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("core: feed: %w", err)
	}
	var out []FeedRecord
	var seqs []int
	for rows.Next() {
		var r FeedRecord
		var seq int
		if err := rows.Scan(&r.ID, &r.Session, &r.Computer, &seq); err != nil {
			rows.Close()
			return nil, fmt.Errorf("core: feed: %w", err)
		}
		out = append(out, r)
		seqs = append(seqs, seq)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("core: feed: %w", err)
	}
	// each session's records, read once
	want := map[string]map[int]int{} // session -> seq -> index in out
	for i, r := range out {
		if want[r.Session] == nil {
			want[r.Session] = map[int]int{}
		}
		want[r.Session][seqs[i]] = i
	}
	for id, bySeq := range want {
		err := j.ReplaySession(ctx, id, func(rec session.Record) error {
			if i, ok := bySeq[rec.Seq]; ok {
				out[i].Record = rec
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("core: feed: session %s: %w", id, err)
		}
	}
	return out, nil
}

// SessionRow is a session as the journal's index of sessions lists it.
type SessionRow struct {
	ID       string `json:"id"`
	Computer string `json:"computer"`
	Status   string `json:"status"`
	Created  string `json:"created"`
	Updated  string `json:"updated"`
}

// Sessions lists sessions, newest first, from the journal's index of
// sessions, filtered by computers (nil: all) and status ("" : all).
func (j *Journal) Sessions(ctx context.Context, computers []string, status string, offset, limit int) ([]SessionRow, error) {
	return j.SessionsOf(ctx, SessionQuery{Computers: computers, Status: status, Offset: offset, Limit: limit})
}

// SessionQuery filters a list of sessions.
type SessionQuery struct {
	Computers []string // nil: all
	Status    string   // "": all
	// Tenant, when Scoped, keeps the sessions that ran under it (noted as
	// each was created), the tenant's own tenant (cloud task) sessions
	// (their computer is session.TenantSession(Tenant), whatever was noted
	// for them), and of those created before tenants were noted, the ones
	// whose computer is in Legacy (the tenant's computers now).
	Tenant        string
	Scoped        bool
	Legacy        []string
	Offset, Limit int
}

// SessionsOf lists sessions, newest first, from the journal's index of
// sessions.
func (j *Journal) SessionsOf(ctx context.Context, sq SessionQuery) ([]SessionRow, error) {
	computers, status, offset, limit := sq.Computers, sq.Status, sq.Offset, sq.Limit
	q := `SELECT id, computer, status, created, updated FROM immy_sessions WHERE 1=1`
	var args []any
	if sq.Scoped {
		q += ` AND (id IN (SELECT session FROM immy_server_session_tenants WHERE tenant = ` + placeholders(j.c.Dialect, len(args), 1) + `)`
		args = append(args, sq.Tenant)
		q += ` OR computer = ` + placeholders(j.c.Dialect, len(args), 1)
		args = append(args, session.TenantSession(sq.Tenant))
		if len(sq.Legacy) > 0 {
			q += ` OR (id NOT IN (SELECT session FROM immy_server_session_tenants) AND computer IN (` + placeholders(j.c.Dialect, len(args), len(sq.Legacy)) + `))`
			for _, c := range sq.Legacy {
				args = append(args, c)
			}
		}
		q += `)`
		// a tenant session is its own tenant's only, whatever was noted
		q += fmt.Sprintf(` AND (substr(computer, 1, %d) <> '%s' OR computer = `, len(session.TenantPrefix), session.TenantPrefix) + placeholders(j.c.Dialect, len(args), 1) + `)`
		args = append(args, session.TenantSession(sq.Tenant))
	}
	if computers != nil {
		if len(computers) == 0 {
			return nil, nil
		}
		q += ` AND computer IN (` + placeholders(j.c.Dialect, len(args), len(computers)) + `)`
		for _, c := range computers {
			args = append(args, c)
		}
	}
	if status != "" {
		q += ` AND status = ` + placeholders(j.c.Dialect, len(args), 1)
		args = append(args, status)
	}
	q += ` ORDER BY created DESC, id LIMIT ` + placeholders(j.c.Dialect, len(args), 1) + ` OFFSET ` + placeholders(j.c.Dialect, len(args)+1, 1)
	args = append(args, limit, offset)
	rows, err := j.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("core: sessions: %w", err)
	}
	defer rows.Close()
	var out []SessionRow
	for rows.Next() {
		var r SessionRow
		var created, updated any
		if err := rows.Scan(&r.ID, &r.Computer, &r.Status, &created, &updated); err != nil {
			return nil, fmt.Errorf("core: sessions: %w", err)
		}
		r.Created, r.Updated = fmt.Sprint(created), fmt.Sprint(updated)
		out = append(out, r)
	}
	return out, rows.Err()
}

type rowsLike interface {
	Next() bool
	Scan(...any) error
	Err() error
	Close()
}

func (j *Journal) query(ctx context.Context, q string, args ...any) (rowsLike, error) {
	if j.c.SQL != nil {
		r, err := j.c.SQL.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, err
		}
		return sqlRowsT{r}, nil
	}
	r, err := j.c.Pool.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return pgRows{r}, nil
}

// placeholders returns n placeholders for the dialect, numbered after
// `have` arguments on PostgreSQL.
func placeholders(dialect string, have, n int) string {
	out := ""
	for i := range n {
		if i > 0 {
			out += ", "
		}
		if dialect == "postgres" {
			out += fmt.Sprintf("$%d", have+i+1)
		} else {
			out += "?"
		}
	}
	return out
}
