//go:build linux

package e2e_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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
	"github.com/immyoss/engine/agent/ephemeral"
	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/installer"
	"github.com/immyoss/engine/plugins"
	"github.com/immyoss/engine/resolver"
	"github.com/immyoss/engine/session"
	"github.com/immyoss/engine/targets"
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

// A session on an RMM-only computer whose scripts are longer than the RMM
// is trusted with: the pathway's ephemeral.Runner bootstraps the agent once,
// at the session's first such script (the inventory), and the session's
// inventory, detection, install and verification run through it.
func TestSessionThroughEphemeralAgent(t *testing.T) {
	requireSh(t)
	if _, err := exec.LookPath("dpkg-query"); err != nil {
		t.Skip("no dpkg on this machine")
	}
	bin, err := agentBin.Path()
	require.NoError(t, err)
	binary, err := os.ReadFile(bin)
	require.NoError(t, err)
	sum := sha256.Sum256(binary)
	dl := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(binary) }))
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
	b, err := ephemeral.New(ephemeral.Config{Server: srv, URL: "wss" + strings.TrimPrefix(hs.URL, "https") + "/agent",
		Pin: hex.EncodeToString(pinSum[:]), Binary: immy.Installer{URL: dl.URL + "/immy-agent", SHA256: hex.EncodeToString(sum[:])},
		Wait: 30 * time.Second, Poll: 50 * time.Millisecond})
	require.NoError(t, err)

	in, c, _ := rmmComputer(t, nil, nil)
	apps := t.TempDir()
	f := rmmFleet(t, c, apps)
	lookup := func(id string) (immy.Computer, bool) {
		for _, x := range f.Computers {
			if x.ID == id {
				return x, true
			}
		}
		return immy.Computer{}, false
	}
	runner := &ephemeral.Runner{Bootstrapper: b, RMM: &plugins.IntegrationRunner{Instance: in, Computer: lookup}, Computer: lookup,
		MaxRMMTimeout: 10 * time.Second}
	t.Cleanup(func() { runner.Release() })
	cat, err := resolver.NewCatalogue(f)
	require.NoError(t, err)
	ix, err := targets.NewIndex(f, targets.Config{At: f.At})
	require.NoError(t, err)
	planner, err := resolver.NewPlanner(ix, cat, resolver.Config{})
	require.NoError(t, err)
	engine, err := session.New(session.Config{Planner: planner, Runners: map[string]immy.ScriptRunner{"local-rmm": runner}, ScriptTimeout: 30 * time.Second})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		engine.Close(ctx)
	})

	rep, events := run(t, engine, session.Request{ID: "via-agent", Computer: c.ID})
	require.Equal(t, session.Passed, rep.Status, "%s %s\n%+v", rep.Reason, rep.Message, outcomes(rep.Actions))
	require.Equal(t, 1, runner.Started(), "one agent for the whole session")
	require.Equal(t, "3.1\n", readFile(t, filepath.Join(apps, "acme-notes.version")))
	require.Contains(t, logLines(events, 0), "installed acme-notes 3.1")
	var ephemeralAgents int
	for _, st := range srv.Agents() {
		if st.Ephemeral && st.Online {
			ephemeralAgents++
		}
	}
	require.Equal(t, 1, ephemeralAgents)
	require.NoError(t, runner.Release())
}
