//go:build linux

package e2e_test

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/agent"
	"github.com/immyoss/engine/agent/ephemeral"
	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/installer"
	"github.com/immyoss/engine/plugins"
)

// The ephemeral agent bootstrap end to end (issue 22): a computer reached
// only through the example RMM plugin (a real go-plugin process) gets the
// real immy-agent binary, downloaded from the "server" (a loopback HTTP
// server) by the RMM's run-script with its SHA-256 checked, started in
// ephemeral mode with a one-time token; it connects back to the agent
// server, runs a script for the session, is released, exits and removes its
// binary. A binary whose hash differs is refused and nothing starts.
func TestEphemeralAgentThroughRMM(t *testing.T) {
	requireSh(t)
	bin, err := agentBin.Path()
	require.NoError(t, err)
	binary, err := os.ReadFile(bin)
	require.NoError(t, err)
	sum := sha256.Sum256(binary)
	downloads := 0
	dl := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		downloads++
		w.Write(binary)
	}))
	defer dl.Close()

	srv := agent.NewServer(agent.Config{})
	mux := http.NewServeMux()
	mux.Handle("/agent", srv)
	hs := httptest.NewUnstartedServer(mux)
	hs.StartTLS()
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
	})
	pinSum := sha256.Sum256(hs.Certificate().Raw)
	in, c, _ := rmmComputer(t, nil, nil)
	c.Tenant = "acme"
	c.OS = "Debian GNU/Linux 12"
	fleet := map[string]immy.Computer{c.ID: c}
	rmm := &plugins.IntegrationRunner{Instance: in, Computer: func(id string) (immy.Computer, bool) { x, ok := fleet[id]; return x, ok }}

	b, err := ephemeral.New(ephemeral.Config{Server: srv, URL: "wss" + strings.TrimPrefix(hs.URL, "https") + "/agent",
		Pin: hex.EncodeToString(pinSum[:]), Binary: immy.Installer{URL: dl.URL + "/immy-agent", SHA256: hex.EncodeToString(sum[:])},
		Wait: 30 * time.Second, Poll: 50 * time.Millisecond})
	require.NoError(t, err)
	a, err := b.Start(t.Context(), rmm, c, "session-7")
	require.NoError(t, err)
	require.Equal(t, 1, downloads)
	st, ok := srv.Status(a.ID)
	require.True(t, ok)
	require.True(t, st.Ephemeral)
	require.Equal(t, "acme", st.Tenant)

	// The session's scripts now run through the agent (its id as the route).
	res, err := srv.RunScript(t.Context(), immy.ScriptRequest{Computer: a.ID,
		Script: immy.Script{Language: immy.LanguageShell, Body: "echo from the ephemeral agent; echo $((6*7))"}})
	require.NoError(t, err)
	require.Equal(t, "42", res.Value)

	// Released: it exits, the server forgets it, its binary is removed.
	path := findCached(t, hex.EncodeToString(sum[:]))
	require.FileExists(t, path)
	require.NoError(t, a.Release())
	require.Eventually(t, func() bool {
		st, ok := srv.Status(a.ID)
		return !ok || st.Gone || !st.Online
	}, 20*time.Second, 50*time.Millisecond, "the agent did not go")
	require.Eventually(t, func() bool { _, err := os.Stat(path); return os.IsNotExist(err) }, 10*time.Second, 50*time.Millisecond,
		"the binary %s was not removed", path)

	// Gone: the session's scripts cannot reach it any more.
	_, err = srv.RunScript(t.Context(), immy.ScriptRequest{Computer: a.ID, Script: immy.Script{Language: immy.LanguageShell, Body: "true"}})
	require.ErrorIs(t, err, immy.ErrOffline)

	// A binary whose hash differs is refused: nothing starts.
	before := len(srv.Agents())
	bad, err := ephemeral.New(ephemeral.Config{Server: srv, URL: "wss://127.0.0.1/agent",
		Binary: immy.Installer{URL: dl.URL + "/immy-agent", SHA256: strings.Repeat("0", 64)}})
	require.NoError(t, err)
	_, err = bad.Start(t.Context(), rmm, c, "session-8")
	var m *installer.MismatchError
	require.ErrorAs(t, err, &m)
	require.Equal(t, hex.EncodeToString(sum[:]), m.Got)
	require.Len(t, srv.Agents(), before, "no agent started")
}

// findCached is where the fetch script keeps a file of that hash: the RMM
// shell has no IMMY_INSTALLER_CACHE, so /var/cache/immy/installers when
// writable, else the temporary directory's.
func findCached(t *testing.T, sum string) string {
	for _, dir := range []string{"/var/cache/immy/installers", os.TempDir() + "/immy-installers"} {
		if _, err := os.Stat(dir + "/" + sum); err == nil {
			return dir + "/" + sum + "/immy-agent"
		}
	}
	t.Fatalf("no cache directory of %s", sum)
	return ""
}
