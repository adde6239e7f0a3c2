package resolver_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/resolver"
)

// TestZeroDeploymentIsEnabled: an embedder's first deployment, written with
// only what it needs, takes part; one marked Disabled does not.
func TestZeroDeploymentIsEnabled(t *testing.T) {
	f := &immy.Fleet{
		Tenants:   []immy.Tenant{{ID: "t"}},
		Computers: []immy.Computer{{ID: "pc", Tenant: "t", Kind: immy.KindWorkstation}},
		Software: []immy.Software{
			{ID: "app", Name: "App", Detection: immy.Detection{DisplayName: "App"}, Versions: []immy.SoftwareVersion{{Version: immy.MustParseVersion("1.0")}}},
			{ID: "off", Name: "Off", Detection: immy.Detection{DisplayName: "Off"}, Versions: []immy.SoftwareVersion{{Version: immy.MustParseVersion("1.0")}}},
		},
		Deployments: []immy.Deployment{
			{ID: "d-app", Item: "app", Target: immy.Target{Type: immy.TargetAllComputers}, Desired: immy.DesiredLatest},
			{ID: "d-off", Item: "off", Target: immy.Target{Type: immy.TargetAllComputers}, Desired: immy.DesiredLatest, Disabled: true},
		},
	}
	require.NoError(t, f.Validate())
	plan, err := resolver.PlanFleet(context.Background(), f, resolver.Config{}, resolver.Session{})
	require.NoError(t, err)
	require.Len(t, plan.Computers, 1)
	var got []string
	for _, a := range plan.Computers[0].Actions() {
		got = append(got, a.Item+" "+a.Action.String())
	}
	require.Equal(t, []string{"app install"}, got)
}
