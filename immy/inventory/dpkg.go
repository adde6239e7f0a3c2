package inventory

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/immyoss/engine/immy"
)

// maxProblems caps how many malformed lines one parse reports.
const maxProblems = 20

// ParseDpkgStatus reads dpkg's status database (/var/lib/dpkg/status) and
// returns the packages whose status is "installed", by package name, with
// their versions normalized (immy.ParseInventoryVersion) and their publisher: the
// Origin field when the package has one (a vendor's repository), else the
// Maintainer's name without the address. Malformed lines are
// reported with their numbers, up to 20 of them, in one error.
func ParseDpkgStatus(r io.Reader) ([]immy.DetectedSoftware, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var (
		out   []immy.DetectedSoftware
		errs  []error
		cur   = map[string]string{}
		start = 1 // line of the current stanza
		field string
	)
	flush := func() {
		defer clear(cur)
		name := cur["Package"]
		if name == "" {
			if len(cur) > 0 {
				errs = append(errs, fmt.Errorf("line %d: stanza has no Package field", start))
			}
			return
		}
		st := strings.Fields(cur["Status"])
		if len(st) != 3 || st[2] != "installed" {
			return
		}
		out = append(out, immy.DetectedSoftware{Name: name, Version: immy.ParseInventoryVersion(cur["Version"]), Publisher: dpkgPublisher(cur)})
	}
	for n := 1; ; n++ {
		line, err := br.ReadString('\n')
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("inventory: dpkg status: %w", err)
		}
		if line == "" && err == io.EOF {
			break
		}
		line = strings.TrimRight(line, "\r\n")
		switch {
		case strings.TrimSpace(line) == "":
			flush()
			field, start = "", n+1
		case line[0] == ' ' || line[0] == '\t':
			if field == "" {
				errs = append(errs, fmt.Errorf("line %d: continuation line outside a field", n))
			}
		default:
			k, v, ok := strings.Cut(line, ":")
			if !ok || k == "" || strings.ContainsAny(k, " \t") {
				errs = append(errs, fmt.Errorf("line %d: want \"Field: value\", got %q", n, clip(line)))
				field = ""
				continue
			}
			field = k
			cur[k] = strings.TrimSpace(v)
		}
		if len(errs) >= maxProblems {
			errs = append(errs, errors.New("too many problems, stopped"))
			break
		}
		if err == io.EOF {
			break
		}
	}
	flush()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("inventory: dpkg status: %w", err)
	}
	return Sort(out), nil
}

// dpkgPublisher is a package's Origin, else its Maintainer without the
// address ("Debian OpenSSH Maintainers <debian-ssh@...>" is "Debian OpenSSH
// Maintainers").
func dpkgPublisher(f map[string]string) string {
	if o := strings.TrimSpace(f["Origin"]); o != "" {
		return o
	}
	m := f["Maintainer"]
	if i := strings.IndexByte(m, '<'); i >= 0 {
		m = m[:i]
	}
	return strings.TrimSpace(m)
}
