package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
)

// goldenAt compares got with the file at path, or rewrites it with -update.
func goldenAt(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "missing golden file: run go test ./examples/immyctl -run %s -update", t.Name())
	require.Empty(t, cmp.Diff(string(want), got), "%s differs from the golden file; if the change is right, rerun with -update", path)
}

// TestValidateOnePass: a file with structural problems, a prerequisite cycle, an
// expr filter and a Lua filter that do not compile, and an unknown reference
// reports every one of them, with its line, in one run; validate and plan
// report the same, byte for byte, and nothing on stdout.
func TestValidateOnePass(t *testing.T) {
	path := filepath.Join("testdata", "validate", "one-pass.yaml")
	code, out, errs := runCmd("validate", "-f", path)
	require.Equal(t, exitInvalid, code)
	require.Empty(t, out)
	goldenAt(t, filepath.Join("testdata", "validate", "one-pass.golden"), errs)

	for _, want := range []string{
		`:9: computer "contoso-pc-01": unknown key "kidn"`,
		`:17: software "app-a": prerequisites[0].on: prerequisite cycle: app-a -> app-b -> app-a`,
		`:27: deployment "win11": target.expr: expr filter: line 1, column 22:`,
		`:31: deployment "hq": target.lua: lua filter: line 1, column 35:`,
	} {
		require.Contains(t, errs, path+want)
	}
	for _, l := range strings.Split(strings.TrimSuffix(errs, "\n"), "\n") {
		require.True(t, strings.HasPrefix(l, path+":"), "problem without a line: %q", l)
	}

	for _, cmd := range [][]string{
		{"plan", "-f", path},
		{"targets", "-f", path, "--deployment", "win11"},
	} {
		code, out, again := runCmd(cmd...)
		require.Equal(t, exitInvalid, code, cmd)
		require.Empty(t, out, cmd)
		require.Equal(t, errs, again, "%v reports what validate reports", cmd)
	}
}

// FuzzValidate loads arbitrary files with every check immyctl registers: the
// checks now see fleets with values that did not parse, and must never panic;
// an invalid file gives located problems and no fleet.
func FuzzValidate(f *testing.F) {
	seeds, err := filepath.Glob("testdata/*/*/fleet.yaml")
	require.NoError(f, err)
	seeds = append(seeds, filepath.Join("testdata", "validate", "one-pass.yaml"), filepath.Join("..", "fleets", "msp.yaml"))
	for _, path := range seeds {
		data, err := os.ReadFile(path)
		require.NoError(f, err)
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := loadFleetBytes("fuzz.yaml", data)
		if err == nil {
			require.NotNil(t, file)
			return
		}
		require.Nil(t, file)
		var ps immy.Problems
		require.ErrorAs(t, err, &ps)
		for _, p := range ps {
			require.Equal(t, "fuzz.yaml", p.File)
			require.NotEmpty(t, p.Message)
		}
	})
}
