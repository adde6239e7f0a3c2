package resolver_test

import (
	"context"
	"fmt"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/immytest"
	"github.com/immyoss/engine/resolver"
	"github.com/immyoss/engine/targets"
)

// exampleMSP is a small MSP: Chrome everywhere at the latest version, but
// Contoso's own deployment keeps its computers on 120 and wins there (a
// single-tenant target ranks above a cross-tenant one); 7-Zip comes off
// servers.
func exampleMSP() *immy.Fleet {
	return immytest.NewFleet().At("2026-11-23T10:00:00Z").
		Tenant("msp").
		Tenant("contoso", immytest.Parent("msp")).
		Tenant("fabrikam", immytest.Parent("msp")).
		Computer("contoso-pc-01", "contoso", immy.KindWorkstation, immytest.Installed("Google Chrome", "119.0.6045.105")).
		Computer("fabrikam-pc-01", "fabrikam", immy.KindWorkstation, immytest.Installed("Google Chrome", "119.0.6045.105")).
		Computer("fabrikam-srv-01", "fabrikam", immy.KindServer, immytest.Installed("7-Zip", "23.01")).
		Software("chrome", immytest.Name("Google Chrome"), immytest.Versions("120.0.6099.71", "131.0.6778.86")).
		Software("7zip", immytest.Name("7-Zip"), immytest.Versions("24.08")).
		Deploy("chrome-latest", "chrome", immytest.OnAllComputers()).
		Deploy("contoso-chrome-120", "chrome", immy.Target{Type: immy.TargetAllComputers, Tenant: "contoso"},
			immytest.DesiredVersion(immy.DesiredThisVersion, "120.0.6099.71")).
		Deploy("7zip-off-servers", "7zip", immy.Target{Type: immy.TargetAllComputers, Filter: immy.FilterServers},
			immytest.Desired(immy.DesiredUninstalled)).
		Build()
}

// PlanFleet is the what-if in one call: every computer's plan from the fleet
// as it stands.
func ExamplePlanFleet() {
	plan, err := resolver.PlanFleet(context.Background(), exampleMSP(), resolver.Config{}, resolver.Session{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, c := range plan.Computers {
		for _, a := range c.Actions() {
			fmt.Printf("%s: %s %s, found %q, brings %q, by %s\n", c.ID, a.Action, a.Item, a.Detected, a.Version, a.Deployment)
		}
	}
	// Output:
	// contoso-pc-01: update chrome, found "119.0.6045.105", brings "120.0.6099.71", by contoso-chrome-120
	// fabrikam-pc-01: update chrome, found "119.0.6045.105", brings "131.0.6778.86", by chrome-latest
	// fabrikam-srv-01: uninstall 7zip, found "23.01", brings "", by 7zip-off-servers
	// fabrikam-srv-01: install chrome, found "", brings "131.0.6778.86", by chrome-latest
}

// A planner is compiled once and plans one computer at a time: what a
// session does with what detection found. Decision explains the winner and
// the rule each other candidate lost on.
func ExampleNewPlanner() {
	f := exampleMSP()
	cat, err := resolver.NewCatalogue(f)
	if err != nil {
		fmt.Println(err)
		return
	}
	ix, err := targets.NewIndex(f, targets.Config{At: f.At})
	if err != nil {
		fmt.Println(err)
		return
	}
	planner, err := resolver.NewPlanner(ix, cat, resolver.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	plan, err := planner.PlanComputer(context.Background(), "contoso-pc-01", resolver.Session{}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	d, _ := plan.Decision("chrome")
	fmt.Println("winner:", d.Winner, d.Desired)
	for _, l := range d.Candidates {
		fmt.Println("lost:", l.Deployment, "on", l.LostOn)
	}
	for _, a := range plan.Actions() {
		fmt.Println(a.Action, a.Item, a.Detected, "->", a.Version)
	}
	// Output:
	// winner: contoso-chrome-120 this-version
	// lost: chrome-latest on scope
	// update chrome 119.0.6045.105 -> 120.0.6099.71
}

// PlanEach streams a whole fleet's plan: each computer's plan as it is
// ready, by id, so that a summary of 100,000 computers never holds them all.
func ExamplePlanner_PlanEach() {
	f := exampleMSP()
	cat, err := resolver.NewCatalogue(f)
	if err != nil {
		fmt.Println(err)
		return
	}
	ix, err := targets.NewIndex(f, targets.Config{At: f.At})
	if err != nil {
		fmt.Println(err)
		return
	}
	planner, err := resolver.NewPlanner(ix, cat, resolver.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	changes := map[resolver.ActionKind]int{}
	for cp, err := range planner.PlanEach(context.Background(), resolver.Session{}) {
		if err != nil {
			fmt.Println(err)
			return
		}
		for _, a := range cp.Actions() {
			changes[a.Action]++
		}
	}
	fmt.Println("install:", changes[resolver.ActionInstall], "update:", changes[resolver.ActionUpdate], "uninstall:", changes[resolver.ActionUninstall])
	// Output:
	// install: 1 update: 2 uninstall: 1
}
