package luasandbox

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
)

// hostileSources are the shapes that overflowed the stack of gopher-lua's
// compiler before the scanner bounded them.
var hostileSources = map[string]struct {
	src       string
	line, col int
	msg       string
}{
	"not not ... true a million times": {
		"-- header\n\nreturn " + strings.Repeat("not ", 1_000_000) + "true", 3, 8 + 4*DefaultMaxDepth, "nested deeper than the limit of 200"},
	"a million nested braces": {
		"local x = 1\nreturn " + strings.Repeat("{", 1_000_000) + strings.Repeat("}", 1_000_000), 2, 8 + DefaultMaxDepth, "nested deeper than the limit of 200"},
	"500k nested parentheses": {
		"return " + strings.Repeat("(", 500_000) + "1" + strings.Repeat(")", 500_000), 1, 8 + DefaultMaxDepth, "nested deeper than the limit of 200"},
	"nested functions": {
		strings.Repeat("function f() ", 300), 1, 1 + 13*(DefaultMaxDepth-1) + 10, "nested deeper than the limit of 200"},
	"minus signs": {
		"return " + strings.Repeat("- ", 300) + "1", 1, 8 + 2*DefaultMaxDepth, "nested deeper than the limit of 200"},
	"a long chain of additions": {
		"return 1" + strings.Repeat("+1", 100_000), 1, 9 + 2*DefaultMaxChain, "expression chains more than 2000 operators"},
	"a long chain of calls": {
		"return f" + strings.Repeat("()", 100_000), 1, 9 + 2*DefaultMaxChain, "expression chains more than 2000 operators"},
	"a long chain of fields": {
		"return t" + strings.Repeat(".a", 100_000), 1, 9 + 2*DefaultMaxChain, "expression chains more than 2000 operators"},
}

func TestCheckSourceStopsHostileShapes(t *testing.T) {
	for name, tc := range hostileSources {
		t.Run(name, func(t *testing.T) {
			// Past the default size, to show the depth and chain bounds.
			err := CheckSource("chunk", tc.src, Limits{MaxSource: 8 << 20})
			var se *SyntaxError
			require.True(t, errors.As(err, &se), "want a *SyntaxError, got %v", err)
			got := [3]any{se.Line, se.Column, se.Message}
			if diff := cmp.Diff([3]any{tc.line, tc.col, tc.msg}, got); diff != "" {
				t.Fatalf("position and message (-want +got):\n%s", diff)
			}
			// Compile refuses it, before the parser sees it: by its depth,
			// or by its size when it is longer than DefaultMaxSource.
			_, err = Compile("chunk", tc.src)
			require.ErrorAs(t, err, &se)
			if len(tc.src) <= DefaultMaxSource {
				require.Equal(t, tc.line, se.Line)
			} else {
				require.Contains(t, se.Message, "longer than the limit of 1048576")
			}
		})
	}
}

func TestCheckSourceSize(t *testing.T) {
	err := CheckSource("chunk", "return '"+strings.Repeat("a", 100)+"'", Limits{MaxSource: 64})
	require.EqualError(t, err, "luasandbox: chunk:1:1: source is 109 bytes, longer than the limit of 64")
	require.NoError(t, CheckSource("chunk", "return 1", Limits{MaxSource: 64}))
}

func TestCheckSourceAcceptsOrdinaryCode(t *testing.T) {
	for _, src := range []string{
		// Brackets inside strings and comments do not count.
		"return '" + strings.Repeat("(", 10_000) + "'",
		"return \"" + strings.Repeat("{\\\"", 10_000) + "\"",
		"return [==[" + strings.Repeat("[[(", 10_000) + "]==]",
		"--[[" + strings.Repeat("not ", 10_000) + "]]\nreturn true",
		strings.Repeat("-- ((((\n", 1000) + "return 1",
		// Deep but within the limit.
		"return " + strings.Repeat("(", 150) + "1" + strings.Repeat(")", 150),
		"return " + strings.Repeat("not ", 150) + "true",
		// Many statements, each short: chains start afresh.
		strings.Repeat("print('a') x = x + 1 y = t.a.b:c(1) - 2\n", 5000),
		strings.Repeat("local a = {1, 2, 3, 4, 5, 6, 7, 8}\n", 5000),
		strings.Repeat("if a then b() elseif c then d() else e() end\n", 5000),
		strings.Repeat("for i = 1, 10 do while x do repeat y() until z end end\n", 2000),
		// Subtraction is not a run of unary minus signs.
		"return 1" + strings.Repeat(" - 1", 1500),
	} {
		require.NoError(t, CheckSource("chunk", src, Limits{}), "%.60q", src)
	}
}

func TestCheckSourceColumnsCountCharacters(t *testing.T) {
	src := "-- é ü\nx = 'ééé' .. " + strings.Repeat("(", 3)
	err := CheckSource("chunk", src, Limits{MaxDepth: 2})
	var se *SyntaxError
	require.ErrorAs(t, err, &se)
	require.Equal(t, [2]int{2, 16}, [2]int{se.Line, se.Column})
}

// FuzzCheckSource checks that the scanner never panics, reports positions
// inside the source, and that what it lets through with small limits parses
// and compiles without crashing.
func FuzzCheckSource(f *testing.F) {
	for _, s := range []string{
		"return 1", "return ((1))", "--[==[ ]==] return [[x]]", "return 'a\\'b'", "x = {{{}}}",
		"function f() return not not true end", "return 1 - -1", "return \"unterminated", "--[[ open",
		"return a.b:c(d)[e]", "::l:: goto l", "return 0x1p-3 + 1e+5", "\xff\xfe(",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		lim := Limits{MaxSource: 4096, MaxDepth: 20, MaxChain: 40}
		err := CheckSource("fuzz", src, lim)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || se.Line < 1 || se.Column < 1 {
				t.Fatalf("error %v is not a positioned *SyntaxError", err)
			}
			if se.Line > strings.Count(src, "\n")+1 {
				t.Fatalf("line %d beyond the source", se.Line)
			}
			return
		}
		_, _ = CompileLimits("fuzz", src, lim)
	})
}

func TestCheckSourceOperatorsInAll(t *testing.T) {
	stmt := "x = 1" + strings.Repeat("+1", 999) + "\n"
	err := CheckSource("chunk", strings.Repeat(stmt, 101), Limits{})
	var se *SyntaxError
	require.ErrorAs(t, err, &se)
	require.Equal(t, [3]any{101, 6 + 2*(DefaultMaxOperators-100*999), "more than 100000 operators in all"},
		[3]any{se.Line, se.Column, se.Message})
}

func TestCompileUnderDeadline(t *testing.T) {
	stmt := "x = 1" + strings.Repeat("+1", 999) + "\n"
	_, err := CompileLimits("chunk", strings.Repeat(stmt, 50), Limits{CompileTimeout: time.Nanosecond})
	require.EqualError(t, err, "luasandbox: chunk:1:1: compiling took longer than 1ns")
}
