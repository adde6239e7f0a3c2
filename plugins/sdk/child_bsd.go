//go:build unix && !linux

package sdk

import (
	"os"
	"syscall"
)

// setParentDeathSignal does nothing here: the watchdog alone ends the
// children of a dead plugin.
func setParentDeathSignal(*syscall.SysProcAttr) {}

// executable is the plugin's binary.
func executable() (string, error) { return os.Executable() }
