package sdk

import (
	"os"
	"syscall"
)

// setParentDeathSignal has the kernel kill the child when the plugin dies:
// a second guard beside the watchdog, for the child's own process.
func setParentDeathSignal(attr *syscall.SysProcAttr) { attr.Pdeathsig = syscall.SIGKILL }

// executable is the plugin's binary, even when its file was replaced or
// removed since it started.
func executable() (string, error) {
	if _, err := os.Stat("/proc/self/exe"); err == nil {
		return "/proc/self/exe", nil
	}
	return os.Executable()
}
