//go:build linux

package e2e_test

import (
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/agent"
	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/immytest"
	"github.com/immyoss/engine/resolver"
	"github.com/immyoss/engine/session"
	"github.com/immyoss/engine/targets"
)

// A reboot pending before changes, through the real agent (issue 22). This
// machine has no systemd and the test may not reboot it: a reboot is
// SIMULATED by killing the agent process (SIGKILL, as a power cycle would
// end it) and starting it again a moment later with the same state, as a
// service manager would at boot; the pending reboot's file goes away with
// the "reboot", as /run does. The agent's scripts see the machine's root at
// IMMY_HOST_ROOT (the recorded machine), where the test writes
// /var/run/reboot-required: the reboot script of immy/inventory reads it
// there, run by the agent with sh.

// restartableAgent is the agent binary, started again by restart.
type restartableAgent struct {
	t      *testing.T
	srv    *agent.Server
	routes *routeTable
	id     string
	root   string // the recorded machine, also IMMY_HOST_ROOT
	args   []string
	env    []string
	stderr *syncBuffer
	online chan agent.Status
	// onOnline, when set, is told each time the agent comes online (an
	// embedding product calls session.Engine.Connected then).
	onOnline func(agent.Status)

	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{}
	reboots int
}

func startRestartableAgent(t *testing.T, tenant string, env ...string) *restartableAgent {
	t.Helper()
	bin, err := agentBin.Path()
	require.NoError(t, err)
	ra := &restartableAgent{t: t, routes: &routeTable{}, stderr: &syncBuffer{}, online: make(chan agent.Status, 100)}
	ra.srv = agent.NewServer(agent.Config{
		Route: ra.routes.agentsOf,
		OnStatus: func(s agent.Status) {
			if s.Online {
				ra.mu.Lock()
				f := ra.onOnline
				ra.mu.Unlock()
				if f != nil {
					f(s)
				}
				select {
				case ra.online <- s:
				default:
				}
			}
		},
	})
	mux := http.NewServeMux()
	mux.Handle("/agent", ra.srv)
	hs := httptest.NewUnstartedServer(mux)
	hs.StartTLS()
	t.Cleanup(func() {
		ra.srv.Close()
		hs.Close()
	})
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	require.NoError(t, os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: hs.Certificate().Raw}), 0o600))
	token, _, err := ra.srv.CreateInstallToken(t.Context(), tenant, agent.TokenOptions{})
	require.NoError(t, err)
	ra.root = machineRoot(t)
	url := "wss" + strings.TrimPrefix(hs.URL, "https") + "/agent"
	ra.args = []string{bin, "-server", url, "-ca", ca, "-state", filepath.Join(dir, "state.json"),
		"-root", ra.root, "-backoff-min", "50ms", "-backoff-max", "200ms"}
	ra.env = append(append(os.Environ(), "IMMY_AGENT_TOKEN="+token, "IMMY_HOST_ROOT="+ra.root), env...)
	ra.start()
	t.Cleanup(ra.stop)
	ra.id = ra.waitOnline().AgentID
	return ra
}

func (ra *restartableAgent) start() {
	ra.mu.Lock()
	defer ra.mu.Unlock()
	cmd := exec.Command(ra.args[0], ra.args[1:]...)
	cmd.Env = ra.env
	cmd.Stderr = ra.stderr
	require.NoError(ra.t, cmd.Start())
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	ra.cmd, ra.done = cmd, done
}

func (ra *restartableAgent) stop() {
	ra.mu.Lock()
	cmd, done := ra.cmd, ra.done
	ra.mu.Unlock()
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		<-done
	}
	if ra.t.Failed() {
		ra.t.Logf("agent process stderr:\n%s", ra.stderr.String())
	}
}

func (ra *restartableAgent) waitOnline() agent.Status {
	ra.t.Helper()
	select {
	case st := <-ra.online:
		return st
	case <-time.After(20 * time.Second):
		ra.t.Fatalf("the agent did not come online:\n%s", ra.stderr.String())
	}
	return agent.Status{}
}

// RunScript and Inventory go to the agent server.
func (ra *restartableAgent) RunScript(ctx context.Context, req immy.ScriptRequest) (immy.ScriptResult, error) {
	return ra.srv.RunScript(ctx, req)
}

func (ra *restartableAgent) Inventory(ctx context.Context, computer string) (immy.Inventory, error) {
	return ra.srv.Inventory(ctx, computer)
}

// Reboot simulates a reboot: the pending reboot's file goes, the agent
// process is killed and started again after a moment.
func (ra *restartableAgent) Reboot(ctx context.Context, computer string, prompt bool) error {
	ra.mu.Lock()
	ra.reboots++
	cmd, done := ra.cmd, ra.done
	ra.mu.Unlock()
	if err := os.Remove(filepath.Join(ra.root, "var/run/reboot-required")); err != nil && !os.IsNotExist(err) {
		return err
	}
	cmd.Process.Kill()
	<-done
	go func() {
		time.Sleep(300 * time.Millisecond) // the machine is down
		ra.start()
	}()
	return nil
}

func TestRebootPendingThroughAgent(t *testing.T) {
	requireSh(t)
	ra := startRestartableAgent(t, "acme")
	require.NoError(t, os.MkdirAll(filepath.Join(ra.root, "var/run"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(ra.root, "var/run/reboot-required"), []byte("*** System restart required ***\n"), 0o644))
	apps := t.TempDir()
	f := immytest.NewFleet().At("2026-12-07T10:00:00Z").
		Tenant("acme").
		Computer("acme-01", "acme", immy.KindPortable, immytest.ComputerFunc(func(c *immy.Computer) {
			c.OS = "Debian GNU/Linux 12" // the platform whose reboot script the session runs
			c.Pathways = []immy.Pathway{{AgentID: ra.id, Online: true}}
		})).
		Software("acme-notes", immytest.Name("Acme Notes"), immytest.Versions("3.1"), fakeSoftware(apps, false)).
		Deploy("notes-latest", "acme-notes", immytest.OnTenantComputers("acme")).
		BuildValid(t)
	ra.routes.follow(f)
	cat, err := resolver.NewCatalogue(f)
	require.NoError(t, err)
	ix, err := targets.NewIndex(f, targets.Config{At: f.At})
	require.NoError(t, err)
	planner, err := resolver.NewPlanner(ix, cat, resolver.Config{})
	require.NoError(t, err)
	engine, err := session.New(session.Config{Planner: planner, Runner: ra, ScriptTimeout: 20 * time.Second,
		RebootPoll: 50 * time.Millisecond, RebootTimeout: 30 * time.Second})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, engine.Close(ctx))
	})
	pid := ra.cmd.Process.Pid

	rep, events := run(t, engine, session.Request{ID: "reboot-first", Computer: "acme-01"})
	require.Equal(t, session.Passed, rep.Status, "%s %s\n%+v", rep.Reason, rep.Message, outcomes(rep.Actions))
	require.Equal(t, 1, ra.reboots, "rebooted once, before the install")
	ra.mu.Lock()
	require.NotEqual(t, pid, ra.cmd.Process.Pid, "the agent process was restarted")
	ra.mu.Unlock()
	require.Equal(t, "3.1\n", readFile(t, filepath.Join(apps, "acme-notes.version")), "installed after the reboot, by the restarted agent")
	var logs []string
	for _, ev := range events {
		if ev.Kind == session.EventLog && ev.Index == -1 {
			logs = append(logs, ev.Text)
		}
	}
	all := strings.Join(logs, "\n")
	require.Contains(t, all, "a reboot is pending (reboot-required-file): rebooting before any change")
	require.Contains(t, all, "the computer is back from its reboot")

	// The file is gone with the reboot: the next session reboots nothing.
	rep, _ = run(t, engine, session.Request{ID: "after", Computer: "acme-01"})
	require.Equal(t, session.Passed, rep.Status)
	require.Equal(t, 1, ra.reboots)
}

// A reboot during a session, through the real agent: the computer restarts
// (simulated: the agent process killed and started again) while an install
// runs. The session waits, pending connectivity, until the agent is back
// (the product calls Engine.Connected when it comes online), then detects
// the action again (the install was cut off: nothing installed) and runs it
// again to the end.
func TestRebootDuringSessionThroughAgent(t *testing.T) {
	requireSh(t)
	ra := startRestartableAgent(t, "acme")
	apps := t.TempDir()
	started := filepath.Join(apps, "install-started")
	f := immytest.NewFleet().At("2026-12-07T10:00:00Z").
		Tenant("acme").
		Computer("acme-01", "acme", immy.KindPortable, immytest.ComputerFunc(func(c *immy.Computer) {
			c.Pathways = []immy.Pathway{{AgentID: ra.id, Online: true}}
		})).
		Software("acme-notes", immytest.Name("Acme Notes"), immytest.Versions("3.1"), fakeSoftware(apps, false),
			immytest.SoftwareFunc(func(sw *immy.Software) {
				// the first install takes long enough to be cut off by the reboot
				sw.Install.Body = "if [ ! -f " + shQuote(started) + " ]; then echo $$ > " + shQuote(started) + "; sleep 30; fi\n" + sw.Install.Body
			})).
		Deploy("notes-latest", "acme-notes", immytest.OnTenantComputers("acme")).
		BuildValid(t)
	ra.routes.follow(f)
	cat, err := resolver.NewCatalogue(f)
	require.NoError(t, err)
	ix, err := targets.NewIndex(f, targets.Config{At: f.At})
	require.NoError(t, err)
	planner, err := resolver.NewPlanner(ix, cat, resolver.Config{})
	require.NoError(t, err)
	engine, err := session.New(session.Config{Planner: planner, Runner: ra, ScriptTimeout: 60 * time.Second})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, engine.Close(ctx))
	})
	ra.mu.Lock()
	ra.onOnline = func(agent.Status) { engine.Connected("acme-01") }
	ra.mu.Unlock()

	sub := engine.Subscribe("during")
	defer sub.Close()
	_, err = engine.Start(t.Context(), session.Request{ID: "during", Computer: "acme-01"})
	require.NoError(t, err)
	require.Eventually(t, func() bool { b, err := os.ReadFile(started); return err == nil && strings.HasSuffix(string(b), "\n") },
		20*time.Second, 20*time.Millisecond, "the install did not start")
	require.NoError(t, ra.Reboot(t.Context(), "acme-01", false)) // mid-install
	// A reboot ends every process: the script the agent left running too
	// (its process group).
	b, err := os.ReadFile(started)
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	require.NoError(t, err)
	if syscall.Kill(-pid, syscall.SIGKILL) != nil {
		syscall.Kill(pid, syscall.SIGKILL)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 40*time.Second)
	defer cancel()
	rep, err := engine.Wait(ctx, "during")
	require.NoError(t, err)
	require.Equal(t, session.Passed, rep.Status, "%s %s\n%+v", rep.Reason, rep.Message, outcomes(rep.Actions))
	require.Equal(t, 2, rep.Actions[0].Attempts, "cut off by the reboot, detected absent, installed again")
	require.Equal(t, "3.1\n", readFile(t, filepath.Join(apps, "acme-notes.version")))
	var waited bool
	for {
		select {
		case ev := <-sub.C:
			if ev.Kind == session.EventSession && ev.Status == session.PendingConnectivity {
				waited = true
			}
			continue
		default:
		}
		break
	}
	require.True(t, waited, "the session waited for the computer")
}
