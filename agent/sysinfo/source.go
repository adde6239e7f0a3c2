package sysinfo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"

	"github.com/immyoss/engine/immy"
)

// Source reads the identity, software inventory and logged-on users of a
// machine. Its zero value reads the machine the program runs on. Its methods
// are safe for concurrent use; every call reads afresh.
type Source struct {
	// Root, when set, is a Linux file system to read instead of the running
	// system's, on any OS: a directory of recorded files in tests, or the
	// host's root mounted into a container ("/host").
	Root string
	// Windows, when set, is a recorded Windows machine to report instead of
	// the running system.
	Windows *WindowsSnapshot
	// Command runs a program and returns its standard output; nil runs it
	// with os/exec. The Linux inventory runs rpm through it. A program that
	// is not installed must give an error wrapping exec.ErrNotFound.
	Command func(ctx context.Context, name string, args ...string) ([]byte, error)
}

// system is one way of reading a machine.
type system interface {
	identity(ctx context.Context) (immy.Identity, error)
	software(ctx context.Context) ([]immy.DetectedSoftware, error)
	logins(ctx context.Context) ([]Login, error)
}

func (s *Source) system() system {
	switch {
	case s.Windows != nil:
		return windowsRecorded{s.Windows}
	case s.Root != "":
		return &linuxFS{root: s.Root, run: s.command()}
	}
	return s.native()
}

func (s *Source) command() func(ctx context.Context, name string, args ...string) ([]byte, error) {
	if s.Command != nil {
		return s.Command
	}
	return runCommand
}

func runCommand(ctx context.Context, name string, args ...string) ([]byte, error) {
	path, err := exec.LookPath(name)
	if err != nil {
		return nil, err
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return nil, fmt.Errorf("%s: %w: %s", name, err, clip(msg))
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

// Identity returns what identifies the machine.
func (s *Source) Identity(ctx context.Context) (immy.Identity, error) {
	return s.system().identity(ctx)
}

// Software returns the installed software, sorted by name.
func (s *Source) Software(ctx context.Context) ([]immy.DetectedSoftware, error) {
	return s.system().software(ctx)
}

// Logins returns the users logged on, newest first (see SortLogins).
func (s *Source) Logins(ctx context.Context) ([]Login, error) {
	return s.system().logins(ctx)
}

// Inventory returns the identity, the software and the logged-on users'
// principal names, newest first; every part that failed is in the error.
func (s *Source) Inventory(ctx context.Context) (immy.Inventory, error) {
	sys := s.system()
	var errs []error
	id, err := sys.identity(ctx)
	errs = append(errs, err)
	sw, err := sys.software(ctx)
	errs = append(errs, err)
	ls, err := sys.logins(ctx)
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return immy.Inventory{}, err
	}
	return immy.Inventory{Identity: id, Software: sw, UPNs: UPNs(ls)}, nil
}

// windowsRecorded reports a recorded Windows machine.
type windowsRecorded struct{ w *WindowsSnapshot }

func (r windowsRecorded) identity(context.Context) (immy.Identity, error) { return r.w.Identity() }
func (r windowsRecorded) software(context.Context) ([]immy.DetectedSoftware, error) {
	return r.w.Software(), nil
}
func (r windowsRecorded) logins(context.Context) ([]Login, error) { return r.w.Logins(), nil }
