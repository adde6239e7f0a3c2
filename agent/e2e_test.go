//go:build linux

package agent_test

import (
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/agent"
	"github.com/immyoss/engine/agent/endpoint"
	"github.com/immyoss/engine/agent/sysinfo"
	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/internal/testbin"
)

// agentBin builds the binary the tests run, once.
var agentBin = testbin.New("github.com/immyoss/engine/agent/cmd/immy-agent")

func TestMain(m *testing.M) {
	code := m.Run()
	agentBin.Cleanup()
	os.Exit(code)
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

// agentProc is the agent binary running as a process of its own.
type agentProc struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan struct{}
	err    error
}

// startBinary starts the agent binary against the harness's server.
func (h *harness) startBinary(env []string, args ...string) *agentProc {
	h.t.Helper()
	bin, err := agentBin.Path()
	require.NoError(h.t, err)
	ca := filepath.Join(h.t.TempDir(), "ca.pem")
	cert := h.http.Certificate()
	require.NoError(h.t, os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o600))
	args = append([]string{"-server", h.url, "-ca", ca, "-backoff-min", "50ms", "-backoff-max", "500ms", "-ping", "2s", "-log-level", "debug"}, args...)
	p := &agentProc{cmd: exec.Command(bin, args...), stderr: &syncBuffer{}, done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stderr = p.stderr
	require.NoError(h.t, p.cmd.Start())
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	h.t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
		if h.t.Failed() {
			h.t.Logf("agent process %d stderr:\n%s", p.cmd.Process.Pid, p.stderr.String())
		}
	})
	return p
}

// wait waits for the process to exit and returns its exit code.
func (p *agentProc) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("the agent process did not exit; stderr:\n%s", p.stderr.String())
	}
	return p.cmd.ProcessState.ExitCode()
}

// recordedRoot copies the recorded Debian laptop and logs "nobody" on at its
// console, so that user-context scripts have someone to run as.
func recordedRoot(t *testing.T) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "root")
	require.NoError(t, os.CopyFS(root, os.DirFS("sysinfo/testdata/linux/debian-laptop")))
	session := fmt.Sprintf("USER=nobody\nACTIVE=1\nSTATE=active\nTYPE=x11\nCLASS=user\nREALTIME=%d\n", time.Now().UnixMicro())
	require.NoError(t, os.WriteFile(filepath.Join(root, "run/systemd/sessions/9"), []byte(session), 0o644))
	return root
}

func requireGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := syscall.Kill(pid, 0)
		if errors.Is(err, syscall.ESRCH) {
			return
		}
		if st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); strings.Contains(string(st), ") Z ") {
			return // killed; a zombie until init reaps it
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d still runs after its script was cancelled", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var versionText = cmp.Comparer(func(a, b immy.Version) bool { return a.String() == b.String() })

// The agent binary as a real process: enrolment, identification and
// inventory, scripts (success, failure, timeout, large output, cancel, user
// context), a killed connection, a restart.
func TestEndToEnd(t *testing.T) {
	h := newHarness(t, agent.Config{PingInterval: 2 * time.Second, CancelGrace: 5 * time.Second})
	token := h.token("acme")
	root := recordedRoot(t)
	stateFile := filepath.Join(t.TempDir(), "state.json")
	p := h.startBinary([]string{"IMMY_AGENT_TOKEN=" + token}, "-state", stateFile, "-root", root)

	st := h.waitStatus("", online)
	id := st.AgentID
	src := &sysinfo.Source{Root: root}
	want, err := src.Inventory(t.Context())
	require.NoError(t, err)

	t.Run("enrolment", func(t *testing.T) {
		require.Equal(t, "acme", st.Tenant)
		require.Equal(t, "linux", st.OS)
		require.Equal(t, "dev", st.Version)
		require.False(t, st.Ephemeral)
		// The agent writes its state once welcomed, as the server reports it online.
		var saved *endpoint.State
		require.Eventually(t, func() bool {
			s, err := endpoint.LoadState(stateFile)
			saved = s
			return err == nil
		}, 10*time.Second, 5*time.Millisecond)
		require.Equal(t, id, saved.AgentID)
		info, err := os.Stat(stateFile)
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "the credential is readable by the agent only")
		require.NotContains(t, p.stderr.String(), token, "the install token is never logged")
	})
	t.Run("identification", func(t *testing.T) {
		require.Equal(t, want.Identity, st.Identity)
		require.Equal(t, "4C4C4544-0058-4B10-8032-B7C04F513348", st.Identity.UUID)
	})
	t.Run("inventory", func(t *testing.T) {
		got, err := h.srv.Inventory(t.Context(), id)
		require.NoError(t, err)
		if diff := cmp.Diff(want, got, versionText); diff != "" {
			t.Errorf("inventory (-want +got):\n%s", diff)
		}
		require.Equal(t, []string{"nobody", "bob", "alice"}, got.UPNs)
	})
	run := func(t *testing.T, req immy.ScriptRequest) (immy.ScriptResult, error) {
		t.Helper()
		req.Computer = id
		return h.srv.RunScript(t.Context(), req)
	}
	sh := func(body string) immy.Script { return immy.Script{Language: immy.LanguageShell, Body: body} }

	t.Run("success", func(t *testing.T) {
		var streamed strings.Builder
		res, err := run(t, immy.ScriptRequest{
			Script:     sh(`echo "deploying $App"; echo "to $Dir" >&2; echo "$App 2.1.0"`),
			Parameters: map[string]any{"App": "acme", "Dir": "/opt"},
			Output:     func(b []byte) { streamed.WriteString(string(b)) },
		})
		require.NoError(t, err)
		if diff := cmp.Diff(immy.ScriptResult{Output: "deploying acme\nto /opt\nacme 2.1.0\n", Value: "acme 2.1.0"}, res); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		require.Equal(t, res.Output, streamed.String())
	})
	t.Run("failure", func(t *testing.T) {
		res, err := run(t, immy.ScriptRequest{Script: sh(`echo "disk full" >&2; exit 3`)})
		require.NoError(t, err, "a failed script is a result")
		require.Equal(t, 3, res.ExitCode)
		require.Equal(t, "disk full\n", res.Output)
	})
	t.Run("timeout", func(t *testing.T) {
		res, err := run(t, immy.ScriptRequest{Script: sh(`echo started; sleep 30; echo never`), Timeout: 300 * time.Millisecond})
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.ErrorContains(t, err, "stopped after its 300ms timeout")
		require.Equal(t, "started\n", res.Output)
	})
	t.Run("large output", func(t *testing.T) {
		var streamed int
		res, err := run(t, immy.ScriptRequest{
			Script:    sh(`head -c 5000000 /dev/zero | tr '\0' 'x'; echo; echo done`),
			MaxOutput: 256 << 10,
			Output:    func(b []byte) { streamed += len(b) },
		})
		require.NoError(t, err)
		require.True(t, res.Truncated)
		require.Len(t, res.Output, 256<<10)
		require.Equal(t, 256<<10, streamed)
		require.Equal(t, "done", res.Value, "the value is the last line of the whole output")
		res, err = run(t, immy.ScriptRequest{Script: sh(`head -c 3000000 /dev/zero | tr '\0' 'y'`)})
		require.NoError(t, err)
		require.Len(t, res.Output, agent.DefaultMaxOutput, "no cap asked: the default cap")
	})
	t.Run("cancel", func(t *testing.T) {
		pidFile := filepath.Join(t.TempDir(), "child.pid")
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		res, err := h.srv.RunScript(ctx, immy.ScriptRequest{
			Computer:   id,
			Script:     sh(`sleep 300 & echo $! > "$PidFile"; echo started; wait`),
			Parameters: map[string]any{"PidFile": pidFile},
			Output: func(b []byte) {
				if strings.Contains(string(b), "started") {
					cancel()
				}
			},
		})
		require.ErrorIs(t, err, context.Canceled)
		require.Equal(t, "started\n", res.Output)
		require.Equal(t, 137, res.ExitCode, "killed: the agent's last word came within the grace")
		b, err := os.ReadFile(pidFile)
		require.NoError(t, err)
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		require.NoError(t, err)
		requireGone(t, pid)
	})
	t.Run("lua", func(t *testing.T) {
		res, err := run(t, immy.ScriptRequest{Script: immy.Script{Language: immy.LanguageLua, Body: `print("in-process"); return Major * 10 + 1`}, Parameters: map[string]any{"Major": 4}})
		require.NoError(t, err)
		require.Equal(t, immy.ScriptResult{Output: "in-process\n", Value: "41"}, res)
	})
	t.Run("user context", func(t *testing.T) {
		nobody, err := user.Lookup("nobody")
		if err != nil {
			t.Skip("no user nobody here")
		}
		res, err := run(t, immy.ScriptRequest{Script: immy.Script{Language: immy.LanguageShell, Context: immy.ContextUser, Body: `id -u; echo "$HOME"`}})
		if os.Geteuid() != 0 {
			require.ErrorIs(t, err, agent.ErrPermission)
			return
		}
		require.NoError(t, err)
		require.Equal(t, nobody.Uid+"\n"+nobody.HomeDir+"\n", res.Output)
	})
	t.Run("killed connection reconnects", func(t *testing.T) {
		require.Positive(t, h.killConns())
		h.waitStatus(id, offline)
		h.waitStatus(id, online)
		res, err := run(t, immy.ScriptRequest{Script: sh("echo reconnected")})
		require.NoError(t, err)
		require.Equal(t, "reconnected", res.Value)
		require.Len(t, h.store.Records(), 1, "the same credential, no new enrolment")
	})
	t.Run("restart keeps the credential", func(t *testing.T) {
		require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
		require.Equal(t, 0, p.wait(t))
		h.waitStatus(id, offline)
		h.startBinary(nil, "-state", stateFile, "-root", root) // no token this time
		require.Equal(t, id, h.waitStatus(id, online).AgentID)
		require.Len(t, h.store.Records(), 1)
	})
}

// A wrong install token stops the binary with a clear message and exit
// status 3.
func TestEndToEndWrongToken(t *testing.T) {
	h := newHarness(t, agent.Config{})
	p := h.startBinary([]string{"IMMY_AGENT_TOKEN=immy1_wrong"}, "-state", filepath.Join(t.TempDir(), "state.json"))
	require.Equal(t, 3, p.wait(t))
	require.Contains(t, p.stderr.String(), "immy-agent: endpoint: refused by the server (install-token): install token not recognised")
	require.Empty(t, h.store.Records())
}

// An ephemeral agent, as an RMM's run-script starts it: no state file; it
// serves the session, then exits when idle and is forgotten.
func TestEndToEndEphemeral(t *testing.T) {
	h := newHarness(t, agent.Config{})
	stateDir := t.TempDir()
	p := h.startBinary([]string{"IMMY_AGENT_TOKEN=" + h.token("acme")}, "-ephemeral", "-idle", "1s", "-state", filepath.Join(stateDir, "state.json"))
	st := h.waitStatus("", online)
	require.True(t, st.Ephemeral)
	res, err := h.srv.RunScript(t.Context(), immy.ScriptRequest{Computer: st.AgentID, Script: immy.Script{Language: immy.LanguageShell, Body: "sleep 1.5; echo session done"}})
	require.NoError(t, err, "a script longer than the idle time keeps the agent")
	require.Equal(t, "session done", res.Value)
	require.Equal(t, 0, p.wait(t))
	require.True(t, h.waitStatus(st.AgentID, offline).Gone)
	require.Empty(t, h.store.Records())
	entries, err := os.ReadDir(stateDir)
	require.NoError(t, err)
	require.Empty(t, entries, "an ephemeral agent writes no state")
}

// A maintenance item played through the real agent as a session would:
// detect, install, verify; then uninstall and verify. The software lives in
// a temporary directory.
func TestEndToEndMaintenance(t *testing.T) {
	h := newHarness(t, agent.Config{})
	h.startBinary([]string{"IMMY_AGENT_TOKEN=" + h.token("acme")}, "-state", filepath.Join(t.TempDir(), "state.json"))
	computer := h.waitStatus("", online).AgentID
	installDir := t.TempDir()

	sw := immy.Software{
		ID: "acme-tool", Name: "Acme Tool",
		Detection: immy.Detection{Script: &immy.Script{Language: immy.LanguageShell, Body: `f="$InstallDir/acme-tool/VERSION"; if [ -f "$f" ]; then echo "found $(cat "$f")"; fi`}},
		Versions:  []immy.SoftwareVersion{{Version: immy.MustParseVersion("1.0.0")}, {Version: immy.MustParseVersion("2.1.0")}},
		Install: &immy.Script{Language: immy.LanguageShell, Body: `set -e
mkdir -p "$InstallDir/acme-tool"
printf '%s\n' "$Version" > "$InstallDir/acme-tool/VERSION"
echo "installed acme-tool $Version"`},
		Uninstall:       &immy.Script{Language: immy.LanguageShell, Body: `rm -rf "$InstallDir/acme-tool"; echo removed`},
		UpgradeStrategy: immy.UpgradeInstallOver,
	}
	params := func(v immy.Version) map[string]any {
		m := map[string]any{"InstallDir": installDir}
		if !v.IsZero() {
			m["Version"] = v.String()
		}
		return m
	}
	// detect runs the detection script; its output's last word is the version.
	detect := func() immy.Version {
		t.Helper()
		res, err := h.srv.RunScript(t.Context(), immy.ScriptRequest{Computer: computer, Script: *sw.Detection.Script, Parameters: params(immy.Version{})})
		require.NoError(t, err)
		require.Zero(t, res.ExitCode)
		words := strings.Fields(res.Value)
		if len(words) == 0 {
			return immy.Version{}
		}
		v, err := immy.ParseVersion(words[len(words)-1])
		require.NoError(t, err)
		return v
	}
	perform := func(s *immy.Script, v immy.Version) {
		t.Helper()
		res, err := h.srv.RunScript(t.Context(), immy.ScriptRequest{Computer: computer, Script: *s, Parameters: params(v), Timeout: time.Minute})
		require.NoError(t, err)
		require.Zero(t, res.ExitCode, res.Output)
	}

	// Desired: latest. Detected: absent -> install, then verify.
	latest := sw.Latest()
	require.True(t, detect().IsZero(), "nothing installed yet")
	perform(sw.Install, latest)
	require.True(t, detect().Equal(latest), "compliant: the latest version is detected after the install")

	// Detected older than desired -> update (install over), then verify.
	perform(sw.Install, immy.MustParseVersion("1.0.0"))
	require.True(t, detect().Less(latest))
	perform(sw.Install, latest)
	require.True(t, detect().Equal(latest))

	// Desired: uninstalled -> uninstall, then verify.
	perform(sw.Uninstall, immy.Version{})
	require.True(t, detect().IsZero(), "compliant: absent after the uninstall")
	_, err := os.Stat(filepath.Join(installDir, "acme-tool"))
	require.ErrorIs(t, err, os.ErrNotExist)
}
