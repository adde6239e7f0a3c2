package targets

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/internal/luasandbox"
)

// DefaultLuaTimeout bounds one evaluation of a Lua filter when the context
// has no deadline of its own: a filter runs for every computer of the fleet,
// and one that takes longer is a mistake.
const DefaultLuaTimeout = 100 * time.Millisecond

// MaxLuaStringRep is the longest string string.rep builds in a Lua filter, in bytes.
const MaxLuaStringRep = luasandbox.MaxStringRep

// MaxLuaMemory is the memory one evaluation of a Lua filter may hold, in
// bytes, counted for its state (see internal/luasandbox).
const MaxLuaMemory = 16 << 20

// MaxLuaInstructions is the number of VM instructions (and steps of the
// builtins that loop) one evaluation of a Lua filter may take.
const MaxLuaInstructions = 10_000_000

// luaChunkName names filter chunks in Lua's messages ("lua:3: ...").
const luaChunkName = "lua"

// luaConfig is the sandbox of Lua filters: luasandbox's, deterministic (a
// filter is a pure function of the computer), with the filter library.
var luaConfig = luasandbox.Config{
	Library:         filterLibrary,
	Deterministic:   true,
	Timeout:         DefaultLuaTimeout,
	MaxMemory:       MaxLuaMemory,
	MaxInstructions: MaxLuaInstructions,
	ReadOnlyMessage: "cannot change the filter library",
}

// statePool keeps the sandboxed states Lua filters run in.
type statePool = luasandbox.Pool

// newStatePool returns a pool keeping at most size idle states
// (runtime.GOMAXPROCS(0) when size is zero).
func newStatePool(size int) *statePool { return luasandbox.NewPool(size, luaConfig) }

// luaProgram is a Lua filter compiled to a function prototype, shared by every
// state that runs it.
type luaProgram struct {
	proto *lua.FunctionProto
	pool  *statePool
}

// compileLua parses and compiles src, checks the names it reads, and compiles
// a single `return <boolean expression>` into Go closures.
func compileLua(src string, pool *statePool) (f *Filter, err error) {
	defer func() {
		// The checks below walk the parser's tree: a shape they do not expect
		// is a compile error, not a crash.
		if r := recover(); r != nil {
			f, err = nil, newCompileError(LanguageLua, src, 1, 1, fmt.Sprintf("cannot compile: %v", r))
		}
	}()
	if strings.TrimSpace(src) == "" {
		return nil, newCompileError(LanguageLua, src, 1, 1, "empty filter")
	}
	chunk, err := luasandbox.ParseLimits(luaChunkName, src, luaFilterLimits)
	if err != nil {
		return nil, luaSyntaxError(src, err)
	}
	if chunk == nil {
		return nil, newCompileError(LanguageLua, src, 1, 1, "cannot parse")
	}
	if err := checkLua(src, chunk); err != nil {
		return nil, err
	}
	// The native forms first: CompileChunk rewrites the tree in place.
	fast := fastLua(chunk)
	inputs, guards := luaInputs(chunk), luaGuards(chunk)
	var (
		decide   decideFn
		memo     *filterMemo
		compiled *luaChunk
	)
	if fast == nil {
		if compiled = luaCompile(chunk); compiled != nil {
			decide = compiled.run
		}
		memo = inputs.memo()
	}
	proto, err := luasandbox.CompileChunk(luaChunkName, chunk)
	if err != nil {
		return nil, luaSyntaxError(src, err)
	}
	// A filter has no arguments: spare every run the Lua 5.0 "arg" table
	// the compiler asks for by default (a filter cannot name arg anyway).
	proto.IsVarArg &^= lua.VarArgNeedsArg
	if pool == nil {
		pool = newStatePool(0)
	}
	return &Filter{
		lang:   LanguageLua,
		src:    src,
		fast:   fast,
		decide: decide,
		memo:   memo,
		reads:  inputs.reads(),
		guards: guards,
		chunk:  compiled,
		lua:    &luaProgram{proto: proto, pool: pool},
	}, nil
}

// luaSyntaxError turns the sandbox's *luasandbox.SyntaxError into a
// *CompileError at the same position.
func luaSyntaxError(src string, err error) *CompileError {
	var se *luasandbox.SyntaxError
	if !errors.As(err, &se) {
		return newCompileError(LanguageLua, src, 1, 1, err.Error())
	}
	msg := se.Message
	if se.AtEnd {
		msg += " at the end of the filter"
	}
	return newCompileError(LanguageLua, src, se.Line, se.Column, msg)
}

// eval runs the program for one computer in a pooled state.
func (p *luaProgram) eval(ctx context.Context, c *immy.Computer, t *immy.Tenant) (bool, error) {
	s := p.pool.Get()
	fs := s.Data.(*filterState)
	if fs.env == nil {
		fs.env = s.NewEnv()
	}
	fs.c, fs.t = c, t
	ret, err := s.Run(ctx, p.proto, fs.env)
	fs.c, fs.t = nil, nil
	clear(fs.tables)
	fs.env = s.ReuseEnv(fs.env)
	p.pool.Put(s)
	if err != nil {
		var re *luasandbox.RuntimeError
		if errors.As(err, &re) {
			return false, fmt.Errorf("targets: lua filter: %s", re.Message)
		}
		var le *luasandbox.LimitError
		if errors.As(err, &le) {
			return false, luaLimitError{le}
		}
		for _, cerr := range []error{context.DeadlineExceeded, context.Canceled} {
			if errors.Is(err, cerr) {
				return false, fmt.Errorf("targets: lua filter: %w", cerr)
			}
		}
		return false, fmt.Errorf("targets: lua filter: %w", err)
	}
	b, ok := ret.(lua.LBool)
	if !ok {
		return false, fmt.Errorf("targets: lua filter returned %s, want a boolean: %w", ret.Type(), immy.ErrInvalid)
	}
	return bool(b), nil
}

// luaLimitError is a Lua filter stopped by one of its budgets (time,
// instructions, memory): "targets: lua filter: lua:3: memory budget of 16 MiB
// exceeded". One stopped by its time budget is a context.DeadlineExceeded.
type luaLimitError struct{ le *luasandbox.LimitError }

func (e luaLimitError) Error() string { return "targets: lua filter: " + e.le.Message }
func (e luaLimitError) Unwrap() error { return e.le }

// filterState is what the filter library of one sandboxed state reads: the
// computer and tenant of the current run (luasandbox.State.Data).
type filterState struct {
	L   *lua.LState
	env *lua.LTable // the globals of a run, reused while runs leave it empty

	c      *immy.Computer
	t      *immy.Tenant
	tables map[fieldKey]*lua.LTable // list fields built for the current run
	// maps are read-only views of the map fields (computer.attributes),
	// reading the current computer: building a Lua table for them on every
	// run would cost more than the run.
	maps map[fieldKey]*lua.LUserData
}

// fieldKey names a field of computer or tenant.
type fieldKey struct{ obj, name string }

// mapView is the value of a map field's userdata.
type mapView struct {
	get func() map[string]string
}

// luaGlobals are the names a filter may read without assigning them first.
var luaGlobals = func() map[string]bool {
	m := map[string]bool{"_G": true, "_VERSION": true, "string": true, "table": true, "math": true,
		objComputer: true, objTenant: true}
	for _, n := range luasandbox.BaseFuncs {
		m[n] = true
	}
	for n := range luaHelpers {
		m[n] = true
	}
	return m
}()

// luaHelpers are the functions of the filter environment.
var luaHelpers = map[string]func(s *filterState) lua.LGFunction{
	"has_tag": func(s *filterState) lua.LGFunction {
		return func(L *lua.LState) int {
			L.Push(lua.LBool(hasTag(s.c, s.t, L.CheckString(1))))
			return 1
		}
	},
	"installed": func(s *filterState) lua.LGFunction {
		return func(L *lua.LState) int {
			L.Push(lua.LBool(installed(s.c, L.CheckString(1))))
			return 1
		}
	},
	"starts_with": stringTest(strings.HasPrefix),
	"ends_with":   stringTest(strings.HasSuffix),
	"contains": func(*filterState) lua.LGFunction {
		return func(L *lua.LState) int {
			list, ok := L.Get(1).(*lua.LTable)
			v := L.Get(2)
			found := false
			if ok {
				for i, n := 1, list.Len(); i <= n && !found; i++ {
					found = list.RawGetInt(i) == v
				}
			}
			L.Push(lua.LBool(found))
			return 1
		}
	},
}

// stringTest makes a helper f(s, k) of test: false when s is not a string
// (a missing attribute is nil), an error when k is not one.
func stringTest(test func(s, k string) bool) func(*filterState) lua.LGFunction {
	return func(*filterState) lua.LGFunction {
		return func(L *lua.LState) int {
			str, ok := L.Get(1).(lua.LString)
			k := L.CheckString(2)
			L.Push(lua.LBool(ok && test(string(str), k)))
			return 1
		}
	}
}

// filterLibrary adds the filter library to a new state: computer and tenant
// (read-only views of the current run's), the helpers, and a pairs that also
// walks map fields.
func filterLibrary(st *luasandbox.State, lib *lua.LTable) {
	L := st.L
	s := &filterState{L: L, tables: map[fieldKey]*lua.LTable{}, maps: map[fieldKey]*lua.LUserData{}}
	st.Data = s
	for obj, fields := range mapFields {
		for name, f := range fields {
			s.maps[fieldKey{obj, name}] = s.mapView(obj+"."+name, func() map[string]string { return f(s.c, s.t) })
		}
	}
	lib.RawSetString("pairs", s.pairs(lib.RawGetString("pairs")))
	lib.RawSetString(objComputer, s.object(objComputer))
	lib.RawSetString(objTenant, s.object(objTenant))
	for name, fn := range luaHelpers {
		lib.RawSetString(name, L.NewFunction(fn(s)))
	}
}

// object returns the userdata through which a filter reads the current
// computer or tenant; reading an unknown field is an error.
func (s *filterState) object(obj string) *lua.LUserData {
	return s.readOnly(obj, nil, func(L *lua.LState) int {
		key, ok := L.Get(2).(lua.LString)
		if !ok {
			L.RaiseError("%s has no field %s", obj, L.Get(2).String())
		}
		L.Push(s.field(obj, string(key)))
		return 1
	})
}

// readOnly returns a userdata holding value that index reads (as __index)
// and that cannot be written to nor have its metatable read.
func (s *filterState) readOnly(name string, value any, index lua.LGFunction) *lua.LUserData {
	L := s.L
	ud := L.NewUserData()
	ud.Value = value
	meta := L.NewTable()
	meta.RawSetString("__index", L.NewFunction(index))
	meta.RawSetString("__newindex", L.NewFunction(func(L *lua.LState) int {
		L.RaiseError("%s is read-only", name)
		return 0
	}))
	meta.RawSetString("__metatable", lua.LFalse)
	ud.Metatable = meta
	return ud
}

// field reads one field of the current computer or tenant.
func (s *filterState) field(obj, name string) lua.LValue {
	if f, ok := stringFields[obj][name]; ok {
		return lua.LString(f(s.c, s.t))
	}
	if f, ok := boolFields[obj][name]; ok {
		return lua.LBool(f(s.c, s.t))
	}
	key := fieldKey{obj, name}
	if tb, ok := s.tables[key]; ok {
		return tb
	}
	var tb *lua.LTable
	if f, ok := listFields[obj][name]; ok {
		list := f(s.c, s.t)
		tb = s.L.CreateTable(len(list), 0)
		for _, v := range list {
			tb.Append(lua.LString(v))
		}
	} else if ud, ok := s.maps[key]; ok {
		return ud
	} else {
		s.L.RaiseError("%s has no field %q", obj, name)
	}
	s.tables[key] = tb
	return tb
}

// mapView returns a read-only userdata over a map field: indexing reads the
// map (nil when the key is absent) and pairs walks it in key order.
func (s *filterState) mapView(name string, get func() map[string]string) *lua.LUserData {
	return s.readOnly(name, &mapView{get: get}, func(L *lua.LState) int {
		key, ok := L.Get(2).(lua.LString)
		if !ok {
			L.Push(lua.LNil)
			return 1
		}
		if v, ok := get()[string(key)]; ok {
			L.Push(lua.LString(v))
		} else {
			L.Push(lua.LNil)
		}
		return 1
	})
}

// pairs wraps the base pairs so that it also walks map views, in key order.
func (s *filterState) pairs(base lua.LValue) *lua.LFunction {
	return s.L.NewFunction(func(L *lua.LState) int {
		if ud, ok := L.Get(1).(*lua.LUserData); ok {
			if mv, ok := ud.Value.(*mapView); ok {
				m := mv.get()
				keys := make([]string, 0, len(m))
				for k := range m {
					keys = append(keys, k)
				}
				slices.Sort(keys)
				i := 0
				L.Push(L.NewFunction(func(L *lua.LState) int {
					if i >= len(keys) {
						L.Push(lua.LNil)
						return 1
					}
					k := keys[i]
					i++
					L.Push(lua.LString(k))
					L.Push(lua.LString(m[k]))
					return 2
				}))
				L.Push(lua.LNil)
				L.Push(lua.LNil)
				return 3
			}
		}
		top := L.GetTop()
		L.Push(base)
		for i := 1; i <= top; i++ {
			L.Push(L.Get(i))
		}
		L.Call(top, 3)
		return 3
	})
}
