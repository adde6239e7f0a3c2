package auth

import (
	"context"
	"fmt"
	"time"
)

// Action is one mutation made through the API: who, when, what.
type Action struct {
	Seq    int64     `json:"seq"`
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Tenant string    `json:"tenant,omitempty"` // the token's tenant, for a tenant-user
	Method string    `json:"method"`
	Path   string    `json:"path"`
	Status int       `json:"status"`
}

func (s *Store) migrateActions(ctx context.Context) error {
	ddl := `CREATE TABLE IF NOT EXISTS immy_server_actions (
		seq    INTEGER PRIMARY KEY AUTOINCREMENT,
		at     TEXT NOT NULL,
		actor  TEXT NOT NULL,
		tenant TEXT NOT NULL,
		method TEXT NOT NULL,
		path   TEXT NOT NULL,
		status INTEGER NOT NULL
	)`
	if s.pool != nil {
		ddl = `CREATE TABLE IF NOT EXISTS immy_server_actions (
		seq    bigserial PRIMARY KEY,
		at     text NOT NULL,
		actor  text NOT NULL,
		tenant text NOT NULL,
		method text NOT NULL,
		path   text NOT NULL,
		status integer NOT NULL
	)`
	}
	return s.exec(ctx, ddl)
}

// Record keeps one mutation. The path is the request's, without its query.
func (s *Store) Record(ctx context.Context, a Action) error {
	if len(a.Path) > 512 {
		a.Path = a.Path[:512]
	}
	err := s.exec(ctx, `INSERT INTO immy_server_actions (at, actor, tenant, method, path, status) VALUES (?, ?, ?, ?, ?, ?)`,
		s.now().UTC().Format(time.RFC3339Nano), a.Actor, a.Tenant, a.Method, a.Path, a.Status)
	if err != nil {
		return fmt.Errorf("auth: record action: %w", err)
	}
	return nil
}

// Actions returns up to limit mutations after seq, oldest first.
func (s *Store) Actions(ctx context.Context, after int64, limit int) ([]Action, error) {
	q := s.rebind(`SELECT seq, at, actor, tenant, method, path, status FROM immy_server_actions WHERE seq > ? ORDER BY seq LIMIT ?`)
	var out []Action
	scan := func(sc scanner) error {
		var a Action
		var at string
		if err := sc.Scan(&a.Seq, &at, &a.Actor, &a.Tenant, &a.Method, &a.Path, &a.Status); err != nil {
			return err
		}
		a.At, _ = time.Parse(time.RFC3339Nano, at)
		out = append(out, a)
		return nil
	}
	if s.pool != nil {
		rows, err := s.pool.Query(ctx, q, after, limit)
		if err != nil {
			return nil, fmt.Errorf("auth: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				return nil, fmt.Errorf("auth: %w", err)
			}
		}
		return out, rows.Err()
	}
	rows, err := s.db.QueryContext(ctx, q, after, limit)
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return nil, fmt.Errorf("auth: %w", err)
		}
	}
	return out, rows.Err()
}
