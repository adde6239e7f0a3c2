package meshcentral_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/plugins"
)

// TestIdentifyAgainstEngineAgent: the MeshAgent's node and the engine's own
// agent run on this one machine, two pathways to one computer. What both
// report of the machine must agree; with an SMBIOS UUID (a real machine or
// a VM with DMI), identification merges them into one computer with both
// pathways. A machine without SMBIOS (this container has no
// /sys/class/dmi) gives no hardware identity to either agent: the MeshAgent
// reports no sysinfo at all ("this platform does not have DMI statistics"),
// and the engine keeps them as two computers, as it must for agents with
// nothing to vouch for their hardware; then the hostname and the OS, which
// both do report, are compared.
func TestIdentifyAgainstEngineAgent(t *testing.T) {
	s := testServer(t)
	own := startEngineAgent(t, "acme")
	cfg, secrets := s.config(false)
	in := startInstances(t, nil, plugins.Spec{ID: "mesh", Config: cfg, Secrets: secrets})[0]
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	agents, err := in.Agents(ctx)
	require.NoError(t, err)
	i := slices.IndexFunc(agents, func(a plugins.Agent) bool { return a.ID == s.node })
	require.GreaterOrEqual(t, i, 0, "node %s not listed", s.node)
	mesh := agents[i]
	engine := own.status.Identity
	t.Logf("MeshCentral's node: %+v", mesh.Identity)
	t.Logf("the engine's agent: %+v", engine)

	// what both report
	require.NotEmpty(t, mesh.Identity.Hostname)
	require.Equal(t, engine.Hostname, mesh.Identity.Hostname, "hostname")
	// the engine's agent says "Debian GNU/Linux 12", the MeshAgent adds the
	// release's name, "Debian GNU/Linux 12 (bookworm)"
	require.Equal(t, engine.OS, withoutCodename(mesh.Identity.OS), "OS")

	idr := plugins.Identifier{Clients: plugins.ClientMap{{Integration: "mesh", Client: s.group}: "acme"}}
	res := idr.Identify(plugins.Observations{Agents: []plugins.Agent{
		mesh,
		{Integration: "", ID: own.status.AgentID, Client: "acme", Name: engine.Hostname, Online: true, Identity: engine},
	}})
	if _, ok := plugins.NormalizeUUID(engine.UUID); ok {
		require.Equal(t, engine.UUID, mesh.Identity.UUID, "SMBIOS UUID")
		require.Equal(t, engine.Serial, mesh.Identity.Serial, "serial")
		require.Len(t, res.Computers, 1, "one machine, one computer: %+v", res.Computers)
		require.Len(t, res.Computers[0].Pathways, 2)
		require.Equal(t, "acme", res.Computers[0].Tenant)
		return
	}
	t.Logf("this machine exposes no SMBIOS identity: compared the hostname %q and OS %q both agents report", engine.Hostname, engine.OS)
	require.Empty(t, mesh.Identity.UUID, "the node reports a UUID the machine has not")
	require.Len(t, res.Computers, 2, "without hardware identity the agents are not merged: %+v", res.Computers)
}

// withoutCodename drops a trailing " (name)" from an OS description.
func withoutCodename(os string) string {
	if i := strings.LastIndex(os, " ("); i > 0 && strings.HasSuffix(os, ")") {
		return os[:i]
	}
	return os
}
