package sysinfo

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/immyoss/engine/immy"
)

// WindowsSnapshot is what the agent reads of a Windows machine through its
// APIs and registry. On Windows, Source fills it; anywhere, a recorded one
// (as JSON) gives the identity, inventory and logins the agent would report,
// which is how the Windows logic is tested on other systems.
type WindowsSnapshot struct {
	Hostname     string `json:"hostname"`
	Domain       string `json:"domain,omitempty"` // the joined domain (NetGetJoinInformation)
	DomainJoined bool   `json:"domain_joined,omitempty"`
	// MachineGUID is HKLM\SOFTWARE\Microsoft\Cryptography\MachineGuid, the
	// OS installation id.
	MachineGUID string `json:"machine_guid,omitempty"`
	// ProductType is HKLM\SYSTEM\CurrentControlSet\Control\ProductOptions\ProductType:
	// WinNT (workstation), ServerNT (server) or LanmanNT (domain controller).
	ProductType string `json:"product_type,omitempty"`
	// PrimaryDC is true on the domain controller that holds the PDC emulator role.
	PrimaryDC bool `json:"primary_dc,omitempty"`
	// CurrentVersion holds values of HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion.
	CurrentVersion WindowsVersion `json:"current_version"`
	// RawSMBIOS is the output of GetSystemFirmwareTable('RSMB', 0): an 8-byte
	// header (calling method, major, minor, DMI revision, length) and the table.
	RawSMBIOS []byte `json:"raw_smbios,omitempty"`
	// Uninstall holds the subkeys of the Uninstall keys: HKLM, HKLM's
	// WOW6432Node and every loaded user hive under HKU.
	Uninstall []UninstallEntry `json:"uninstall,omitempty"`
	// UpgradeCodes maps packed upgrade codes (subkeys of
	// HKLM\SOFTWARE\Classes\Installer\UpgradeCodes) to the packed product
	// codes under them (value names).
	UpgradeCodes map[string][]string `json:"upgrade_codes,omitempty"`
	// Sessions are the Remote Desktop Services sessions with a user.
	Sessions []WindowsSession `json:"sessions,omitempty"`
}

// WindowsVersion holds the values of the CurrentVersion key the agent reads.
type WindowsVersion struct {
	ProductName      string `json:"ProductName,omitempty"`
	DisplayVersion   string `json:"DisplayVersion,omitempty"`
	EditionID        string `json:"EditionID,omitempty"`
	InstallationType string `json:"InstallationType,omitempty"` // Client, Server, Server Core
	CurrentBuild     string `json:"CurrentBuild,omitempty"`
	Major            uint32 `json:"CurrentMajorVersionNumber,omitempty"`
	Minor            uint32 `json:"CurrentMinorVersionNumber,omitempty"`
	UBR              uint32 `json:"UBR,omitempty"`
}

// UninstallEntry is one subkey of an Uninstall key and the values read from it.
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

// WindowsSession is a logged-on user's session.
type WindowsSession struct {
	ID        uint32    `json:"id"`
	User      string    `json:"user"`          // sAMAccountName
	Domain    string    `json:"domain"`        // NetBIOS domain or the computer name
	UPN       string    `json:"upn,omitempty"` // from TranslateName, when the directory knows it
	Active    bool      `json:"active"`        // WTSActive, rather than disconnected
	Remote    bool      `json:"remote,omitempty"`
	LogonTime time.Time `json:"logon_time"`
}

// Identity returns the identity the snapshot describes.
func (w *WindowsSnapshot) Identity() (immy.Identity, error) {
	id := immy.Identity{
		Hostname:    w.Hostname,
		OSInstallID: strings.Trim(strings.TrimSpace(w.MachineGUID), "{}"),
		Domain:      w.Domain,
	}
	id.OS, id.OSVersion = w.CurrentVersion.name(), w.CurrentVersion.version()
	var chassis int
	if len(w.RawSMBIOS) > 0 {
		sm, err := parseRawSMBIOS(w.RawSMBIOS)
		if err != nil {
			return immy.Identity{}, err
		}
		id.UUID, id.Serial = sm.UUID, cleanDMI(sm.Serial)
		id.Manufacturer, id.Model = cleanDMI(sm.Manufacturer), cleanDMI(sm.Product)
		chassis = sm.ChassisType
	}
	switch strings.ToLower(w.ProductType) {
	case "lanmannt":
		id.Kind = immy.KindDomainController
		if w.PrimaryDC {
			id.Kind = immy.KindPrimaryDomainController
		}
	case "servernt":
		id.Kind = immy.KindServer
	default:
		id.Kind = immy.KindWorkstation
		if ChassisKind(chassis) == immy.KindPortable {
			id.Kind = immy.KindPortable
		}
	}
	return id, nil
}

// parseRawSMBIOS reads GetSystemFirmwareTable's RawSMBIOSData.
func parseRawSMBIOS(b []byte) (SMBIOS, error) {
	if len(b) < 8 {
		return SMBIOS{}, fmt.Errorf("sysinfo: smbios: raw data of %d bytes is shorter than its 8-byte header", len(b))
	}
	n := binary.LittleEndian.Uint32(b[4:8])
	if uint64(n) > uint64(len(b)-8) {
		return SMBIOS{}, fmt.Errorf("sysinfo: smbios: header announces %d bytes of table, %d follow", n, len(b)-8)
	}
	return ParseSMBIOS(b[8:8+n], int(b[1]), int(b[2]))
}

// name is the marketing name: ProductName, which Windows 11 still writes as
// "Windows 10 ..." (corrected from the build number, 22000 and later).
func (v WindowsVersion) name() string {
	name := strings.TrimSpace(v.ProductName)
	if build, err := strconv.Atoi(v.CurrentBuild); err == nil && build >= 22000 &&
		strings.HasPrefix(name, "Windows 10") && !strings.HasPrefix(v.InstallationType, "Server") {
		name = "Windows 11" + strings.TrimPrefix(name, "Windows 10")
	}
	return name
}

// version is major.minor.build.UBR ("10.0.22631.3593").
func (v WindowsVersion) version() string {
	if v.CurrentBuild == "" {
		return ""
	}
	if v.Major == 0 && v.Minor == 0 { // before Windows 10 these values did not exist
		return v.CurrentBuild
	}
	return fmt.Sprintf("%d.%d.%s.%d", v.Major, v.Minor, v.CurrentBuild, v.UBR)
}

// releaseTypes are the Uninstall entries that are updates of something else.
var releaseTypes = map[string]bool{"update": true, "hotfix": true, "security update": true, "update rollup": true, "service pack": true}

// Software returns the installed software the Uninstall keys list: entries
// with a display name that are neither system components nor updates of
// another product. A Windows Installer product's key is its product code;
// its upgrade code comes from the installer's UpgradeCodes.
func (w *WindowsSnapshot) Software() []immy.DetectedSoftware {
	upgrade := map[string]string{} // product code -> upgrade code, both braced
	for packedUp, products := range w.UpgradeCodes {
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
	for _, e := range w.Uninstall {
		name := strings.TrimSpace(e.DisplayName)
		if name == "" || e.SystemComponent == 1 || e.ParentKeyName != "" || releaseTypes[strings.ToLower(e.ReleaseType)] {
			continue
		}
		d := immy.DetectedSoftware{Name: name, Version: NormalizeVersion(e.DisplayVersion), Publisher: strings.TrimSpace(e.Publisher)}
		if g, ok := canonicalGUID(e.Key); ok {
			d.ProductCode = g
			d.UpgradeCode = upgrade[g]
		}
		out = append(out, d)
	}
	return sortSoftware(out)
}

// Logins returns the sessions' users.
func (w *WindowsSnapshot) Logins() []Login {
	var out []Login
	for _, s := range w.Sessions {
		if s.User == "" {
			continue
		}
		user := s.User
		if s.Domain != "" {
			user = s.Domain + `\` + s.User
		}
		out = append(out, Login{User: user, UPN: s.UPN, Time: s.LogonTime.UTC(), Active: s.Active, Graphical: true, Remote: s.Remote})
	}
	SortLogins(out)
	return out
}

// canonicalGUID returns g braced and upper case when it is a GUID.
func canonicalGUID(g string) (string, bool) {
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
	g, ok := canonicalGUID(guid)
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
