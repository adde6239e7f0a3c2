package endpoint

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/agent/internal/wire"
	"github.com/immyoss/engine/immy"
)

func TestNewChecksConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		err  string
	}{
		{"plaintext refused", Config{Server: "ws://srv.example/agent", InstallToken: "t"}, `endpoint: server URL "ws://srv.example/agent": plaintext ws:// is refused; use wss:// (TLS)`},
		{"not a websocket URL", Config{Server: "https://srv.example/agent", InstallToken: "t"}, "want wss://host/path"},
		{"no host", Config{Server: "wss:///agent", InstallToken: "t"}, "has no host"},
		{"nothing to authenticate with", Config{Server: "wss://srv.example/agent"}, "no credential yet and no install token to enrol with"},
		{"a broken state file", Config{Server: "wss://srv.example/agent", StateFile: writeFile(t, "{")}, "endpoint: state file"},
		{"a state file without a key", Config{Server: "wss://srv.example/agent", StateFile: writeFile(t, `{"agent_id":"a"}`)}, "no agent id or no 32-byte key"},
	}
	for _, tt := range tests {
		_, err := New(tt.cfg)
		require.ErrorContains(t, err, tt.err, tt.name)
	}
	_, err := New(Config{Server: "ws://127.0.0.1:1/agent", AllowPlaintext: true, InstallToken: "t"})
	require.NoError(t, err, "plaintext when allowed")
}

func writeFile(t *testing.T, content string) string {
	p := filepath.Join(t.TempDir(), "state.json")
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

func TestStateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "state.json")
	st := &State{Server: "wss://s/agent", AgentID: "agt-1", Tenant: "acme", Key: make([]byte, 32)}
	require.NoError(t, saveState(path, st))
	got, err := LoadState(path)
	require.NoError(t, err)
	require.Equal(t, st, got)
	if runtime.GOOS != "windows" {
		info, err := os.Stat(path)
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary file left behind")

	// With a state file, no install token is needed.
	a, err := New(Config{Server: "wss://s/agent", StateFile: path})
	require.NoError(t, err)
	require.Equal(t, "agt-1", a.ID())
}

func TestBackoff(t *testing.T) {
	a := &Agent{cfg: Config{MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second}}
	for attempt, want := range []time.Duration{100, 200, 400, 800, 1000, 1000} {
		want *= time.Millisecond
		for range 20 {
			d := a.backoff(attempt)
			require.True(t, d >= want/2 && d <= want, "attempt %d: %v not in [%v, %v]", attempt, d, want/2, want)
		}
	}
}

func TestRunRequest(t *testing.T) {
	req, err := runRequest(&wire.Run{Language: "powershell", Context: "user", Body: "x", TimeoutMS: 1500, MaxOutput: 10,
		Parameters: map[string]json.RawMessage{"n": json.RawMessage(`2`), "s": json.RawMessage(`"v"`)}, Secrets: []string{"s"}})
	require.NoError(t, err)
	require.Equal(t, immy.ScriptRequest{
		Script:     immy.Script{Language: immy.LanguagePowerShell, Context: immy.ContextUser, Body: "x"},
		Parameters: map[string]any{"n": 2.0, "s": "v"}, Secrets: []string{"s"}, Timeout: 1500 * time.Millisecond, MaxOutput: 10,
	}, req)
	_, err = runRequest(&wire.Run{Language: "cobol", Context: "nowhere", Parameters: map[string]json.RawMessage{"p": json.RawMessage(`{`)}})
	require.ErrorContains(t, err, `invalid script language "cobol"`)
	require.ErrorContains(t, err, `"nowhere"`)
	require.ErrorContains(t, err, `parameter "p"`)
}
