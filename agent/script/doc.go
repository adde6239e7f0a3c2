// Package script runs scripts on the machine the agent runs on. A Runner is
// an immy.ScriptRunner for this machine (the request's Computer is ignored):
//
//	r := script.New(script.Config{})
//	res, err := r.RunScript(ctx, immy.ScriptRequest{
//		Script:     immy.Script{Language: immy.LanguageShell, Body: `echo "installing $Version"`},
//		Parameters: map[string]any{"Version": "2.1.0"},
//		Timeout:    10 * time.Minute,
//	})
//
// Languages: sh (/bin/sh) on Unix; PowerShell: pwsh on Linux where it is
// installed, Windows PowerShell (else pwsh) on Windows; cmd on Windows; Lua
// everywhere, inside the process, sandboxed (base, string, table, math;
// no os, io, load, require, dofile; print writes output, exit(n) sets the
// exit code, sleep(s) waits; string.rep bounded by MaxLuaStringRep). A
// language without an interpreter here is ErrUnavailable.
//
// Each process script runs in a fresh private directory, removed
// afterwards, as the head of its own process group (Unix) or in a job
// object (Windows): a timeout or a cancelled context kills everything it
// started, and the output written so far comes back with an error wrapping
// context.DeadlineExceeded or context.Canceled. Processes a script leaves
// running in the background after it exits are left alone, but RunScript
// waits at most Config.WaitDelay for them to close its output.
//
// Parameters are environment variables for sh and cmd; for PowerShell,
// parameters of the script's param() block, and variables for the others;
// for Lua, globals (unless that would hide a built-in) and fields of the
// table params. Names must be letters, digits and _. Numbers are written
// without an exponent where possible, booleans as true/false, lists and
// maps as JSON.
//
// Output is stdout and stderr together in the order written, capped at the
// request's MaxOutput (Config.DefaultMaxOutput, 1 MiB, when unset) without
// splitting a UTF-8 character, and streamed as it is kept. The values of
// the parameters the request's Secrets names are replaced by ******** before
// anything is kept or streamed, even when the script writes them a byte at
// a time. A result's Value is a Lua script's returned value, else the last
// non-empty line of the whole output, cap or no cap.
//
// A user-context script runs as the logged-on user (see
// sysinfo.ConsoleUser): on Unix with the user's uid, gid and groups, which
// needs root (else ErrPermission); on Windows with the session's token,
// which needs SYSTEM. Nobody logged on is immy.ErrNoUserLoggedOn.
package script
