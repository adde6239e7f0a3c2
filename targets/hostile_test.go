package targets

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
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
