package sdktest

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/immyoss/engine/plugins"
	"github.com/immyoss/engine/plugins/sdk"
)

// Options configure a Harness.
type Options struct {
	// ID is the instance id; default "sdktest".
	ID string
	// Config and Secrets are the instance's configuration, as in plugins.Spec.
	Config  map[string]string
	Secrets []string
	// Store holds the private key-value context; default a fresh MemoryStore.
	Store plugins.Store
}

// Harness serves a plugin implementation inside the test process, over the
// real gRPC stack of go-plugin (its in-process test mode), and connects a
// plugins.Manager to it as the engine would: Describe, Configure with the host
// services through the broker, then every call through plugins.Instance. What
// a plugin does under a Harness it does in production, short of being a
// separate process (no checksum, no restart).
type Harness struct {
	// Instance is the host's view of the plugin.
	Instance *plugins.Instance
	// Manager owns Instance; the harness closes it at the end of the test.
	Manager *plugins.Manager
	// Store is the instance's key-value context.
	Store plugins.Store

	logs     *syncBuffer
	mu       sync.Mutex
	progress []plugins.Progress
}

// Start serves impl and returns the connected Harness; it fails the test if
// the plugin does not start. Everything stops at the end of the test.
func Start(t testing.TB, impl sdk.Integration, opts Options) *Harness {
	t.Helper()
	if opts.ID == "" {
		opts.ID = "sdktest"
	}
	h := &Harness{Store: opts.Store, logs: &syncBuffer{}}
	if h.Store == nil {
		h.Store = &plugins.MemoryStore{}
	}
	ctx, cancel := context.WithCancel(context.Background())
	reattach := make(chan *plugin.ReattachConfig, 1)
	closed := make(chan struct{})
	sc := sdk.ServeConfig(impl)
	sc.Logger = hclog.NewNullLogger()
	sc.Test = &plugin.ServeTestConfig{Context: ctx, ReattachConfigCh: reattach, CloseCh: closed}
	go plugin.Serve(sc)

	var rc *plugin.ReattachConfig
	select {
	case rc = <-reattach:
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("sdktest: the plugin did not start serving within 30s")
	}
	h.Manager = plugins.NewManager(plugins.Config{
		Logger:         slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Store:          h.Store,
		HealthInterval: -1,
		Progress: func(p plugins.Progress) {
			h.mu.Lock()
			h.progress = append(h.progress, p)
			h.mu.Unlock()
		},
	})
	t.Cleanup(func() {
		h.Manager.Close()
		cancel()
		<-closed
	})
	in, err := h.Manager.Start(ctx, plugins.Spec{ID: opts.ID, Reattach: rc, Config: opts.Config, Secrets: opts.Secrets})
	if err != nil {
		t.Fatalf("sdktest: starting the plugin: %v", err)
	}
	h.Instance = in
	return h
}

// Logs returns what reached the host's logger so far, as JSON lines.
func (h *Harness) Logs() string { return h.logs.String() }

// Progress returns the progress reports received so far.
func (h *Harness) Progress() []plugins.Progress {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]plugins.Progress(nil), h.progress...)
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
