//go:build !unix

package plugins

import "os/exec"

// ownGroup does nothing here: on Windows a plugin ties its children to
// itself with sdk.StartChild (a job object).
func ownGroup(*exec.Cmd) {}

func killGroup(int) {}
