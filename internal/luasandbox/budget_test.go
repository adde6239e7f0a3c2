package luasandbox

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
	lua "github.com/yuin/gopher-lua"
)

// escapes are chunks that reached gigabytes or ran far past their deadline
// inside one builtin before the budgets, each with the budget that stops it
// now and the message it stops with.
var escapes = []struct {
	name  string
	src   string
	limit Limit
	msg   string
}{
	{"backtracking pattern", `return string.find(("a"):rep(3000), ("a*"):rep(12).."b")`,
		LimitInstructions, "instruction budget of 1000000 spent"},
	{"backtracking match", `return (("a"):rep(3000)):match(("a-"):rep(12).."b")`,
		LimitInstructions, "instruction budget of 1000000 spent"},
	{"backtracking gsub", `return (("a"):rep(3000)):gsub(("a*"):rep(12).."b", "")`,
		LimitInstructions, "instruction budget of 1000000 spent"},
	{"backtracking gmatch", `for x in (("a"):rep(3000)):gmatch(("a*"):rep(12).."b") do end return 1`,
		LimitInstructions, "instruction budget of 1000000 spent"},
	{"doubling by concatenation", `local s = "x" for i = 1, 40 do s = s .. s end return #s`,
		LimitMemory, "memory budget of 4 MiB exceeded"},
	{"concatenation of many operands", `local s = ("x"):rep(1000000) return #(s..s..s..s..s..s..s..s..s..s..s..s..s..s..s..s..s..s)`,
		LimitMemory, "memory budget of 4 MiB exceeded"},
	{"table.concat of a growing table", `local t, s = {}, ("x"):rep(1000000) for i = 1, 100000 do t[i] = s end return #table.concat(t)`,
		LimitMemory, "memory budget of 4 MiB exceeded"},
	{"gsub amplification", `local s = ("x"):rep(100000) for i = 1, 10 do s = s:gsub("x", "xxxxxxxxxx") end return #s`,
		LimitMemory, "memory budget of 4 MiB exceeded"},
	{"gsub amplification by a function", `local s = ("x"):rep(100000) for i = 1, 10 do s = s:gsub("x", function() return "xxxxxxxxxx" end) end return #s`,
		LimitMemory, "memory budget of 4 MiB exceeded"},
	{"rep kept in a table", `local t = {} for i = 1, 1000 do t[i] = ("x"):rep(1000000 - i) end return #t`,
		LimitMemory, "memory budget of 4 MiB exceeded"},
	{"format of long strings kept", `local t, s = {}, ("x"):rep(1000000) for i = 1, 1000 do t[i] = string.format("%s%d", s, i) end return #t`,
		LimitMemory, "memory budget of 4 MiB exceeded"},
	{"format of many long strings at once", `local s = ("x"):rep(1000000) return #string.format(("%s"):rep(100), ` + strings.Repeat("s, ", 99) + `s)`,
		LimitMemory, "memory budget of 4 MiB exceeded"},
	{"upper of long strings kept", `local t, s = {}, ("x"):rep(1000000) for i = 1, 1000 do t[i] = s:upper() end return #t`,
		LimitMemory, "memory budget of 4 MiB exceeded"},
	{"a table that grows for ever", `local t = {} local i = 0 while true do i = i + 1 t[i] = i end`,
		LimitMemory, "memory budget of 4 MiB exceeded"},
	{"nested tables that grow for ever", `local t = {} while true do t = {t, t} end`,
		LimitMemory, "memory budget of 4 MiB exceeded"},
	{"a budget error caught by pcall", `while true do pcall(function() local s = "x" for i = 1, 40 do s = s .. s end end) end`,
		LimitMemory, "memory budget of 4 MiB exceeded"},
	{"an endless loop", `while true do end`,
		LimitInstructions, "instruction budget of 1000000 spent"},
}

// TestMemoryBudgetSeesTheStack: a table held only as a vararg, which no
// local names, counts (an outside review's: it grew to 422 MiB under a 16
// MiB budget, stopped only by the instruction budget); stackValues is
// pinned to gopher-lua's value stack.
func TestMemoryBudgetSeesTheStack(t *testing.T) {
	vs := NewState(Config{MaxMemory: 16 << 20, MaxInstructions: 60_000_000, Timeout: time.Hour})
	defer vs.Close()
	_, err := run(t, vs, `return (function(...) for i = 1, 1e8 do select(1, ...)[i] = i end return true end)({})`)
	var le *LimitError
	require.True(t, errors.As(err, &le), "want a *LimitError, got %v", err)
	require.Equal(t, LimitMemory, le.Limit, le.Message)

	s := NewState(Config{})
	defer s.Close()
	big := s.L.NewTable()
	for i := 1; i <= 10; i++ {
		big.Append(lua.LNumber(i))
	}
	s.L.Push(big)
	require.Contains(t, stackValues(s.L), lua.LValue(big))
	s.L.Pop(1)
}

// budgetConfig is the budget of the escapes: a generous instruction budget
// for those that memory stops, so that it is memory that stops them.
func budgetConfig(limit Limit) Config {
	cfg := Config{MaxMemory: 4 << 20, MaxInstructions: 1_000_000, Timeout: time.Hour}
	if limit == LimitMemory {
		cfg.MaxInstructions = 100_000_000
	}
	return cfg
}

func TestBudgetsStopEscapes(t *testing.T) {
	for _, tc := range escapes {
		t.Run(tc.name, func(t *testing.T) {
			cfg := budgetConfig(tc.limit)
			s := NewState(cfg)
			defer s.Close()
			_, err := run(t, s, tc.src)
			var le *LimitError
			require.True(t, errors.As(err, &le), "want a *LimitError, got %v", err)
			require.Equal(t, tc.limit, le.Limit)
			require.Contains(t, le.Message, tc.msg)
			require.True(t, strings.HasPrefix(le.Message, "chunk:"), "message %q has no position", le.Message)
			// It stopped within its budget: the instructions counted, and
			// the memory it held when it stopped (as last measured, within a
			// quarter of the budget: between two measures memory is counted
			// per instruction, an estimate).
			require.LessOrEqual(t, s.budget.instr, cfg.MaxInstructions+stepChunk)
			require.LessOrEqual(t, s.budget.used, cfg.MaxMemory*5/4)
			// The state is still usable.
			v, err := run(t, s, `return 1 + 1`)
			require.NoError(t, err)
			require.Equal(t, lua.LNumber(2), v)
		})
	}
}

func TestTimeBudgetStopsBuiltins(t *testing.T) {
	// No instruction budget to speak of: the state's own timeout stops the
	// backtracking pattern inside string.find.
	s := NewState(Config{Timeout: 50 * time.Millisecond, MaxInstructions: 1 << 62})
	defer s.Close()
	_, err := run(t, s, `return string.find(("a"):rep(3000), ("a*"):rep(12).."b")`)
	var le *LimitError
	require.ErrorAs(t, err, &le)
	require.Equal(t, LimitTime, le.Limit)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Equal(t, "chunk:1: stopped after its time budget of 50ms", le.Message)

	// The caller's deadline stops it too, reported as the caller's.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	proto, err := Compile("chunk", `return (("a"):rep(3000)):gsub(("a*"):rep(12).."b", "")`)
	require.NoError(t, err)
	_, err = s.Run(ctx, proto, nil)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.False(t, errors.As(err, &le))
}

func TestBoundedBuiltinsRefuseAtOnce(t *testing.T) {
	for src, want := range map[string]string{
		`return unpack({}, 1, 1e8)`:                           "chunk:1: too many results to unpack",
		`return string.format("%999999999d", 1)`:              "chunk:1: invalid format (width or precision too long)",
		`return string.format("%.100f", 1)`:                   "chunk:1: invalid format (width or precision too long)",
		`return string.byte(("x"):rep(100000), 1, -1)`:        "chunk:1: string.byte: too many results",
		`return ("x"):rep(1e9)`:                               "chunk:1: string.rep: result longer than 1048576 bytes",
		`return string.find("abc", "[a")`:                     "chunk:1: malformed pattern (missing ']')",
		`return string.find("abc", "%")`:                      "chunk:1: malformed pattern (ends with '%')",
		`return string.gsub("abc", "(a", "")`:                 "chunk:1: unfinished capture",
		`return string.find("abc", "%1")`:                     "chunk:1: invalid capture index",
		`return string.find(("a"):rep(300), ("a?"):rep(300))`: "chunk:1: pattern too complex",
		`return string.gsub("abc", "%w", "%2")`:               "chunk:1: invalid capture index",
		`return string.gsub("abc", "%w", {a = {}})`:           "chunk:1: invalid replacement value (a table)",
		`return "a" .. {}`:                                    "chunk:1: cannot perform concat operation between string and table",
		`return table.concat({1, {}, 3})`:                     "chunk:1: invalid value (table) at index 2 in table for concat",
		`return string.find(("a"):rep(100), "%f[%a]%b")`:      "chunk:1: malformed pattern (missing arguments to '%b')",
	} {
		s := NewState(Config{})
		_, err := run(t, s, src)
		var re *RuntimeError
		require.ErrorAs(t, err, &re, src)
		require.Equal(t, want, re.Message, src)
		s.Close()
	}
}

func TestFormatKeepsShortWidths(t *testing.T) {
	s := NewState(Config{})
	defer s.Close()
	v, err := run(t, s, `return string.format("[%5d|%-3s|%05.1f|%%|%x]", 42, "a", 3.14159, 255)`)
	require.NoError(t, err)
	require.Equal(t, "[   42|a  |003.1|%|ff]", v.String())
}

// TestPatterns checks the matcher against Lua 5.1's results.
func TestPatterns(t *testing.T) {
	for src, want := range map[string]string{
		`return string.find("hello world", "o w")`:                                                                    "5 7",
		`return string.find("hello world", "o", 6)`:                                                                   "8 8",
		`return string.find("hello", "l+")`:                                                                           "3 4",
		`return string.find("hello", "^h(.)")`:                                                                        "1 2 e",
		`return string.find("hello", "^e")`:                                                                           "nil",
		`return string.find("a.b", ".", 1, true)`:                                                                     "2 2",
		`return string.find("a+b", "+", 1, true)`:                                                                     "2 2",
		`return string.find("abc", "", 10)`:                                                                           "4 3",
		`return string.find("abc", "b", -1)`:                                                                          "nil",
		`return string.match("key = value", "(%w+)%s*=%s*(%w+)")`:                                                     "key value",
		`return string.match("2024-01-05", "(%d+)-(%d+)-(%d+)")`:                                                      "2024 01 05",
		`return string.match("  trim  ", "^%s*(.-)%s*$")`:                                                             "trim",
		`return string.match("hello", "()ll()")`:                                                                      "3 5",
		`return string.match("THE (quick) fox", "%((%a+)%)")`:                                                         "quick",
		`return string.match("x = [[a]] y", "%b[]")`:                                                                  "[[a]]",
		`return string.match("THE (quick) fox", "%f[%a]%a+", 5)`:                                                      "quick",
		`return string.match("abcabc", "(abc)%1")`:                                                                    "abc",
		`return string.match("a,b;c", "[,;]")`:                                                                        ",",
		`return string.match("a-b", "[%-]")`:                                                                          "-",
		`return string.match("x]y", "[]]")`:                                                                           "]",
		`return string.match("abc123", "[^%a]+")`:                                                                     "123",
		`return string.match("abz", "[a-c]+")`:                                                                        "ab",
		`return string.match("abc", "a?b?c?d?")`:                                                                      "abc",
		`return string.match("aaa", "a-b")`:                                                                           "nil",
		`return string.match("aaab", "a-b")`:                                                                          "aaab",
		`return string.match("hello", ".-$")`:                                                                         "hello",
		`return string.match("a$b", "a$b")`:                                                                           "a$b",
		`return string.gsub("hello world", "o", "0")`:                                                                 "hell0 w0rld 2",
		`return string.gsub("hello world", "(%w+)", "<%1>")`:                                                          "<hello> <world> 2",
		`return string.gsub("hello world", "%w+", "%0 %0", 1)`:                                                        "hello hello world 1",
		`return string.gsub("abc", "", "-")`:                                                                          "-a-b-c- 4",
		`return string.gsub("abc", "^a", "x")`:                                                                        "xbc 1",
		`return string.gsub("$name is $age", "%$(%w+)", {name = "Al", age = 3})`:                                      "Al is 3 2",
		`return string.gsub("abc", "%w", function(c) if c == "b" then return false end return c:upper() end)`:         "AbC 3",
		`return string.gsub("a.b", "%.", "%%")`:                                                                       "a%b 1",
		`local n = 0 for k, v in string.gmatch("a=1, b=2", "(%w+)=(%w+)") do n = n + v end return n`:                  "3",
		`local t = {} for w in string.gmatch("one two  three", "%a+") do t[#t+1] = w end return table.concat(t, "|")`: "one|two|three",
		`local t = {} for w in string.gmatch("abc", "") do t[#t+1] = "." end return #t`:                               "4",
		`return ("x"):rep(3, nil) .. 1 .. 2.5`:                                                                        "xxx12.5",
		`local function f() return "a", "b" end return "<" .. f() .. ">"`:                                             "<a>",
		`local mt = {__concat = function(a, b) return "mt" end} return "a" .. setmetatable({}, mt) .. "b"`:            "amt",
		`return table.concat({1, 2, "x"}, ", ", 2)`:                                                                   "2, x",
		`return unpack({1, 2, 3}, 2)`:                                                                                 "2 3",
	} {
		s := NewState(Config{})
		proto, err := Compile("chunk", "return (function(...) local t = {...} for i = 1, select('#', ...) do t[i] = tostring(t[i]) end return table.concat(t, ' ') end)((function() "+src+" end)())")
		require.NoError(t, err, src)
		v, err := s.Run(context.Background(), proto, nil)
		require.NoError(t, err, src)
		if diff := cmp.Diff(want, v.String()); diff != "" {
			t.Errorf("%s (-want +got):\n%s", src, diff)
		}
		s.Close()
	}
}

// A run without any deadline (a negative Timeout, a context without one)
// is still bounded: by its instruction budget.
func TestNoDeadlineIsStillBounded(t *testing.T) {
	s := NewState(Config{Timeout: -1, MaxInstructions: 1_000_000})
	defer s.Close()
	_, err := run(t, s, `local n = 0 while true do n = n + 1 end`)
	var le *LimitError
	require.ErrorAs(t, err, &le)
	require.Equal(t, LimitInstructions, le.Limit)
	require.Equal(t, "chunk:1: instruction budget of 1000000 spent", le.Message)
}

// A library function may hand L.Context() to other goroutines (a derived
// context watches its parent from one): it sees the run's context, not the
// instruction hook. Run with -race.
func TestLibrarySeesPlainContext(t *testing.T) {
	s := NewState(Config{Library: func(s *State, lib *lua.LTable) {
		lib.RawSetString("wait", s.L.NewFunction(func(L *lua.LState) int {
			ctx, cancel := context.WithTimeout(L.Context(), time.Millisecond)
			defer cancel()
			done := make(chan struct{})
			go func() {
				<-ctx.Done()
				close(done)
			}()
			<-done
			_, isHook := L.Context().(*hook)
			L.Push(lua.LBool(isHook))
			return 1
		}))
	}})
	defer s.Close()
	v, err := run(t, s, `local n = 0 for i = 1, 5000 do n = n + 1 end return wait()`)
	require.NoError(t, err)
	require.Equal(t, lua.LFalse, v)
	// Lua code after the call is counted again.
	s2 := NewState(Config{MaxInstructions: 10_000, Library: func(s *State, lib *lua.LTable) {
		lib.RawSetString("noop", s.L.NewFunction(func(L *lua.LState) int { return 0 }))
	}})
	defer s2.Close()
	_, err = run(t, s2, `noop() while true do end`)
	var le *LimitError
	require.ErrorAs(t, err, &le)
}

// An error handler of xpcall cannot outrun a spent budget either.
func TestXpcallHandlerCannotEscape(t *testing.T) {
	s := NewState(Config{MaxInstructions: 100_000})
	defer s.Close()
	_, err := run(t, s, `while true do xpcall(function() while true do end end, function(e) while true do end end) end`)
	var le *LimitError
	require.ErrorAs(t, err, &le)
	require.Equal(t, LimitInstructions, le.Limit)
}

// Sources are bounded for every script, not only filters: Compile refuses a
// metascript or an agent script nested too deep with its position.
func TestCompileBoundsScripts(t *testing.T) {
	_, err := Compile("script", "local x = 1\nlocal y = "+strings.Repeat("(", 300)+"1"+strings.Repeat(")", 300))
	require.EqualError(t, err, "luasandbox: script:2:211: nested deeper than the limit of 200")
	_, err = Compile("script", "return '"+strings.Repeat("x", DefaultMaxSource)+"'")
	require.EqualError(t, err, "luasandbox: script:1:1: source is 1048585 bytes, longer than the limit of 1048576")
}

// FuzzRunBounded runs arbitrary chunks under small budgets: each run ends
// (by its result, an error or a budget), no Go panic goes through a builtin,
// and the memory counted when it stops stays near the budget.
func FuzzRunBounded(f *testing.F) {
	for _, src := range []string{
		`return ("a"):rep(100):gsub("a", "%0%0")`,
		`local s = "x" while true do s = s .. s end`,
		`return string.find("abc", "(b)()")`,
		`for k in ("a,b"):gmatch("[^,]+") do end return table.concat({1, "x"}, "-")`,
		`return string.format("%5.2f %s %q", 1.5, "x", "y")`,
		`return unpack({1, 2, 3})`,
		`local t = {} t[1] = t return #t`,
		`return ("x"):byte(1, -1)`,
	} {
		f.Add(src)
	}
	s := NewState(Config{MaxInstructions: 200_000, MaxMemory: 4 << 20, Timeout: time.Second})
	defer s.Close()
	f.Fuzz(func(t *testing.T, src string) {
		proto, err := Compile("fuzz", src)
		if err != nil {
			return
		}
		_, err = s.Run(context.Background(), proto, nil)
		s.Forget(proto)
		require.True(t, s.Usable(), "a Go panic went through the state: %v", err)
		require.LessOrEqual(t, s.budget.used, int64(4<<20)*5/4)
	})
}
