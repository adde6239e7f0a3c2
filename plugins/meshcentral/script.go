package meshcentral

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/immyoss/engine/immy"
)

// MeshCentral's command types for runcommands.
const (
	cmdTypeCmd        = 1
	cmdTypePowerShell = 2
	cmdTypeShell      = 3
	cmdTypeConsole    = 4
)

// maxScript bounds the script and its parameters as sent.
const maxScript = 4 << 20

var paramName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)

// wrapped is a script ready for runcommands: the command text, its type,
// and the marker its exit code follows in the output.
type wrapped struct {
	cmdType int
	text    string
	marker  string
	start   string // the first line the run prints, which tells it started
	cancel  string // the console command that ends the run
}

// result reads the agent's reply: the script's output (without the
// wrapper's start line), its exit code, and whether the wrapper reported it.
func (w wrapped) result(reply string) (output string, exit int, ok bool) {
	output, exit, ok = unwrap(reply, w.marker)
	if i := strings.Index(output, w.start+"\n"); i >= 0 {
		output = output[i+len(w.start)+1:]
	}
	return output, exit, ok
}

func newNonce() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// wrap turns a script into the text MeshCentral's agent runs. The agent
// feeds the text to sh (Linux, macOS) or PowerShell (Windows) on standard
// input and reports the output once the shell exits, without its exit code,
// so the wrapper writes the script to a file of its own, runs it with
// standard input closed and a watchdog that kills its process group at
// timeout, and prints a marker with a fresh nonce and the exit code last.
func wrap(s immy.Script, params map[string]any, timeout time.Duration, nonce string) (wrapped, error) {
	names := make([]string, 0, len(params))
	for k := range params {
		if !paramName.MatchString(k) {
			return wrapped{}, fmt.Errorf("parameter %q is not a variable name (letters, digits, '_'): %w", k, immy.ErrInvalid)
		}
		names = append(names, k)
	}
	slices.Sort(names)
	secs := int64(math.Ceil(timeout.Seconds()))
	if secs <= 0 {
		secs = 3600
	}
	marker, start := "__IMMY_EXIT_"+nonce+"__", "__IMMY_START_"+nonce+"__"
	var w wrapped
	switch s.Language {
	case immy.LanguageShell:
		w = wrapped{cmdType: cmdTypeShell, marker: marker, text: wrapShell(s.Body, params, names, secs, nonce, marker), cancel: cancelCommand(nonce, false)}
	case immy.LanguagePowerShell, immy.LanguageCmd:
		w = wrapped{cmdType: cmdTypePowerShell, marker: marker, text: wrapWindows(s.Language, s.Body, params, names, secs, nonce, marker), cancel: cancelCommand(nonce, true)}
	default:
		return wrapped{}, fmt.Errorf("script language %s: MeshCentral runs sh, PowerShell and cmd: %w", s.Language, immy.ErrInvalid)
	}
	w.start = start
	if len(w.text) > maxScript {
		return wrapped{}, fmt.Errorf("script and parameters are %d bytes, at most %d: %w", len(w.text), maxScript, immy.ErrInvalid)
	}
	return w, nil
}

// paramText renders a parameter: text as is, numbers and booleans as Go
// prints them, lists and maps as JSON.
func paramText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func shQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// shellDir is where the shell wrapper keeps a run's files: fixed, so that a
// cancellation finds the process groups to kill by the run's nonce alone.
const shellDir = "/tmp/immy-mc."

func wrapShell(body string, params map[string]any, names []string, secs int64, nonce, marker string) string {
	var b strings.Builder
	eof := "IMMY_EOF_" + nonce
	b.WriteString("echo __IMMY_START_" + nonce + "__\n")
	b.WriteString("immy_d=" + shellDir + nonce + "\n")
	b.WriteString("(umask 077 && mkdir \"$immy_d\") || { printf '\\n" + marker + " 126\\n'; exit 0; }\n")
	b.WriteString("cat >\"$immy_d/script.sh\" <<'" + eof + "'\n")
	b.WriteString(body)
	if !strings.HasSuffix(body, "\n") {
		b.WriteByte('\n')
	}
	b.WriteString(eof + "\n")
	for _, k := range names {
		b.WriteString("export " + k + "=" + shQuote(paramText(params[k])) + "\n")
	}
	// The script and the watchdog run in process groups of their own
	// (setsid, or job control where there is no setsid), whose ids go to
	// files for a cancellation, so that a kill reaches whatever the script
	// started too. The MeshAgent's children inherit its blocked signals
	// (all but KILL and STOP on Linux), so the kills that must work are KILL.
	// (dash's kill takes "-KILL -PGID", not "--".)
	// The trap comes first, so that a signal at any point cleans up; a kill
	// falls back from the group to the process, as a child may not have
	// made its group yet.
	fmt.Fprintf(&b, `immy_p= immy_w= immy_s=
immy_kill() { [ -n "$1" ] && { kill -KILL -"$1" 2>/dev/null || kill -KILL "$1" 2>/dev/null; }; }
trap 'immy_kill "$immy_p"; immy_kill "$immy_w"; rm -rf "$immy_d"; exit 143' TERM HUP INT
if command -v setsid >/dev/null 2>&1; then immy_s=setsid; else set -m 2>/dev/null; fi
(cd "$immy_d" && exec $immy_s sh ./script.sh) </dev/null 2>&1 &
immy_p=$!
echo $immy_p >"$immy_d/pgid"
$immy_s sh -c 'sleep "$1"; kill -TERM -"$2" 2>/dev/null; sleep 5; kill -KILL -"$2" 2>/dev/null || kill -KILL "$2"' immy-watchdog %d $immy_p </dev/null >/dev/null 2>&1 &
immy_w=$!
echo $immy_w >"$immy_d/wpgid"
wait $immy_p
immy_rc=$?
immy_kill "$immy_w"
rm -rf "$immy_d"
printf '\n%s %%d\n' "$immy_rc"
`, secs, marker)
	return b.String()
}

// cancelCommand is the agent console command that ends a run: JavaScript
// the MeshAgent evaluates, which kills the run's process groups (Unix) or
// process tree (Windows). The console runs while runcommands is busy.
func cancelCommand(nonce string, windows bool) string {
	if windows {
		return `eval "try { var p = require('fs').readFileSync(process.env['TEMP'] + '/immy-mc-` + nonce +
			`/pid').toString().trim(); require('child_process').execFile(process.env['windir'] + '/System32/taskkill.exe', ['taskkill', '/T', '/F', '/PID', p]); } catch (e) { }"`
	}
	return `eval "['pgid', 'wpgid'].forEach(function (f) { try { var p = parseInt(require('fs').readFileSync('` + shellDir + nonce +
		`/' + f).toString()); try { process.kill(-p, 'SIGKILL'); } catch (e) { process.kill(p, 'SIGKILL'); } } catch (e) { } })"`
}

func psQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// wrapWindows runs PowerShell and cmd scripts through PowerShell: the
// script goes as base64 of its UTF-8 into a file, runs in a child process
// (powershell -File, cmd /c) whose tree taskkill ends at timeout.
func wrapWindows(lang immy.ScriptLanguage, body string, params map[string]any, names []string, secs int64, nonce, marker string) string {
	var b strings.Builder
	ext, runner := ".ps1", `'powershell.exe' -ArgumentList '-NoProfile','-NonInteractive','-ExecutionPolicy','Bypass','-File',$immy_f`
	if lang == immy.LanguageCmd {
		ext, runner = ".cmd", `'cmd.exe' -ArgumentList '/d','/c',$immy_f`
		body = strings.ReplaceAll(body, "\r\n", "\n")
		body = strings.ReplaceAll(body, "\n", "\r\n")
	}
	for _, k := range names {
		b.WriteString("$env:" + k + " = " + psQuote(paramText(params[k])) + "\n")
	}
	enc := base64.StdEncoding.EncodeToString([]byte(body))
	fmt.Fprintf(&b, `Write-Output '__IMMY_START_%[1]s__'
$ErrorActionPreference = 'Continue'
$immy_d = Join-Path $env:TEMP ('immy-mc-%[1]s')
New-Item -ItemType Directory -Force -Path $immy_d | Out-Null
$immy_f = Join-Path $immy_d 'script%[2]s'
[IO.File]::WriteAllBytes($immy_f, [Convert]::FromBase64String('%[3]s'))
$immy_o = Join-Path $immy_d 'out.txt'
$immy_e = Join-Path $immy_d 'err.txt'
$immy_p = Start-Process -FilePath %[4]s -WorkingDirectory $immy_d -NoNewWindow -PassThru -RedirectStandardOutput $immy_o -RedirectStandardError $immy_e
$immy_h = $immy_p.Handle
Set-Content -Path (Join-Path $immy_d 'pid') -Value $immy_p.Id
if ($immy_p.WaitForExit(%[5]d000)) { $immy_rc = $immy_p.ExitCode } else { taskkill.exe /T /F /PID $immy_p.Id | Out-Null; $immy_rc = -1 }
Get-Content -Raw -ErrorAction SilentlyContinue $immy_o | Write-Output
Get-Content -Raw -ErrorAction SilentlyContinue $immy_e | Write-Output
Remove-Item -Recurse -Force $immy_d -ErrorAction SilentlyContinue
Write-Output ("%[6]s " + $immy_rc)
`, nonce, ext, enc, runner, secs, "`n"+marker)
	return b.String()
}

// unwrap splits the agent's reply into the script's output and exit code.
// ok is false when the marker is missing: the script's end was not
// reported (the wrapper was killed, or the agent restarted).
func unwrap(reply, marker string) (output string, exit int, ok bool) {
	reply = strings.ReplaceAll(reply, "\r\n", "\n")
	i := strings.LastIndex(reply, "\n"+marker+" ")
	if i < 0 {
		return reply, 0, false
	}
	rest := reply[i+len(marker)+2:]
	if j := strings.IndexByte(rest, '\n'); j >= 0 {
		rest = rest[:j]
	}
	code, err := strconv.Atoi(strings.TrimSpace(rest))
	if err != nil {
		return reply[:i], 0, false
	}
	return reply[:i], code, true
}
