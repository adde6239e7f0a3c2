package script

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/immyoss/engine/agent/sysinfo"
	"github.com/immyoss/engine/immy"
)

// DefaultMaxOutput is the output kept of a run whose request sets no cap.
const DefaultMaxOutput = 1 << 20

// Errors of scripts that could not run (beside immy.ErrNoUserLoggedOn,
// immy.ErrInvalid and the context's errors).
var (
	// ErrUnavailable: the script's language has no interpreter on this
	// machine (PowerShell on a Linux machine without pwsh, cmd off Windows).
	ErrUnavailable = errors.New("interpreter not available")
	// ErrPermission: the agent may not act as the logged-on user (it does not
	// run as root or SYSTEM). It wraps fs.ErrPermission.
	ErrPermission = fmt.Errorf("not permitted to run as the logged-on user: %w", fs.ErrPermission)
)

// Config configures a Runner. The zero value works.
type Config struct {
	// DefaultMaxOutput caps the output kept when a request sets none;
	// zero means DefaultMaxOutput.
	DefaultMaxOutput int
	// TempDir holds each run's working directory (removed afterwards); "" is
	// the system's temporary directory.
	TempDir string
	// Shell is the sh interpreter; "" is /bin/sh.
	Shell string
	// PowerShell is the PowerShell interpreter; "" finds powershell.exe on
	// Windows, else pwsh on PATH.
	PowerShell string
	// Logins lists the logged-on users, for user-context scripts on Unix;
	// nil reads them with sysinfo.Source.
	Logins func(ctx context.Context) ([]sysinfo.Login, error)
	// WaitDelay bounds how long a run waits, after its script exited or was
	// killed, for processes it left behind to close its output; zero means 2s.
	WaitDelay time.Duration
}

// Runner runs scripts on this machine. It implements immy.ScriptRunner
// (ignoring the request's Computer) and is safe for concurrent use.
type Runner struct {
	cfg Config
}

// New returns a Runner.
func New(cfg Config) *Runner {
	if cfg.DefaultMaxOutput <= 0 {
		cfg.DefaultMaxOutput = DefaultMaxOutput
	}
	if cfg.WaitDelay <= 0 {
		cfg.WaitDelay = 2 * time.Second
	}
	if cfg.Logins == nil {
		var src sysinfo.Source
		cfg.Logins = src.Logins
	}
	return &Runner{cfg: cfg}
}

// RunScript runs req's script and waits for it. A script that ran is a
// result, whatever its exit code; one stopped by its Timeout or by ctx comes
// back with the output it wrote and an error wrapping
// context.DeadlineExceeded or context.Canceled. Errors otherwise are for
// scripts that could not start: immy.ErrInvalid (a bad request),
// ErrUnavailable, immy.ErrNoUserLoggedOn, ErrPermission.
//
// Output is stdout and stderr combined, in the order written, capped at
// req.MaxOutput; the values of the parameters req.Secrets names, and their
// common transforms (other letter case, base64, hex, URL and JSON escaping),
// are masked in it and in the Value, before the cap applies (internal/redact).
// The result's Value is the returned value of a Lua script that
// returns one, else the last non-empty line of the output.
func (r *Runner) RunScript(ctx context.Context, req immy.ScriptRequest) (immy.ScriptResult, error) {
	if r == nil || r.cfg.WaitDelay == 0 {
		r = New(Config{})
	}
	switch req.Script.Context {
	case immy.ContextSystem, immy.ContextUser:
	default:
		return immy.ScriptResult{}, fmt.Errorf("script: a %s script runs on the server, not on an agent: %w", req.Script.Context, immy.ErrInvalid)
	}
	if req.Timeout < 0 || req.MaxOutput < 0 {
		return immy.ScriptResult{}, fmt.Errorf("script: negative timeout or output cap: %w", immy.ErrInvalid)
	}
	maxOut := req.MaxOutput
	if maxOut == 0 {
		maxOut = r.cfg.DefaultMaxOutput
	}
	secrets, err := secretValues(req)
	if err != nil {
		return immy.ScriptResult{}, err
	}
	out := newSink(maxOut, req.Output, secrets)

	runCtx := ctx
	if req.Timeout > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, req.Timeout)
		defer cancel()
	}
	var exit int
	var value string
	switch req.Script.Language {
	case immy.LanguageLua:
		if req.Script.Context == immy.ContextUser {
			return immy.ScriptResult{}, fmt.Errorf("script: lua runs inside the agent, in the system context only: %w", immy.ErrInvalid)
		}
		exit, value, err = runLua(runCtx, req, out)
	case immy.LanguageShell, immy.LanguagePowerShell, immy.LanguageCmd:
		exit, err = r.runProcess(runCtx, req, out)
	default:
		return immy.ScriptResult{}, fmt.Errorf("script: language %q: %w", req.Script.Language, immy.ErrInvalid)
	}
	out.close()
	output, truncated := out.result()
	res := immy.ScriptResult{ExitCode: exit, Output: output, Truncated: truncated, Value: out.hide(value)}
	if req.Script.Language != immy.LanguageLua || value == "" {
		res.Value = out.value()
	}
	switch {
	case ctx.Err() != nil:
		return res, fmt.Errorf("script: stopped: %w", ctx.Err())
	case runCtx.Err() != nil:
		return res, fmt.Errorf("script: stopped after its %s timeout: %w", req.Timeout, context.DeadlineExceeded)
	case err != nil:
		return immy.ScriptResult{}, err
	}
	return res, nil
}

// workDir makes a private directory for one run.
func (r *Runner) workDir() (string, error) {
	dir, err := os.MkdirTemp(r.cfg.TempDir, "immy-script-")
	if err != nil {
		return "", fmt.Errorf("script: working directory: %w", err)
	}
	return dir, nil
}
