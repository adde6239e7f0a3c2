package inventory

import (
	"bufio"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/immyoss/engine/immy"
)

//go:embed scripts/reboot.sh
var linuxRebootScript string

//go:embed scripts/reboot.ps1
var windowsRebootScript string

// Reasons a reboot is pending, as RebootState.Reasons lists them.
const (
	// Linux: /var/run/reboot-required exists (Debian's and Ubuntu's packages write it).
	PendingRebootRequiredFile = "reboot-required-file"
	// Windows: HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending exists.
	PendingCBS = "cbs-reboot-pending"
	// Windows: HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired exists.
	PendingWindowsUpdate = "windows-update-reboot-required"
	// Windows: HKLM\SYSTEM\CurrentControlSet\Control\Session Manager holds PendingFileRenameOperations.
	PendingFileRenames = "pending-file-rename-operations"
)

// RebootState is whether a computer has a reboot pending, and which boot
// it is in.
type RebootState struct {
	Pending bool
	// Reasons are the signs of a pending reboot found, sorted (the Pending*
	// constants).
	Reasons []string
	// Boot names the computer's current boot (Linux: the kernel's boot_id;
	// Windows: the last boot time, UTC): it changes when the computer
	// restarts. "" when unknown.
	Boot string
}

// RebootScript returns the script of a platform that tells whether a
// reboot is pending (see the Pending* reasons) and the current boot; Parse
// its output with ParseRebootState.
func RebootScript(p Platform) (immy.Script, error) {
	switch p {
	case Linux:
		return immy.Script{Language: immy.LanguageShell, Context: immy.ContextSystem, Body: linuxRebootScript}, nil
	case Windows:
		return immy.Script{Language: immy.LanguagePowerShell, Context: immy.ContextSystem, Body: windowsRebootScript}, nil
	}
	return immy.Script{}, fmt.Errorf("inventory: no reboot script for platform %q: %w", p, errors.ErrUnsupported)
}

// ParseRebootState reads the output of a RebootScript: the line
// "#immy:reboot 1", then lines "pending REASON" and "boot ID", then
// "#immy:end". Output cut short, or with other lines, is an error naming the
// line.
func ParseRebootState(output string) (RebootState, error) {
	if len(output) > 64<<10 {
		return RebootState{}, fmt.Errorf("inventory: reboot state: output of %d bytes is more than 64 KiB", len(output))
	}
	var (
		st            RebootState
		errs          []error
		header, ended bool
	)
	sc := bufio.NewScanner(strings.NewReader(output))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" && !ended:
		case !header:
			if line != "#immy:reboot 1" {
				return RebootState{}, fmt.Errorf("inventory: reboot state: line %d: want %q first, got %q", n, "#immy:reboot 1", clip(line))
			}
			header = true
		case ended:
			if line != "" {
				errs = append(errs, fmt.Errorf("line %d: output after %q", n, markEnd))
			}
		case line == markEnd:
			ended = true
		case strings.HasPrefix(line, "pending "):
			st.Pending = true
			st.Reasons = append(st.Reasons, strings.TrimSpace(line[len("pending "):]))
		case strings.HasPrefix(line, "boot "):
			st.Boot = strings.TrimSpace(line[len("boot "):])
		default:
			errs = append(errs, fmt.Errorf("line %d: want \"pending REASON\" or \"boot ID\", got %q", n, clip(line)))
		}
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, err)
	}
	if !header {
		return RebootState{}, errors.New("inventory: reboot state: no \"#immy:reboot 1\" line: not the output of a reboot script")
	}
	if !ended {
		errs = append(errs, fmt.Errorf("the output ends without %q: it was cut short", markEnd))
	}
	if err := errors.Join(errs...); err != nil {
		return RebootState{}, fmt.Errorf("inventory: reboot state: %w", err)
	}
	slices.Sort(st.Reasons)
	st.Reasons = slices.Compact(st.Reasons)
	return st, nil
}

// CollectRebootState runs the RebootScript of platform p on a computer
// through any runner and parses its output. A runner's error is returned
// wrapped (errors.Is(err, immy.ErrOffline) still holds).
func CollectRebootState(ctx context.Context, r immy.ScriptRunner, computer string, p Platform) (RebootState, error) {
	script, err := RebootScript(p)
	if err != nil {
		return RebootState{}, err
	}
	req := immy.ScriptRequest{Computer: computer, Script: script, MaxOutput: 64 << 10}
	if _, ok := ctx.Deadline(); !ok {
		req.Timeout = time.Minute
	}
	res, err := r.RunScript(ctx, req)
	if err != nil {
		return RebootState{}, fmt.Errorf("inventory: %s reboot script on %q: %w", p, computer, err)
	}
	if res.ExitCode != 0 {
		return RebootState{}, fmt.Errorf("inventory: %s reboot script on %q exited with code %d: %s", p, computer, res.ExitCode, tail(res.Output))
	}
	st, err := ParseRebootState(res.Output)
	if err != nil {
		return RebootState{}, fmt.Errorf("inventory: %s reboot script on %q: %w", p, computer, err)
	}
	return st, nil
}
