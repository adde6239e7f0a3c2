package fleetstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/immyoss/engine/immy"
)

// Redacted is what a secret value becomes in the audit log.
const Redacted = "********"

// Entry is one admin change of one entity, as the audit log keeps it.
type Entry struct {
	Seq      int64 // the entry's place in the log, for paging
	Revision int64 // the revision the change made
	At       time.Time
	Actor    string
	Kind     Kind
	ID       string
	Op       string // "create", "update" or "delete"
	// Tenant is the entity's tenant (its own id for a tenant; the owner of a
	// private item; the target's tenant for a deployment or schedule; "" for
	// what belongs to no tenant); TenantBefore is the one it had before, which
	// differs when it moved. A tenant's log holds the entries of both.
	Tenant, TenantBefore string
	// Before and After are the entity's stored form (JSON), nil when it was
	// created or deleted, with secrets redacted: password parameters' values
	// and defaults read Redacted. A computer's inventory is not in them.
	Before, After json.RawMessage
}

// Page asks for part of a log: the entries after the one with Seq After
// (0: from the start), in order, Limit at most (0: 100; at most 1000).
type Page struct {
	After int64
	Limit int
}

func (p Page) limit() int {
	switch {
	case p.Limit <= 0:
		return 100
	case p.Limit > 1000:
		return 1000
	}
	return p.Limit
}

// EntityLog returns a page of the audit log of one entity, oldest first.
func (s *Store) EntityLog(ctx context.Context, kind Kind, id string, p Page) ([]Entry, error) {
	return s.log(ctx, `kind = ? AND entity = ?`, []any{string(kind), id}, p)
}

// TenantLog returns a page of the audit log of one tenant's entities
// (those that belong or belonged to it), oldest first.
func (s *Store) TenantLog(ctx context.Context, tenant string, p Page) ([]Entry, error) {
	return s.log(ctx, `(tenant = ? OR tenant_before = ?)`, []any{tenant, tenant}, p)
}

func (s *Store) log(ctx context.Context, where string, args []any, p Page) ([]Entry, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	rows, err := s.db.QueryContext(ctx, s.d.q(`SELECT seq, revision, at, actor, kind, entity, op, tenant, tenant_before, before, after
		FROM immy_fleet_audit WHERE `+where+` AND seq > ? ORDER BY seq LIMIT ?`), append(args, p.After, p.limit())...)
	if err != nil {
		return nil, fmt.Errorf("fleetstore: audit log: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var (
			e             Entry
			at            any
			kind          string
			before, after sql.NullString
		)
		if err := rows.Scan(&e.Seq, &e.Revision, &at, &e.Actor, &kind, &e.ID, &e.Op, &e.Tenant, &e.TenantBefore, &before, &after); err != nil {
			return nil, fmt.Errorf("fleetstore: audit log: %w", err)
		}
		if e.At, err = s.d.scanTime(at); err != nil {
			return nil, fmt.Errorf("fleetstore: audit log: entry %d: %w", e.Seq, err)
		}
		e.Kind = Kind(kind)
		if before.Valid {
			e.Before = json.RawMessage(before.String)
		}
		if after.Valid {
			e.After = json.RawMessage(after.String)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("fleetstore: audit log: %w", err)
	}
	return out, nil
}

// audit writes an entry for each of ops, before read in old and after in
// next, with secrets redacted.
func (s *Store) audit(ctx context.Context, tx *sql.Tx, old, next *immy.Fleet, rev int64, ops []op, actor string) error {
	st, err := tx.PrepareContext(ctx, s.d.q(`INSERT INTO immy_fleet_audit
		(revision, at, actor, kind, entity, op, tenant, tenant_before, before, after) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`))
	if err != nil {
		return fmt.Errorf("fleetstore: audit: %w", err)
	}
	defer st.Close()
	at := s.d.time(s.now())
	for _, o := range ops {
		verb := o.verb()
		before, err := redact(o.kind, o.before, old, next)
		if err != nil {
			return fmt.Errorf("fleetstore: audit %s: %w", o.Op, err)
		}
		after, err := redact(o.kind, o.after, old, next)
		if err != nil {
			return fmt.Errorf("fleetstore: audit %s: %w", o.Op, err)
		}
		if _, err := st.ExecContext(ctx, rev, at, actor, string(o.kind), o.id, verb, o.tenant, o.tenantBefore, before, after); err != nil {
			return fmt.Errorf("fleetstore: audit %s: %w", o.Op, err)
		}
	}
	return nil
}

// redact returns a stored document with its secrets replaced by Redacted,
// as nullable text. A deployment's parameter is secret when the task it
// deploys declares it a password in either fleet.
func redact(k Kind, doc []byte, old, next *immy.Fleet) (any, error) {
	if doc == nil {
		return nil, nil
	}
	secret, _ := json.Marshal(Redacted)
	switch k {
	case KindTask:
		var t taskDoc
		if err := json.Unmarshal(doc, &t); err != nil {
			return nil, err
		}
		for i, p := range t.Parameters {
			if p.Type == text(immy.ParamPassword) && p.Default != nil {
				t.Parameters[i].Default = secret
			}
		}
		return marshalText(&t)
	case KindDeployment:
		var d deploymentDoc
		if err := json.Unmarshal(doc, &d); err != nil {
			return nil, err
		}
		for name := range d.Parameters {
			if isPassword(old, d.Item, name) || isPassword(next, d.Item, name) {
				d.Parameters[name] = secret
			}
		}
		return marshalText(&d)
	}
	return string(doc), nil
}

func marshalText(v any) (any, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// isPassword reports whether the task item of f declares the parameter name
// a password.
func isPassword(f *immy.Fleet, item, name string) bool {
	for i := range f.Tasks {
		if f.Tasks[i].ID != item {
			continue
		}
		for _, p := range f.Tasks[i].Parameters {
			if p.Name == name {
				return p.Type == immy.ParamPassword
			}
		}
	}
	return false
}
