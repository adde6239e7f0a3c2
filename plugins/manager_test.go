package plugins_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/plugins"
)

// The test plugin is built once per test binary, on first use.
var (
	buildOnce  sync.Once
	buildDir   string
	pluginPath string
	pluginSum  string
	buildErr   error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// testPlugin returns the path and checksum of the test plugin binary.
func testPlugin(t testing.TB) (string, string) {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "plugins-test-")
		if buildErr != nil {
			return
		}
		pluginPath = filepath.Join(buildDir, "testplugin")
		buildErr = goBuild(pluginPath, "./internal/testplugin")
		if buildErr == nil {
			pluginSum, buildErr = plugins.FileSHA256(pluginPath)
		}
	})
	require.NoError(t, buildErr)
	return pluginPath, pluginSum
}

func goBuild(out, pkg string) error {
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	cmd := exec.Command(goBin, "build", "-o", out, pkg)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	return nil
}

// logBuffer is a slog destination safe to read while plugins write to it.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type harness struct {
	m     *plugins.Manager
	logs  *logBuffer
	store *plugins.MemoryStore

	mu       sync.Mutex
	progress []plugins.Progress
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{logs: &logBuffer{}, store: &plugins.MemoryStore{}}
	h.m = plugins.NewManager(plugins.Config{
		Logger:         slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Store:          h.store,
		HealthInterval: -1,
		RestartDelay:   20 * time.Millisecond,
		Progress: func(p plugins.Progress) {
			h.mu.Lock()
			h.progress = append(h.progress, p)
			h.mu.Unlock()
		},
	})
	t.Cleanup(func() { h.m.Close() })
	return h
}

func (h *harness) start(t *testing.T, id string, cfg map[string]string, args ...string) *plugins.Instance {
	t.Helper()
	path, sum := testPlugin(t)
	in, err := h.m.Start(context.Background(), plugins.Spec{ID: id, Path: path, SHA256: sum, Args: args, Config: cfg})
	require.NoError(t, err)
	return in
}

func shell(body string) immy.Script {
	return immy.Script{Language: immy.LanguageShell, Body: body}
}

func TestStartDescribeAndCall(t *testing.T) {
	h := newHarness(t)
	path, sum := testPlugin(t)
	ctx := context.Background()
	in, err := h.m.Start(ctx, plugins.Spec{
		ID: "rmm-1", Path: path, SHA256: sum,
		Config: map[string]string{"agents": "4", "token": "hunter2-secret"}, Secrets: []string{"token"},
	})
	require.NoError(t, err)

	info := in.Info()
	want := plugins.Info{
		Name: "testplugin", Version: "1.0.0", Description: "plugin of the tests of package plugins", Protocol: 2,
		Capabilities: []plugins.Capability{plugins.CapAgents, plugins.CapClients, plugins.CapRunScript},
		ConfigFields: []plugins.ConfigField{
			{Key: "agents", Description: "how many agents to list"},
			{Key: "token", Description: "an API token", Secret: true},
		},
	}
	if diff := cmp.Diff(want, info); diff != "" {
		t.Errorf("Info (-want +got):\n%s", diff)
	}
	require.Equal(t, plugins.Ready, in.Status().State)

	clients, err := in.Clients(ctx)
	require.NoError(t, err)
	if diff := cmp.Diff([]plugins.Client{{Integration: "rmm-1", ID: "c1", Name: "Contoso"}, {Integration: "rmm-1", ID: "c2", Name: "Fabrikam"}}, clients); diff != "" {
		t.Errorf("Clients (-want +got):\n%s", diff)
	}

	agents, err := in.Agents(ctx)
	require.NoError(t, err)
	require.Len(t, agents, 4)
	if diff := cmp.Diff(plugins.Agent{
		Integration: "rmm-1", ID: "agent-000001", Client: "c2", Name: "PC-000001", Online: true,
		LastSeen: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC),
		Identity: immy.Identity{
			UUID: "4C4C4544-0042-3510-8051-000000000001", Serial: "SN000001", Manufacturer: "Dell Inc.",
			Model: "Latitude 7440", Hostname: "pc-000001", OS: "Windows 11 Pro", OSVersion: "10.0.22631",
			OSInstallID: "install-000001", Kind: immy.KindWorkstation, Domain: "contoso.local",
		},
	}, agents[1]); diff != "" {
		t.Errorf("agent (-want +got):\n%s", diff)
	}

	var streamed bytes.Buffer
	res, err := in.RunScript(ctx, immy.ScriptRequest{
		Computer: "agent-000001", Script: shell("echo hello\nparam who\necho done"),
		Parameters: map[string]any{"who": "world"},
		Output:     func(b []byte) { streamed.Write(b) },
	})
	require.NoError(t, err)
	require.Equal(t, immy.ScriptResult{ExitCode: 0, Output: "hello\nworld\ndone\n", Value: "done"}, res)
	require.Equal(t, res.Output, streamed.String())

	res, err = in.RunScript(ctx, immy.ScriptRequest{Computer: "a", Script: shell("echo x\nexit 4")})
	require.NoError(t, err)
	require.Equal(t, 4, res.ExitCode)

	res, err = in.RunScript(ctx, immy.ScriptRequest{Computer: "a", Script: shell("echo 0123456789\nvalue v"), MaxOutput: 4})
	require.NoError(t, err)
	require.Equal(t, immy.ScriptResult{Output: "0123", Truncated: true, Value: "v"}, res)

	// The plugin's log record came through the host services, secret hidden.
	logs := h.logs.String()
	require.Contains(t, logs, `"msg":"configured"`)
	require.Contains(t, logs, `"plugin":"rmm-1"`)
	require.Contains(t, logs, "[redacted]")
	require.NotContains(t, logs, "hunter2-secret")

	// The private key-value context holds what the plugin wrote.
	v, ok, err := h.store.Get(ctx, "rmm-1", "starts")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "1", string(v))
}

func TestTamperedBinaryRefused(t *testing.T) {
	path, sum := testPlugin(t)
	h := newHarness(t)
	// A copy of the plugin, changed after its checksum was taken.
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	tampered := filepath.Join(t.TempDir(), "testplugin")
	require.NoError(t, os.WriteFile(tampered, append(b, 0), 0o755))

	_, err = h.m.Start(context.Background(), plugins.Spec{ID: "x", Path: tampered, SHA256: sum})
	var ce *plugins.ChecksumError
	require.ErrorAs(t, err, &ce)
	require.ErrorIs(t, err, immy.ErrInvalid)
	require.Equal(t, sum, ce.Want)
	require.NotEqual(t, sum, ce.Got)
	require.Contains(t, err.Error(), "refusing to run it")
	_, ok := h.m.Instance("x")
	require.False(t, ok)
	require.Empty(t, h.m.Instances())
}

func TestCrashMidCallRestarts(t *testing.T) {
	h := newHarness(t)
	in := h.start(t, "rmm", nil)
	ctx := context.Background()

	_, err := in.RunScript(ctx, immy.ScriptRequest{Computer: "agent-1", Script: shell("echo working\nsleep 50ms\ncrash")})
	var crash *plugins.CrashError
	require.ErrorAs(t, err, &crash)
	require.ErrorIs(t, err, plugins.ErrCrashed)
	require.Equal(t, "rmm", crash.Instance)
	require.Equal(t, "RunScript", crash.Call)
	require.ErrorIs(t, err, immy.ErrOffline, "unreachable through the integration until the restart")
	require.NotErrorIs(t, err, plugins.ErrNotDelivered, "the script may have started")

	// The next call waits for the restart and works.
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	res, err := in.RunScript(ctx, immy.ScriptRequest{Computer: "agent-1", Script: shell("echo again")})
	require.NoError(t, err)
	require.Equal(t, "again\n", res.Output)
	st := in.Status()
	require.Equal(t, plugins.Ready, st.State)
	require.Equal(t, 1, st.Restarts)
	require.ErrorIs(t, st.Err, plugins.ErrCrashed)

	// The restarted process was configured again and kept its private context.
	v, _, err := h.store.Get(ctx, "rmm", "starts")
	require.NoError(t, err)
	require.Equal(t, "2", string(v))
}

func TestOlderProtocolServed(t *testing.T) {
	h := newHarness(t)
	in := h.start(t, "legacy", map[string]string{"site": "hq"}, "-protocol=1")
	ctx := context.Background()

	info := in.Info()
	require.Equal(t, 1, info.Protocol)
	require.Equal(t, "legacy", info.Name)
	require.Equal(t, []plugins.Capability{plugins.CapAgents, plugins.CapRunScript}, info.Capabilities)

	agents, err := in.Agents(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"old-1", "old-2"}, []string{agents[0].ID, agents[1].ID})
	require.Equal(t, "4C4C4544-0042-3510-8051-000000000001", agents[0].Identity.UUID)

	var streamed strings.Builder
	res, err := in.RunScript(ctx, immy.ScriptRequest{
		Computer: "old-1", Script: immy.Script{Language: immy.LanguagePowerShell, Body: "whatever"},
		Parameters: map[string]any{"greeting": "hello"}, Output: func(b []byte) { streamed.Write(b) },
	})
	require.NoError(t, err)
	require.Equal(t, immy.ScriptResult{ExitCode: 7, Output: "agent=old-1 language=powershell\ngreeting=hello\nconfigured=hq\n", Value: "configured=hq"}, res)
	require.Equal(t, res.Output, streamed.String())

	_, err = in.Clients(ctx)
	require.ErrorIs(t, err, plugins.ErrUnsupported)
	_, err = in.DeviceGroups(ctx)
	require.ErrorIs(t, err, plugins.ErrUnsupported)
	require.ErrorIs(t, err, errors.ErrUnsupported)
	require.NoError(t, in.Health(ctx))
}

func TestSeveralInstancesAndClose(t *testing.T) {
	h := newHarness(t)
	a := h.start(t, "a", map[string]string{"agents": "2"})
	b := h.start(t, "b", map[string]string{"agents": "5"})
	ctx := context.Background()

	_, err := h.m.Start(ctx, plugins.Spec{ID: "a", Path: pluginPath, SHA256: pluginSum})
	require.ErrorIs(t, err, immy.ErrInvalid)

	got := map[string]int{}
	for _, in := range h.m.Instances() {
		agents, err := in.Agents(ctx)
		require.NoError(t, err)
		got[in.ID()] = len(agents)
	}
	require.Equal(t, map[string]int{"a": 2, "b": 5}, got)

	require.NoError(t, h.m.Stop("a"))
	_, err = a.Agents(ctx)
	require.ErrorIs(t, err, plugins.ErrStopped)
	_, err = b.Agents(ctx)
	require.NoError(t, err)
	require.ErrorIs(t, h.m.Stop("a"), immy.ErrNotFound)

	require.Len(t, processesOf(t, pluginPath), 1, "instance a's process is gone, b's runs")
	require.NoError(t, h.m.Close())
	require.Empty(t, processesOf(t, pluginPath), "Close killed every plugin process")
	_, err = b.Agents(ctx)
	require.ErrorIs(t, err, plugins.ErrStopped)
	require.Equal(t, plugins.Stopped, b.Status().State)
	_, err = h.m.Start(ctx, plugins.Spec{ID: "c", Path: pluginPath, SHA256: pluginSum})
	require.ErrorIs(t, err, plugins.ErrStopped)
}

func TestScriptErrors(t *testing.T) {
	h := newHarness(t)
	in := h.start(t, "rmm", nil)
	ctx := context.Background()
	tests := []struct {
		name    string
		req     immy.ScriptRequest
		want    error
		without string // text the error must not show
	}{
		{name: "offline agent", req: immy.ScriptRequest{Computer: "offline-7", Script: shell("echo x")}, want: immy.ErrOffline},
		{name: "nobody logged on", req: immy.ScriptRequest{Computer: "a", Script: immy.Script{Language: immy.LanguageShell, Context: immy.ContextUser, Body: "echo x"}}, want: immy.ErrNoUserLoggedOn},
		{name: "rejected by the plugin", req: immy.ScriptRequest{Computer: "a", Script: shell("bogus")}, want: immy.ErrInvalid},
		{name: "lua runs on the server", req: immy.ScriptRequest{Computer: "a", Script: immy.Script{Language: immy.LanguageLua, Body: "return true"}}, want: immy.ErrInvalid},
		{name: "metascript context", req: immy.ScriptRequest{Computer: "a", Script: immy.Script{Language: immy.LanguageShell, Context: immy.ContextMetascript}}, want: immy.ErrInvalid},
		{name: "no agent", req: immy.ScriptRequest{Script: shell("echo x")}, want: immy.ErrInvalid},
		{name: "unsupported parameter", req: immy.ScriptRequest{Computer: "a", Script: shell("echo"), Parameters: map[string]any{"pw": struct{ X int }{42}}, Secrets: []string{"pw"}}, want: immy.ErrInvalid},
		{
			name: "secret kept out of the error",
			req: immy.ScriptRequest{Computer: "a", Script: shell("fail pw"),
				Parameters: map[string]any{"pw": "correct-horse-battery"}, Secrets: []string{"pw"}},
			without: "correct-horse-battery",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := in.RunScript(ctx, tt.req)
			require.Error(t, err)
			if tt.want != nil {
				require.ErrorIs(t, err, tt.want)
			}
			if tt.without != "" {
				require.NotContains(t, err.Error(), tt.without)
				require.Contains(t, err.Error(), "[redacted]")
			}
			require.NotErrorIs(t, err, plugins.ErrCrashed)
		})
	}

	// A panic in the plugin's code fails the call, not the plugin.
	_, err := in.RunScript(ctx, immy.ScriptRequest{Computer: "a", Script: shell("panic")})
	require.ErrorContains(t, err, "plugin panicked")
	require.NotErrorIs(t, err, plugins.ErrCrashed)
	res, err := in.RunScript(ctx, immy.ScriptRequest{Computer: "a", Script: shell("echo still here")})
	require.NoError(t, err)
	require.Equal(t, "still here", res.Value)
	require.Equal(t, 0, in.Status().Restarts)
	require.Eventually(t, func() bool { return strings.Contains(h.logs.String(), "asked to panic") }, 5*time.Second, 10*time.Millisecond,
		"the panic's stack reaches the host's log through stderr")
}

func TestScriptDeadlineAndCancel(t *testing.T) {
	h := newHarness(t)
	in := h.start(t, "rmm", nil)

	_, err := in.RunScript(context.Background(), immy.ScriptRequest{Computer: "a", Script: shell("sleep 1m"), Timeout: 100 * time.Millisecond})
	require.ErrorIs(t, err, context.DeadlineExceeded)

	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		time.Sleep(100 * time.Millisecond)
		cancel()
	}()
	_, err = in.RunScript(ctx, immy.ScriptRequest{Computer: "a", Script: shell("sleep 1m")})
	require.ErrorIs(t, err, context.Canceled)

	res, err := in.RunScript(context.Background(), immy.ScriptRequest{Computer: "a", Script: shell("echo ok")})
	require.NoError(t, err)
	require.Equal(t, "ok", res.Value)
}

func TestConfigurationRejected(t *testing.T) {
	h := newHarness(t)
	path, sum := testPlugin(t)
	_, err := h.m.Start(context.Background(), plugins.Spec{ID: "bad", Path: path, SHA256: sum, Config: map[string]string{"agents": "many"}})
	require.ErrorIs(t, err, immy.ErrInvalid)
	require.ErrorContains(t, err, `agents: "many" is not a count`)
	require.Empty(t, h.m.Instances())
}

func TestInvalidAgentsReported(t *testing.T) {
	h := newHarness(t)
	in := h.start(t, "rmm", map[string]string{"agents": "2", "bad_agents": "true"})
	agents, err := in.Agents(context.Background())
	var re *plugins.ResponseError
	require.ErrorAs(t, err, &re)
	require.ErrorIs(t, err, immy.ErrInvalid)
	require.Equal(t, "rmm", re.Instance)
	require.Len(t, agents, 2, "the valid agents are still delivered")
	var msgs []string
	for _, p := range re.Problems {
		msgs = append(msgs, p.Error())
	}
	require.Equal(t, []string{
		"agent #3: id: is empty",
		`agent "agent-000000": id: duplicate: already listed`,
		`agent #5: client_id: is empty`,
	}, msgs)
}

func TestProgressAndHealth(t *testing.T) {
	h := newHarness(t)
	in := h.start(t, "rmm", nil)
	ctx := context.Background()
	_, err := in.RunScript(ctx, immy.ScriptRequest{Computer: "a", Script: shell("progress 50\necho x")})
	require.NoError(t, err)
	h.mu.Lock()
	got := h.progress
	h.mu.Unlock()
	require.Equal(t, []plugins.Progress{{Instance: "rmm", Operation: "rmm/run-script/1", Percent: 50, Message: "working"}}, got)

	require.NoError(t, in.Health(ctx))
	sick := h.start(t, "sick", map[string]string{"unhealthy": "API key refused"})
	err = sick.Health(ctx)
	require.ErrorIs(t, err, plugins.ErrUnhealthy)
	require.ErrorContains(t, err, "API key refused")
	st := sick.Status()
	require.False(t, st.Healthy)
	require.Equal(t, "API key refused", st.HealthMessage)
}

func TestSpecProblems(t *testing.T) {
	m := plugins.NewManager(plugins.Config{})
	defer m.Close()
	_, err := m.Start(context.Background(), plugins.Spec{
		Path: "/nowhere", SHA256: "abc", Config: map[string]string{"k": "v"}, Secrets: []string{"missing"},
	})
	require.ErrorIs(t, err, immy.ErrInvalid)
	var ps immy.Problems
	require.ErrorAs(t, err, &ps)
	var msgs []string
	for _, p := range ps {
		msgs = append(msgs, p.Error())
	}
	require.Equal(t, []string{
		"plugin #1: id: is empty",
		`plugin #1: secrets: names "missing", which is not a configuration key`,
		"plugin #1: sha256: must be the binary's SHA-256 in 64 hexadecimal digits",
	}, msgs)
}

func TestSpecLogValueHidesSecrets(t *testing.T) {
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("start", "spec", plugins.Spec{
		ID: "psa", Path: "/p", Config: map[string]string{"url": "https://psa", "key": "s3cr3t"}, Secrets: []string{"key"},
	})
	require.Contains(t, buf.String(), "spec.config.url=https://psa")
	require.Contains(t, buf.String(), "spec.config.key=[redacted]")
	require.NotContains(t, buf.String(), "s3cr3t")
}

func TestHungPluginKilledAndRestarted(t *testing.T) {
	path, sum := testPlugin(t)
	m := plugins.NewManager(plugins.Config{
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
		HealthInterval: 50 * time.Millisecond, RestartDelay: 10 * time.Millisecond,
	})
	defer m.Close()
	in, err := m.Start(context.Background(), plugins.Spec{ID: "stuck", Path: path, SHA256: sum, Config: map[string]string{"hang_health": "true"}})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return in.Status().Restarts >= 1 }, 20*time.Second, 20*time.Millisecond,
		"a plugin missing its health checks is restarted")
}

func TestRestartRefusesTamperedBinary(t *testing.T) {
	path, sum := testPlugin(t)
	// The instance runs a copy, which is replaced while it runs.
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	dir := t.TempDir()
	bin := filepath.Join(dir, "testplugin")
	require.NoError(t, os.WriteFile(bin, b, 0o755))
	h := newHarness(t)
	in, err := h.m.Start(context.Background(), plugins.Spec{ID: "rmm", Path: bin, SHA256: sum})
	require.NoError(t, err)
	require.NoError(t, os.Rename(bin, bin+".old"))
	require.NoError(t, os.WriteFile(bin, append(b, 1, 2, 3), 0o755))

	_, err = in.RunScript(context.Background(), immy.ScriptRequest{Computer: "a", Script: shell("crash")})
	require.ErrorIs(t, err, plugins.ErrCrashed)
	_, err = in.RunScript(context.Background(), immy.ScriptRequest{Computer: "a", Script: shell("echo x")})
	require.ErrorIs(t, err, plugins.ErrFailed)
	var ce *plugins.ChecksumError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, plugins.Failed, in.Status().State)
}

// processesOf lists the live processes running the binary at path.
func processesOf(t *testing.T, path string) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Skip("no /proc")
	}
	var pids []int
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscan(e.Name(), &pid); err != nil {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err != nil || exe != path {
			continue
		}
		if stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil && strings.Contains(string(stat), ") Z ") {
			continue // a zombie is dead
		}
		pids = append(pids, pid)
	}
	return pids
}
