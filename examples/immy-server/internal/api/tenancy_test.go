package api

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// moveComputer makes a tenant-user of fabrikam ("fab") and moves
// contoso-lt-01 from contoso to fabrikam.
func moveComputer(t *testing.T, e *env) {
	t.Helper()
	var tok struct {
		Token string `json:"token"`
	}
	require.Equal(t, 201, e.do(t, "admin", "POST", "/api/tokens", `{"name":"fab","role":"tenant-user","tenant":"fabrikam"}`, &tok))
	e.tokens["fab"] = tok.Token
	var env Envelope
	require.Equal(t, 200, e.do(t, "admin", "GET", "/api/computers/contoso-lt-01", "", &env))
	var data map[string]any
	require.NoError(t, json.Unmarshal(env.Data, &data))
	require.Equal(t, "contoso", data["tenant"])
	data["tenant"] = "fabrikam"
	b, err := json.Marshal(data)
	require.NoError(t, err)
	code, reply := e.raw(t, "admin", "PUT", "/api/computers/contoso-lt-01", fmt.Sprintf(`{"revision":%d,"data":%s}`, env.Revision, b))
	require.Equal(t, 200, code, "%s", reply)
}

// TestSessionsStayWithTheirTenant: a computer moved to another tenant does
// not carry its history there. Its sessions stay with the tenant they ran
// under: the new tenant's user gets 404 for them, does not list them, and
// its fleet events do not replay them; the old tenant's user keeps them.
func TestSessionsStayWithTheirTenant(t *testing.T) {
	e := newEnv(t)
	require.Equal(t, 202, e.do(t, "admin", "POST", "/api/sessions/"+e.contosoSession+"/cancel", "", nil))
	moveComputer(t, e)
	var rep struct {
		ID string `json:"id"`
	}
	// the cancel lands in the journal a moment later: till then, the
	// computer has a session open (409)
	require.Eventually(t, func() bool {
		return e.do(t, "admin", "POST", "/api/sessions", `{"computer":"contoso-lt-01"}`, &rep) == 201
	}, 15*time.Second, 50*time.Millisecond)
	fabEra, contosoEra := rep.ID, e.contosoSession

	for _, c := range []struct {
		role, id string
		want     int
	}{
		{"fab", contosoEra, 404}, {"fab", fabEra, 200},
		{"tenant", contosoEra, 200}, {"tenant", fabEra, 404},
		{"admin", contosoEra, 200}, {"admin", fabEra, 200},
	} {
		require.Equal(t, c.want, e.do(t, c.role, "GET", "/api/sessions/"+c.id, "", nil), "GET session %s as %s", c.id, c.role)
		code, _ := e.stream(t, c.role, "/api/sessions/"+c.id+"/events")
		require.Equal(t, c.want, code, "events of session %s as %s", c.id, c.role)
	}

	list := func(role, query string) []string {
		var l struct {
			Items []struct{ ID string } `json:"items"`
		}
		require.Equal(t, 200, e.do(t, role, "GET", "/api/sessions"+query, "", &l))
		var ids []string
		for _, it := range l.Items {
			ids = append(ids, it.ID)
		}
		return ids
	}
	require.ElementsMatch(t, []string{fabEra}, list("fab", "?computer=contoso-lt-01"))
	require.ElementsMatch(t, []string{fabEra, e.fabSession}, list("fab", ""))
	require.ElementsMatch(t, []string{contosoEra}, list("tenant", "?computer=contoso-lt-01"))
	require.ElementsMatch(t, []string{contosoEra}, list("tenant", ""))
	require.ElementsMatch(t, []string{contosoEra}, list("admin", "?tenant=contoso"))
	require.ElementsMatch(t, []string{fabEra, e.fabSession}, list("admin", "?tenant=fabrikam"))
	require.ElementsMatch(t, []string{contosoEra, fabEra, e.fabSession}, list("admin", "?computer="))
	require.Empty(t, list("tenant", "?tenant=fabrikam"))

	// the old tenant cannot start a session on the computer by a rerun
	require.Equal(t, 404, e.do(t, "tenant", "POST", "/api/sessions/"+contosoEra+"/rerun", `{"action":0}`, nil))

	code, b := e.stream(t, "fab", "/api/events?after=0")
	require.Equal(t, 200, code)
	require.Contains(t, string(b), fabEra)
	require.NotContains(t, string(b), contosoEra, "the fleet events replay no session of the computer's old tenant")
	code, b = e.stream(t, "tenant", "/api/events?after=0")
	require.Equal(t, 200, code)
	require.Contains(t, string(b), contosoEra)
	require.NotContains(t, string(b), fabEra)
}

// TestAuditOfAMove: both tenants' logs hold the move of a computer; each
// tenant's user sees only its own side of it (the old tenant the Before,
// the new one the After), an MSP token both.
func TestAuditOfAMove(t *testing.T) {
	e := newEnv(t)
	moveComputer(t, e)
	move := func(role string) (before, after string) {
		var l struct {
			Items []struct {
				Kind, ID, Op         string
				Tenant, TenantBefore string
				Before, After        json.RawMessage
			} `json:"items"`
		}
		require.Equal(t, 200, e.do(t, role, "GET", "/api/audit?limit=1000&tenant="+map[string]string{"fab": "fabrikam", "tenant": "contoso", "admin": "contoso"}[role], "", &l))
		for _, it := range l.Items {
			if it.ID == "contoso-lt-01" && it.Op == "update" && it.TenantBefore == "contoso" && it.Tenant == "fabrikam" {
				return string(it.Before), string(it.After)
			}
		}
		t.Fatalf("%s: no audit entry of the move in %+v", role, l.Items)
		return "", ""
	}
	shown := func(s string) bool { return s != "" && s != "null" }
	before, after := move("tenant")
	require.True(t, shown(before), "the old tenant sees what it had")
	require.False(t, shown(after), "the old tenant does not see the computer under its new tenant: %s", after)
	require.False(t, strings.Contains(after, "fabrikam"))
	before, after = move("fab")
	require.False(t, shown(before), "the new tenant does not see the computer under its old tenant: %s", before)
	require.True(t, shown(after), "the new tenant sees what it has")
	before, after = move("admin")
	require.True(t, shown(before) && shown(after), "an MSP token sees both sides")
}
