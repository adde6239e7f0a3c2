package meshcentral

import (
	"cmp"
	"encoding/json"
	"errors"
	"strings"

	"github.com/immyoss/engine/immy"
)

// errNoSysinfo is a node whose agent reported no system information (a
// machine without SMBIOS tables, or an agent that has not reported yet).
var errNoSysinfo = errors.New("meshcentral: the node has no sysinfo")

// sysinfo is the part of a getsysinfo answer the identity comes from: the
// hardware identifiers the MeshAgent reads from SMBIOS on every OS, and the
// Linux and Windows specifics.
type sysinfo struct {
	NoInfo   bool `json:"noinfo"`
	Hardware struct {
		Identifiers struct {
			ProductUUID string `json:"product_uuid"`
			BiosSerial  string `json:"bios_serial"`
			BoardSerial string `json:"board_serial"`
			BoardVendor string `json:"board_vendor"`
			BoardName   string `json:"board_name"`
			ProductName string `json:"product_name"`
		} `json:"identifiers"`
		Linux struct {
			ProductUUID   string `json:"product_uuid"`
			ProductSerial string `json:"product_serial"`
			SysVendor     string `json:"sys_vendor"`
			ProductName   string `json:"product_name"`
		} `json:"linux"`
		Windows struct {
			OSInfo struct {
				Caption string `json:"Caption"`
				Version string `json:"Version"`
			} `json:"osinfo"`
		} `json:"windows"`
	} `json:"hardware"`
}

// parseSysinfo reads a node's hardware identity from a getsysinfo answer.
func parseSysinfo(b []byte) (immy.Identity, error) {
	var s sysinfo
	if err := json.Unmarshal(b, &s); err != nil {
		return immy.Identity{}, err
	}
	if s.NoInfo {
		return immy.Identity{}, errNoSysinfo
	}
	h := s.Hardware
	t := strings.TrimSpace
	return immy.Identity{
		UUID:         t(cmp.Or(h.Identifiers.ProductUUID, h.Linux.ProductUUID)),
		Serial:       t(cmp.Or(h.Linux.ProductSerial, h.Identifiers.BiosSerial, h.Identifiers.BoardSerial)),
		Manufacturer: t(cmp.Or(h.Linux.SysVendor, h.Identifiers.BoardVendor)),
		Model:        t(cmp.Or(h.Linux.ProductName, h.Identifiers.ProductName, h.Identifiers.BoardName)),
		OS:           t(h.Windows.OSInfo.Caption),
		OSVersion:    t(h.Windows.OSInfo.Version),
	}, nil
}
