package inventory

import (
	"bufio"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/immyoss/engine/immy"
)

// Platform is the family of operating systems an inventory script is
// written for.
type Platform string

// Platforms with a built-in inventory script.
const (
	Linux   Platform = "linux"   // sh: dpkg and rpm
	Windows Platform = "windows" // PowerShell: the Uninstall keys
)

// Limits of an inventory read through a script.
const (
	// MaxOutput is the most output Parse reads and Collect asks a runner to
	// keep: 8 MiB, some twenty times a large workstation's inventory.
	MaxOutput = 8 << 20
	// DefaultTimeout bounds an inventory script that Collect runs without a
	// deadline of its own.
	DefaultTimeout = 5 * time.Minute
)

//go:embed scripts/inventory.sh
var linuxScript string

//go:embed scripts/inventory.ps1
var windowsScript string

// PlatformOf tells the platform of a computer from its OS name, as agents
// and integrations report it ("Windows 11 Pro", "Debian GNU/Linux 12",
// "Ubuntu 24.04 LTS", "Red Hat Enterprise Linux 9.4"). ok is false for an OS
// no built-in script serves: an empty name, macOS, the BSDs.
func PlatformOf(os string) (p Platform, ok bool) {
	l := strings.ToLower(strings.TrimSpace(os))
	switch {
	case l == "":
		return "", false
	case strings.Contains(l, "windows"):
		return Windows, true
	case strings.Contains(l, "mac") || strings.Contains(l, "darwin") || strings.Contains(l, "bsd"):
		return "", false
	}
	return Linux, true // the Linux distributions name themselves in many ways
}

// Script returns the built-in inventory script of a platform: a system
// context script that prints the installed software in the sections Parse
// reads. The Linux one is sh (dpkg-query, rpm -qa); the Windows one is
// PowerShell (the Uninstall keys of HKLM, its WOW6432Node and every loaded
// user hive under HKU, with DisplayName, DisplayVersion, Publisher, the
// product code as the key's name, and the Windows Installer's upgrade
// codes). An unknown platform is an error wrapping errors.ErrUnsupported.
func Script(p Platform) (immy.Script, error) {
	switch p {
	case Linux:
		return immy.Script{Language: immy.LanguageShell, Context: immy.ContextSystem, Body: linuxScript}, nil
	case Windows:
		return immy.Script{Language: immy.LanguagePowerShell, Context: immy.ContextSystem, Body: windowsScript}, nil
	}
	return immy.Script{}, fmt.Errorf("inventory: no inventory script for platform %q: %w", p, errors.ErrUnsupported)
}

// Collect runs the inventory script of platform p on a computer through any
// script runner (the engine's agent, an RMM plugin's run-script) and parses
// its output. ctx's deadline bounds the run, else DefaultTimeout. A runner's
// error is returned wrapped, so that errors.Is(err, immy.ErrOffline) still
// holds; a script that exits non-zero, or whose output the runner cut, is an
// error naming it: a partial inventory would make software look absent.
func Collect(ctx context.Context, r immy.ScriptRunner, computer string, p Platform) ([]immy.DetectedSoftware, error) {
	script, err := Script(p)
	if err != nil {
		return nil, err
	}
	req := immy.ScriptRequest{Computer: computer, Script: script, MaxOutput: MaxOutput}
	if _, ok := ctx.Deadline(); !ok {
		req.Timeout = DefaultTimeout
	}
	res, err := r.RunScript(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("inventory: %s script on %q: %w", p, computer, err)
	}
	if res.Truncated {
		return nil, fmt.Errorf("inventory: %s script on %q: the runner cut its output at %d bytes", p, computer, len(res.Output))
	}
	if res.ExitCode != 0 {
		return nil, fmt.Errorf("inventory: %s script on %q exited with code %d: %s", p, computer, res.ExitCode, tail(res.Output))
	}
	sw, err := Parse(res.Output)
	if err != nil {
		return nil, fmt.Errorf("inventory: %s script on %q: %w", p, computer, err)
	}
	return sw, nil
}

// tail is the last line or two of a script's output, for an error.
func tail(out string) string {
	out = strings.TrimSpace(out)
	if len(out) > 200 {
		out = "..." + out[len(out)-200:]
	}
	if out == "" {
		return "no output"
	}
	return out
}

// Marks of the script output format. Every mark is a line of its own.
const (
	markHeader  = "#immy:inventory 1"
	markSection = "#immy:section "
	markError   = "#immy:error "
	markEnd     = "#immy:end"
)

// Names of the sections of the script output format.
const (
	SectionDpkg                = "dpkg"                  // dpkg status stanzas: ParseDpkgStatus
	SectionRPM                 = "rpm"                   // rpm -qa lines in RPMQueryFormat: ParseRPMQuery
	SectionWindowsUninstall    = "windows-uninstall"     // one UninstallEntry a line, as JSON
	SectionWindowsUpgradeCodes = "windows-upgrade-codes" // packed upgrade code, tab, packed product code
)

// Parse reads the output of an inventory script and returns the installed
// software, sorted (see Sort). The output is the line
//
//	#immy:inventory 1
//
// then sections, each opened by a line "#immy:section NAME" and read by the
// parser of its format (the same parsers the agent reads its own machine
// with):
//
//	dpkg                   dpkg status stanzas (ParseDpkgStatus)
//	rpm                    rpm -qa --queryformat RPMQueryFormat (ParseRPMQuery)
//	windows-uninstall      one UninstallEntry a line, as JSON (WindowsSoftware)
//	windows-upgrade-codes  "PACKED-UPGRADE-CODE<TAB>PACKED-PRODUCT-CODE" lines
//
// and the line "#immy:end". A line "#immy:error TEXT" is a failure the
// script met. Output without its header or end (cut short), a section of
// another name, a malformed line or a failure is an error naming the line;
// every problem is reported at once and no software is returned then.
// Output larger than MaxOutput is refused.
func Parse(output string) ([]immy.DetectedSoftware, error) {
	if len(output) > MaxOutput {
		return nil, fmt.Errorf("inventory: output of %d bytes is more than the %d bytes read", len(output), MaxOutput)
	}
	type section struct {
		name  string
		line  int // the line of its mark
		lines []string
	}
	var (
		sections []*section
		errs     []error
		cur      *section
		header   bool
		ended    bool
	)
	sc := bufio.NewScanner(strings.NewReader(output))
	sc.Buffer(make([]byte, 0, 64<<10), MaxOutput)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), "\r")
		switch {
		case !header:
			if strings.TrimSpace(line) == "" {
				continue // a runner's banner line
			}
			if line != markHeader {
				return nil, fmt.Errorf("inventory: line %d: want %q first, got %q", n, markHeader, clip(line))
			}
			header = true
		case ended:
			if strings.TrimSpace(line) != "" {
				errs = append(errs, fmt.Errorf("line %d: output after %q", n, markEnd))
			}
		case line == markEnd:
			ended = true
		case strings.HasPrefix(line, markSection):
			cur = &section{name: strings.TrimSpace(line[len(markSection):]), line: n}
			sections = append(sections, cur)
		case strings.HasPrefix(line, markError):
			errs = append(errs, fmt.Errorf("line %d: the script failed: %s", n, clip(line[len(markError):])))
		case cur == nil:
			if strings.TrimSpace(line) != "" {
				errs = append(errs, fmt.Errorf("line %d: %q outside a section", n, clip(line)))
			}
		default:
			cur.lines = append(cur.lines, line)
		}
		if len(errs) >= maxProblems {
			break
		}
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("line %d: %w", n+1, err))
	}
	if !header {
		return nil, fmt.Errorf("inventory: no %q line: not the output of an inventory script", markHeader)
	}
	if !ended && len(errs) < maxProblems {
		errs = append(errs, fmt.Errorf("line %d: the output ends without %q: it was cut short", n, markEnd))
	}

	var (
		out      []immy.DetectedSoftware
		entries  []UninstallEntry
		upgrades map[string][]string
		windows  bool
	)
	for _, s := range sections {
		body := strings.Join(s.lines, "\n")
		at := func(err error) error { return fmt.Errorf("section %s (line %d): %w", s.name, s.line, err) }
		switch s.name {
		case SectionDpkg:
			sw, err := ParseDpkgStatus(strings.NewReader(body))
			if err != nil {
				errs = append(errs, at(err))
			}
			out = append(out, sw...)
		case SectionRPM:
			sw, err := ParseRPMQuery(strings.NewReader(body))
			if err != nil {
				errs = append(errs, at(err))
			}
			out = append(out, sw...)
		case SectionWindowsUninstall:
			windows = true
			for i, l := range s.lines {
				if strings.TrimSpace(l) == "" {
					continue
				}
				var e UninstallEntry
				dec := json.NewDecoder(strings.NewReader(l))
				dec.DisallowUnknownFields()
				if err := dec.Decode(&e); err != nil {
					errs = append(errs, fmt.Errorf("line %d: want an Uninstall entry as JSON: %w", s.line+1+i, err))
					continue
				}
				entries = append(entries, e)
			}
		case SectionWindowsUpgradeCodes:
			windows = true
			if upgrades == nil {
				upgrades = map[string][]string{}
			}
			for i, l := range s.lines {
				if strings.TrimSpace(l) == "" {
					continue
				}
				up, product, ok := strings.Cut(strings.TrimSpace(l), "\t")
				if !ok || len(up) != 32 || len(product) != 32 {
					errs = append(errs, fmt.Errorf("line %d: want \"PACKED-UPGRADE-CODE<TAB>PACKED-PRODUCT-CODE\", got %q", s.line+1+i, clip(l)))
					continue
				}
				upgrades[up] = append(upgrades[up], product)
			}
		default:
			errs = append(errs, fmt.Errorf("line %d: unknown section %q", s.line, clip(s.name)))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	if windows {
		out = append(out, WindowsSoftware(entries, upgrades)...)
	}
	return Sort(out), nil
}
