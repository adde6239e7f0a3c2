package core

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/session"
)

// TestSessionTenant: the journal notes the tenant a session is created
// under, and a scoped list keeps a session by that note, not by where its
// computer is now (on SQLite and PostgreSQL).
func TestSessionTenant(t *testing.T) {
	eachDB(t, func(t *testing.T, db string) {
		ctx := context.Background()
		c, err := Open(ctx, Config{DB: db, ClientID: "tenant-test"})
		require.NoError(t, err)
		defer c.Close(ctx)
		id := "s-" + filepath.Base(t.Name()) + "-" + time.Now().Format("150405.000000000")
		_, ok, err := c.Journal.SessionTenant(ctx, id)
		require.NoError(t, err)
		require.False(t, ok, "no note before the session")
		// pc-gone is no computer of the (empty) fleet: its tenant is ""
		rec := session.Record{Session: id, Seq: 1, Kind: session.RecordCreated, Time: time.Now().UTC(),
			Request: &session.Request{Computer: "pc-gone", Kind: session.FullMaintenance}}
		require.NoError(t, c.Journal.Append(ctx, rec))
		tenant, ok, err := c.Journal.SessionTenant(ctx, id)
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, "", tenant)

		ids := func(q SessionQuery) []string {
			q.Limit = 100
			rows, err := c.Journal.SessionsOf(ctx, q)
			require.NoError(t, err)
			var out []string
			for _, r := range rows {
				out = append(out, r.ID)
			}
			return out
		}
		require.Contains(t, ids(SessionQuery{Scoped: true, Tenant: ""}), id)
		require.Contains(t, ids(SessionQuery{Scoped: true, Tenant: "", Computers: []string{"pc-gone"}}), id)
		require.NotContains(t, ids(SessionQuery{Scoped: true, Tenant: "contoso", Legacy: []string{"pc-gone"}}), id,
			"a noted session is its noted tenant's, whatever tenant its computer has now")
		require.Contains(t, ids(SessionQuery{}), id)
	})
}

// TestTenantSessionScope: a tenant (cloud task) session is noted under its
// own tenant and listed for it only, even where an older note says
// otherwise (the tenant of a fleet computer named like a tenant session, or
// none), on SQLite and PostgreSQL.
func TestTenantSessionScope(t *testing.T) {
	eachDB(t, func(t *testing.T, db string) {
		ctx := context.Background()
		c, err := Open(ctx, Config{DB: db, ClientID: "tenant-scope-test"})
		require.NoError(t, err)
		defer c.Close(ctx)
		run := time.Now().Format("150405.000000000")
		lab, other := "lab-"+run, "other-"+run
		open := func(id, computer string) {
			t.Helper()
			require.NoError(t, c.Journal.Append(ctx, session.Record{Session: id, Seq: 1, Kind: session.RecordCreated, Time: time.Now().UTC(),
				Request: &session.Request{Computer: computer, Kind: session.FullMaintenance}}))
		}
		end := func(id string) {
			t.Helper()
			require.NoError(t, c.Journal.Append(ctx, session.Record{Session: id, Seq: 2, Kind: session.RecordStatus, Time: time.Now().UTC(), Status: session.Passed}))
		}
		note := func(id, tenant string) {
			t.Helper()
			require.NoError(t, c.exec(ctx, `UPDATE immy_server_session_tenants SET tenant = ? WHERE session = ?`, tenant, id))
		}
		own, blank, misnoted := "own-"+run, "blank-"+run, "misnoted-"+run
		open(own, session.TenantSession(lab))
		tenant, ok, err := c.Journal.SessionTenant(ctx, own)
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, lab, tenant, "a tenant session is noted under its own tenant")
		end(own)
		open(blank, session.TenantSession(lab))
		note(blank, "") // as the server noted tenant sessions before
		open(misnoted, session.TenantSession(other))
		note(misnoted, lab) // as if a computer of lab had that id

		ids := func(tenant string) []string {
			rows, err := c.Journal.SessionsOf(ctx, SessionQuery{Scoped: true, Tenant: tenant, Limit: 100})
			require.NoError(t, err)
			var out []string
			for _, r := range rows {
				out = append(out, r.ID)
			}
			return out
		}
		require.ElementsMatch(t, []string{own, blank}, ids(lab))
		require.ElementsMatch(t, []string{misnoted}, ids(other))
		require.NotContains(t, ids(""), misnoted)
	})
}
