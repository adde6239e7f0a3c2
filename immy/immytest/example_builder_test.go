package immytest_test

import (
	"fmt"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/immytest"
)

func ExampleNewFleet() {
	f := immytest.NewFleet().
		Tenant("contoso").
		Person("john", "contoso", "john@contoso.com").
		Computer("pc1", "contoso", immy.KindWorkstation,
			immytest.OS("Windows 11 Pro"),
			immytest.UPNs("john@contoso.com"),
			immytest.Installed("Google Chrome", "118.0")).
		Software("chrome", immytest.Name("Google Chrome"), immytest.Versions("119.0", "118.0")).
		Deploy("d1", "chrome", immytest.OnTenantComputers("contoso")).
		Build()

	d := f.Deployments[0]
	fmt.Println(len(f.Tenants), "tenant,", len(f.Computers), "computer,", len(f.Deployments), "deployment")
	fmt.Println(d.ID, d.Desired, d.Target.Type, d.Target.Tenant, "enabled:", !d.Disabled)
	fmt.Println("valid:", f.Validate() == nil)
	// Output:
	// 1 tenant, 1 computer, 1 deployment
	// d1 latest all-computers contoso enabled: true
	// valid: true
}

func ExampleGenerate() {
	f := immytest.Generate(immytest.GenConfig{Seed: 42, Tenants: 5, Computers: 200, Software: 30, Deployments: 60})
	fmt.Println(len(f.Tenants), "tenants,", len(f.Computers), "computers,", len(f.Persons), "persons")
	fmt.Println(len(f.Software), "software,", len(f.Tasks), "tasks,", len(f.Deployments), "deployments")
	fmt.Println("valid:", f.Validate() == nil)
	// Output:
	// 5 tenants, 200 computers, 50 persons
	// 30 software, 8 tasks, 60 deployments
	// valid: true
}

func ExampleFleetScale() {
	cfg := immytest.FleetScale(100_000)
	fmt.Println(cfg.Tenants, "tenants,", cfg.Persons, "persons,", cfg.Deployments, "deployments over",
		cfg.Software+cfg.Tasks, "items, prerequisite chains up to", cfg.PrereqDepth)
	// Output:
	// 2000 tenants, 20000 persons, 5000 deployments over 500 items, prerequisite chains up to 4
}
