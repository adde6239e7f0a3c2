package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const cloudFleet = `version: 1
tenants:
  - {id: lab, name: Lab}
  - {id: other, name: Other}
tasks:
  - id: marker
    name: Marker
    category: tenant
    test: {language: lua, context: cloud, body: "local r = integration('run_script', {agent = 'shell-1', body = 'test -f marker'}) return r.exit_code == 0"}
    set: {language: lua, context: cloud, body: "integration('run_script', {agent = 'shell-1', body = 'echo from-cloud > marker'})"}
deployments:
  - {id: d-marker, item: marker, mode: enforce, target: {type: all-tenants}}
schedules:
  - id: cloud-now
    cron: '* * * * *'
    execute_right_after_detection: true
    target: {type: all-tenants}
`

// TestCloudTaskThroughPlugin runs the server binary with the example RMM
// plugin (a real plugin process) serving the lab tenant's client, and a
// fleet whose cloud task, scheduled every minute for every tenant, checks
// and sets a marker through integration("run_script") on the tenant's
// agent: the lab tenant's session reaches the plugin that serves lab (the
// marker is written on its agent), the other tenant's, served by no
// plugin, fails and writes nothing. The schedule fires at the next whole
// minute: the test waits up to two.
func TestCloudTaskThroughPlugin(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server and a plugin")
	}
	bin, err := binaries()
	require.NoError(t, err)
	dir := t.TempDir()
	plugin := filepath.Join(dir, "rmm-plugin")
	out, err := exec.Command("go", "build", "-o", plugin, "../rmm-plugin").CombinedOutput()
	require.NoError(t, err, "%s", out)
	b, err := os.ReadFile(plugin)
	require.NoError(t, err)
	sum := sha256.Sum256(b)
	root := filepath.Join(dir, "shells")
	require.NoError(t, os.MkdirAll(root, 0o700))
	fleetFile := filepath.Join(dir, "fleet.yaml")
	require.NoError(t, os.WriteFile(fleetFile, []byte(cloudFleet), 0o600))
	cfgFile := filepath.Join(dir, "immy.yaml")
	require.NoError(t, os.WriteFile(cfgFile, []byte(fmt.Sprintf(`plugins:
  - id: rmm
    path: %s
    sha256: %s
    settings: {shells: shell-1, client: lab-client, root: %s}
    clients: {lab-client: lab}
`, plugin, hex.EncodeToString(sum[:]), root)), 0o600))
	s := startServer(t, bin, filepath.Join(dir, "data"), freePort(t), "--fleet", fleetFile, "--config", cfgFile, "--schedule-interval", "1s")

	marker := filepath.Join(root, "shell-1", "marker")
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(marker)
		return err == nil && string(b) == "from-cloud\n"
	}, 150*time.Second, 500*time.Millisecond, "the lab tenant's cloud task set the marker through its plugin\n%s", s.stderr)

	var l struct {
		Items []struct {
			Computer string `json:"computer"`
			Status   string `json:"status"`
		} `json:"items"`
	}
	require.Eventually(t, func() bool {
		l.Items = nil
		call(t, s.url, s.admin, "GET", "/api/sessions", nil, &l)
		got := map[string]string{}
		for _, it := range l.Items {
			got[it.Computer] = it.Status
		}
		return got["tenant:lab"] == "passed" && got["tenant:other"] == "failed"
	}, 30*time.Second, 500*time.Millisecond, "the lab session passed, the other tenant's failed (no plugin serves it)")
	entries, err := os.ReadDir(filepath.Join(root, "shell-1"))
	require.NoError(t, err)
	require.Len(t, entries, 1, "only the marker: nothing from the other tenant")
}
