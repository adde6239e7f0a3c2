//go:build linux

package e2e_test

import (
	"bytes"
	"context"
	"log/slog"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/immytest"
	"github.com/immyoss/engine/internal/testbin"
	"github.com/immyoss/engine/plugins"
	"github.com/immyoss/engine/resolver"
	"github.com/immyoss/engine/session"
	"github.com/immyoss/engine/targets"
)

// Computers reached only through an RMM (issue 22): the example RMM plugin,
// a real go-plugin process whose agents are shells on this machine, is the
// computer's only pathway. The session inventories it with the built-in
// Linux inventory script (dpkg-query: this machine's real packages) run
// through the plugin's run-script, or, with -native-inventory, through the
// plugin's own inventory capability; detects, installs and verifies through
// the plugin; and a second session plans nothing.

var rmmBin = testbin.New("github.com/immyoss/engine/examples/rmm-plugin")

// lockedBuffer collects log output written from several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// rmmComputer starts the example RMM plugin as instance "local-rmm" with one
// shell agent and returns the computer its agent identifies, and the log.
func rmmComputer(t *testing.T, args []string, config map[string]string) (*plugins.Instance, immy.Computer, *lockedBuffer) {
	t.Helper()
	path, err := rmmBin.Path()
	require.NoError(t, err)
	sum, err := plugins.FileSHA256(path)
	require.NoError(t, err)
	logs := &lockedBuffer{}
	m := plugins.NewManager(plugins.Config{Logger: slog.New(slog.NewTextHandler(logs, nil)), HealthInterval: -1})
	t.Cleanup(func() { m.Close() })
	cfg := map[string]string{"shells": "shell-1", "root": t.TempDir(), "client": "acme",
		"uuid": "1F3B5A7C-9D2E-4F60-8A1B-2C3D4E5F6071", "serial": "RMM-0001", "manufacturer": "Example Labs"}
	for k, v := range config {
		cfg[k] = v
	}
	in, err := m.Start(t.Context(), plugins.Spec{ID: "local-rmm", Path: path, Args: args, SHA256: sum, Config: cfg})
	require.NoError(t, err)
	agents, err := in.Agents(t.Context())
	require.NoError(t, err)
	idn := plugins.Identifier{Clients: plugins.ClientMap{{Integration: "local-rmm", Client: "acme"}: "acme"}}.Identify(plugins.Observations{Agents: agents})
	require.Len(t, idn.Computers, 1)
	c := idn.Computers[0]
	require.Len(t, c.Pathways, 1)
	require.Equal(t, "local-rmm", c.Pathways[0].Integration, "the RMM is the computer's only pathway")
	return in, c, logs
}

// rmmEngine makes a session engine whose only way to the computers is the
// RMM instance.
func rmmEngine(t *testing.T, f *immy.Fleet, in *plugins.Instance) *session.Engine {
	t.Helper()
	cat, err := resolver.NewCatalogue(f)
	require.NoError(t, err)
	ix, err := targets.NewIndex(f, targets.Config{At: f.At})
	require.NoError(t, err)
	planner, err := resolver.NewPlanner(ix, cat, resolver.Config{})
	require.NoError(t, err)
	lookup := func(id string) (immy.Computer, bool) {
		for _, c := range f.Computers {
			if c.ID == id {
				return c, true
			}
		}
		return immy.Computer{}, false
	}
	engine, err := session.New(session.Config{
		Planner:       planner,
		Runners:       map[string]immy.ScriptRunner{"local-rmm": &plugins.IntegrationRunner{Instance: in, Computer: lookup}},
		ScriptTimeout: 30 * time.Second,
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, engine.Close(ctx))
	})
	return engine
}

// rmmFleet is the fleet of the RMM's computer: dpkg (detected by the
// inventory: this machine's package), acme-notes (detected, installed and
// verified by its sh scripts, through the RMM).
func rmmFleet(t *testing.T, c immy.Computer, apps string) *immy.Fleet {
	return immytest.NewFleet().At("2026-12-07T10:00:00Z").
		Tenant("acme").
		Computer(c.ID, "acme", immy.KindWorkstation, immytest.ComputerFunc(func(x *immy.Computer) {
			x.OS, x.UUID, x.Serial, x.Manufacturer = c.OS, c.UUID, c.Serial, c.Manufacturer
			x.Pathways = c.Pathways
		})).
		Software("dpkg", immytest.Name("dpkg"), immytest.Versions("1.0")).
		Software("acme-notes", immytest.Name("Acme Notes"), immytest.Versions("3.1"), fakeSoftware(apps, false)).
		Deploy("dpkg-any", "dpkg", immytest.OnAllComputers(), immytest.Desired(immy.DesiredAnyVersion)).
		Deploy("notes-latest", "acme-notes", immytest.OnTenantComputers("acme"), immytest.Desired(immy.DesiredLatest)).
		BuildValid(t)
}

func dpkgVersion(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("dpkg-query", "-W", "-f=${Version}", "dpkg").Output()
	require.NoError(t, err)
	return strings.TrimSpace(string(out))
}

func TestSessionOnRMMOnlyComputer(t *testing.T) {
	requireSh(t)
	if _, err := exec.LookPath("dpkg-query"); err != nil {
		t.Skip("no dpkg on this machine: the Linux inventory script would find no packages")
	}
	for _, tt := range []struct {
		name   string
		args   []string
		native bool
	}{
		{name: "inventory script through run-script"},
		{name: "native inventory capability", args: []string{"-native-inventory"}, native: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in, c, logs := rmmComputer(t, tt.args, nil)
			require.Equal(t, tt.native, in.Info().Has(plugins.CapInventory))
			apps := t.TempDir()
			f := rmmFleet(t, c, apps)
			engine := rmmEngine(t, f, in)

			rep, events := run(t, engine, session.Request{ID: "first", Computer: c.ID})
			require.Equal(t, session.Passed, rep.Status, "%s %s\n%+v", rep.Reason, rep.Message, outcomes(rep.Actions))
			want := []outcome{
				{Item: "acme-notes", Action: "install", Planned: resolver.ReasonSoftwareMissing, Version: "3.1",
					Status: session.Complete, Result: session.Success, Reason: session.ReasonVerified, After: "3.1", Attempts: 1},
				{Item: "dpkg", Action: "none", Planned: resolver.ReasonSoftwareDetected, Detected: dpkgVersion(t),
					Status: session.Complete, Result: session.Success, Reason: resolver.ReasonSoftwareDetected},
			}
			if diff := cmp.Diff(want, outcomes(rep.Actions)); diff != "" {
				t.Errorf("actions (-want +got):\n%s", diff)
			}
			// The install ran in the RMM agent's shell, with the session's parameters.
			require.Equal(t, "3.1\n", readFile(t, filepath.Join(apps, "acme-notes.version")))
			require.Equal(t, "install acme-notes 3.1 action=install detected=\n", readFile(t, filepath.Join(apps, "steps.log")))
			require.Contains(t, logLines(events, 0), "installed acme-notes 3.1")
			// Natively read inventories say so in the plugin's log.
			require.Equal(t, tt.native, strings.Contains(logs.String(), "inventory read natively"), "plugin log:\n%s", logs.String())

			rep, _ = run(t, engine, session.Request{ID: "second", Computer: c.ID})
			require.Equal(t, session.Passed, rep.Status, "%s %s", rep.Reason, rep.Message)
			for _, a := range rep.Actions {
				require.Equal(t, resolver.ActionNone, a.Planned.Action, "second session plans nothing: %+v", outcomes(rep.Actions))
				require.Zero(t, a.Attempts)
			}
			require.Equal(t, "install acme-notes 3.1 action=install detected=\n", readFile(t, filepath.Join(apps, "steps.log")), "nothing ran again")
		})
	}
}

// An RMM whose agent is offline: the session's reason is computer-offline
// and its message names the pathway tried and what the RMM answered.
func TestRMMOnlyComputerOffline(t *testing.T) {
	requireSh(t)
	in, c, _ := rmmComputer(t, nil, map[string]string{"offline": "shell-1"})
	c.Pathways[0].Online = true // the engine believes it online: the plugin says otherwise when asked
	f := rmmFleet(t, c, t.TempDir())
	engine := rmmEngine(t, f, in)

	rep, _ := run(t, engine, session.Request{ID: "skip", Computer: c.ID, Offline: session.SkipOffline})
	require.Equal(t, session.Failed, rep.Status)
	require.Equal(t, session.ReasonComputerOffline, rep.Reason)
	require.Contains(t, rep.Message, "no pathway reached the computer: integration local-rmm (agent shell-1): ")
	require.Contains(t, rep.Message, `agent "shell-1"`)
	require.Contains(t, rep.Message, "offline")
	t.Log(rep.Message)
}
