package meshcentral_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/internal/testbin"
	"github.com/immyoss/engine/plugins"
)

var pluginBin = testbin.New("github.com/immyoss/engine/plugins/meshcentral/cmd/immy-meshcentral")

func TestMain(m *testing.M) {
	code := m.Run()
	pluginBin.Cleanup()
	agentBin.Cleanup()
	os.Exit(code)
}

// syncLog collects the host's log records.
type syncLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startInstances starts the plugin binary as separate processes through a
// Manager, one instance per configuration, as the engine does.
func startInstances(t testing.TB, logs io.Writer, specs ...plugins.Spec) []*plugins.Instance {
	t.Helper()
	bin, err := pluginBin.Path()
	require.NoError(t, err)
	b, err := os.ReadFile(bin)
	require.NoError(t, err)
	sum := sha256.Sum256(b)
	if logs == nil {
		logs = io.Discard
	}
	m := plugins.NewManager(plugins.Config{Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	t.Cleanup(func() { _ = m.Close() })
	var out []*plugins.Instance
	for _, spec := range specs {
		spec.Path, spec.SHA256 = bin, hex.EncodeToString(sum[:])
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		in, err := m.Start(ctx, spec)
		cancel()
		require.NoError(t, err, "starting %s", spec.ID)
		out = append(out, in)
	}
	return out
}

// TestManagerTwoInstances runs two instances of the plugin at once, as
// separate processes under one Manager, both on the one test server (one
// logged in by the login-token key, one by password): each lists the node
// and they run scripts on it at the same time, which the MeshAgent runs one
// by one (the busy retry).
func TestManagerTwoInstances(t *testing.T) {
	s := testServer(t)
	cfgKey, secKey := s.config(false)
	cfgPass, secPass := s.config(true)
	logs := &syncLog{}
	ins := startInstances(t, logs,
		plugins.Spec{ID: "mesh-key", Config: cfgKey, Secrets: secKey},
		plugins.Spec{ID: "mesh-pass", Config: cfgPass, Secrets: secPass})
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()

	for _, in := range ins {
		require.NoError(t, in.Health(ctx), in.ID())
		agents, err := in.Agents(ctx)
		require.NoError(t, err, in.ID())
		var found bool
		for _, a := range agents {
			if a.ID == s.node {
				found = true
				require.True(t, a.Online, "%s: node %s is not online", in.ID(), a.ID)
				require.Equal(t, s.group, a.Client, in.ID())
				require.Equal(t, in.ID(), a.Integration)
			}
		}
		require.True(t, found, "%s: node %s not listed", in.ID(), s.node)
	}

	// Each instance runs three scripts of a second each, all at once: the
	// agent takes one at a time, the rest are retried until it is free.
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	for _, in := range ins {
		for i := range 3 {
			wg.Go(func() {
				text := fmt.Sprintf("%s-%d", in.ID(), i)
				res, err := in.RunScript(ctx, immy.ScriptRequest{Computer: s.node, Timeout: time.Minute,
					Script: shell("sleep 1; echo " + text)})
				switch {
				case err != nil:
					errs <- fmt.Errorf("%s: %w", text, err)
				case res.Output != text+"\n" || res.ExitCode != 0:
					errs <- fmt.Errorf("%s: output %q exit %d", text, res.Output, res.ExitCode)
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, k := range append(secKey, secPass...) {
		v := cfgKey[k] + cfgPass[k]
		require.NotContains(t, logs.String(), v, "secret %s in the host's log", k)
	}
}
