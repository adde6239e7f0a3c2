package meshcentral_test

import (
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/agent"
	"github.com/immyoss/engine/internal/testbin"
)

var agentBin = testbin.New("github.com/immyoss/engine/agent/cmd/immy-agent")

// engineAgent is the engine's own agent on this machine: the immy-agent
// binary as a real process, connected to an agent.Server on a TLS test
// listener, enrolled for tenant.
type engineAgent struct {
	srv    *agent.Server
	status agent.Status
}

func startEngineAgent(t testing.TB, tenant string) *engineAgent {
	t.Helper()
	bin, err := agentBin.Path()
	require.NoError(t, err)
	online := make(chan agent.Status, 16)
	srv := agent.NewServer(agent.Config{OnStatus: func(s agent.Status) {
		if s.Online {
			select {
			case online <- s:
			default:
			}
		}
	}})
	mux := http.NewServeMux()
	mux.Handle("/agent", srv)
	hs := httptest.NewTLSServer(mux)
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
	})
	tok, _, err := srv.CreateInstallToken(t.Context(), tenant, agent.TokenOptions{})
	require.NoError(t, err)

	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	require.NoError(t, os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: hs.Certificate().Raw}), 0o600))
	cmd := exec.Command(bin, "-server", "wss"+strings.TrimPrefix(hs.URL, "https")+"/agent", "-ca", ca,
		"-state", filepath.Join(dir, "state.json"), "-backoff-min", "50ms", "-backoff-max", "500ms")
	cmd.Env = append(os.Environ(), "IMMY_AGENT_TOKEN="+tok)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	select {
	case st := <-online:
		return &engineAgent{srv: srv, status: st}
	case <-exited:
		t.Fatalf("the engine's agent exited: %s", stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("the engine's agent did not connect in 30s: %s", stderr.String())
	}
	return nil
}
