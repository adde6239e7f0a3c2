//go:build unix

package plugins

import (
	"os/exec"
	"syscall"
)

// ownGroup starts the plugin in its own process group, which the host ends
// when the plugin ends: children the plugin started without sdk.StartChild
// (which puts each child in a group of its own, ended by its watchdog) do
// not outlive it.
func ownGroup(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
}

// killGroup kills what is left of a plugin's process group.
func killGroup(pgid int) {
	if pgid > 1 {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
	}
}
