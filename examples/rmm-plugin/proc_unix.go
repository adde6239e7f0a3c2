//go:build unix

package main

import (
	"os/exec"
	"syscall"
)

// killGroupOnCancel starts the script in its own process group and kills the
// whole group when the run is cancelled.
func killGroupOnCancel(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}
