package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/resolver"
)

const (
	mspFile    = "../fleets/msp.yaml"
	editedFile = "testdata/diff/msp-edited.yaml"
)

// TestDiffGolden diffs the bundled fleet with an edit of it (a deployment
// removed, one narrowed, one pinned to an older version, a computer added,
// one excluded) in each output.
func TestDiffGolden(t *testing.T) {
	tests := []struct {
		golden string
		args   []string
	}{
		{"msp-edited.txt", []string{"diff", "-f", mspFile, "-f", editedFile}},
		{"msp-edited.json", []string{"diff", "-f", mspFile, "-f", editedFile, "--json"}},
		{"msp-edited-reverse.txt", []string{"diff", "-f", editedFile, "-f", mspFile}},
		{"msp-edited-onboarding.json", []string{"diff", "--format", "json", "--onboarding", "-f", mspFile, "-f", editedFile}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			code, out, errs := runCmd(tt.args...)
			require.Equal(t, exitOK, code, "stderr: %s", errs)
			require.Empty(t, errs)
			goldenAt(t, filepath.Join("testdata", "diff", tt.golden), out)
			_, again, _ := runCmd(tt.args...)
			require.Equal(t, out, again, "same input, same bytes")
			if strings.HasSuffix(tt.golden, ".json") {
				require.True(t, json.Valid([]byte(out)))
			}
		})
	}
}

// The JSON is the resolver's diff of the two plans, whole.
func TestDiffJSONIsTheResolversDiff(t *testing.T) {
	code, out, errs := runCmd("diff", "-f", mspFile, "-f", editedFile, "--json")
	require.Equal(t, exitOK, code, errs)
	var got struct {
		Old, New  string
		Computers []resolver.ComputerDiff
	}
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	plan := func(path string) *resolver.Plan {
		ff, err := loadFleet(path, nil)
		require.NoError(t, err)
		p, err := resolver.PlanFleet(t.Context(), ff.Fleet, resolver.Config{}, resolver.Session{})
		require.NoError(t, err)
		return p
	}
	want := resolver.Diff(plan(mspFile), plan(editedFile))
	require.Equal(t, mspFile, got.Old)
	require.Equal(t, editedFile, got.New)
	if diff := cmp.Diff(want.Computers, got.Computers); diff != "" {
		t.Fatalf("immyctl diff --json (-resolver +immyctl):\n%s", diff)
	}
	// Every kind of change is in it.
	seen := map[string]bool{}
	for _, c := range got.Computers {
		seen["added"] = seen["added"] || c.Added
		seen["excluded"] = seen["excluded"] || (c.Excluded && !c.WasExcluded)
		for _, d := range c.Decisions {
			seen["winner"] = seen["winner"] || (d.OldWinner != "" && d.NewWinner != "" && d.OldWinner != d.NewWinner)
		}
		for _, a := range c.Actions {
			seen["action "+a.Change] = true
		}
	}
	for _, k := range []string{"added", "excluded", "winner", "action added", "action removed", "action changed"} {
		require.True(t, seen[k], "no %s in the diff", k)
	}
}

func TestDiffSameFile(t *testing.T) {
	data, err := os.ReadFile(mspFile)
	require.NoError(t, err)
	var stdin strings.Builder
	stdin.Write(data)
	for _, format := range []string{"text", "json"} {
		var out, errb strings.Builder
		code := runWithInput([]string{"diff", "-f", mspFile, "-f", "-", "--format", format}, strings.NewReader(stdin.String()), &out, &errb)
		require.Equal(t, exitOK, code, errb.String())
		if format == "text" {
			require.Equal(t, "diff ../fleets/msp.yaml -> <stdin>: no computer's plan changes\n", out.String())
		} else {
			require.JSONEq(t, `{"old": "../fleets/msp.yaml", "new": "<stdin>", "computers": []}`, out.String())
		}
	}
}

func TestDiffErrors(t *testing.T) {
	bad := writeFile(t, `version: 1
tenants:
  - {id: contoso, name: Contoso}
computers:
  - {id: pc1, tenant: nowhere}
`)
	bad2 := filepath.Join(t.TempDir(), "other.yaml")
	require.NoError(t, os.WriteFile(bad2, []byte("version: 1\ndeployments:\n  - {id: d1, item: ghost, target: {type: all-computers}, desired: latest}\n"), 0o644))
	tests := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"one file", []string{"diff", "-f", mspFile}, exitInvalid, []string{"want two files, -f OLD -f NEW (got 1)"}},
		{"three files", []string{"diff", "-f", mspFile, "-f", mspFile, "-f", mspFile}, exitInvalid, []string{"(got 3)"}},
		{"both stdin", []string{"diff", "-f", "-", "-f", "-"}, exitInvalid, []string{"only one of the files can be standard input"}},
		{"format", []string{"diff", "-f", mspFile, "-f", mspFile, "--format", "yaml"}, exitInvalid, []string{`unknown format "yaml"`}},
		{"argument", []string{"diff", "-f", mspFile, "-f", mspFile, "extra"}, exitInvalid, []string{`unexpected argument "extra"`}},
		{"at", []string{"diff", "-f", mspFile, "-f", mspFile, "--at", "monday"}, exitInvalid, []string{`--at "monday"`}},
		// every problem of both files, in one run
		{"invalid files", []string{"diff", "-f", bad, "-f", bad2}, exitInvalid, []string{
			bad + `:5: computer "pc1": tenant: unknown tenant "nowhere"`,
			bad2 + `:3: deployment "d1": item: unknown software or task "ghost"`}},
		{"missing file", []string{"diff", "-f", mspFile, "-f", filepath.Join(t.TempDir(), "none.yaml")}, exitFailure, []string{"none.yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runCmd(tt.args...)
			require.Equal(t, tt.code, code, "stderr: %s", errs)
			require.Empty(t, out, "nothing is half-printed")
			for _, w := range tt.want {
				require.Contains(t, errs, w)
			}
		})
	}
}
