package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy/fleetfile"
	"github.com/immyoss/engine/targets"
)

// runIn runs immyctl with stdin and returns the status, stdout and stderr.
func runIn(stdin string, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := runWithInput(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// TestStdin: -f - reads the fleet file from standard input, in every command,
// with the same result as the file; its problems name <stdin>.
func TestStdin(t *testing.T) {
	path := writeFleet(t, targetsFleet)
	for _, args := range [][]string{
		{"validate"},
		{"targets", "--deployment", "win11"},
		{"targets", "--deployment", "cloud", "--format", "json"},
		{"plan", "--computer", "contoso-lt-01"},
		{"plan", "--format", "json"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, fromFile, errs := runCmd(append(args, "-f", path)...)
			require.Equal(t, exitOK, code, errs)
			code, fromStdin, errs := runIn(targetsFleet, append(args, "-f", "-")...)
			require.Equal(t, exitOK, code, errs)
			require.Empty(t, errs)
			require.Equal(t, strings.ReplaceAll(fromFile, path, stdinName), fromStdin)
		})
	}

	bad := strings.Replace(targetsFleet, "kind: server", "kidn: server", 1)
	for _, cmd := range []string{"validate", "targets", "plan"} {
		code, out, errs := runIn(bad, cmd, "-f", "-", "--deployment", "win11")
		if cmd != "targets" {
			code, out, errs = runIn(bad, cmd, "-f", "-")
		}
		require.Equal(t, exitInvalid, code, cmd)
		require.Empty(t, out, cmd)
		require.Equal(t, `<stdin>:10: computer "contoso-srv-01": unknown key "kidn" (did you mean "kind"?)`+"\n", errs, cmd)
	}

	code, _, errs := runIn("", "validate", "-f", "-")
	require.Equal(t, exitInvalid, code)
	require.Equal(t, "<stdin>: empty file: want a fleet (version, tenants, computers, ...)\n", errs)
}

// TestAtForms: --at takes a date or an RFC 3339 time in every command that
// has it, as the file's at does, and refuses anything else the same way.
func TestAtForms(t *testing.T) {
	path := writeFleet(t, targetsFleet)
	// ag-1 runs to 2026-11-23 inclusive: a client-group target selects its
	// computers on that day and none the day after.
	tests := []struct {
		at   string
		want string
	}{
		{"2026-11-23", "contoso-lt-01\ncontoso-srv-01\n"},
		{"2026-11-23T23:59:59Z", "contoso-lt-01\ncontoso-srv-01\n"},
		{"2026-11-24T00:59:59+01:00", "contoso-lt-01\ncontoso-srv-01\n"}, // still the 23rd in UTC
		{"2026-11-24", ""},
		{"2026-11-24T00:00:00.000Z", ""},
	}
	for _, tt := range tests {
		code, out, errs := runCmd("targets", "-f", path, "--deployment", "security", "--at", tt.at)
		require.Equal(t, exitOK, code, errs)
		require.Equal(t, tt.want, out, tt.at)
	}

	// plan: the date and midnight UTC of that date give the same plan.
	_, byDate, _ := runCmd("plan", "--computer", "fabrikam-lt-01", "--at", "2027-01-15")
	code, byTime, errs := runCmd("plan", "--computer", "fabrikam-lt-01", "--at", "2027-01-15T00:00:00Z")
	require.Equal(t, exitOK, code, errs)
	require.Equal(t, byDate, byTime)
	require.Contains(t, byDate, "plan at 2027-01-15T00:00:00Z")

	for _, cmd := range [][]string{
		{"plan", "--at", "15/01/2027"},
		{"targets", "--deployment", "win11", "--at", "15/01/2027"},
	} {
		code, out, errs := runCmd(cmd...)
		require.Equal(t, exitInvalid, code)
		require.Empty(t, out)
		require.Contains(t, errs, fmt.Sprintf("immyctl %s: --at %q: want a time such as 2026-11-23T10:00:00Z or a date such as 2026-11-23\n", cmd[0], "15/01/2027"))
	}
}

// TestTargetsDisabled: a disabled deployment's target is resolved all the
// same, and marked: a note on stderr beside the text, a field in JSON.
func TestTargetsDisabled(t *testing.T) {
	src := strings.Replace(targetsFleet,
		"{id: win11, item: reader, target: {type: filter, expr: 'computer.os startsWith \"Windows 11\"'}, desired: latest}",
		"{id: win11, item: reader, target: {type: filter, expr: 'computer.os startsWith \"Windows 11\"'}, desired: latest, enabled: false}", 1)
	require.NotEqual(t, targetsFleet, src)
	path := writeFleet(t, src)
	note := `immyctl targets: deployment "win11" is disabled (enabled: false): no session uses it; shown is what its target would select` + "\n"

	code, out, errs := runCmd("targets", "-f", path, "--deployment", "win11")
	require.Equal(t, exitOK, code)
	require.Equal(t, "contoso-lt-01\n", out)
	require.Equal(t, note, errs)

	code, out, errs = runCmd("targets", "-f", path, "--deployment", "win11", "--format", "json")
	require.Equal(t, exitOK, code)
	require.Empty(t, errs)
	require.Equal(t, "{\n  \"deployment\": \"win11\",\n  \"disabled\": true,\n  \"computers\": [\n    \"contoso-lt-01\"\n  ]\n}\n", out)

	code, out, errs = runCmd("targets", "-f", path, "--deployment", "win11", "--computer", "contoso-lt-01")
	require.Equal(t, exitOK, code)
	require.True(t, strings.HasPrefix(out, `deployment "win11" selects computer "contoso-lt-01"`), out)
	require.Equal(t, note, errs)

	code, out, _ = runCmd("targets", "-f", path, "--deployment", "win11", "--computer", "contoso-lt-01", "--format", "json")
	require.Equal(t, exitOK, code)
	var e explainOutput
	require.NoError(t, json.Unmarshal([]byte(out), &e))
	require.True(t, e.Disabled)

	// The bundled fleet's disabled Wi-Fi profile.
	code, out, errs = runCmd("targets", "--deployment", "wifi-contoso-hq")
	require.Equal(t, exitOK, code)
	require.NotEmpty(t, out)
	require.Contains(t, errs, `deployment "wifi-contoso-hq" is disabled`)

	// An enabled deployment is not marked.
	code, out, errs = runCmd("targets", "-f", path, "--deployment", "everyone", "--format", "json")
	require.Equal(t, exitOK, code)
	require.Empty(t, errs)
	require.NotContains(t, out, "disabled")
	code, _, errs = runCmd("targets", "-f", path, "--deployment", "everyone")
	require.Equal(t, exitOK, code)
	require.Empty(t, errs)
}

// TestPlanTenant: --tenant plans that tenant's own computers only, with their
// totals; it combines with --computer and --explain.
func TestPlanTenant(t *testing.T) {
	code, out, errs := runCmd("plan", "--tenant", "contoso")
	require.Equal(t, exitOK, code, errs)
	require.Empty(t, errs)
	golden(t, "msp-tenant-contoso.txt", out)

	// The same blocks as the whole plan's, for exactly contoso's computers.
	f, err := loadFleet("", nil)
	require.NoError(t, err)
	_, all, _ := runCmd("plan", "--format", "json")
	var whole, part struct {
		Computers []json.RawMessage `json:"computers"`
		Totals    planTotals        `json:"totals"`
	}
	require.NoError(t, json.Unmarshal([]byte(all), &whole))
	code, js, _ := runCmd("plan", "--tenant", "contoso", "--format", "json")
	require.Equal(t, exitOK, code)
	require.NoError(t, json.Unmarshal([]byte(js), &part))
	tenantOf := map[string]string{}
	for _, c := range f.Fleet.Computers {
		tenantOf[c.ID] = c.Tenant
	}
	var want []json.RawMessage
	for _, raw := range whole.Computers {
		var c struct {
			ID string `json:"id"`
		}
		require.NoError(t, json.Unmarshal(raw, &c))
		if tenantOf[c.ID] == "contoso" {
			want = append(want, raw)
		}
	}
	require.Greater(t, len(want), 1)
	require.Empty(t, cmp.Diff(want, part.Computers))
	require.Equal(t, len(want), part.Totals.Computers)
	require.Len(t, part.Totals.Tenants, 1)
	require.Equal(t, "contoso", part.Totals.Tenants[0].Tenant)
	var contoso tenantTotals
	for _, tt := range whole.Totals.Tenants {
		if tt.Tenant == "contoso" {
			contoso = tt
		}
	}
	require.Equal(t, contoso, part.Totals.Tenants[0], "the tenant's totals are the same in the whole plan")

	tests := []struct {
		args []string
		code int
		errs string
	}{
		{[]string{"plan", "--tenant", "nope"}, exitInvalid, "immyctl plan: unknown tenant \"nope\"\n"},
		{[]string{"plan", "--tenant", "fabrikam", "--computer", "contoso-eu-lt-01"}, exitInvalid, "immyctl plan: computer \"contoso-eu-lt-01\" is of tenant \"contoso-eu\", not \"fabrikam\"\n"},
	}
	for _, tt := range tests {
		code, out, errs := runCmd(tt.args...)
		require.Equal(t, tt.code, code)
		require.Empty(t, out)
		require.Equal(t, tt.errs, errs)
	}
	code, out, errs = runCmd("plan", "--tenant", "contoso-eu", "--computer", "contoso-eu-lt-01")
	require.Equal(t, exitOK, code, errs)
	_, alone, _ := runCmd("plan", "--computer", "contoso-eu-lt-01")
	require.Equal(t, alone, out)

	code, out, errs = runCmd("plan", "--tenant", "contoso-eu", "--explain", "adobe-reader", "--format", "json")
	require.Equal(t, exitOK, code, errs)
	var ex struct {
		Computers []struct {
			Computer string `json:"computer"`
		} `json:"computers"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &ex))
	require.NotEmpty(t, ex.Computers)
	for _, c := range ex.Computers {
		require.True(t, strings.HasPrefix(c.Computer, "contoso-eu-"), c.Computer)
	}
}

// TestPlanTotals sums up a small plan whose counts are written out by hand.
func TestPlanTotals(t *testing.T) {
	src := `at: 2026-11-23T10:00:00Z
tenants:
  - {id: a, name: A}
  - {id: b, name: B}
  - {id: c, name: C}
  - {id: d, name: D}
computers:
  - {id: a1, tenant: a, kind: workstation, software: [{name: App, version: 1.0}]}
  - {id: a2, tenant: a, kind: workstation, software: [{name: Old, version: 1.0}]}
  - {id: b1, tenant: b, kind: server, software: [{name: App, version: 2.0}]}
  - {id: b2, tenant: b, kind: workstation, excluded_from_maintenance: true}
  - {id: c1, tenant: c, kind: server}
software:
  - {id: app, name: App, detection: {display_name: App}, versions: [{version: 2.0}, {version: 1.0}]}
  - {id: old, name: Old, detection: {display_name: Old}, versions: [{version: 1.0}]}
tasks:
  - {id: audit, name: Audit}
deployments:
  - {id: app-ws, item: app, target: {type: all-computers, filter: workstations}, desired: latest}
  - {id: app-srv, item: app, target: {type: all-computers, tenant: b}, desired: latest}
  - {id: old-gone, item: old, target: {type: all-computers, tenant: a}, desired: uninstalled}
  - {id: audit-a, item: audit, target: {type: all-computers, tenant: a}, mode: audit}
`
	path := writeFleet(t, src)
	code, out, errs := runCmd("plan", "-f", path, "--format", "json")
	require.Equal(t, exitOK, code, errs)
	var got struct {
		Totals planTotals `json:"totals"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	// a1: update app, none old (absent), task-audit; a2: install app,
	// uninstall old, task-audit; b1: none app (2.0 is the latest); b2
	// excluded; c1: nothing reaches it.
	want := planTotals{
		Computers: 5, Excluded: 1, Unreached: 1,
		Actions: map[string]int{"install": 1, "update": 1, "uninstall": 1, "task-audit": 2, "none": 2},
		Tenants: []tenantTotals{
			{Tenant: "a", Changes: 3, Changed: 2, Computers: 2},
			{Tenant: "b", Changes: 0, Changed: 0, Computers: 2},
			{Tenant: "c", Changes: 0, Changed: 0, Computers: 1},
		},
	}
	require.Empty(t, cmp.Diff(want, got.Totals, cmp.AllowUnexported(planTotals{}), cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".kinds" }, cmp.Ignore())))

	code, out, errs = runCmd("plan", "-f", path)
	require.Equal(t, exitOK, code, errs)
	_, tail, ok := strings.Cut(out, "\ntotals\n")
	require.True(t, ok, out)
	require.Equal(t, `  computers: 5 (1 excluded from maintenance, 1 that no deployment reaches)
  actions: 7 (install 1, update 1, uninstall 1, task-audit 2, none 2)
  changes by tenant:
    a  3 on 2 of 2 computers
    b  0 on 0 of 2 computers
    c  0 on 0 of 1 computers
`, tail)

	// A tenant without computers: an empty plan, and totals that say so.
	code, out, errs = runCmd("plan", "-f", path, "--tenant", "d")
	require.Equal(t, exitOK, code, errs)
	require.Equal(t, `plan at 2026-11-23T10:00:00Z, full maintenance session, 0 computers

totals
  computers: 0
  actions: 0
  changes by tenant: none
`, out)
	code, out, errs = runCmd("plan", "-f", path, "--tenant", "d", "--format", "json")
	require.Equal(t, exitOK, code, errs)
	require.Equal(t, `{
  "at": "2026-11-23T10:00:00Z",
  "computers": [],
  "totals": {
    "computers": 0,
    "excluded": 0,
    "unreached": 0,
    "actions": {},
    "changes_by_tenant": []
  }
}
`, out)
}

// TestPlanFailureLocated: an error met while planning that names a
// deployment's filter is reported at the filter's line, as validate reports.
func TestPlanFailureLocated(t *testing.T) {
	path := writeFleet(t, targetsFleet)
	ff, err := fleetfile.LoadFile(path)
	require.NoError(t, err)
	fe := func(i int, id string, lang targets.Language) *targets.FilterError {
		return &targets.FilterError{Deployment: i, ID: id, Computer: "contoso-lt-01", Lang: lang, Err: errors.New("targets: index out of range")}
	}
	tests := []struct {
		name string
		err  error
		code int
		want string
	}{
		{"one filter", fmt.Errorf("resolver: plan: %w", fe(1, "win11", targets.LanguageExpr)), exitFailure,
			path + `:24: deployment "win11": target.expr: expr filter failed on computer "contoso-lt-01": index out of range` + "\n"},
		{"several", targets.FilterErrors{fe(1, "win11", targets.LanguageExpr), fe(0, "everyone", targets.LanguageLua)}, exitFailure,
			path + `:23: deployment "everyone": target.lua: lua filter failed on computer "contoso-lt-01": index out of range` + "\n" +
				path + `:24: deployment "win11": target.expr: expr filter failed on computer "contoso-lt-01": index out of range` + "\n"},
		{"no place", errors.New("resolver: out of memory"), exitFailure, "immyctl plan: resolver: out of memory\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			require.Equal(t, tt.code, planFailure(&b, ff, tt.err))
			require.Equal(t, tt.want, b.String())
		})
	}
}

// TestTargetsFailureLocated: a filter that fails at run time is reported at
// the deployment's filter in the file, as validate reports, with status 1.
func TestTargetsFailureLocated(t *testing.T) {
	tests := []struct {
		name, filter, want, field, lang string
	}{
		{"expr", `expr: 'computer.upns[5] == "x"'`,
			`:24: deployment "win11": target.expr: cannot resolve the target: expr filter: index out of range: 5 (array length is `,
			"target.expr", "expr"},
		{"lua", `lua: 'return computer.upns[6]:lower() == "x"'`,
			`:24: deployment "win11": target.lua: cannot resolve the target: lua filter: `,
			"target.lua", "lua"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := strings.Replace(targetsFleet, `expr: 'computer.os startsWith "Windows 11"'`, tt.filter, 1)
			require.NotEqual(t, targetsFleet, src)
			path := writeFleet(t, src)
			code, out, errs := runCmd("validate", "-f", path)
			require.Equal(t, exitOK, code, "the filter compiles: %s", errs)
			// One computer: the filter's failure is the answer.
			args := []string{"targets", "-f", path, "--deployment", "win11", "--computer", "contoso-lt-01"}
			code, out, errs = runCmd(args...)
			require.Equal(t, exitFailure, code, args)
			require.Empty(t, out, args)
			require.True(t, strings.HasPrefix(errs, path+tt.want), "%v: %s", args, errs)
			require.Equal(t, 1, strings.Count(errs, "\n"), "one line: %s", errs)
			// The list: the computers it could decide (none here), and each
			// computer it failed on at the filter's line.
			code, out, errs = runCmd("targets", "-f", path, "--deployment", "win11")
			require.Equal(t, exitOK, code, errs)
			require.Empty(t, out)
			require.Contains(t, errs, path+":24: deployment \"win11\": "+tt.field+": "+tt.lang+" filter failed on computer \"contoso-lt-01\": ")
		})
	}
}
