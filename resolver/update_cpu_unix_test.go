//go:build unix

package resolver

import "syscall"

// processCPU returns the CPU time the process has spent, user and system, in
// nanoseconds: on a shared machine, the work of a benchmark's iterations
// apart from the time they waited for a core.
func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
