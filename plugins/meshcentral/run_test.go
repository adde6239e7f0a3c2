//go:build unix

package meshcentral_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/plugins/meshcentral"
	"github.com/immyoss/engine/plugins/sdk/sdktest"
)

func start(t *testing.T, s server, byPassword bool, extra map[string]string) *sdktest.Harness {
	t.Helper()
	cfg, secrets := s.config(byPassword)
	for k, v := range extra {
		cfg[k] = v
	}
	p := &meshcentral.Plugin{}
	t.Cleanup(p.Close)
	return sdktest.Start(t, p, sdktest.Options{Config: cfg, Secrets: secrets})
}

// TestRunScript runs scripts on the real node through MeshCentral and reads
// their output: the MeshAgent runs on this machine, so the script sees this
// machine's files.
func TestRunScript(t *testing.T) {
	s := testServer(t)
	h := start(t, s, false, nil)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()

	host, err := os.Hostname()
	require.NoError(t, err)
	res, err := h.Instance.RunScript(ctx, immy.ScriptRequest{Computer: s.node, Timeout: 30 * time.Second,
		Script:     shell(`echo "host=$(hostname)"; echo "greeting=$Greeting"; echo "to stderr" >&2; exit 4`),
		Parameters: map[string]any{"Greeting": "it's a \"test\" $HOME"}})
	require.NoError(t, err)
	require.Equal(t, 4, res.ExitCode)
	require.Contains(t, res.Output, "host="+host+"\n")
	require.Contains(t, res.Output, "greeting=it's a \"test\" $HOME\n")
	require.Contains(t, res.Output, "to stderr\n")

	// a file written through MeshCentral is on this machine
	dir := t.TempDir()
	res, err = h.Instance.RunScript(ctx, immy.ScriptRequest{Computer: s.node, Timeout: 30 * time.Second,
		Script: shell("echo through-meshcentral > " + strconv.Quote(filepath.Join(dir, "f")) + " && echo written")})
	require.NoError(t, err)
	require.Equal(t, 0, res.ExitCode, res.Output)
	b, err := os.ReadFile(filepath.Join(dir, "f"))
	require.NoError(t, err)
	require.Equal(t, "through-meshcentral\n", string(b))

	t.Run("UserContextWithNobodyLoggedOn", func(t *testing.T) {
		_, err := h.Instance.RunScript(ctx, immy.ScriptRequest{Computer: s.node, Timeout: 10 * time.Second,
			Script: immy.Script{Language: immy.LanguageShell, Context: immy.ContextUser, Body: "id"}})
		require.ErrorIs(t, err, immy.ErrNoUserLoggedOn)
	})
	t.Run("WindowsLanguageOnLinux", func(t *testing.T) {
		_, err := h.Instance.RunScript(ctx, immy.ScriptRequest{Computer: s.node, Timeout: 10 * time.Second,
			Script: immy.Script{Language: immy.LanguagePowerShell, Body: "Get-Date"}})
		require.ErrorIs(t, err, immy.ErrInvalid)
	})
	t.Run("SecretParametersRefused", func(t *testing.T) {
		_, err := h.Instance.RunScript(ctx, immy.ScriptRequest{Computer: s.node, Timeout: 10 * time.Second,
			Script: shell("echo x"), Parameters: map[string]any{"Key": "s3cr3t-value"}, Secrets: []string{"Key"}})
		require.ErrorIs(t, err, immy.ErrInvalid)
		require.NotContains(t, err.Error(), "s3cr3t-value")
	})
	t.Run("SecretParametersAllowed", func(t *testing.T) {
		h := start(t, s, false, map[string]string{meshcentral.KeyAllowSecrets: "true"})
		res, err := h.Instance.RunScript(ctx, immy.ScriptRequest{Computer: s.node, Timeout: 10 * time.Second,
			Script: shell(`echo "key is $Key"`), Parameters: map[string]any{"Key": "s3cr3t-value"}, Secrets: []string{"Key"}})
		require.NoError(t, err)
		require.Equal(t, "key is [redacted]\n", res.Output)
		require.NotContains(t, h.Logs(), "s3cr3t-value")
	})
}

// TestRunScriptCancel: cancelling a run ends the script on the node, and
// what it started, well before its timeout, and leaves the agent free.
func TestRunScriptCancel(t *testing.T) {
	s := testServer(t)
	h := start(t, s, false, nil)
	pidFile := filepath.Join(t.TempDir(), "pid")
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		_, err := h.Instance.RunScript(ctx, immy.ScriptRequest{Computer: s.node, Timeout: time.Hour,
			Script: shell("sleep 3600 &\necho $! > " + strconv.Quote(pidFile) + "\nwait")})
		errc <- err
	}()
	var pid int
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(pidFile)
		if err != nil || !strings.HasSuffix(string(b), "\n") {
			return false
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil
	}, 30*time.Second, 20*time.Millisecond, "the script did not start")
	cancel()
	require.ErrorIs(t, <-errc, context.Canceled)
	require.Eventually(t, func() bool {
		err := syscall.Kill(pid, 0)
		return errors.Is(err, syscall.ESRCH)
	}, 15*time.Second, 50*time.Millisecond, "process %d the script started outlived the cancellation", pid)

	// the agent runs the next script at once
	ctx2, cancel2 := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel2()
	res, err := h.Instance.RunScript(ctx2, immy.ScriptRequest{Computer: s.node, Script: echo("free again")})
	require.NoError(t, err)
	require.Equal(t, "free again\n", res.Output)
}
