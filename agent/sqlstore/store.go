package sqlstore

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver

	"github.com/immyoss/engine/agent"
	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/internal/sqlitedsn"
)

// dialect is the SQL a Store speaks.
type dialect uint8

const (
	sqlite dialect = iota
	postgres
)

func (d dialect) String() string {
	if d == postgres {
		return "postgres"
	}
	return "sqlite"
}

// rebind turns the ? placeholders of q into PostgreSQL's $1, $2...
func (d dialect) rebind(q string) string {
	if d != postgres {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// sqliteTime is how SQLite keeps times: UTC, fixed width, to the
// microsecond (as PostgreSQL does), so that text order is time order.
const sqliteTime = "2006-01-02T15:04:05.000000Z"

// timeArg is t as the dialect keeps it; the zero time is NULL.
func (d dialect) timeArg(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	t = t.UTC().Round(time.Microsecond)
	if d == postgres {
		return t
	}
	return t.Format(sqliteTime)
}

// timeCol scans a time column of either dialect.
type timeCol struct{ t time.Time }

func (c *timeCol) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		c.t = time.Time{}
	case time.Time:
		c.t = v.UTC()
	case string:
		t, err := time.Parse(sqliteTime, v)
		if err != nil {
			return fmt.Errorf("time %q: %w", v, err)
		}
		c.t = t
	case []byte:
		return c.Scan(string(v))
	default:
		return fmt.Errorf("time column of type %T", v)
	}
	return nil
}

// Config tunes a Store. The zero Config is ready for use.
type Config struct {
	// MaxConns bounds the connections to a SQLite database; zero means 4.
	// PostgreSQL: the pool's own configuration applies.
	MaxConns int
}

// Store keeps install tokens and enrolled agents in SQLite or PostgreSQL:
// an agent.Store and an agent.TokenUser. It is safe for concurrent use, and
// several processes may share one database.
type Store struct {
	db      *sql.DB
	d       dialect
	closeFn func() error
}

var (
	_ agent.Store     = (*Store)(nil)
	_ agent.TokenUser = (*Store)(nil)
)

// Open opens the database named by dsn and migrates its schema: a
// postgres:// or postgresql:// URL is a PostgreSQL database (through a
// pgx pool of its own, closed with the Store); anything else is the path of
// a SQLite file, created if needed (a sqlite: or file: prefix is dropped).
func Open(ctx context.Context, dsn string, cfg Config) (*Store, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		pool, err := pgxpool.New(ctx, dsn)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: open postgres database: %w", err) // no URL: it may hold a password
		}
		s, err := OpenPostgres(ctx, pool, cfg)
		if err != nil {
			pool.Close()
			return nil, err
		}
		close := s.closeFn
		s.closeFn = func() error {
			err := close()
			pool.Close()
			return err
		}
		return s, nil
	}
	path := strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite:"), "file:")
	return OpenSQLite(ctx, path, cfg)
}

// OpenSQLite opens (creating it if needed) the SQLite database at path and
// migrates its schema. The file may be the one the session journal keeps
// (package session/sqlstore): the tables differ. It runs in WAL mode with
// synchronous=FULL (an enrolment that was welcomed survives a power loss),
// a busy timeout of 10 s, and transactions that take the write lock when
// they begin. Close the Store to close it.
func OpenSQLite(ctx context.Context, path string, cfg Config) (*Store, error) {
	dsn, err := sqlitedsn.DSN(path, "FULL")
	if err != nil {
		return nil, fmt.Errorf("sqlstore: %w", err)
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open %s: %w", path, err)
	}
	conns := cfg.MaxConns
	if conns <= 0 {
		conns = 4
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	if err := migrate(ctx, db, sqlite, sqliteSteps); err != nil {
		db.Close()
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	return &Store{db: db, d: sqlite, closeFn: db.Close}, nil
}

// OpenPostgres returns a Store over the PostgreSQL database of pool,
// migrating its schema (in the pool's search path). The pool stays the
// caller's: Close leaves it open.
func OpenPostgres(ctx context.Context, pool *pgxpool.Pool, cfg Config) (*Store, error) {
	if pool == nil {
		return nil, errors.New("sqlstore: OpenPostgres: nil pool")
	}
	db := stdlib.OpenDBFromPool(pool)
	if err := migrate(ctx, db, postgres, postgresSteps); err != nil {
		db.Close()
		return nil, err
	}
	return &Store{db: db, d: postgres, closeFn: db.Close}, nil
}

// Close closes the Store's database handle (and the pool Open made).
func (s *Store) Close() error { return s.closeFn() }

func (s *Store) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return s.db.ExecContext(ctx, s.d.rebind(q), args...)
}

// PutToken implements agent.TokenStore: it adds t, or replaces the token
// with t's id.
func (s *Store) PutToken(ctx context.Context, t agent.InstallToken) error {
	if t.ID == "" {
		return fmt.Errorf("sqlstore: put install token: no id: %w", immy.ErrInvalid)
	}
	if t.MaxUses < 0 || t.Uses < 0 {
		return fmt.Errorf("sqlstore: put install token %q: negative MaxUses or Uses: %w", t.ID, immy.ErrInvalid)
	}
	_, err := s.exec(ctx, `INSERT INTO immy_agent_tokens (id, tenant, hash, created, expires, max_uses, uses)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET tenant = excluded.tenant, hash = excluded.hash, created = excluded.created,
			expires = excluded.expires, max_uses = excluded.max_uses, uses = excluded.uses`,
		t.ID, t.Tenant, t.Hash[:], s.d.timeArg(t.Created), s.d.timeArg(t.Expires), t.MaxUses, t.Uses)
	if err != nil {
		return fmt.Errorf("sqlstore: put install token %q: %w", t.ID, err)
	}
	return nil
}

const tokenCols = `id, tenant, hash, created, expires, max_uses, uses`

func scanToken(sc interface{ Scan(...any) error }) (agent.InstallToken, error) {
	var (
		t                agent.InstallToken
		hash             []byte
		created, expires timeCol
	)
	if err := sc.Scan(&t.ID, &t.Tenant, &hash, &created, &expires, &t.MaxUses, &t.Uses); err != nil {
		return agent.InstallToken{}, err
	}
	if len(hash) != len(t.Hash) {
		return agent.InstallToken{}, fmt.Errorf("install token %q: hash of %d bytes", t.ID, len(hash))
	}
	copy(t.Hash[:], hash)
	t.Created, t.Expires = created.t, expires.t
	return t, nil
}

// TokenByHash implements agent.TokenStore.
func (s *Store) TokenByHash(ctx context.Context, hash [32]byte) (agent.InstallToken, error) {
	row := s.db.QueryRowContext(ctx, s.d.rebind(`SELECT `+tokenCols+` FROM immy_agent_tokens WHERE hash = ?`), hash[:])
	t, err := scanToken(row)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return agent.InstallToken{}, fmt.Errorf("sqlstore: install token: %w", immy.ErrNotFound)
	case err != nil:
		return agent.InstallToken{}, fmt.Errorf("sqlstore: install token: %w", err)
	}
	return t, nil
}

// UseToken implements agent.TokenUser: one statement counts the use when
// the token has uses left, so that MaxUses holds however many servers
// enrol at once.
func (s *Store) UseToken(ctx context.Context, id string) (bool, error) {
	res, err := s.exec(ctx, `UPDATE immy_agent_tokens SET uses = uses + 1
		WHERE id = ? AND (max_uses = 0 OR uses < max_uses)`, id)
	if err != nil {
		return false, fmt.Errorf("sqlstore: use install token %q: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("sqlstore: use install token %q: %w", id, err)
	}
	if n == 1 {
		return true, nil
	}
	var one int
	err = s.db.QueryRowContext(ctx, s.d.rebind(`SELECT 1 FROM immy_agent_tokens WHERE id = ?`), id).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, fmt.Errorf("sqlstore: install token %q: %w", id, immy.ErrNotFound)
	case err != nil:
		return false, fmt.Errorf("sqlstore: use install token %q: %w", id, err)
	}
	return false, nil
}

// DeleteToken implements agent.TokenStore.
func (s *Store) DeleteToken(ctx context.Context, id string) error {
	return s.delete(ctx, "immy_agent_tokens", "install token", id)
}

func (s *Store) delete(ctx context.Context, table, what, id string) error {
	res, err := s.exec(ctx, `DELETE FROM `+table+` WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("sqlstore: delete %s %q: %w", what, id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlstore: delete %s %q: %w", what, id, err)
	}
	if n == 0 {
		return fmt.Errorf("sqlstore: %s %q: %w", what, id, immy.ErrNotFound)
	}
	return nil
}

// Tokens lists the install tokens, by id; those of tenant only when tenant
// is not "".
func (s *Store) Tokens(ctx context.Context, tenant string) ([]agent.InstallToken, error) {
	rows, err := s.db.QueryContext(ctx, s.d.rebind(`SELECT `+tokenCols+` FROM immy_agent_tokens
		WHERE ? = '' OR tenant = ? ORDER BY id`), tenant, tenant)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: install tokens: %w", err)
	}
	defer rows.Close()
	var out []agent.InstallToken
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: install tokens: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: install tokens: %w", err)
	}
	return out, nil
}

// PutAgent implements agent.AgentStore: it adds r, or replaces the agent
// with r's id.
func (s *Store) PutAgent(ctx context.Context, r agent.Record) error {
	if r.ID == "" {
		return fmt.Errorf("sqlstore: put agent: no id: %w", immy.ErrInvalid)
	}
	if len(r.PublicKey) != ed25519.PublicKeySize {
		return fmt.Errorf("sqlstore: put agent %q: public key of %d bytes, want %d: %w", r.ID, len(r.PublicKey), ed25519.PublicKeySize, immy.ErrInvalid)
	}
	_, err := s.exec(ctx, `INSERT INTO immy_agent_records (id, tenant, public_key, token, ephemeral, enrolled)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET tenant = excluded.tenant, public_key = excluded.public_key,
			token = excluded.token, ephemeral = excluded.ephemeral, enrolled = excluded.enrolled`,
		r.ID, r.Tenant, []byte(r.PublicKey), r.TokenID, r.Ephemeral, s.d.timeArg(r.EnrolledAt))
	if err != nil {
		return fmt.Errorf("sqlstore: put agent %q: %w", r.ID, err)
	}
	return nil
}

const recordCols = `id, tenant, public_key, token, ephemeral, enrolled`

func scanRecord(sc interface{ Scan(...any) error }) (agent.Record, error) {
	var (
		r        agent.Record
		key      []byte
		enrolled timeCol
	)
	if err := sc.Scan(&r.ID, &r.Tenant, &key, &r.TokenID, &r.Ephemeral, &enrolled); err != nil {
		return agent.Record{}, err
	}
	r.PublicKey = ed25519.PublicKey(slices.Clone(key))
	r.EnrolledAt = enrolled.t
	return r, nil
}

// Agent implements agent.AgentStore.
func (s *Store) Agent(ctx context.Context, id string) (agent.Record, error) {
	row := s.db.QueryRowContext(ctx, s.d.rebind(`SELECT `+recordCols+` FROM immy_agent_records WHERE id = ?`), id)
	r, err := scanRecord(row)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return agent.Record{}, fmt.Errorf("sqlstore: agent %q: %w", id, immy.ErrNotFound)
	case err != nil:
		return agent.Record{}, fmt.Errorf("sqlstore: agent %q: %w", id, err)
	}
	return r, nil
}

// DeleteAgent implements agent.AgentStore.
func (s *Store) DeleteAgent(ctx context.Context, id string) error {
	return s.delete(ctx, "immy_agent_records", "agent", id)
}

// Records lists the enrolled agents, by id; those of tenant only when
// tenant is not "".
func (s *Store) Records(ctx context.Context, tenant string) ([]agent.Record, error) {
	rows, err := s.db.QueryContext(ctx, s.d.rebind(`SELECT `+recordCols+` FROM immy_agent_records
		WHERE ? = '' OR tenant = ? ORDER BY id`), tenant, tenant)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: agents: %w", err)
	}
	defer rows.Close()
	var out []agent.Record
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: agents: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: agents: %w", err)
	}
	return out, nil
}

// DeleteEphemeral deletes the ephemeral agents enrolled before before and
// returns how many it deleted. An ephemeral agent is forgotten when it says
// bye; one that was killed first never does: call this now and then with a
// time well past the longest session (a day, say).
func (s *Store) DeleteEphemeral(ctx context.Context, before time.Time) (int, error) {
	res, err := s.exec(ctx, `DELETE FROM immy_agent_records WHERE ephemeral = ? AND enrolled < ?`, true, s.d.timeArg(before))
	if err != nil {
		return 0, fmt.Errorf("sqlstore: delete ephemeral agents: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlstore: delete ephemeral agents: %w", err)
	}
	return int(n), nil
}
