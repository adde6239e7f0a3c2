package meshcentral_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/plugins"
)

// TestIdentifyAgainstEngineAgent: the MeshAgent's node and the engine's own
// agent run on this one machine, two pathways to one computer. What both
// report of the machine must agree, and identification must make one
// computer of them with both pathways, in the tenant both are enrolled for.
// With an SMBIOS UUID (a real machine or a VM with DMI) it is by the UUID,
// which both must report alike. A machine without SMBIOS (this container
// has no /sys/class/dmi) gives no hardware identity to either agent: the
// MeshAgent reports no sysinfo at all ("this platform does not have DMI
// statistics") and the engine's agent no UUID, serial, manufacturer or
// model; then it is by identification's hostname fallback, on what both do
// report: the same hostname and OS family, in one tenant, one agent per
// integration (an EventHostnameMatch says so).
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
	require.Len(t, res.Computers, 1, "one machine, one computer: %+v", res.Computers)
	c := res.Computers[0]
	require.Equal(t, "acme", c.Tenant)
	var paths []string
	for _, p := range c.Pathways {
		paths = append(paths, p.Integration+"/"+p.AgentID)
	}
	slices.Sort(paths)
	require.Equal(t, []string{"/" + own.status.AgentID, "mesh/" + s.node}, paths, "both pathways")
	byHostname := slices.ContainsFunc(res.Events, func(e plugins.Event) bool {
		return e.Kind == plugins.EventHostnameMatch && e.Computer == c.ID
	})
	if _, ok := plugins.NormalizeUUID(engine.UUID); ok {
		require.Equal(t, engine.UUID, mesh.Identity.UUID, "SMBIOS UUID")
		require.Equal(t, engine.Serial, mesh.Identity.Serial, "serial")
		require.Equal(t, engine.UUID, c.UUID)
		require.False(t, byHostname, "a machine with a UUID is never joined by its hostname")
		return
	}
	t.Logf("this machine exposes no SMBIOS identity: one computer by the hostname %q and OS %q both agents report", engine.Hostname, engine.OS)
	for name, ident := range map[string]immy.Identity{"the node": mesh.Identity, "the engine's agent": engine} {
		require.Empty(t, ident.UUID+ident.Serial+ident.Manufacturer+ident.Model, "%s reports hardware the machine has not: %+v", name, ident)
	}
	require.True(t, byHostname, "joined by the hostname fallback: %+v", res.Events)

	// The setup's second MeshAgent (the offline node) runs on this machine
	// too: with it listed, MeshCentral offers two candidates of one
	// hostname, and the fallback, not knowing which, keeps all apart.
	if slices.ContainsFunc(agents, func(a plugins.Agent) bool {
		return a.ID != s.node && strings.EqualFold(a.Identity.Hostname, engine.Hostname)
	}) {
		t.Logf("another node of hostname %q is listed: all kept apart", engine.Hostname)
		all := append(slices.Clone(agents), plugins.Agent{Integration: "", ID: own.status.AgentID, Client: "acme", Online: true, Identity: engine})
		for _, c := range idr.Identify(plugins.Observations{Agents: all}).Computers {
			require.Len(t, c.Pathways, 1, "two candidates of one hostname are not joined: %+v", c)
		}
	}
}

// withoutCodename drops a trailing " (name)" from an OS description.
func withoutCodename(os string) string {
	if i := strings.LastIndex(os, " ("); i > 0 && strings.HasSuffix(os, ")") {
		return os[:i]
	}
	return os
}
