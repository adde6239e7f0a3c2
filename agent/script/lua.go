package script

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/internal/luasandbox"
)

// MaxLuaStringRep is the longest string string.rep builds in a Lua script, in bytes.
const MaxLuaStringRep = 16 << 20

// luaChunkName is the name a script's Lua messages start with ("<string>:3: boom").
const luaChunkName = "<string>"

// luaStates keeps the agent's Lua states. They are the engine's one sandbox
// (internal/luasandbox) with the agent's own functions in their library, and
// are shared by every run: a run's globals and parameters live in its own
// environment, the library is frozen, and what the functions read about the
// run (its output, its exit code) is set on the state for that run only.
// A run is bounded by the request's Timeout or the caller's context, by
// DefaultLuaTimeout when neither has a deadline, and always by the sandbox's
// instruction and memory budgets.
var luaStates = luasandbox.NewPool(0, luasandbox.Config{
	Library:      luaLibrary,
	Timeout:      DefaultLuaTimeout,
	MaxStringRep: MaxLuaStringRep,
})

// DefaultLuaTimeout bounds a Lua script whose request has no Timeout (zero)
// and whose context has no deadline: never unbounded.
const DefaultLuaTimeout = 10 * time.Minute

// luaTostring renders a returned table or userdata as tostring does (through
// its __tostring), inside the run's deadline.
var luaTostring = func() *lua.FunctionProto {
	proto, err := luasandbox.Compile(luaChunkName, "return tostring(value)")
	if err != nil {
		panic(err) // a constant chunk
	}
	return proto
}()

// luaRun is what the agent's functions read about the current run: a
// state's Data while it runs a script.
type luaRun struct {
	out    *sink
	exited bool
	code   int
}

// luaLibrary adds the agent's functions to a state's library: print writes
// to the run's output, exit(code) ends the script with that exit code,
// sleep(seconds) waits, honouring the run's deadline.
func luaLibrary(s *luasandbox.State, lib *lua.LTable) {
	current := func() *luaRun { return s.Data.(*luaRun) }
	lib.RawSetString("print", s.L.NewFunction(func(L *lua.LState) int {
		var b strings.Builder
		for i := 1; i <= L.GetTop(); i++ {
			if i > 1 {
				b.WriteByte('\t')
			}
			b.WriteString(L.ToStringMeta(L.Get(i)).String())
		}
		b.WriteByte('\n')
		current().out.Write([]byte(b.String()))
		return 0
	}))
	lib.RawSetString("exit", s.L.NewFunction(func(L *lua.LState) int {
		r := current()
		r.exited, r.code = true, L.OptInt(1, 0)
		L.RaiseError("exit")
		return 0
	}))
	lib.RawSetString("sleep", s.L.NewFunction(func(L *lua.LState) int {
		secs := float64(L.CheckNumber(1)) * float64(time.Second)
		d := time.Duration(math.MaxInt64)
		if secs < float64(math.MaxInt64) {
			d = time.Duration(secs)
		}
		ctx := L.Context()
		if ctx == nil {
			ctx = context.Background()
		}
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			L.RaiseError("%v", ctx.Err())
		}
		return 0
	}))
}

// runLua runs a Lua script inside the agent, in the engine's Lua sandbox
// (internal/luasandbox: base, table, string and math, nothing that reaches
// files or loads code) with the agent's print, exit and sleep. Parameters
// are globals (when that does not hide a built-in) and fields of the table
// params. The exit code is the script's exit(code), else 0, or 1 when the
// script does not compile or raised an error (its message is written to the
// output); -1 when ctx stopped it, which RunScript reports.
func runLua(ctx context.Context, req immy.ScriptRequest, out *sink) (exit int, value string, err error) {
	if err := checkNames(req.Parameters); err != nil {
		return 0, "", err
	}
	proto, err := luasandbox.Compile(luaChunkName, req.Script.Body)
	if err != nil {
		fmt.Fprintf(out, "lua: %s\n", strings.TrimPrefix(err.Error(), "luasandbox: "))
		return 1, "", nil
	}

	s := luaStates.Get()
	run := &luaRun{out: out}
	s.Data = run
	defer func() {
		s.Data = nil
		s.Forget(proto) // a request's script runs once
		luaStates.Put(s)
	}()
	env := s.NewEnv()
	params := s.L.CreateTable(0, len(req.Parameters))
	for _, k := range sortedKeys(req.Parameters) {
		v := luaParam(s.L, req.Parameters[k])
		params.RawSetString(k, v)
		if s.L.GetField(env, k) == lua.LNil {
			env.RawSetString(k, v)
		}
	}
	env.RawSetString("params", params)

	ret, err := s.Run(ctx, proto, env)
	if err == nil && !run.exited {
		switch ret.(type) {
		case *lua.LNilType:
			return 0, "", nil
		case *lua.LTable, *lua.LUserData: // __tostring is Lua code: run it within the deadline
			env := s.NewEnv()
			env.RawSetString("value", ret)
			ret, err = s.Run(ctx, luaTostring, env)
		}
	}
	switch {
	case run.exited: // exit() inside a pcall still ends the script's say
		return run.code, "", nil
	case err != nil && ctx.Err() != nil:
		return -1, "", nil // RunScript reports the deadline or cancellation
	case err != nil:
		fmt.Fprintf(out, "lua: %s\n", luaErrorText(err))
		return 1, "", nil
	}
	return 0, s.L.ToStringMeta(ret).String(), nil
}

// luaErrorText is the message of a script's error: the whole string it
// raised, or the first line of what the sandbox reports.
func luaErrorText(err error) string {
	var re *luasandbox.RuntimeError
	if !errors.As(err, &re) {
		return strings.TrimPrefix(err.Error(), "luasandbox: ")
	}
	if s, ok := re.Value.(lua.LString); ok {
		return string(s)
	}
	return re.Message
}

// luaParam converts a parameter value (as JSON decoding gives it) to Lua;
// other values become their text, as a secret's masking sees them.
func luaParam(L *lua.LState, v any) lua.LValue {
	switch v.(type) {
	case nil, string, bool, float64, int, int64, map[string]any, map[string]string, []any:
		return luasandbox.FromGo(L, v)
	}
	s, _ := text(v)
	return lua.LString(s)
}
