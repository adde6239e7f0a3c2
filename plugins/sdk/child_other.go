//go:build !unix && !windows

package sdk

import (
	"fmt"
	"os/exec"
	"runtime"
)

func startChild(*exec.Cmd) (func(), error) {
	return nil, fmt.Errorf("sdk: StartChild: no way to tie a child to the plugin on %s", runtime.GOOS)
}
