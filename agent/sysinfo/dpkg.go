package sysinfo

import (
	"io"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/inventory"
)

// ParseDpkgStatus reads dpkg's status database (/var/lib/dpkg/status). It is
// inventory.ParseDpkgStatus, the one parser of dpkg's format, which also
// reads the output of the Linux inventory script run through an RMM.
func ParseDpkgStatus(r io.Reader) ([]immy.DetectedSoftware, error) {
	return inventory.ParseDpkgStatus(r)
}
