package targets

import (
	"context"
	"errors"
	"testing"
	"unicode/utf8"
)

// checkCompile asserts what Compile promises for any input: no panic, and
// every failure a *CompileError positioned inside the source.
func checkCompile(t *testing.T, lang Language, src string) *Filter {
	f, err := Compile(lang, src)
	if err == nil {
		return f
	}
	var ce *CompileError
	if !errors.As(err, &ce) {
		t.Fatalf("Compile(%q): %T %v, want a *CompileError", src, err, err)
	}
	if ce.Line < 1 || ce.Column < 1 || ce.Msg == "" {
		t.Fatalf("Compile(%q): unpositioned error %+v", src, ce)
	}
	if ce.Lang != lang {
		t.Fatalf("Compile(%q): language %s, want %s", src, ce.Lang, lang)
	}
	if utf8.ValidString(src) && utf8.RuneCountInString(ce.Snippet) > snippetWidth+6 {
		t.Fatalf("Compile(%q): snippet %q longer than %d", src, ce.Snippet, snippetWidth+6)
	}
	return nil
}

func FuzzCompileExpr(f *testing.F) {
	for _, s := range []string{
		`computer.os startsWith "Windows 11" and "canary" in computer.tags and computer.attributes["site"] == "hq"`,
		`has_tag("vip") or installed("Adobe*")`,
		`computer.kind in ["server", "portable"] ? computer.online : false`,
		`len(computer.tags) > 1 && all(computer.upns, # endsWith "@x")`,
		`len(computer.upns) == 0 or len(tenant.tags) >= 2`,
		`computer.os ==`, `"`, `computer.`, `1 +`, "a\nb\n(", `repeat("x", 100000000) == ""`, `let a = "x"; let b = a + a; b == ""`, `any(computer.tags, {all(computer.upns, {# == ""})})`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		flt := checkCompile(t, LanguageExpr, src)
		if flt == nil {
			return
		}
		// A compiled filter runs without panicking, natively and in the VM,
		// and both agree.
		got, err := flt.Eval(context.Background(), Env{Computer: testComputer, Tenant: testTenant})
		vm, vmErr := flt.evalVM(context.Background(), testComputer, testTenant)
		if flt.Native() && (err != nil || vmErr != nil || got != vm) {
			t.Fatalf("%q: native %v %v, VM %v %v", src, got, err, vm, vmErr)
		}
	})
}

func FuzzCompileLua(f *testing.F) {
	for _, s := range []string{
		`return starts_with(computer.os, "Windows 11") and contains(computer.tags, "canary") and computer.attributes.site == "hq"`,
		`local n = 0 for _, t in ipairs(computer.tags) do n = n + 1 end return n > 0`,
		`if has_tag("vip") then return true else return installed("Adobe*") end`,
		`return computer.os:lower() == "windows"`,
		`return os.execute("id")`, `return (`, `x = = 1`, `goto nowhere`, "--[[", `return "\q"`, `::a:: ::a:: return true`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		flt := checkCompile(t, LanguageLua, src)
		if flt == nil || !flt.Native() {
			// Arbitrary Lua is not run here: time is bounded by the deadline
			// (see the sandbox tests) but memory is not.
			return
		}
		got, decided := flt.evalNative(testComputer, testTenant)
		if !decided {
			return // left to the VM: what it says is the answer
		}
		vm, err := flt.evalVM(longCtx(t), testComputer, testTenant)
		if err != nil || got != vm {
			t.Fatalf("%q: native %v, VM %v %v", src, got, vm, err)
		}
	})
}
