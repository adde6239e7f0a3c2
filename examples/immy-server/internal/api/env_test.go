package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/examples/fleets"
	"github.com/immyoss/engine/examples/immy-server/internal/auth"
	"github.com/immyoss/engine/examples/immy-server/internal/core"
	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/fleetfile"
	"github.com/immyoss/engine/session/fleetstore"
)

// env is the API over a real core (SQLite in a temporary directory) with
// the bundled fleet, and a token of each role (the tenant-user's bound to
// contoso).
type env struct {
	h      *Handler
	c      *core.Core
	tokens map[string]string // role name -> secret; "none" -> ""
	// a session of fabrikam-ws-01 and one of contoso-lt-01, both waiting for
	// their computer (offline)
	fabSession, contosoSession string
	plugins                    *fakePlugins
}

// fakePlugins is one configured plugin instance, "example-rmm", whose
// restarts it counts (the real set, over plugins.Manager, is tested in the
// server's package).
type fakePlugins struct {
	mu       sync.Mutex
	restarts int
}

func (f *fakePlugins) Instances(context.Context) []PluginInstance {
	f.mu.Lock()
	defer f.mu.Unlock()
	return []PluginInstance{{ID: "example-rmm", Path: "/bin/rmm", State: "Running", Healthy: true, Restarts: f.restarts, Settings: []string{"token"}}}
}

func (f *fakePlugins) Restart(ctx context.Context, id string) (PluginInstance, error) {
	if id != "example-rmm" {
		return PluginInstance{}, fmt.Errorf("plugin instance %q: %w", id, immy.ErrNotFound)
	}
	f.mu.Lock()
	f.restarts++
	f.mu.Unlock()
	return f.Instances(ctx)[0], nil
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	c, err := core.Open(ctx, core.Config{DB: filepath.Join(t.TempDir(), "immy.db"), ClientID: "api-test", FetchPoll: 50 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	ff, err := fleetfile.Load(fleets.DefaultName, bytes.NewReader(fleets.Default))
	require.NoError(t, err)
	ch, err := c.Fleet.SourceChange(ctx, ff.Fleet, "test")
	require.NoError(t, err)
	ch.Actor = "test"
	_, err = c.Fleet.Apply(ctx, ch)
	require.NoError(t, err)
	var inv []fleetstore.Inventory
	for _, comp := range ff.Fleet.Computers {
		inv = append(inv, fleetstore.InventoryOf(comp))
	}
	_, err = c.Fleet.PutInventory(ctx, inv)
	require.NoError(t, err)
	tokens, err := auth.Open(ctx, c.SQL, nil)
	require.NoError(t, err)
	require.NoError(t, c.Start(ctx))
	e := &env{c: c, tokens: map[string]string{"none": ""}}
	for _, r := range []struct {
		name   string
		role   auth.Role
		tenant string
	}{{"admin", auth.Admin, ""}, {"tech", auth.Technician, ""}, {"tenant", auth.TenantUser, "contoso"}} {
		s, _, err := tokens.Create(ctx, r.name, r.role, r.tenant, time.Time{})
		require.NoError(t, err)
		e.tokens[r.name] = s
	}
	m := NewMetrics()
	e.plugins = &fakePlugins{}
	m.Attach(c, e.plugins)
	e.h = New(Config{Core: c, Tokens: tokens, PublicURL: "https://localhost:8443", Metrics: m, Plugins: e.plugins})
	e.h.SetReady(true)
	var rep struct {
		ID string `json:"id"`
	}
	require.Equal(t, 201, e.do(t, "admin", "POST", "/api/sessions", `{"computer":"fabrikam-ws-01"}`, &rep))
	e.fabSession = rep.ID
	require.Equal(t, 201, e.do(t, "admin", "POST", "/api/sessions", `{"computer":"contoso-lt-01"}`, &rep))
	e.contosoSession = rep.ID
	return e
}

// do calls the API as role and decodes the answer into out.
func (e *env) do(t *testing.T, role, method, path, body string, out any) int {
	t.Helper()
	code, b := e.raw(t, role, method, path, body)
	if out != nil {
		require.NoError(t, json.Unmarshal(b, out), "%s %s: %s", method, path, b)
	}
	return code
}

func (e *env) raw(t *testing.T, role, method, path, body string) (int, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var rd io.Reader
	if body != "" {
		rd = bytes.NewReader([]byte(body))
	}
	req := httptest.NewRequestWithContext(ctx, method, path, rd)
	if tok := e.tokens[role]; tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}

// stream calls an event-stream route for a moment and returns what came.
func (e *env) stream(t *testing.T, role, path string) (int, []byte) {
	t.Helper()
	srv := httptest.NewServer(e.h)
	defer srv.Close()
	// the answer's head may be slow on a loaded machine (-race); the
	// stream is read for 700 ms from then
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+path, nil)
	if tok := e.tokens[role]; tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	stop := time.AfterFunc(700*time.Millisecond, cancel)
	defer stop.Stop()
	b, _ := io.ReadAll(resp.Body) // ends with the stream, or the 700 ms
	return resp.StatusCode, b
}
