package sysinfo

import (
	"io"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/inventory"
)

// RPMQueryFormat is the --queryformat that ParseRPMQuery reads:
// rpm -qa --queryformat "$RPMQueryFormat".
const RPMQueryFormat = inventory.RPMQueryFormat

// ParseRPMQuery reads the output of rpm -qa with RPMQueryFormat. It is
// inventory.ParseRPMQuery, shared with the inventory script's reader.
func ParseRPMQuery(r io.Reader) ([]immy.DetectedSoftware, error) {
	return inventory.ParseRPMQuery(r)
}

// sortSoftware orders an inventory as inventory.Sort does.
func sortSoftware(s []immy.DetectedSoftware) []immy.DetectedSoftware { return inventory.Sort(s) }
