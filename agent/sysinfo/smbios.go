package sysinfo

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/immyoss/engine/immy"
)

// SMBIOS is what identifies a machine in its firmware's SMBIOS table.
type SMBIOS struct {
	Manufacturer string // system (type 1) manufacturer
	Product      string // system product name: the model
	Serial       string // system serial number
	UUID         string // system UUID, upper case, 8-4-4-4-12; "" when absent
	Family       string
	SKU          string
	ChassisType  int // enclosure (type 3) type, lock bit cleared; 0 when absent
}

// ParseSMBIOS reads an SMBIOS structure table of version major.minor (the
// table as Linux exposes it in /sys/firmware/dmi/tables/DMI, or the data after
// the 8-byte header of Windows' GetSystemFirmwareTable('RSMB')). It reads the
// system information (type 1) and the first enclosure (type 3) structures.
// A structure that runs past the end of the table is an error.
func ParseSMBIOS(table []byte, major, minor int) (SMBIOS, error) {
	var out SMBIOS
	seen1, seen3 := false, false
	for off := 0; off+4 <= len(table); {
		typ, length := table[off], int(table[off+1])
		if length < 4 {
			return SMBIOS{}, fmt.Errorf("sysinfo: smbios: structure at offset %d has length %d, less than its 4-byte header", off, length)
		}
		if off+length > len(table) {
			return SMBIOS{}, fmt.Errorf("sysinfo: smbios: structure at offset %d (type %d, length %d) runs past the table's %d bytes", off, typ, length, len(table))
		}
		if typ == 127 { // end of table
			break
		}
		formatted := table[off : off+length]
		// The string set follows, ended by a double NUL.
		end := off + length
		var strs []string
		if end+1 < len(table) && table[end] == 0 && table[end+1] == 0 {
			end += 2
		} else {
			for {
				i := indexNUL(table[end:])
				if i < 0 || end+i+1 >= len(table) {
					return SMBIOS{}, fmt.Errorf("sysinfo: smbios: strings of the structure at offset %d are not terminated", off)
				}
				strs = append(strs, string(table[end:end+i]))
				end += i + 1
				if table[end] == 0 {
					end++
					break
				}
			}
		}
		str := func(at int) string {
			if at >= len(formatted) {
				return ""
			}
			i := int(formatted[at])
			if i == 0 || i > len(strs) {
				return ""
			}
			return strings.TrimSpace(strs[i-1])
		}
		switch {
		case typ == 1 && !seen1:
			seen1 = true
			out.Manufacturer, out.Product, out.Serial = str(4), str(5), str(7)
			if length >= 0x18 {
				out.UUID = smbiosUUID(formatted[8:24], major, minor)
			}
			if length >= 0x1B {
				out.SKU, out.Family = str(0x19), str(0x1A)
			}
		case typ == 3 && !seen3 && length > 5:
			seen3 = true
			out.ChassisType = int(formatted[5] & 0x7F)
		}
		off = end
	}
	if !seen1 && !seen3 {
		return SMBIOS{}, errors.New("sysinfo: smbios: the table has no system or enclosure structure")
	}
	return out, nil
}

func indexNUL(b []byte) int {
	for i, c := range b {
		if c == 0 {
			return i
		}
	}
	return -1
}

// smbiosUUID renders the 16 bytes of a system UUID. From SMBIOS 2.6 on, the
// first three fields are little-endian (as Windows and Linux read them).
func smbiosUUID(b []byte, major, minor int) string {
	allSame := true
	for _, c := range b[1:] {
		if c != b[0] {
			allSame = false
		}
	}
	if allSame && b[0] == 0 {
		return "" // "not present"
	}
	u := make([]byte, 16)
	copy(u, b)
	if major > 2 || major == 2 && minor >= 6 {
		binary.BigEndian.PutUint32(u[0:], binary.LittleEndian.Uint32(b[0:]))
		binary.BigEndian.PutUint16(u[4:], binary.LittleEndian.Uint16(b[4:]))
		binary.BigEndian.PutUint16(u[6:], binary.LittleEndian.Uint16(b[6:]))
	}
	return fmt.Sprintf("%X-%X-%X-%X-%X", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// ChassisKind maps an SMBIOS enclosure type to a computer kind: portable
// (portable, laptop, notebook, hand held, sub notebook, tablet, convertible,
// detachable), server (main server chassis, multi-system, rack mount, blade,
// blade enclosure), workstation (desktops, towers, all-in-ones, mini PCs), and
// unknown for the rest (other, unknown, docking stations, virtual machines
// that report "other").
func ChassisKind(t int) immy.ComputerKind {
	switch t {
	case 8, 9, 10, 11, 14, 30, 31, 32:
		return immy.KindPortable
	case 17, 23, 25, 28, 29:
		return immy.KindServer
	case 3, 4, 5, 6, 7, 13, 15, 16, 24, 34, 35, 36:
		return immy.KindWorkstation
	}
	return immy.KindUnknown
}

// placeholders are what firmware writes where a vendor left a field unset.
var placeholders = map[string]bool{
	"": true, "0": true, "none": true, "n/a": true, "na": true, "default string": true,
	"to be filled by o.e.m.": true, "to be filled by oem": true, "system serial number": true,
	"system product name": true, "system manufacturer": true, "not specified": true,
	"not applicable": true, "chassis serial number": true, "oem": true, "0123456789": true,
	"invalid": true, "unknown": true,
}

// cleanDMI trims a firmware string and drops vendors' placeholders.
func cleanDMI(s string) string {
	s = strings.TrimSpace(s)
	if placeholders[strings.ToLower(s)] {
		return ""
	}
	return s
}

// normalizeUUID writes a hardware UUID in upper case when it is one, and
// leaves anything else trimmed as it was.
func normalizeUUID(s string) string {
	s = strings.TrimSpace(s)
	if len(s) == 36 && s[8] == '-' && s[13] == '-' && s[18] == '-' && s[23] == '-' {
		for i, c := range s {
			if i == 8 || i == 13 || i == 18 || i == 23 {
				continue
			}
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return s
			}
		}
		return strings.ToUpper(s)
	}
	return s
}
