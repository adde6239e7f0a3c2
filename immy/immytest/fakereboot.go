package immytest

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/inventory"
)

// Reboots on the fake computers. A FakeFleet tells whether a computer has a
// reboot pending (RebootState, what session.RebootStateReader asks); a
// RebootingFleet can also reboot them (what session.Rebooter asks).

// SetRebootPending sets whether the computer has a reboot pending, with the
// reasons given (inventory.PendingCBS, ...; none given: the Linux file's).
func (c *FakeComputer) SetRebootPending(pending bool, reasons ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reboot.pending = pending
	c.reboot.reasons = nil
	if pending {
		c.reboot.reasons = append([]string(nil), reasons...)
		if len(reasons) == 0 {
			c.reboot.reasons = []string{inventory.PendingRebootRequiredFile}
		}
	}
}

// Boots returns how many times the computer rebooted.
func (c *FakeComputer) Boots() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reboot.boots
}

// fakeReboot is a fake computer's reboot state.
type fakeReboot struct {
	pending bool
	reasons []string
	boots   int
}

// RebootState tells whether a computer has a reboot pending, and its boot
// (the number of reboots). An offline computer is immy.ErrOffline.
func (ff *FakeFleet) RebootState(ctx context.Context, computer string) (inventory.RebootState, error) {
	c := ff.Computer(computer)
	if c == nil {
		return inventory.RebootState{}, fmt.Errorf("immytest: unknown computer %q: %w", computer, immy.ErrNotFound)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.online {
		return inventory.RebootState{}, fmt.Errorf("immytest: computer %q: %w", computer, immy.ErrOffline)
	}
	return inventory.RebootState{Pending: c.reboot.pending, Reasons: append([]string(nil), c.reboot.reasons...), Boot: "boot-" + strconv.Itoa(c.reboot.boots)}, nil
}

// RebootingFleet is a FakeFleet whose computers can be rebooted: a reboot
// clears the pending reboot, counts a boot, and takes the computer offline
// for DownFor (zero: it is back at once, from another boot).
type RebootingFleet struct {
	*FakeFleet
	DownFor time.Duration
	// Answer, when set, answers each reboot before it happens: an error
	// (the session's ErrRebootDeclined for a declined prompt) refuses it.
	Answer func(computer string, prompt bool) error
}

// Reboot reboots a fake computer.
func (rf *RebootingFleet) Reboot(ctx context.Context, computer string, prompt bool) error {
	c := rf.Computer(computer)
	if c == nil {
		return fmt.Errorf("immytest: unknown computer %q: %w", computer, immy.ErrNotFound)
	}
	if rf.Answer != nil {
		if err := rf.Answer(computer, prompt); err != nil {
			return err
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.online {
		return fmt.Errorf("immytest: computer %q: %w", computer, immy.ErrOffline)
	}
	c.reboot.pending, c.reboot.reasons = false, nil
	c.reboot.boots++
	if rf.DownFor > 0 {
		c.online = false
		time.AfterFunc(rf.DownFor, func() { c.SetOnline(true) })
	}
	return nil
}
