package installer_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/installer"
	"github.com/immyoss/engine/immy/inventory"
)

// shRunner runs sh scripts here, parameters as environment variables (as
// the agent and the example RMM plugin pass them), with a cache directory.
type shRunner struct{ cache string }

func (r shRunner) RunScript(ctx context.Context, req immy.ScriptRequest) (immy.ScriptResult, error) {
	cmd := exec.CommandContext(ctx, "sh", "-c", req.Script.Body)
	cmd.Env = append(os.Environ(), "IMMY_INSTALLER_CACHE="+r.cache)
	for k, v := range req.Parameters {
		cmd.Env = append(cmd.Env, fmt.Sprintf("%s=%v", k, v))
	}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return immy.ScriptResult{ExitCode: exit.ExitCode(), Output: string(out)}, nil
	}
	return immy.ScriptResult{Output: string(out)}, err
}

func TestFetchOnThisMachine(t *testing.T) {
	if _, err := exec.LookPath("sha256sum"); err != nil {
		t.Skip("no sha256sum")
	}
	body := []byte("#!/bin/sh\necho installing\n")
	sum := sha256.Sum256(body)
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		w.Write(body)
	}))
	defer srv.Close()
	r := shRunner{cache: t.TempDir()}
	ctx := t.Context()
	in := immy.Installer{URL: srv.URL + "/app-1.2.sh", SHA256: hex.EncodeToString(sum[:])}

	res, err := installer.Fetch(ctx, r, "here", inventory.Linux, in)
	require.NoError(t, err)
	require.False(t, res.Cached)
	require.Equal(t, filepath.Join(r.cache, in.SHA256, "app-1.2.sh"), res.Path)
	got, err := os.ReadFile(res.Path)
	require.NoError(t, err)
	require.Equal(t, body, got)
	require.EqualValues(t, 1, hits.Load())

	// cache hit: nothing downloaded
	res, err = installer.Fetch(ctx, r, "here", inventory.Linux, in)
	require.NoError(t, err)
	require.True(t, res.Cached)
	require.EqualValues(t, 1, hits.Load())

	// a hash that differs: the file is deleted, a MismatchError
	bad := in
	bad.SHA256 = "00" + in.SHA256[2:]
	bad.FileName = "other.sh"
	_, err = installer.Fetch(ctx, r, "here", inventory.Linux, bad)
	var m *installer.MismatchError
	require.ErrorAs(t, err, &m)
	require.Equal(t, in.SHA256, m.Got)
	require.Equal(t, bad.SHA256, m.Want)
	require.NoFileExists(t, filepath.Join(r.cache, bad.SHA256, "other.sh"))
	entries, _ := os.ReadDir(filepath.Join(r.cache, bad.SHA256))
	require.Empty(t, entries, "no partial file left")

	// a failed download
	miss := immy.Installer{URL: srv.URL + "/missing", SHA256: in.SHA256, FileName: "x.sh"}
	r2 := shRunner{cache: t.TempDir()}
	_, err = installer.Fetch(ctx, r2, "here", inventory.Linux, miss)
	require.ErrorContains(t, err, "the download of "+srv.URL+"/missing failed")

	// bad input: every problem, nothing run
	_, err = installer.Fetch(ctx, r, "here", inventory.Linux, immy.Installer{URL: "file:///etc/passwd", SHA256: "xyz", FileName: "../evil"})
	for _, want := range []string{`url "file:///etc/passwd" is not an http(s) URL`, `sha256 "xyz"`, `file name "../evil"`} {
		require.ErrorContains(t, err, want)
	}
}

func TestParseFetch(t *testing.T) {
	res, err := installer.ParseFetch("#immy:installer 1\r\ncached C:\\ProgramData\\immy\\installers\\ab\\setup.exe\r\n#immy:end\r\n")
	require.NoError(t, err)
	require.Equal(t, installer.Result{Path: `C:\ProgramData\immy\installers\ab\setup.exe`, Cached: true}, res)
	for in, want := range map[string]string{
		"":                                   "not the output of a fetch script",
		"#immy:installer 1\ndownloaded /x\n": "cut short",
		"#immy:installer 1\n#immy:end\n":     "said nowhere",
		"#immy:installer 1\nsomething\n#immy:end\n":                     `unexpected "something"`,
		"#immy:installer 1\n#immy:installer-error no curl\n#immy:end\n": "installer: no curl",
	} {
		_, err := installer.ParseFetch(in)
		require.ErrorContains(t, err, want, "%q", in)
	}
}

func FuzzParseFetch(f *testing.F) {
	f.Add("#immy:installer 1\ndownloaded /x\n#immy:end\n")
	f.Fuzz(func(t *testing.T, s string) {
		res, err := installer.ParseFetch(s)
		if err == nil && res.Path == "" {
			t.Fatal("a result without a path")
		}
	})
}
