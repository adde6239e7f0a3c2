package script

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/immyoss/engine/immy"
)

func (r *Runner) interpreter(lang immy.ScriptLanguage) (string, error) {
	root := os.Getenv("SystemRoot")
	if root == "" {
		root = `C:\Windows`
	}
	switch lang {
	case immy.LanguagePowerShell:
		if r.cfg.PowerShell != "" {
			return r.cfg.PowerShell, nil
		}
		p := filepath.Join(root, `System32\WindowsPowerShell\v1.0\powershell.exe`)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		if p, err := exec.LookPath("pwsh.exe"); err == nil {
			return p, nil
		}
		return "", fmt.Errorf("script: powershell: neither powershell.exe nor pwsh.exe found: %w", ErrUnavailable)
	case immy.LanguageCmd:
		if p := os.Getenv("ComSpec"); p != "" {
			return p, nil
		}
		return filepath.Join(root, `System32\cmd.exe`), nil
	case immy.LanguageShell:
		if r.cfg.Shell != "" {
			return r.cfg.Shell, nil
		}
		if p, err := exec.LookPath("sh.exe"); err == nil {
			return p, nil
		}
		return "", fmt.Errorf("script: sh is not installed on this Windows machine: %w", ErrUnavailable)
	}
	return "", fmt.Errorf("script: language %s: %w", lang, ErrUnavailable)
}

// account is the logged-on user's token; nil is the agent's own context.
type account struct {
	token windows.Token
}

func (a *account) close() {
	if a != nil {
		a.token.Close()
	}
}

func (a *account) environ() []string {
	if a == nil {
		return os.Environ()
	}
	env, err := a.token.Environ(false)
	if err != nil {
		return os.Environ()
	}
	return env
}

// loggedOnUser takes the token of the user at the console, else of the
// first active Remote Desktop session. The agent must run as SYSTEM.
func (r *Runner) loggedOnUser(context.Context) (*account, error) {
	sessions := []uint32{windows.WTSGetActiveConsoleSessionId()}
	var infos *windows.WTS_SESSION_INFO
	var n uint32
	if err := windows.WTSEnumerateSessions(0, 0, 1, &infos, &n); err == nil {
		for _, s := range unsafe.Slice(infos, n) {
			if s.State == windows.WTSActive {
				sessions = append(sessions, s.SessionID)
			}
		}
		windows.WTSFreeMemory(uintptr(unsafe.Pointer(infos)))
	}
	var lastErr error = immy.ErrNoUserLoggedOn
	for _, id := range sessions {
		if id == 0xFFFFFFFF {
			continue
		}
		var tok windows.Token
		err := windows.WTSQueryUserToken(id, &tok)
		if err == nil {
			return &account{token: tok}, nil
		}
		switch {
		case errors.Is(err, windows.ERROR_PRIVILEGE_NOT_HELD):
			return nil, fmt.Errorf("script: user context: the agent does not run as SYSTEM: %w", ErrPermission)
		case errors.Is(err, windows.ERROR_NO_TOKEN):
			lastErr = immy.ErrNoUserLoggedOn
		default:
			lastErr = err
		}
	}
	return nil, fmt.Errorf("script: user context: %w", lastErr)
}

// proc is a script's process in a job object, so that cancelling kills
// everything it started.
type proc struct {
	cmd *exec.Cmd
	mu  sync.Mutex
	job windows.Handle
}

func newProc(cmd *exec.Cmd, as *account, dir, raw string) (*proc, error) {
	p := &proc{cmd: cmd}
	attr := &syscall.SysProcAttr{HideWindow: true, CmdLine: raw} // raw is "" but for cmd
	if as != nil {
		attr.Token = syscall.Token(as.token)
		if err := grantDir(dir, as.token); err != nil {
			return nil, fmt.Errorf("script: user context: %w", err)
		}
	}
	cmd.SysProcAttr = attr
	cmd.Cancel = func() error {
		p.mu.Lock()
		job := p.job
		p.mu.Unlock()
		if job != 0 {
			if err := windows.TerminateJobObject(job, 1); err == nil {
				return nil
			}
		}
		return cmd.Process.Kill()
	}
	return p, nil
}

func (p *proc) start() error {
	if err := p.cmd.Start(); err != nil {
		return err
	}
	job, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		return nil // the script runs; cancelling kills its head only
	}
	h, err := windows.OpenProcess(windows.PROCESS_SET_QUOTA|windows.PROCESS_TERMINATE, false, uint32(p.cmd.Process.Pid))
	if err != nil {
		windows.CloseHandle(job)
		return nil
	}
	defer windows.CloseHandle(h)
	if err := windows.AssignProcessToJobObject(job, h); err != nil {
		windows.CloseHandle(job)
		return nil
	}
	p.mu.Lock()
	p.job = job
	p.mu.Unlock()
	return nil
}

// release closes the job; processes the script left running keep running.
func (p *proc) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.job != 0 {
		windows.CloseHandle(p.job)
		p.job = 0
	}
}

func exitCode(ps *os.ProcessState) int {
	if ps == nil {
		return -1
	}
	return ps.ExitCode()
}

// grantDir gives the token's user full access to the run's private directory.
func grantDir(dir string, tok windows.Token) error {
	tu, err := tok.GetTokenUser()
	if err != nil {
		return err
	}
	sd, err := windows.GetNamedSecurityInfo(dir, windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return err
	}
	old, _, err := sd.DACL()
	if err != nil {
		return err
	}
	acl, err := windows.ACLFromEntries([]windows.EXPLICIT_ACCESS{{
		AccessPermissions: windows.GENERIC_ALL,
		AccessMode:        windows.GRANT_ACCESS,
		Inheritance:       windows.SUB_CONTAINERS_AND_OBJECTS_INHERIT,
		Trustee: windows.TRUSTEE{
			TrusteeForm:  windows.TRUSTEE_IS_SID,
			TrusteeType:  windows.TRUSTEE_IS_USER,
			TrusteeValue: windows.TrusteeValueFromSID(tu.User.Sid),
		},
	}}, old)
	if err != nil {
		return err
	}
	return windows.SetNamedSecurityInfo(dir, windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION, nil, nil, acl, nil)
}
