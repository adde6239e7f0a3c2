package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
)

// TestGeneratedCodeIsCurrent regenerates the wire contract into a temporary
// directory and compares it with the checked-in code: a .proto edited without
// `go generate ./plugins/proto`, or a generated file edited by hand, fails here.
func TestGeneratedCodeIsCurrent(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the generators")
	}
	if _, err := exec.LookPath(goCommand()); err != nil {
		t.Skip("no go command")
	}
	root := defaultRoot()
	out := t.TempDir()
	require.NoError(t, generate(context.Background(), root, out))

	generated := goFiles(t, out)
	require.NotEmpty(t, generated)
	checkedIn := goFiles(t, root)
	// Every generated file is checked in, unchanged, and nothing generated is left over.
	var names []string
	for name := range generated {
		names = append(names, name)
	}
	require.ElementsMatch(t, names, keys(checkedIn), "generated files differ from the checked-in ones; run go generate ./plugins/proto")
	for name, want := range generated {
		if diff := cmp.Diff(want, checkedIn[name]); diff != "" {
			t.Errorf("%s is stale; run go generate ./plugins/proto (-generated +checked in):\n%s", name, diff)
		}
	}
}

// goFiles reads the *.pb.go files under root, by relative path.
func goFiles(t *testing.T, root string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".pb.go") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		files[filepath.ToSlash(rel)] = string(b)
		return nil
	})
	require.NoError(t, err)
	return files
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestProtoFilesSorted(t *testing.T) {
	files, err := protoFiles(defaultRoot())
	require.NoError(t, err)
	require.Equal(t, []string{
		"immy/plugin/v1/plugin.proto",
		"immy/plugin/v2/host.proto",
		"immy/plugin/v2/plugin.proto",
	}, files)
}
