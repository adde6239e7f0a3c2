package immytest_test

import (
	"context"
	"errors"
	"regexp"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/immytest"
)

func lua(body string) immy.Script { return immy.Script{Language: immy.LanguageLua, Body: body} }

func run(t *testing.T, ff *immytest.FakeFleet, computer, body string, params map[string]any) immy.ScriptResult {
	t.Helper()
	res, err := ff.RunScript(context.Background(), immy.ScriptRequest{Computer: computer, Script: lua(body), Parameters: params})
	require.NoError(t, err)
	return res
}

func names(sw []immy.DetectedSoftware) []string {
	var out []string
	for _, s := range sw {
		out = append(out, s.Name+"@"+s.Version.String())
	}
	return out
}

func TestFakeComputerFunctions(t *testing.T) {
	ff := &immytest.FakeFleet{}
	pc := ff.Add("pc")
	require.NoError(t, pc.Install("Zeta", "1.0"))

	res := run(t, ff, "pc", `install(name, version) install("Alpha", "2.0.1", "{ABC}") print("done") return installed("alpha")`,
		map[string]any{"name": "Beta", "version": "3.1"})
	require.Equal(t, immy.ScriptResult{Output: "done\n", Value: "true"}, res)
	if diff := cmp.Diff([]string{"Alpha@2.0.1", "Beta@3.1", "Zeta@1.0"}, names(pc.Software())); diff != "" {
		t.Errorf("software (-want +got):\n%s", diff)
	}
	require.Equal(t, "{ABC}", pc.Software()[0].ProductCode)

	res = run(t, ff, "pc", `return query("BETA")`, nil)
	require.Equal(t, "3.1", res.Value)
	res = run(t, ff, "pc", `return uninstall("beta")`, nil)
	require.Equal(t, "1", res.Value)
	res = run(t, ff, "pc", `local v = query("Beta") return tostring(v)`, nil)
	require.Equal(t, "nil", res.Value)

	run(t, ff, "pc", `set("task:bitlocker", true)`, nil)
	v, ok := pc.Get("task:bitlocker")
	require.True(t, ok)
	require.Equal(t, "true", v)
	res = run(t, ff, "pc", `return get("task:bitlocker") == "true"`, nil)
	require.Equal(t, "true", res.Value)

	res = run(t, ff, "pc", `print("a") exit(3010)`, nil)
	require.Equal(t, 3010, res.ExitCode)
	require.Equal(t, "a", res.Value)

	res = run(t, ff, "pc", "print('x')\nerror('broken installer')", nil)
	require.Equal(t, 1, res.ExitCode)
	require.Equal(t, "script:2: broken installer", res.Value)

	res = run(t, ff, "pc", "this is not lua", nil)
	require.Equal(t, 1, res.ExitCode)
	require.Contains(t, res.Output, "luasandbox: script:1:")

	res = run(t, ff, "pc", `return os == nil and io == nil and require == nil`, nil)
	require.Equal(t, "true", res.Value)

	res = run(t, ff, "pc", `return computer_id .. ":" .. tostring(logged_on_user())`, nil)
	require.Equal(t, "pc:nil", res.Value)
}

func TestFakeInventoryAndLog(t *testing.T) {
	ff := immytest.NewFakeFleet(&immy.Fleet{Computers: []immy.Computer{{
		ID: "pc1", Name: "PC-1", Online: true, UPNs: []string{"ann@x.com", "bob@x.com"},
		Software: []immy.DetectedSoftware{{Name: "B", Version: immy.MustParseVersion("1")}, {Name: "A", Version: immy.MustParseVersion("2")}},
		Tasks:    map[string]bool{"bitlocker": true, "firewall": false},
	}, {ID: "pc2"}}})
	require.Equal(t, []string{"pc1", "pc2"}, ff.IDs())
	inv, err := ff.Inventory(context.Background(), "pc1")
	require.NoError(t, err)
	require.Equal(t, []string{"A@2", "B@1"}, names(inv.Software))
	require.Equal(t, "PC-1", inv.Identity.Hostname)
	require.Equal(t, []string{"ann@x.com", "bob@x.com"}, inv.UPNs)
	v, _ := ff.Computer("pc1").Get("task:firewall")
	require.Equal(t, "false", v)
	res := run(t, ff, "pc1", `return logged_on_user()`, nil)
	require.Equal(t, "ann@x.com", res.Value)

	_, err = ff.Inventory(context.Background(), "pc2")
	require.ErrorIs(t, err, immy.ErrOffline)
	_, err = ff.Inventory(context.Background(), "nope")
	require.ErrorIs(t, err, immy.ErrNotFound)

	runs := ff.Computer("pc1").Runs()
	require.Len(t, runs, 2)
	require.True(t, runs[0].Inventory)
	require.Equal(t, 1, runs[0].Seq)
	require.Equal(t, `return logged_on_user()`, runs[1].Script.Body)
	require.Equal(t, "ann@x.com", runs[1].Result.Value)
}

func TestFakeFaults(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		fault immytest.Fault
		check func(t *testing.T, pc *immytest.FakeComputer, res immy.ScriptResult, err error)
	}{
		{"exit", immytest.Fault{Match: "install", Effect: immytest.FaultExit, ExitCode: 1603}, func(t *testing.T, pc *immytest.FakeComputer, res immy.ScriptResult, err error) {
			require.NoError(t, err)
			require.Equal(t, 1603, res.ExitCode)
			require.Empty(t, pc.Software())
		}},
		{"noop", immytest.Fault{Effect: immytest.FaultNoop}, func(t *testing.T, pc *immytest.FakeComputer, res immy.ScriptResult, err error) {
			require.NoError(t, err)
			require.Equal(t, 0, res.ExitCode)
			require.Empty(t, pc.Software())
		}},
		{"offline", immytest.Fault{Effect: immytest.FaultOffline}, func(t *testing.T, pc *immytest.FakeComputer, res immy.ScriptResult, err error) {
			require.ErrorIs(t, err, immy.ErrOffline)
			require.Empty(t, pc.Software())
			require.False(t, pc.Online())
		}},
		{"offline-after", immytest.Fault{Effect: immytest.FaultOfflineAfter}, func(t *testing.T, pc *immytest.FakeComputer, res immy.ScriptResult, err error) {
			require.ErrorIs(t, err, immy.ErrOffline)
			require.Len(t, pc.Software(), 1, "the script ran before the computer went away")
			require.False(t, pc.Online())
		}},
		{"param-mismatch", immytest.Fault{Param: "version", Value: "9.9", Effect: immytest.FaultExit}, func(t *testing.T, pc *immytest.FakeComputer, res immy.ScriptResult, err error) {
			require.NoError(t, err)
			require.Equal(t, 0, res.ExitCode)
			require.Len(t, pc.Software(), 1)
		}},
		{"skipped", immytest.Fault{Skip: 1, Effect: immytest.FaultExit}, func(t *testing.T, pc *immytest.FakeComputer, res immy.ScriptResult, err error) {
			require.NoError(t, err)
			require.Equal(t, 0, res.ExitCode)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ff := &immytest.FakeFleet{}
			pc := ff.Add("pc")
			pc.Inject(tt.fault)
			res, err := ff.RunScript(ctx, immy.ScriptRequest{Computer: "pc", Script: lua(`install("App", version)`), Parameters: map[string]any{"version": "1.0"}})
			tt.check(t, pc, res, err)
			want := tt.fault.Effect
			if tt.name == "param-mismatch" || tt.name == "skipped" {
				want = immytest.FaultNone
			}
			require.Equal(t, want, pc.Runs()[0].Fault, "the fault logged")
		})
	}
}

func TestFakeFaultTimesAndHang(t *testing.T) {
	ff := &immytest.FakeFleet{}
	pc := ff.Add("pc")
	pc.Inject(immytest.Fault{Times: 1, Effect: immytest.FaultExit})
	res := run(t, ff, "pc", `return 1`, nil)
	require.Equal(t, 1, res.ExitCode)
	res = run(t, ff, "pc", `return 1`, nil)
	require.Equal(t, 0, res.ExitCode)

	pc.Inject(immytest.Fault{Match: "hang", Effect: immytest.FaultHang})
	_, err := ff.RunScript(context.Background(), immy.ScriptRequest{Computer: "pc", Script: lua(`-- hang`), Timeout: time.Millisecond})
	require.ErrorIs(t, err, context.DeadlineExceeded)

	pc.ClearFaults()
	pc.Inject(immytest.Fault{Inventory: true, Effect: immytest.FaultOffline})
	_, err = ff.Inventory(context.Background(), "pc")
	require.ErrorIs(t, err, immy.ErrOffline)
	pc.SetOnline(true)
	pc.ClearFaults()
	_, err = ff.Inventory(context.Background(), "pc")
	require.NoError(t, err)
}

func TestFakeUserContext(t *testing.T) {
	ff := &immytest.FakeFleet{}
	pc := ff.Add("pc")
	req := immy.ScriptRequest{Computer: "pc", Script: immy.Script{Language: immy.LanguageLua, Context: immy.ContextUser, Body: `return logged_on_user()`}}
	_, err := ff.RunScript(context.Background(), req)
	require.ErrorIs(t, err, immy.ErrNoUserLoggedOn)
	pc.LogOn("ann@x.com")
	res, err := ff.RunScript(context.Background(), req)
	require.NoError(t, err)
	require.Equal(t, "ann@x.com", res.Value)
	req.Script.Context = immy.ContextMetascript
	_, err = ff.RunScript(context.Background(), req)
	require.ErrorIs(t, err, immy.ErrInvalid)
}

func TestFakeScripts(t *testing.T) {
	f := &immy.Fleet{
		Software: []immy.Software{
			{ID: "reader", Name: "Adobe Acrobat Reader DC", Detection: immy.Detection{DisplayName: "Adobe Acrobat Reader*"}},
			{ID: "vcredist", Name: "Microsoft Visual C++ Redistributable", Detection: immy.Detection{Regex: `^Microsoft Visual C\+\+ 2015-2022 Redistributable \(x64\)`}},
			{ID: "ver", Name: "Tool", Detection: immy.Detection{Regex: `^Tool (?P<version>\d+\.\d+)$`}},
			{ID: "glob", Name: "Other", Detection: immy.Detection{DisplayName: "Agent ?? for *"}},
			{ID: "msi", Name: "MSI App", Detection: immy.Detection{ProductCode: "{1234}"}, UpgradeStrategy: immy.UpgradeUninstallInstall},
			{ID: "own", Name: "Own", Install: &immy.Script{Body: "mine"}},
		},
		Tasks: []immy.Task{{ID: "bitlocker"}, {ID: "scripted", Script: &immy.Script{Body: "x"}}},
	}
	immytest.FakeScripts(f)
	want := map[string]string{
		"reader":   `install("Adobe Acrobat Reader DC", version)`,
		"vcredist": `install("Microsoft Visual C++ 2015-2022 Redistributable (x64)", version)`,
		"ver":      `install("Tool 0.0", version)`,
		"glob":     `install("Agent xx for ", version)`,
		"msi":      `install("MSI App", version, "{1234}")`,
		"own":      `mine`,
	}
	for _, sw := range f.Software {
		require.Equal(t, want[sw.ID], sw.Install.Body, sw.ID)
		require.NotNil(t, sw.Uninstall, sw.ID)
		if sw.Detection.Regex != "" {
			require.Regexp(t, regexp.MustCompile(sw.Detection.Regex), immytest.DisplayNameFor(&sw))
		}
	}
	require.Equal(t, immy.UpgradeInstallOver, f.Software[0].UpgradeStrategy)
	require.Equal(t, immy.UpgradeUninstallInstall, f.Software[4].UpgradeStrategy)
	require.Equal(t, `return get("task:bitlocker") == "true"`, f.Tasks[0].Test.Body)
	require.Nil(t, f.Tasks[1].Test)

	// The scripts work on a fake computer.
	ff := &immytest.FakeFleet{}
	pc := ff.Add("pc")
	run(t, ff, "pc", f.Software[1].Install.Body, map[string]any{"version": "14.40.33810.0"})
	run(t, ff, "pc", f.Tasks[0].Set.Body, nil)
	require.Equal(t, "true", run(t, ff, "pc", f.Tasks[0].Test.Body, nil).Value)
	run(t, ff, "pc", f.Software[1].Uninstall.Body, nil)
	require.Empty(t, pc.Software())
}

func TestFakeFleetIsARunner(t *testing.T) {
	var _ immy.ScriptRunner = (*immytest.FakeFleet)(nil)
	var _ immy.InventorySource = (*immytest.FakeFleet)(nil)
	_, err := (&immytest.FakeFleet{}).RunScript(context.Background(), immy.ScriptRequest{Computer: "x"})
	require.True(t, errors.Is(err, immy.ErrNotFound))
}
