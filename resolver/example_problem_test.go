package resolver_test

import (
	"context"
	"fmt"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/resolver"
)

// A filter that fails on one computer holds its item there and the rest of
// the fleet plans: pc-2 has two tags, so computer.tags[3] fails, and the
// "uninstalled" deployment it belongs to neither wins nor lets "latest"
// install the item in its place.
func ExampleComputerPlan_Problems() {
	app := immy.Software{ID: "app", Name: "App", Detection: immy.Detection{DisplayName: "App"},
		Versions: []immy.SoftwareVersion{{Version: immy.MustParseVersion("2.0")}}}
	f := &immy.Fleet{
		Tenants: []immy.Tenant{{ID: "t"}},
		Computers: []immy.Computer{
			{ID: "pc-1", Tenant: "t", Tags: []string{"a", "b", "c", "d"}},
			{ID: "pc-2", Tenant: "t", Tags: []string{"a", "b"}},
		},
		Software: []immy.Software{app},
		Deployments: []immy.Deployment{
			{ID: "latest", Item: "app", Target: immy.Target{Type: immy.TargetAllComputers}, Desired: immy.DesiredLatest},
			{ID: "remove", Item: "app", Target: immy.Target{Type: immy.TargetFilter, Expr: `computer.tags[3] == "d"`},
				Desired: immy.DesiredUninstalled},
		},
	}
	plan, err := resolver.PlanFleet(context.Background(), f, resolver.Config{}, resolver.Session{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, c := range plan.Computers {
		fmt.Printf("%s: %d decisions\n", c.ID, len(c.Decisions()))
		for _, p := range c.Problems() {
			fmt.Printf("  %s %s by %s\n", p.Kind, p.Item, p.Deployment)
		}
	}
	// Output:
	// pc-1: 1 decisions
	// pc-2: 0 decisions
	//   filter-error app by remove
}
