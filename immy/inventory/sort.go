package inventory

import (
	"slices"
	"strings"

	"github.com/immyoss/engine/immy"
)

// Sort orders an inventory by name (case-insensitive, then exact), then
// version, product code, upgrade code and publisher, and drops exact
// duplicates (a multi-arch package installed twice). It sorts s in place and
// returns it shortened. Every parser of this package returns its software
// sorted so.
func Sort(s []immy.DetectedSoftware) []immy.DetectedSoftware {
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

// clip shortens text quoted in an error message.
func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}
