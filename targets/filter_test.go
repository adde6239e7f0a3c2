package targets

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
)

var (
	testTenant   = &immy.Tenant{ID: "contoso", Name: "Contoso", Tags: []string{"vip"}}
	testComputer = &immy.Computer{
		ID: "contoso-lt-01", Tenant: "contoso", Name: "CONTOSO-LT-01", Kind: immy.KindPortable,
		OS: "Windows 11 Pro", Tags: []string{"canary"}, Online: true,
		Attributes: map[string]string{"site": "hq"}, UPNs: []string{"john@contoso.com"},
		Software: []immy.DetectedSoftware{{Name: "Adobe Acrobat Reader DC"}},
	}
)

func TestFilterEval(t *testing.T) {
	tests := []struct {
		lang   Language
		src    string
		want   bool
		native bool
	}{
		{LanguageExpr, `computer.os startsWith "Windows 11" and "canary" in computer.tags and computer.attributes["site"] == "hq"`, true, true},
		{LanguageExpr, `computer.kind == "portable" && computer.online`, true, true},
		{LanguageExpr, `has_tag("vip")`, true, true},
		{LanguageExpr, `has_tag("nope")`, false, true},
		{LanguageExpr, `installed("adobe acrobat*")`, true, true},
		{LanguageExpr, `installed("7-Zip*")`, false, true},
		{LanguageExpr, `tenant.name == "Contoso" and "vip" in tenant.tags`, true, true},
		{LanguageExpr, `computer.attributes["missing"] == ""`, true, true},
		{LanguageExpr, `"site" in computer.attributes and not ("room" in computer.attributes)`, true, true},
		{LanguageExpr, `lower(computer.name) contains "lt"`, true, true},
		{LanguageExpr, `computer.os matches "^Windows 1[01]"`, true, true},
		{LanguageExpr, `computer.kind in ["server", "portable"]`, true, true},
		{LanguageExpr, `len(computer.tags) == 1`, true, true},
		{LanguageExpr, `len(computer.upns) == 0 and len(tenant.tags) >= 1`, false, true},
		{LanguageExpr, `len(computer.name) == 13`, true, true},
		{LanguageExpr, `any(computer.upns, # endsWith "@contoso.com")`, true, true},
		{LanguageExpr, `int(split(computer.name, "-")[2]) == 1 and count(computer.tags, lower(#) == "canary") >= 1`, true, true},
		{LanguageExpr, `float(len(computer.name)) > 1.5`, true, false},
		{LanguageLua, `return starts_with(computer.os, "Windows 11") and contains(computer.tags, "canary") and computer.attributes.site == "hq"`, true, true},
		{LanguageLua, `return computer.attributes.missing == nil`, true, true},
		{LanguageLua, `return computer.attributes.missing ~= ""`, true, true},
		{LanguageLua, `return has_tag("vip") and not installed("7-Zip*")`, true, true},
		{LanguageLua, `return computer.os:lower() == "windows 11 pro"`, true, true},
		{LanguageLua, `return tenant.id == "contoso"`, true, true},
		{LanguageLua, "local n = 0\nfor _, t in ipairs(computer.tags) do n = n + 1 end\nreturn n == 1", true, true},
		{LanguageLua, `return #computer.upns == 1`, true, true},
		{LanguageLua, `if computer.online then return true end return false`, true, true},
		{LanguageLua, `local function f() return true end return f()`, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.lang.String()+" "+tc.src, func(t *testing.T) {
			f, err := Compile(tc.lang, tc.src)
			require.NoError(t, err)
			require.Equal(t, tc.native, f.Native(), "Native")
			require.Equal(t, tc.lang, f.Language())
			require.Equal(t, tc.src, f.Source())
			got, err := f.Eval(longCtx(t), Env{Computer: testComputer, Tenant: testTenant})
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
			vm, err := f.evalVM(longCtx(t), testComputer, testTenant)
			require.NoError(t, err)
			require.Equal(t, tc.want, vm, "VM")
		})
	}
}

func TestCompileErrors(t *testing.T) {
	long := strings.Repeat(`computer.os == "x" and `, 5) + `computer.nope == "y"`
	tests := []struct {
		lang Language
		src  string
		want CompileError
	}{
		{LanguageExpr, `computer.os`, CompileError{Line: 1, Column: 1, Snippet: "computer.os", Msg: "expected bool, but got string"}},
		{LanguageExpr, `computer.os ==`, CompileError{Line: 1, Column: 14, Snippet: "computer.os ==", Msg: "unexpected token EOF"}},
		{LanguageExpr, "computer.online and\n\tcomputer.oss", CompileError{Line: 2, Column: 11, Snippet: "computer.oss", Msg: "computer has no field oss"}},
		{LanguageExpr, `person.id == "x"`, CompileError{Line: 1, Column: 1, Snippet: `person.id == "x"`, Msg: "unknown name person"}},
		{LanguageExpr, `now() > now()`, CompileError{Line: 1, Column: 1, Snippet: "now() > now()", Msg: "unknown name now"}},
		{LanguageExpr, long, CompileError{Line: 1, Column: 125, Snippet: `... and computer.os == "x" and computer.nope == "y"`, Msg: "computer has no field nope"}},
		{LanguageExpr, "  ", CompileError{Line: 1, Column: 1, Snippet: "", Msg: "empty filter"}},
		{LanguageLua, `return computer.os ==`, CompileError{Line: 1, Column: 22, Snippet: "return computer.os ==", Msg: `syntax error near "==" at the end of the filter`}},
		{LanguageLua, "local x = 1\nreturn os.execute('id')", CompileError{Line: 2, Column: 8, Snippet: "return os.execute('id')", Msg: `unknown name "os" (the sandbox has no os)`}},
		{LanguageLua, `return require("os") ~= nil`, CompileError{Line: 1, Column: 8, Snippet: `return require("os") ~= nil`, Msg: `unknown name "require" (the sandbox has no require)`}},
		{LanguageLua, `return computer.colour == "red"`, CompileError{Line: 1, Column: 17, Snippet: `return computer.colour == "red"`, Msg: `computer has no field "colour"`}},
		{LanguageLua, `local ok = computer.online`, CompileError{Line: 1, Column: 1, Snippet: `local ok = computer.online`, Msg: "a Lua filter must return a boolean (add a return statement)"}},
		{LanguageLua, "return 1 +\n\n+", CompileError{Line: 3, Column: 1, Snippet: "+", Msg: `syntax error near "+"`}},
	}
	for _, tc := range tests {
		t.Run(tc.lang.String()+" "+tc.src, func(t *testing.T) {
			_, err := Compile(tc.lang, tc.src)
			var ce *CompileError
			require.True(t, errors.As(err, &ce), "%v", err)
			require.ErrorIs(t, err, immy.ErrInvalid)
			tc.want.Lang = tc.lang
			if diff := cmp.Diff(tc.want, *ce); diff != "" {
				t.Errorf("CompileError (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCompileErrorMessage(t *testing.T) {
	_, err := Compile(LanguageExpr, `computer.oss == "x"`)
	require.EqualError(t, err, `targets: expr filter: line 1, column 10: computer has no field oss, near "computer.oss == \"x\""`)
	_, err = Compile(Language(9), "true")
	require.ErrorIs(t, err, immy.ErrInvalid)
}

func TestFilterEvalErrors(t *testing.T) {
	ctx := context.Background()
	f, err := Compile(LanguageLua, `return computer.os`)
	require.NoError(t, err)
	_, err = f.Eval(ctx, Env{Computer: testComputer})
	require.ErrorIs(t, err, immy.ErrInvalid)
	require.ErrorContains(t, err, "returned string, want a boolean")

	f, err = Compile(LanguageExpr, `computer.tags[3] == "x"`)
	require.NoError(t, err)
	_, err = f.Eval(ctx, Env{Computer: testComputer})
	require.ErrorContains(t, err, "index out of range")

	_, err = f.Eval(ctx, Env{})
	require.ErrorIs(t, err, immy.ErrInvalid)

	// A nil tenant reads as an empty one.
	f, err = Compile(LanguageExpr, `tenant.id == "" and not has_tag("vip")`)
	require.NoError(t, err)
	ok, err := f.Eval(ctx, Env{Computer: testComputer})
	require.NoError(t, err)
	require.True(t, ok)
}

// genComputers returns varied computers for the agreement tests.
func genComputers(seed uint64, n int) ([]immy.Computer, []immy.Tenant) {
	f := genFleet(genConfig{Seed: seed, Tenants: 8, Computers: n, PersonsPerTenant: 2})
	return f.Computers, f.Tenants
}

func tenantOf(ts []immy.Tenant, id string) *immy.Tenant {
	for i := range ts {
		if ts[i].ID == id {
			return &ts[i]
		}
	}
	return nil
}

// exprGen writes random expr filters over the environment, mostly in the
// subset the closures compile.
type exprGen struct{ r *rand.Rand }

var genLiterals = []string{`"Windows"`, `"Windows 11"`, `"hq"`, `"HQ"`, `""`, `"canary"`, `"server"`, `"t0001"`, `"Pro"`}

func (g exprGen) str(depth int) string {
	r := g.r
	if depth <= 0 {
		return pick(r, genLiterals)
	}
	switch r.IntN(10) {
	case 0, 1:
		return "computer." + pick(r, []string{"id", "name", "tenant", "kind", "os", "serial", "manufacturer", "model", "onboarding"})
	case 2:
		return "tenant." + pick(r, []string{"id", "name", "parent"})
	case 3:
		return pick(r, []string{`computer.attributes["site"]`, `computer.attributes.site`, `computer.attributes["room"]`})
	case 4:
		return "computer.attributes[" + g.str(depth-1) + "]"
	case 5:
		return pick(r, []string{"lower", "upper", "trim"}) + "(" + g.str(depth-1) + ")"
	case 6:
		return "(" + g.str(depth-1) + " + " + g.str(depth-1) + ")"
	case 7:
		return "(" + g.bool(depth-1) + " ? " + g.str(depth-1) + " : " + g.str(depth-1) + ")"
	}
	return pick(r, genLiterals)
}

func (g exprGen) bool(depth int) string {
	r := g.r
	if depth <= 0 {
		return pick(r, []string{"true", "false", "computer.online"})
	}
	switch r.IntN(19) {
	case 0:
		return "computer.online"
	case 1, 2:
		return "(" + g.str(depth-1) + " " + pick(r, []string{"==", "!=", "<", ">=", "startsWith", "endsWith", "contains"}) + " " + g.str(depth-1) + ")"
	case 3:
		return "(" + g.str(depth-1) + " in " + pick(r, []string{"computer.tags", "tenant.tags", "computer.upns", "computer.device_groups", "computer.attributes"}) + ")"
	case 4:
		return "(" + g.str(depth-1) + ` in ["hq", "HQ", "Windows 11 Pro", "server", "a", "b", "c", "d", "e", "f"])`
	case 5:
		return pick(r, []string{"has_tag", "installed"}) + "(" + pick(r, []string{`"vip"`, `"canary"`, `"Google*"`, `"*Edge"`, `"mozilla firefox (x64 ??-US)"`}) + ")"
	case 6:
		return "has_tag(" + g.str(depth-1) + ")"
	case 7:
		return "not (" + g.bool(depth-1) + ")"
	case 8, 9:
		return "(" + g.bool(depth-1) + " " + pick(r, []string{"and", "or", "&&", "||"}) + " " + g.bool(depth-1) + ")"
	case 10:
		return "(" + g.bool(depth-1) + " == " + g.bool(depth-1) + ")"
	case 11:
		return "(" + g.str(depth-1) + ` matches "^[A-Z]")`
	case 12:
		return "(len(" + pick(r, []string{"computer.tags", "tenant.tags", "computer.upns", "computer.device_groups"}) + ") " +
			pick(r, []string{"==", "!=", "<", "<=", ">", ">="}) + " " + pick(r, []string{"0", "1", "2"}) + ")"
	case 13:
		// Outside the subset: the VM runs it.
		return `(float(len(computer.upns)) > 0.5)`
	case 14, 15, 16:
		return g.quantified(depth)
	}
	return pick(r, []string{"true", "false"})
}

// genIntStrings are strings int() reads, and some it does not.
var genIntStrings = []string{`"16"`, `"-3"`, `" 8"`, `"0x10"`, `"2019"`, `""`, `"1.5"`, `"+4"`}

// integer writes an integer expression; int of a string that is not a
// number is the VM's error, which the closures leave to it.
func (g exprGen) integer(depth int) string {
	r := g.r
	if depth <= 0 {
		return pick(r, []string{"0", "1", "2", "16", "-1", "2019"})
	}
	switch r.IntN(6) {
	case 0:
		if r.IntN(3) == 0 { // mostly not numbers
			return "int(" + pick(r, append([]string{`computer.attributes["ram_gb"]`, "computer.os", `split(computer.os, " ")[2]`}, genIntStrings...)) + ")"
		}
		return "int(" + pick(r, []string{`split(computer.name, "-")[-1]`, `split(computer.os, " ")[1]`, `"16"`, `"2019"`, `"-3"`}) + ")"
	case 1:
		return "len(" + g.str(depth-1) + ")"
	case 2:
		return "len(" + pick(r, []string{"computer.tags", "computer.upns", `split(computer.os, " ")`}) + ")"
	case 3:
		return "count(" + g.list() + ", " + g.pred(depth-1) + ")"
	}
	return pick(r, []string{"0", "1", "2", "16"})
}

func (g exprGen) list() string {
	return pick(g.r, []string{"computer.tags", "tenant.tags", "computer.upns", "computer.device_groups", `split(computer.os, " ")`, `split(computer.name, "-")`})
}

// pred writes a predicate's body over the element #.
func (g exprGen) pred(depth int) string {
	r := g.r
	elem := pick(r, []string{"#", "lower(#)", "upper(#)", "trim(#)"})
	switch r.IntN(6) {
	case 0:
		return elem + " " + pick(r, []string{"==", "!=", "startsWith", "endsWith", "contains"}) + " " + pick(r, append(genLiterals, `"@t0003.example"`, `"rmm-"`, `"@contoso.com"`, `"ⱥ@contoso.com"`, `"i@contoso.com"`, `"k"`, `"ss"`))
	case 1:
		return elem + " " + pick(r, []string{"==", "<", "startsWith"}) + " " + g.str(1)
	case 2:
		return elem + ` in ["canary", "lab", "Windows", "11"]`
	case 3:
		return "not (" + elem + ` matches "^[a-z]+$")`
	case 4:
		return "(" + elem + ` endsWith "x" or ` + pick(r, []string{"computer.online", `has_tag("vip")`, `computer.kind == "server"`}) + ")"
	}
	return elem + " in computer.tags"
}

// quantified writes a quantifier or an integer comparison.
func (g exprGen) quantified(depth int) string {
	r := g.r
	if r.IntN(2) == 0 {
		return pick(r, []string{"any", "all", "none", "one"}) + "(" + g.list() + ", " + g.pred(depth-1) + ")"
	}
	return "(" + g.integer(depth-1) + " " + pick(r, []string{"==", "!=", "<", "<=", ">", ">="}) + " " + g.integer(depth-1) + ")"
}

// The closures compiled from expr agree with expr's VM on generated filters
// and computers.
func TestExprNativeAgreesWithVM(t *testing.T) {
	cs, ts := genComputers(7, 200)
	cs = append(cs, caseFoldComputers(ts[0].ID)...)
	g := exprGen{r: rand.New(rand.NewPCG(7, 7))}
	native, fallible, gaveUp := 0, 0, 0
	const n = 400
	for range n {
		src := g.bool(4)
		f, err := Compile(LanguageExpr, src)
		require.NoError(t, err, src)
		if !f.Native() {
			continue
		}
		native++
		for i := range cs {
			tn := tenantOf(ts, cs[i].Tenant)
			want, err := f.evalVM(context.Background(), &cs[i], tn)
			got, decided := f.evalNative(&cs[i], tn)
			if !decided {
				// Eval runs the VM: int of a string that is none, or a
				// part the VM folds away (x or true).
				gaveUp++
				continue
			}
			if f.decide != nil {
				fallible++
			}
			require.NoError(t, err, src)
			require.Equal(t, want, got, "filter %s on computer %+v", src, cs[i])
		}
	}
	t.Logf("%d of %d filters compiled; runs that may give up: %d decided, %d left to the VM", native, n, fallible, gaveUp)
	require.Greater(t, native, n*3/4, "most generated filters should compile to closures")
	require.Positive(t, gaveUp, "some runs should be left to the VM (int of a string that is none)")
	require.Greater(t, fallible, gaveUp, "most runs of the closures that may give up decide")
}

// luaGen writes random Lua filters, mostly single boolean returns.
type luaGen struct{ r *rand.Rand }

var genLuaLiterals = []string{`"Windows"`, `"Windows 11"`, `"hq"`, `"HQ"`, `""`, `"canary"`, `"server"`, `"t0001"`}

func (g luaGen) str(depth int) string {
	r := g.r
	switch r.IntN(8) {
	case 0, 1:
		return "computer." + pick(r, []string{"id", "name", "tenant", "kind", "os", "serial", "onboarding"})
	case 2:
		return "tenant." + pick(r, []string{"id", "name", "parent"})
	case 3:
		return pick(r, []string{`computer.attributes.site`, `computer.attributes["site"]`, `computer.attributes.room`})
	case 4:
		if depth > 0 {
			return pick(r, []string{"computer.os", "computer.name", `("MiXeD")`}) + ":" + pick(r, []string{"lower", "upper"}) + "()"
		}
	case 5:
		if depth > 0 {
			return "string." + pick(r, []string{"lower", "upper"}) + "(computer.kind)"
		}
	}
	return pick(r, genLuaLiterals)
}

func (g luaGen) bool(depth int) string {
	r := g.r
	if depth <= 0 {
		return pick(r, []string{"true", "false", "computer.online"})
	}
	switch r.IntN(11) {
	case 0:
		return "computer.online"
	case 1, 2:
		return "(" + g.str(depth-1) + " " + pick(r, []string{"==", "~="}) + " " + g.str(depth-1) + ")"
	case 3:
		return pick(r, []string{"starts_with", "ends_with"}) + "(" + g.str(depth-1) + ", " + pick(r, genLuaLiterals) + ")"
	case 4:
		return "contains(" + pick(r, []string{"computer.tags", "tenant.tags", "computer.upns"}) + ", " + g.str(depth-1) + ")"
	case 5:
		return pick(r, []string{"has_tag", "installed"}) + "(" + pick(r, []string{`"vip"`, `"canary"`, `"Google*"`}) + ")"
	case 6:
		return "not " + g.bool(depth-1)
	case 7, 8:
		return "(" + g.bool(depth-1) + " " + pick(r, []string{"and", "or"}) + " " + g.bool(depth-1) + ")"
	case 9:
		return "(" + g.bool(depth-1) + " == " + g.bool(depth-1) + ")"
	}
	return "(#computer.tags > 0)" // outside the subset
}

// The closures compiled from Lua agree with the sandboxed VM on generated
// filters and computers.
func TestLuaNativeAgreesWithVM(t *testing.T) {
	cs, ts := genComputers(8, 100)
	cs = append(cs, caseFoldComputers(ts[0].ID)...)
	g := luaGen{r: rand.New(rand.NewPCG(8, 8))}
	native := 0
	const n = 200
	for range n {
		src := "return " + g.bool(3)
		f, err := Compile(LanguageLua, src)
		require.NoError(t, err, src)
		if !f.Native() {
			continue
		}
		native++
		for i := range cs {
			tn := tenantOf(ts, cs[i].Tenant)
			want, err := f.evalVM(longCtx(t), &cs[i], tn)
			require.NoError(t, err, src)
			got, decided := f.evalNative(&cs[i], tn)
			require.True(t, decided, src)
			require.Equal(t, want, got, "filter %s on computer %+v", src, cs[i])
		}
	}
	require.Greater(t, native, n*2/3, "most generated filters should compile to closures")
}

func TestMatchGlob(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"Adobe Acrobat*", "Adobe Acrobat Reader DC", true},
		{"adobe acrobat*", "ADOBE ACROBAT READER DC", true},
		{"*Reader*", "Adobe Acrobat Reader DC", true},
		{"*Reader", "Adobe Acrobat Reader DC", false},
		{"7-Zip ?? (x64)", "7-Zip 23 (x64)", true},
		{"7-Zip ?? (x64)", "7-Zip 2 (x64)", false},
		{"*", "", true},
		{"", "", true},
		{"", "x", false},
		{"a*b*c", "aXXbYYc", true},
		{"a*b*c", "aXXbYY", false},
		{"Ünïcode*", "üNÏCODE thing", true},
		{"?", "é", true},
		{"Microsoft Visual C++ 2015-2022 Redistributable (x64)*", "Microsoft Visual C++ 2015-2022 Redistributable (x64) - 14.38.33130", true},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, MatchGlob(tc.pattern, tc.name), "MatchGlob(%q, %q)", tc.pattern, tc.name)
	}
}

func TestCut(t *testing.T) {
	line := strings.Repeat("abcdefghij", 10)
	got := cut(line, 50)
	require.True(t, strings.HasPrefix(got, "...") && strings.HasSuffix(got, "..."), got)
	require.Equal(t, snippetWidth+6, len(got))
	require.Equal(t, "short", cut("  short", 3))
	require.Equal(t, fmt.Sprint(len([]rune(cut(strings.Repeat("é", 100), 1)))), fmt.Sprint(snippetWidth+3))
}

// longCtx is a context with a deadline of its own, long enough for a Lua
// filter's VM on a loaded machine under the race detector (without one, a
// run gets DefaultLuaTimeout).
func longCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	t.Cleanup(cancel)
	return ctx
}
