package sysinfo_test

import (
	"encoding/json"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/agent/sysinfo"
	"github.com/immyoss/engine/immy/inventory"
)

// The agent and the inventory scripts that run through an RMM read software
// with one parser: these tests hold the two ways of reading one machine to
// the same answer.

// TestInventoryScriptReadsAsTheAgent runs the Linux inventory script on this
// machine with sh and compares it with what the agent reports of it.
func TestInventoryScriptReadsAsTheAgent(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the agent reads Linux software on Linux")
	}
	if _, err := exec.LookPath("dpkg-query"); err != nil {
		t.Skip("no dpkg on this machine")
	}
	script, err := inventory.Script(inventory.Linux)
	require.NoError(t, err)
	out, err := exec.CommandContext(t.Context(), "sh", "-c", script.Body).Output()
	require.NoError(t, err)
	fromScript, err := inventory.Parse(string(out))
	require.NoError(t, err)

	var src sysinfo.Source
	fromAgent, err := src.Software(t.Context())
	require.NoError(t, err)
	require.NotEmpty(t, fromAgent)
	if diff := cmp.Diff(fromAgent, fromScript); diff != "" {
		t.Fatalf("agent against script (-agent +script):\n%s", diff)
	}
}

// TestWindowsScriptFormatReadsAsTheAgent prints recorded Windows machines'
// registry as the Windows inventory script prints it and compares the parse
// with the agent's inventory of them.
func TestWindowsScriptFormatReadsAsTheAgent(t *testing.T) {
	for _, name := range []string{"laptop", "server", "dc"} {
		t.Run(name, func(t *testing.T) {
			w := loadSnapshot(t, name)
			var b strings.Builder
			b.WriteString("#immy:inventory 1\r\n#immy:section windows-uninstall\r\n")
			for _, e := range w.Uninstall {
				line, err := json.Marshal(e)
				require.NoError(t, err)
				b.Write(line)
				b.WriteString("\r\n")
			}
			b.WriteString("#immy:section windows-upgrade-codes\r\n")
			for up, products := range w.UpgradeCodes {
				for _, p := range products {
					b.WriteString(up + "\t" + p + "\r\n")
				}
			}
			b.WriteString("#immy:end\r\n")
			got, err := inventory.Parse(b.String())
			require.NoError(t, err)
			want := w.Software()
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("agent against script (-agent +script):\n%s", diff)
			}
			var codes int
			for _, s := range got {
				if s.UpgradeCode != "" {
					codes++
				}
			}
			t.Logf("%d entries, %d with an upgrade code", len(got), codes)
		})
	}
}
