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
	marker := "__IMMY_EXIT_" + nonce + "__"
	var w wrapped
	switch s.Language {
	case immy.LanguageShell:
		w = wrapped{cmdType: cmdTypeShell, marker: marker, text: wrapShell(s.Body, params, names, secs, nonce, marker)}
	case immy.LanguagePowerShell, immy.LanguageCmd:
		w = wrapped{cmdType: cmdTypePowerShell, marker: marker, text: wrapWindows(s.Language, s.Body, params, names, secs, nonce, marker)}
	default:
		return wrapped{}, fmt.Errorf("script language %s: MeshCentral runs sh, PowerShell and cmd: %w", s.Language, immy.ErrInvalid)
	}
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

func wrapShell(body string, params map[string]any, names []string, secs int64, nonce, marker string) string {
	var b strings.Builder
	eof := "IMMY_EOF_" + nonce
	b.WriteString("immy_d=$(mktemp -d \"${TMPDIR:-/tmp}/immy-mc.XXXXXX\") || { printf '\\n" + marker + " 126\\n'; exit 0; }\n")
	b.WriteString("cat >\"$immy_d/script.sh\" <<'" + eof + "'\n")
	b.WriteString(body)
	if !strings.HasSuffix(body, "\n") {
		b.WriteByte('\n')
	}
	b.WriteString(eof + "\n")
	for _, k := range names {
		b.WriteString("export " + k + "=" + shQuote(paramText(params[k])) + "\n")
	}
	// set -m puts the script and the watchdog in process groups of their own,
	// so that a kill reaches what the script started too.
	fmt.Fprintf(&b, `set -m 2>/dev/null
immy_kill() { kill -"$1" -- -"$2" 2>/dev/null || kill -"$1" "$2" 2>/dev/null; }
(cd "$immy_d" && exec sh ./script.sh) </dev/null 2>&1 &
immy_p=$!
(sleep %d; immy_kill TERM $immy_p; sleep 5; immy_kill KILL $immy_p) </dev/null >/dev/null 2>&1 &
immy_w=$!
trap 'immy_kill TERM $immy_p; immy_kill KILL $immy_w; rm -rf "$immy_d"; exit 143' TERM HUP INT
wait $immy_p
immy_rc=$?
immy_kill KILL $immy_w
rm -rf "$immy_d"
printf '\n%s %%d\n' "$immy_rc"
`, secs, marker)
	return b.String()
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
	fmt.Fprintf(&b, `$ErrorActionPreference = 'Continue'
$immy_d = Join-Path $env:TEMP ('immy-mc-%[1]s')
New-Item -ItemType Directory -Force -Path $immy_d | Out-Null
$immy_f = Join-Path $immy_d 'script%[2]s'
[IO.File]::WriteAllBytes($immy_f, [Convert]::FromBase64String('%[3]s'))
$immy_o = Join-Path $immy_d 'out.txt'
$immy_e = Join-Path $immy_d 'err.txt'
$immy_p = Start-Process -FilePath %[4]s -WorkingDirectory $immy_d -NoNewWindow -PassThru -RedirectStandardOutput $immy_o -RedirectStandardError $immy_e
$immy_h = $immy_p.Handle
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
