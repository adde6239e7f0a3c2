// Package luasandbox runs untrusted Lua on the server: target filters,
// metascripts bound to one computer and cloud scripts bound to one tenant all
// use it, so the sandbox is written once.
//
// A sandboxed [State] opens only Lua's base library (the functions of
// [BaseFuncs]), string, table and math. There is no os, io, load, loadstring,
// dofile, require, getfenv, setfenv or collectgarbage; string.rep is capped at
// [MaxStringRep] bytes (or the Config's MaxStringRep) and string.dump is gone. The library is frozen: a chunk
// cannot change it, and every run gets a fresh environment table, so nothing
// one run writes is seen by the next and states can be pooled.
//
// Compile once, run many times: [Compile] turns source into an immutable
// *lua.FunctionProto that any number of states run at once; a [Pool] keeps the
// mutable states. Each run is bounded by its context (deadline and
// cancellation stop the chunk between two instructions) or, without a
// deadline, by the Config's timeout (none when it is negative: an embedder
// whose scripts run as long as their caller allows).
//
//	proto, err := luasandbox.Compile("filter", `return x > 1`)
//	pool := luasandbox.NewPool(0, luasandbox.Config{})
//	v, err := pool.Run(ctx, proto, func(s *luasandbox.State, env *lua.LTable) {
//		env.RawSetString("x", lua.LNumber(2))
//	})
//
// An embedder adds its own functions with Config.Library (bound once per
// state, frozen with the rest of the library) or per run in the environment.
// Functions bound once that read the current run's values (target filters
// read the computer being filtered) find them in State.Data, the embedder's
// own per-state value. Go functions that block read the run's context with
// L.Context(). An embedder that runs many short chunks with nothing in their
// environment keeps one per state and hands it on with State.ReuseEnv, which
// gives a fresh one only when a run wrote a global.
//
// The sandbox bounds time, the call stack and the value stack, not memory: a
// chunk that builds huge strings by concatenation is stopped by its deadline
// only between allocations.
//
// The package is internal: the engine's packages share it, and its API may
// change with them.
package luasandbox
