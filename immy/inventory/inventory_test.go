package inventory_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/inventory"
)

func ver(s string) immy.Version { return immy.ParseInventoryVersion(s) }

// windowsOutput is what the Windows script prints on a machine with 64- and
// 32-bit software, a per-user install, a system component and an update.
const windowsOutput = "#immy:inventory 1\r\n" +
	"#immy:section windows-uninstall\r\n" +
	`{"hive":"HKLM","key":"{23170F69-40C1-2702-2301-000001000000}","DisplayName":"7-Zip 23.01 (x64 edition)","DisplayVersion":"23.01.00.0","Publisher":"Igor Pavlov","WindowsInstaller":1}` + "\r\n" +
	`{"hive":"HKLM","key":"{90160000-008C-0000-1000-0000000FF1CE}","DisplayName":"Office 16 Click-to-Run Extensibility Component","SystemComponent":1}` + "\r\n" +
	`{"hive":"HKLM\\WOW6432Node","key":"Notepad++","DisplayName":"Notepad++ (32-bit x86)","DisplayVersion":"8.6.2","Publisher":"Notepad++ Team"}` + "\r\n" +
	`{"hive":"HKLM\\WOW6432Node","key":"KB5034441","DisplayName":"Security Update for Windows (KB5034441)","ParentKeyName":"OperatingSystem","ReleaseType":"Security Update"}` + "\r\n" +
	`{"hive":"HKU\\S-1-5-21-1004336348-1177238915-682003330-1001","key":"Zoom","DisplayName":"Zoom Workplace","DisplayVersion":"6.0.2 (37600)","Publisher":"Zoom Video Communications, Inc."}` + "\r\n" +
	"#immy:section windows-upgrade-codes\r\n" +
	"96F071321C0420723210000010000000\t96F071321C0420721320000010000000\r\n" +
	"#immy:end\r\n"

func TestParse(t *testing.T) {
	got, err := inventory.Parse(windowsOutput)
	require.NoError(t, err)
	want := []immy.DetectedSoftware{
		{Name: "7-Zip 23.01 (x64 edition)", Version: ver("23.01.00.0"), Publisher: "Igor Pavlov",
			ProductCode: "{23170F69-40C1-2702-2301-000001000000}", UpgradeCode: "{23170F69-40C1-2702-0000-000004000000}"},
		{Name: "Notepad++ (32-bit x86)", Version: ver("8.6.2"), Publisher: "Notepad++ Team"},
		{Name: "Zoom Workplace", Version: ver("6.0.2 (37600)"), Publisher: "Zoom Video Communications, Inc."},
	}
	up, ok := inventory.UnpackGUID("96F071321C0420723210000010000000")
	require.True(t, ok)
	want[0].UpgradeCode = up
	pc, ok := inventory.UnpackGUID("96F071321C0420721320000010000000")
	require.True(t, ok)
	want[0].ProductCode = pc
	got2, err := inventory.Parse(strings.Replace(windowsOutput, "{23170F69-40C1-2702-2301-000001000000}", pc, 1))
	require.NoError(t, err)
	if diff := cmp.Diff(want, got2); diff != "" {
		t.Fatalf("windows (-want +got):\n%s", diff)
	}
	require.Len(t, got, 3)

	linux := "#immy:inventory 1\n#immy:section dpkg\nPackage: b\nStatus: install ok installed\nVersion: 2.0-1\nOrigin: \nMaintainer: B Team <b@example.org>\n\n" +
		"Package: gone\nStatus: deinstall ok config-files\nVersion: 1\n\n" +
		"#immy:section rpm\na\t1.0\t(none)\ngpg-pubkey\t1\t(none)\n#immy:end\n"
	got, err = inventory.Parse(linux)
	require.NoError(t, err)
	if diff := cmp.Diff([]immy.DetectedSoftware{{Name: "a", Version: ver("1.0")}, {Name: "b", Version: ver("2.0-1"), Publisher: "B Team"}}, got); diff != "" {
		t.Fatalf("linux (-want +got):\n%s", diff)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tt := range []struct {
		name, in string
		errs     []string
	}{
		{"empty", "", []string{`no "#immy:inventory 1" line`}},
		{"not an inventory", "bash: dpkg-query: command not found\n", []string{`line 1: want "#immy:inventory 1" first`}},
		{"cut short", "#immy:inventory 1\n#immy:section rpm\na\t1\tx\n", []string{"line 3: the output ends without \"#immy:end\": it was cut short"}},
		{"failure and bad lines", "#immy:inventory 1\nstray\n#immy:section dpkg\nno colon\n#immy:error dpkg-query exited with status 2\n#immy:section windows-uninstall\n{\"hive\":1}\n#immy:section windows-upgrade-codes\nshort\tcode\n#immy:section apk\nx\n#immy:end\n",
			[]string{`line 2: "stray" outside a section`, "line 5: the script failed: dpkg-query exited with status 2",
				"section dpkg (line 3): inventory: dpkg status: line 1: want \"Field: value\"", "line 7: want an Uninstall entry as JSON",
				`line 9: want "PACKED-UPGRADE-CODE<TAB>PACKED-PRODUCT-CODE"`, `line 10: unknown section "apk"`}},
		{"after the end", "#immy:inventory 1\n#immy:end\nmore\n", []string{`line 3: output after "#immy:end"`}},
		{"too large", "#immy:inventory 1\n" + strings.Repeat("x", inventory.MaxOutput), []string{"more than the 8388608 bytes read"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sw, err := inventory.Parse(tt.in)
			require.Error(t, err)
			require.Nil(t, sw, "nothing half-read")
			for _, want := range tt.errs {
				require.ErrorContains(t, err, want)
			}
		})
	}
}

// shRunner runs sh scripts on this machine, as an agent would.
type shRunner struct{ calls []immy.ScriptRequest }

func (r *shRunner) RunScript(ctx context.Context, req immy.ScriptRequest) (immy.ScriptResult, error) {
	r.calls = append(r.calls, req)
	out, err := exec.CommandContext(ctx, "sh", "-c", req.Script.Body).CombinedOutput()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return immy.ScriptResult{ExitCode: exit.ExitCode(), Output: string(out)}, nil
	}
	return immy.ScriptResult{Output: string(out)}, err
}

// TestLinuxScriptOnThisMachine runs the Linux script here with sh and
// compares what it reads with what the parser reads from dpkg's status
// database itself (the agent's way).
func TestLinuxScriptOnThisMachine(t *testing.T) {
	if _, err := exec.LookPath("dpkg-query"); err != nil {
		t.Skip("no dpkg on this machine")
	}
	r := &shRunner{}
	got, err := inventory.Collect(t.Context(), r, "this-machine", inventory.Linux)
	require.NoError(t, err)
	require.Len(t, r.calls, 1)
	require.Equal(t, inventory.MaxOutput, r.calls[0].MaxOutput)
	require.Equal(t, immy.LanguageShell, r.calls[0].Script.Language)

	f, err := os.Open("/var/lib/dpkg/status")
	require.NoError(t, err)
	defer f.Close()
	want, err := inventory.ParseDpkgStatus(f)
	require.NoError(t, err)
	require.NotEmpty(t, want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("script against dpkg's database (-database +script):\n%s", diff)
	}
	var dpkg bool
	for _, s := range got {
		dpkg = dpkg || s.Name == "dpkg"
	}
	require.True(t, dpkg, "dpkg itself is installed")
}

// fakeRunner answers one result or error.
type fakeRunner struct {
	res immy.ScriptResult
	err error
}

func (r fakeRunner) RunScript(context.Context, immy.ScriptRequest) (immy.ScriptResult, error) {
	return r.res, r.err
}

func TestCollectFailures(t *testing.T) {
	ctx := t.Context()
	_, err := inventory.Collect(ctx, fakeRunner{err: immy.ErrOffline}, "c1", inventory.Windows)
	require.ErrorIs(t, err, immy.ErrOffline)
	require.ErrorContains(t, err, `inventory: windows script on "c1"`)

	_, err = inventory.Collect(ctx, fakeRunner{res: immy.ScriptResult{Output: "#immy:inventory 1\n", Truncated: true}}, "c1", inventory.Linux)
	require.ErrorContains(t, err, "the runner cut its output")

	_, err = inventory.Collect(ctx, fakeRunner{res: immy.ScriptResult{ExitCode: 127, Output: "sh: 1: dpkg-query: Permission denied"}}, "c1", inventory.Linux)
	require.ErrorContains(t, err, "exited with code 127: sh: 1: dpkg-query: Permission denied")

	_, err = inventory.Collect(ctx, fakeRunner{}, "c1", inventory.Platform("plan9"))
	require.ErrorIs(t, err, errors.ErrUnsupported)
}

func FuzzParse(f *testing.F) {
	f.Add(windowsOutput)
	f.Add("#immy:inventory 1\n#immy:section dpkg\nPackage: a\nStatus: install ok installed\nVersion: 1\n\n#immy:section rpm\na\t1\tv\n#immy:end\n")
	f.Fuzz(func(t *testing.T, s string) {
		sw, err := inventory.Parse(s)
		if err != nil {
			require.Nil(t, sw)
			return
		}
		for _, d := range sw {
			require.NotEmpty(t, d.Name)
		}
	})
}
