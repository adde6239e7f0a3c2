package api

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPasswordTypeLocked: a task put that would unmask a password parameter
// (its type changed, or it removed or renamed, while a default or a
// deployment's value is set for it) is refused 422 with a field error,
// through PUT and through a change set; the secret never shows. With no
// value set anywhere the type may change.
func TestPasswordTypeLocked(t *testing.T) {
	e := newEnv(t)
	const secret = "Sup3r-S3cret!"
	var task Envelope
	require.Equal(t, 200, e.do(t, "tech", "GET", "/api/tasks/local-admin", "", &task))
	require.Contains(t, string(task.Data), `"type":"password"`)
	put := func(data string) (int, Error) {
		var er Error
		code := e.do(t, "tech", "PUT", "/api/tasks/local-admin", fmt.Sprintf(`{"revision":%d,"data":%s}`, task.Revision, data), &er)
		return code, er
	}
	for name, data := range map[string]string{
		"type changed": strings.Replace(string(task.Data), `"type":"password"`, `"type":"text"`, 1),
		"renamed":      strings.Replace(string(task.Data), `"name":"password"`, `"name":"pass"`, 1),
	} {
		code, er := put(data)
		require.Equal(t, 422, code, name)
		require.Equal(t, "invalid", er.Code, name)
		require.Len(t, er.Fields, 1, name)
		require.Equal(t, "password", er.Fields[0].ID, name)
		require.Contains(t, er.Fields[0].Message, `deployment "local-admin-fabrikam"`, name)
		require.Contains(t, er.Fields[0].Message, "clear the values first", name)
		require.NotContains(t, fmt.Sprint(er), secret, name)
	}
	code, er := put(strings.Replace(string(task.Data), `"type":"password"`, `"type":"text"`, 1))
	require.Equal(t, 422, code)
	require.Equal(t, "data.parameters[1].type", er.Fields[0].Field)
	require.Contains(t, er.Fields[0].Message, `changed to "text"`)
	_, er = put(strings.Replace(string(task.Data), `"name":"password"`, `"name":"pass"`, 1))
	require.Equal(t, "data.parameters", er.Fields[0].Field)
	require.Contains(t, er.Fields[0].Message, "removed or renamed")
	// the same through a change set
	ops := fmt.Sprintf(`{"revision":%d,"ops":[{"op":"put","kind":"task","data":%s}]}`, task.Revision,
		strings.Replace(string(task.Data), `"type":"password"`, `"type":"text"`, 1))
	code, b := e.raw(t, "tech", "POST", "/api/changes", ops)
	require.Equal(t, 422, code, "%s", b)
	require.Contains(t, string(b), `ops[0].data.parameters[1].type`)
	// nothing changed: still masked everywhere
	for _, path := range []string{"/api/deployments/local-admin-fabrikam", "/api/deployments/local-admin-onboarding", "/api/tasks/local-admin"} {
		code, b := e.raw(t, "admin", "GET", path, "")
		require.Equal(t, 200, code)
		require.NotContains(t, string(b), secret, path)
		require.NotContains(t, string(b), "0nb0arding-Only!", path)
	}
	code, b = e.raw(t, "admin", "GET", "/api/tasks/local-admin", "")
	require.Equal(t, 200, code)
	require.Contains(t, string(b), `"type":"password"`)

	// no value set anywhere: the type may change, and the parameter go
	mk := strings.NewReplacer(`"id":"local-admin"`, `"id":"local-admin-2"`, `"required":true`, `"required":false`).Replace(string(task.Data))
	var env Envelope
	require.Equal(t, 201, e.do(t, "tech", "POST", "/api/tasks", `{"data":`+mk+`}`, &env), mk)
	changed := strings.Replace(string(env.Data), `"type":"password"`, `"type":"text"`, 1)
	require.Equal(t, 200, e.do(t, "tech", "PUT", "/api/tasks/local-admin-2", fmt.Sprintf(`{"revision":%d,"data":%s}`, env.Revision, changed), &env), changed)
	require.NotContains(t, string(env.Data), `"type":"password"`)
}
