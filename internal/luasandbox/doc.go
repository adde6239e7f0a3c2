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
// Budgets. Every source is bounded before it reaches the parser (CheckSource:
// size, nesting, operator chains, operators in all; a *SyntaxError with its
// line and column), so that no source can exhaust the parser's stack, and is
// compiled under a deadline (Limits.CompileTimeout). Every run is bounded in
// time (its context, or the Config's timeout), in instructions
// (Config.MaxInstructions) and in memory (Config.MaxMemory), counted per
// state: the instruction hook is the state's context, which gopher-lua asks
// before every instruction. The builtins that can do much in one call are the
// sandbox's own and count against the same budgets: string.find, match,
// gmatch and gsub use a Lua pattern matcher that reports its steps (a
// backtracking pattern stops at the deadline, not hours later); string.rep,
// gsub, format, upper, lower, reverse, table.concat and the concatenation
// operator (which Compile turns into a call) count what they build before
// they build it; string.format refuses widths and precisions of more than two
// digits, unpack and string.byte more than 8000 results. A run that spends a
// budget stops with a *LimitError that pcall cannot catch. The call stack and
// the value stack are bounded by the Config too.
//
// The package is internal: the engine's packages share it, and its API may
// change with them.
package luasandbox
