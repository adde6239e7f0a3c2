//go:build linux

package e2e_test

import (
	"bytes"
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/agent"
	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/immytest"
	"github.com/immyoss/engine/internal/testbin"
	"github.com/immyoss/engine/resolver"
	"github.com/immyoss/engine/session"
	"github.com/immyoss/engine/targets"
)

// The tests run on Linux only, as the agent's own end-to-end tests do: the
// agent reports an inventory on Linux and Windows, and Windows has no sh.

// agentBin builds the binary the tests run, once.
var agentBin = testbin.New("github.com/immyoss/engine/agent/cmd/immy-agent")

func TestMain(m *testing.M) {
	code := m.Run()
	agentBin.Cleanup()
	rmmBin.Cleanup() // rmm_test.go
	os.Exit(code)
}

// requireSh skips a test on a machine without sh, which every script here is.
func requireSh(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh on this machine: the agent cannot run the software's sh scripts")
	}
}

// routeTable maps fleet computers to the agents that reach them, as an
// embedding product would from its computers' pathways. The agent server asks
// it for every script and inventory; the table is filled once the agent has
// enrolled and the fleet is built.
type routeTable struct {
	mu     sync.Mutex
	routes map[string][]string
}

func (r *routeTable) agentsOf(_ context.Context, computer string) ([]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.routes[computer], nil // none: the server answers immy.ErrOffline
}

// follow routes each computer of f to the engine's own agents among its
// pathways.
func (r *routeTable) follow(f *immy.Fleet) {
	m := map[string][]string{}
	for _, c := range f.Computers {
		for _, p := range c.Pathways {
			if p.Integration == "" {
				m[c.ID] = append(m[c.ID], p.AgentID)
			}
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.routes = m
}

// syncBuffer collects a process's stderr.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// liveAgent is the agent binary running as a process, enrolled with an
// agent.Server on a loopback TLS listener.
type liveAgent struct {
	srv    *agent.Server
	routes *routeTable
	id     string // the agent id the server gave it
	stderr *syncBuffer
}

// startAgent starts a server and the agent binary, enrols the agent with an
// install token of tenant, and waits until it is online. The agent reads its
// identity and inventory from a small recorded machine (machineRoot), so that
// the host's own packages play no part; its scripts run on the host, as
// child processes.
func startAgent(t *testing.T, tenant string) *liveAgent {
	t.Helper()
	bin, err := agentBin.Path()
	require.NoError(t, err)

	online := make(chan agent.Status, 100)
	la := &liveAgent{routes: &routeTable{}, stderr: &syncBuffer{}}
	la.srv = agent.NewServer(agent.Config{
		Route: la.routes.agentsOf,
		OnStatus: func(s agent.Status) {
			if s.Online {
				select {
				case online <- s:
				default:
				}
			}
		},
	})
	mux := http.NewServeMux()
	mux.Handle("/agent", la.srv)
	hs := httptest.NewUnstartedServer(mux) // listens on 127.0.0.1
	hs.StartTLS()
	t.Cleanup(func() {
		la.srv.Close()
		hs.Close()
	})

	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	require.NoError(t, os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: hs.Certificate().Raw}), 0o600))
	token, _, err := la.srv.CreateInstallToken(t.Context(), tenant, agent.TokenOptions{})
	require.NoError(t, err)

	url := "wss" + strings.TrimPrefix(hs.URL, "https") + "/agent"
	cmd := exec.Command(bin, "-server", url, "-ca", ca, "-state", filepath.Join(dir, "state.json"),
		"-root", machineRoot(t), "-backoff-min", "50ms", "-backoff-max", "500ms", "-log-level", "debug")
	cmd.Env = append(os.Environ(), "IMMY_AGENT_TOKEN="+token)
	cmd.Stderr = la.stderr
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	// Registered after the server's cleanup, so run before it: the agent
	// stops first.
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("agent process stderr:\n%s", la.stderr.String())
		}
	})

	select {
	case st := <-online:
		require.Equal(t, tenant, st.Tenant, "enrolled with the tenant's install token")
		la.id = st.AgentID
	case <-done:
		t.Fatalf("the agent process exited before it came online:\n%s", la.stderr.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("the agent did not come online:\n%s", la.stderr.String())
	}
	return la
}

// machineRoot writes the files the agent reads a Linux machine from: a
// Debian laptop with one package installed, acme-base 5.0.
func machineRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	files := map[string]string{
		"etc/os-release":                    "NAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n",
		"etc/machine-id":                    "5f1e2d3c4b5a69788796a5b4c3d2e1f0\n",
		"proc/sys/kernel/hostname":          "acme-01\n",
		"sys/class/dmi/id/product_uuid":     "6a0c1f52-8d3e-4b7a-9c21-3f5e7d9b1a04\n",
		"sys/class/dmi/id/product_serial":   "E2E-0001\n",
		"sys/class/dmi/id/sys_vendor":       "Acme Computers\n",
		"sys/class/dmi/id/product_name":     "Roadrunner 14\n",
		"sys/class/dmi/id/chassis_type":     "10\n",
		"var/lib/dpkg/status":               "Package: acme-base\nStatus: install ok installed\nArchitecture: all\nVersion: 5.0\n",
		"usr/share/xsessions/gnome.desktop": "[Desktop Entry]\nName=GNOME\n",
	}
	for name, body := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	}
	return root
}

// shQuote quotes s for sh.
func shQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// fakeSoftware gives sw sh scripts that keep it in dir: the install script
// writes the version it installs to dir/ID.version (the marker file), the
// uninstall script removes it, and the detection script prints the software's
// name and the marker's content, whose last word is the version (nothing when
// the marker is absent). Install and uninstall append the step they ran, with
// the session's parameters, to dir/steps.log. failInstall makes the install
// script fail, as an installer that finds the disk full.
func fakeSoftware(dir string, failInstall bool) immytest.SoftwareFunc {
	head := "set -eu\ndir=" + shQuote(dir) + "\n" +
		`marker="$dir/$software.version"` + "\n" +
		`printf '%s %s %s action=%s detected=%s\n' "$step" "$software" "$version" "$action" "$detected_version" >> "$dir/steps.log"` + "\n"
	install := head + `[ -n "$version" ] || { echo "no version to install" >&2; exit 2; }
echo "unpacking $software $version"
`
	if failInstall {
		install += `echo "disk full" >&2
exit 1
`
	}
	install += `printf '%s\n' "$version" > "$marker"
echo "installed $software $version"
`
	uninstall := head + `rm -f "$marker"
echo "removed $software $version"
`
	detect := "dir=" + shQuote(dir) + `
marker="$dir/$software.version"
if [ -f "$marker" ]; then
	echo "$software_name $(cat "$marker")"
fi
`
	return func(sw *immy.Software) {
		sw.Detection = immy.Detection{Script: &immy.Script{Language: immy.LanguageShell, Body: detect}}
		sw.Install = &immy.Script{Language: immy.LanguageShell, Body: install}
		sw.Uninstall = &immy.Script{Language: immy.LanguageShell, Body: uninstall}
	}
}

// acmeComputer is the fleet's computer acme-01, reached by the agent.
func acmeComputer(agentID string) immytest.ComputerFunc {
	return func(c *immy.Computer) {
		c.Pathways = []immy.Pathway{{AgentID: agentID, Online: true}}
	}
}

// newEngine makes a session engine over f whose scripts and inventories go
// through the agent server.
func newEngine(t *testing.T, f *immy.Fleet, la *liveAgent) *session.Engine {
	t.Helper()
	la.routes.follow(f)
	cat, err := resolver.NewCatalogue(f)
	require.NoError(t, err)
	ix, err := targets.NewIndex(f, targets.Config{At: f.At})
	require.NoError(t, err)
	planner, err := resolver.NewPlanner(ix, cat, resolver.Config{})
	require.NoError(t, err)
	engine, err := session.New(session.Config{Planner: planner, Runner: la.srv, ScriptTimeout: 20 * time.Second})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, engine.Close(ctx))
	})
	return engine
}

// run runs a session and returns its report with its events, read until the
// session's final status.
func run(t *testing.T, engine *session.Engine, req session.Request) (session.Report, []session.Event) {
	t.Helper()
	sub := engine.Subscribe(req.ID)
	defer sub.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	rep, err := engine.Run(ctx, req)
	require.NoError(t, err)
	var events []session.Event
	for {
		select {
		case ev := <-sub.C:
			events = append(events, ev)
			if ev.Kind == session.EventSession && ev.Status.Final() {
				return rep, events
			}
		case <-ctx.Done():
			t.Fatalf("session %s: no final event", req.ID)
		}
	}
}

// outcome is what the tests check of an action.
type outcome struct {
	Item, Action, Planned, Detected, Version string
	Status                                   session.ActionStatus
	Result                                   session.Result
	Reason, Message, After, Output           string
	Attempts                                 int
}

func outcomes(acts []session.Action) []outcome {
	out := make([]outcome, len(acts))
	for i, a := range acts {
		out[i] = outcome{
			Item: a.Item(), Action: a.Planned.Action.String(), Planned: a.Planned.Reason,
			Detected: a.Planned.Detected, Version: a.Planned.Version,
			Status: a.Status, Result: a.Result, Reason: a.Reason, Message: a.Message,
			After: a.After, Output: a.Output, Attempts: a.Attempts,
		}
	}
	return out
}

// logLines returns the log events' texts of action index.
func logLines(events []session.Event, index int) []string {
	var out []string
	for _, ev := range events {
		if ev.Kind == session.EventLog && ev.Index == index {
			out = append(out, ev.Text)
		}
	}
	return out
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

// A full maintenance session through the real agent: acme-tool 1.0 is
// updated to its latest version, 2.0, by its upgrade strategy (uninstall,
// then install); acme-notes is installed fresh; acme-base, found at its
// latest version in the agent's inventory, is left alone. Every change is
// verified by detecting again through the agent, and a second session finds
// the computer compliant and plans nothing.
func TestMaintenanceSessionThroughAgent(t *testing.T) {
	requireSh(t)
	la := startAgent(t, "acme")
	apps := t.TempDir()
	// The computer starts with acme-tool 1.0 installed.
	require.NoError(t, os.WriteFile(filepath.Join(apps, "acme-tool.version"), []byte("1.0\n"), 0o644))

	f := immytest.NewFleet().At("2026-11-23T10:00:00Z").
		Tenant("acme").
		Computer("acme-01", "acme", immy.KindPortable, acmeComputer(la.id)).
		Software("acme-base", immytest.Name("acme-base"), immytest.Versions("5.0")).
		Software("acme-notes", immytest.Name("Acme Notes"), immytest.Versions("3.1"), fakeSoftware(apps, false)).
		Software("acme-tool", immytest.Name("Acme Tool"), immytest.Versions("1.0", "2.0"), fakeSoftware(apps, false),
			immytest.Upgrade(immy.UpgradeUninstallInstall)).
		Deploy("base-latest", "acme-base", immytest.OnAllComputers()).
		Deploy("notes-latest", "acme-notes", immytest.OnTenantComputers("acme")).
		Deploy("tool-latest", "acme-tool", immytest.OnTenantComputers("acme"), immytest.Desired(immy.DesiredLatest)).
		BuildValid(t)
	engine := newEngine(t, f, la)

	rep, events := run(t, engine, session.Request{ID: "maintenance", Computer: "acme-01"})
	require.Equal(t, session.Passed, rep.Status, "%s\n%+v", rep.Reason, outcomes(rep.Actions))
	require.Empty(t, rep.Reason)
	require.Equal(t, session.StageDone, rep.Stage)
	want := []outcome{
		{Item: "acme-base", Action: "none", Planned: resolver.ReasonUpToDate, Detected: "5.0",
			Status: session.Complete, Result: session.Success, Reason: resolver.ReasonUpToDate},
		{Item: "acme-notes", Action: "install", Planned: resolver.ReasonSoftwareMissing, Version: "3.1",
			Status: session.Complete, Result: session.Success, Reason: session.ReasonVerified, After: "3.1", Attempts: 1},
		{Item: "acme-tool", Action: "update", Planned: resolver.ReasonUpdateAvailable, Detected: "1.0", Version: "2.0",
			Status: session.Complete, Result: session.Success, Reason: session.ReasonVerified, After: "2.0", Attempts: 1},
	}
	if diff := cmp.Diff(want, outcomes(rep.Actions)); diff != "" {
		t.Errorf("actions (-want +got):\n%s", diff)
	}

	// The markers hold the versions brought; the scripts ran on the agent
	// with the session's parameters, in the plan's order, the update's
	// uninstall of the detected version before its install.
	require.Equal(t, "2.0\n", readFile(t, filepath.Join(apps, "acme-tool.version")))
	require.Equal(t, "3.1\n", readFile(t, filepath.Join(apps, "acme-notes.version")))
	require.NoFileExists(t, filepath.Join(apps, "acme-base.version"))
	steps := readFile(t, filepath.Join(apps, "steps.log"))
	require.Equal(t, `install acme-notes 3.1 action=install detected=
uninstall acme-tool 1.0 action=update detected=1.0
install acme-tool 2.0 action=update detected=1.0
`, steps)

	// The scripts' output streamed from the agent into the session's events,
	// line by line, with the action it belongs to.
	require.Equal(t, []string{"unpacking acme-notes 3.1", "installed acme-notes 3.1", "Acme Notes 3.1"}, logLines(events, 1))
	require.Equal(t, []string{"removed acme-tool 1.0", "unpacking acme-tool 2.0", "installed acme-tool 2.0", "Acme Tool 2.0"}, logLines(events, 2))

	// Compliant: a second full session detects every item in its desired
	// state and changes nothing.
	again, _ := run(t, engine, session.Request{ID: "again", Computer: "acme-01"})
	require.Equal(t, session.Passed, again.Status, again.Reason)
	want = []outcome{
		{Item: "acme-base", Action: "none", Planned: resolver.ReasonUpToDate, Detected: "5.0",
			Status: session.Complete, Result: session.Success, Reason: resolver.ReasonUpToDate},
		{Item: "acme-notes", Action: "none", Planned: resolver.ReasonUpToDate, Detected: "3.1",
			Status: session.Complete, Result: session.Success, Reason: resolver.ReasonUpToDate},
		{Item: "acme-tool", Action: "none", Planned: resolver.ReasonUpToDate, Detected: "2.0",
			Status: session.Complete, Result: session.Success, Reason: resolver.ReasonUpToDate},
	}
	if diff := cmp.Diff(want, outcomes(again.Actions)); diff != "" {
		t.Errorf("second session's actions (-want +got):\n%s", diff)
	}
	require.Equal(t, steps, readFile(t, filepath.Join(apps, "steps.log")), "the second session ran no install or uninstall")
	require.Equal(t, "2.0\n", readFile(t, filepath.Join(apps, "acme-tool.version")))
	require.Equal(t, "3.1\n", readFile(t, filepath.Join(apps, "acme-notes.version")))
}

// An install script that fails on the real agent fails its action with
// reason script-failed, keeps the script's output, and leaves nothing
// behind; the other action of the session succeeds, so the session partially
// passes, and the failed item is still planned by the next detection.
func TestFailedInstallThroughAgent(t *testing.T) {
	requireSh(t)
	la := startAgent(t, "acme")
	apps := t.TempDir()

	f := immytest.NewFleet().At("2026-11-23T10:00:00Z").
		Tenant("acme").
		Computer("acme-01", "acme", immy.KindPortable, acmeComputer(la.id)).
		Software("acme-broken", immytest.Name("Acme Broken"), immytest.Versions("4.2"), fakeSoftware(apps, true)).
		Software("acme-notes", immytest.Name("Acme Notes"), immytest.Versions("3.1"), fakeSoftware(apps, false)).
		Deploy("broken-latest", "acme-broken", immytest.OnAllComputers()).
		Deploy("notes-latest", "acme-notes", immytest.OnAllComputers()).
		BuildValid(t)
	engine := newEngine(t, f, la)

	rep, _ := run(t, engine, session.Request{ID: "maintenance", Computer: "acme-01"})
	require.Equal(t, session.PartiallyPassed, rep.Status)
	require.Equal(t, "1 of 2 actions failed: acme-broken", rep.Reason)
	want := []outcome{
		{Item: "acme-broken", Action: "install", Planned: resolver.ReasonSoftwareMissing, Version: "4.2",
			Status: session.Complete, Result: session.ResultFailed, Reason: session.ReasonScriptFailed,
			Message: "the install script exited with code 1: disk full",
			Output:  "unpacking acme-broken 4.2\ndisk full\n", Attempts: 1},
		{Item: "acme-notes", Action: "install", Planned: resolver.ReasonSoftwareMissing, Version: "3.1",
			Status: session.Complete, Result: session.Success, Reason: session.ReasonVerified, After: "3.1", Attempts: 1},
	}
	if diff := cmp.Diff(want, outcomes(rep.Actions)); diff != "" {
		t.Errorf("actions (-want +got):\n%s", diff)
	}
	require.NoFileExists(t, filepath.Join(apps, "acme-broken.version"))
	require.Equal(t, "3.1\n", readFile(t, filepath.Join(apps, "acme-notes.version")))
	require.Equal(t, "install acme-broken 4.2 action=install detected=\ninstall acme-notes 3.1 action=install detected=\n",
		readFile(t, filepath.Join(apps, "steps.log")))

	// Not compliant: detection through the agent still finds acme-broken
	// missing.
	what, _ := run(t, engine, session.Request{ID: "what-if", Computer: "acme-01", Kind: session.DetectionOnly})
	require.Equal(t, session.Passed, what.Status)
	require.Equal(t, session.ReasonDetectionOnly, what.Reason)
	var planned []string
	for _, a := range what.Actions {
		planned = append(planned, a.Item()+":"+a.Planned.Action.String())
	}
	require.Equal(t, []string{"acme-broken:install", "acme-notes:none"}, planned)
}
