package luasandbox

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
	lua "github.com/yuin/gopher-lua"
)

func run(t *testing.T, s *State, src string) (lua.LValue, error) {
	t.Helper()
	proto, err := Compile("chunk", src)
	require.NoError(t, err)
	return s.Run(context.Background(), proto, nil)
}

func TestSandboxHidesDangerousNames(t *testing.T) {
	s := NewState(Config{})
	defer s.Close()
	for _, name := range []string{"os", "io", "load", "loadstring", "dofile", "loadfile", "require", "module",
		"getfenv", "setfenv", "collectgarbage", "rawset", "newproxy", "print", "debug", "package", "channel", "coroutine",
		"_printregs", "_GOPHER_LUA_VERSION"} {
		t.Run(name, func(t *testing.T) {
			v, err := run(t, s, "return "+name+" == nil")
			require.NoError(t, err)
			require.Equal(t, lua.LTrue, v, "%s is reachable", name)
		})
	}
	for _, name := range []string{"string.dump", "string.rep == nil and nil", "math.floor == nil and nil"} {
		v, err := run(t, s, "return "+name+" == nil")
		require.NoError(t, err)
		if name == "string.dump" {
			require.Equal(t, lua.LTrue, v)
		} else {
			require.Equal(t, lua.LFalse, v, name)
		}
	}
}

func TestSandboxLibraries(t *testing.T) {
	s := NewState(Config{})
	defer s.Close()
	tests := []struct {
		src  string
		want string
	}{
		{`return string.upper("abc")`, "ABC"},
		{`return ("x"):rep(3)`, "xxx"},
		{`return table.concat({"a","b"}, ",")`, "a,b"},
		{`return math.max(3, 9)`, "9"},
		{`return tostring(pcall(error, "boom"))`, "false"},
		{`return select("#", 1, 2, 3)`, "3"},
		{`local t = setmetatable({}, {__index = function() return 7 end}) return t.x`, "7"},
		{`return type(math.random)`, "function"},
	}
	for _, tt := range tests {
		v, err := run(t, s, tt.src)
		require.NoError(t, err, tt.src)
		require.Equal(t, tt.want, String(v), tt.src)
	}
}

func TestDeterministicRemovesRandom(t *testing.T) {
	s := NewState(Config{Deterministic: true})
	defer s.Close()
	v, err := run(t, s, `return math.random == nil and math.randomseed == nil`)
	require.NoError(t, err)
	require.Equal(t, lua.LTrue, v)
}

func TestLibraryIsFrozen(t *testing.T) {
	s := NewState(Config{Library: func(s *State, lib *lua.LTable) {
		lib.RawSetString("answer", lua.LNumber(42))
	}})
	defer s.Close()
	for _, src := range []string{
		`string.upper = nil`,
		`math.pi = 3`,
		`table.insert = print`,
		`getmetatable("").__index = {}`,
		`local mt = getmetatable(string) mt.__index = {}`,
	} {
		_, err := run(t, s, src)
		require.Error(t, err, src)
	}
	// Globals of a run land in its own environment and shadow the library
	// for that run only.
	v, err := run(t, s, `answer = 1 string = nil return answer`)
	require.NoError(t, err)
	require.Equal(t, "1", String(v))
	v, err = run(t, s, `return answer + #string.rep("ab", 2)`)
	require.NoError(t, err)
	require.Equal(t, "46", String(v))
}

func TestRunsDoNotShareGlobals(t *testing.T) {
	p := NewPool(1, Config{})
	proto, err := Compile("chunk", `local before = seen seen = true return before`)
	require.NoError(t, err)
	for range 3 {
		v, err := p.Run(context.Background(), proto, nil)
		require.NoError(t, err)
		require.Equal(t, lua.LNil, v)
	}
}

func TestReuseEnv(t *testing.T) {
	s := NewState(Config{})
	defer s.Close()
	compile := func(src string) *lua.FunctionProto {
		proto, err := Compile("chunk", src)
		require.NoError(t, err)
		return proto
	}
	clean, seen := compile(`local x = 1 return x`), compile(`return seen == nil and rawget(_G, 1) == nil and _G._G == _G`)
	for _, tt := range []struct {
		src   string
		fresh bool
	}{
		{`local x = 1 return x`, false},
		{`return _G ~= nil`, false},
		{`seen = true`, true},
		{`_G[1] = true`, true},
		{`_G._G = nil`, true},
		{`_G._G = {}`, true},
		{`function seen() end`, true},
	} {
		env := s.NewEnv()
		_, err := s.Run(context.Background(), compile(tt.src), env)
		require.NoError(t, err, tt.src)
		next := s.ReuseEnv(env)
		require.Equal(t, tt.fresh, next != env, tt.src)
		v, err := s.Run(context.Background(), seen, next)
		require.NoError(t, err, tt.src)
		require.Equal(t, lua.LTrue, v, "%s: the next run sees what it wrote", tt.src)
	}
	// One environment serves a bounded number of runs.
	env := s.NewEnv()
	first, fresh := env, 0
	for range maxEnvReuse {
		_, err := s.Run(context.Background(), clean, env)
		require.NoError(t, err)
		if next := s.ReuseEnv(env); next != env {
			env = next
			fresh++
		}
	}
	require.Equal(t, 1, fresh)
	require.NotSame(t, first, env)
}

func TestEnvironmentValues(t *testing.T) {
	p := NewPool(2, Config{})
	proto, err := Compile("chunk", `return params.name .. ":" .. tostring(params.n + 1) .. ":" .. tostring(flag)`)
	require.NoError(t, err)
	v, err := p.Run(context.Background(), proto, func(s *State, env *lua.LTable) {
		env.RawSetString("params", FromGo(s.L, map[string]any{"name": "pc1", "n": 41}))
		env.RawSetString("flag", FromGo(s.L, true))
	})
	require.NoError(t, err)
	require.Equal(t, "pc1:42:true", String(v))
}

func TestStringRepIsCapped(t *testing.T) {
	s := NewState(Config{})
	defer s.Close()
	_, err := run(t, s, `return string.rep("x", 1e9)`)
	var re *RuntimeError
	require.ErrorAs(t, err, &re)
	require.Contains(t, re.Message, "string.rep: result longer than")
	v, err := run(t, s, `return #string.rep("ab", 10)`)
	require.NoError(t, err)
	require.Equal(t, "20", String(v))
}

func TestStringRepCapFromConfig(t *testing.T) {
	s := NewState(Config{MaxStringRep: 8})
	defer s.Close()
	for _, tt := range []struct {
		src, want, err string
	}{
		{src: `return string.rep("ab", 4)`, want: "abababab"},
		{src: `return ("ab"):rep(5)`, err: "string.rep: result longer than 8 bytes"},
		{src: `return string.rep("x", 9)`, err: "string.rep: result longer than 8 bytes"},
	} {
		v, err := run(t, s, tt.src)
		if tt.err != "" {
			var re *RuntimeError
			require.ErrorAs(t, err, &re, tt.src)
			require.Contains(t, re.Message, tt.err, tt.src)
			continue
		}
		require.NoError(t, err, tt.src)
		require.Equal(t, tt.want, String(v), tt.src)
	}
}

// A negative Timeout leaves a run without a deadline to its context alone.
func TestNegativeTimeoutMeansNone(t *testing.T) {
	lib := func(s *State, lib *lua.LTable) {
		lib.RawSetString("hasDeadline", s.L.NewFunction(func(L *lua.LState) int {
			_, ok := L.Context().Deadline()
			L.Push(lua.LBool(ok))
			return 1
		}))
	}
	for _, tt := range []struct {
		timeout time.Duration
		want    lua.LValue
	}{{0, lua.LTrue}, {time.Hour, lua.LTrue}, {-1, lua.LFalse}} {
		s := NewState(Config{Library: lib, Timeout: tt.timeout})
		v, err := run(t, s, `return hasDeadline()`)
		s.Close()
		require.NoError(t, err)
		require.Equal(t, tt.want, v, "timeout %v", tt.timeout)
	}
	// A negative Timeout still honours the context's own deadline.
	s := NewState(Config{Timeout: -1})
	defer s.Close()
	proto, err := Compile("chunk", `while true do end`)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = s.Run(ctx, proto, nil)
	require.ErrorIs(t, err, context.Canceled)
}

func TestForget(t *testing.T) {
	s := NewState(Config{})
	defer s.Close()
	proto, err := Compile("chunk", `return 1`)
	require.NoError(t, err)
	for range 2 {
		v, err := s.Run(context.Background(), proto, nil)
		require.NoError(t, err)
		require.Equal(t, "1", String(v))
		require.Len(t, s.fns, 1)
		s.Forget(proto)
		require.Empty(t, s.fns)
	}
}

func TestDeadlineStopsLoops(t *testing.T) {
	s := NewState(Config{})
	defer s.Close()
	for _, src := range []string{
		`while true do end`,
		`while true do pcall(function() while true do end end) end`,
	} {
		proto, err := Compile("chunk", src)
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		_, err = s.Run(ctx, proto, nil)
		cancel()
		require.ErrorIs(t, err, context.DeadlineExceeded, src)
		require.True(t, s.Usable())
	}
	// The state still works afterwards.
	v, err := run(t, s, `return 1`)
	require.NoError(t, err)
	require.Equal(t, "1", String(v))
}

func TestDefaultTimeoutApplies(t *testing.T) {
	s := NewState(Config{Timeout: 10 * time.Millisecond})
	defer s.Close()
	_, err := run(t, s, `while true do end`)
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestCancelledContext(t *testing.T) {
	s := NewState(Config{})
	defer s.Close()
	proto, err := Compile("chunk", `return 1`)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = s.Run(ctx, proto, nil)
	require.ErrorIs(t, err, context.Canceled)
}

func TestRuntimeError(t *testing.T) {
	s := NewState(Config{})
	defer s.Close()
	_, err := run(t, s, "local x = 1\nerror('boom')")
	var re *RuntimeError
	require.ErrorAs(t, err, &re)
	require.Equal(t, "chunk:2: boom", re.Message)
	_, err = run(t, s, "error({code = 7})")
	require.ErrorAs(t, err, &re)
	tb, ok := re.Value.(*lua.LTable)
	require.True(t, ok)
	require.Equal(t, lua.LNumber(7), tb.RawGetString("code"))
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		src  string
		want SyntaxError
	}{
		{"return 1 +", SyntaxError{Name: "f", Line: 1, Column: 11, Message: `syntax error near "+"`, AtEnd: true}},
		{"local x = 1\nreturn x x", SyntaxError{Name: "f", Line: 2, Column: 10, Message: `syntax error near "x"`}},
		{"x = 1\nbreak", SyntaxError{Name: "f", Line: 2, Column: 1, Message: "no loop to break"}},
	}
	for _, tt := range tests {
		_, err := Compile("f", tt.src)
		var se *SyntaxError
		require.ErrorAs(t, err, &se, tt.src)
		require.Equal(t, tt.want.Name, se.Name)
		require.Equal(t, tt.want.Line, se.Line, tt.src)
		if tt.want.Message != "" {
			require.Equal(t, tt.want.Column, se.Column, tt.src)
			require.Equal(t, tt.want.Message, se.Message, tt.src)
		}
		require.Equal(t, tt.want.AtEnd, se.AtEnd, tt.src)
		require.True(t, strings.HasPrefix(se.Error(), "luasandbox: f:"), se.Error())
	}
	_, err := Compile("f", "return 1 +")
	require.EqualError(t, err, `luasandbox: f:1:11: syntax error near "+" at the end of the chunk`)
}

func TestReadOnlyMessage(t *testing.T) {
	for _, tt := range []struct{ cfg, want string }{
		{"", "cannot change a read-only table"},
		{"cannot change the filter library", "cannot change the filter library"},
	} {
		s := NewState(Config{ReadOnlyMessage: tt.cfg})
		for _, src := range []string{`string.upper = nil`, `math.pi = 3`, `table.x = 1`} {
			_, err := run(t, s, src)
			var re *RuntimeError
			require.ErrorAs(t, err, &re, src)
			require.Contains(t, re.Message, tt.want, src)
		}
		s.Close()
	}
}

// Data carries the embedder's per-state value to the functions it binds.
func TestStateData(t *testing.T) {
	type current struct{ name string }
	p := NewPool(1, Config{Library: func(s *State, lib *lua.LTable) {
		s.Data = &current{}
		lib.RawSetString("who", s.L.NewFunction(func(L *lua.LState) int {
			L.Push(lua.LString(s.Data.(*current).name))
			return 1
		}))
	}})
	proto, err := Compile("chunk", `return who()`)
	require.NoError(t, err)
	for _, name := range []string{"pc1", "pc2"} {
		s := p.Get()
		s.Data.(*current).name = name
		v, err := s.Run(context.Background(), proto, nil)
		p.Put(s)
		require.NoError(t, err)
		require.Equal(t, name, String(v))
	}
}

func TestGoFunctionSeesContext(t *testing.T) {
	type key struct{}
	s := NewState(Config{Library: func(s *State, lib *lua.LTable) {
		lib.RawSetString("who", s.L.NewFunction(func(L *lua.LState) int {
			L.Push(lua.LString(L.Context().Value(key{}).(string)))
			return 1
		}))
	}})
	defer s.Close()
	proto, err := Compile("chunk", `return who()`)
	require.NoError(t, err)
	v, err := s.Run(context.WithValue(context.Background(), key{}, "pc1"), proto, nil)
	require.NoError(t, err)
	require.Equal(t, "pc1", String(v))
}

func TestGoPanicBreaksState(t *testing.T) {
	p := NewPool(1, Config{Library: func(s *State, lib *lua.LTable) {
		lib.RawSetString("explode", s.L.NewFunction(func(L *lua.LState) int { panic("go bug") }))
	}})
	proto, err := Compile("chunk", `explode()`)
	require.NoError(t, err)
	s := p.Get()
	_, err = s.Run(context.Background(), proto, nil)
	require.Error(t, err)
	require.False(t, s.Usable())
	p.Put(s)
	s2 := p.Get()
	require.NotSame(t, s, s2)
	p.Put(s2)
}

func TestPoolConcurrent(t *testing.T) {
	p := NewPool(2, Config{})
	proto, err := Compile("chunk", `local s = 0 for i = 1, n do s = s + i end return s`)
	require.NoError(t, err)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Go(func() {
			v, err := p.Run(context.Background(), proto, func(s *State, env *lua.LTable) {
				env.RawSetString("n", lua.LNumber(i))
			})
			if err != nil {
				errs <- err
				return
			}
			if got, want := String(v), String(lua.LNumber(i*(i+1)/2)); got != want {
				errs <- errors.New("n=" + String(lua.LNumber(i)) + ": got " + got + ", want " + want)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestFromGoAndString(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	tb := FromGo(L, map[string]any{"b": []string{"x", "y"}, "a": map[string]string{"k": "v"}, "n": 2.5, "ok": false, "z": nil}).(*lua.LTable)
	var keys []string
	tb.ForEach(func(k, _ lua.LValue) { keys = append(keys, k.String()) })
	slices.Sort(keys)
	if diff := cmp.Diff([]string{"a", "b", "n", "ok"}, keys); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}
	require.Equal(t, "y", tb.RawGetString("b").(*lua.LTable).RawGetInt(2).String())
	for v, want := range map[lua.LValue]string{lua.LNil: "", lua.LTrue: "true", lua.LNumber(3): "3", lua.LNumber(2.5): "2.5", lua.LString("s"): "s"} {
		require.Equal(t, want, String(v))
	}
	require.Equal(t, "", String(nil))
	require.Equal(t, "{7}", String(FromGo(L, struct{ n int }{7})))
}

func FuzzCompile(f *testing.F) {
	for _, s := range []string{"return 1", "local x = {", "x = function() end", "return ('a'):rep(3)", "--[[", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		proto, err := Compile("fuzz", src)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not a *SyntaxError", err)
			}
			if se.Line < 1 || se.Column < 1 {
				t.Fatalf("bad position %d:%d", se.Line, se.Column)
			}
			return
		}
		if proto == nil {
			t.Fatal("nil proto without error")
		}
	})
}
