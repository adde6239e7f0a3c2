package installer

import (
	"bufio"
	"context"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/inventory"
)

//go:embed scripts/fetch.sh
var shScript string

//go:embed scripts/fetch.ps1
var psScript string

// DefaultTimeout bounds a download whose ctx has no deadline.
const DefaultTimeout = time.Hour

// Result is where a fetched installer is on the computer.
type Result struct {
	Path   string
	Cached bool // it was in the cache already: nothing was downloaded
}

// MismatchError is a downloaded file whose SHA-256 is not the one expected.
// The file was deleted; nothing ran it.
type MismatchError struct {
	URL, Want, Got string
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("installer: %s has SHA-256 %s, not the %s expected: deleted, not run", e.URL, e.Got, e.Want)
}

// Script returns the fetch script of a platform. It reads the parameters
// installer_url, installer_sha256 and installer_file (see Params).
func Script(p inventory.Platform) (immy.Script, error) {
	switch p {
	case inventory.Linux:
		return immy.Script{Language: immy.LanguageShell, Context: immy.ContextSystem, Body: shScript}, nil
	case inventory.Windows:
		return immy.Script{Language: immy.LanguagePowerShell, Context: immy.ContextSystem, Body: psScript}, nil
	}
	return immy.Script{}, fmt.Errorf("installer: no fetch script for platform %q: %w", p, errors.ErrUnsupported)
}

// Check reports what is wrong with an installer, every problem at once.
func Check(in immy.Installer) error {
	var errs []error
	u, err := url.Parse(in.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(in.URL) > 4096 {
		errs = append(errs, fmt.Errorf("url %q is not an http(s) URL", clip(in.URL)))
	}
	if b, err := hex.DecodeString(in.SHA256); err != nil || len(b) != 32 {
		errs = append(errs, fmt.Errorf("sha256 %q is not 64 hexadecimal digits", clip(in.SHA256)))
	}
	if in.FileName != "" && (strings.ContainsAny(in.FileName, `/\:`) || strings.HasPrefix(in.FileName, ".") || len(in.FileName) > 255) {
		errs = append(errs, fmt.Errorf("file name %q may not hold a path or start with a dot", clip(in.FileName)))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("installer: %w", err)
	}
	return nil
}

// Params are the fetch script's parameters for an installer: its URL, its
// SHA-256 in lower case, and its file name (the URL's last element when
// the installer names none).
func Params(in immy.Installer) map[string]any {
	name := in.FileName
	if name == "" {
		if u, err := url.Parse(in.URL); err == nil {
			name = path.Base(u.Path)
		}
		if name == "" || name == "/" || name == "." || strings.HasPrefix(name, ".") {
			name = "installer"
		}
	}
	return map[string]any{"installer_url": in.URL, "installer_sha256": strings.ToLower(in.SHA256), "installer_file": name}
}

// Fetch runs the fetch script of platform p on a computer through r. A
// runner's error comes back wrapped (immy.ErrOffline still matches); a hash
// that differs is a *MismatchError.
func Fetch(ctx context.Context, r immy.ScriptRunner, computer string, p inventory.Platform, in immy.Installer) (Result, error) {
	if err := Check(in); err != nil {
		return Result{}, err
	}
	script, err := Script(p)
	if err != nil {
		return Result{}, err
	}
	req := immy.ScriptRequest{Computer: computer, Script: script, Parameters: Params(in), MaxOutput: 64 << 10}
	if _, ok := ctx.Deadline(); !ok {
		req.Timeout = DefaultTimeout
	}
	res, err := r.RunScript(ctx, req)
	if err != nil {
		return Result{}, fmt.Errorf("installer: fetch on %q: %w", computer, err)
	}
	if res.ExitCode != 0 {
		return Result{}, fmt.Errorf("installer: fetch on %q exited with code %d: %s", computer, res.ExitCode, clip(strings.TrimSpace(res.Output)))
	}
	out, err := ParseFetch(res.Output)
	if err != nil {
		var m *MismatchError
		if errors.As(err, &m) {
			m.URL, m.Want = in.URL, strings.ToLower(in.SHA256)
		}
		return Result{}, err
	}
	return out, nil
}

// ParseFetch reads the output of a fetch script: "#immy:installer 1", one
// of "cached PATH", "downloaded PATH", "mismatch SHA256" (a
// *MismatchError) or "#immy:installer-error TEXT", then "#immy:end".
func ParseFetch(output string) (Result, error) {
	var (
		res           Result
		got           bool
		header, ended bool
	)
	sc := bufio.NewScanner(strings.NewReader(output))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		switch {
		case strings.TrimSpace(line) == "":
		case !header:
			if line != "#immy:installer 1" {
				return Result{}, fmt.Errorf("installer: line %d: want %q first, got %q", n, "#immy:installer 1", clip(line))
			}
			header = true
		case ended:
			return Result{}, fmt.Errorf("installer: line %d: output after the end", n)
		case line == "#immy:end":
			ended = true
		case strings.HasPrefix(line, "#immy:installer-error "):
			return Result{}, fmt.Errorf("installer: %s", strings.TrimPrefix(line, "#immy:installer-error "))
		case strings.HasPrefix(line, "mismatch "):
			return Result{}, &MismatchError{Got: strings.TrimSpace(strings.TrimPrefix(line, "mismatch "))}
		case strings.HasPrefix(line, "cached ") && !got:
			res, got = Result{Path: strings.TrimPrefix(line, "cached "), Cached: true}, true
		case strings.HasPrefix(line, "downloaded ") && !got:
			res, got = Result{Path: strings.TrimPrefix(line, "downloaded ")}, true
		default:
			return Result{}, fmt.Errorf("installer: line %d: unexpected %q", n, clip(line))
		}
	}
	switch {
	case !header:
		return Result{}, errors.New("installer: not the output of a fetch script")
	case !ended:
		return Result{}, errors.New("installer: the fetch script's output was cut short")
	case !got || res.Path == "":
		return Result{}, errors.New("installer: the fetch script said nowhere the file is")
	}
	return res, nil
}

func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}
