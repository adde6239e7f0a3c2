package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/fleetfile"
)

// runCmd runs immyctl with args and returns the status, stdout and stderr.
func runCmd(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fleet.yaml")
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	return path
}

func TestValidateScenarios(t *testing.T) {
	dirs, err := filepath.Glob("testdata/scenarios/*/fleet.yaml")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(dirs), 4)
	ok := regexp.MustCompile(`^.+: ok \(\d+ tenants?, \d+ computers?, \d+ deployments?\)\n$`)
	for _, path := range dirs {
		name := filepath.Base(filepath.Dir(path))
		if name == "prerequisite-cycle" {
			continue // refused by the resolver's check, which is tested with plan
		}
		t.Run(name, func(t *testing.T) {
			code, out, errs := runCmd("validate", "-f", path)
			require.Equal(t, exitOK, code, "stderr: %s", errs)
			require.Empty(t, errs)
			require.Regexp(t, ok, out)
			require.Contains(t, out, path+": ok")
		})
	}
}

func TestValidateDefault(t *testing.T) {
	code, out, errs := runCmd("validate")
	require.Equal(t, exitOK, code, "stderr: %s", errs)
	require.Equal(t, "msp.yaml: ok (7 tenants, 21 computers, 23 deployments)\n", out)
	require.Empty(t, errs)
}

func TestValidateInvalid(t *testing.T) {
	path := writeFile(t, `version: 1
tenants:
  - {id: contoso, name: Contoso}
computers:
  - id: pc1
    tenant: contoso
    kidn: workstation
  - {id: pc2, tenant: fabrikam}
deployments:
  - {id: d1, item: chrome, target: {type: all-computers}, desired: newest}
`)
	code, out, errs := runCmd("validate", "-f", path)
	require.Equal(t, exitInvalid, code)
	require.Empty(t, out, "nothing is printed as ok on an invalid file")
	want := fmt.Sprintf(`%[1]s:7: computer "pc1": unknown key "kidn" (did you mean "kind"?)
%[1]s:8: computer "pc2": tenant: unknown tenant "fabrikam"
%[1]s:10: deployment "d1": desired: invalid desired state "newest" (want one of latest, this-version, newer-or-equal, older-or-equal, any-version, update-if-found, uninstalled, ignored)
%[1]s:10: deployment "d1": item: unknown software or task "chrome"
`, path)
	require.Equal(t, want, errs)
}

func TestValidateExtraChecks(t *testing.T) {
	saved := extraChecks
	t.Cleanup(func() { extraChecks = saved })
	extraChecks = append(extraChecks[:len(extraChecks):len(extraChecks)], func(f *fleetfile.File) immy.Problems {
		return immy.Problems{{Section: "deployments", Index: 0, ID: "d1", Field: "target.expr", Message: "site is not an attribute of any computer", Err: immy.ErrInvalid}}
	})
	path := writeFile(t, `tenants: [{id: t}]
software:
  - {id: s, name: S, detection: {display_name: S}}
deployments:
  - id: d1
    item: s
    target:
      type: filter
      expr: computer.attributes["site"] == "hq"
    desired: latest
`)
	code, out, errs := runCmd("validate", "-f", path)
	require.Equal(t, exitInvalid, code)
	require.Empty(t, out)
	require.Equal(t, path+`:9: deployment "d1": target.expr: site is not an attribute of any computer`+"\n", errs)
}

func TestValidateUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		errs string
	}{
		{"missing file", []string{"validate", "-f", "testdata/no-such-fleet.yaml"}, exitFailure, "immyctl validate: fleetfile: open testdata/no-such-fleet.yaml: no such file or directory\n"},
		{"stray argument", []string{"validate", "fleet.yaml"}, exitInvalid, "immyctl validate: unexpected argument \"fleet.yaml\" (give the file with -f)\n"},
		{"unknown flag", []string{"validate", "-x"}, exitInvalid, "flag provided but not defined: -x\n"},
		{"help", []string{"validate", "-h"}, exitOK, "usage: immyctl validate [-f FILE]\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runCmd(tt.args...)
			require.Equal(t, tt.code, code)
			require.Empty(t, out)
			require.Contains(t, errs, tt.errs)
		})
	}
}
