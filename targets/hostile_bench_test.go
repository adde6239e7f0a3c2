package targets_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/fleetfile"
	"github.com/immyoss/engine/targets"
)

// hostileFleetFile is a fleet file with the filters of issue 16 that ended
// the process with a stack overflow: 500k nested parentheses in expr,
// `return not not ... true` a million times and a million nested {} in Lua;
// and the same shapes within the size bound, stopped by their depth.
func hostileFleetFile() []byte {
	var b strings.Builder
	b.WriteString(`version: 1
tenants:
  - {id: contoso, name: Contoso}
computers:
  - {id: pc1, tenant: contoso, kind: workstation}
software:
  - id: app-a
    name: App A
    detection: {display_name: "App A"}
    versions: [{version: 1.0.0}]
deployments:
`)
	dep := func(id, lang, src string) {
		b.WriteString("  - id: " + id + "\n    item: app-a\n    target: {type: filter, " + lang + ": '" + src + "'}\n    desired: latest\n")
	}
	dep("parens", "expr", strings.Repeat("(", 500_000)+"true"+strings.Repeat(")", 500_000))
	dep("notnot", "lua", "return "+strings.Repeat("not ", 1_000_000)+"true")
	dep("braces", "lua", "return "+strings.Repeat("{", 1_000_000)+strings.Repeat("}", 1_000_000)+" == nil")
	dep("parens-small", "expr", strings.Repeat("(", 30_000)+"true"+strings.Repeat(")", 30_000))
	dep("notnot-small", "lua", "return "+strings.Repeat("not ", 15_000)+"true")
	dep("braces-small", "lua", "return "+strings.Repeat("{", 30_000)+strings.Repeat("}", 30_000)+" == nil")
	return []byte(b.String())
}

var hostileConfig = fleetfile.Config{Checks: []fleetfile.Check{
	func(f *fleetfile.File) immy.Problems { return targets.CheckFilters(f.Fleet) },
}}

// TestValidateHostileFleetFile checks that loading and validating the
// hostile fleet file reports each filter at its line, and returns.
func TestValidateHostileFleetFile(t *testing.T) {
	_, err := hostileConfig.LoadBytes("hostile.yaml", hostileFleetFile())
	var ps immy.Problems
	if !errorsAs(err, &ps) {
		t.Fatalf("want problems, got %v", err)
	}
	var got []string
	for _, p := range ps {
		msg := p.Error()
		if i := strings.Index(msg, ", near"); i >= 0 {
			msg = msg[:i]
		}
		got = append(got, msg)
	}
	want := []string{
		`hostile.yaml:14: deployment "parens": target.expr: expr filter: line 1, column 1: filter is 1000004 bytes, longer than the limit of 65536`,
		`hostile.yaml:18: deployment "notnot": target.lua: lua filter: line 1, column 1: filter is 4000011 bytes, longer than the limit of 65536`,
		`hostile.yaml:22: deployment "braces": target.lua: lua filter: line 1, column 1: filter is 2000014 bytes, longer than the limit of 65536`,
		`hostile.yaml:26: deployment "parens-small": target.expr: expr filter: line 1, column 101: nested deeper than the limit of 100`,
		`hostile.yaml:30: deployment "notnot-small": target.lua: lua filter: line 1, column 408: nested deeper than the limit of 100`,
		`hostile.yaml:34: deployment "braces-small": target.lua: lua filter: line 1, column 108: nested deeper than the limit of 100`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// BenchmarkValidateHostileFleetFile measures what `immyctl validate` does
// with the hostile fleet file: load (YAML), validate and compile every
// filter. Issue 16 asks for under a second and a few hundred MiB.
func BenchmarkValidateHostileFleetFile(b *testing.B) {
	data := hostileFleetFile()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := hostileConfig.LoadBytes("hostile.yaml", data); err == nil {
			b.Fatal("no problems")
		}
	}
}

// BenchmarkCheckHostileFilters measures the filter check alone on the same
// filters, without the YAML.
func BenchmarkCheckHostileFilters(b *testing.B) {
	f := &immy.Fleet{}
	for _, src := range []struct{ lang, src string }{
		{"expr", strings.Repeat("(", 500_000) + "true" + strings.Repeat(")", 500_000)},
		{"lua", "return " + strings.Repeat("not ", 1_000_000) + "true"},
		{"lua", "return " + strings.Repeat("{", 1_000_000) + strings.Repeat("}", 1_000_000) + " == nil"},
		{"expr", strings.Repeat("(", 30_000) + "true" + strings.Repeat(")", 30_000)},
		{"lua", "return " + strings.Repeat("not ", 15_000) + "true"},
		{"lua", "return " + strings.Repeat("{", 30_000) + strings.Repeat("}", 30_000) + " == nil"},
	} {
		t := immy.Target{Type: immy.TargetFilter}
		if src.lang == "expr" {
			t.Expr = src.src
		} else {
			t.Lua = src.src
		}
		f.Deployments = append(f.Deployments, immy.Deployment{ID: "d" + strings.Repeat("x", len(f.Deployments)), Target: t})
	}
	b.ReportAllocs()
	for b.Loop() {
		if ps := targets.CheckFilters(f); len(ps) != 6 {
			b.Fatalf("%d problems", len(ps))
		}
	}
}

func errorsAs(err error, ps *immy.Problems) bool { return errors.As(err, ps) }
