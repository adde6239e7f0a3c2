package sysinfo

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"slices"
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
		out = append(out, immy.DetectedSoftware{Name: name, Version: NormalizeVersion(ver), Publisher: vendor})
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("sysinfo: rpm query: %w", err)
	}
	return sortSoftware(out), nil
}

// sortSoftware orders an inventory by name, then version, then product code,
// and drops exact duplicates (a multi-arch package installed twice).
func sortSoftware(s []immy.DetectedSoftware) []immy.DetectedSoftware {
	cmpSoftware := func(a, b immy.DetectedSoftware) int {
		if c := strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)); c != 0 {
			return c
		}
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		if c := a.Version.Compare(b.Version); c != 0 {
			return c
		}
		if c := strings.Compare(a.Version.String(), b.Version.String()); c != 0 {
			return c
		}
		if c := strings.Compare(a.ProductCode, b.ProductCode); c != 0 {
			return c
		}
		if c := strings.Compare(a.UpgradeCode, b.UpgradeCode); c != 0 {
			return c
		}
		return strings.Compare(a.Publisher, b.Publisher)
	}
	slices.SortStableFunc(s, cmpSoftware)
	return slices.CompactFunc(s, func(a, b immy.DetectedSoftware) bool { return cmpSoftware(a, b) == 0 })
}
