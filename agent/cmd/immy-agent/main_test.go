package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
)

func TestUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		err  string
	}{
		{"no server", []string{"-state", "x"}, 2, "-server is required"},
		{"plaintext", []string{"-server", "ws://h/agent", "-token", "t"}, 2, "plaintext ws:// is refused"},
		{"stray argument", []string{"-server", "wss://h/agent", "extra"}, 2, `unexpected argument "extra"`},
		{"bad log level", []string{"-server", "wss://h/agent", "-log-level", "loud"}, 2, "-log-level"},
		{"missing CA file", []string{"-server", "wss://h/agent", "-ca", "/nonexistent.pem"}, 2, "-ca:"},
		{"CA only without a CA", []string{"-server", "wss://h/agent", "-ca-only"}, 2, "-ca-only needs -ca"},
		{"pin and CA", []string{"-server", "wss://h/agent", "-ca", "x.pem", "-pin", strings.Repeat("00", 32)}, 2, "-pin replaces the CA checks"},
		{"bad pin", []string{"-server", "wss://h/agent", "-pin", "sha256:abc"}, 2, "-pin: endpoint: pin"},
		{"no token, no state", []string{"-server", "wss://h/agent", "-state", filepath.Join(t.TempDir(), "none.json")}, 2, "no credential yet and no install token"},
	}
	t.Setenv("IMMY_AGENT_TOKEN", "")
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		code := run(t.Context(), tt.args, &stdout, &stderr)
		require.Equal(t, tt.code, code, tt.name)
		require.Contains(t, stderr.String(), tt.err, tt.name)
	}
	var stdout bytes.Buffer
	require.Equal(t, 0, run(t.Context(), []string{"-version"}, &stdout, &bytes.Buffer{}))
	require.True(t, strings.HasPrefix(stdout.String(), "immy-agent dev "))
}

func TestIdentify(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"identify", "-root", "../../sysinfo/testdata/linux/debian-laptop"}, &stdout, &stderr)
	require.Equal(t, 0, code, stderr.String())
	var inv immy.Inventory
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &inv))
	require.Equal(t, "lt-0042", inv.Identity.Hostname)
	require.Equal(t, immy.KindPortable, inv.Identity.Kind)
	require.Len(t, inv.Software, 7)
}
