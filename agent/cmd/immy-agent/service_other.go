//go:build !windows

package main

import (
	"context"
	"io"
)

// runService runs the agent; outside Windows a service manager (systemd,
// launchd) runs the command as it is.
func runService(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return run(ctx, args, stdout, stderr)
}
