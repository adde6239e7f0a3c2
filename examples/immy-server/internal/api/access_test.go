package api

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// otherID is, per path prefix, the id of another tenant's entity than the
// tenant-user's (contoso), or of something that is no tenant's.
var otherID = map[string]string{
	"/api/tenants/":        "fabrikam",
	"/api/computers/":      "fabrikam-ws-01",
	"/api/persons/":        "alice",
	"/api/groups/":         "acme-shopfloor",
	"/api/software/":       "chrome",
	"/api/tasks/":          "local-admin",
	"/api/deployments/":    "local-admin-fabrikam",
	"/api/schedules/":      "nightly",
	"/api/install-tokens/": "tok-nope",
	"/api/tokens/":         "nope",
}

// nameOf is, per path prefix, the {name} of an existing thing.
var nameOf = map[string]string{"/api/plugins/": "example-rmm"}

var secrets = []string{"Sup3r-S3cret!", "0nb0arding-Only!", "immyapi_"}

// TestAccessMatrix calls every route as every role: no token is 401; a
// technician is refused the admin's routes (403); a tenant-user gets 404
// for every route beyond its tenant and for every other tenant's id, and
// never sees another tenant's names; no answer holds a secret; every error
// has the one error shape.
func TestAccessMatrix(t *testing.T) {
	e := newEnv(t)
	covered := map[string]bool{}
	for _, rt := range e.h.Routes() {
		covered[rt.Method+" "+rt.Path] = true
	}
	for _, must := range []string{"POST /api/plugins/{name}/restart", "GET /api/plugins", "POST /api/sessions/{id}/postpone"} {
		require.True(t, covered[must], "the matrix covers %s", must)
	}
	for _, rt := range e.h.Routes() {
		path := rt.Path
		for prefix, name := range nameOf {
			if strings.HasPrefix(path, prefix) {
				path = strings.Replace(path, "{name}", name, 1)
			}
		}
		if strings.Contains(path, "/api/sessions/{id}") {
			path = strings.Replace(path, "{id}", e.fabSession, 1)
		}
		for prefix, id := range otherID {
			if strings.HasPrefix(path, prefix) {
				path = strings.Replace(path, "{id}", id, 1)
			}
		}
		body := ""
		if rt.Method == "POST" || rt.Method == "PUT" {
			body = "{}"
		}
		if rt.Path == "/api/sessions" && rt.Method == "POST" {
			body = `{"computer":"fabrikam-ws-01"}`
		}
		for _, role := range []string{"none", "tenant", "tech", "admin"} {
			name := rt.Method + " " + rt.Path + " as " + role
			t.Run(name, func(t *testing.T) {
				var code int
				var b []byte
				if rt.Reply == "event-stream" {
					code, b = e.stream(t, role, path)
				} else {
					code, b = e.raw(t, role, rt.Method, path, body)
				}
				require.Less(t, code, 500, "%s", b)
				for _, s := range secrets {
					require.NotContains(t, string(b), s, "a secret in the answer")
				}
				if code >= 400 {
					var er Error
					require.NoError(t, json.Unmarshal(b, &er), "the error shape: %s", b)
					require.NotEmpty(t, er.Code)
					require.NotEmpty(t, er.Message)
				}
				switch {
				case rt.Access == Public:
					require.Less(t, code, 400, "%s", b)
				case role == "none":
					require.Equal(t, 401, code, "%s", b)
				case role == "tenant":
					if rt.Access != TenantScope || strings.Contains(rt.Path, "{id}") || rt.Method != "GET" {
						require.Equal(t, 404, code, "a tenant-user reaches beyond its tenant: %s", b)
					}
					lower := strings.ToLower(string(b))
					for _, other := range []string{"fabrikam", "northwind", "acme"} {
						if code == 404 && strings.Contains(path+body, other) {
							continue // the id it asked for, echoed
						}
						require.NotContains(t, lower, other, "another tenant's name: %s", b)
					}
				case role == "tech" && rt.Access == AdminOnly:
					require.Equal(t, 403, code, "%s", b)
				default:
					require.NotEqual(t, 401, code, "%s", b)
					require.NotEqual(t, 403, code, "%s", b)
				}
			})
		}
	}
}

// TestTenantUserOwnTenant: a tenant-user reads and acts on its own
// tenant's computers and sessions.
func TestTenantUserOwnTenant(t *testing.T) {
	e := newEnv(t)
	var l List
	require.Equal(t, 200, e.do(t, "tenant", "GET", "/api/computers", "", &l))
	require.NotEmpty(t, l.Items)
	for _, it := range l.Items {
		var c struct {
			Tenant string `json:"tenant"`
		}
		require.NoError(t, json.Unmarshal(it.Data, &c))
		require.Equal(t, "contoso", c.Tenant)
	}
	require.Equal(t, 200, e.do(t, "tenant", "GET", "/api/computers/contoso-lt-01", "", nil))
	require.Equal(t, 200, e.do(t, "tenant", "GET", "/api/computers/contoso-lt-01/plan", "", nil))
	require.Equal(t, 200, e.do(t, "tenant", "GET", "/api/sessions/"+e.contosoSession, "", nil))
	var sl struct {
		Items []struct {
			ID, Computer string
		} `json:"items"`
	}
	require.Equal(t, 200, e.do(t, "tenant", "GET", "/api/sessions", "", &sl))
	require.Len(t, sl.Items, 1)
	require.Equal(t, e.contosoSession, sl.Items[0].ID)
	require.Equal(t, 202, e.do(t, "tenant", "POST", "/api/sessions/"+e.contosoSession+"/cancel", "", nil))
	require.Equal(t, 200, e.do(t, "tenant", "GET", "/api/audit", "", nil))
	require.Equal(t, 404, e.do(t, "tenant", "GET", "/api/audit?tenant=fabrikam", "", nil))
	// its mutations are audited with its actor
	var acts struct {
		Items []struct {
			Actor, Method, Path string
		} `json:"items"`
	}
	require.Equal(t, 200, e.do(t, "admin", "GET", "/api/actions", "", &acts))
	found := false
	for _, a := range acts.Items {
		if a.Path == "/api/sessions/"+e.contosoSession+"/cancel" {
			found = strings.Contains(a.Actor, "(tenant)")
		}
	}
	require.True(t, found, "the cancel is audited with the tenant-user's actor: %+v", acts.Items)
}

// TestPluginRestart: an msp-admin restarts a configured plugin instance
// (its mutation audited); a technician is refused (403), a tenant-user
// learns nothing (404), an instance not configured is 404.
func TestPluginRestart(t *testing.T) {
	e := newEnv(t)
	var pi PluginInstance
	require.Equal(t, 200, e.do(t, "admin", "POST", "/api/plugins/example-rmm/restart", "", &pi))
	require.Equal(t, "example-rmm", pi.ID)
	require.Equal(t, 1, pi.Restarts)
	require.Equal(t, 403, e.do(t, "tech", "POST", "/api/plugins/example-rmm/restart", "", nil))
	require.Equal(t, 404, e.do(t, "tenant", "POST", "/api/plugins/example-rmm/restart", "", nil))
	require.Equal(t, 401, e.do(t, "none", "POST", "/api/plugins/example-rmm/restart", "", nil))
	var er Error
	require.Equal(t, 404, e.do(t, "admin", "POST", "/api/plugins/nope/restart", "", &er))
	require.Equal(t, CodeNotFound, er.Code)
	e.plugins.mu.Lock()
	require.Equal(t, 1, e.plugins.restarts, "only the admin's call restarted it")
	e.plugins.mu.Unlock()
	var acts struct {
		Items []struct{ Actor, Method, Path string } `json:"items"`
	}
	require.Equal(t, 200, e.do(t, "admin", "GET", "/api/actions", "", &acts))
	found := false
	for _, a := range acts.Items {
		found = found || (a.Path == "/api/plugins/example-rmm/restart" && a.Method == "POST" && strings.Contains(a.Actor, "admin"))
	}
	require.True(t, found, "the restart is audited with the admin's actor: %+v", acts.Items)
}

// TestTokensHashedAtRest: the database keeps no API token, only hashes.
func TestTokensHashedAtRest(t *testing.T) {
	e := newEnv(t)
	rows, err := e.c.SQL.Query(`SELECT id, name, role, tenant, hash FROM immy_server_tokens`)
	require.NoError(t, err)
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id, name, role, tenant, hash string
		require.NoError(t, rows.Scan(&id, &name, &role, &tenant, &hash))
		for _, secret := range e.tokens {
			if secret != "" {
				require.NotContains(t, id+name+role+tenant+hash, secret[len("immyapi_")+12:])
			}
		}
		require.Len(t, hash, 64)
		n++
	}
	require.NoError(t, rows.Err())
	require.Equal(t, 3, n)
	// a revoked token is refused
	var list struct {
		Items []struct{ ID, Name string } `json:"items"`
	}
	require.Equal(t, 200, e.do(t, "admin", "GET", "/api/tokens", "", &list))
	for _, it := range list.Items {
		if it.Name == "tech" {
			require.Equal(t, 200, e.do(t, "admin", "DELETE", "/api/tokens/"+it.ID, "", nil))
		}
	}
	require.Equal(t, 401, e.do(t, "tech", "GET", "/api/computers", "", nil))
}

func TestMetrics(t *testing.T) {
	e := newEnv(t)
	require.Equal(t, 200, e.do(t, "admin", "GET", "/api/computers", "", nil))
	code, b := e.raw(t, "none", "GET", "/metrics", "")
	require.Equal(t, 200, code)
	for _, m := range []string{`immy_http_requests_total{code="200",route="GET /api/computers"}`, "immy_agents_connected 0",
		"immy_sessions_started_total 2", "immy_journal_append_seconds_count", "immy_sessions_queued", "go_goroutines"} {
		require.Contains(t, string(b), m)
	}
}
