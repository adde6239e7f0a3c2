package targets

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
)

// luaProgGen writes random Lua filters of several statements, in the forms
// the compiled path takes (locals, if, numeric and generic for, while,
// string functions, #, tonumber, constant tables) and some it does not,
// with values of every type, so that runs also end in errors the VM
// reports.
type luaProgGen struct {
	r     *rand.Rand
	vars  []string // locals in scope
	n     int
	loops int // loops around the current block
}

var (
	genLuaStrings  = []string{`"ⱥ@contoso.com"`, `"İ"`, `"Windows"`, `"Windows 11"`, `"hq"`, `""`, `"canary"`, `"server"`, `"Pro"`, `"@contoso.com"`, `"16"`, `" 8 "`, `"0x10"`, `"1.5"`, `"x"`}
	genLuaPatterns = []string{`"^Windows"`, `"%d+"`, `"(%d+)"`, `"Server (%d+)"`, `"^(%a+)"`, `"[%w-]+$"`, `"()o"`, `"%s"`, `"a*"`, `"[a"`, `"(()"`, `"%"`, `".-x"`, `"Pro"`, `"@"`}
	genLuaNumbers  = []string{"0", "1", "2", "3", "-1", "-3", "16", "1.5", "2019", "0x10", "1e2"}
)

func (g *luaProgGen) pick(s []string) string { return s[g.r.IntN(len(s))] }

// value writes an expression of any type.
func (g *luaProgGen) value(depth int) string {
	r := g.r
	if depth <= 0 {
		switch r.IntN(6) {
		case 0:
			return g.pick(genLuaStrings)
		case 1:
			return g.pick(genLuaNumbers)
		case 2:
			if len(g.vars) > 0 {
				return g.pick(g.vars)
			}
		case 3:
			return "computer." + g.pick([]string{"os", "name", "kind", "model", "manufacturer", "online", "tenant"})
		case 4:
			return "computer.attributes." + g.pick([]string{"site", "ram_gb", "missing"})
		}
		return g.pick([]string{"nil", "true", "false"})
	}
	switch r.IntN(16) {
	case 0:
		return g.str(depth)
	case 1:
		return g.num(depth)
	case 2:
		return g.cond(depth)
	case 3:
		return "(" + g.left(g.value(depth-1)) + " " + g.pick([]string{"and", "or"}) + " " + g.value(depth-1) + ")"
	case 4:
		return "tonumber(" + g.value(depth-1) + ")"
	case 5:
		return g.pick([]string{"computer.tags", "computer.upns", "tenant.tags", "computer.device_groups"}) + "[" + g.num(depth-1) + "]"
	case 6:
		return g.pick([]string{`{"a", "b", "hq"}`, `{["canary"] = true, ["lab"] = 1}`, `{}`, "computer.tags", "computer.attributes"})
	case 7:
		return g.pick([]string{`({["canary"] = true, ["hq"] = "x"})`, `({"canary", "hq"})`, `({["hq"] = 1, ["hq"] = true})`}) + "[" + g.value(depth-1) + "]"
	case 8:
		return "computer.attributes[" + g.value(depth-1) + "]"
	}
	return g.value(0)
}

// str writes an expression that is usually a string.
func (g *luaProgGen) str(depth int) string {
	r := g.r
	if depth <= 0 {
		return g.value(0)
	}
	x := g.value(depth - 1)
	if r.IntN(3) == 0 {
		x = "computer." + g.pick([]string{"os", "name", "model", "kind"})
	}
	switch r.IntN(11) {
	case 9:
		// sub of a converted string, as in u:lower():sub(-#domain) == domain
		return "string." + g.pick([]string{"lower", "upper"}) + "(" + x + "):sub(" + g.num(depth-1) + ")"
	case 10:
		return "(" + x + "):" + g.pick([]string{"lower", "upper"}) + "():sub(" + g.num(depth-1) + ", " + g.num(depth-1) + ")"
	case 0:
		return "string." + g.pick([]string{"lower", "upper"}) + "(" + x + ")"
	case 1:
		return "(" + x + "):" + g.pick([]string{"lower", "upper"}) + "()"
	case 2:
		return "string.sub(" + x + ", " + g.num(depth-1) + ")"
	case 3:
		return "(" + x + "):sub(" + g.num(depth-1) + ", " + g.num(depth-1) + ")"
	case 4:
		return "string.match(" + x + ", " + g.pick(genLuaPatterns) + ")"
	case 5:
		return "(" + x + "):match(" + g.pick(genLuaPatterns) + ", " + g.num(depth-1) + ")"
	case 6:
		return "(" + x + " .. " + g.str(depth-1) + ")"
	case 7:
		return "(" + g.left(g.value(depth-1)) + " or " + g.pick(genLuaStrings) + ")"
	}
	return x
}

// num writes an expression that is usually a number.
func (g *luaProgGen) num(depth int) string {
	r := g.r
	if depth <= 0 {
		return g.pick(genLuaNumbers)
	}
	switch r.IntN(8) {
	case 0:
		return "#" + g.pick([]string{"computer.tags", "computer.upns", "computer.name", `{"a", "b"}`, `{a = 1}`}) + ""
	case 1:
		return "#" + g.str(depth-1)
	case 2:
		return "(" + g.num(depth-1) + " " + g.pick([]string{"+", "-", "*", "/", "%"}) + " " + g.num(depth-1) + ")"
	case 3:
		return "string.find(" + g.str(depth-1) + ", " + g.pick(append(genLuaPatterns, genLuaStrings...)) + ")"
	case 4:
		return "(" + g.str(depth-1) + "):find(" + g.pick(genLuaStrings) + ", " + g.num(depth-1) + ", " + g.pick([]string{"true", "false", "nil"}) + ")"
	case 5:
		return "(tonumber(" + g.str(depth-1) + ") or " + g.pick(genLuaNumbers) + ")"
	case 6:
		return "-" + g.num(depth-1)
	}
	return g.pick(genLuaNumbers)
}

// cond writes an expression that is usually a boolean.
func (g *luaProgGen) cond(depth int) string {
	r := g.r
	if depth <= 0 {
		return g.pick([]string{"true", "false", "computer.online"})
	}
	switch r.IntN(10) {
	case 0:
		return "(" + g.str(depth-1) + " " + g.pick([]string{"==", "~="}) + " " + g.str(depth-1) + ")"
	case 1:
		return "(" + g.num(depth-1) + " " + g.pick([]string{"<", "<=", ">", ">=", "==", "~="}) + " " + g.num(depth-1) + ")"
	case 2:
		return "(" + g.value(depth-1) + " " + g.pick([]string{"<", "==", "~=", ">="}) + " " + g.value(depth-1) + ")"
	case 3:
		return g.pick([]string{"starts_with", "ends_with"}) + "(" + g.str(depth-1) + ", " + g.str(depth-1) + ")"
	case 4:
		return "contains(" + g.pick([]string{"computer.tags", "computer.upns", "tenant.tags", `{"canary", "hq"}`, "computer.attributes"}) + ", " + g.value(depth-1) + ")"
	case 5:
		return g.pick([]string{"has_tag", "installed"}) + "(" + g.pick([]string{`"vip"`, `"canary"`, `"Google*"`, `"Adobe*"`, "computer.kind", "1"}) + ")"
	case 6:
		return "not " + g.value(depth-1)
	case 7:
		return "(" + g.left(g.cond(depth-1)) + " " + g.pick([]string{"and", "or"}) + " " + g.cond(depth-1) + ")"
	case 8:
		return "(" + g.str(depth-1) + " == nil)"
	}
	return "computer.online"
}

// left keeps most left operands of and and or from being literals, which
// the compiled path leaves to the VM (see luaLiteral).
func (g *luaProgGen) left(x string) string {
	if g.r.IntN(8) != 0 && (x == "true" || x == "false" || x == "nil" || strings.HasPrefix(x, `"`) || slices.Contains(genLuaNumbers, x)) {
		return "computer.online"
	}
	return x
}

func (g *luaProgGen) local() string {
	g.n++
	name := fmt.Sprintf("v%d", g.n)
	g.vars = append(g.vars, name)
	return name
}

// block writes statements, the last one maybe a return; it reports
// whether it wrote one.
func (g *luaProgGen) block(b *strings.Builder, depth, indent int) bool {
	r := g.r
	pad := strings.Repeat("  ", indent)
	scope := len(g.vars)
	defer func() { g.vars = g.vars[:scope] }()
	for range 1 + r.IntN(3) {
		switch x := r.IntN(10); {
		case x < 3:
			v := g.value(2)
			fmt.Fprintf(b, "%slocal %s = %s\n", pad, g.local(), v)
		case x < 4 && len(g.vars) > 0:
			fmt.Fprintf(b, "%s%s = %s\n", pad, g.pick(g.vars), g.value(2))
		case x < 6 && depth > 0:
			fmt.Fprintf(b, "%sif %s then\n", pad, g.cond(2))
			g.block(b, depth-1, indent+1)
			if r.IntN(2) == 0 {
				fmt.Fprintf(b, "%selse\n", pad)
				g.block(b, depth-1, indent+1)
			}
			fmt.Fprintf(b, "%send\n", pad)
		case x < 7 && depth > 0:
			list := g.pick([]string{"computer.tags", "computer.upns", "tenant.tags", "computer.device_groups", `{"finance", "hr"}`, "computer.attributes", `{a = 1}`})
			k, v := g.local(), g.local()
			fmt.Fprintf(b, "%sfor %s, %s in %s(%s) do\n", pad, k, v, g.pick([]string{"ipairs", "pairs"}), list)
			g.loops++
			g.block(b, depth-1, indent+1)
			g.loops--
			fmt.Fprintf(b, "%send\n", pad)
		case x < 8 && depth > 0:
			from, to := g.num(1), g.pick([]string{"#computer.tags", "#computer.upns", "3", g.num(1)})
			fmt.Fprintf(b, "%sfor %s = %s, %s do\n", pad, g.local(), from, to)
			g.loops++
			g.block(b, depth-1, indent+1)
			g.loops--
			fmt.Fprintf(b, "%send\n", pad)
		case x < 9 && g.loops > 0:
			fmt.Fprintf(b, "%sif %s then break end\n", pad, g.cond(1))
		case x == 9:
			fmt.Fprintf(b, "%sreturn %s\n", pad, g.cond(2))
			return true
		}
	}
	return false
}

func (g *luaProgGen) program() string {
	g.vars, g.n, g.loops = g.vars[:0], 0, 0
	var b strings.Builder
	if !g.block(&b, 2, 0) {
		fmt.Fprintf(&b, "return %s\n", g.cond(2))
	}
	return b.String()
}

// luaCompiledComputers are the computers the compiled path is compared on:
// generated ones, and ones with the values that trip conversions (a
// missing attribute, numbers in strings, no lists, long texts).
func luaCompiledComputers() ([]immy.Computer, []immy.Tenant) {
	cs, ts := genComputers(9, 60)
	cs = append(cs,
		immy.Computer{ID: "odd-1", Tenant: ts[0].ID, Name: "", OS: "Windows Server 2019 Datacenter", Attributes: map[string]string{"ram_gb": " 16 ", "site": ""}},
		immy.Computer{ID: "odd-2", Tenant: "nowhere", Name: strings.Repeat("a", 300), OS: "0x1F", Tags: []string{"", "canary", "hq"},
			UPNs: []string{"A@CONTOSO.COM", "b@contoso.com"}, Attributes: map[string]string{"ram_gb": "1.5e1", "site": "hq"}},
		immy.Computer{ID: "odd-3", Tenant: ts[0].ID, Name: "x", OS: "16", Kind: immy.KindServer, Attributes: nil},
	)
	cs = append(cs, caseFoldComputers(ts[0].ID)...)
	for i := range cs {
		if i%3 == 0 {
			if cs[i].Attributes == nil {
				cs[i].Attributes = map[string]string{}
			}
			cs[i].Attributes["ram_gb"] = genLuaNumbers[i%len(genLuaNumbers)]
		}
	}
	return cs, ts
}

// checkLuaCompiled compares the compiled path with the VM on every
// computer: where the closures decide, the VM gives the same boolean and no
// error. It returns how many runs the closures decided.
func checkLuaCompiled(t testing.TB, src string, cs []immy.Computer, ts []immy.Tenant) (decided, runs int) {
	f, err := Compile(LanguageLua, src)
	if err != nil || !f.Native() {
		return 0, 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i := range cs {
		tn := tenantOf(ts, cs[i].Tenant)
		if tn == nil {
			tn = &emptyTenant
		}
		got, ok := f.evalNative(&cs[i], tn)
		runs++
		if !ok {
			continue
		}
		decided++
		want, err := f.evalVM(ctx, &cs[i], tn)
		if err != nil || got != want {
			t.Fatalf("filter:\n%s\non computer %+v: compiled %v, VM %v %v", src, cs[i], got, want, err)
		}
		// and Eval takes the compiled path's answer
		ev, err := f.Eval(ctx, Env{Computer: &cs[i], Tenant: tn})
		if err != nil || ev != got {
			t.Fatalf("filter:\n%s\nEval %v %v, compiled %v", src, ev, err, got)
		}
	}
	return decided, runs
}

// TestLuaCompiledMatchesVM pins the compiled path to the VM over generated
// programs and computers.
func TestLuaCompiledMatchesVM(t *testing.T) {
	cs, ts := luaCompiledComputers()
	g := &luaProgGen{r: rand.New(rand.NewPCG(18, 4))}
	compiled, decided, runs := 0, 0, 0
	const n = 1500
	for range n {
		src := g.program()
		d, r := checkLuaCompiled(t, src, cs, ts)
		if r > 0 {
			compiled++
		}
		decided += d
		runs += r
	}
	t.Logf("%d of %d programs compiled; the closures decided %d of their %d runs", compiled, n, decided, runs)
	require.Greater(t, compiled, n/2, "most generated programs should compile")
	require.Greater(t, decided, runs/3, "the closures should decide many runs")
}

// TestLuaCompiledForms: the forms people write compile, and those outside
// the subset do not.
func TestLuaCompiledForms(t *testing.T) {
	for src, want := range map[string]bool{
		"local os = computer.os\nif not starts_with(os, \"Windows\") then return false end\nreturn true":              true,
		"local year = tonumber(string.match(computer.os, \"Server (%d+)\"))\nreturn year ~= nil and year >= 2019":     true,
		"for i = 1, #computer.tags do if computer.tags[i] == \"x\" then return true end end return false":             true,
		"for _, u in ipairs(computer.upns) do if u:lower():sub(-4) == \".com\" then return true end end return false": true,
		"local t = {[\"a\"] = true}\nreturn t[computer.attributes.site] == true":                                      true,
		"local n = 0 while n < 3 do n = n + 1 end return n == 3":                                                      true,
		"x = 1 return x == 1":                                               true,
		"local function f() return true end return f()":                     false,
		"local t = {} t[1] = 2 return #t == 1":                              false,
		"return tonumber(computer.attributes.ram_gb, 16) == 1":              false,
		"local a, b = string.find(computer.os, \"Win\") return a == 1":      false,
		"return tonumber(string.match(computer.os, \"(%d+)%.(%d+)\")) == 1": false,
		"local s = string return s.lower(computer.os) == \"x\"":             false,
		"repeat local x = 1 until true return true":                         false,
		"return math.floor(1.5) == 1":                                       false,
		"string = 1 return true":                                            false,
	} {
		f, err := Compile(LanguageLua, src)
		require.NoError(t, err, src)
		require.Equal(t, want, f.decide != nil, src)
	}
}

// FuzzLuaCompiled: a program drawn from the fuzzer's seed, run on the
// computers by the compiled path and by the VM, agrees.
func FuzzLuaCompiled(f *testing.F) {
	for _, seed := range []uint64{1, 2, 3, 18, 42, 1 << 40} {
		f.Add(seed, uint64(7))
	}
	cs, ts := luaCompiledComputers()
	f.Fuzz(func(t *testing.T, a, b uint64) {
		g := &luaProgGen{r: rand.New(rand.NewPCG(a, b))}
		checkLuaCompiled(t, g.program(), cs, ts)
	})
}
