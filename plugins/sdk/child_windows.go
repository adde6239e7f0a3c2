package sdk

import (
	"fmt"
	"os/exec"
	"sync"
	"unsafe"

	"golang.org/x/sys/windows"
)

// startChild starts cmd in a job object that kills its processes when its
// last handle closes: the plugin holds the only one, so the job dies with
// the plugin. done lifts that limit and closes the handle, leaving what the
// child left running alone.
func startChild(cmd *exec.Cmd) (func(), error) {
	job, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		return nil, fmt.Errorf("sdk: job object: %w", err)
	}
	if err := setKillOnClose(job, true); err != nil {
		windows.CloseHandle(job)
		return nil, fmt.Errorf("sdk: job object: %w", err)
	}
	var mu sync.Mutex
	live := true
	if cmd.Cancel != nil { // made by exec.CommandContext
		cmd.Cancel = func() error {
			mu.Lock()
			defer mu.Unlock()
			if live {
				if err := windows.TerminateJobObject(job, 1); err == nil {
					return nil
				}
			}
			return cmd.Process.Kill()
		}
	}
	if err := cmd.Start(); err != nil {
		windows.CloseHandle(job)
		return nil, err
	}
	h, err := windows.OpenProcess(windows.PROCESS_SET_QUOTA|windows.PROCESS_TERMINATE, false, uint32(cmd.Process.Pid))
	if err == nil {
		err = windows.AssignProcessToJobObject(job, h)
		windows.CloseHandle(h)
	}
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		windows.CloseHandle(job)
		return nil, fmt.Errorf("sdk: job object: %w", err)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			mu.Lock()
			defer mu.Unlock()
			live = false
			_ = setKillOnClose(job, false)
			windows.CloseHandle(job)
		})
	}, nil
}

func setKillOnClose(job windows.Handle, on bool) error {
	var info windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION
	if on {
		info.BasicLimitInformation.LimitFlags = windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
	}
	_, err := windows.SetInformationJobObject(job, windows.JobObjectExtendedLimitInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info)))
	return err
}
