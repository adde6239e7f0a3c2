package sdk

import (
	"os"
	"syscall"
)

// setParentDeathSignal has the kernel kill the child when the plugin dies:
// a second guard beside the watchdog, for the child's own process (Linux
// sends it when the thread that started the child ends; Go ends a thread
// only when a goroutine locked to it exits, which the SDK never does).
func setParentDeathSignal(attr *syscall.SysProcAttr) { attr.Pdeathsig = syscall.SIGKILL }

// executable is the plugin's binary, even when its file was replaced or
// removed since it started.
func executable() (string, error) {
	if _, err := os.Stat("/proc/self/exe"); err == nil {
		return "/proc/self/exe", nil
	}
	return os.Executable()
}
