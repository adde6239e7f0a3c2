package inventory_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy/inventory"
)

func TestParseRebootState(t *testing.T) {
	got, err := inventory.ParseRebootState("#immy:reboot 1\r\npending windows-update-reboot-required\r\npending cbs-reboot-pending\r\nboot 2026-12-07T08:01:02.0000000Z\r\n#immy:end\r\n")
	require.NoError(t, err)
	want := inventory.RebootState{Pending: true, Reasons: []string{inventory.PendingCBS, inventory.PendingWindowsUpdate}, Boot: "2026-12-07T08:01:02.0000000Z"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatal(diff)
	}
	for in, msg := range map[string]string{
		"":                                   "not the output of a reboot script",
		"#immy:reboot 1\npending x\n":        "cut short",
		"#immy:reboot 1\nmaybe\n#immy:end\n": `line 2: want "pending REASON" or "boot ID", got "maybe"`,
		"hello\n":                            `line 1: want "#immy:reboot 1" first`,
	} {
		_, err := inventory.ParseRebootState(in)
		require.ErrorContains(t, err, msg, "%q", in)
	}
}

// TestLinuxRebootScript runs the Linux script here with sh, with the host's
// root at a directory where the test writes /var/run/reboot-required.
func TestLinuxRebootScript(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	script, err := inventory.RebootScript(inventory.Linux)
	require.NoError(t, err)
	root := t.TempDir()
	run := func() inventory.RebootState {
		cmd := exec.CommandContext(t.Context(), "sh", "-c", script.Body)
		cmd.Env = append(os.Environ(), "IMMY_HOST_ROOT="+root)
		out, err := cmd.Output()
		require.NoError(t, err)
		st, err := inventory.ParseRebootState(string(out))
		require.NoError(t, err)
		return st
	}
	st := run()
	require.False(t, st.Pending)
	if b, err := os.ReadFile("/proc/sys/kernel/random/boot_id"); err == nil {
		require.Equal(t, strings.TrimSpace(string(b)), st.Boot)
	}
	require.NoError(t, os.MkdirAll(filepath.Join(root, "var/run"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "var/run/reboot-required"), []byte("*** System restart required ***\n"), 0o644))
	st = run()
	require.True(t, st.Pending)
	require.Equal(t, []string{inventory.PendingRebootRequiredFile}, st.Reasons)
}

func FuzzParseRebootState(f *testing.F) {
	f.Add("#immy:reboot 1\npending a\nboot b\n#immy:end\n")
	f.Fuzz(func(t *testing.T, s string) {
		st, err := inventory.ParseRebootState(s)
		if err == nil {
			require.Equal(t, len(st.Reasons) > 0, st.Pending)
		}
	})
}
