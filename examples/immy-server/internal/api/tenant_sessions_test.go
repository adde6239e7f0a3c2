package api

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/session"
)

// TestTenantSessions: the API starts a tenant's cloud task session (full or
// detection-only); the engine runs the tenant's winning cloud task
// deployments on the server. A tenant-user starts, reads, lists and follows
// its own tenant's only: another tenant's, a child tenant's and an unknown
// tenant's are all 404; a computer id shaped like a tenant session is
// refused. The body and answers are as the OpenAPI document says.
func TestTenantSessions(t *testing.T) {
	e := newEnv(t)
	doc := newResponseSchemas(t, e)
	var tok struct {
		Token string `json:"token"`
	}
	require.Equal(t, 201, e.do(t, "admin", "POST", "/api/tokens", `{"name":"fab","role":"tenant-user","tenant":"fabrikam"}`, &tok))
	e.tokens["fab"] = tok.Token

	start := func(role, body string) (int, session.Report, []byte) {
		t.Helper()
		code, b := e.raw(t, role, "POST", "/api/sessions", body)
		doc.check(t, "POST", "/api/sessions", code, b)
		var rep session.Report
		if code == 201 {
			require.NoError(t, json.Unmarshal(b, &rep))
		}
		return code, rep, b
	}
	ended := func(role, id string) session.Report {
		t.Helper()
		var rep session.Report
		require.Eventually(t, func() bool {
			rep = session.Report{}
			return e.do(t, role, "GET", "/api/sessions/"+id, "", &rep) == 200 && rep.Status.Final()
		}, 30*time.Second, 50*time.Millisecond, "session %s ends", id)
		return rep
	}
	type planned struct{ Item, Deployment, Action string }
	plan := func(rep session.Report) []planned {
		var out []planned
		for _, a := range rep.Actions {
			out = append(out, planned{a.Planned.Item, a.Planned.Deployment, a.Planned.Action.String()})
		}
		return out
	}

	// contoso's tenant-user: its own tenant's, detection only (the plan)
	code, rep, b := start("tenant", `{"tenant":"contoso","kind":"detection-only"}`)
	require.Equal(t, 201, code, "%s", b)
	require.Equal(t, session.TenantSession("contoso"), rep.Computer)
	contoso := ended("tenant", rep.ID)
	require.Equal(t, session.Passed, contoso.Status, "%+v", contoso)
	// the single-tenant deployment beats the all-tenants one
	require.Equal(t, []planned{{"m365-audit", "m365-audit-contoso", "task-monitor"}}, plan(contoso))

	// an admin's full session of fabrikam runs the all-tenants deployment
	code, rep, b = start("admin", `{"tenant":"fabrikam"}`)
	require.Equal(t, 201, code, "%s", b)
	fab := ended("admin", rep.ID)
	require.Equal(t, session.Passed, fab.Status, "%+v", fab)
	require.Equal(t, []planned{{"m365-audit", "m365-audit-all", "task-audit"}}, plan(fab))
	require.Equal(t, session.Complete, fab.Actions[0].Status)
	require.Equal(t, session.Success, fab.Actions[0].Result, "the cloud script ran: %+v", fab.Actions[0])

	// never another tenant's
	for _, c := range []struct {
		role, body string
		want       int
	}{
		{"tenant", `{"tenant":"fabrikam"}`, 404},
		{"tenant", `{"tenant":"contoso-eu"}`, 404}, // a child tenant is another tenant
		{"tenant", `{"tenant":"nosuch"}`, 404},
		{"admin", `{"tenant":"nosuch"}`, 404},
		{"fab", `{"tenant":"contoso","kind":"detection-only"}`, 404},
		// the engine runs any computer id with the prefix as that tenant's
		{"tenant", `{"computer":"tenant:fabrikam"}`, 422},
		{"admin", `{"computer":"tenant:fabrikam"}`, 422},
		// a tenant session has no item, offline or reboot, and two kinds
		{"admin", `{"tenant":"contoso","kind":"single-item","item":"m365-audit","offline":"skip","reboot":"force"}`, 422},
		{"admin", `{"tenant":"contoso","kind":"onboarding"}`, 422},
		{"admin", `{"tenant":"contoso","computer":"contoso-lt-01"}`, 422},
	} {
		code, _, b := start(c.role, c.body)
		require.Equal(t, c.want, code, "%s as %s: %s", c.body, c.role, b)
		require.NotContains(t, string(b), "Fabrikam", "%s as %s", c.body, c.role)
	}
	_, _, b = start("admin", `{"tenant":"contoso","kind":"single-item","item":"m365-audit","offline":"skip","reboot":"force"}`)
	var er Error
	require.NoError(t, json.Unmarshal(b, &er))
	var fields []string
	for _, f := range er.Fields {
		fields = append(fields, f.Field)
	}
	require.Equal(t, []string{"kind", "item", "offline", "reboot"}, fields, "every problem at once")

	// reading, listing and following: each tenant its own
	for _, c := range []struct {
		role, id string
		want     int
	}{
		{"tenant", contoso.ID, 200}, {"tenant", fab.ID, 404},
		{"fab", contoso.ID, 404}, {"fab", fab.ID, 200},
		{"admin", contoso.ID, 200}, {"tech", fab.ID, 200},
	} {
		require.Equal(t, c.want, e.do(t, c.role, "GET", "/api/sessions/"+c.id, "", nil), "GET session %s as %s", c.id, c.role)
		code, _ := e.stream(t, c.role, "/api/sessions/"+c.id+"/events")
		require.Equal(t, c.want, code, "events of session %s as %s", c.id, c.role)
	}
	list := func(role, query string) []string {
		t.Helper()
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
	require.Contains(t, list("tenant", ""), contoso.ID)
	require.NotContains(t, list("tenant", ""), fab.ID)
	require.Empty(t, list("tenant", "?computer="+session.TenantSession("fabrikam")))
	require.Equal(t, []string{contoso.ID}, list("tenant", "?computer="+session.TenantSession("contoso")))
	require.Contains(t, list("fab", ""), fab.ID)
	require.NotContains(t, list("fab", ""), contoso.ID)
	require.Contains(t, list("admin", "?tenant=fabrikam"), fab.ID)
	require.NotContains(t, list("admin", "?tenant=fabrikam"), contoso.ID)
	code, b = e.stream(t, "tenant", "/api/events?after=0")
	require.Equal(t, 200, code)
	require.Contains(t, string(b), contoso.ID)
	require.NotContains(t, string(b), fab.ID, "the fleet events show no other tenant's session")

	// a tenant session asks nobody before execution: no postponement; and
	// its action is not rerun alone
	for _, role := range []string{"tenant", "admin"} {
		require.Equal(t, 422, e.do(t, role, "POST", "/api/sessions/"+contoso.ID+"/postpone", "", nil), role)
		require.Equal(t, 422, e.do(t, role, "POST", "/api/sessions/"+contoso.ID+"/rerun", `{"action":0}`, nil), role)
	}
	require.Equal(t, 404, e.do(t, "tenant", "POST", "/api/sessions/"+fab.ID+"/postpone", "", nil))

	// the document's StartBody takes what the API takes, and refuses a
	// body naming both or neither, or a tenant session's extra fields
	sch, err := doc.c.Compile(docURL + "#/components/schemas/StartBody")
	require.NoError(t, err)
	for body, ok := range map[string]bool{
		`{"computer":"pc"}`: true,
		`{"computer":"pc","kind":"single-item","item":"x"}`: true,
		`{"tenant":"t"}`:                         true,
		`{"tenant":"t","kind":"detection-only"}`: true,
		`{}`:                                     false,
		`{"tenant":"t","computer":"pc"}`:         false,
		`{"tenant":"t","kind":"onboarding"}`:     false,
		`{"tenant":"t","reboot":"force"}`:        false,
		`{"tenant":"t","item":"x"}`:              false,
	} {
		inst, err := jsonschema.UnmarshalJSON(strings.NewReader(body))
		require.NoError(t, err)
		if err := sch.Validate(inst); ok {
			require.NoError(t, err, body)
		} else {
			require.Error(t, err, body)
		}
	}
}
