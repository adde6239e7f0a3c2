package targets

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
)

// Names outside the sandbox are refused when the filter is compiled.
func TestLuaSandboxRefusesNamesAtCompile(t *testing.T) {
	for _, src := range []string{
		`return os.execute("id") == 0`,
		`return io.open("/etc/passwd") ~= nil`,
		`return require("os") ~= nil`,
		`return load("return true")()`,
		`return loadstring("return true")()`,
		`return dofile("/etc/passwd")`,
		`return loadfile("/etc/passwd") ~= nil`,
		`return getfenv(1) ~= nil`,
		`setfenv(1, {}) return true`,
		`collectgarbage() return true`,
		`rawset(_G, "x", 1) return true`,
		`print("x") return true`,
		`return coroutine ~= nil`,
		`return debug.getinfo(1) ~= nil`,
		`return module ~= nil`,
	} {
		_, err := Compile(LanguageLua, src)
		var ce *CompileError
		require.True(t, errors.As(err, &ce), "%s: %v", src, err)
		require.Contains(t, ce.Msg, "unknown name", src)
	}
}

// What can be known at compile time of a Lua filter is reported then, with
// its line and column, like expr's type errors.
func TestLuaCheckerRefusesAtCompile(t *testing.T) {
	tests := []struct {
		src       string
		line, col int
		msg       string
	}{
		{`return "x"`, 1, 1, "a Lua filter must return a boolean, this returns a string"},
		{"if has_tag(\"a\") then\n  return 1\nend\nreturn false", 2, 3, "a Lua filter must return a boolean, this returns a number"},
		{`return computer.name .. "x"`, 1, 1, "a Lua filter must return a boolean, this returns a string"},
		{`return nil`, 1, 1, "a Lua filter must return a boolean, this returns nil"},
		{`return {}`, 1, 1, "a Lua filter must return a boolean, this returns a table"},
		{`return #computer.tags`, 1, 1, "a Lua filter must return a boolean, this returns a number"},
		{"if computer.online then return end\nreturn true", 1, 25, "a Lua filter must return a boolean, this returns nothing"},
		{`return string.startswith(computer.name, "pc")`, 1, 15, "unknown function string.startswith (the sandbox's string library has no startswith)"},
		{`return math.random() > 0.5`, 1, 13, "unknown function math.random (the sandbox's math library has no random)"},
		{"local n = 0\nn = table.count(computer.tags)\nreturn n > 1", 2, 11, "unknown function table.count (the sandbox's table library has no count)"},
		{`return computer.name:startswith("pc")`, 1, 22, "unknown function startswith (strings have no method startswith)"},
		{`return ("x"):trim() == "x"`, 1, 14, "unknown function trim (strings have no method trim)"},
		{`return computer.online()`, 1, 17, "computer.online is a field, not a function"},
		{`return computer("name") == "x"`, 1, 8, "computer is not a function"},
		{`return has_tg("x")`, 1, 8, `unknown name "has_tg" (the sandbox has no has_tg)`},
	}
	for _, tc := range tests {
		_, err := Compile(LanguageLua, tc.src)
		var ce *CompileError
		require.True(t, errors.As(err, &ce), "%s: %v", tc.src, err)
		require.Equal(t, [3]any{tc.line, tc.col, tc.msg}, [3]any{ce.Line, ce.Column, ce.Msg}, tc.src)
	}
	// Functions the sandbox has, and names the chunk makes its own, pass.
	for _, src := range []string{
		`return string.find(computer.name, "pc") ~= nil`,
		`return computer.name:lower():sub(1, 2) == "pc"`,
		`return math.floor(#computer.tags / 2) == 1`,
		`return table.concat(computer.tags, ",") ~= ""`,
		`local string = {startswith = function() return true end} return string.startswith()`,
		`function check() return true end return check()`,
		`local function f() return "x" end return f() == "x"`,
		`return computer.attributes.x == nil`,
	} {
		_, err := Compile(LanguageLua, src)
		require.NoError(t, err, src)
	}
}

// Escapes that get past the compile-time check fail at run time, within the
// deadline, and leave the state usable.
func TestLuaSandboxEscapesFailAtRunTime(t *testing.T) {
	tests := []struct {
		name, src, err string
	}{
		{"os.execute", `local n = "o" .. "s" return _G[n].execute("id") == 0`, "attempt to index a non-table object(nil)"},
		{"io.open", `return rawget(_G, "io").open("/etc/passwd") ~= nil`, "attempt to index a non-table object(nil)"},
		{"require", `local f = _G["req" .. "uire"] return f("os") ~= nil`, "attempt to call a non-function object"},
		{"load", `local f = _G["lo" .. "ad"] return f("return true")()`, "attempt to call a non-function object"},
		{"dofile", `local f = _G["do" .. "file"] return f("/etc/passwd")`, "attempt to call a non-function object"},
		{"string metatable", `local mt = getmetatable("") return mt.__index ~= nil`, "attempt to index a non-table object(boolean)"},
		{"library write", `string.upper = nil return true`, "cannot change the filter library"},
		{"library metatable", `setmetatable(string, nil) return true`, "cannot change a protected metatable"},
		{"computer write", `computer.os = "x" return true`, "computer is read-only"},
		{"math.random", `local m = math return m.random() > 0.5`, "attempt to call a non-function object"},
		{"string.rep of a huge size", `return string.rep("x", 1e12) ~= ""`, "string.rep: result longer than"},
		{"string.rep as a method", `local s = ("abc"):rep(1e9) return true`, "string.rep: result longer than"},
		{"endless loop", `while true do end return true`, "context deadline exceeded"},
		{"endless loop under pcall", `while true do pcall(function() while true do end end) end return true`, "context deadline exceeded"},
		{"deep recursion", `local function f(n) return 1 + f(n + 1) end return f(1) > 0`, "stack overflow"},
		{"unknown field", `local k = "col" .. "our" return computer[k] == "red"`, `computer has no field "colour"`},
	}
	pool := newStatePool(1)
	good, err := compileFilter(LanguageLua, `for _, t in ipairs(computer.tags) do if t == "canary" then return string.rep("ab", 2) == "abab" end end return false`, pool)
	require.NoError(t, err)
	require.False(t, good.Native())
	// The pool keeps one state: every run below must give back that one.
	state := pool.Get()
	pool.Put(state)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bad, err := compileFilter(LanguageLua, tc.src, pool)
			require.NoError(t, err)
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err = bad.Eval(ctx, Env{Computer: testComputer, Tenant: testTenant})
			require.ErrorContains(t, err, tc.err)
			require.Less(t, time.Since(start), 5*time.Second, "the filter must stop at its deadline")

			// The same state went back to the pool, and runs the next
			// filter correctly.
			s := pool.Get()
			require.Same(t, state, s, "the state went back to the pool")
			require.True(t, s.Usable())
			pool.Put(s)
			ok, err := good.Eval(context.Background(), Env{Computer: testComputer, Tenant: testTenant})
			require.NoError(t, err)
			require.True(t, ok)
			s = pool.Get()
			require.Same(t, state, s, "the state was reused")
			pool.Put(s)
		})
	}
}

// What a filter writes does not survive its run: globals are per run.
func TestLuaGlobalsDoNotLeakBetweenRuns(t *testing.T) {
	pool := newStatePool(1)
	f, err := compileFilter(LanguageLua, `counter = (counter or 0) + 1 return counter == 1`, pool)
	require.NoError(t, err)
	other, err := compileFilter(LanguageLua, `return rawget(_G, "counter") == nil and _G.counter == nil`, pool)
	require.NoError(t, err)
	for range 3 {
		ok, err := f.Eval(context.Background(), Env{Computer: testComputer})
		require.NoError(t, err)
		require.True(t, ok)
		ok, err = other.Eval(context.Background(), Env{Computer: testComputer})
		require.NoError(t, err)
		require.True(t, ok)
	}
}

func TestLuaCancelledContext(t *testing.T) {
	f, err := Compile(LanguageLua, `local x = 1 return x == 1`)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = f.Eval(ctx, Env{Computer: testComputer})
	require.ErrorIs(t, err, context.Canceled)
}

func TestLuaFilterSeesTheComputer(t *testing.T) {
	c := &immy.Computer{ID: "x", Kind: immy.KindServer, Onboarding: immy.NeedsOnboarding, Tags: []string{"a", "b"},
		Attributes: map[string]string{"k": "v"}, DeviceGroups: []string{"dg"}}
	f, err := Compile(LanguageLua, `
		local tags = {}
		for i, t in ipairs(computer.tags) do tags[i] = t end
		return computer.kind == "server" and computer.onboarding == "needs-onboarding"
			and table.concat(tags, ",") == "a,b" and computer.attributes.k == "v"
			and computer.device_groups[1] == "dg" and tenant.id == "t" and not computer.online
			and computer.tags == computer.tags`)
	require.NoError(t, err)
	ok, err := f.Eval(context.Background(), Env{Computer: c, Tenant: &immy.Tenant{ID: "t"}})
	require.NoError(t, err)
	require.True(t, ok)
}
