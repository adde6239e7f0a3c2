package inventory

import (
	"strings"

	"github.com/immyoss/engine/immy"
)

// UninstallEntry is one subkey of a Windows Uninstall key and the values
// read from it: what the agent reads through the registry API, and what the
// Windows inventory script prints, one JSON object per line.
type UninstallEntry struct {
	Hive             string `json:"hive"` // HKLM, HKLM\WOW6432Node or HKU\<SID>
	Key              string `json:"key"`  // the subkey's name: a product code for Windows Installer products
	DisplayName      string `json:"DisplayName,omitempty"`
	DisplayVersion   string `json:"DisplayVersion,omitempty"`
	Publisher        string `json:"Publisher,omitempty"`
	SystemComponent  uint32 `json:"SystemComponent,omitempty"`
	WindowsInstaller uint32 `json:"WindowsInstaller,omitempty"`
	ParentKeyName    string `json:"ParentKeyName,omitempty"`
	ReleaseType      string `json:"ReleaseType,omitempty"`
}

// releaseTypes are the Uninstall entries that are updates of something else.
var releaseTypes = map[string]bool{"update": true, "hotfix": true, "security update": true, "update rollup": true, "service pack": true}

// WindowsSoftware returns the installed software that Uninstall entries
// list: entries with a display name that are neither system components nor
// updates of another product (ParentKeyName, ReleaseType). A Windows
// Installer product's key is its product code; its upgrade code comes from
// upgradeCodes, which maps packed upgrade codes (the subkeys of
// HKLM\SOFTWARE\Classes\Installer\UpgradeCodes) to the packed product codes
// under them (their value names). The result is sorted (see Sort).
func WindowsSoftware(entries []UninstallEntry, upgradeCodes map[string][]string) []immy.DetectedSoftware {
	upgrade := map[string]string{} // product code -> upgrade code, both braced
	for packedUp, products := range upgradeCodes {
		up, ok := UnpackGUID(packedUp)
		if !ok {
			continue
		}
		for _, p := range products {
			if pc, ok := UnpackGUID(p); ok {
				if old, dup := upgrade[pc]; !dup || up < old { // stable for duplicates
					upgrade[pc] = up
				}
			}
		}
	}
	var out []immy.DetectedSoftware
	for _, e := range entries {
		name := strings.TrimSpace(e.DisplayName)
		if name == "" || e.SystemComponent == 1 || e.ParentKeyName != "" || releaseTypes[strings.ToLower(e.ReleaseType)] {
			continue
		}
		d := immy.DetectedSoftware{Name: name, Version: immy.ParseInventoryVersion(e.DisplayVersion), Publisher: strings.TrimSpace(e.Publisher)}
		if g, ok := CanonicalGUID(e.Key); ok {
			d.ProductCode = g
			d.UpgradeCode = upgrade[g]
		}
		out = append(out, d)
	}
	return Sort(out)
}

// CanonicalGUID returns g braced and upper case when it is a GUID, with or
// without braces.
func CanonicalGUID(g string) (string, bool) {
	g = strings.TrimSpace(g)
	if len(g) == 38 && g[0] == '{' && g[37] == '}' {
		g = g[1:37]
	}
	if len(g) != 36 {
		return "", false
	}
	for i, c := range g {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if c != '-' {
				return "", false
			}
		} else if !isHex(c) {
			return "", false
		}
	}
	return "{" + strings.ToUpper(g) + "}", true
}

func isHex(c rune) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// packOrder lists, for each character of a packed GUID, the index of the
// character of the plain 32-hex-digit GUID it comes from.
var packOrder = [32]int{7, 6, 5, 4, 3, 2, 1, 0, 11, 10, 9, 8, 15, 14, 13, 12,
	17, 16, 19, 18, 21, 20, 23, 22, 25, 24, 27, 26, 29, 28, 31, 30}

// UnpackGUID turns a Windows Installer packed GUID (32 hex digits, the
// first three groups reversed and every byte of the rest nibble-swapped) into
// a braced product code: "0FF1CE..." -> "{...}". ok is false when packed is
// not 32 hex digits.
func UnpackGUID(packed string) (string, bool) {
	if len(packed) != 32 {
		return "", false
	}
	var plain [32]byte
	for i, src := range packOrder {
		c := packed[i]
		if !isHex(rune(c)) {
			return "", false
		}
		plain[src] = c
	}
	p := strings.ToUpper(string(plain[:]))
	return "{" + p[0:8] + "-" + p[8:12] + "-" + p[12:16] + "-" + p[16:20] + "-" + p[20:32] + "}", true
}

// PackGUID is the inverse of UnpackGUID.
func PackGUID(guid string) (string, bool) {
	g, ok := CanonicalGUID(guid)
	if !ok {
		return "", false
	}
	plain := strings.ReplaceAll(g[1:37], "-", "")
	var packed [32]byte
	for i, src := range packOrder {
		packed[i] = plain[src]
	}
	return string(packed[:]), true
}
