package script

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/immyoss/engine/immy"
)

// runProcess runs a sh, PowerShell or cmd script as a child process (the
// head of its own process group or job, killed whole when ctx ends) and
// returns its exit code.
func (r *Runner) runProcess(ctx context.Context, req immy.ScriptRequest, out *sink) (int, error) {
	prog, err := r.interpreter(req.Script.Language)
	if err != nil {
		return 0, err
	}
	var env []string
	if req.Script.Language == immy.LanguagePowerShell {
		err = checkNames(req.Parameters) // passed as PowerShell parameters, not environment
	} else {
		env, err = environ(req.Parameters)
	}
	if err != nil {
		return 0, err
	}
	var as *account
	if req.Script.Context == immy.ContextUser {
		if as, err = r.loggedOnUser(ctx); err != nil {
			return 0, err
		}
		defer as.close()
	}
	dir, err := r.workDir()
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	args, raw, err := writeScript(dir, prog, req)
	if err != nil {
		return 0, err
	}
	cmd := exec.CommandContext(ctx, prog)
	cmd.Args = args
	cmd.Dir = dir
	cmd.Env = append(as.environ(), env...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = r.cfg.WaitDelay
	p, err := newProc(cmd, as, dir, raw)
	if err != nil {
		return 0, err
	}
	if err := p.start(); err != nil {
		return 0, fmt.Errorf("script: start %s: %w", prog, err)
	}
	defer p.release()
	err = cmd.Wait()
	code := exitCode(cmd.ProcessState)
	var ee *exec.ExitError
	switch {
	case err == nil, errors.As(err, &ee), ctx.Err() != nil:
		return code, nil
	case errors.Is(err, exec.ErrWaitDelay):
		// The script exited; something it started kept its output open.
		return code, nil
	}
	return code, fmt.Errorf("script: %s: %w", filepath.Base(prog), err)
}

// writeScript writes the script (and for PowerShell its launcher and
// parameters) into dir and returns the command line, and for cmd the raw
// Windows command line (cmd.exe parses its own).
func writeScript(dir, prog string, req immy.ScriptRequest) (args []string, raw string, err error) {
	write := func(name string, b []byte) (string, error) {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			return "", fmt.Errorf("script: write %s: %w", name, err)
		}
		return p, nil
	}
	body := req.Script.Body
	switch req.Script.Language {
	case immy.LanguageShell:
		p, err := write("script.sh", []byte(body))
		if err != nil {
			return nil, "", err
		}
		return []string{prog, p}, "", nil
	case immy.LanguageCmd:
		body = strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\n", "\r\n")
		p, err := write("script.cmd", []byte(body))
		if err != nil {
			return nil, "", err
		}
		// cmd /C strips the outer quotes: ""C:\dir\script.cmd"" survives spaces.
		return []string{prog, "/D", "/C", p}, `"` + prog + `" /D /C ""` + p + `""`, nil
	}
	// PowerShell: UTF-8 with a byte order mark, which Windows PowerShell 5.1
	// needs to read anything but ASCII.
	bom := []byte("\xEF\xBB\xBF")
	if _, err := write("script.ps1", append(bom, body...)); err != nil {
		return nil, "", err
	}
	params := req.Parameters
	if params == nil {
		params = map[string]any{}
	}
	pj, err := json.Marshal(params)
	if err != nil {
		return nil, "", fmt.Errorf("script: parameters: %w: %w", err, immy.ErrInvalid)
	}
	if _, err := write("parameters.json", pj); err != nil {
		return nil, "", err
	}
	launcher, err := write("launcher.ps1", append(bom, powerShellLauncher...))
	if err != nil {
		return nil, "", err
	}
	return []string{prog, "-NoLogo", "-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-File", launcher}, "", nil
}

// powerShellLauncher runs script.ps1 beside it with the parameters of
// parameters.json: those the script declares (param(...)) are passed as
// parameters, the others are set as variables it can read. The exit code is
// the script's (exit N), else 1 when its last command failed, else 0.
const powerShellLauncher = `$ErrorActionPreference = 'Continue'
$ProgressPreference = 'SilentlyContinue'
try { [Console]::OutputEncoding = [System.Text.Encoding]::UTF8 } catch { }
$__immyScript = Join-Path $PSScriptRoot 'script.ps1'
$__immyParamFile = Join-Path $PSScriptRoot 'parameters.json'
$__immyParams = @{}
$__immyJson = Get-Content -LiteralPath $__immyParamFile -Raw -Encoding UTF8
Remove-Item -LiteralPath $__immyParamFile -Force
if ($__immyJson) {
	foreach ($__immyP in (ConvertFrom-Json $__immyJson).PSObject.Properties) { $__immyParams[$__immyP.Name] = $__immyP.Value }
}
$__immyDeclared = @{}
try { $__immyDeclared = (Get-Command -Name $__immyScript -ErrorAction Stop).Parameters } catch { }
$__immySplat = @{}
foreach ($__immyK in $__immyParams.Keys) {
	if ($__immyDeclared -and $__immyDeclared.ContainsKey($__immyK)) { $__immySplat[$__immyK] = $__immyParams[$__immyK] }
	else { Set-Variable -Name $__immyK -Value $__immyParams[$__immyK] }
}
$global:LASTEXITCODE = 0
try {
	& $__immyScript @__immySplat
	$__immyOK = $?
} catch {
	Write-Error -ErrorRecord $_
	exit 1
}
if ($LASTEXITCODE) { exit $LASTEXITCODE }
if (-not $__immyOK) { exit 1 }
exit 0
`
