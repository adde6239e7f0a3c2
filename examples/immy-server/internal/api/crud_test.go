package api

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
)

func TestCRUD(t *testing.T) {
	e := newEnv(t)
	// create
	var env Envelope
	dep := `{"id":"7zip-contoso","item":"7zip","target":{"type":"all-computers","tenant":"contoso"},"desired":"latest"}`
	require.Equal(t, 201, e.do(t, "tech", "POST", "/api/deployments", `{"data":`+dep+`}`, &env))
	rev := env.Revision
	require.JSONEq(t, `{"id":"7zip-contoso","item":"7zip","target":{"category":"computer","type":"all-computers","tenant":"contoso","filter":"all"},
		"desired":"latest","enforcement":"required","visibility":{}}`, string(env.Data))
	// again: exists
	var er Error
	require.Equal(t, 409, e.do(t, "tech", "POST", "/api/deployments", `{"data":`+dep+`}`, &er))
	require.Equal(t, "exists", er.Code)
	// get
	require.Equal(t, 200, e.do(t, "tech", "GET", "/api/deployments/7zip-contoso", "", &env))
	require.Equal(t, rev, env.Revision)
	// update against the revision read
	upd := strings.Replace(dep, `"latest"`, `"any-version"`, 1)
	require.Equal(t, 200, e.do(t, "tech", "PUT", "/api/deployments/7zip-contoso", fmt.Sprintf(`{"revision":%d,"data":%s}`, rev, upd), &env))
	require.Contains(t, string(env.Data), `"desired":"any-version"`)
	// a second update against the old revision: conflict
	require.Equal(t, 409, e.do(t, "admin", "PUT", "/api/deployments/7zip-contoso", fmt.Sprintf(`{"revision":%d,"data":%s}`, rev, dep), &er))
	require.Equal(t, "conflict", er.Code)
	require.Equal(t, "revision", er.Fields[0].Field)
	// every problem at once
	bad := `{"revision":1,"data":{"id":"other","item":"nope","target":{"type":"computer"},"desired":"newest"}}`
	require.Equal(t, 422, e.do(t, "tech", "PUT", "/api/deployments/7zip-contoso", bad, &er))
	require.Equal(t, "invalid", er.Code)
	require.NotEmpty(t, er.Fields)
	bad = `{"data":{"id":"d2","item":"nope","target":{"type":"computer","computer":"ghost"},"desired":"latest"}}`
	require.Equal(t, 422, e.do(t, "tech", "POST", "/api/deployments", bad, &er))
	require.GreaterOrEqual(t, len(er.Fields), 2, "the unknown item and the unknown computer: %+v", er.Fields)
	// unknown keys are refused
	require.Equal(t, 422, e.do(t, "tech", "POST", "/api/deployments", `{"data":{"id":"x","itme":"7zip"}}`, &er))
	require.Contains(t, er.Message, "itme")
	// the audit log names the actor
	var audit struct {
		Items []struct {
			Actor string `json:"Actor"`
			Op    string `json:"Op"`
		} `json:"items"`
	}
	require.Equal(t, 200, e.do(t, "tech", "GET", "/api/audit?kind=deployment&id=7zip-contoso", "", &audit))
	require.Len(t, audit.Items, 2)
	require.Contains(t, audit.Items[0].Actor, "(tech)")
	// delete
	require.Equal(t, 200, e.do(t, "tech", "DELETE", "/api/deployments/7zip-contoso", "", nil))
	require.Equal(t, 404, e.do(t, "tech", "GET", "/api/deployments/7zip-contoso", "", &er))
	require.Equal(t, "not_found", er.Code)
}

func TestListPagingAndFilters(t *testing.T) {
	e := newEnv(t)
	var all, page List
	require.Equal(t, 200, e.do(t, "admin", "GET", "/api/computers?limit=1000", "", &all))
	require.Equal(t, 21, all.Total)
	require.Equal(t, 200, e.do(t, "admin", "GET", "/api/computers?offset=5&limit=3", "", &page))
	require.Equal(t, 21, page.Total)
	require.Len(t, page.Items, 3)
	if d := cmp.Diff(all.Items[5:8], page.Items); d != "" {
		t.Errorf("page (-want +got):\n%s", d)
	}
	require.Equal(t, 200, e.do(t, "admin", "GET", "/api/computers?tenant=fabrikam&q=ws", "", &page))
	require.Equal(t, 2, page.Total)
	var er Error
	require.Equal(t, 422, e.do(t, "admin", "GET", "/api/computers?limit=0&offset=-1", "", &er))
	require.Len(t, er.Fields, 2)
}

func TestSecretsKeptOnUpdate(t *testing.T) {
	e := newEnv(t)
	var env Envelope
	require.Equal(t, 200, e.do(t, "admin", "GET", "/api/deployments/local-admin-fabrikam", "", &env))
	require.Contains(t, string(env.Data), `"password":"********"`)
	// sent back as shown, with another change: the stored password stays
	data := strings.Replace(string(env.Data), `"fabadmin"`, `"fabadmin2"`, 1)
	require.Equal(t, 200, e.do(t, "admin", "PUT", "/api/deployments/local-admin-fabrikam", fmt.Sprintf(`{"revision":%d,"data":%s}`, env.Revision, data), &env))
	for _, d := range e.c.Fleet.Fleet().Deployments {
		if d.ID == "local-admin-fabrikam" {
			require.Equal(t, "Sup3r-S3cret!", d.Parameters["password"])
			require.Equal(t, "fabadmin2", d.Parameters["username"])
		}
	}
}

func TestChangesDryRun(t *testing.T) {
	e := newEnv(t)
	rev := e.c.Fleet.Revision()
	dep := `{"id":"7zip-everyone","item":"7zip","target":{"type":"all-computers"},"desired":"latest"}`
	body := fmt.Sprintf(`{"revision":%d,"ops":[{"op":"put","kind":"deployment","data":%s}]}`, rev, dep)
	var rep ChangeReply
	require.Equal(t, 200, e.do(t, "tech", "POST", "/api/changes?dry_run=true", body, &rep))
	require.True(t, rep.DryRun)
	require.NotNil(t, rep.Diff)
	require.NotEmpty(t, rep.Diff.Computers, "7-Zip everywhere changes plans")
	require.Equal(t, rev, e.c.Fleet.Revision(), "a dry run changes nothing")
	require.Equal(t, 200, e.do(t, "tech", "POST", "/api/changes", body, &rep))
	require.Greater(t, rep.Revision, rev)
	// every problem of a change set at once
	var er Error
	bad := `{"ops":[{"op":"zap","kind":"deployment"},{"op":"put","kind":"nope"},{"op":"delete","kind":"tenant"}]}`
	require.Equal(t, 422, e.do(t, "tech", "POST", "/api/changes", bad, &er))
	var fields []string
	for _, f := range er.Fields {
		fields = append(fields, f.Field)
	}
	require.Equal(t, []string{"revision", "ops[0].op", "ops[1].kind", "ops[2].id"}, fields)
}

func TestComputerPlan(t *testing.T) {
	e := newEnv(t)
	var p PlanReply
	require.Equal(t, 200, e.do(t, "tech", "GET", "/api/computers/contoso-lt-01/plan?explain=adobe-reader", "", &p))
	var plan struct {
		Decisions []struct {
			Item       string            `json:"item"`
			Winner     string            `json:"winner"`
			Candidates []json.RawMessage `json:"candidates"`
		} `json:"decisions"`
	}
	require.NoError(t, json.Unmarshal(p.Plan, &plan))
	require.NotEmpty(t, plan.Decisions)
	require.NotNil(t, p.Explanation)
	require.Equal(t, "adobe-reader", p.Explanation.Item)
	require.NotEmpty(t, p.Explanation.Candidates)
}

func TestOpenAPIMatchesRoutes(t *testing.T) {
	e := newEnv(t)
	var doc map[string]any
	require.Equal(t, 200, e.do(t, "none", "GET", "/api/openapi.json", "", &doc))
	require.Equal(t, "3.1.0", doc["openapi"])
	paths := doc["paths"].(map[string]any)
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	n := 0
	for p, ops := range paths {
		for method, op := range ops.(map[string]any) {
			n++
			// every route of the document is served: an unknown route is a
			// 404 whose message names the route; a served one never is
			path := strings.NewReplacer("{id}", "x").Replace(p)
			var b []byte
			if strings.HasSuffix(p, "/events") {
				_, b = e.stream(t, "admin", path)
			} else {
				_, b = e.raw(t, "admin", strings.ToUpper(method), path, "")
			}
			require.NotContains(t, string(b), "route "+strings.ToUpper(method), "%s %s is documented but not served", method, p)
			// every schema it names is defined
			raw, _ := json.Marshal(op)
			for _, m := range strings.Split(string(raw), `"$ref":"#/components/schemas/`)[1:] {
				name := m[:strings.Index(m, `"`)]
				require.Contains(t, schemas, name, "%s %s names an undefined schema", method, p)
			}
		}
	}
	require.Equal(t, len(e.h.Routes()), n, "the document has every route")
	// and each documented success status is what the route answers
	for _, rt := range e.h.Routes() {
		if rt.Method != "GET" || strings.Contains(rt.Path, "{") || rt.Reply == "event-stream" {
			continue
		}
		code, b := e.raw(t, "admin", "GET", rt.Path+"?tenant=contoso", "")
		require.Equal(t, rt.Status, code, "%s: %s", rt.Path, b)
	}
}
