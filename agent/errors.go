package agent

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/immyoss/engine/immy"
)

// Errors of the server side, beside immy.ErrOffline, immy.ErrNoUserLoggedOn
// and immy.ErrInvalid.
var (
	// ErrDisconnected: the agent's connection ended while it worked on a
	// request; whether a script ran to its end is unknown. It wraps
	// immy.ErrOffline, so a session waits for the computer and detects again
	// before it runs anything a second time.
	ErrDisconnected = fmt.Errorf("agent disconnected: %w", immy.ErrOffline)
	// ErrUnavailable: the agent's machine has no interpreter for the script's
	// language (PowerShell on Linux without pwsh, cmd off Windows).
	ErrUnavailable = errors.New("interpreter not available on the agent")
	// ErrPermission: the agent may not run a user-context script (it does
	// not run as root or SYSTEM). It wraps fs.ErrPermission.
	ErrPermission = fmt.Errorf("agent not permitted to act as the logged-on user: %w", fs.ErrPermission)
	// ErrTooLarge: an answer would exceed the server's message limit.
	ErrTooLarge = errors.New("answer over the message limit")
	// ErrClosed: the server was closed.
	ErrClosed = errors.New("agent server closed")
)
