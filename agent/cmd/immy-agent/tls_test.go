package main

import (
	"bytes"
	"context"
	"encoding/pem"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/agent"
	"github.com/immyoss/engine/agent/endpoint"
)

// syncBuffer is the agent's stderr, written by its goroutines.
type syncBuffer struct {
	mu chan struct{}
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu <- struct{}{}
	defer func() { <-s.mu }()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu <- struct{}{}
	defer func() { <-s.mu }()
	return s.b.String()
}

// The agent reaches a server it trusts by -ca -ca-only or by -pin: a wrong
// install token then refuses it (exit 3), which shows the TLS handshake
// passed. A wrong pin never gets that far.
func TestTrustFlags(t *testing.T) {
	srv := agent.NewServer(agent.Config{})
	ts := httptest.NewTLSServer(srv)
	defer ts.Close()
	defer srv.Close()
	url := "wss" + strings.TrimPrefix(ts.URL, "https")
	ca := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw}), 0o600))
	pin := endpoint.PinOf(ts.Certificate()).String()
	wrong := strings.Repeat("00", 32)

	for _, tc := range []struct {
		name  string
		flags []string
		code  int
		err   string
	}{
		{"the server's CA alone", []string{"-ca", ca, "-ca-only"}, 3, "refused by the server (install-token)"},
		{"the server's CA besides the system's", []string{"-ca", ca}, 3, "refused by the server (install-token)"},
		{"the server's certificate pinned", []string{"-pin", pin}, 3, "refused by the server (install-token)"},
		{"one of two pins", []string{"-pin", wrong + "," + pin}, 3, "refused by the server (install-token)"},
		{"a wrong pin", []string{"-pin", wrong}, 0, "matches no pinned certificate"},
		{"the system's CAs only", nil, 0, "certificate signed by unknown authority"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
			defer cancel()
			stderr := &syncBuffer{mu: make(chan struct{}, 1)}
			args := append([]string{"-server", url, "-token", "immy1_wrong", "-state", filepath.Join(t.TempDir(), "s.json"),
				"-backoff-min", "50ms", "-backoff-max", "200ms"}, tc.flags...)
			code := run(ctx, args, &bytes.Buffer{}, stderr)
			require.Equal(t, tc.code, code, stderr.String())
			require.Contains(t, stderr.String(), tc.err)
		})
	}
}
