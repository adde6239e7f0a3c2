//go:build unix

package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/internal/testbin"
	"github.com/immyoss/engine/plugins"
	"github.com/immyoss/engine/plugins/sdk"
	"github.com/immyoss/engine/plugins/sdk/sdktest"
)

func sh(body string) immy.Script { return immy.Script{Language: immy.LanguageShell, Body: body} }

// TestConformance runs the SDK's conformance suite against the plugin, in process.
func TestConformance(t *testing.T) {
	sdktest.Suite{
		Options: sdktest.Options{Config: map[string]string{
			"shells": "shell-1,shell-2", "offline": "shell-2", "root": t.TempDir(),
		}},
		Agent:            "shell-1",
		Echo:             func(text string) immy.Script { return sh("echo '" + text + "'") },
		Exit:             func(code int) immy.Script { return sh("exit " + strconv.Itoa(code)) },
		Sleep:            func(d time.Duration) immy.Script { return sh(fmt.Sprintf("sleep %d", int(d.Seconds()))) },
		OfflineAgent:     "shell-2",
		MaintenanceAgent: "shell-1",
	}.Run(t, &rmm{})
}

func TestConfigurationProblems(t *testing.T) {
	err := (&rmm{}).Configure(context.Background(), configOf(map[string]string{"shells": "a,a,b c", "offline": "z"}), nil)
	require.ErrorIs(t, err, immy.ErrInvalid)
	require.EqualError(t, err, `rmm-plugin: shells: "b c" is not a valid agent id (letters, digits, '.', '_', '-'); `+
		`shells: listed twice: a; offline: "z" is not one of the shells: invalid`)
}

// pluginBin is this plugin's binary, built once per test binary.
var pluginBin = testbin.New("github.com/immyoss/engine/examples/rmm-plugin")

func TestMain(m *testing.M) {
	code := m.Run()
	pluginBin.Cleanup()
	os.Exit(code)
}

// buildPlugin returns the plugin's binary and its checksum.
func buildPlugin(t *testing.T) (string, string) {
	t.Helper()
	path, err := pluginBin.Path()
	require.NoError(t, err)
	sum, err := plugins.FileSHA256(path)
	require.NoError(t, err)
	return path, sum
}

// TestLoadedByHost loads the real binary through a plugins.Manager, runs
// scripts on a local shell, and merges the agents of two instances into one computer.
func TestLoadedByHost(t *testing.T) {
	path, sum := buildPlugin(t)
	m := plugins.NewManager(plugins.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), HealthInterval: -1})
	defer m.Close()
	ctx := context.Background()
	identity := map[string]string{"uuid": "1F3B5A7C-9D2E-4F60-8A1B-2C3D4E5F6071", "serial": "LAB-0001", "manufacturer": "Example Labs"}
	cfgA := map[string]string{"shells": "shell-1", "root": t.TempDir()}
	cfgB := map[string]string{"shells": "shell-9", "root": t.TempDir(), "client": "lab"}
	for k, v := range identity {
		cfgA[k], cfgB[k] = v, v
	}
	a, err := m.Start(ctx, plugins.Spec{ID: "rmm-a", Path: path, SHA256: sum, Config: cfgA})
	require.NoError(t, err)
	_, err = m.Start(ctx, plugins.Spec{ID: "rmm-b", Path: path, SHA256: sum, Config: cfgB})
	require.NoError(t, err)
	require.Equal(t, "local-shell-rmm", a.Info().Name)

	// A real script: environment parameters, stderr and stdout streamed in order, the exit code.
	var streamed strings.Builder
	res, err := a.RunScript(ctx, immy.ScriptRequest{
		Computer: "shell-1", Script: sh(`echo "hello $WHO"; echo "to stderr" >&2; pwd; exit 3`),
		Parameters: map[string]any{"WHO": "world"}, Output: func(p []byte) { streamed.Write(p) },
	})
	require.NoError(t, err)
	require.Equal(t, 3, res.ExitCode)
	require.Equal(t, "hello world\nto stderr\n"+cfgA["root"]+"/shell-1\n", res.Output)
	require.Equal(t, res.Output, streamed.String())

	// The deadline kills the script and what it started.
	pidFile := filepath.Join(t.TempDir(), "pid")
	_, err = a.RunScript(ctx, immy.ScriptRequest{Computer: "shell-1", Script: sh("sleep 30 & echo $! > " + pidFile + "; wait"), Timeout: 300 * time.Millisecond})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	b2, err := os.ReadFile(pidFile)
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b2)))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return syscall.Kill(pid, 0) != nil }, 5*time.Second, 20*time.Millisecond,
		"the script's child process %d survived the deadline", pid)

	// Both instances' agents are one machine.
	var agents []plugins.Agent
	for _, in := range m.Instances() {
		got, err := in.Agents(ctx)
		require.NoError(t, err)
		agents = append(agents, got...)
	}
	idn := plugins.Identifier{Priority: map[string]int{"rmm-b": 2, "rmm-a": 1}}.Identify(plugins.Observations{Agents: agents})
	require.Len(t, idn.Computers, 1)
	c := idn.Computers[0]
	require.Equal(t, []immy.Pathway{
		{Integration: "rmm-b", AgentID: "shell-9", Online: true, Priority: 2},
		{Integration: "rmm-a", AgentID: "shell-1", Online: true, Priority: 1},
	}, c.Pathways)

	// And a script addressed to the computer runs through the preferred pathway.
	runner := &plugins.PathwayRunner{Manager: m, Computer: func(id string) (immy.Computer, bool) { return c, id == c.ID }}
	res, err = runner.RunScript(ctx, immy.ScriptRequest{Computer: c.ID, Script: sh("echo $IMMY_AGENT")})
	require.NoError(t, err)
	require.Equal(t, "shell-9", res.Value)
}

func configOf(values map[string]string) sdk.Config { return sdk.NewConfig("test", values) }

// Issue 16: the plugin killed by -9 during RunScript takes the script with
// it, and what the script started in the background too.
func TestKilledPluginTakesScriptWithIt(t *testing.T) {
	path, sum := buildPlugin(t)
	m := plugins.NewManager(plugins.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), HealthInterval: -1})
	defer m.Close()
	ctx := context.Background()
	in, err := m.Start(ctx, plugins.Spec{ID: "rmm", Path: path, SHA256: sum, Config: map[string]string{"root": t.TempDir()}})
	require.NoError(t, err)

	dir := t.TempDir()
	pids := filepath.Join(dir, "pids")
	done := make(chan error, 1)
	go func() {
		// The shell, its parent (the plugin), and a background child, then wait.
		_, err := in.RunScript(ctx, immy.ScriptRequest{Computer: "shell-1", Script: sh(
			"sleep 60 & echo $$ $PPID $! > " + pids + ".tmp; mv " + pids + ".tmp " + pids + "; wait")})
		done <- err
	}()
	var shell, plugin, child int
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(pids)
		if err != nil {
			return false
		}
		_, err = fmt.Sscan(string(b), &shell, &plugin, &child)
		return err == nil
	}, 10*time.Second, 10*time.Millisecond, "the script did not start")
	for _, pid := range []int{shell, plugin, child} {
		require.True(t, alive(pid), "process %d", pid)
	}

	require.NoError(t, syscall.Kill(plugin, syscall.SIGKILL))
	select {
	case err := <-done:
		require.Error(t, err, "the run ends with the plugin")
	case <-time.After(10 * time.Second):
		t.Fatal("RunScript did not return after the plugin died")
	}
	require.Eventually(t, func() bool { return !alive(shell) && !alive(child) }, 5*time.Second, 20*time.Millisecond,
		"the script (%d) or its child (%d) outlived the plugin", shell, child)
}

// alive reports whether a process runs (a zombie, dead but not yet reaped
// by its new parent, does not count).
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true // no /proc: kill(0) is all there is
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// Issue 16: a script printing a secret parameter transformed (upper-cased,
// base64, hex), a byte at a time, shows it neither in the streamed output,
// the kept output nor the value.
func TestSecretTransformsMasked(t *testing.T) {
	path, sum := buildPlugin(t)
	m := plugins.NewManager(plugins.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), HealthInterval: -1})
	defer m.Close()
	ctx := context.Background()
	in, err := m.Start(ctx, plugins.Spec{ID: "rmm", Path: path, SHA256: sum, Config: map[string]string{"root": t.TempDir()}})
	require.NoError(t, err)
	var streamed strings.Builder
	res, err := in.RunScript(ctx, immy.ScriptRequest{
		Computer: "shell-1",
		Script: sh(`printf '%s\n' "$PASS" | tr a-z A-Z
s=$(printf 'svc:%s' "$PASS" | base64); while [ -n "$s" ]; do printf '%s' "${s%"${s#?}"}"; s="${s#?}"; done; echo
printf '%s' "$PASS" | od -An -tx1 | tr -d ' \n'; echo
printf '%s\n' "$PASS"`),
		Parameters: map[string]any{"PASS": "Tr0ub4dor&3x"}, Secrets: []string{"PASS"},
		Output: func(p []byte) { streamed.Write(p) },
	})
	require.NoError(t, err)
	want := "[redacted]\nc3ZjO[redacted]=\n[redacted]\n[redacted]\n"
	require.Equal(t, want, res.Output)
	require.Equal(t, want, streamed.String())
	require.Equal(t, "[redacted]", res.Value)
}
