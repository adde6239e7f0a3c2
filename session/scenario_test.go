package session

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/immyoss/engine/immy/fleetfile"
	"github.com/immyoss/engine/resolver"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

type expectFile struct {
	Computers map[string]struct {
		Winners map[string]string `yaml:"winners"`
		Actions []struct {
			Item   string `yaml:"item"`
			Action string `yaml:"action"`
		} `yaml:"actions"`
	} `yaml:"computers"`
	Error string `yaml:"error"`
}

// TestScenarios runs a full maintenance session on every computer of every
// scenario against fake computers: the session runs the scenario's actions in
// order and passes; afterwards detection finds every item in its desired state
// and a second session plans no action.
func TestScenarios(t *testing.T) {
	dirs, err := filepath.Glob("testdata/scenarios/*/fleet.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, dirs)
	for _, path := range dirs {
		dir := filepath.Dir(path)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(dir, "expect.yaml"))
			require.NoError(t, err)
			var want expectFile
			require.NoError(t, yaml.Unmarshal(raw, &want))
			file, err := fleetfile.LoadFile(path)
			if want.Error != "" {
				if err == nil {
					_, err = resolver.NewCatalogue(file.Fleet)
				}
				require.ErrorContains(t, err, want.Error)
				return
			}
			require.NoError(t, err)
			h := newHarness(t, file.Fleet, nil)
			var reports []Report
			for _, id := range sortedKeys(want.Computers) {
				exp := want.Computers[id]
				rep := h.run(Request{Computer: id})
				reports = append(reports, rep)
				require.Equal(t, Passed, rep.Status, "%s: %s\n%v", id, rep.Reason, outcomes(rep.Actions))
				for item, winner := range exp.Winners {
					found := false
					for _, d := range rep.Decisions {
						if d.Item == item {
							found = true
							require.Equal(t, winner, d.Winner, "%s: winner of %s", id, item)
						}
					}
					require.True(t, found, "%s: no decision for %s", id, item)
				}
				var wantActs []string
				for _, a := range exp.Actions {
					wantActs = append(wantActs, a.Item+":"+a.Action)
				}
				if diff := cmp.Diff(wantActs, changes(rep.Actions)); diff != "" {
					t.Errorf("%s: actions (-want +got):\n%s", id, diff)
				}
				for _, a := range rep.Actions {
					if a.Planned.Action == resolver.ActionNone {
						continue
					}
					require.Equal(t, Complete, a.Status, "%s: %s", id, a.Item())
					require.Equal(t, Success, a.Result, "%s: %s: %s %s", id, a.Item(), a.Reason, a.Message)
					require.Equal(t, ReasonVerified, a.Reason)
				}

				// After execution, detection finds every item in its
				// desired state: a second session plans no action.
				again := h.run(Request{Computer: id, Kind: DetectionOnly})
				require.Equal(t, Passed, again.Status)
				require.Empty(t, changes(again.Actions), "%s: the second session plans actions", id)
				require.Len(t, again.Actions, len(rep.Actions)-countPrereqInstalls(rep.Actions))
			}
			golden(t, filepath.Join("testdata", "golden", filepath.Base(dir)+".json"), reports)
		})
	}
}

// golden compares v, as indented JSON, with a golden file; -update rewrites it.
func golden(t *testing.T, path string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	require.NoError(t, err)
	got = append(got, '\n')
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to write the golden file")
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs (go test -update rewrites it):\n%s", path, cmp.Diff(string(want), string(got)))
	}
}

// countPrereqInstalls counts prerequisites installed without a deployment of
// their own: the second session does not plan them at all.
func countPrereqInstalls(acts []Action) int {
	n := 0
	for _, a := range acts {
		if a.Planned.Deployment == "" && a.Planned.RequiredBy != "" {
			n++
		}
	}
	return n
}
