//go:build unix

package meshcentral

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
)

// runLikeAgent feeds a wrapped script to sh on standard input, followed by
// "exit", as the MeshAgent does, and returns what the agent would report.
func runLikeAgent(t *testing.T, ctx context.Context, w wrapped, started func(*exec.Cmd)) string {
	t.Helper()
	cmd := exec.CommandContext(ctx, "/bin/sh")
	cmd.Stdin = strings.NewReader(w.text + "\nexit\n")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	if started != nil {
		started(cmd)
	}
	_ = cmd.Wait()
	return out.String()
}

func skipWithoutSh(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the shell wrapper runs on Unix agents")
	}
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
}

func TestWrapShell(t *testing.T) {
	skipWithoutSh(t)
	tests := []struct {
		name   string
		body   string
		params map[string]any
		want   string
		exit   int
	}{
		{name: "output", body: "echo hello", want: "hello\n"},
		{name: "exit code", body: "echo bad >&2; exit 7", want: "bad\n", exit: 7},
		{name: "no final newline", body: "printf 'a\\nb'", want: "a\nb"},
		{name: "stdin is closed, not the wrapper's text", body: "cat; echo read-nothing", want: "read-nothing\n"},
		{name: "a body with the wrapper's words", body: "echo 'IMMY_EOF_x'\necho exit\nexit 3", want: "IMMY_EOF_x\nexit\n", exit: 3},
		{name: "parameters", body: `printf '%s|%s|%s|%s\n' "$Name" "$Count" "$On" "$List"`,
			params: map[string]any{"Name": "it's $HOME `x`\nline2", "Count": float64(2.5), "On": true, "List": []any{"a", float64(1)}},
			want:   "it's $HOME `x`\nline2|2.5|true|[\"a\",1]\n"},
		{name: "runs in a folder of its own", body: `case "$PWD" in */immy-mc.*) echo own;; *) echo "$PWD";; esac`, want: "own\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := wrap(immy.Script{Language: immy.LanguageShell, Body: tt.body}, tt.params, time.Minute, newNonce())
			require.NoError(t, err)
			require.Equal(t, cmdTypeShell, w.cmdType)
			reply := runLikeAgent(t, t.Context(), w, nil)
			out, exit, ok := w.result(reply)
			require.True(t, ok, "no exit marker in %q", reply)
			if diff := cmp.Diff(tt.want, out); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
			if exit != tt.exit {
				t.Errorf("exit code %d, want %d", exit, tt.exit)
			}
		})
	}
}

// alive reports whether the process of the pid in file is still running.
func alive(t *testing.T, file string) (int, bool) {
	t.Helper()
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	require.NoError(t, err)
	err = syscall.Kill(pid, 0)
	return pid, err == nil || errors.Is(err, syscall.EPERM)
}

func waitGone(t *testing.T, file string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		pid, ok := alive(t, file)
		if !ok {
			return
		}
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("process %d the script started outlived it", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestWrapShellTimeout: at its timeout the watchdog kills the script and
// what it started, and the wrapper still reports.
func TestWrapShellTimeout(t *testing.T) {
	skipWithoutSh(t)
	pidFile := filepath.Join(t.TempDir(), "pid")
	body := "sleep 300 &\necho $! > " + shQuote(pidFile) + "\necho started\nwait"
	w, err := wrap(immy.Script{Language: immy.LanguageShell, Body: body}, nil, time.Second, newNonce())
	require.NoError(t, err)
	reply := runLikeAgent(t, t.Context(), w, nil)
	out, exit, ok := w.result(reply)
	require.True(t, ok, "no exit marker in %q", reply)
	require.True(t, strings.HasPrefix(out, "started\n"), "output %q", out)
	require.NotZero(t, exit, "a killed script has a non-zero exit")
	waitGone(t, pidFile)
}

// TestWrapShellCancel: killing the run's process groups, as the console
// command of a cancellation does (SIGKILL: the MeshAgent's children have
// every other signal blocked), or a TERM to the agent's shell where signals
// are not blocked, ends the script and what it started, and the wrapper
// still reports.
func TestWrapShellCancel(t *testing.T) {
	skipWithoutSh(t)
	for _, how := range []string{"kill the groups", "TERM the shell"} {
		t.Run(how, func(t *testing.T) {
			pidFile := filepath.Join(t.TempDir(), "pid")
			body := "sleep 300 &\necho $! > " + shQuote(pidFile) + "\nwait"
			nonce := newNonce()
			w, err := wrap(immy.Script{Language: immy.LanguageShell, Body: body}, nil, time.Hour, nonce)
			require.NoError(t, err)
			reply := runLikeAgent(t, t.Context(), w, func(cmd *exec.Cmd) {
				for i := 0; ; i++ {
					if b, err := os.ReadFile(pidFile); err == nil && len(b) > 0 && b[len(b)-1] == '\n' {
						break
					}
					if i > 200 {
						t.Fatal("the script did not start")
					}
					time.Sleep(25 * time.Millisecond)
				}
				if how == "TERM the shell" {
					require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
					return
				}
				for _, f := range []string{"pgid", "wpgid"} {
					b, err := os.ReadFile(shellDir + nonce + "/" + f)
					require.NoError(t, err)
					pgid, err := strconv.Atoi(strings.TrimSpace(string(b)))
					require.NoError(t, err)
					require.NoError(t, syscall.Kill(-pgid, syscall.SIGKILL), f)
				}
			})
			waitGone(t, pidFile)
			if how == "kill the groups" {
				_, exit, ok := w.result(reply)
				require.True(t, ok, "no exit marker in %q", reply)
				require.Equal(t, 137, exit)
			}
			_, err = os.Stat(shellDir + nonce)
			require.True(t, os.IsNotExist(err), "the run's folder is left: %v", err)
		})
	}
}

func TestWrapRefuses(t *testing.T) {
	_, err := wrap(immy.Script{Language: immy.LanguageShell, Body: "x"}, map[string]any{"bad name": "x"}, time.Minute, "n")
	require.ErrorIs(t, err, immy.ErrInvalid)
	require.ErrorContains(t, err, `"bad name"`)
	_, err = wrap(immy.Script{Language: immy.LanguageLua, Body: "x"}, nil, time.Minute, "n")
	require.ErrorIs(t, err, immy.ErrInvalid)
	_, err = wrap(immy.Script{Language: immy.LanguageShell, Body: strings.Repeat("x", maxScript)}, nil, time.Minute, "n")
	require.ErrorIs(t, err, immy.ErrInvalid)
}

func TestWrapWindows(t *testing.T) {
	// No Windows agent here: check the PowerShell text's shape, the script
	// travelling as base64 and the parameters quoted.
	w, err := wrap(immy.Script{Language: immy.LanguageCmd, Body: "echo a\nexit /b 3"}, map[string]any{"P": "it's"}, time.Minute, "abc")
	require.NoError(t, err)
	require.Equal(t, cmdTypePowerShell, w.cmdType)
	require.Contains(t, w.text, "$env:P = 'it''s'\n")
	require.Contains(t, w.text, "'cmd.exe'")
	require.Contains(t, w.text, "FromBase64String('ZWNobyBhDQpleGl0IC9iIDM=')") // CRLF line ends
	require.Contains(t, w.text, "WaitForExit(60000)")
	require.Contains(t, w.text, "__IMMY_EXIT_abc__")
}

func TestUnwrap(t *testing.T) {
	m := "__IMMY_EXIT_n__"
	tests := []struct {
		reply, out string
		exit       int
		ok         bool
	}{
		{"hi\n\n" + m + " 0\n", "hi\n", 0, true},
		{"hi\r\n\r\n" + m + " 3\r\n", "hi\n", 3, true},
		{"x\n" + m + " 1\nnoise\n" + m + " 2\n", "x\n" + m + " 1\nnoise", 2, true},
		{"killed", "killed", 0, false},
		{"a\n" + m + " nope\n", "a", 0, false},
	}
	for _, tt := range tests {
		out, exit, ok := unwrap(tt.reply, m)
		if out != tt.out || exit != tt.exit || ok != tt.ok {
			t.Errorf("unwrap(%q) = %q, %d, %v; want %q, %d, %v", tt.reply, out, exit, ok, tt.out, tt.exit, tt.ok)
		}
	}
}

func FuzzUnwrap(f *testing.F) {
	f.Add("hi\n\n__IMMY_EXIT_n__ 0\n")
	f.Add("\n__IMMY_EXIT_n__ -1")
	f.Add("x")
	f.Fuzz(func(t *testing.T, reply string) {
		out, _, ok := unwrap(reply, "__IMMY_EXIT_n__")
		if len(out) > len(reply) {
			t.Fatalf("output longer than the reply")
		}
		if !ok && strings.Contains(reply, "\n__IMMY_EXIT_n__ 0\n") && !strings.Contains(reply, "\r") {
			last := reply[strings.LastIndex(reply, "\n__IMMY_EXIT_n__ "):]
			if strings.HasPrefix(last, "\n__IMMY_EXIT_n__ 0\n") {
				t.Fatalf("a reply ending in a marker was not unwrapped")
			}
		}
	})
}

// BenchmarkWrapShell is the wrapper's own cost on this machine (its folder,
// process groups, watchdog), against the bare script, both fed to sh on
// standard input as the MeshAgent feeds them: the share of a run through
// MeshCentral (BenchmarkRunScript) that the wrapper takes.
func BenchmarkWrapShell(b *testing.B) {
	if _, err := exec.LookPath("sh"); err != nil {
		b.Skip("no sh")
	}
	script := immy.Script{Language: immy.LanguageShell, Body: "echo round-trip"}
	run := func(b *testing.B, text string) string {
		cmd := exec.Command("/bin/sh")
		cmd.Stdin = strings.NewReader(text + "\nexit\n")
		out, err := cmd.Output()
		if err != nil {
			b.Fatal(err)
		}
		return string(out)
	}
	b.Run("bare", func(b *testing.B) {
		for b.Loop() {
			if out := run(b, script.Body); out != "round-trip\n" {
				b.Fatalf("output %q", out)
			}
		}
	})
	b.Run("wrapped", func(b *testing.B) {
		for b.Loop() {
			w, err := wrap(script, nil, time.Minute, newNonce())
			if err != nil {
				b.Fatal(err)
			}
			if out, exit, ok := w.result(run(b, w.text)); !ok || exit != 0 || out != "round-trip\n" {
				b.Fatalf("output %q exit %d ok %v", out, exit, ok)
			}
		}
	})
}
