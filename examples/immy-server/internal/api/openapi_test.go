package api

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/require"
)

// docURL is where the test's schema compiler keeps the OpenAPI document.
const docURL = "https://immy-server.test/openapi.json"

// responseSchemas compiles, from the served OpenAPI document, the JSON
// Schema (2020-12, as OpenAPI 3.1 has it) of each documented response.
type responseSchemas struct {
	c    *jsonschema.Compiler
	doc  map[string]any
	seen map[string]*jsonschema.Schema
}

func newResponseSchemas(t *testing.T, e *env) *responseSchemas {
	t.Helper()
	code, b := e.raw(t, "none", "GET", "/api/openapi.json", "")
	require.Equal(t, 200, code)
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	require.NoError(t, err)
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	require.NoError(t, c.AddResource(docURL, doc))
	return &responseSchemas{c: c, doc: doc.(map[string]any), seen: map[string]*jsonschema.Schema{}}
}

// schema returns the schema of the answer of status to method path (the
// route's documented path), or an error naming what the document lacks.
func (s *responseSchemas) schema(method, path string, status int) (*jsonschema.Schema, error) {
	op, _ := s.doc["paths"].(map[string]any)[path].(map[string]any)[strings.ToLower(method)].(map[string]any)
	if op == nil {
		return nil, fmt.Errorf("%s %s is not documented", method, path)
	}
	resp, _ := op["responses"].(map[string]any)[fmt.Sprint(status)].(map[string]any)
	if resp == nil {
		return nil, fmt.Errorf("%s %s: status %d is not documented", method, path, status)
	}
	if _, ok := resp["content"].(map[string]any)["application/json"]; !ok {
		return nil, fmt.Errorf("%s %s: status %d is documented without a JSON body", method, path, status)
	}
	esc := strings.NewReplacer("~", "~0", "/", "~1")
	loc := fmt.Sprintf("%s#/paths/%s/%s/responses/%d/content/application~1json/schema", docURL, esc.Replace(path), strings.ToLower(method), status)
	if sch, ok := s.seen[loc]; ok {
		return sch, nil
	}
	sch, err := s.c.Compile(loc)
	if err != nil {
		return nil, err
	}
	s.seen[loc] = sch
	return sch, nil
}

// check validates an answer against the document.
func (s *responseSchemas) check(t *testing.T, method, path string, status int, body []byte) {
	t.Helper()
	sch, err := s.schema(method, path, status)
	require.NoError(t, err)
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	require.NoError(t, err, "%s %s: %d: the body is not JSON: %s", method, path, status, body)
	require.NoError(t, sch.Validate(inst), "%s %s: %d: the body is not as documented: %s", method, path, status, body)
}

// TestOpenAPIResponses calls the main routes, answering success and
// errors, and validates each answer's body against the schema the OpenAPI
// document gives for its status.
func TestOpenAPIResponses(t *testing.T) {
	e := newEnv(t)
	s := newResponseSchemas(t, e)

	// every GET route without a path parameter, as an admin
	n := 0
	for _, rt := range e.h.Routes() {
		if rt.Method != "GET" || strings.Contains(rt.Path, "{") || rt.Reply == "event-stream" || rt.Reply == "text" {
			continue
		}
		code, b := e.raw(t, "admin", "GET", rt.Path+"?tenant=contoso", "")
		require.Equal(t, rt.Status, code, "%s: %s", rt.Path, b)
		s.check(t, "GET", rt.Path, code, b)
		n++
	}
	require.Greater(t, n, 15, "the list routes were checked")

	var l List
	require.Equal(t, 200, e.do(t, "admin", "GET", "/api/deployments", "", &l))
	change := func(rev int64) string {
		return fmt.Sprintf(`{"revision":%d,"ops":[{"op":"delete","kind":"deployment","id":"local-admin-fabrikam"}]}`, rev)
	}
	calls := []struct {
		role, method, route, path, body string
		status                          int
	}{
		{"admin", "GET", "/api/computers/{id}", "/api/computers/contoso-lt-01", "", 200},
		{"admin", "GET", "/api/tenants/{id}", "/api/tenants/contoso", "", 200},
		{"admin", "GET", "/api/software/{id}", "/api/software/chrome", "", 200},
		{"admin", "GET", "/api/computers/{id}/plan", "/api/computers/contoso-lt-01/plan?explain=adobe-reader", "", 200},
		{"admin", "GET", "/api/sessions/{id}", "/api/sessions/" + e.contosoSession, "", 200},
		{"admin", "POST", "/api/sessions", "/api/sessions", `{"computer":"contoso-ws-01","kind":"detection-only"}`, 201},
		{"tenant", "POST", "/api/sessions/{id}/postpone", "/api/sessions/" + e.contosoSession + "/postpone", "", 202},
		{"admin", "POST", "/api/sessions/{id}/cancel", "/api/sessions/" + e.fabSession + "/cancel", "", 202},
		{"admin", "POST", "/api/changes", "/api/changes?dry_run=true", change(l.Revision), 200},
		{"admin", "POST", "/api/install-tokens", "/api/install-tokens", `{"tenant":"contoso"}`, 201},
		{"admin", "POST", "/api/tokens", "/api/tokens", `{"name":"ro","role":"msp-technician"}`, 201},
		{"admin", "POST", "/api/plugins/{name}/restart", "/api/plugins/example-rmm/restart", "", 200},
		// errors: one shape, documented per status
		{"none", "GET", "/api/computers", "/api/computers", "", 401},
		{"tech", "GET", "/api/tokens", "/api/tokens", "", 403},
		{"tech", "POST", "/api/plugins/{name}/restart", "/api/plugins/example-rmm/restart", "", 403},
		{"tenant", "GET", "/api/computers/{id}", "/api/computers/fabrikam-ws-01", "", 404},
		{"admin", "GET", "/api/computers/{id}", "/api/computers/nope", "", 404},
		{"admin", "POST", "/api/sessions", "/api/sessions", `{"computer":"contoso-lt-01","kind":"sideways"}`, 422},
		{"admin", "POST", "/api/install-tokens", "/api/install-tokens", `{}`, 422},
		{"admin", "POST", "/api/changes", "/api/changes?dry_run=true", change(0), 409},
	}
	for _, c := range calls {
		code, b := e.raw(t, c.role, c.method, c.path, c.body)
		require.Equal(t, c.status, code, "%s %s as %s: %s", c.method, c.path, c.role, b)
		s.check(t, c.method, c.route, code, b)
	}
}

// TestOpenAPITooLarge: every route that reads a body refuses one over
// the limit with 413, and the document declares it, in the Error shape.
func TestOpenAPITooLarge(t *testing.T) {
	e := newEnv(t)
	s := newResponseSchemas(t, e)
	big := `{"x":"` + strings.Repeat("a", 5<<20) + `"}`
	paths := map[string]string{
		"/api/sessions/{id}/postpone": "/api/sessions/" + e.contosoSession + "/postpone",
		"/api/sessions/{id}/rerun":    "/api/sessions/" + e.contosoSession + "/rerun",
	}
	n := 0
	for _, rt := range e.h.Routes() {
		if rt.Body == "" {
			continue
		}
		path, ok := paths[rt.Path]
		if !ok && strings.Contains(rt.Path, "{") {
			continue // PUT of an entity: the same decode as its POST
		}
		if !ok {
			path = rt.Path
		}
		code, b := e.raw(t, "admin", rt.Method, path, big)
		require.Equal(t, 413, code, "%s %s: %s", rt.Method, path, b)
		s.check(t, rt.Method, rt.Path, code, b)
		n++
	}
	require.GreaterOrEqual(t, n, 7, "the routes with a body were checked")
}

// TestOpenAPIResponsesCheckFails: the checker refuses what the document
// does not allow.
func TestOpenAPIResponsesCheckFails(t *testing.T) {
	e := newEnv(t)
	s := newResponseSchemas(t, e)
	sch, err := s.schema("GET", "/api/computers", 401)
	require.NoError(t, err)
	for _, bad := range []string{`{"code":1,"message":"m"}`, `{"message":"no code"}`, `[]`} {
		inst, err := jsonschema.UnmarshalJSON(strings.NewReader(bad))
		require.NoError(t, err)
		require.Error(t, sch.Validate(inst), "%s is not an Error", bad)
	}
	sch, err = s.schema("GET", "/api/plugins", 200)
	require.NoError(t, err)
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(`{"items":[{"id":"x","path":"p","state":"Running","restarts":"one","healthy":true,"agents":0}]}`))
	require.NoError(t, err)
	require.Error(t, sch.Validate(inst), "restarts is an integer")
	_, err = s.schema("GET", "/api/computers", 418)
	require.ErrorContains(t, err, "status 418 is not documented")
}
