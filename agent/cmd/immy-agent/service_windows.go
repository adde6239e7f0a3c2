package main

import (
	"context"
	"io"

	"golang.org/x/sys/windows/svc"
)

// runService runs the agent, under the service control manager when
// Windows started it as a service.
func runService(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	isService, err := svc.IsWindowsService()
	if err != nil || !isService {
		return run(ctx, args, stdout, stderr)
	}
	h := &handler{ctx: ctx, args: args, stdout: stdout, stderr: stderr}
	if err := svc.Run("immy-agent", h); err != nil {
		return 1
	}
	return h.code
}

type handler struct {
	ctx            context.Context
	args           []string
	stdout, stderr io.Writer
	code           int
}

func (h *handler) Execute(_ []string, req <-chan svc.ChangeRequest, status chan<- svc.Status) (bool, uint32) {
	status <- svc.Status{State: svc.StartPending}
	ctx, cancel := context.WithCancel(h.ctx)
	defer cancel()
	done := make(chan int, 1)
	go func() { done <- run(ctx, h.args, h.stdout, h.stderr) }()
	status <- svc.Status{State: svc.Running, Accepts: svc.AcceptStop | svc.AcceptShutdown}
	for {
		select {
		case h.code = <-done:
			status <- svc.Status{State: svc.StopPending}
			return false, uint32(h.code)
		case r := <-req:
			switch r.Cmd {
			case svc.Interrogate:
				status <- r.CurrentStatus
			case svc.Stop, svc.Shutdown:
				status <- svc.Status{State: svc.StopPending}
				cancel()
			}
		}
	}
}
