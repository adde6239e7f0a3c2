package targets

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/internal/luasandbox"
)

// hostileFilters are sources that ended the process with a fatal stack
// overflow in expr's or gopher-lua's parser before the scanner bounded them,
// with where and why Compile now refuses them.
var hostileFilters = []struct {
	name      string
	lang      Language
	src       string
	line, col int
	msg       string
}{
	{"expr: 500k nested parentheses", LanguageExpr,
		strings.Repeat("(", 500_000) + "true" + strings.Repeat(")", 500_000),
		1, 1, "filter is 1000004 bytes, longer than the limit of 65536"},
	{"expr: nested parentheses within the size", LanguageExpr,
		"computer.online and\n" + strings.Repeat("(", 30_000) + "true" + strings.Repeat(")", 30_000),
		2, MaxFilterDepth + 1, "nested deeper than the limit of 100"},
	{"expr: a run of not", LanguageExpr,
		strings.Repeat("not ", 10_000) + "true", 1, 4*MaxFilterDepth + 1, "nested deeper than the limit of 100"},
	{"expr: a run of !", LanguageExpr,
		strings.Repeat("!", 60_000) + "true", 1, MaxFilterDepth + 1, "nested deeper than the limit of 100"},
	{"expr: a chain of ternaries", LanguageExpr,
		strings.Repeat("true ? true : ", 4000) + "false", 1, 7*MaxFilterChain + 6, "expression chains more than 1000 operators"},
	{"expr: a chain of or", LanguageExpr,
		"true" + strings.Repeat(" or true", 7000), 1, 8*MaxFilterChain + 6, "expression chains more than 1000 operators"},
	{"lua: not not ... true a million times", LanguageLua,
		"return " + strings.Repeat("not ", 1_000_000) + "true",
		1, 1, "filter is 4000011 bytes, longer than the limit of 65536"},
	{"lua: not not ... true within the size", LanguageLua,
		"local a = 1\nreturn " + strings.Repeat("not ", 10_000) + "true",
		2, 8 + 4*MaxFilterDepth, "nested deeper than the limit of 100"},
	{"lua: a million nested braces", LanguageLua,
		"return " + strings.Repeat("{", 1_000_000) + strings.Repeat("}", 1_000_000) + " == nil",
		1, 1, "filter is 2000014 bytes, longer than the limit of 65536"},
	{"lua: nested braces within the size", LanguageLua,
		"return " + strings.Repeat("{", 30_000) + strings.Repeat("}", 30_000) + " == nil",
		1, 8 + MaxFilterDepth, "nested deeper than the limit of 100"},
	{"lua: a chain of and", LanguageLua,
		"return true" + strings.Repeat(" and true", 7000), 1, 13 + 9*MaxFilterChain, "expression chains more than 1000 operators"},
}

func TestCompileRefusesHostileFilters(t *testing.T) {
	for _, tc := range hostileFilters {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile(tc.lang, tc.src)
			var ce *CompileError
			require.True(t, errors.As(err, &ce), "want a *CompileError, got %v", err)
			got := [4]any{ce.Lang, ce.Line, ce.Column, ce.Msg}
			if diff := cmp.Diff([4]any{tc.lang, tc.line, tc.col, tc.msg}, got); diff != "" {
				t.Fatalf("error (-want +got):\n%s", diff)
			}
			require.LessOrEqual(t, len(ce.Snippet), 4*(snippetWidth+6))
		})
	}
}

func TestCompileAcceptsDeepButBoundedFilters(t *testing.T) {
	for _, tc := range []struct {
		lang Language
		src  string
	}{
		{LanguageExpr, strings.Repeat("(", 90) + "computer.online" + strings.Repeat(")", 90)},
		{LanguageExpr, strings.Repeat("not ", 90) + "computer.online"},
		{LanguageExpr, "computer.online" + strings.Repeat(" or computer.online", 900)},
		{LanguageExpr, `"((((" + '[[[[' + ` + "`{{{{`" + ` == "" // ((((( ` + "\n/* ((((( */ || true"},
		{LanguageLua, "return " + strings.Repeat("(", 90) + "computer.online" + strings.Repeat(")", 90)},
		{LanguageLua, "return " + strings.Repeat("not ", 90) + "computer.online"},
		{LanguageLua, "return computer.online" + strings.Repeat(" or computer.online", 900)},
	} {
		f, err := Compile(tc.lang, tc.src)
		require.NoError(t, err, "%.60q", tc.src)
		_, err = f.Eval(t.Context(), Env{Computer: testComputer, Tenant: testTenant})
		require.NoError(t, err)
	}
}

// FuzzScanExpr checks the expr scanner on its own: no panic, and a position
// inside the source.
func FuzzScanExpr(f *testing.F) {
	for _, s := range []string{"((true))", "!!!true", "a ? b : c", `"(" + '\'' + ` + "`x`", "/* ( */ // (", "-+-1", "\xff("} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		line, col, msg := scanExpr(src)
		if msg == "" {
			return
		}
		if line < 1 || col < 1 || line > strings.Count(src, "\n")+1 {
			t.Fatalf("position %d:%d outside the source", line, col)
		}
	})
}

// luaEscapes are Lua filters that reached gigabytes or ran far past their
// deadline inside one builtin before the sandbox's budgets, with what stops
// them now (under the smaller budgets of escapeConfig, to keep the test
// quick under -race).
var luaEscapes = []struct {
	name, src, msg string
}{
	{"backtracking pattern", `return string.find(("a"):rep(3000), ("a*"):rep(12).."b") ~= nil`,
		"lua:1: instruction budget of 2000000 spent"},
	{"backtracking pattern on a field", `return computer.name:rep(3000):match((".-"):rep(12).."%z") ~= nil`,
		"lua:1: instruction budget of 2000000 spent"},
	{"doubling by concatenation", `local s = computer.name for i = 1, 40 do s = s .. s end return #s > 0`,
		"lua:1: memory budget of 4 MiB exceeded"},
	{"table.concat of a growing table", "local t, s = {}, (\"x\"):rep(1000000)\nfor i = 1, 1000 do t[i] = s end\nreturn #table.concat(t) > 0",
		"lua:3: memory budget of 4 MiB exceeded"},
	{"gsub amplification", `local s = ("x"):rep(10000) for i = 1, 10 do s = s:gsub("x", ("x"):rep(100)) end return #s > 0`,
		"lua:1: memory budget of 4 MiB exceeded"},
	{"a table that grows for ever", `local t, i = {}, 0 while true do i = i + 1 t[i] = computer.name end return true`,
		"lua:1: memory budget of 4 MiB exceeded"},
	{"unpack of a huge range", `return select("#", unpack({}, 1, 1e8)) > 0`,
		"lua:1: too many results to unpack"},
	{"format with a huge width", `return #string.format("%999999999d", 1) > 0`,
		"lua:1: invalid format (width or precision too long)"},
	{"rep of a field", `return computer.name:rep(1e9) == ""`,
		"lua:1: string.rep: result longer than 1048576 bytes"},
	{"an endless loop", `while true do end return true`,
		"lua:1: instruction budget of 2000000 spent"},
	// Of the forms Lua filters compile to closures (see luacompile.go).
	{"backtracking pattern on a string built by a loop", "local s = \"a\"\nfor i = 1, 12 do s = s .. s end\nreturn s:find(\"a*a*a*a*a*a*a*a*a*a*a*a*b\") ~= nil",
		"lua:3: instruction budget of 2000000 spent"},
	{"a numeric for of a billion", "local n = 0\nfor i = 1, 1e9 do n = n + 1 end\nreturn n > 0",
		"lua:2: instruction budget of 2000000 spent"},
	{"a generic for that doubles", "local s = computer.name\nfor i = 1, 6 do\n  for _, t in ipairs(computer.tags) do s = s .. s .. s .. s end\n  s = s .. s .. s .. s .. s .. s .. s .. s\nend\nreturn s:upper():lower() ~= \"\"",
		"lua:4: memory budget of 4 MiB exceeded"},
}

// escapeConfig is the filters' sandbox with smaller budgets.
var escapeConfig = func() luasandbox.Config {
	cfg := luaConfig
	cfg.MaxInstructions = 2_000_000
	cfg.MaxMemory = 4 << 20
	return cfg
}()

func TestLuaFilterBudgetsStopEscapes(t *testing.T) {
	env := Env{Computer: testComputer, Tenant: testTenant}
	pool := luasandbox.NewPool(1, escapeConfig)
	for _, tc := range luaEscapes {
		t.Run(tc.name, func(t *testing.T) {
			// A long deadline of the caller's: the instruction and memory
			// budgets stop each escape, whatever the machine's speed.
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
			defer cancel()
			f, err := compileFilter(LanguageLua, tc.src, pool)
			require.NoError(t, err)
			if f.decide != nil {
				// The closures give the run up to the VM, whose budget stops it.
				_, decided := f.evalNative(env.Computer, env.Tenant)
				require.False(t, decided, "the compiled path decided")
			}
			_, err = f.Eval(ctx, env)
			require.EqualError(t, err, "targets: lua filter: "+tc.msg)
			if f.Native() {
				// Through the native form above, and through the VM.
				_, err = f.evalVM(ctx, env.Computer, env.Tenant)
				require.EqualError(t, err, "targets: lua filter: "+tc.msg)
			}
		})
	}
}

// The filters' own budgets, as Compile gives them.
func TestLuaFilterDefaultBudgets(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	env := Env{Computer: testComputer, Tenant: testTenant}
	for src, msg := range map[string]string{
		`local n = 0 while true do n = n + 1 end return true`:                   "lua:1: instruction budget of 10000000 spent",
		`local s = computer.name for i = 1, 40 do s = s .. s end return #s > 0`: "lua:1: memory budget of 16 MiB exceeded",
	} {
		f, err := Compile(LanguageLua, src)
		require.NoError(t, err)
		_, err = f.Eval(ctx, env)
		require.EqualError(t, err, "targets: lua filter: "+msg)
	}
}

func TestLuaFilterDefaultTimeout(t *testing.T) {
	f, err := Compile(LanguageLua, `return string.find(("a"):rep(3000), ("a*"):rep(12).."b") ~= nil`)
	require.NoError(t, err)
	// No deadline of the caller's: DefaultLuaTimeout or the instruction
	// budget stops the pattern, whichever comes first on this machine.
	_, err = f.Eval(context.Background(), Env{Computer: testComputer, Tenant: testTenant})
	require.Error(t, err)
	if errors.Is(err, context.DeadlineExceeded) {
		require.EqualError(t, err, "targets: lua filter: lua:1: stopped after its time budget of 100ms")
	} else {
		require.EqualError(t, err, "targets: lua filter: lua:1: instruction budget of 10000000 spent")
	}
}

// expr's VM has no deadline: what would make one evaluation unbounded in
// time or memory is refused when the filter is compiled.
func TestExprUnboundedFormsRefused(t *testing.T) {
	tests := []struct {
		src       string
		line, col int
		msg       string
	}{
		{"let a = computer.name + computer.name;\nlet b = a + a; len(b) > 0", 1, 5, "let is not available in filters"},
		{`any(computer.tags, {any(computer.upns, {# == ""})})`, 1, 40, "a predicate inside a predicate is not available in filters (the work would grow as the product of the lists)"},
		{"computer.online and\nlen(1..1000000) > 0", 2, 6, "ranges (a..b) are not available in filters"},
		{`repeat("x", 1000000) == ""`, 1, 1, "unknown name repeat"},
		{`replace(computer.name, "a", "aa") == ""`, 1, 1, "unknown name replace"},
		{`join(computer.tags, "x") == ""`, 1, 1, "unknown name join"},
		{`now() != nil`, 1, 1, "unknown name now"},
		// an outside review's: a string doubled per element, or per map
		{`len(reduce(split(",,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,", ","), #acc + #acc, "xy")) > 0`, 1, 5, "reduce is not available in filters (use any, all, none, one, filter, count or find)"},
		{`len(map(map(map(["ab"], # + #), # + #), # + #)) > 0`, 1, 5, "map is not available in filters (use any, all, none, one, filter, count or find)"},
	}
	for _, tc := range tests {
		_, err := Compile(LanguageExpr, tc.src)
		var ce *CompileError
		require.True(t, errors.As(err, &ce), "%s: %v", tc.src, err)
		require.Equal(t, tc.line, ce.Line, tc.src)
		require.Equal(t, [2]any{tc.col, tc.msg}, [2]any{ce.Column, ce.Msg}, tc.src)
	}
	// One level of predicates is fine.
	f, err := Compile(LanguageExpr, `any(computer.tags, {# startsWith "can"}) and all(computer.upns, {# endsWith "@x"})`)
	require.NoError(t, err)
	_, err = f.Eval(t.Context(), Env{Computer: testComputer, Tenant: testTenant})
	require.NoError(t, err)
}
