package fleetfile_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/fleetfile"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// fleetFiles are the fleets of testdata: full.yaml and the shared scenarios.
func fleetFiles(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob("testdata/scenarios/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	return append([]string{"testdata/full.yaml"}, files...)
}

func write(t testing.TB, f *immy.Fleet) []byte {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, fleetfile.Write(&b, f))
	return b.Bytes()
}

func TestRoundTrip(t *testing.T) {
	for _, path := range fleetFiles(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			first, err := fleetfile.LoadFile(path)
			require.NoError(t, err)
			out := write(t, first.Fleet)
			second, err := fleetfile.Load("written.yaml", bytes.NewReader(out))
			require.NoError(t, err, "Write wrote:\n%s", out)
			if diff := cmp.Diff(first.Fleet, second.Fleet, versionCmp); diff != "" {
				t.Errorf("Load(Write(fleet)) differs (-loaded +reloaded):\n%s", diff)
			}
			// Canonical: writing again gives the same bytes.
			require.Equal(t, string(out), string(write(t, second.Fleet)))
		})
	}
}

func TestWriteGolden(t *testing.T) {
	f, err := fleetfile.LoadFile("testdata/full.yaml")
	require.NoError(t, err)
	got := write(t, f.Fleet)
	golden := "testdata/full.golden.yaml"
	if *update {
		require.NoError(t, os.WriteFile(golden, got, 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err, "run go test -update to create it")
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("Write differs from %s (-want +got); run go test -update if intended:\n%s", golden, diff)
	}
}

func TestWriteDefaults(t *testing.T) {
	f := &immy.Fleet{
		Tenants: []immy.Tenant{{ID: "t"}},
		Tasks:   []immy.Task{{ID: "cloud", Category: immy.TaskTenant}},
		Deployments: []immy.Deployment{
			{ID: "d1", Item: "cloud", Target: immy.Target{Category: immy.CategoryTenant, Type: immy.TargetAllTenants}, Mode: immy.ModeAudit},
			{ID: "d2", Item: "cloud", Target: immy.Target{Category: immy.CategoryComputer, Type: immy.TargetAllComputers}, Mode: immy.ModeAudit, Disabled: true},
		},
	}
	want := `version: 1
tenants:
  - id: t
tasks:
  - id: cloud
    category: tenant
deployments:
  - id: d1
    item: cloud
    target:
      type: all-tenants
    mode: audit
  - id: d2
    item: cloud
    target:
      category: computer
      type: all-computers
    mode: audit
    enabled: false
`
	require.Equal(t, want, string(write(t, f)))
}

func TestWriteInvalid(t *testing.T) {
	f := &immy.Fleet{
		Computers: []immy.Computer{{ID: "pc1", Kind: immy.ComputerKind(42)}},
		Tasks:     []immy.Task{{ID: "t", Parameters: []immy.Parameter{{Name: "p", Default: []int{1}}}}},
	}
	var b bytes.Buffer
	err := fleetfile.Write(&b, f)
	require.ErrorIs(t, err, immy.ErrInvalid)
	require.ErrorContains(t, err, `computer "pc1": kind: computer kind(42) has no spelling`)
	require.ErrorContains(t, err, `task "t": parameters[0].default: a parameter value cannot be a []int`)
	require.Zero(t, b.Len(), "nothing is written on error")
}

func TestWriteKeepsOnPlain(t *testing.T) {
	f, err := fleetfile.LoadFile("testdata/scenarios/vcredist-prerequisite.yaml")
	require.NoError(t, err)
	out := string(write(t, f.Fleet))
	require.Contains(t, out, "then: install, on: [vcredist]}")
	require.False(t, strings.Contains(out, `"on"`))
}

func TestWriteParameterValues(t *testing.T) {
	f := &immy.Fleet{
		Tenants: []immy.Tenant{{ID: "t"}},
		Tasks: []immy.Task{{ID: "task", Parameters: []immy.Parameter{
			{Name: "text", Default: "true"},
			{Name: "num", Type: immy.ParamNumber, Default: 2.5},
			{Name: "whole", Type: immy.ParamNumber, Default: 3.0},
			{Name: "tiny", Type: immy.ParamNumber, Default: 1e-7},
			{Name: "flag", Type: immy.ParamBoolean, Default: false},
			{Name: "kv", Type: immy.ParamKeyValue, Default: map[string]string{"b": "2", "a": "yes"}},
			{Name: "pw", Type: immy.ParamPassword},
		}}},
		Deployments: []immy.Deployment{{
			ID: "d", Item: "task", Target: immy.Target{Type: immy.TargetAllComputers}, Mode: immy.ModeEnforce,
			Parameters: map[string]any{"text": "123", "num": -0.25, "whole": 7.0, "flag": true, "kv": map[string]string{"on": "off"}, "pw": "p@ss: word"},
		}},
	}
	out := write(t, f)
	got, err := fleetfile.Load("written.yaml", bytes.NewReader(out))
	require.NoError(t, err, "%s", out)
	if diff := cmp.Diff(f, got.Fleet, versionCmp); diff != "" {
		t.Errorf("round trip (-want +got):\n%s\nwritten:\n%s", diff, out)
	}
}
