// Package auth keeps the example server's API tokens and says what each may
// do. A token is shown once, when it is made; the database keeps its SHA-256
// only. Each token has a role:
//
//	msp-admin       everything
//	msp-technician  everything but API tokens and plugin instances
//	tenant-user     one tenant's computers, persons, sessions, plans and
//	                audit log, and starting and stopping its sessions;
//	                anything else is "not found", as if it did not exist
//
// The actor a token's changes are audited under is "token:ID (NAME)".
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/immyoss/engine/immy"
)

// Role is what a token may do.
type Role string

// The roles.
const (
	Admin      Role = "msp-admin"
	Technician Role = "msp-technician"
	TenantUser Role = "tenant-user"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == Admin || r == Technician || r == TenantUser }

// Token is an API token as the store keeps it (without the secret).
type Token struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Role    Role      `json:"role"`
	Tenant  string    `json:"tenant,omitempty"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires,omitzero"`
	Revoked bool      `json:"revoked,omitempty"`
}

// Actor is how the audit log names the token's holder.
func (t Token) Actor() string { return fmt.Sprintf("token:%s (%s)", t.ID, t.Name) }

// Prefix starts every API token, so that a leaked one is easy to recognise.
const Prefix = "immyapi_"

// ErrUnauthorized is a missing, unknown, expired or revoked token.
var ErrUnauthorized = errors.New("auth: not a valid API token")

// Store keeps API tokens in SQLite (a *sql.DB) or PostgreSQL (a pool).
type Store struct {
	db   *sql.DB
	pool *pgxpool.Pool
	now  func() time.Time

	// cache holds tokens authenticated in the last cacheTTL, by hash: a
	// busy API does not read the table at every request. A revocation
	// through this store empties it; one made by another process over the
	// same database counts here within cacheTTL.
	mu    sync.Mutex
	cache map[string]cached
}

type cached struct {
	t     Token
	until time.Time
}

const cacheTTL = 5 * time.Second

// Open returns a store over db or pool (one of them), creating its table.
func Open(ctx context.Context, db *sql.DB, pool *pgxpool.Pool) (*Store, error) {
	s := &Store{db: db, pool: pool, now: time.Now, cache: map[string]cached{}}
	ddl := `CREATE TABLE IF NOT EXISTS immy_server_tokens (
		id      TEXT PRIMARY KEY,
		name    TEXT NOT NULL,
		role    TEXT NOT NULL,
		tenant  TEXT NOT NULL,
		hash    TEXT NOT NULL UNIQUE,
		created TEXT NOT NULL,
		expires TEXT NOT NULL,
		revoked INTEGER NOT NULL DEFAULT 0
	)`
	if err := s.exec(ctx, ddl); err != nil {
		return nil, fmt.Errorf("auth: migrate: %w", err)
	}
	if err := s.migrateActions(ctx); err != nil {
		return nil, fmt.Errorf("auth: migrate: %w", err)
	}
	return s, nil
}

func (s *Store) rebind(q string) string {
	if s.pool == nil {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (s *Store) exec(ctx context.Context, q string, args ...any) error {
	if s.pool != nil {
		_, err := s.pool.Exec(ctx, s.rebind(q), args...)
		return err
	}
	_, err := s.db.ExecContext(ctx, q, args...)
	return err
}

type scanner interface{ Scan(...any) error }

func (s *Store) queryRow(ctx context.Context, q string, args ...any) scanner {
	if s.pool != nil {
		return s.pool.QueryRow(ctx, s.rebind(q), args...)
	}
	return s.db.QueryRowContext(ctx, q, args...)
}

func hashOf(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

var nameRE = regexp.MustCompile(`^[\p{L}\p{N} ._@-]{1,64}$`)

// Create makes a token and returns it (the only time it is shown) and its
// record. Every problem with the request is reported at once.
func (s *Store) Create(ctx context.Context, name string, role Role, tenant string, expires time.Time) (string, Token, error) {
	var ps immy.Problems
	if !nameRE.MatchString(name) {
		ps = append(ps, immy.Problem{Field: "name", Message: "1 to 64 letters, digits, spaces or ._@-"})
	}
	if !role.Valid() {
		ps = append(ps, immy.Problem{Field: "role", Message: fmt.Sprintf("unknown role %q (want msp-admin, msp-technician or tenant-user)", role)})
	}
	if role == TenantUser && tenant == "" {
		ps = append(ps, immy.Problem{Field: "tenant", Message: "a tenant-user token needs a tenant"})
	}
	if role != TenantUser && tenant != "" {
		ps = append(ps, immy.Problem{Field: "tenant", Message: "only a tenant-user token is bound to a tenant"})
	}
	if !expires.IsZero() && !expires.After(s.now()) {
		ps = append(ps, immy.Problem{Field: "expires", Message: "must be in the future"})
	}
	if len(ps) > 0 {
		return "", Token{}, ps
	}
	id := randHex(6)
	secret := Prefix + id + "_" + randHex(24)
	t := Token{ID: id, Name: name, Role: role, Tenant: tenant, Created: s.now().UTC().Truncate(time.Second), Expires: expires.UTC()}
	exp := ""
	if !expires.IsZero() {
		exp = t.Expires.Format(time.RFC3339)
	}
	err := s.exec(ctx, `INSERT INTO immy_server_tokens (id, name, role, tenant, hash, created, expires) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.Name, string(t.Role), t.Tenant, hashOf(secret), t.Created.Format(time.RFC3339), exp)
	if err != nil {
		return "", Token{}, fmt.Errorf("auth: create token: %w", err)
	}
	return secret, t, nil
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

const cols = `id, name, role, tenant, created, expires, revoked`

func scanToken(sc scanner) (Token, error) {
	var t Token
	var role, created, expires string
	var revoked int
	if err := sc.Scan(&t.ID, &t.Name, &role, &t.Tenant, &created, &expires, &revoked); err != nil {
		return t, err
	}
	t.Role = Role(role)
	t.Created, _ = time.Parse(time.RFC3339, created)
	if expires != "" {
		t.Expires, _ = time.Parse(time.RFC3339, expires)
	}
	t.Revoked = revoked != 0
	return t, nil
}

// Authenticate returns the token of a secret, refusing what is unknown,
// expired or revoked with ErrUnauthorized.
func (s *Store) Authenticate(ctx context.Context, secret string) (Token, error) {
	if !strings.HasPrefix(secret, Prefix) || len(secret) > 200 {
		return Token{}, ErrUnauthorized
	}
	h := hashOf(secret)
	now := s.now()
	s.mu.Lock()
	c, ok := s.cache[h]
	s.mu.Unlock()
	if ok && now.Before(c.until) && (c.t.Expires.IsZero() || now.Before(c.t.Expires)) {
		return c.t, nil
	}
	t, err := scanToken(s.queryRow(ctx, `SELECT `+cols+` FROM immy_server_tokens WHERE hash = ?`, h))
	if errors.Is(err, sql.ErrNoRows) || errors.Is(err, pgx.ErrNoRows) {
		return Token{}, ErrUnauthorized
	}
	if err != nil {
		return Token{}, fmt.Errorf("auth: %w", err)
	}
	if t.Revoked || (!t.Expires.IsZero() && !now.Before(t.Expires)) {
		return Token{}, ErrUnauthorized
	}
	s.mu.Lock()
	if len(s.cache) > 10000 {
		clear(s.cache)
	}
	s.cache[h] = cached{t: t, until: now.Add(cacheTTL)}
	s.mu.Unlock()
	return t, nil
}

// List returns every token, oldest first.
func (s *Store) List(ctx context.Context) ([]Token, error) {
	q := `SELECT ` + cols + ` FROM immy_server_tokens ORDER BY created, id`
	var out []Token
	if s.pool != nil {
		rows, err := s.pool.Query(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("auth: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			t, err := scanToken(rows)
			if err != nil {
				return nil, fmt.Errorf("auth: %w", err)
			}
			out = append(out, t)
		}
		return out, rows.Err()
	}
	rows, err := s.db.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("auth: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// Revoke revokes a token; an unknown id is immy.ErrNotFound.
func (s *Store) Revoke(ctx context.Context, id string) error {
	var n int
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM immy_server_tokens WHERE id = ?`, id).Scan(&n); err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("auth: token %q: %w", id, immy.ErrNotFound)
	}
	err := s.exec(ctx, `UPDATE immy_server_tokens SET revoked = 1 WHERE id = ?`, id)
	s.mu.Lock()
	clear(s.cache)
	s.mu.Unlock()
	return err
}

// Count returns how many tokens of role exist and are not revoked.
func (s *Store) Count(ctx context.Context, role Role) (int, error) {
	var n int
	err := s.queryRow(ctx, `SELECT COUNT(*) FROM immy_server_tokens WHERE role = ? AND revoked = 0`, string(role)).Scan(&n)
	return n, err
}

type ctxKey struct{}

// With returns ctx carrying the token.
func With(ctx context.Context, t Token) context.Context { return context.WithValue(ctx, ctxKey{}, t) }

// From returns the token ctx carries.
func From(ctx context.Context) (Token, bool) {
	t, ok := ctx.Value(ctxKey{}).(Token)
	return t, ok
}
