package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestValidateHostileFilters: the filters of issue 16 that ended the process
// with a stack overflow (500k nested parentheses in expr, `return not not
// ... true` a million times and a million nested {} in Lua) make validate
// exit 2 with each located at its line, from a file and from stdin.
func TestValidateHostileFilters(t *testing.T) {
	var b strings.Builder
	b.WriteString(`version: 1
tenants:
  - {id: contoso, name: Contoso}
computers:
  - {id: pc1, tenant: contoso, kind: workstation}
software:
  - id: app
    name: App
    detection: {display_name: "App"}
    versions: [{version: 1.0.0}]
deployments:
`)
	dep := func(id, lang, src string) {
		b.WriteString("  - id: " + id + "\n    item: app\n    target: {type: filter, " + lang + ": '" + src + "'}\n    desired: latest\n")
	}
	dep("parens", "expr", strings.Repeat("(", 500_000)+"true"+strings.Repeat(")", 500_000))
	dep("notnot", "lua", "return "+strings.Repeat("not ", 1_000_000)+"true")
	dep("braces", "lua", "return "+strings.Repeat("{", 1_000_000)+strings.Repeat("}", 1_000_000)+" == nil")
	dep("braces-small", "lua", "return "+strings.Repeat("{", 30_000)+strings.Repeat("}", 30_000)+" == nil")
	src := b.String()
	path := writeFleet(t, src)
	for name, run := range map[string]func() (int, string, string){
		"file":  func() (int, string, string) { return runCmd("validate", "-f", path) },
		"stdin": func() (int, string, string) { return runIn(src, "validate", "-f", "-") },
	} {
		t.Run(name, func(t *testing.T) {
			code, out, errs := run()
			require.Equal(t, exitInvalid, code, errs)
			require.Empty(t, out)
			for _, want := range []string{
				`:14: deployment "parens": target.expr: expr filter: line 1, column 1: filter is 1000004 bytes, longer than the limit of 65536`,
				`:18: deployment "notnot": target.lua: lua filter: line 1, column 1: filter is 4000011 bytes, longer than the limit of 65536`,
				`:22: deployment "braces": target.lua: lua filter: line 1, column 1: filter is 2000014 bytes, longer than the limit of 65536`,
				`:26: deployment "braces-small": target.lua: lua filter: line 1, column 108: nested deeper than the limit of 100`,
			} {
				require.Contains(t, errs, want)
			}
		})
	}
}
