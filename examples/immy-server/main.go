// Command immy-server is the example MSP engine server: the reference for
// embedding the engine. One command starts it on embedded defaults:
//
//	go run ./examples/immy-server
//
// It keeps the fleet store, the session journal, the River queue and the
// agents in one SQLite file under ./immy-data (or a PostgreSQL database
// with --db postgres://..., shared by several server processes), imports
// the bundled example fleet and a demo tenant on its first start, serves
// HTTPS on localhost with a self-signed certificate it makes (or
// --tls-cert/--tls-key), and prints the URL, an admin API token (shown
// once; the database keeps its hash) and the command that enrols this
// machine's agent into the demo tenant, whose software and tasks only write
// files under ./immy-data/demo-files.
//
// Routes: the web console under /console/ (a browser that opens / is sent
// there), the JSON API under /api (its OpenAPI document at
// /api/openapi.json), the agents' WebSocket at /agent, /healthz, /readyz,
// /metrics, and /notify/link, the postpone and decline links of the
// notification emails (sent with --smtp-host; see internal/links). `immy-server --help` lists every option.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/immyoss/engine/examples/immy-server/internal/api"
	"github.com/immyoss/engine/examples/immy-server/internal/auth"
	"github.com/immyoss/engine/examples/immy-server/internal/config"
	"github.com/immyoss/engine/examples/immy-server/internal/console"
	"github.com/immyoss/engine/examples/immy-server/internal/core"
	"github.com/immyoss/engine/examples/immy-server/internal/links"
	"github.com/immyoss/engine/examples/immy-server/internal/tlsutil"
	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/plugins"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, err := config.Parse(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "immy-server: %v\n", err)
		return 2
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		fmt.Fprintf(stderr, "immy-server: --log-level: %v\n", err)
		return 2
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))
	if err := serve(ctx, cfg, log, stdout); err != nil {
		log.Error("immy-server stopped", "err", err)
		return 1
	}
	return 0
}

func serve(ctx context.Context, cfg *config.Config, log *slog.Logger, stdout io.Writer) error {
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	defer ln.Close()
	publicURL := cfg.PublicURL
	if publicURL == "" {
		publicURL = fmt.Sprintf("https://localhost:%d", ln.Addr().(*net.TCPAddr).Port)
	}
	metrics := api.NewMetrics()
	plugs, err := startPlugins(ctx, cfg, dataDir, log, metrics)
	if err != nil {
		return err
	}
	defer plugs.Close()
	var c *core.Core
	fleet := func() *immy.Fleet { return c.Fleet.Fleet() }
	runners := plugs.runners(fleet)
	signer, err := linkSigner(cfg, dataDir)
	if err != nil {
		return err
	}
	ccfg := core.Config{
		DB: cfg.DB, ClientID: cfg.ClientID, MaxRunning: cfg.MaxSessions,
		ScriptTimeout: cfg.ScriptTimeout, Logger: log, Runners: runners,
		// tenant (cloud) scripts reach the plugin instances serving their tenant
		Integrations: &plugins.TenantIntegrations{Manager: plugs.m, Clients: plugs.clientMap()},
	}
	mailer, err := newEmail(cfg, signer, publicURL, fleet)
	if err != nil {
		return err
	}
	if mailer != nil {
		ccfg.Notifier = mailer
		log.Info("notification emails on", "smtp", cfg.SMTP.String(), "links", publicURL+links.Path)
	}
	c, err = core.Open(ctx, ccfg)
	if err != nil {
		return err
	}
	closed := false
	defer func() {
		if !closed {
			_ = c.Close(context.WithoutCancel(ctx))
		}
	}()
	tokens, err := auth.Open(ctx, c.SQL, c.Pool)
	if err != nil {
		return err
	}
	if err := firstStart(ctx, c, cfg, dataDir, log); err != nil {
		return err
	}
	adminToken, err := adminToken(ctx, tokens, cfg.ResetAdminToken)
	if err != nil {
		return err
	}
	cert, pin, err := tlsutil.Load(filepath.Join(dataDir, "tls"), cfg.TLSCert, cfg.TLSKey)
	if err != nil {
		return err
	}
	metrics.Attach(c, plugs)
	runCtx, stopRun := context.WithCancel(context.WithoutCancel(ctx))
	defer stopRun()
	c.StartPresence(runCtx)
	if err := c.Start(ctx); err != nil {
		return err
	}
	go tickSchedules(runCtx, c, cfg.ScheduleEvery, log)
	go plugs.Sync(runCtx, c, cfg.SyncEvery)

	h := api.New(api.Config{Core: c, Tokens: tokens, Logger: log, Metrics: metrics, Plugins: plugs, PublicURL: publicURL})
	mux := http.NewServeMux()
	mux.Handle("/agent", c.Agents)
	mux.Handle(links.Path, &links.Handler{Signer: signer, Sessions: c, Logger: log.With("part", "links")})
	mux.Handle("/", h)
	con, err := console.New(console.Config{API: h, Tokens: tokens, Core: c, Logger: log.With("part", "console")})
	if err != nil {
		return err
	}
	mux.Handle(console.Prefix, con)
	// a browser opening the printed URL lands on the console
	mux.Handle("GET /{$}", console.Root(h))
	srv := &http.Server{
		Handler:           mux,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 10 * time.Second,
		// IdleTimeout closes kept-alive connections left idle; no
		// ReadTimeout, which would cut the /agent WebSocket: the form
		// POSTs bound their own body read (links, console sign-in).
		IdleTimeout: 2 * time.Minute,
		ErrorLog:    slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.ServeTLS(ln, "", "") }()

	agentCmd, err := enrolCommand(ctx, c, publicURL, pin, dataDir)
	if err != nil {
		return err
	}
	h.SetReady(true)
	banner(stdout, publicURL, adminToken, agentCmd)
	log.Info("immy-server listening", "url", publicURL, "db", core.Redacted(cfg.DB), "client_id", cfg.ClientID)

	select {
	case <-ctx.Done():
	case err := <-served:
		return err
	}
	log.Info("immy-server shutting down")
	h.SetReady(false)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownGrace)
	defer cancel()
	_ = srv.Shutdown(sctx)
	stopRun()
	closed = true
	return c.Close(sctx)
}

func banner(w io.Writer, url, adminToken, agentCmd string) {
	fmt.Fprintf(w, "immy-server is running.\n\n")
	fmt.Fprintf(w, "  URL:        %s\n", url)
	fmt.Fprintf(w, "  Console:    %s/console/ (sign in with an API token)\n", url)
	fmt.Fprintf(w, "  API:        %s/api (OpenAPI document: %s/api/openapi.json)\n", url, url)
	if adminToken != "" {
		fmt.Fprintf(w, "  Admin API token (shown once; only its hash is kept):\n    %s\n", adminToken)
	} else {
		fmt.Fprintf(w, "  Admin API token: shown at the first start (--reset-admin-token makes a new one)\n")
	}
	fmt.Fprintf(w, "\nEnrol this machine into the demo tenant (its software and tasks only write under the data directory):\n\n    %s\n\n", agentCmd)
}
