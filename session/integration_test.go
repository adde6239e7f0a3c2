package session

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
)

// fakeIntegrations is a tenant's integration: a key-value store per tenant,
// and the calls it was made.
type fakeIntegrations struct {
	mu    sync.Mutex
	calls []string
	state map[string]map[string]any
}

func (f *fakeIntegrations) CallIntegration(_ context.Context, tenant, method string, args map[string]any) (any, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf("%s %s %v", tenant, method, args))
	if f.state == nil {
		f.state = map[string]map[string]any{}
	}
	st := f.state[tenant]
	if st == nil {
		st = map[string]any{}
		f.state[tenant] = st
	}
	switch method {
	case "get":
		return st[args["key"].(string)], nil
	case "set":
		st[args["key"].(string)] = args["value"]
		return nil, nil
	case "users":
		return map[string]any{"tenant": tenant, "users": []any{"ann", map[string]any{"name": "bob", "admin": true}}, "count": 2}, nil
	case "leak":
		return nil, errors.New("denied for token hunter2")
	}
	return nil, fmt.Errorf("no method %q: %w", method, immy.ErrNotFound)
}

func integrationFleet(test, set string) *immy.Fleet {
	f := cloudFleet()
	f.Tasks = []immy.Task{{ID: "mfa", Name: "MFA", Test: cloud(test), Set: cloud(set),
		Parameters: []immy.Parameter{{Name: "token", Type: immy.ParamPassword, Default: "hunter2"}}}}
	f.Deployments = []immy.Deployment{{ID: "d-mfa", Item: "mfa", Mode: immy.ModeEnforce,
		Target: immy.Target{Type: immy.TargetAllTenants, Category: immy.CategoryTenant}}}
	return f
}

func TestIntegrationCall(t *testing.T) {
	tests := []struct {
		name, test, set string
		status          Status
		calls           []string
		message         string // the action's message holds it
	}{
		{name: "get, set, verify", status: Passed,
			test: `return integration("get", {key = "mfa"}) == "on"`,
			set:  `integration("set", {key = "mfa", value = "on", admins = {"ann", "bob"}, at = {hour = 2, ratio = 0.5}})`,
			calls: []string{"acme get map[key:mfa]", "acme set map[admins:[ann bob] at:map[hour:2 ratio:0.5] key:mfa value:on]",
				"acme get map[key:mfa]"}},
		{name: "an answer as Lua values", status: Passed,
			test:  `local u = integration("users") return u.tenant == "acme" and u.users[1] == "ann" and u.users[2].admin and u.count == 2`,
			calls: []string{"acme users map[]"}},
		{name: "an unknown method fails the script", status: Failed,
			test: `return integration("nope", {})`, calls: []string{"acme nope map[]"}, message: `integration nope: no method "nope"`},
		{name: "an error's secrets masked", status: Failed,
			test: `return integration("leak")`, calls: []string{"acme leak map[]"}, message: "denied for token ********"},
		{name: "arguments it cannot pass", status: Failed,
			test: `return integration("get", {print})`, message: "cannot be passed to an integration"},
		{name: "a list and keys mixed", status: Failed,
			test: `return integration("get", {1, key = "x"})`, message: "mixes a list and string keys"},
		{name: "too deep", status: Failed,
			test: `local t = {} for i = 1, 20 do t = {t} end return integration("get", {key = t})`, message: "nested more than 16 deep"},
		{name: "too many values", status: Failed,
			test: `local t = {} for i = 1, 10001 do t[i] = i end return integration("get", {key = t})`, message: "more than 10000 values"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &fakeIntegrations{}
			h := newHarness(t, integrationFleet(tt.test, tt.set), func(c *Config) { c.Integrations = in })
			rep := h.run(Request{Computer: TenantSession("acme")})
			require.Equal(t, tt.status, rep.Status, "%s %v", rep.Reason, outcomes(rep.Actions))
			if diff := cmp.Diff(tt.calls, in.calls); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
			require.Len(t, rep.Actions, 1)
			if tt.message != "" {
				require.Contains(t, rep.Actions[0].Message+rep.Actions[0].Value, tt.message)
			}
			require.NotContains(t, fmt.Sprint(rep), "hunter2")
		})
	}
}

// Without Config.Integrations a call fails the script, saying so.
func TestIntegrationNone(t *testing.T) {
	h := newHarness(t, integrationFleet(`return integration("get", {key = "mfa"})`, ""), nil)
	rep := h.run(Request{Computer: TenantSession("globex")})
	require.Equal(t, Failed, rep.Status)
	require.True(t, strings.Contains(rep.Actions[0].Message+rep.Actions[0].Value, "no integration is configured for globex"), "%+v", rep.Actions[0])
}
