package resolver_test

import (
	"context"
	"fmt"
	"slices"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/resolver"
	"github.com/immyoss/engine/targets"
)

// An admin pins 7-Zip to be removed from Contoso's computers: the planner is
// updated rather than rebuilt, the computers the edit touches are planned
// again, and the diff says what the edit does. The planner before the edit
// still plans as it did, for the sessions that began with it.
func ExamplePlanner_Update() {
	v := immy.MustParseVersion
	f := &immy.Fleet{
		Tenants: []immy.Tenant{{ID: "contoso"}, {ID: "fabrikam"}},
		Computers: []immy.Computer{
			{ID: "contoso-01", Tenant: "contoso", Kind: immy.KindWorkstation,
				Software: []immy.DetectedSoftware{{Name: "7-Zip 23.01", Version: v("23.01")}}},
			{ID: "fabrikam-01", Tenant: "fabrikam", Kind: immy.KindWorkstation},
		},
		Software: []immy.Software{{ID: "7zip", Detection: immy.Detection{DisplayName: "7-Zip*"},
			Versions: []immy.SoftwareVersion{{Version: v("23.01")}, {Version: v("24.08")}}}},
		Deployments: []immy.Deployment{
			{ID: "7zip-everyone", Item: "7zip", Target: immy.Target{Type: immy.TargetAllComputers}, Desired: immy.DesiredLatest},
			{ID: "7zip-contoso", Item: "7zip", Target: immy.Target{Type: immy.TargetAllComputers, Tenant: "contoso"},
				Desired: immy.DesiredLatest},
		},
	}
	ctx := context.Background()
	cat, _ := resolver.NewCatalogue(f)
	ix, _ := targets.NewIndex(f, targets.Config{})
	p, _ := resolver.NewPlanner(ix, cat, resolver.Config{})
	plan, _ := p.Plan(ctx, resolver.Session{})

	// The edit, as the fleet store makes it: a new fleet sharing what did
	// not change, and the ids of what did.
	next := *f
	next.Deployments = slices.Clone(f.Deployments)
	next.Deployments[1].Desired = immy.DesiredUninstalled
	ch := resolver.Changes{Deployments: []string{"7zip-contoso"}}

	q, err := p.Update(&next, ch)
	if err != nil {
		fmt.Println(err)
		return
	}
	ids, all, _ := q.Touched(ctx, p, ch)
	fmt.Println("touched:", ids, all)
	after, _ := q.Replan(ctx, plan, resolver.Session{}, ids, all)
	for _, c := range resolver.Diff(plan, after).Computers {
		for _, a := range c.Actions {
			fmt.Printf("%s: %s %s -> %s\n", c.ID, a.Item, a.Old.Action, a.New.Action)
		}
	}
	// Output:
	// touched: [contoso-01] false
	// contoso-01: 7zip update -> uninstall
}
