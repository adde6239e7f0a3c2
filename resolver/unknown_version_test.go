package resolver_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/resolver"
)

// TestUnknownVersionSettles: a software an inventory reports with a version
// that is no version (ParseInventoryVersion's zero Version) is present: no
// install as if absent, and no update or downgrade on a guess that every
// session would repeat; uninstalled still removes it.
func TestUnknownVersionSettles(t *testing.T) {
	unknown := immy.ParseInventoryVersion("nightly")
	require.True(t, unknown.IsZero())
	sw := func(id string) immy.Software {
		return immy.Software{ID: id, Name: id, Detection: immy.Detection{DisplayName: id},
			Versions: []immy.SoftwareVersion{{Version: immy.MustParseVersion("2.0")}}}
	}
	desired := map[string]immy.DesiredState{
		"latest": immy.DesiredLatest, "this": immy.DesiredThisVersion, "older": immy.DesiredOlderOrEqual,
		"any": immy.DesiredAnyVersion, "found": immy.DesiredUpdateIfFound, "gone": immy.DesiredUninstalled,
	}
	f := &immy.Fleet{Tenants: []immy.Tenant{{ID: "t"}}}
	pc := immy.Computer{ID: "pc", Tenant: "t", Kind: immy.KindWorkstation}
	for id, d := range desired {
		f.Software = append(f.Software, sw(id))
		dep := immy.Deployment{ID: "d-" + id, Item: id, Target: immy.Target{Type: immy.TargetAllComputers}, Desired: d}
		if d == immy.DesiredThisVersion || d == immy.DesiredOlderOrEqual {
			dep.Version = immy.MustParseVersion("2.0")
		}
		f.Deployments = append(f.Deployments, dep)
		pc.Software = append(pc.Software, immy.DetectedSoftware{Name: id, Version: unknown})
	}
	f.Computers = []immy.Computer{pc}
	require.NoError(t, f.Validate())
	plan, err := resolver.PlanFleet(context.Background(), f, resolver.Config{}, resolver.Session{})
	require.NoError(t, err)
	got := map[string]string{}
	for _, a := range plan.Computers[0].Actions() {
		got[a.Item] = a.Action.String() + " " + a.Reason
	}
	want := map[string]string{
		"latest": "none version-unknown", "this": "none version-unknown", "older": "none version-unknown",
		"found": "none version-unknown", "any": "none software-detected", "gone": "uninstall software-detected",
	}
	require.Empty(t, cmp.Diff(want, got))
	// The public table agrees with the plan.
	for id, d := range desired {
		var v immy.Version
		if d == immy.DesiredThisVersion || d == immy.DesiredOlderOrEqual {
			v = immy.MustParseVersion("2.0")
		}
		s := sw(id)
		out := resolver.SoftwareAction(d, v, &s, resolver.SoftwareState{Present: true, Version: unknown})
		require.Equal(t, want[id], out.Action.String()+" "+out.Reason, id)
	}
}
