package immy

import (
	"context"
	"errors"
	"time"
)

// Errors of the seams between the engine and the computers it reaches.
var (
	// ErrOffline: no online pathway reaches the computer.
	ErrOffline = errors.New("computer offline")
	// ErrNoUserLoggedOn: a user-context script found nobody logged on.
	ErrNoUserLoggedOn = errors.New("no user logged on")
)

// ScriptRunner runs a script on one computer. The engine's own agent, RMM
// integrations and test fakes implement it; the session package uses it without
// knowing which. RunScript honours ctx's deadline and cancellation; a script
// that ran and failed is a ScriptResult with a non-zero ExitCode, not an error.
// Errors are for scripts that could not run: ErrOffline, ErrNoUserLoggedOn,
// ctx.Err(), or a transport failure.
type ScriptRunner interface {
	RunScript(ctx context.Context, req ScriptRequest) (ScriptResult, error)
}

// ScriptRequest is one script to run on one computer.
type ScriptRequest struct {
	Computer string // the computer's id
	Script   Script
	// Parameters are passed to the script by name, in the way its language
	// expects (environment, PowerShell parameters, Lua globals).
	Parameters map[string]any
	// Secrets names the parameters whose values must never be logged or echoed.
	Secrets []string
	// Timeout bounds the run in addition to ctx's deadline; zero means ctx only.
	Timeout time.Duration
	// MaxOutput caps the output kept, in bytes; zero means the runner's default.
	MaxOutput int
	// Output, when set, receives output as it is produced, in order.
	Output func(chunk []byte)
}

// ScriptResult is what a script left behind.
type ScriptResult struct {
	ExitCode  int
	Output    string // combined output, capped at MaxOutput
	Truncated bool   // output beyond MaxOutput was dropped
	// Value is the script's last value: the last non-empty line of output for a
	// shell script, the returned value for Lua.
	Value string
}

// Inventory is what a computer reports of itself.
type Inventory struct {
	Identity Identity
	Software []DetectedSoftware
	UPNs     []string // logged-on and recent users, newest first
}

// InventorySource reports a computer's inventory.
type InventorySource interface {
	Inventory(ctx context.Context, computer string) (Inventory, error)
}

// Identity is what identifies a machine, whichever agent reports it.
type Identity struct {
	UUID         string // hardware (SMBIOS) UUID
	Serial       string
	Manufacturer string
	Model        string
	Hostname     string
	OS           string // name, such as "Windows 11 Pro" or "Debian GNU/Linux 12"
	OSVersion    string
	OSInstallID  string // machine-id on Linux, MachineGuid on Windows; changes when wiped
	Kind         ComputerKind
	Domain       string
}
