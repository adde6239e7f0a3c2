//go:build unix

package script_test

import (
	"context"
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

	"github.com/immyoss/engine/agent/script"
	"github.com/immyoss/engine/agent/sysinfo"
	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/immytest"
)

func shellKit(t *testing.T) immytest.RunnerKit {
	return immytest.RunnerKit{
		Runner:   script.New(script.Config{Logins: noLogins, TempDir: t.TempDir()}),
		Computer: "this machine",
		NoUser:   "this machine",
		Language: immy.LanguageShell,
		Print: func(lines ...string) string {
			var b strings.Builder
			for _, l := range lines {
				fmt.Fprintf(&b, "printf '%%s\\n' %s\n", shQuote(l))
			}
			return b.String()
		},
		Exit:       func(code int) string { return fmt.Sprintf("exit %d", code) },
		Sleep:      func(d time.Duration) string { return fmt.Sprintf("sleep %g", d.Seconds()) },
		PrintParam: func(name string) string { return fmt.Sprintf("printf '%%s\\n' \"$%s\"", name) },
	}
}

func shQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func TestConformanceShell(t *testing.T) { immytest.TestRunner(t, shellKit) }

func sh(body string) immy.Script { return immy.Script{Language: immy.LanguageShell, Body: body} }

func TestShell(t *testing.T) {
	r := script.New(script.Config{Logins: noLogins})
	tests := []struct {
		name   string
		body   string
		params map[string]any
		want   immy.ScriptResult
	}{
		{"stdout and stderr in order", "echo one; echo two >&2; echo three", nil,
			immy.ScriptResult{Output: "one\ntwo\nthree\n", Value: "three"}},
		{"value is the last non-empty line", "echo '  4.2.1  '; echo; echo '   '", nil,
			immy.ScriptResult{Output: "  4.2.1  \n\n   \n", Value: "4.2.1"}},
		{"no trailing newline", "printf 'a\\nb'", nil, immy.ScriptResult{Output: "a\nb", Value: "b"}},
		{"exit code", "echo failing; exit 7", nil, immy.ScriptResult{ExitCode: 7, Output: "failing\n", Value: "failing"}},
		{"killed by a signal", "kill -9 $$", nil, immy.ScriptResult{ExitCode: 137}},
		{"typed parameters", `echo "$Name $Count $Enabled $Ratio $Map"`,
			map[string]any{"Name": "web", "Count": 3.0, "Enabled": true, "Ratio": 0.25, "Map": map[string]string{"k": "v"}},
			immy.ScriptResult{Output: "web 3 true 0.25 {\"k\":\"v\"}\n", Value: "web 3 true 0.25 {\"k\":\"v\"}"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := run(t, r, sh(tt.body), func(q *immy.ScriptRequest) { q.Parameters = tt.params })
			require.NoError(t, err)
			if diff := cmp.Diff(tt.want, res); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestOutputCap(t *testing.T) {
	r := script.New(script.Config{Logins: noLogins})
	var streamed strings.Builder
	res, err := run(t, r, sh(`i=0; while [ $i -lt 5000 ]; do echo "line $i of many"; i=$((i+1)); done; echo "the end"`), func(q *immy.ScriptRequest) {
		q.MaxOutput = 1000
		q.Output = func(b []byte) { streamed.Write(b) }
	})
	require.NoError(t, err)
	require.True(t, res.Truncated)
	require.Len(t, res.Output, 1000)
	require.True(t, strings.HasPrefix(res.Output, "line 0 of many\nline 1 of many\n"))
	require.Equal(t, res.Output, streamed.String(), "streams what it keeps, no more")
	require.Equal(t, "the end", res.Value, "the value is the last line of the whole output")

	// A multi-byte character is not cut in half.
	res, err = run(t, r, sh(`printf 'ab\303\251cd'`), func(q *immy.ScriptRequest) { q.MaxOutput = 3 })
	require.NoError(t, err)
	require.Equal(t, "ab", res.Output)
}

func TestSecretsMasked(t *testing.T) {
	r := script.New(script.Config{Logins: noLogins})
	var streamed strings.Builder
	// The secret is written one byte at a time, so it crosses chunks.
	res, err := run(t, r, sh(`echo "user=$User pass=$Pass"; printf '%s' "$Pass" | while IFS= read -r -n1 c 2>/dev/null || [ -n "$c" ]; do printf '%s' "$c"; done; s="$Pass"; while [ -n "$s" ]; do printf '%s' "${s%"${s#?}"}"; s="${s#?}"; done; echo; echo "$Pass"`),
		func(q *immy.ScriptRequest) {
			q.Parameters = map[string]any{"User": "admin", "Pass": "hunter2-Secret!"}
			q.Secrets = []string{"Pass"}
			q.Output = func(b []byte) { streamed.Write(b) }
		})
	require.NoError(t, err)
	require.NotContains(t, res.Output, "hunter2")
	require.NotContains(t, streamed.String(), "hunter2")
	require.Contains(t, res.Output, "user=admin pass=********")
	require.Equal(t, "********", res.Value)
}

// Issue 16: a secret printed transformed (other case, base64, hex, URL- or
// JSON-escaped) is masked in the output, streamed or kept, and in the value;
// and the output cap does not join two fragments into the secret.
func TestSecretTransformsMasked(t *testing.T) {
	r := script.New(script.Config{Logins: noLogins})
	var streamed strings.Builder
	res, err := run(t, r, sh(`printf '%s\n' "$Pass" | tr a-z A-Z
printf 'basic %s\n' "$(printf 'admin:%s' "$Pass" | base64)"
printf '%s' "$Pass" | od -An -tx1 | tr -d ' \n'; echo
printf '{"p":"%s"}\n' "$(printf '%s' "$Pass" | sed 's/"/\\"/g')"
echo "url: p%40ss%22w0rd%21"
echo "$Pass" | base64`),
		func(q *immy.ScriptRequest) {
			q.Parameters = map[string]any{"Pass": `p@ss"w0rd!`}
			q.Secrets = []string{"Pass"}
			q.Output = func(b []byte) { streamed.Write(b) }
		})
	require.NoError(t, err)
	want := "********\nbasic YWRta********\n********\n{\"p\":\"********\"}\nurl: ********\n********=\n" // =: padding only
	require.Equal(t, want, res.Output)
	require.Equal(t, want, streamed.String())
	require.Equal(t, "********=", res.Value)

	res, err = run(t, r, sh(`printf 'huntQ\200\200\200er2abc'`), func(q *immy.ScriptRequest) {
		q.Parameters = map[string]any{"Pass": "hunter2"}
		q.Secrets = []string{"Pass"}
		q.MaxOutput = 7
	})
	require.NoError(t, err)
	require.True(t, res.Truncated)
	require.Equal(t, "huntQ\x80\x80", res.Output, "nothing is kept after the cap cut")
}

// A cancelled script's whole process group dies: the background child too.
func TestCancelKillsProcessGroup(t *testing.T) {
	r := script.New(script.Config{Logins: noLogins, WaitDelay: 200 * time.Millisecond})
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child.pid")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	started := make(chan struct{})
	var once sync.Once
	res, err := r.RunScript(ctx, immy.ScriptRequest{
		Script:     sh(`sleep 300 & echo $! > "$PidFile"; echo started; wait`),
		Parameters: map[string]any{"PidFile": pidFile},
		Output: func(b []byte) {
			if strings.Contains(string(b), "started") {
				once.Do(func() { close(started); cancel() })
			}
		},
	})
	<-started
	require.ErrorIs(t, err, context.Canceled)
	require.Contains(t, res.Output, "started", "the output so far comes back")
	b, err := os.ReadFile(pidFile)
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	require.NoError(t, err)
	requireGone(t, pid)
}

// requireGone waits for a killed process to be reaped (by init), failing if
// it is still there after a generous while.
func requireGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := syscall.Kill(pid, 0)
		if errors.Is(err, syscall.ESRCH) {
			return
		}
		if st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); strings.Contains(string(st), ") Z ") {
			return // killed, a zombie waiting for its parent
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d still runs after its script was cancelled", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestTimeout(t *testing.T) {
	r := script.New(script.Config{Logins: noLogins})
	res, err := run(t, r, sh("echo before; sleep 30; echo after"), func(q *immy.ScriptRequest) { q.Timeout = 200 * time.Millisecond })
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorContains(t, err, "stopped after its 200ms timeout")
	require.Equal(t, "before\n", res.Output)
}

func TestCouldNotRun(t *testing.T) {
	r := script.New(script.Config{Logins: noLogins})
	tests := []struct {
		name string
		req  immy.ScriptRequest
		is   error
		msg  string
	}{
		{"metascript", immy.ScriptRequest{Script: immy.Script{Language: immy.LanguageLua, Context: immy.ContextMetascript}}, immy.ErrInvalid, "runs on the server"},
		{"no language", immy.ScriptRequest{Script: immy.Script{Body: "x"}}, immy.ErrInvalid, `language ""`},
		{"bad parameter names", immy.ScriptRequest{Script: sh("true"), Parameters: map[string]any{"ok": 1, "not ok": 2, "9lives": 3}}, immy.ErrInvalid, `parameter name "9lives"`},
		{"NUL in a value", immy.ScriptRequest{Script: sh("true"), Parameters: map[string]any{"x": "a\x00b"}}, immy.ErrInvalid, "NUL byte"},
		{"cmd off Windows", immy.ScriptRequest{Script: immy.Script{Language: immy.LanguageCmd, Body: "echo hi"}}, script.ErrUnavailable, "runs on Windows only"},
		{"user context, nobody logged on", immy.ScriptRequest{Script: immy.Script{Language: immy.LanguageShell, Context: immy.ContextUser, Body: "id"}}, immy.ErrNoUserLoggedOn, "user context"},
		{"lua in user context", immy.ScriptRequest{Script: immy.Script{Language: immy.LanguageLua, Context: immy.ContextUser, Body: "return 1"}}, immy.ErrInvalid, "system context only"},
	}
	if _, err := exec.LookPath("pwsh"); err != nil {
		tests = append(tests, struct {
			name string
			req  immy.ScriptRequest
			is   error
			msg  string
		}{"powershell without pwsh", immy.ScriptRequest{Script: immy.Script{Language: immy.LanguagePowerShell, Body: "Write-Output 1"}}, script.ErrUnavailable, "pwsh is not installed"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := r.RunScript(t.Context(), tt.req)
			require.ErrorIs(t, err, tt.is)
			require.ErrorContains(t, err, tt.msg)
		})
	}
}

// With a real pwsh on the machine, PowerShell scripts get their parameters.
func TestPowerShell(t *testing.T) {
	if _, err := exec.LookPath("pwsh"); err != nil {
		t.Skip("pwsh is not installed")
	}
	r := script.New(script.Config{Logins: noLogins})
	res, err := run(t, r, immy.Script{Language: immy.LanguagePowerShell, Body: "param([string]$Name, [int]$Count)\nWrite-Output \"$Name x$Count $Undeclared\"\nexit 4"},
		func(q *immy.ScriptRequest) {
			q.Parameters = map[string]any{"Name": "web", "Count": 3.0, "Undeclared": "also"}
		})
	require.NoError(t, err)
	require.Equal(t, 4, res.ExitCode)
	require.Equal(t, "web x3 also", res.Value)
}

// As root, a user-context script runs as the logged-on user.
func TestUserContext(t *testing.T) {
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody on this machine")
	}
	logins := func(context.Context) ([]sysinfo.Login, error) {
		return []sysinfo.Login{{User: "nobody", Active: true, Time: time.Now()}}, nil
	}
	r := script.New(script.Config{Logins: logins})
	res, err := run(t, r, immy.Script{Language: immy.LanguageShell, Context: immy.ContextUser, Body: `id -u; echo "$USER"`})
	if os.Geteuid() != 0 {
		require.ErrorIs(t, err, script.ErrPermission)
		require.ErrorContains(t, err, `cannot act as "nobody"`)
		return
	}
	require.NoError(t, err)
	require.Equal(t, nobody.Uid+"\nnobody\n", res.Output)
}
