//go:build unix

package script

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/immyoss/engine/agent/sysinfo"
	"github.com/immyoss/engine/immy"
)

func (r *Runner) interpreter(lang immy.ScriptLanguage) (string, error) {
	switch lang {
	case immy.LanguageShell:
		if r.cfg.Shell != "" {
			return r.cfg.Shell, nil
		}
		if _, err := os.Stat("/bin/sh"); err == nil {
			return "/bin/sh", nil
		}
		p, err := exec.LookPath("sh")
		if err != nil {
			return "", fmt.Errorf("script: sh: %w", ErrUnavailable)
		}
		return p, nil
	case immy.LanguagePowerShell:
		if r.cfg.PowerShell != "" {
			return r.cfg.PowerShell, nil
		}
		p, err := exec.LookPath("pwsh")
		if err != nil {
			return "", fmt.Errorf("script: powershell: pwsh is not installed on this machine: %w", ErrUnavailable)
		}
		return p, nil
	}
	return "", fmt.Errorf("script: %s runs on Windows only: %w", lang, ErrUnavailable)
}

// account is the user a user-context script runs as; nil is the agent's own.
type account struct {
	login      sysinfo.Login
	uid, gid   uint32
	groups     []uint32
	name, home string
	switchUser bool // the agent runs as someone else (root)
}

func (a *account) close() {}

// environ is the environment a script starts with: the agent's own, or for
// a user a login-like one.
func (a *account) environ() []string {
	if a == nil {
		return os.Environ()
	}
	env := []string{
		"HOME=" + a.home, "USER=" + a.name, "LOGNAME=" + a.name,
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	}
	if lang := os.Getenv("LANG"); lang != "" {
		env = append(env, "LANG="+lang)
	}
	run := fmt.Sprintf("/run/user/%d", a.uid)
	if _, err := os.Stat(run); err == nil {
		env = append(env, "XDG_RUNTIME_DIR="+run)
		if _, err := os.Stat(run + "/bus"); err == nil {
			env = append(env, "DBUS_SESSION_BUS_ADDRESS=unix:path="+run+"/bus")
		}
	}
	return env
}

// loggedOnUser finds the user a user-context script runs as: the console
// user (see sysinfo.ConsoleUser).
func (r *Runner) loggedOnUser(ctx context.Context) (*account, error) {
	logins, err := r.cfg.Logins(ctx)
	if err != nil {
		return nil, fmt.Errorf("script: finding the logged-on user: %w", err)
	}
	l, ok := sysinfo.ConsoleUser(logins)
	if !ok {
		return nil, fmt.Errorf("script: user context: %w", immy.ErrNoUserLoggedOn)
	}
	u, err := user.Lookup(l.User)
	if err != nil {
		return nil, fmt.Errorf("script: user context: logged-on user %q: %w", l.User, err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("script: user context: user %q has a non-numeric id: %w", l.User, err)
	}
	a := &account{login: l, uid: uint32(uid), gid: uint32(gid), name: u.Username, home: u.HomeDir}
	if euid := os.Geteuid(); uint32(euid) != a.uid {
		if euid != 0 {
			return nil, fmt.Errorf("script: user context: the agent runs as uid %d, not root, and cannot act as %q: %w", euid, l.User, ErrPermission)
		}
		a.switchUser = true
		gids, _ := u.GroupIds()
		for _, g := range gids {
			if n, err := strconv.ParseUint(g, 10, 32); err == nil {
				a.groups = append(a.groups, uint32(n))
			}
		}
	}
	return a, nil
}

// proc is a script's process: the leader of its own process group, so that
// cancelling kills everything it started.
type proc struct{ cmd *exec.Cmd }

func newProc(cmd *exec.Cmd, as *account, dir, _ string) (*proc, error) {
	attr := &syscall.SysProcAttr{Setpgid: true}
	if as != nil && as.switchUser {
		attr.Credential = &syscall.Credential{Uid: as.uid, Gid: as.gid, Groups: as.groups}
		// The working directory and the script become the user's.
		err := filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(p, int(as.uid), int(as.gid))
		})
		if err != nil {
			return nil, fmt.Errorf("script: user context: %w", err)
		}
	}
	cmd.SysProcAttr = attr
	cmd.Cancel = func() error {
		if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
			return cmd.Process.Kill()
		}
		return nil
	}
	return &proc{cmd: cmd}, nil
}

func (p *proc) start() error { return p.cmd.Start() }

func (p *proc) release() {}

// exitCode is the exit status, or 128 plus the signal that killed the
// script, as shells report it.
func exitCode(ps *os.ProcessState) int {
	if ps == nil {
		return -1
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}
