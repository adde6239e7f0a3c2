//go:build unix

package sdk

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// childPluginEnv makes the test binary a stand-in plugin that starts a
// script with StartChild and waits (see TestStartChildDiesWithPlugin).
const childPluginEnv = "SDK_TEST_CHILD_PLUGIN"

func TestMain(m *testing.M) {
	if pids := os.Getenv(childPluginEnv); pids != "" {
		cmd := exec.Command("sh", "-c", "sleep 60 & echo $$ $! > "+pids+".tmp; mv "+pids+".tmp "+pids+"; wait")
		if err := RunChild(cmd); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// readPids waits for the script to write its pid and its child's.
func readPids(t *testing.T, file string) (shell, child int) {
	t.Helper()
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(file)
		if err != nil {
			return false
		}
		_, err = fmt.Sscan(string(b), &shell, &child)
		return err == nil
	}, 10*time.Second, 10*time.Millisecond, "the script did not start")
	return shell, child
}

// The plugin killed by -9: its script and the script's background child die.
func TestStartChildDiesWithPlugin(t *testing.T) {
	exe, err := os.Executable()
	require.NoError(t, err)
	pids := filepath.Join(t.TempDir(), "pids")
	plugin := exec.Command(exe, "-test.run=^$")
	plugin.Env = append(os.Environ(), childPluginEnv+"="+pids)
	require.NoError(t, plugin.Start())
	shell, child := readPids(t, pids)
	require.True(t, alive(shell) && alive(child))

	require.NoError(t, plugin.Process.Kill())
	_ = plugin.Wait()
	require.Eventually(t, func() bool { return !alive(shell) && !alive(child) }, 5*time.Second, 20*time.Millisecond,
		"the script (%d) or its child (%d) outlived the plugin", shell, child)
}

// Cancelling the run kills the whole tree; a finished run's background
// leftovers are left alone.
func TestStartChildCancel(t *testing.T) {
	dir := t.TempDir()
	pids := filepath.Join(dir, "pids")
	ctx, cancel := context.WithCancel(t.Context())
	cmd := exec.CommandContext(ctx, "sh", "-c", "sleep 60 & echo $$ $! > "+pids+".tmp; mv "+pids+".tmp "+pids+"; wait")
	errc := make(chan error, 1)
	go func() { errc <- RunChild(cmd) }()
	shell, child := readPids(t, pids)
	cancel()
	require.Error(t, <-errc)
	require.Eventually(t, func() bool { return !alive(shell) && !alive(child) }, 5*time.Second, 20*time.Millisecond)

	left := filepath.Join(dir, "left")
	cmd = exec.Command("sh", "-c", "sleep 60 >/dev/null 2>&1 & echo $$ $! > "+left+".tmp; mv "+left+".tmp "+left)
	require.NoError(t, RunChild(cmd))
	_, child = readPids(t, left)
	require.True(t, alive(child), "a finished run's leftover keeps running")
	require.NoError(t, syscall.Kill(child, syscall.SIGKILL))

	_, err := StartChild(cmd)
	require.Error(t, err, "an started command")
}

// alive reports whether a process runs (a zombie does not count).
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}
