package main

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/plan")

// golden compares got with testdata/plan/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "plan", name)
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "missing golden file: run go test ./examples/immyctl -run %s -update", t.Name())
	require.Empty(t, cmp.Diff(string(want), got), "%s differs from the golden file; if the change is right, rerun with -update", path)
}

// TestPlanGolden plans the bundled example fleet in each output and compares
// with the reviewed plans under testdata/plan.
func TestPlanGolden(t *testing.T) {
	tests := []struct {
		golden string
		args   []string
	}{
		{"msp.txt", []string{"plan"}},
		{"msp.json", []string{"plan", "--format", "json"}},
		{"msp-onboarding.txt", []string{"plan", "--onboarding"}},
		{"msp-contoso-eu-lt-01.txt", []string{"plan", "--computer", "contoso-eu-lt-01"}},
		{"msp-contoso-eu-lt-01.json", []string{"plan", "--computer", "contoso-eu-lt-01", "--format", "json"}},
		{"msp-explain-adobe-reader.txt", []string{"plan", "--explain", "adobe-reader"}},
		{"msp-explain-local-admin.json", []string{"plan", "--explain", "local-admin", "--computer", "fabrikam-lt-01", "--onboarding", "--format", "json"}},
		// Fabrikam's managed-security agreement ends in 2026: no EDR agent in 2027.
		{"msp-fabrikam-lt-01-at-2027.txt", []string{"plan", "--at", "2027-01-15", "--computer", "fabrikam-lt-01"}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			code, out, errs := runCmd(tt.args...)
			require.Equal(t, exitOK, code, "stderr: %s", errs)
			require.Empty(t, errs)
			golden(t, tt.golden, out)
			// Same input, same bytes.
			_, again, _ := runCmd(tt.args...)
			require.Equal(t, out, again)
			if strings.HasSuffix(tt.golden, ".json") {
				require.True(t, json.Valid([]byte(out)))
			}
			// The bundled fleet's password values never show.
			require.NotContains(t, out, "Sup3r-S3cret!")
			require.NotContains(t, out, "0nb0arding-Only!")
		})
	}
}

// planOutput is the part of `plan --format json` the scenarios check.
type planOutput struct {
	At        string `json:"at"`
	Computers []struct {
		ID        string `json:"id"`
		Excluded  bool   `json:"excluded"`
		Decisions []struct {
			Item       string `json:"item"`
			Winner     string `json:"winner"`
			Desired    string `json:"desired"`
			Candidates []struct {
				Deployment string `json:"deployment"`
				LostOn     string `json:"lost_on"`
			} `json:"candidates"`
		} `json:"decisions"`
		Actions []struct {
			Item       string `json:"item"`
			Deployment string `json:"deployment"`
			Action     string `json:"action"`
			Reason     string `json:"reason"`
			Detected   string `json:"detected"`
			Version    string `json:"version"`
		} `json:"actions"`
	} `json:"computers"`
}

// TestPlanScenarios runs `immyctl plan -f fleet.yaml --format json` on every
// scenario and checks its expect.yaml: listed winners, the actions other than
// none in order, or the error and status 2 with nothing on stdout.
func TestPlanScenarios(t *testing.T) {
	dirs, err := filepath.Glob("testdata/scenarios/*/expect.yaml")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(dirs), 5)
	for _, expectPath := range dirs {
		dir := filepath.Dir(expectPath)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			raw, err := os.ReadFile(expectPath)
			require.NoError(t, err)
			var want struct {
				Computers map[string]struct {
					Winners map[string]string   `yaml:"winners"`
					Actions []map[string]string `yaml:"actions"`
				} `yaml:"computers"`
				Error string `yaml:"error"`
			}
			require.NoError(t, yaml.Unmarshal(raw, &want))
			code, out, errs := runCmd("plan", "-f", filepath.Join(dir, "fleet.yaml"), "--format", "json")
			if want.Error != "" {
				require.Equal(t, exitInvalid, code)
				require.Empty(t, out, "nothing is half-printed")
				require.Contains(t, errs, want.Error)
				return
			}
			require.Equal(t, exitOK, code, "stderr: %s", errs)
			var got planOutput
			require.NoError(t, json.Unmarshal([]byte(out), &got))
			byID := map[string]int{}
			for i, c := range got.Computers {
				byID[c.ID] = i
				if i > 0 {
					require.Less(t, got.Computers[i-1].ID, c.ID, "computers sorted by id")
				}
			}
			for id, w := range want.Computers {
				i, ok := byID[id]
				require.True(t, ok, "computer %s missing", id)
				c := got.Computers[i]
				winners := map[string]string{}
				for _, d := range c.Decisions {
					if _, listed := w.Winners[d.Item]; listed {
						winners[d.Item] = d.Winner
					}
				}
				require.Empty(t, cmp.Diff(w.Winners, winners))
				wantActs := []map[string]string{}
				for _, a := range w.Actions {
					wantActs = append(wantActs, map[string]string{"item": a["item"], "action": a["action"]})
				}
				gotActs := []map[string]string{}
				for _, a := range c.Actions {
					if a.Action != "none" {
						gotActs = append(gotActs, map[string]string{"item": a.Item, "action": a.Action})
					}
				}
				require.Empty(t, cmp.Diff(wantActs, gotActs))
			}
		})
	}
}

func TestPlanErrors(t *testing.T) {
	cycle := filepath.Join("testdata", "scenarios", "prerequisite-cycle", "fleet.yaml")
	tests := []struct {
		name string
		args []string
		want []string // each in stderr
	}{
		{"cycle, located in the file", []string{"plan", "-f", cycle},
			[]string{cycle + `:13:`, `software "app-a": prerequisites[0].on: prerequisite cycle: app-a -> app-b -> app-c -> app-a`}},
		{"unknown format", []string{"plan", "--format", "yaml"}, []string{`unknown format "yaml"`}},
		{"unknown computer", []string{"plan", "--computer", "nope"}, []string{`unknown computer "nope"`}},
		{"unknown item", []string{"plan", "--explain", "nope"}, []string{`unknown item "nope"`}},
		{"bad time", []string{"plan", "--at", "yesterday"}, []string{`--at "yesterday"`}},
		{"stray argument", []string{"plan", "fleet.yaml"}, []string{`unexpected argument "fleet.yaml"`}},
		{"unknown flag", []string{"plan", "--colour"}, []string{"flag provided but not defined: -colour"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runCmd(tt.args...)
			require.Equal(t, exitInvalid, code)
			require.Empty(t, out)
			for _, w := range tt.want {
				require.Contains(t, errs, w)
			}
		})
	}

	t.Run("every problem of an invalid file", func(t *testing.T) {
		path := writeFile(t, `version: 1
tenants:
  - {id: t1, name: T1}
computers:
  - {id: pc1, tenant: t1, kind: workstation}
software:
  - id: a
    name: A
    detection: {display_name: "A"}
    versions: [{version: 1.0}]
    prerequisites: [{if: not-installed, any_of: [b], then: install, on: [b]}]
  - id: b
    name: B
    detection: {display_name: "B"}
    versions: [{version: 1.0}]
    prerequisites: [{if: not-installed, any_of: [a], then: install, on: [a]}]
deployments:
  - {id: d1, item: a, target: {type: filter, expr: "computer.os startsWith"}, desired: latest}
  - {id: d2, item: ghost, target: {type: all-computers}, desired: latest}
`)
		code, out, errs := runCmd("plan", "-f", path)
		require.Equal(t, exitInvalid, code)
		require.Empty(t, out)
		lines := strings.Split(strings.TrimSpace(errs), "\n")
		require.Len(t, lines, 3, "stderr: %s", errs)
		require.Contains(t, lines[0], path+":11:")
		require.Contains(t, lines[0], "prerequisite cycle: a -> b -> a")
		require.Contains(t, lines[1], path+":18:") // the filter
		require.Contains(t, lines[2], path+":19:") // the unknown item
	})

	t.Run("help", func(t *testing.T) {
		code, out, errs := runCmd("plan", "-h")
		require.Equal(t, exitOK, code)
		require.Empty(t, out)
		require.Contains(t, errs, "usage: immyctl plan")
	})
}

// TestValidateReportsCycles: the resolver's check runs in validate too.
func TestValidateReportsCycles(t *testing.T) {
	code, out, errs := runCmd("validate", "-f", filepath.Join("testdata", "scenarios", "prerequisite-cycle", "fleet.yaml"))
	require.Equal(t, exitInvalid, code)
	require.Empty(t, out)
	require.Contains(t, errs, "app-a -> app-b -> app-c -> app-a")
}
