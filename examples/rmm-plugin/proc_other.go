//go:build !unix

package main

import "os/exec"

// killGroupOnCancel leaves exec's default: the shell process itself is killed
// when the run is cancelled. The example RMM runs sh, which is a Unix tool.
func killGroupOnCancel(cmd *exec.Cmd) {}
