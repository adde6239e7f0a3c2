package targets

import (
	"fmt"
	"strings"
	"testing"

	"github.com/immyoss/engine/immy"
)

// caseFoldStrings are strings whose case conversion is not byte for byte:
// runes that convert to a different length (İ to i, Ⱥ to ⱥ), to ASCII (the
// Kelvin sign to k), that have no single-rune upper case (ß), invalid UTF-8
// (a lone byte, a cut rune before ASCII), and plain ASCII of both cases.
var caseFoldStrings = []string{
	"", "a", "A", "@contoso.com", "A@CONTOSO.COM", "b@Contoso.Com", "MSP-PC-001", "msp-pc-001",
	"İ@contoso.com", "x@İ.com", "Ⱥ@contoso.com", "ⱥ@CONTOSO.COM", "\u212a@contoso.com", "K\u212a",
	"straße", "STRASSE", "ß", "\xff@contoso.com", "x@contoso.co\xff", "\xe2a@contoso.com", "\xe2",
	"contoso.comİ", "İİİ", "ⱥⱥ", "Ⱥ", "\u0130", "i\u0307", "ǅ", "ǆ", "Ǆ", "ﬃ", "ΣΑΣ", "σας",
}

// caseFoldComputers are computers whose strings and lists hold
// caseFoldStrings: the agreement tests run the closures against the VMs on
// them too.
func caseFoldComputers(tenant string) []immy.Computer {
	var out []immy.Computer
	for i, s := range caseFoldStrings {
		next := caseFoldStrings[(i+1)%len(caseFoldStrings)]
		out = append(out, immy.Computer{
			ID: "fold-" + s, Tenant: tenant, Name: s, OS: "Windows 11 " + s, Model: next, Manufacturer: s,
			Kind: immy.KindWorkstation, UPNs: []string{s, next, s + "@contoso.com"}, Tags: []string{s, "canary"},
			DeviceGroups: []string{next}, Attributes: map[string]string{"site": s},
		})
	}
	return out
}

// The comparisons of a converted string agree with converting it, on every
// pair of the strings above and their pieces.
func TestCaseFoldMatchesConvert(t *testing.T) {
	var ks []string
	for _, s := range caseFoldStrings {
		for _, upper := range []bool{false, true} {
			c := caseConv(upper)(s)
			ks = append(ks, s, c)
			for i := range len(c) + 1 {
				ks = append(ks, c[:i], c[i:])
			}
		}
	}
	for _, s := range caseFoldStrings {
		for _, k := range ks {
			checkCaseFold(t, s, k)
		}
	}
}

func checkCaseFold(t *testing.T, s, k string) {
	t.Helper()
	for _, upper := range []bool{false, true} {
		c := caseConv(upper)(s)
		if got, want := convHasPrefix(s, k, upper), strings.HasPrefix(c, k); got != want {
			t.Fatalf("convHasPrefix(%q, %q, upper %v) = %v, want %v", s, k, upper, got, want)
		}
		if got, want := convHasSuffix(s, k, upper), strings.HasSuffix(c, k); got != want {
			t.Fatalf("convHasSuffix(%q, %q, upper %v) = %v, want %v", s, k, upper, got, want)
		}
		if got, want := convEqual(s, k, upper), c == k; got != want {
			t.Fatalf("convEqual(%q, %q, upper %v) = %v, want %v", s, k, upper, got, want)
		}
		for _, ij := range [][2]int{{1, 1}, {1, 2}, {1, 3}, {2, 5}, {3, 2}, {1, 100}, {5, 100}, {-1, -1}, {-2, -1}, {-4, -1}, {-13, -1}, {-100, -1}, {-3, -2}, {0, 3}, {2, -1}} {
			if got, want := convSub(s, ij[0], ij[1], upper), luaSub(c, ij[0], ij[1]); got != want {
				t.Fatalf("convSub(%q, %d, %d, upper %v) = %q, want %q", s, ij[0], ij[1], upper, got, want)
			}
		}
	}
}

func FuzzCaseFold(f *testing.F) {
	for i, s := range caseFoldStrings {
		f.Add(s, caseFoldStrings[(i+3)%len(caseFoldStrings)])
	}
	f.Fuzz(func(t *testing.T, s, k string) {
		checkCaseFold(t, s, k)
		checkCaseFold(t, s, strings.ToLower(s))
		checkCaseFold(t, s, strings.ToUpper(k))
	})
}

// A compiled sub of a converted string (which converts only what it keeps)
// agrees with the same sub of the string converted first, and with the VM,
// on every computer, caseFoldComputers among them.
func TestLuaConvSubMatchesVM(t *testing.T) {
	cs, ts := luaCompiledComputers()
	for _, field := range []string{"computer.name", "computer.model", "(computer.upns[1] or \"\")", "computer.os"} {
		for _, conv := range []string{"lower", "upper"} {
			for _, ij := range []string{"1", "-1", "-3", "-13", "1, 1", "1, 3", "2, 5", "3, 2", "-4, -1", "-3, -2", "0, 3", "2, -1", "1, 100", "-100"} {
				src := fmt.Sprintf("local s = string.%s(%s)\nreturn s:sub(%s) == string.%s(%s):sub(%s) and %s:%s():sub(%s) == s:sub(%s)",
					conv, field, ij, conv, field, ij, field, conv, ij, ij)
				decided, runs := checkLuaCompiled(t, src, cs, ts)
				if runs == 0 || decided != runs {
					t.Fatalf("%s: the closures decided %d of %d runs, want all", src, decided, runs)
				}
			}
		}
	}
}
