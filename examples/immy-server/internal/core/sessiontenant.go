package core

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/immyoss/engine/session"
)

// A computer can move between tenants; its sessions stay with the tenant
// they ran under. The journal notes, as a session is created, its
// computer's tenant at that moment in immy_server_session_tenants, and the
// API authorises a session against that tenant, never the computer's
// current one.

func (c *Core) migrateSessionTenants(ctx context.Context) error {
	return c.exec(ctx, `CREATE TABLE IF NOT EXISTS immy_server_session_tenants (
		session TEXT PRIMARY KEY,
		tenant  TEXT NOT NULL
	)`)
}

// noteTenant records the tenant a new session runs under: its computer's
// tenant as the session is created ("" when the computer is unknown); a
// tenant (cloud task) session's own tenant.
func (j *Journal) noteTenant(ctx context.Context, rec session.Record) {
	if j.c == nil || j.c.Fleet == nil || rec.Kind != session.RecordCreated || rec.Request == nil {
		return
	}
	tenant, ok := TenantOfSession(rec.Request.Computer)
	if !ok {
		f := j.c.Fleet.Fleet()
		for i := range f.Computers {
			if f.Computers[i].ID == rec.Request.Computer {
				tenant = f.Computers[i].Tenant
				break
			}
		}
	}
	if err := j.c.exec(ctx, `INSERT INTO immy_server_session_tenants (session, tenant) VALUES (?, ?) ON CONFLICT (session) DO NOTHING`, rec.Session, tenant); err != nil {
		j.c.log.Warn("session tenant not written", "session", rec.Session, "err", err)
	}
}

// SessionTenant returns the tenant the session ran under; ok is false for a
// session created before the server noted tenants.
func (j *Journal) SessionTenant(ctx context.Context, id string) (tenant string, ok bool, err error) {
	const q = `SELECT tenant FROM immy_server_session_tenants WHERE session = ?`
	if j.c.SQL != nil {
		err = j.c.SQL.QueryRowContext(ctx, q, id).Scan(&tenant)
	} else {
		err = j.c.Pool.QueryRow(ctx, rebind(q), id).Scan(&tenant)
	}
	if errors.Is(err, sql.ErrNoRows) || errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("core: session tenant %s: %w", id, err)
	}
	return tenant, true, nil
}

// TenantOfSession returns the tenant of a tenant (cloud task) session from
// its Request.Computer (session.TenantSession): the engine runs any
// session whose computer has session.TenantPrefix as that tenant's, so
// that prefix, never the fleet, says whose the session is.
func TenantOfSession(computer string) (string, bool) {
	t, ok := strings.CutPrefix(computer, session.TenantPrefix)
	if !ok || t == "" {
		return "", false
	}
	return t, true
}
