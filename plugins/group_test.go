//go:build unix

package plugins_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
)

// Issue 16: a child a plugin started plainly (not with sdk.StartChild) ends
// with the plugin: the host starts each plugin in its own process group and
// ends the group when the plugin ends, killed by -9 or stopped.
func TestPluginGroupEndsWithPlugin(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	for _, end := range []string{"kill -9", "stop"} {
		t.Run(end, func(t *testing.T) {
			in := h.start(t, "rmm-"+strings.ReplaceAll(end, " ", ""), nil)
			res, err := in.RunScript(ctx, immy.ScriptRequest{Computer: "agent-1", Script: shell("spawn 60")})
			require.NoError(t, err)
			var child, plugin int
			_, err = fmt.Sscan(res.Output, &child, &plugin)
			require.NoError(t, err, res.Output)
			require.True(t, running(child))

			if end == "kill -9" {
				require.NoError(t, syscall.Kill(plugin, syscall.SIGKILL))
			} else {
				require.NoError(t, h.m.Stop(in.ID()))
			}
			require.Eventually(t, func() bool { return !running(child) }, 5*time.Second, 20*time.Millisecond,
				"the plugin's child %d outlived it", child)
		})
	}
}

// running reports whether a process runs (a zombie does not count).
func running(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}
