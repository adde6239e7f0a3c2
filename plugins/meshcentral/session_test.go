package meshcentral_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/immytest"
	"github.com/immyoss/engine/plugins"
	"github.com/immyoss/engine/resolver"
	"github.com/immyoss/engine/session"
	"github.com/immyoss/engine/targets"
)

// TestSessionThroughMeshCentral runs whole maintenance sessions on this
// machine with MeshCentral as the computer's only pathway: the plugin binary
// under a Manager, the real server, the real MeshAgent. The session
// inventories the computer with the built-in Linux inventory script
// (dpkg-query: this machine's real packages) run through MeshCentral,
// detects, installs and verifies a software with its sh scripts through
// MeshCentral; a second session plans nothing and runs nothing.
func TestSessionThroughMeshCentral(t *testing.T) {
	s := testServer(t)
	if _, err := exec.LookPath("dpkg-query"); err != nil {
		t.Skip("no dpkg on this machine: the Linux inventory script would find no packages")
	}
	cfg, secrets := s.config(false)
	in := startInstances(t, nil, plugins.Spec{ID: "mesh", Config: cfg, Secrets: secrets})[0]
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()

	// The computer, as identification makes it of MeshCentral's nodes.
	agents, err := in.Agents(ctx)
	require.NoError(t, err)
	idn := plugins.Identifier{Clients: plugins.ClientMap{{Integration: "mesh", Client: s.group}: "acme"}}.
		Identify(plugins.Observations{Agents: agents})
	i := slices.IndexFunc(idn.Computers, func(c immy.Computer) bool {
		return len(c.Pathways) == 1 && c.Pathways[0].AgentID == s.node
	})
	require.GreaterOrEqual(t, i, 0, "no computer of node %s: %+v", s.node, idn.Computers)
	c := idn.Computers[i]
	require.Equal(t, "mesh", c.Pathways[0].Integration, "MeshCentral is the computer's only pathway")
	require.Equal(t, "acme", c.Tenant)
	require.True(t, c.Online)

	apps := t.TempDir()
	f := immytest.NewFleet().At("2026-12-07T10:00:00Z").
		Tenant("acme").
		Computer(c.ID, "acme", immy.KindServer, immytest.ComputerFunc(func(x *immy.Computer) {
			x.OS, x.Name = c.OS, c.Name
			x.Pathways = c.Pathways
		})).
		Software("dpkg", immytest.Name("dpkg"), immytest.Versions("1.0")).
		Software("acme-notes", immytest.Name("Acme Notes"), immytest.Versions("3.1"), appScripts(apps)).
		Deploy("dpkg-any", "dpkg", immytest.OnAllComputers(), immytest.Desired(immy.DesiredAnyVersion)).
		Deploy("notes-latest", "acme-notes", immytest.OnTenantComputers("acme"), immytest.Desired(immy.DesiredLatest)).
		BuildValid(t)
	engine := meshEngine(t, f, in)

	rep := runSession(t, engine, session.Request{ID: "first", Computer: c.ID})
	require.Equal(t, session.Passed, rep.Status, "%s %s\n%+v", rep.Reason, rep.Message, rep.Actions)
	byItem := map[string]session.Action{}
	for _, a := range rep.Actions {
		byItem[a.Planned.Item] = a
	}
	notes, dpkg := byItem["acme-notes"], byItem["dpkg"]
	require.Equal(t, resolver.ActionInstall, notes.Planned.Action)
	require.Equal(t, session.Success, notes.Result, "%+v", notes)
	require.Equal(t, session.ReasonVerified, notes.Reason)
	require.Equal(t, resolver.ActionNone, dpkg.Planned.Action, "dpkg is found by the inventory run through MeshCentral")
	require.Equal(t, dpkgVersion(t), dpkg.Planned.Detected)
	// The install ran on this machine, through the MeshAgent.
	require.Equal(t, "3.1\n", readFile(t, filepath.Join(apps, "acme-notes.version")))
	require.Equal(t, "install acme-notes 3.1\n", readFile(t, filepath.Join(apps, "steps.log")))

	rep = runSession(t, engine, session.Request{ID: "second", Computer: c.ID})
	require.Equal(t, session.Passed, rep.Status, "%s %s", rep.Reason, rep.Message)
	for _, a := range rep.Actions {
		require.Equal(t, resolver.ActionNone, a.Planned.Action, "the second session plans nothing: %+v", a)
		require.Zero(t, a.Attempts)
	}
	require.Equal(t, "install acme-notes 3.1\n", readFile(t, filepath.Join(apps, "steps.log")), "nothing ran again")
}

// appScripts detects, installs and uninstalls a software with a version file.
func appScripts(dir string) immytest.SoftwareFunc {
	q := "'" + strings.ReplaceAll(dir, "'", `'\''`) + "'"
	detect := "f=" + q + `/"$software.version"` + "\n" + `[ -f "$f" ] && echo "$software_name $(cat "$f")"` + "\nexit 0\n"
	install := "set -eu\nd=" + q + "\n" + `printf '%s %s %s\n' "$step" "$software" "$version" >> "$d/steps.log"` + "\n" +
		`printf '%s\n' "$version" > "$d/$software.version"` + "\n" + `echo "installed $software $version"` + "\n"
	uninstall := "set -eu\nrm -f " + q + `/"$software.version"` + "\n"
	return func(sw *immy.Software) {
		sw.Detection = immy.Detection{Script: &immy.Script{Language: immy.LanguageShell, Body: detect}}
		sw.Install = &immy.Script{Language: immy.LanguageShell, Body: install}
		sw.Uninstall = &immy.Script{Language: immy.LanguageShell, Body: uninstall}
	}
}

// meshEngine is a session engine whose only way to computers is the
// MeshCentral instance.
func meshEngine(t *testing.T, f *immy.Fleet, in *plugins.Instance) *session.Engine {
	t.Helper()
	cat, err := resolver.NewCatalogue(f)
	require.NoError(t, err)
	ix, err := targets.NewIndex(f, targets.Config{At: f.At})
	require.NoError(t, err)
	planner, err := resolver.NewPlanner(ix, cat, resolver.Config{})
	require.NoError(t, err)
	lookup := func(id string) (immy.Computer, bool) {
		i := slices.IndexFunc(f.Computers, func(c immy.Computer) bool { return c.ID == id })
		if i < 0 {
			return immy.Computer{}, false
		}
		return f.Computers[i], true
	}
	engine, err := session.New(session.Config{
		Planner:       planner,
		Runners:       map[string]immy.ScriptRunner{in.ID(): &plugins.IntegrationRunner{Instance: in, Computer: lookup}},
		ScriptTimeout: time.Minute,
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, engine.Close(ctx))
	})
	return engine
}

func runSession(t *testing.T, engine *session.Engine, req session.Request) session.Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	rep, err := engine.Run(ctx, req)
	require.NoError(t, err)
	return rep
}

func dpkgVersion(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("dpkg-query", "-W", "-f=${Version}", "dpkg").Output()
	require.NoError(t, err)
	return strings.TrimSpace(string(out))
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}
