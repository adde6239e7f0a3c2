package luasandbox

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/ast"
	"github.com/yuin/gopher-lua/parse"
)

// DefaultTimeout bounds a run whose context has no deadline of its own, when
// the Config does not say otherwise.
const DefaultTimeout = time.Second

// MaxStringRep is the longest string string.rep builds, in bytes, when the
// Config does not say otherwise.
const MaxStringRep = 1 << 20

// maxCachedFunctions bounds the functions a state keeps, one per prototype
// it ran.
const maxCachedFunctions = 256

// BaseFuncs are the functions of Lua's base library a sandboxed chunk may
// call. load, loadstring, dofile, loadfile, require, module, getfenv, setfenv,
// collectgarbage, rawset, newproxy and print are left out: the first reach
// code or files outside the chunk, getfenv and setfenv reach the environment
// of other functions, rawset writes through the read-only library, and print
// writes to the server's standard output (an embedder who wants print binds it
// to its own log, per run).
var BaseFuncs = []string{
	"assert", "error", "getmetatable", "ipairs", "next", "pairs", "pcall", "rawequal",
	"rawget", "select", "setmetatable", "tonumber", "tostring", "type", "unpack", "xpcall",
}

// Config configures the states a Pool or NewState makes. The zero Config is a
// plain sandbox: base (BaseFuncs), string, table and math.
type Config struct {
	// Library, when set, is called once for each new state to add the
	// embedder's functions and values to lib, the table every run reads its
	// globals from. lib is frozen after Library returns: runs cannot change it.
	// Values that differ from run to run go into the environment given to
	// Run instead.
	Library func(s *State, lib *lua.LTable)
	// Deterministic removes math.random and math.randomseed, for code that
	// must be a pure function of its input (filters).
	Deterministic bool
	// Timeout bounds a run whose context has no deadline; zero means
	// DefaultTimeout, and a negative Timeout means none: the context alone
	// bounds the run.
	Timeout time.Duration
	// MaxStringRep bounds the string string.rep builds, in bytes; zero means
	// MaxStringRep.
	MaxStringRep int
	// MaxMemory bounds the memory one run holds, in bytes; zero (or less)
	// means DefaultMaxMemory. It is counted for the state, not read from
	// the process: the strings and tables the run builds (by the builtins
	// that can amplify, string.rep, gsub, format, table.concat and the
	// concatenation operator, when they build; by the instructions that
	// add to tables, at a fixed size per instruction) until the count
	// passes the budget, and then what the run still holds, measured by
	// walking its globals and call stack. A run that holds more is
	// stopped with a *LimitError.
	MaxMemory int64
	// MaxInstructions bounds the VM instructions of one run, with the steps
	// of the builtins that loop (pattern matching, table.concat); zero (or
	// less) means DefaultMaxInstructions. A run that spends it is stopped
	// with a *LimitError, whatever its deadline.
	MaxInstructions int64
	// CallStackSize bounds the depth of Lua calls; zero means 200.
	CallStackSize int
	// RegistryMaxSize bounds the Lua value stack, in slots; zero means 65536.
	RegistryMaxSize int
	// ReadOnlyMessage is the error a write to the frozen library (or to a
	// table made read-only with Freeze) raises; empty means "cannot change a
	// read-only table".
	ReadOnlyMessage string
}

// State is one sandboxed Lua state. Its own globals are empty: every run gets
// a fresh environment table (see NewEnv) whose reads fall through to a frozen
// copy of the allowed library, so nothing one run writes is seen by the next,
// and a State can be pooled and reused by code of different owners. A State is
// not safe for concurrent use.
type State struct {
	// L is the underlying state, for building values (tables, functions) to
	// put in an environment. Do not open libraries in it or run code on it
	// other than through Run.
	L *lua.LState
	// Data is the embedder's own value for this state, typically set by
	// Config.Library: what the functions it binds read about the current run
	// (set it before Run, clear it after). The sandbox does not touch it.
	Data any

	timeout  time.Duration
	maxMem   int64
	maxInstr int64
	hook     *hook // the current run's (&runHook), nil between runs
	runHook  hook
	budget   budget      // what the current run has spent
	lib      *lua.LTable // the frozen library
	envMeta  *lua.LTable
	readOnly *lua.LFunction // the __newindex of frozen tables
	fns      map[*lua.FunctionProto]*lua.LFunction
	broken   bool
	// ReuseEnv's bookkeeping: written is set by checkEnv (made once: a
	// closure per call would be an allocation per run), reuses counts the
	// runs the environment served.
	written  bool
	checkEnv func(k, v lua.LValue)
	reuses   int
}

// NewState returns a new sandboxed state.
func NewState(cfg Config) *State {
	stack := cfg.CallStackSize
	if stack <= 0 {
		stack = 200
	}
	regMax := cfg.RegistryMaxSize
	if regMax <= 0 {
		regMax = 1 << 16
	}
	L := lua.NewState(lua.Options{
		SkipOpenLibs:    true,
		CallStackSize:   stack,
		RegistrySize:    1024,
		RegistryMaxSize: regMax,
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
	s := &State{L: L, timeout: cfg.Timeout, maxMem: cfg.MaxMemory, maxInstr: cfg.MaxInstructions,
		fns: map[*lua.FunctionProto]*lua.LFunction{}}
	if s.timeout == 0 {
		s.timeout = DefaultTimeout
	}
	if s.maxMem <= 0 {
		s.maxMem = DefaultMaxMemory
	}
	if s.maxInstr <= 0 {
		s.maxInstr = DefaultMaxInstructions
	}
	s.checkEnv = func(k, _ lua.LValue) {
		if k != lua.LString("_G") {
			s.written = true
		}
	}
	readOnlyMsg := cfg.ReadOnlyMessage
	if readOnlyMsg == "" {
		readOnlyMsg = "cannot change a read-only table"
	}
	s.readOnly = L.NewFunction(func(L *lua.LState) int {
		L.RaiseError("%s", readOnlyMsg)
		return 0
	})

	str := L.GetGlobal(lua.StringLibName).(*lua.LTable)
	maxRep := int64(cfg.MaxStringRep)
	if maxRep <= 0 {
		maxRep = MaxStringRep
	}
	str.RawSetString("dump", lua.LNil)
	str.RawSetString("__index", lua.LNil)
	math := L.GetGlobal(lua.MathLibName).(*lua.LTable)
	if cfg.Deterministic {
		math.RawSetString("random", lua.LNil)
		math.RawSetString("randomseed", lua.LNil)
	}

	lib := L.NewTable()
	for _, n := range BaseFuncs {
		lib.RawSetString(n, L.GetGlobal(n))
	}
	lib.RawSetString("_VERSION", L.GetGlobal("_VERSION"))
	s.budgeted(str, L.GetGlobal(lua.TabLibName).(*lua.LTable), lib, maxRep)
	frozenString := s.Freeze(str)
	lib.RawSetString(lua.StringLibName, frozenString)
	lib.RawSetString(lua.TabLibName, s.Freeze(L.GetGlobal(lua.TabLibName).(*lua.LTable)))
	lib.RawSetString(lua.MathLibName, s.Freeze(math))
	if cfg.Library != nil {
		own := map[lua.LValue]bool{}
		lib.ForEach(func(_, v lua.LValue) { own[v] = true })
		cfg.Library(s, lib)
		lib.ForEach(func(_, v lua.LValue) {
			if fn, ok := v.(*lua.LFunction); ok && fn.IsG && !own[v] {
				s.wrapLibrary(fn)
			}
		})
	}

	// Strings index the frozen string library, and hide their metatable.
	strMeta := L.NewTable()
	strMeta.RawSetString("__index", frozenString)
	strMeta.RawSetString("__metatable", lua.LFalse)
	L.SetMetatable(lua.LString(""), strMeta)

	// Empty the state's own globals: nothing but the frozen library is reachable.
	globals := L.G.Global
	var names []lua.LValue
	globals.ForEach(func(k, _ lua.LValue) { names = append(names, k) })
	for _, k := range names {
		globals.RawSet(k, lua.LNil)
	}

	s.lib = s.Freeze(lib)
	s.envMeta = L.NewTable()
	s.envMeta.RawSetString("__index", s.lib)
	s.envMeta.RawSetString("__metatable", lua.LFalse)
	return s
}

// wrapLibrary makes fn, a function of the embedder's Library, see the run's
// plain context as L.Context() rather than the state's instruction hook: a
// Go function may hand its context to other goroutines (a derived context
// watches its parent from one), and the hook counts instructions without
// locks. Lua code such a function calls back is bounded by the run's
// deadline, not by its instruction and memory budgets.
func (s *State) wrapLibrary(fn *lua.LFunction) {
	orig := fn.GFunction
	fn.GFunction = func(L *lua.LState) int {
		h := s.hook
		if h == nil {
			return orig(L)
		}
		L.SetContext(h.ctx)
		defer L.SetContext(h)
		return orig(L)
	}
}

// Freeze returns a read-only view of t: reads fall through to t, writes raise
// an error, and its metatable is hidden. t itself stays writable from Go.
func (s *State) Freeze(t *lua.LTable) *lua.LTable {
	L := s.L
	view := L.NewTable()
	meta := L.NewTable()
	meta.RawSetString("__index", t)
	meta.RawSetString("__newindex", s.readOnly)
	meta.RawSetString("__metatable", lua.LFalse)
	L.SetMetatable(view, meta)
	return view
}

// NewEnv returns a fresh environment for one run: a table whose reads fall
// through to the frozen library, and in which the run's own globals land. Put
// the values of the run (parameters, functions bound to it) in it before
// calling Run.
func (s *State) NewEnv() *lua.LTable {
	env := s.L.NewTable()
	env.RawSetString("_G", env)
	s.L.SetMetatable(env, s.envMeta)
	return env
}

// maxEnvReuse bounds the runs one environment serves: a table keeps the
// keys ever written to it, even once they are set to nil.
const maxEnvReuse = 1024

// ReuseEnv returns an environment for the next run after env, one of this
// state's NewEnv, served a run: env itself when it holds nothing but _G (the
// run wrote no global, and nothing was put in it), else a fresh NewEnv. An
// embedder that runs many short chunks with nothing in their environment
// spares a table per run this way, and no run sees what another wrote.
func (s *State) ReuseEnv(env *lua.LTable) *lua.LTable {
	s.written = false
	env.ForEach(s.checkEnv)
	s.reuses++
	if s.written || env.RawGetString("_G") != env || s.reuses >= maxEnvReuse {
		s.reuses = 0
		return s.NewEnv()
	}
	return env
}

// Run calls the compiled chunk proto with env as its globals (nil: a fresh
// NewEnv) and returns its first result (lua.LNil when it returns nothing).
// ctx bounds the run: its deadline and cancellation stop the chunk between
// two instructions, and Go functions the chunk calls can read it with
// L.Context(). When ctx has no deadline, the state's timeout applies (if the
// Config gave one).
//
// A Lua error is returned as a *RuntimeError; a stopped context as an error
// wrapping ctx.Err().
func (s *State) Run(ctx context.Context, proto *lua.FunctionProto, env *lua.LTable) (lua.LValue, error) {
	own := false
	if _, ok := ctx.Deadline(); !ok && s.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.timeout)
		defer cancel()
		own = true
	}
	if err := ctx.Err(); err != nil {
		return lua.LNil, fmt.Errorf("luasandbox: %w", err)
	}
	L := s.L
	fn, ok := s.fns[proto]
	if !ok {
		if len(s.fns) >= maxCachedFunctions {
			clear(s.fns) // many one-off chunks: start over rather than grow
		}
		fn = L.NewFunctionFromProto(proto)
		s.fns[proto] = fn
	}
	if env == nil {
		env = s.NewEnv()
	}
	fn.Env = env
	defer func() { fn.Env = L.G.Global }()

	// The state's own hook, reset: no allocation per run.
	h := &s.runHook
	*h = hook{ctx: ctx, s: s, left: checkEvery, own: own}
	s.hook = h
	s.budget = budget{maxInstr: s.maxInstr, maxMem: s.maxMem, env: env}
	L.SetContext(h)
	L.Push(fn)
	err := L.PCall(0, 1, nil)
	L.RemoveContext()
	s.hook = nil
	s.budget.env = nil
	if err != nil {
		L.SetTop(0)
		var ae *lua.ApiError
		if errors.As(err, &ae) && ae.Type == lua.ApiErrorPanic {
			s.broken = true
		}
		if h.stop == nil && own && ctx.Err() != nil {
			h.stop = &stop{LimitTime, fmt.Sprintf("stopped after its time budget of %s", s.timeout)}
		}
		if h.stop != nil {
			msg := Message(err)
			if !strings.Contains(msg, h.stop.msg) {
				msg = h.stop.msg
			}
			return lua.LNil, &LimitError{Limit: h.stop.limit, Message: msg}
		}
		if cerr := ctx.Err(); cerr != nil {
			return lua.LNil, fmt.Errorf("luasandbox: %w", cerr)
		}
		return lua.LNil, &RuntimeError{Message: Message(err), Value: errorValue(err)}
	}
	ret := L.Get(-1)
	L.SetTop(0)
	return ret, nil
}

// Forget drops what the state keeps to run proto again, for an embedder that
// runs a prototype once (a script that came with a request): otherwise a
// state keeps up to a few hundred of them until it starts over.
func (s *State) Forget(proto *lua.FunctionProto) { delete(s.fns, proto) }

// Usable reports whether the state may be reused: false after a Go panic went
// through it.
func (s *State) Usable() bool { return !s.broken }

// Close releases the state.
func (s *State) Close() { s.L.Close() }

// Pool keeps idle states of one Config, at most its size; states beyond it
// are made on demand and closed when put back. A Pool is safe for concurrent
// use; the zero Pool is not: use NewPool.
type Pool struct {
	cfg  Config
	idle chan *State
}

// NewPool returns a pool of states made with cfg, keeping at most size idle
// ones; size zero means runtime.GOMAXPROCS(0).
func NewPool(size int, cfg Config) *Pool {
	if size <= 0 {
		size = runtime.GOMAXPROCS(0)
	}
	return &Pool{cfg: cfg, idle: make(chan *State, size)}
}

// Get returns an idle state, or a new one.
func (p *Pool) Get() *State {
	select {
	case s := <-p.idle:
		return s
	default:
		return NewState(p.cfg)
	}
}

// Put gives a state back. A broken state, or one beyond the pool's size, is
// closed.
func (p *Pool) Put(s *State) {
	if s == nil {
		return
	}
	if s.broken {
		s.Close()
		return
	}
	select {
	case p.idle <- s:
	default:
		s.Close()
	}
}

// Run runs proto in a state of the pool with the environment that setup
// fills (setup may be nil), and gives the state back.
func (p *Pool) Run(ctx context.Context, proto *lua.FunctionProto, setup func(s *State, env *lua.LTable)) (lua.LValue, error) {
	s := p.Get()
	defer p.Put(s)
	env := s.NewEnv()
	if setup != nil {
		setup(s, env)
	}
	return s.Run(ctx, proto, env)
}

// SyntaxError is source that does not parse or compile, with its position.
type SyntaxError struct {
	Name    string // the chunk's name
	Line    int    // 1-based
	Column  int    // 1-based; 1 when unknown
	Message string
	// AtEnd reports that the source ended before the construct did (the
	// position is then just past its last character); Error says so.
	AtEnd bool
}

func (e *SyntaxError) Error() string {
	msg := e.Message
	if e.AtEnd {
		msg += " at the end of the chunk"
	}
	return fmt.Sprintf("luasandbox: %s:%d:%d: %s", e.Name, e.Line, e.Column, msg)
}

// RuntimeError is a Lua error raised while a chunk ran.
type RuntimeError struct {
	// Message is the first line of the error, with the chunk's name and line
	// as Lua gives them ("script:3: boom"), without the traceback.
	Message string
	// Value is the value passed to error(), when the chunk raised one.
	Value lua.LValue
}

func (e *RuntimeError) Error() string { return "luasandbox: " + e.Message }

// Parse parses src as a chunk called name, within the default Limits.
func Parse(name, src string) (chunk []ast.Stmt, err error) {
	return ParseLimits(name, src, Limits{})
}

// ParseLimits parses src as a chunk called name after CheckSource has found
// it within lim.
func ParseLimits(name, src string, lim Limits) (chunk []ast.Stmt, err error) {
	if err := CheckSource(name, src, lim); err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			chunk, err = nil, &SyntaxError{Name: name, Line: 1, Column: 1, Message: fmt.Sprintf("cannot parse: %v", r)}
		}
	}()
	chunk, err = parse.Parse(strings.NewReader(src), name)
	if err != nil {
		return nil, parseError(name, src, err)
	}
	return chunk, nil
}

// CompileChunk compiles a parsed chunk to a function prototype, which is
// immutable and may be run by any number of states at once. It rewrites the
// chunk in place first: every concatenation becomes a call of the sandbox's
// own, which counts what it builds against the run's memory budget.
func CompileChunk(name string, chunk []ast.Stmt) (proto *lua.FunctionProto, err error) {
	defer func() {
		if r := recover(); r != nil {
			proto, err = nil, &SyntaxError{Name: name, Line: 1, Column: 1, Message: fmt.Sprintf("cannot compile: %v", r)}
		}
	}()
	rewriteConcat(chunk)
	proto, err = lua.Compile(chunk, name)
	if err != nil {
		var ce *lua.CompileError
		if errors.As(err, &ce) {
			return nil, &SyntaxError{Name: name, Line: max(ce.Line, 1), Column: 1, Message: ce.Message}
		}
		return nil, &SyntaxError{Name: name, Line: 1, Column: 1, Message: err.Error()}
	}
	return proto, nil
}

// Compile parses and compiles src, a chunk called name (the name Lua's
// messages start with: "name:3: ..."), within the default Limits. Errors are
// *SyntaxError.
func Compile(name, src string) (*lua.FunctionProto, error) {
	return CompileLimits(name, src, Limits{})
}

// CompileLimits is Compile within lim, under lim's CompileTimeout.
func CompileLimits(name, src string, lim Limits) (*lua.FunctionProto, error) {
	if err := CheckSource(name, src, lim); err != nil {
		return nil, err
	}
	type result struct {
		proto *lua.FunctionProto
		err   error
	}
	done := make(chan result, 1)
	go func() {
		// Parse and CompileChunk recover their own panics: this goroutine
		// cannot crash the process on a source's account.
		var r result
		chunk, err := ParseLimits(name, src, lim)
		if err == nil {
			r.proto, r.err = CompileChunk(name, chunk)
		} else {
			r.err = err
		}
		done <- r
	}()
	timeout := lim.withDefaults().CompileTimeout
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case r := <-done:
		return r.proto, r.err
	case <-timer.C:
		// The goroutine ends on its own: the source is bounded.
		return nil, &SyntaxError{Name: name, Line: 1, Column: 1, Message: fmt.Sprintf("compiling took longer than %s", timeout)}
	}
}

func parseError(name, src string, err error) *SyntaxError {
	var pe *parse.Error
	if !errors.As(err, &pe) {
		return &SyntaxError{Name: name, Line: 1, Column: 1, Message: err.Error()}
	}
	msg := pe.Message
	if pe.Token != "" {
		msg = fmt.Sprintf("%s near %q", msg, pe.Token)
	}
	if pe.Pos.Line == parse.EOF {
		lines := strings.Split(src, "\n")
		last := lines[len(lines)-1]
		return &SyntaxError{Name: name, Line: len(lines), Column: len([]rune(last)) + 1, Message: msg, AtEnd: true}
	}
	return &SyntaxError{Name: name, Line: max(pe.Pos.Line, 1), Column: max(pe.Pos.Column, 1), Message: msg}
}

// Message is the first line of a Lua error, without the traceback.
func Message(err error) string {
	var ae *lua.ApiError
	if errors.As(err, &ae) && ae.Object != nil {
		msg, _, _ := strings.Cut(ae.Object.String(), "\n")
		return msg
	}
	msg, _, _ := strings.Cut(err.Error(), "\n")
	return msg
}

func errorValue(err error) lua.LValue {
	var ae *lua.ApiError
	if errors.As(err, &ae) && ae.Object != nil {
		return ae.Object
	}
	return lua.LNil
}
