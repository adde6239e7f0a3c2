package targets_test

import (
	"context"
	"fmt"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/targets"
)

func exampleFleet() *immy.Fleet {
	return &immy.Fleet{
		Tenants: []immy.Tenant{
			{ID: "msp"},
			{ID: "contoso", Parent: "msp", Tags: []string{"vip"}},
			{ID: "fabrikam", Parent: "msp", ExcludeFromCrossTenant: true},
		},
		Persons: []immy.Person{{ID: "john", Tenant: "contoso", UPN: "john@contoso.com"}},
		Computers: []immy.Computer{
			{ID: "contoso-lt-01", Tenant: "contoso", Kind: immy.KindPortable, OS: "Windows 11 Pro",
				Tags: []string{"canary"}, Attributes: map[string]string{"site": "hq"}, UPNs: []string{"john@contoso.com"}},
			{ID: "contoso-srv-01", Tenant: "contoso", Kind: immy.KindServer, OS: "Windows Server 2022"},
			{ID: "fabrikam-pc-01", Tenant: "fabrikam", Kind: immy.KindWorkstation, OS: "Windows 11 Pro"},
		},
		Deployments: []immy.Deployment{
			{ID: "everyone", Target: immy.Target{Type: immy.TargetAllComputers}},
			{ID: "msp-workstations", Target: immy.Target{Type: immy.TargetAllComputers, Tenant: "msp",
				PropagateToChildren: true, Filter: immy.FilterWorkstationsAndPortable}},
			{ID: "johns", Target: immy.Target{Type: immy.TargetPerson, Person: "john"}},
			{ID: "vip", Target: immy.Target{Type: immy.TargetTag, Tag: "vip"}},
			{ID: "win11", Target: immy.Target{Type: immy.TargetFilter, Expr: `computer.os startsWith "Windows 11"`}},
		},
	}
}

func ExampleCompile() {
	f, err := targets.Compile(targets.LanguageExpr,
		`computer.os startsWith "Windows 11" and "canary" in computer.tags and computer.attributes["site"] == "hq"`)
	if err != nil {
		fmt.Println(err)
		return
	}
	c := &immy.Computer{ID: "contoso-lt-01", OS: "Windows 11 Pro", Tags: []string{"canary"}, Attributes: map[string]string{"site": "hq"}}
	ok, err := f.Eval(context.Background(), targets.Env{Computer: c})
	fmt.Println(ok, err, f.Native())
	// Output: true <nil> true
}

func ExampleCompile_lua() {
	f, err := targets.Compile(targets.LanguageLua, `
		for _, upn in ipairs(computer.upns) do
			if ends_with(upn:lower(), "@contoso.com") then return true end
		end
		return false`)
	if err != nil {
		fmt.Println(err)
		return
	}
	c := &immy.Computer{ID: "contoso-lt-01", UPNs: []string{"John@Contoso.com"}}
	ok, err := f.Eval(context.Background(), targets.Env{Computer: c})
	fmt.Println(ok, err)
	// Output: true <nil>
}

func ExampleCompile_error() {
	_, err := targets.Compile(targets.LanguageExpr, `computer.os startsWith "Windows" and computer.sit == "hq"`)
	fmt.Println(err)
	_, err = targets.Compile(targets.LanguageLua, `return os.execute("shutdown") == 0`)
	fmt.Println(err)
	// Output:
	// targets: expr filter: line 1, column 47: computer has no field sit, near "...os startsWith \"Windows\" and computer.sit == \"hq\""
	// targets: lua filter: line 1, column 8: unknown name "os" (the sandbox has no os), near "return os.execute(\"shutdown\") == 0"
}

func ExampleIndex_Compile() {
	fleet := exampleFleet()
	ix, err := targets.NewIndex(fleet, targets.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	m, err := ix.Compile(fleet.Deployments)
	if err != nil {
		fmt.Println(err)
		return
	}
	for i, d := range fleet.Deployments {
		cs, err := m.Resolve(context.Background(), i)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s:", d.ID)
		for _, c := range cs {
			fmt.Printf(" %s", fleet.Computers[c].ID)
		}
		fmt.Println()
	}
	// Output:
	// everyone: contoso-lt-01 contoso-srv-01
	// msp-workstations: contoso-lt-01 fabrikam-pc-01
	// johns: contoso-lt-01
	// vip: contoso-lt-01 contoso-srv-01
	// win11: contoso-lt-01
}

func ExampleMatcher_Match() {
	fleet := exampleFleet()
	ix, _ := targets.NewIndex(fleet, targets.Config{})
	m, _ := ix.Compile(fleet.Deployments)
	c, _ := ix.Computer("fabrikam-pc-01")
	matched, err := m.Match(context.Background(), c, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, i := range matched {
		fmt.Println(fleet.Deployments[i].ID)
	}
	// Output: msp-workstations
}

func ExampleMatcher_MatchSplit() {
	fleet := exampleFleet()
	ix, _ := targets.NewIndex(fleet, targets.Config{})
	m, _ := ix.Compile(fleet.Deployments)
	c, _ := ix.Computer("contoso-lt-01")
	// rest: this computer's own matches; shared: what every portable of
	// contoso matches, its group's
	group, rest, err := m.MatchSplit(context.Background(), c, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	shared, err := m.AppendShared(context.Background(), c, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("same group:", group == m.Group(c))
	for _, i := range shared {
		fmt.Println("shared", fleet.Deployments[i].ID)
	}
	for _, i := range rest {
		fmt.Println("own", fleet.Deployments[i].ID)
	}
	// Output:
	// same group: true
	// shared everyone
	// shared msp-workstations
	// own johns
	// own vip
	// own win11
}

func ExampleMatcher_Explain() {
	fleet := exampleFleet()
	ix, _ := targets.NewIndex(fleet, targets.Config{})
	m, _ := ix.Compile(fleet.Deployments)
	c, _ := ix.Computer("fabrikam-pc-01")
	e, err := m.Explain(context.Background(), 4, c) // win11
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(e)
	// Output:
	// deployment "win11" does not select computer "fabrikam-pc-01"
	//   ok   maintenance: computer "fabrikam-pc-01" is not excluded from maintenance
	//   FAIL cross-tenant: tenant "fabrikam" is excluded from cross-tenant deployments
	//   ok   group-filter: kind workstation passes group filter all
	//   ok   target: expr filter "computer.os startsWith \"Windows 11\"" is true for the computer
}
