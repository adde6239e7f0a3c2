//go:build linux

package agent_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/agent"
	"github.com/immyoss/engine/agent/endpoint"
	"github.com/immyoss/engine/agent/sysinfo"
)

// TestOnInventoryLogons: each inventory an agent sends reaches
// Config.OnInventory with the logons since its previous one: the users
// logged on at the first, none while nobody logs on or off, and a user who
// logs off and on again counts again.
func TestOnInventoryLogons(t *testing.T) {
	var (
		mu  sync.Mutex
		got []agent.Reported
	)
	h := newHarness(t, agent.Config{OnInventory: func(r agent.Reported) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, r)
	}})
	root := recordedRoot(t) // alice and bob, and nobody at the console
	id, _, _ := h.inProcess(endpoint.Config{InstallToken: h.token("acme"), Sysinfo: &sysinfo.Source{Root: root}})
	nobody := filepath.Join(root, "run/systemd/sessions/9")
	session, err := os.ReadFile(nobody)
	require.NoError(t, err)

	inventory := func() agent.Reported {
		t.Helper()
		inv, err := h.srv.Inventory(t.Context(), id)
		require.NoError(t, err)
		mu.Lock()
		defer mu.Unlock()
		r := got[len(got)-1]
		require.Equal(t, inv, r.Inventory)
		require.Equal(t, id, r.AgentID)
		require.Equal(t, id, r.Computer)
		require.False(t, r.Time.IsZero())
		return r
	}
	require.Equal(t, []string{"alice", "bob", "nobody"}, inventory().Logons, "everyone logged on, oldest first")
	require.Empty(t, inventory().Logons, "nobody logged on or off")

	require.NoError(t, os.Remove(nobody)) // nobody logs off
	require.Empty(t, inventory().Logons)
	again := fmt.Sprintf("USER=nobody\nACTIVE=1\nSTATE=active\nTYPE=x11\nCLASS=user\nREALTIME=%d\n", time.Now().UnixMicro())
	require.NotEqual(t, string(session), again)
	require.NoError(t, os.WriteFile(nobody, []byte(again), 0o644)) // and on again
	require.Equal(t, []string{"nobody"}, inventory().Logons, "a logon again counts again")
	mu.Lock()
	require.Len(t, got, 4)
	mu.Unlock()
}
