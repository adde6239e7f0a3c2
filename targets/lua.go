package targets

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"

	"github.com/immyoss/engine/immy"
)

// DefaultLuaTimeout bounds one evaluation of a Lua filter when the context
// has no deadline of its own.
const DefaultLuaTimeout = time.Second

// MaxLuaStringRep is the longest string string.rep builds in a Lua filter, in bytes.
const MaxLuaStringRep = 1 << 20

// luaChunkName names filter chunks in Lua's messages ("lua:3: ...").
const luaChunkName = "lua"

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
		if r := recover(); r != nil {
			f, err = nil, newCompileError(LanguageLua, src, 1, 1, fmt.Sprintf("cannot compile: %v", r))
		}
	}()
	if strings.TrimSpace(src) == "" {
		return nil, newCompileError(LanguageLua, src, 1, 1, "empty filter")
	}
	chunk, err := parse.Parse(strings.NewReader(src), luaChunkName)
	if err != nil {
		return nil, luaParseError(src, err)
	}
	if chunk == nil {
		return nil, newCompileError(LanguageLua, src, 1, 1, "cannot parse")
	}
	if err := checkLua(src, chunk); err != nil {
		return nil, err
	}
	proto, err := lua.Compile(chunk, luaChunkName)
	if err != nil {
		var ce *lua.CompileError
		if errors.As(err, &ce) {
			return nil, newCompileError(LanguageLua, src, ce.Line, 1, ce.Message)
		}
		return nil, newCompileError(LanguageLua, src, 1, 1, err.Error())
	}
	// A filter has no arguments: spare every run the Lua 5.0 "arg" table
	// the compiler asks for by default (a filter cannot name arg anyway).
	proto.IsVarArg &^= lua.VarArgNeedsArg
	if pool == nil {
		pool = newStatePool(0)
	}
	return &Filter{
		lang: LanguageLua,
		src:  src,
		fast: fastLua(chunk),
		lua:  &luaProgram{proto: proto, pool: pool},
	}, nil
}

func luaParseError(src string, err error) *CompileError {
	var pe *parse.Error
	if !errors.As(err, &pe) {
		return newCompileError(LanguageLua, src, 1, 1, err.Error())
	}
	msg := pe.Message
	if pe.Token != "" {
		msg = fmt.Sprintf("%s near %q", msg, pe.Token)
	}
	if pe.Pos.Line == parse.EOF {
		lines := strings.Split(src, "\n")
		last := lines[len(lines)-1]
		return newCompileError(LanguageLua, src, len(lines), len([]rune(last))+1, msg+" at the end of the filter")
	}
	return newCompileError(LanguageLua, src, pe.Pos.Line, pe.Pos.Column, msg)
}

// eval runs the program in a pooled state.
func (p *luaProgram) eval(ctx context.Context, c *immy.Computer, t *immy.Tenant) (bool, error) {
	s := p.pool.get()
	ok, err := s.run(ctx, p, c, t)
	p.pool.put(s)
	return ok, err
}

// statePool keeps idle sandboxed Lua states, at most its capacity; states
// beyond it are made on demand and closed when returned.
type statePool struct {
	idle chan *luaState
}

func newStatePool(size int) *statePool {
	if size <= 0 {
		size = runtime.GOMAXPROCS(0)
	}
	return &statePool{idle: make(chan *luaState, size)}
}

func (p *statePool) get() *luaState {
	select {
	case s := <-p.idle:
		return s
	default:
		return newLuaState()
	}
}

func (p *statePool) put(s *luaState) {
	if s.broken {
		s.L.Close()
		return
	}
	select {
	case p.idle <- s:
	default:
		s.L.Close()
	}
}

// luaState is one sandboxed Lua state. Its globals are never reached by
// filters: each run gets a fresh environment table whose reads fall through to
// a frozen copy of the allowed library, so nothing a filter writes survives
// the run.
type luaState struct {
	L *lua.LState
	// env is the globals table of a run: reads fall through to the frozen
	// base; it is emptied after every run.
	env    *lua.LTable
	stale  []lua.LValue
	fns    map[*luaProgram]*lua.LFunction
	broken bool // a Go panic went through the state: do not reuse it

	// The computer and tenant of the current run, and the tables built for it.
	c      *immy.Computer
	t      *immy.Tenant
	tables map[fieldKey]*lua.LTable
	// maps are read-only views of the map fields (computer.attributes),
	// reading the current computer: building a Lua table for them on every
	// run would cost more than the run.
	maps map[fieldKey]*lua.LUserData
	// collectStale gathers the keys a run wrote to env (made once: a closure
	// per run would be an allocation per run).
	collectStale func(k, v lua.LValue)
}

// fieldKey names a field of computer or tenant.
type fieldKey struct{ obj, name string }

// mapView is the value of a map field's userdata.
type mapView struct {
	get func() map[string]string
}

// luaBaseFuncs are the base library functions a filter may call; load,
// loadstring, dofile, loadfile, require, module, getfenv, setfenv,
// collectgarbage, rawset, newproxy and print are left out.
var luaBaseFuncs = []string{
	"assert", "error", "getmetatable", "ipairs", "next", "pairs", "pcall", "rawequal",
	"rawget", "select", "setmetatable", "tonumber", "tostring", "type", "unpack", "xpcall",
}

// luaGlobals are the names a filter may read without assigning them first.
var luaGlobals = func() map[string]bool {
	m := map[string]bool{"_G": true, "_VERSION": true, "string": true, "table": true, "math": true,
		objComputer: true, objTenant: true}
	for _, n := range luaBaseFuncs {
		m[n] = true
	}
	for n := range luaHelpers {
		m[n] = true
	}
	return m
}()

// luaHelpers are the functions of the filter environment.
var luaHelpers = map[string]func(s *luaState) lua.LGFunction{
	"has_tag": func(s *luaState) lua.LGFunction {
		return func(L *lua.LState) int {
			L.Push(lua.LBool(hasTag(s.c, s.t, L.CheckString(1))))
			return 1
		}
	},
	"installed": func(s *luaState) lua.LGFunction {
		return func(L *lua.LState) int {
			L.Push(lua.LBool(installed(s.c, L.CheckString(1))))
			return 1
		}
	},
	"starts_with": func(*luaState) lua.LGFunction {
		return func(L *lua.LState) int {
			str, ok := L.Get(1).(lua.LString)
			prefix := L.CheckString(2)
			L.Push(lua.LBool(ok && strings.HasPrefix(string(str), prefix)))
			return 1
		}
	},
	"ends_with": func(*luaState) lua.LGFunction {
		return func(L *lua.LState) int {
			str, ok := L.Get(1).(lua.LString)
			suffix := L.CheckString(2)
			L.Push(lua.LBool(ok && strings.HasSuffix(string(str), suffix)))
			return 1
		}
	},
	"contains": func(*luaState) lua.LGFunction {
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

func newLuaState() *luaState {
	L := lua.NewState(lua.Options{
		SkipOpenLibs:    true,
		CallStackSize:   200,
		RegistrySize:    1024,
		RegistryMaxSize: 1 << 16,
	})
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
		{lua.StringLibName, lua.OpenString},
		{lua.MathLibName, lua.OpenMath},
	} {
		L.Push(L.NewFunction(lib.open))
		L.Push(lua.LString(lib.name))
		L.Call(1, 0)
	}
	s := &luaState{L: L, fns: map[*luaProgram]*lua.LFunction{}, tables: map[fieldKey]*lua.LTable{}, maps: map[fieldKey]*lua.LUserData{}}
	s.collectStale = func(k, _ lua.LValue) {
		if k != lua.LString("_G") {
			s.stale = append(s.stale, k)
		}
	}
	for obj, fields := range mapFields {
		for name, f := range fields {
			s.maps[fieldKey{obj, name}] = s.mapView(obj+"."+name, func() map[string]string { return f(s.c, s.t) })
		}
	}

	str := L.GetGlobal(lua.StringLibName).(*lua.LTable)
	str.RawSetString("rep", L.NewFunction(luaStringRep))
	str.RawSetString("dump", lua.LNil)
	str.RawSetString("__index", lua.LNil)
	math := L.GetGlobal(lua.MathLibName).(*lua.LTable)
	// A filter is a pure function of the computer: no randomness.
	math.RawSetString("random", lua.LNil)
	math.RawSetString("randomseed", lua.LNil)

	base := L.NewTable()
	for _, n := range luaBaseFuncs {
		base.RawSetString(n, L.GetGlobal(n))
	}
	base.RawSetString("pairs", s.pairs(L.GetGlobal("pairs")))
	base.RawSetString("_VERSION", L.GetGlobal("_VERSION"))
	frozenString := s.freeze(str)
	base.RawSetString(lua.StringLibName, frozenString)
	base.RawSetString(lua.TabLibName, s.freeze(L.GetGlobal(lua.TabLibName).(*lua.LTable)))
	base.RawSetString(lua.MathLibName, s.freeze(math))
	base.RawSetString(objComputer, s.object(objComputer))
	base.RawSetString(objTenant, s.object(objTenant))
	for name, fn := range luaHelpers {
		base.RawSetString(name, L.NewFunction(fn(s)))
	}

	// Strings index the frozen string library, and hide their metatable.
	strMeta := L.NewTable()
	strMeta.RawSetString("__index", frozenString)
	strMeta.RawSetString("__metatable", lua.LFalse)
	L.SetMetatable(lua.LString(""), strMeta)

	// Empty the state's own globals: nothing but the frozen base is reachable.
	globals := L.G.Global
	var names []lua.LValue
	globals.ForEach(func(k, _ lua.LValue) { names = append(names, k) })
	for _, k := range names {
		globals.RawSet(k, lua.LNil)
	}

	envMeta := L.NewTable()
	envMeta.RawSetString("__index", s.freeze(base))
	envMeta.RawSetString("__metatable", lua.LFalse)
	s.env = L.NewTable()
	s.env.RawSetString("_G", s.env)
	L.SetMetatable(s.env, envMeta)
	return s
}

// resetEnv removes what the last run wrote to its globals.
func (s *luaState) resetEnv() {
	s.env.ForEach(s.collectStale)
	for _, k := range s.stale {
		s.env.RawSet(k, lua.LNil)
	}
	clear(s.stale)
	s.stale = s.stale[:0]
	if s.env.RawGetString("_G") != s.env {
		s.env.RawSetString("_G", s.env)
	}
}

// freeze returns a read-only view of t: reads fall through to t, writes fail,
// and its metatable is hidden.
func (s *luaState) freeze(t *lua.LTable) *lua.LTable {
	L := s.L
	view := L.NewTable()
	meta := L.NewTable()
	meta.RawSetString("__index", t)
	meta.RawSetString("__newindex", L.NewFunction(func(L *lua.LState) int {
		L.RaiseError("cannot change the filter library")
		return 0
	}))
	meta.RawSetString("__metatable", lua.LFalse)
	L.SetMetatable(view, meta)
	return view
}

// object returns the userdata through which a filter reads the current
// computer or tenant; reading an unknown field is an error.
func (s *luaState) object(obj string) *lua.LUserData {
	L := s.L
	ud := L.NewUserData()
	meta := L.NewTable()
	meta.RawSetString("__index", L.NewFunction(func(L *lua.LState) int {
		key, ok := L.Get(2).(lua.LString)
		if !ok {
			L.RaiseError("%s has no field %s", obj, L.Get(2).String())
		}
		L.Push(s.field(obj, string(key)))
		return 1
	}))
	meta.RawSetString("__newindex", L.NewFunction(func(L *lua.LState) int {
		L.RaiseError("%s is read-only", obj)
		return 0
	}))
	meta.RawSetString("__metatable", lua.LFalse)
	ud.Metatable = meta
	return ud
}

// field reads one field of the current computer or tenant.
func (s *luaState) field(obj, name string) lua.LValue {
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
func (s *luaState) mapView(name string, get func() map[string]string) *lua.LUserData {
	L := s.L
	ud := L.NewUserData()
	ud.Value = &mapView{get: get}
	meta := L.NewTable()
	meta.RawSetString("__index", L.NewFunction(func(L *lua.LState) int {
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
	}))
	meta.RawSetString("__newindex", L.NewFunction(func(L *lua.LState) int {
		L.RaiseError("%s is read-only", name)
		return 0
	}))
	meta.RawSetString("__metatable", lua.LFalse)
	ud.Metatable = meta
	return ud
}

// pairs wraps the base pairs so that it also walks map views, in key order.
func (s *luaState) pairs(base lua.LValue) *lua.LFunction {
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

// luaStringRep is string.rep with a bound on the result's size.
func luaStringRep(L *lua.LState) int {
	str := L.CheckString(1)
	n := L.CheckInt64(2)
	if n <= 0 || str == "" {
		L.Push(lua.LString(""))
		return 1
	}
	if n > MaxLuaStringRep || int64(len(str))*n > MaxLuaStringRep {
		L.RaiseError("string.rep: result longer than %d bytes", MaxLuaStringRep)
	}
	L.Push(lua.LString(strings.Repeat(str, int(n))))
	return 1
}

// run evaluates program p for one computer.
func (s *luaState) run(ctx context.Context, p *luaProgram, c *immy.Computer, t *immy.Tenant) (bool, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultLuaTimeout)
		defer cancel()
	}
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("targets: lua filter: %w", err)
	}
	L := s.L
	fn, ok := s.fns[p]
	if !ok {
		fn = L.NewFunctionFromProto(p.proto)
		s.fns[p] = fn
	}
	fn.Env = s.env
	s.c, s.t = c, t
	clear(s.tables)
	defer func() {
		s.c, s.t = nil, nil
		clear(s.tables)
		s.resetEnv()
	}()

	L.SetContext(ctx)
	L.Push(fn)
	err := L.PCall(0, 1, nil)
	L.RemoveContext()
	if err != nil {
		L.SetTop(0)
		var ae *lua.ApiError
		if errors.As(err, &ae) && ae.Type == lua.ApiErrorPanic {
			s.broken = true
		}
		if cerr := ctx.Err(); cerr != nil {
			return false, fmt.Errorf("targets: lua filter: %w", cerr)
		}
		return false, fmt.Errorf("targets: lua filter: %s", luaMessage(err))
	}
	ret := L.Get(-1)
	L.SetTop(0)
	b, ok := ret.(lua.LBool)
	if !ok {
		return false, fmt.Errorf("targets: lua filter returned %s, want a boolean: %w", ret.Type(), immy.ErrInvalid)
	}
	return bool(b), nil
}

// luaMessage is the first line of a Lua error, without the traceback.
func luaMessage(err error) string {
	var ae *lua.ApiError
	if errors.As(err, &ae) && ae.Object != nil {
		msg, _, _ := strings.Cut(ae.Object.String(), "\n")
		return msg
	}
	msg, _, _ := strings.Cut(err.Error(), "\n")
	return msg
}
