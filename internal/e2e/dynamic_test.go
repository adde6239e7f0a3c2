//go:build linux

package e2e_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/immytest"
	"github.com/immyoss/engine/resolver"
	"github.com/immyoss/engine/session"
	"github.com/immyoss/engine/session/dynamic"
	"github.com/immyoss/engine/targets"
)

// Dynamic versions through the real agent (issue 22): the software's
// versions come from a metascript that reads the vendor's latest.txt; the
// session installs the newest, the agent downloading its installer from the
// vendor (a loopback HTTP server) with curl, checking its SHA-256 and
// keeping it in a cache keyed by the hash; the install script runs the
// downloaded file.

// vendorSite serves latest.txt and the installers, counting downloads.
type vendorSite struct {
	srv    *httptest.Server
	mu     sync.Mutex
	latest string
	files  map[string][]byte
	hits   map[string]int
}

func newVendor(t *testing.T) *vendorSite {
	v := &vendorSite{files: map[string][]byte{}, hits: map[string]int{}}
	v.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v.mu.Lock()
		defer v.mu.Unlock()
		v.hits[r.URL.Path]++
		if r.URL.Path == "/latest.txt" {
			w.Write([]byte(v.latest))
			return
		}
		b, ok := v.files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	}))
	t.Cleanup(v.srv.Close)
	return v
}

func (v *vendorSite) count(path string) int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.hits[path]
}

// dynamicApp is acme-app: listed version 1.0, dynamic ones from latest.txt
// ("VERSION SHA256" lines); its install script runs the downloaded
// installer, which writes the marker its detection reads.
func dynamicApp(base, apps string) immytest.SoftwareFunc {
	return func(sw *immy.Software) {
		sw.Detection = immy.Detection{Script: &immy.Script{Language: immy.LanguageShell, Body: "m=" + shQuote(apps) + `/acme-app.version
if [ -f "$m" ]; then echo "Acme App $(cat "$m")"; fi
`}}
		sw.Install = &immy.Script{Language: immy.LanguageShell, Body: `set -eu
echo "installing from $installer_path"
sh "$installer_path" ` + shQuote(apps) + "\n"}
		sw.Uninstall = &immy.Script{Language: immy.LanguageShell, Body: "rm -f " + shQuote(apps) + "/acme-app.version\n"}
		sw.Dynamic = &immy.DynamicSource{Script: &immy.Script{Language: immy.LanguageLua, Context: immy.ContextMetascript, Body: `
local out = {}
for v, sum in http_get("` + base + `/latest.txt"):gmatch("(%S+)%s+(%x+)") do
	out[#out + 1] = {version = v, url = "` + base + `/acme-app-" .. v .. ".sh", sha256 = sum}
end
return out
`}}
	}
}

func TestDynamicVersionThroughAgent(t *testing.T) {
	requireSh(t)
	cache := t.TempDir()
	ra := startRestartableAgent(t, "acme", "IMMY_INSTALLER_CACHE="+cache)
	v := newVendor(t)
	installer := []byte("#!/bin/sh\nprintf '2.0\\n' > \"$1/acme-app.version\"\necho installed by the downloaded installer\n")
	sum := sha256.Sum256(installer)
	v.files["/acme-app-2.0.sh"] = installer
	v.latest = "2.0 " + hex.EncodeToString(sum[:]) + "\n"
	apps := t.TempDir()

	build := func() *session.Engine {
		f := immytest.NewFleet().At("2026-12-07T10:00:00Z").
			Tenant("acme").
			Computer("acme-01", "acme", immy.KindPortable, immytest.ComputerFunc(func(c *immy.Computer) {
				c.OS = "Debian GNU/Linux 12"
				c.Pathways = []immy.Pathway{{AgentID: ra.id, Online: true}}
			})).
			Software("acme-app", immytest.Name("Acme App"), immytest.Versions("1.0"), dynamicApp(v.srv.URL, apps),
				immytest.Upgrade(immy.UpgradeUninstallInstall)).
			Deploy("app-latest", "acme-app", immytest.OnTenantComputers("acme"), immytest.Desired(immy.DesiredLatest)).
			BuildValid(t)
		dc := &dynamic.Cache{HTTPClient: v.srv.Client(), TTL: time.Hour}
		f, err := dc.Apply(t.Context(), f)
		require.NoError(t, err)
		ra.routes.follow(f)
		cat, err := resolver.NewCatalogue(f)
		require.NoError(t, err)
		ix, err := targets.NewIndex(f, targets.Config{At: f.At})
		require.NoError(t, err)
		planner, err := resolver.NewPlanner(ix, cat, resolver.Config{})
		require.NoError(t, err)
		engine, err := session.New(session.Config{Planner: planner, Runner: ra, ScriptTimeout: 30 * time.Second})
		require.NoError(t, err)
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			engine.Close(ctx)
		})
		return engine
	}
	logsOf := func(events []session.Event) string {
		var out []string
		for _, ev := range events {
			if ev.Kind == session.EventLog {
				out = append(out, ev.Text)
			}
		}
		return strings.Join(out, "\n")
	}

	engine := build()
	rep, events := run(t, engine, session.Request{ID: "install", Computer: "acme-01"})
	require.Equal(t, session.Passed, rep.Status, "%s %s\n%+v", rep.Reason, rep.Message, outcomes(rep.Actions))
	require.Equal(t, "2.0", rep.Actions[0].Planned.Version, "latest is the newest dynamic version")
	require.Equal(t, "2.0", rep.Actions[0].After)
	require.Equal(t, "2.0\n", readFile(t, filepath.Join(apps, "acme-app.version")))
	require.Equal(t, 1, v.count("/acme-app-2.0.sh"))
	all := logsOf(events)
	require.Contains(t, all, "installer downloaded to "+filepath.Join(cache, hex.EncodeToString(sum[:]), "acme-app-2.0.sh"))
	require.Contains(t, all, "installed by the downloaded installer")

	// Cache hit: removed and installed again, the installer is not downloaded again.
	require.NoError(t, os.Remove(filepath.Join(apps, "acme-app.version")))
	rep, events = run(t, engine, session.Request{ID: "again", Computer: "acme-01"})
	require.Equal(t, session.Passed, rep.Status, "%s %s", rep.Reason, rep.Message)
	require.Equal(t, 1, v.count("/acme-app-2.0.sh"), "served from the agent's cache")
	require.Contains(t, logsOf(events), "found in the cache, its SHA-256 checked")

	// Hash mismatch: the vendor's 3.0 is not what latest.txt says; the
	// action fails and nothing runs.
	v.mu.Lock()
	v.files["/acme-app-3.0.sh"] = []byte("#!/bin/sh\necho tampered > \"$1/acme-app.version\"\n")
	v.latest += "3.0 " + strings.Repeat("ab", 32) + "\n"
	v.mu.Unlock()
	engine = build()
	rep, _ = run(t, engine, session.Request{ID: "mismatch", Computer: "acme-01"})
	require.Equal(t, session.Failed, rep.Status)
	a := rep.Actions[0]
	require.Equal(t, "3.0", a.Planned.Version)
	require.Equal(t, session.ResultFailed, a.Result)
	require.Equal(t, session.ReasonInstallerMismatch, a.Reason)
	require.Contains(t, a.Message, "not the "+strings.Repeat("ab", 32)+" expected: deleted, not run")
	require.Equal(t, "2.0\n", readFile(t, filepath.Join(apps, "acme-app.version")), "nothing ran: not the update's uninstall, not the tampered installer")
	require.NoDirExists(t, filepath.Join(cache, strings.Repeat("ab", 32), "acme-app-3.0.sh"))
}
