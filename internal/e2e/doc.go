// Package e2e holds end-to-end tests across the engine's packages; it has no code of its own.
//
// The tests play whole maintenance sessions (package session) through the
// engine's own agent: the immy-agent binary is built, started as a process of
// its own, enrolled over TLS on a loopback listener with an install token,
// and reached through agent.Server, which is the sessions' script runner and
// inventory source. The software the sessions install lives in a temporary
// directory: its scripts are sh scripts that write, read and remove marker
// files there, so nothing is installed on the machine running the tests.
//
// Living here, apart from both, the tests let neither package import the
// other: the agent never imports session, and session knows agents only
// through immy.ScriptRunner and immy.InventorySource.
package e2e
