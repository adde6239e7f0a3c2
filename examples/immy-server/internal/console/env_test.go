package console_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/examples/immy-server/internal/api"
	"github.com/immyoss/engine/examples/immy-server/internal/auth"
	"github.com/immyoss/engine/examples/immy-server/internal/console"
	"github.com/immyoss/engine/examples/immy-server/internal/core"
	"github.com/immyoss/engine/immy/fleetfile"
	"github.com/immyoss/engine/session/fleetstore"
)

// testFleet has a lab tenant (the agent enrols into it) whose software only
// writes files under DIR, and another tenant with a computer a lab
// tenant-user must never reach. "slow-filtered" targets the lab's
// computers through a filter that matches none at first.
const testFleet = `version: 1
tenants:
  - {id: lab, name: Lab}
  - {id: other, name: Other}
computers:
  - {id: other-pc, name: Other PC, tenant: other, kind: workstation}
software:
  - id: quick
    name: Quick
    tenant: lab
    detection:
      script: {language: sh, body: "cat DIR/quick.version 2>/dev/null || true"}
    versions: [{version: 1.0.0}]
    install:
      language: sh
      body: |
        echo installing quick
        sleep 1
        printf '%s\n' "$version" > DIR/quick.version
  - id: slow
    name: Slow
    tenant: lab
    detection:
      script: {language: sh, body: "cat DIR/slow.version 2>/dev/null || true"}
    versions: [{version: 3.1.0}]
    install:
      language: sh
      body: |
        printf '%s\n' "$version" > DIR/slow.version
deployments:
  - {id: quick-latest, item: quick, target: {type: all-computers, tenant: lab}, desired: latest}
  - {id: slow-filtered, item: slow, target: {type: filter, tenant: lab, expr: 'computer.name == "no such computer"'}, desired: latest}
`

// env is the server's real wiring (core, API, console and the agent
// server on one mux, as main.go mounts them) behind an httptest TLS server.
type env struct {
	c      *core.Core
	srv    *httptest.Server
	tokens map[string]string // admin, tech, lab (tenant-user of lab)
	dir    string
	pin    string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	files := filepath.Join(dir, "files")
	require.NoError(t, os.MkdirAll(files, 0o755))
	ff, err := fleetfile.Load("test.yaml", strings.NewReader(strings.ReplaceAll(testFleet, "DIR", files)))
	require.NoError(t, err)
	c, err := core.Open(ctx, core.Config{DB: filepath.Join(dir, "immy.db"), ClientID: "console-test", FetchPoll: 100 * time.Millisecond})
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
	runCtx, stop := context.WithCancel(ctx)
	c.StartPresence(runCtx)
	require.NoError(t, c.Start(runCtx))

	e := &env{c: c, tokens: map[string]string{}, dir: dir}
	for _, r := range []struct {
		name   string
		role   auth.Role
		tenant string
	}{{"admin", auth.Admin, ""}, {"tech", auth.Technician, ""}, {"lab", auth.TenantUser, "lab"}} {
		s, _, err := tokens.Create(ctx, r.name, r.role, r.tenant, time.Time{})
		require.NoError(t, err)
		e.tokens[r.name] = s
	}
	log := slog.New(slog.DiscardHandler)
	h := api.New(api.Config{Core: c, Tokens: tokens, Logger: log, PublicURL: "https://localhost"})
	h.SetReady(true)
	con, err := console.New(console.Config{API: h, Tokens: tokens, Core: c, Logger: log})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/agent", c.Agents)
	mux.Handle("/", h)
	mux.Handle(console.Prefix, con)
	mux.Handle("GET /{$}", console.Root(h))
	e.srv = httptest.NewTLSServer(mux)
	sum := sha256.Sum256(e.srv.Certificate().Raw)
	e.pin = hex.EncodeToString(sum[:])
	t.Cleanup(func() {
		con.Close()
		e.srv.CloseClientConnections()
		e.srv.Close()
		stop()
		_ = c.Close(context.Background())
	})
	return e
}

func (e *env) url(path string) string { return e.srv.URL + path }

func (e *env) String() string { return fmt.Sprintf("env(%s)", e.srv.URL) }
