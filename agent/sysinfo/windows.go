package sysinfo

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/inventory"
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

// UninstallEntry is one subkey of an Uninstall key and the values read
// from it; it is inventory.UninstallEntry, which the Windows inventory script
// prints too.
type UninstallEntry = inventory.UninstallEntry

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

// Software returns the installed software the Uninstall keys list, read by
// inventory.WindowsSoftware (the reader of the Windows inventory script's
// output too): entries with a display name that are neither system
// components nor updates of another product. A Windows Installer product's
// key is its product code; its upgrade code comes from the installer's
// UpgradeCodes.
func (w *WindowsSnapshot) Software() []immy.DetectedSoftware {
	return inventory.WindowsSoftware(w.Uninstall, w.UpgradeCodes)
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

// UnpackGUID turns a Windows Installer packed GUID into a braced product
// code; it is inventory.UnpackGUID.
func UnpackGUID(packed string) (string, bool) { return inventory.UnpackGUID(packed) }

// PackGUID is the inverse of UnpackGUID; it is inventory.PackGUID.
func PackGUID(guid string) (string, bool) { return inventory.PackGUID(guid) }
