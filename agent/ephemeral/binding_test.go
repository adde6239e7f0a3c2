package ephemeral

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/agent"
	"github.com/immyoss/engine/immy"
)

func TestBinding(t *testing.T) {
	c := immy.Computer{ID: "c1", Tenant: "acme", UUID: "6A0C1F52-8D3E-4B7A-9C21-3F5E7D9B1A04", OSInstallID: "5f1e2d3c"}
	ok := agent.Status{Ephemeral: true, Tenant: "acme", Identity: immy.Identity{UUID: "6a0c1f52-8d3e-4b7a-9c21-3f5e7d9b1a04", OSInstallID: "5f1e2d3c"}}
	require.Empty(t, mismatch(c, ok))
	for _, tt := range []struct {
		name string
		st   func(agent.Status) agent.Status
		want string
	}{
		{"installed, not ephemeral", func(s agent.Status) agent.Status { s.Ephemeral = false; return s }, "did not enrol as ephemeral"},
		{"another tenant", func(s agent.Status) agent.Status { s.Tenant = "globex"; return s }, `its tenant is "globex", not "acme"`},
		{"another machine", func(s agent.Status) agent.Status { s.Identity.UUID = "00000000-1111-2222-3333-444444444444"; return s }, "its hardware UUID is 00000000"},
		{"wiped", func(s agent.Status) agent.Status { s.Identity.OSInstallID = "ffff"; return s }, "its OS installation id is ffff"},
		{"says nothing", func(s agent.Status) agent.Status { s.Identity = immy.Identity{}; return s }, "neither a hardware UUID nor an OS installation id"},
	} {
		require.Contains(t, mismatch(c, tt.st(ok)), tt.want, tt.name)
	}
}
