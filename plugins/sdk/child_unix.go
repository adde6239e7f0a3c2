//go:build unix

package sdk

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
)

// watchdogEnv, set to watchdogMagic, makes the plugin's binary the watchdog
// of its children (see StartChild).
const (
	watchdogEnv   = "IMMY_SDK_WATCHDOG"
	watchdogMagic = "6c1f0e52-kill-children-with-plugin"
)

func init() {
	if os.Getenv(watchdogEnv) == watchdogMagic {
		watchdogMain(os.Stdin)
		os.Exit(0)
	}
}

// watchdogMain reads "+PGID" and "-PGID" lines: the process groups of the
// children running. When the plugin's end of the pipe closes (the plugin
// exited or was killed), it kills the groups still registered.
func watchdogMain(in io.Reader) {
	signal.Ignore(syscall.SIGINT, syscall.SIGHUP, syscall.SIGPIPE)
	groups := map[int]bool{}
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		line := sc.Text()
		if len(line) < 2 {
			continue
		}
		pgid, err := strconv.Atoi(line[1:])
		if err != nil || pgid <= 1 {
			continue
		}
		switch line[0] {
		case '+':
			groups[pgid] = true
		case '-':
			delete(groups, pgid)
		}
	}
	for pgid := range groups {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
	}
}

// watchdog is the plugin's connection to its watchdog process.
var watchdog struct {
	mu     sync.Mutex
	w      *os.File     // the write end of the watchdog's stdin; nil before the first child
	groups map[int]bool // registered, to register again with a new watchdog
}

// startWatchdog starts the watchdog; the caller holds watchdog.mu.
func startWatchdog() error {
	exe, err := executable()
	if err != nil {
		return err
	}
	r, w, err := os.Pipe() // close-on-exec: no child but the watchdog holds it
	if err != nil {
		return err
	}
	defer r.Close()
	cmd := exec.Command(exe)
	cmd.Env = []string{watchdogEnv + "=" + watchdogMagic}
	cmd.Stdin = r
	// Its own process group: a signal to the plugin's group spares it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		w.Close()
		return err
	}
	go cmd.Wait() //nolint:errcheck // reaped when it ends
	watchdog.w = w
	for pgid := range watchdog.groups {
		if _, err := fmt.Fprintf(w, "+%d\n", pgid); err != nil {
			return err
		}
	}
	return nil
}

// register tells the watchdog that a group runs (add) or ended.
func register(pgid int, add bool) error {
	watchdog.mu.Lock()
	defer watchdog.mu.Unlock()
	if watchdog.groups == nil {
		watchdog.groups = map[int]bool{}
	}
	op := '-'
	if add {
		op = '+'
		watchdog.groups[pgid] = true
	} else {
		delete(watchdog.groups, pgid)
	}
	if watchdog.w != nil {
		if _, err := fmt.Fprintf(watchdog.w, "%c%d\n", op, pgid); err == nil {
			return nil
		}
		// The watchdog is gone: start another one, which learns every group.
		watchdog.w.Close()
		watchdog.w = nil
		if !add {
			return nil // and it is told of this group's end by not hearing of it
		}
	}
	if err := startWatchdog(); err != nil {
		watchdog.w = nil
		return fmt.Errorf("sdk: the watchdog of the plugin's children: %w", err)
	}
	return nil
}

// ensureWatchdog starts the watchdog if it is not running.
func ensureWatchdog() error {
	watchdog.mu.Lock()
	defer watchdog.mu.Unlock()
	if watchdog.w != nil {
		return nil
	}
	if err := startWatchdog(); err != nil {
		watchdog.w = nil
		return fmt.Errorf("sdk: the watchdog of the plugin's children: %w", err)
	}
	return nil
}

func startChild(cmd *exec.Cmd) (func(), error) {
	// The watchdog first: a child is never left without one.
	if err := ensureWatchdog(); err != nil {
		return nil, err
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid, cmd.SysProcAttr.Pgid = true, 0
	setParentDeathSignal(cmd.SysProcAttr)
	if cmd.Cancel != nil { // made by exec.CommandContext
		cmd.Cancel = func() error {
			if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
				return cmd.Process.Kill()
			}
			return nil
		}
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	pgid := cmd.Process.Pid
	if err := register(pgid, true); err != nil {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		_ = cmd.Wait()
		return nil, err
	}
	var once sync.Once
	return func() { once.Do(func() { _ = register(pgid, false) }) }, nil
}
