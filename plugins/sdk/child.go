package sdk

import (
	"errors"
	"os/exec"
)

// StartChild starts cmd, a process the plugin runs for a call (a script, an
// installer, a vendor's tool), so that it and every process it starts end
// with the call or with the plugin, whichever ends first:
//
//   - When cmd's context ends (exec.CommandContext), the whole tree is
//     killed, not only cmd's own process: StartChild replaces the Cancel
//     that exec.CommandContext set.
//   - When the plugin process dies, however it dies (kill -9 included), the
//     tree of every child still running is killed. On Unix each child heads
//     its own process group, and a watchdog (the plugin's own binary, started
//     once on the first StartChild, holding the read end of a pipe from the
//     plugin) kills the groups registered with it when that pipe closes; on
//     Linux the child also gets SIGKILL as its parent-death signal. On
//     Windows the child runs in a job object that the system kills when the
//     plugin's handle to it closes.
//
// Call done once cmd.Wait has returned: from then on, processes the child
// left running in the background are left alone, as an agent leaves them.
// StartChild replaces cmd.Cancel and, on Unix, the process-group fields
// of cmd.SysProcAttr. It fails, with nothing left running, when it cannot
// tie cmd to the plugin.
//
// The watchdog is the plugin's binary started again: the SDK's package
// initialisation turns such a start into the watchdog before main runs, so
// nothing else of the plugin runs in it. One gap remains: a child is tied
// an instant after it starts (registered with the watchdog, or assigned to
// its job on Windows), so a plugin killed in that instant leaves the child
// to its parent-death signal on Linux, and a process the child starts in
// that instant on Windows outside the job.
func StartChild(cmd *exec.Cmd) (done func(), err error) {
	if cmd == nil || cmd.Process != nil {
		return nil, errors.New("sdk: StartChild: the command is nil or already started")
	}
	return startChild(cmd)
}

// RunChild is StartChild, then cmd.Wait, then done: it returns cmd.Wait's
// error, or StartChild's.
func RunChild(cmd *exec.Cmd) error {
	done, err := StartChild(cmd)
	if err != nil {
		return err
	}
	defer done()
	return cmd.Wait()
}
