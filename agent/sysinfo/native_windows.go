package sysinfo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"

	"github.com/immyoss/engine/immy"
)

// windowsLive reads the running Windows machine into a WindowsSnapshot,
// only the parts each question needs.
type windowsLive struct{}

func (s *Source) native() system { return windowsLive{} }

func (windowsLive) identity(context.Context) (immy.Identity, error) {
	w, err := readIdentity()
	if err != nil {
		return immy.Identity{}, err
	}
	return w.Identity()
}

func (windowsLive) software(context.Context) ([]immy.DetectedSoftware, error) {
	w, err := readSoftware()
	if err != nil {
		return nil, err
	}
	return w.Software(), nil
}

func (windowsLive) logins(context.Context) ([]Login, error) {
	sessions, err := readSessions()
	if err != nil {
		return nil, err
	}
	w := WindowsSnapshot{Sessions: sessions}
	return w.Logins(), nil
}

const regRead = registry.READ | registry.WOW64_64KEY

func regString(k registry.Key, name string) string {
	s, _, err := k.GetStringValue(name)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(s)
}

func regUint(k registry.Key, name string) uint32 {
	v, _, err := k.GetIntegerValue(name)
	if err != nil {
		return 0
	}
	return uint32(v)
}

func readIdentity() (*WindowsSnapshot, error) {
	var w WindowsSnapshot
	var err error
	if w.Hostname, err = os.Hostname(); err != nil {
		return nil, fmt.Errorf("sysinfo: hostname: %w", err)
	}
	if k, err := registry.OpenKey(registry.LOCAL_MACHINE, `SOFTWARE\Microsoft\Cryptography`, regRead); err == nil {
		w.MachineGUID = regString(k, "MachineGuid")
		k.Close()
	}
	if k, err := registry.OpenKey(registry.LOCAL_MACHINE, `SYSTEM\CurrentControlSet\Control\ProductOptions`, regRead); err == nil {
		w.ProductType = regString(k, "ProductType")
		k.Close()
	}
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, `SOFTWARE\Microsoft\Windows NT\CurrentVersion`, regRead)
	if err != nil {
		return nil, fmt.Errorf("sysinfo: registry CurrentVersion: %w", err)
	}
	w.CurrentVersion = WindowsVersion{
		ProductName: regString(k, "ProductName"), DisplayVersion: regString(k, "DisplayVersion"),
		EditionID: regString(k, "EditionID"), InstallationType: regString(k, "InstallationType"),
		CurrentBuild: regString(k, "CurrentBuild"), Major: regUint(k, "CurrentMajorVersionNumber"),
		Minor: regUint(k, "CurrentMinorVersionNumber"), UBR: regUint(k, "UBR"),
	}
	k.Close()
	// Without the firmware table (a locked-down sandbox) the identity lacks
	// its hardware fields; the rest still identifies the machine.
	w.RawSMBIOS, _ = firmwareSMBIOS()
	var name *uint16
	var status uint32
	if err := windows.NetGetJoinInformation(nil, &name, &status); err == nil {
		w.Domain = windows.UTF16PtrToString(name)
		w.DomainJoined = status == windows.NetSetupDomainName
		windows.NetApiBufferFree((*byte)(unsafe.Pointer(name)))
		if !w.DomainJoined {
			w.Domain = ""
		}
	}
	if strings.EqualFold(w.ProductType, "LanmanNT") {
		w.PrimaryDC = isPDC(w.Hostname)
	}
	return &w, nil
}

var (
	kernel32                          = windows.NewLazySystemDLL("kernel32.dll")
	procGetSystemFirmwareTable        = kernel32.NewProc("GetSystemFirmwareTable")
	netapi32                          = windows.NewLazySystemDLL("netapi32.dll")
	procDsGetDcNameW                  = netapi32.NewProc("DsGetDcNameW")
	wtsapi32                          = windows.NewLazySystemDLL("wtsapi32.dll")
	procWTSQuerySessionInfoW          = wtsapi32.NewProc("WTSQuerySessionInformationW")
	rsmb                       uint32 = 'R'<<24 | 'S'<<16 | 'M'<<8 | 'B'
)

// firmwareSMBIOS returns GetSystemFirmwareTable('RSMB', 0).
func firmwareSMBIOS() ([]byte, error) {
	n, _, err := procGetSystemFirmwareTable.Call(uintptr(rsmb), 0, 0, 0)
	if n == 0 {
		return nil, fmt.Errorf("sysinfo: GetSystemFirmwareTable: %w", err)
	}
	buf := make([]byte, n)
	m, _, err := procGetSystemFirmwareTable.Call(uintptr(rsmb), 0, uintptr(unsafe.Pointer(&buf[0])), n)
	if m == 0 || m > n {
		return nil, fmt.Errorf("sysinfo: GetSystemFirmwareTable: %w", err)
	}
	return buf[:m], nil
}

type domainControllerInfo struct {
	DomainControllerName        *uint16
	DomainControllerAddress     *uint16
	DomainControllerAddressType uint32
	DomainGUID                  windows.GUID
	DomainName                  *uint16
	DNSForestName               *uint16
	Flags                       uint32
	DcSiteName                  *uint16
	ClientSiteName              *uint16
}

// isPDC asks the domain for the controller holding the PDC emulator role and
// compares it with this machine's name.
func isPDC(hostname string) bool {
	const dsPDCRequired, dsReturnFlatName = 0x80, 0x80000000
	var info *domainControllerInfo
	r, _, _ := procDsGetDcNameW.Call(0, 0, 0, 0, dsPDCRequired|dsReturnFlatName, uintptr(unsafe.Pointer(&info)))
	if r != 0 || info == nil {
		return false
	}
	defer windows.NetApiBufferFree((*byte)(unsafe.Pointer(info)))
	dc := strings.TrimLeft(windows.UTF16PtrToString(info.DomainControllerName), `\`)
	short, _, _ := strings.Cut(hostname, ".")
	return strings.EqualFold(dc, short)
}

func readSoftware() (*WindowsSnapshot, error) {
	var w WindowsSnapshot
	var errs []error
	read := func(root registry.Key, hive, path string) {
		k, err := registry.OpenKey(root, path, regRead)
		if err != nil {
			if !errors.Is(err, registry.ErrNotExist) {
				errs = append(errs, fmt.Errorf("sysinfo: registry %s\\%s: %w", hive, path, err))
			}
			return
		}
		defer k.Close()
		names, err := k.ReadSubKeyNames(-1)
		if err != nil {
			errs = append(errs, fmt.Errorf("sysinfo: registry %s\\%s: %w", hive, path, err))
			return
		}
		sort.Strings(names)
		for _, n := range names {
			sk, err := registry.OpenKey(k, n, regRead)
			if err != nil {
				continue // removed meanwhile, or locked down
			}
			w.Uninstall = append(w.Uninstall, UninstallEntry{
				Hive: hive, Key: n,
				DisplayName: regString(sk, "DisplayName"), DisplayVersion: regString(sk, "DisplayVersion"),
				Publisher:       regString(sk, "Publisher"),
				SystemComponent: regUint(sk, "SystemComponent"), WindowsInstaller: regUint(sk, "WindowsInstaller"),
				ParentKeyName: regString(sk, "ParentKeyName"), ReleaseType: regString(sk, "ReleaseType"),
			})
			sk.Close()
		}
	}
	const uninstall = `Software\Microsoft\Windows\CurrentVersion\Uninstall`
	read(registry.LOCAL_MACHINE, "HKLM", uninstall)
	read(registry.LOCAL_MACHINE, `HKLM\WOW6432Node`, `Software\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall`)
	if users, err := registry.OpenKey(registry.USERS, "", regRead); err == nil {
		sids, _ := users.ReadSubKeyNames(-1)
		users.Close()
		sort.Strings(sids)
		for _, sid := range sids {
			if !strings.HasPrefix(sid, "S-1-5-21-") && !strings.HasPrefix(sid, "S-1-12-1-") || strings.HasSuffix(sid, "_Classes") {
				continue // only real users' hives (local, domain, Entra ID)
			}
			read(registry.USERS, `HKU\`+sid, sid+`\`+uninstall)
		}
	}
	if k, err := registry.OpenKey(registry.LOCAL_MACHINE, `SOFTWARE\Classes\Installer\UpgradeCodes`, regRead); err == nil {
		ups, _ := k.ReadSubKeyNames(-1)
		w.UpgradeCodes = map[string][]string{}
		for _, up := range ups {
			uk, err := registry.OpenKey(k, up, regRead)
			if err != nil {
				continue
			}
			products, _ := uk.ReadValueNames(-1)
			uk.Close()
			sort.Strings(products)
			w.UpgradeCodes[up] = products
		}
		k.Close()
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &w, nil
}

// wtsInfo is WTSINFOW.
type wtsInfo struct {
	State                   int32
	SessionID               uint32
	IncomingBytes           uint32
	OutgoingBytes           uint32
	IncomingFrames          uint32
	OutgoingFrames          uint32
	IncomingCompressedBytes uint32
	OutgoingCompressedBytes uint32
	WinStationName          [32]uint16
	Domain                  [17]uint16
	UserName                [21]uint16
	ConnectTime             int64
	DisconnectTime          int64
	LastInputTime           int64
	LogonTime               int64
	CurrentTime             int64
}

const (
	wtsUserName           = 5
	wtsDomainName         = 7
	wtsClientProtocolType = 16
	wtsSessionInfo        = 24
)

func wtsQuery(id uint32, class int) ([]byte, bool) {
	var buf *byte
	var n uint32
	r, _, _ := procWTSQuerySessionInfoW.Call(0, uintptr(id), uintptr(class), uintptr(unsafe.Pointer(&buf)), uintptr(unsafe.Pointer(&n)))
	if r == 0 || buf == nil {
		return nil, false
	}
	defer windows.WTSFreeMemory(uintptr(unsafe.Pointer(buf)))
	return append([]byte(nil), unsafe.Slice(buf, n)...), true
}

func utf16Bytes(b []byte) string {
	if len(b) < 2 {
		return ""
	}
	return windows.UTF16ToString(unsafe.Slice((*uint16)(unsafe.Pointer(&b[0])), len(b)/2))
}

// readSessions lists the sessions that have a user, with the user principal
// name when the directory knows it.
func readSessions() ([]WindowsSession, error) {
	var sessions *windows.WTS_SESSION_INFO
	var count uint32
	if err := windows.WTSEnumerateSessions(0, 0, 1, &sessions, &count); err != nil {
		return nil, fmt.Errorf("sysinfo: WTSEnumerateSessions: %w", err)
	}
	defer windows.WTSFreeMemory(uintptr(unsafe.Pointer(sessions)))
	var out []WindowsSession
	for _, s := range unsafe.Slice(sessions, count) {
		if s.State != windows.WTSActive && s.State != windows.WTSDisconnected {
			continue
		}
		userB, _ := wtsQuery(s.SessionID, wtsUserName)
		user := utf16Bytes(userB)
		if user == "" {
			continue
		}
		domB, _ := wtsQuery(s.SessionID, wtsDomainName)
		ws := WindowsSession{ID: s.SessionID, User: user, Domain: utf16Bytes(domB), Active: s.State == windows.WTSActive}
		if p, ok := wtsQuery(s.SessionID, wtsClientProtocolType); ok && len(p) >= 2 {
			ws.Remote = p[0] != 0 || p[1] != 0
		}
		if b, ok := wtsQuery(s.SessionID, wtsSessionInfo); ok && len(b) >= int(unsafe.Sizeof(wtsInfo{})) {
			info := (*wtsInfo)(unsafe.Pointer(&b[0]))
			if info.LogonTime > 0 {
				ft := windows.Filetime{LowDateTime: uint32(info.LogonTime), HighDateTime: uint32(info.LogonTime >> 32)}
				ws.LogonTime = time.Unix(0, ft.Nanoseconds()).UTC()
			}
		}
		if ws.Domain != "" {
			if upn, err := windows.TranslateAccountName(ws.Domain+`\`+ws.User, windows.NameSamCompatible, windows.NameUserPrincipal, 64); err == nil {
				ws.UPN = upn
			}
		}
		out = append(out, ws)
	}
	return out, nil
}
