package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/immyoss/engine/immy"
	"github.com/stretchr/testify/require"
)

const targetsFleet = `version: 1
at: 2026-11-23T10:00:00Z
tenants:
  - {id: msp, name: MSP}
  - {id: contoso, name: Contoso, parent: msp, tags: [vip]}
  - {id: fabrikam, name: Fabrikam, parent: msp, exclude_from_cross_tenant: true}
persons:
  - {id: john, tenant: contoso, upn: john@contoso.com}
computers:
  - {id: contoso-srv-01, tenant: contoso, name: CONTOSO-SRV-01, kind: server, os: Windows Server 2022}
  - {id: contoso-lt-01, tenant: contoso, name: CONTOSO-LT-01, kind: portable, os: Windows 11 Pro, tags: [canary], upns: [john@contoso.com], attributes: {site: hq}}
  - {id: fabrikam-pc-01, tenant: fabrikam, name: FABRIKAM-PC-01, kind: workstation, os: Windows 11 Pro}
agreements:
  - {id: ag-1, tenant: contoso, client_group: managed-security, from: 2026-01-01, to: 2026-11-23}
software:
  - id: reader
    name: Adobe Acrobat Reader DC
    detection: {display_name: "Adobe Acrobat Reader*"}
    versions: [{version: 24.001.20604}]
tasks:
  - {id: audit, name: Tenant audit, category: tenant}
deployments:
  - {id: everyone, item: reader, target: {type: all-computers}, desired: latest}
  - {id: win11, item: reader, target: {type: filter, expr: 'computer.os startsWith "Windows 11"'}, desired: latest}
  - {id: msp-tree, item: reader, target: {type: all-computers, tenant: msp, propagate_to_children: true, filter: workstations-and-portable}, desired: latest}
  - {id: security, item: reader, target: {type: client-group, client_group: managed-security}, desired: latest}
  - {id: johns, item: reader, target: {type: person, person: john}, desired: latest}
  - {id: cloud, item: audit, target: {type: all-tenants}, mode: enforce}
`

func writeFleet(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fleet.yaml")
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	return path
}

func TestTargetsCommand(t *testing.T) {
	path := writeFleet(t, targetsFleet)
	tests := []struct {
		name   string
		args   []string
		status int
		stdout string
		stderr string // a substring
	}{
		{"all computers, excluded tenant left out", []string{"-f", path, "--deployment", "everyone"}, exitOK, "contoso-lt-01\ncontoso-srv-01\n", ""},
		{"expr filter", []string{"-f", path, "--deployment", "win11"}, exitOK, "contoso-lt-01\n", ""},
		{"propagated with a group filter", []string{"-f", path, "--deployment", "msp-tree"}, exitOK, "contoso-lt-01\nfabrikam-pc-01\n", ""},
		{"client group", []string{"-f", path, "--deployment", "security"}, exitOK, "contoso-lt-01\ncontoso-srv-01\n", ""},
		{"client group the day after the agreement", []string{"-f", path, "--deployment", "security", "--at", "2026-11-24T00:00:00Z"}, exitOK, "", ""},
		{"person", []string{"-f", path, "--deployment", "johns"}, exitOK, "contoso-lt-01\n", ""},
		{"tenants of a cloud task", []string{"-f", path, "--deployment", "cloud"}, exitOK, "contoso\nmsp\n", ""},
		{"json", []string{"-f", path, "--deployment", "security", "--format", "json", "--at", "2026-12-01T00:00:00Z"}, exitOK,
			"{\n  \"deployment\": \"security\",\n  \"computers\": []\n}\n", ""},
		{"json tenants", []string{"-f", path, "--deployment", "cloud", "--format", "json"}, exitOK,
			"{\n  \"deployment\": \"cloud\",\n  \"tenants\": [\n    \"contoso\",\n    \"msp\"\n  ]\n}\n", ""},
		{"explain", []string{"-f", path, "--deployment", "win11", "--computer", "fabrikam-pc-01"}, exitOK,
			"deployment \"win11\" does not select computer \"fabrikam-pc-01\"\n" +
				"  ok   maintenance: computer \"fabrikam-pc-01\" is not excluded from maintenance\n" +
				"  FAIL cross-tenant: tenant \"fabrikam\" is excluded from cross-tenant deployments\n" +
				"  ok   group-filter: kind workstation passes group filter all\n" +
				"  ok   target: expr filter \"computer.os startsWith \\\"Windows 11\\\"\" is true for the computer\n", ""},
		{"explain json", []string{"-f", path, "--deployment", "johns", "--computer", "contoso-lt-01", "--format", "json"}, exitOK,
			`{
  "deployment": "johns",
  "computer": "contoso-lt-01",
  "selected": true,
  "checks": [
    {
      "rule": "maintenance",
      "passed": true,
      "detail": "computer \"contoso-lt-01\" is not excluded from maintenance"
    },
    {
      "rule": "group-filter",
      "passed": true,
      "detail": "kind portable passes group filter all"
    },
    {
      "rule": "target",
      "passed": true,
      "detail": "person \"john\" is the computer's primary person (affinity)"
    }
  ]
}
`, ""},
		{"unknown deployment", []string{"-f", path, "--deployment", "nope"}, exitInvalid, "", `no deployment "nope"`},
		{"unknown computer", []string{"-f", path, "--deployment", "win11", "--computer", "nope"}, exitInvalid, "", `no computer "nope"`},
		{"the bundled fleet", []string{"--deployment", "bitlocker-hq-win11"}, exitOK, bundledWin11HQ(t), ""},
		{"missing deployment flag", []string{"-f", path}, exitInvalid, "", "missing --deployment ID"},
		{"bad format", []string{"-f", path, "--deployment", "win11", "--format", "xml"}, exitInvalid, "", `unknown format "xml"`},
		{"bad time", []string{"-f", path, "--deployment", "win11", "--at", "tomorrow"}, exitInvalid, "", `--at "tomorrow"`},
		{"missing file", []string{"-f", filepath.Join(t.TempDir(), "none.yaml"), "--deployment", "win11"}, exitFailure, "", "no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			status := run(append([]string{"targets"}, tc.args...), &stdout, &stderr)
			require.Equal(t, tc.status, status, "stderr: %s", stderr.String())
			if diff := cmp.Diff(tc.stdout, stdout.String()); diff != "" {
				t.Errorf("stdout (-want +got):\n%s", diff)
			}
			require.Contains(t, stderr.String(), tc.stderr)
		})
	}
}

func TestTargetsCommandInvalidFile(t *testing.T) {
	bad := strings.Replace(targetsFleet, `expr: 'computer.os startsWith "Windows 11"'`, `lua: 'return computer.os =='`, 1)
	bad = strings.Replace(bad, "type: all-computers}", "type: all-computers, filter: laptops}", 1)
	path := writeFleet(t, bad)
	var stdout, stderr bytes.Buffer
	status := run([]string{"targets", "-f", path, "--deployment", "everyone"}, &stdout, &stderr)
	require.Equal(t, exitInvalid, status)
	require.Empty(t, stdout.String(), "nothing is printed from an invalid file")
	// Every problem, each with its file and line.
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	require.GreaterOrEqual(t, len(lines), 1, stderr.String())
	for _, l := range lines {
		require.True(t, strings.HasPrefix(l, path+":"), "problem without a line: %q", l)
	}
	require.Contains(t, stderr.String(), "laptops")
}

func TestTargetsCommandBadFilter(t *testing.T) {
	bad := strings.Replace(targetsFleet, `expr: 'computer.os startsWith "Windows 11"'`, `lua: 'return computer.os =='`, 1)
	path := writeFleet(t, bad)
	var stdout, stderr bytes.Buffer
	status := run([]string{"targets", "-f", path, "--deployment", "everyone"}, &stdout, &stderr)
	require.Equal(t, exitInvalid, status)
	require.Empty(t, stdout.String())
	require.Regexp(t, `^`+regexp.QuoteMeta(path)+`:\d+: deployment "win11": target.lua: lua filter: line 1, column 22: syntax error`, stderr.String())
}

// bundledWin11HQ lists, straight from the bundled example fleet, the Windows 11
// workstations and portables at site hq of tenants that take cross-tenant
// deployments and are not excluded from maintenance.
func bundledWin11HQ(t *testing.T) string {
	f, err := loadFleet("", nil)
	require.NoError(t, err)
	excluded := map[string]bool{}
	for _, tn := range f.Fleet.Tenants {
		excluded[tn.ID] = tn.ExcludeFromCrossTenant
	}
	var ids []string
	for _, c := range f.Fleet.Computers {
		if strings.HasPrefix(c.OS, "Windows 11") && c.Attributes["site"] == "hq" && !excluded[c.Tenant] &&
			!c.ExcludedFromMaintenance && (c.Kind == immy.KindWorkstation || c.Kind == immy.KindPortable) {
			ids = append(ids, c.ID)
		}
	}
	require.NotEmpty(t, ids, "the bundled fleet should have such computers")
	slices.Sort(ids)
	return strings.Join(ids, "\n") + "\n"
}
