package inventory

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/immyoss/engine/immy"
)

// RPMQueryFormat is the --queryformat that ParseRPMQuery reads:
// rpm -qa --queryformat "$RPMQueryFormat".
const RPMQueryFormat = `%{NAME}\t%{VERSION}\t%{VENDOR}\n`

// ParseRPMQuery reads the output of rpm -qa with RPMQueryFormat: one
// "name<TAB>version<TAB>vendor" line per package; the vendor is the entry's
// publisher ("(none)" when the package names none), and lines without it
// (the format of earlier releases) are read too. The gpg-pubkey
// pseudo-packages (keys, not software) are left out. Malformed lines are
// reported with their numbers.
func ParseRPMQuery(r io.Reader) ([]immy.DetectedSoftware, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	var out []immy.DetectedSoftware
	var errs []error
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		name, ver, ok := strings.Cut(line, "\t")
		ver, vendor, _ := strings.Cut(ver, "\t")
		if !ok || name == "" || strings.Contains(vendor, "\t") {
			errs = append(errs, fmt.Errorf("line %d: want \"name<TAB>version<TAB>vendor\", got %q", n, clip(line)))
			if len(errs) >= maxProblems {
				errs = append(errs, errors.New("too many problems, stopped"))
				break
			}
			continue
		}
		if name == "gpg-pubkey" {
			continue
		}
		if vendor = strings.TrimSpace(vendor); vendor == "(none)" {
			vendor = ""
		}
		out = append(out, immy.DetectedSoftware{Name: name, Version: immy.ParseInventoryVersion(ver), Publisher: vendor})
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("inventory: rpm query: %w", err)
	}
	return Sort(out), nil
}
