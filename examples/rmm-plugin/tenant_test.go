//go:build unix

package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/plugins"
	"github.com/immyoss/engine/resolver"
	"github.com/immyoss/engine/session"
	"github.com/immyoss/engine/targets"
)

var _ session.Integrations = (*plugins.TenantIntegrations)(nil)

// TestTenantIntegration: cloud scripts of a tenant session reach the
// tenant's integration, the real plugin binary: its clients, its agents, a
// script on one of its agents; never another tenant's.
func TestTenantIntegration(t *testing.T) {
	path, sum := buildPlugin(t)
	m := plugins.NewManager(plugins.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), HealthInterval: -1})
	defer m.Close()
	ctx := context.Background()
	rootA, rootB := t.TempDir(), t.TempDir()
	_, err := m.Start(ctx, plugins.Spec{ID: "rmm-a", Path: path, SHA256: sum, Config: map[string]string{"shells": "a-1,a-2", "client": "acme", "root": rootA}})
	require.NoError(t, err)
	_, err = m.Start(ctx, plugins.Spec{ID: "rmm-b", Path: path, SHA256: sum, Config: map[string]string{"shells": "g-1", "client": "globex", "root": rootB}})
	require.NoError(t, err)
	ti := &plugins.TenantIntegrations{Manager: m, Clients: plugins.ClientMap{
		{Integration: "rmm-a", Client: "acme"}: "acme", {Integration: "rmm-b", Client: "globex"}: "globex"}}

	got, err := ti.CallIntegration(ctx, "acme", "clients", nil)
	require.NoError(t, err)
	require.Empty(t, cmp.Diff([]any{map[string]any{"integration": "rmm-a", "id": "acme", "name": "acme"}}, got))
	got, err = ti.CallIntegration(ctx, "acme", "agents", nil)
	require.NoError(t, err)
	require.Empty(t, cmp.Diff([]any{
		map[string]any{"integration": "rmm-a", "id": "a-1", "client": "acme", "name": "a-1", "online": true},
		map[string]any{"integration": "rmm-a", "id": "a-2", "client": "acme", "name": "a-2", "online": true},
	}, got))
	_, err = ti.CallIntegration(ctx, "acme", "run_script", map[string]any{"agent": "g-1", "body": "touch stolen"})
	require.ErrorIs(t, err, immy.ErrNotFound, "another tenant's agent")
	_, err = ti.CallIntegration(ctx, "initech", "agents", nil)
	require.ErrorIs(t, err, immy.ErrNotFound, "a tenant no integration serves")
	_, err = ti.CallIntegration(ctx, "acme", "run_script", map[string]any{"body": 3, "timeout": -1})
	require.ErrorIs(t, err, immy.ErrInvalid)
	require.ErrorContains(t, err, "argument agent: missing")
	require.ErrorContains(t, err, "argument body: want a string")
	require.ErrorContains(t, err, "argument timeout: want a positive number")

	// A tenant session whose cloud task checks and sets a marker on the
	// tenant's agent through the plugin.
	cloud := func(body string) *immy.Script {
		return &immy.Script{Language: immy.LanguageLua, Context: immy.ContextCloud, Body: body}
	}
	f := &immy.Fleet{
		Tenants: []immy.Tenant{{ID: "acme", Name: "Acme"}, {ID: "globex", Name: "Globex"}},
		Tasks: []immy.Task{{ID: "marker", Name: "Marker", Category: immy.TaskTenant,
			Test: cloud(`local r = integration("run_script", {agent = "a-1", body = "test -f marker"}) return r.exit_code == 0`),
			Set:  cloud(`local r = integration("run_script", {agent = "a-1", body = "echo set > marker; echo done"}) log(r.output)`)}},
		Deployments: []immy.Deployment{{ID: "d-marker", Item: "marker", Mode: immy.ModeEnforce,
			Target: immy.Target{Type: immy.TargetAllTenants, Category: immy.CategoryTenant}}},
	}
	cat, err := resolver.NewCatalogue(f)
	require.NoError(t, err)
	ix, err := targets.NewIndex(f, targets.Config{})
	require.NoError(t, err)
	planner, err := resolver.NewPlanner(ix, cat, resolver.Config{})
	require.NoError(t, err)
	in, _ := m.Instance("rmm-a")
	e, err := session.New(session.Config{Planner: planner, Runner: in, Integrations: ti})
	require.NoError(t, err)
	defer e.Close(ctx)
	run := func(tenant string) session.Report {
		t.Helper()
		cctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		id, err := e.Start(cctx, session.Request{Computer: session.TenantSession(tenant)})
		require.NoError(t, err)
		rep, err := e.Wait(cctx, id)
		require.NoError(t, err)
		return rep
	}
	rep := run("acme")
	require.Equal(t, session.Passed, rep.Status, "%s %s", rep.Reason, rep.Message)
	require.Len(t, rep.Actions, 1)
	require.Equal(t, session.Success, rep.Actions[0].Result)
	b, err := os.ReadFile(filepath.Join(rootA, "a-1", "marker"))
	require.NoError(t, err, "the set ran on the tenant's agent")
	require.Equal(t, "set\n", string(b))
	require.NoError(t, os.WriteFile(filepath.Join(rootA, "a-1", "marker"), []byte("kept\n"), 0o600))

	rep = run("acme") // compliant now: the test passes, nothing is set
	require.Equal(t, session.Passed, rep.Status, "%s %s", rep.Reason, rep.Message)
	b, err = os.ReadFile(filepath.Join(rootA, "a-1", "marker"))
	require.NoError(t, err)
	require.Equal(t, "kept\n", string(b), "not set again")

	// globex's scripts name acme's agent: refused, the task fails.
	rep = run("globex")
	require.Equal(t, session.Failed, rep.Status)
	require.Contains(t, rep.Actions[0].Message+rep.Actions[0].Value, `tenant "globex" has no agent "a-1"`)
	entries, err := os.ReadDir(filepath.Join(rootB, "g-1"))
	require.NoError(t, err)
	require.Empty(t, entries)
}
