package resolver_test

import (
	"fmt"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/resolver"
)

// Three deployments of Adobe Reader reach a Contoso laptop: latest for
// everyone, uninstalled for Contoso, and a pinned version for the laptop's
// own tenant with a higher priority. The single-tenant deployments beat the
// cross-tenant one on scope; between them, priority decides.
func ExampleDecide() {
	everyone := &immy.Deployment{ID: "reader-everyone", Item: "adobe-reader",
		Target: immy.Target{Type: immy.TargetAllComputers}, Desired: immy.DesiredLatest}
	notContoso := &immy.Deployment{ID: "reader-not-contoso", Item: "adobe-reader",
		Target: immy.Target{Type: immy.TargetAllComputers, Tenant: "contoso"}, Desired: immy.DesiredUninstalled}
	pinned := &immy.Deployment{ID: "reader-pinned", Item: "adobe-reader",
		Target:  immy.Target{Type: immy.TargetAllComputers, Tenant: "contoso"},
		Desired: immy.DesiredThisVersion, Version: immy.MustParseVersion("23.006.20320"), Priority: 10}

	d, _ := resolver.Decide("adobe-reader", []resolver.Candidate{
		{Deployment: everyone}, {Deployment: notContoso}, {Deployment: pinned},
	}, resolver.DefaultRanking)

	fmt.Println("winner:", d.Winner, d.Desired)
	for _, c := range d.Candidates {
		fmt.Printf("%s lost on %s\n", c.Deployment, c.LostOn)
	}
	// Output:
	// winner: reader-pinned this-version
	// reader-not-contoso lost on priority
	// reader-everyone lost on scope
}

// The 3CX client needs the Visual C++ runtime, which needs the Windows
// update KB2999226. On a computer with none of them, the prerequisites come
// right before their dependents, deepest first; the runtime has no deployment
// of its own, so its action names the item it is there for.
func ExampleCatalogue_Actions() {
	v := immy.MustParseVersion
	f := &immy.Fleet{Software: []immy.Software{
		{ID: "kb2999226", Detection: immy.Detection{DisplayName: "Update for Windows (KB2999226)"},
			Versions: []immy.SoftwareVersion{{Version: v("1.0")}}},
		{ID: "vcredist", Detection: immy.Detection{DisplayName: "Microsoft Visual C++ 2015-2022*"},
			Versions: []immy.SoftwareVersion{{Version: v("14.40.33810.0")}},
			Prerequisites: []immy.Prerequisite{{Condition: immy.ConditionNotInstalled,
				Subjects: []string{"kb2999226"}, Then: immy.PrereqInstall, On: []string{"kb2999226"}}}},
		{ID: "3cx", Detection: immy.Detection{DisplayName: "3CX Desktop App*"},
			Versions: []immy.SoftwareVersion{{Version: v("18.13.959")}},
			Prerequisites: []immy.Prerequisite{{Condition: immy.ConditionNotInstalled,
				Subjects: []string{"vcredist"}, Then: immy.PrereqInstall, On: []string{"vcredist"}}}},
	}}
	cat, err := resolver.NewCatalogue(f)
	if err != nil {
		fmt.Println(err)
		return
	}
	phone := &immy.Deployment{ID: "3cx-northwind", Item: "3cx", Desired: immy.DesiredLatest}
	kb := &immy.Deployment{ID: "kb-if-found", Item: "kb2999226", Desired: immy.DesiredUpdateIfFound}
	decisions := []resolver.Decision{
		{Item: "3cx", Winner: phone.ID, Deployment: phone},
		{Item: "kb2999226", Winner: kb.ID, Deployment: kb},
	}
	for i, a := range cat.Actions(resolver.Session{}, decisions, nil) {
		fmt.Printf("%d. %s %s %s (%s) deployment=%q\n", i+1, a.Action, a.Item, a.Version, a.Reason, a.Deployment)
	}
	// Output:
	// 1. install kb2999226 1.0 (prerequisite-of:vcredist) deployment="kb-if-found"
	// 2. install vcredist 14.40.33810.0 (prerequisite-of:3cx) deployment=""
	// 3. install 3cx 18.13.959 (software-missing) deployment="3cx-northwind"
}

// A prerequisite loop is found when the catalogue is built, with its whole
// path from its smallest id.
func ExampleNewCatalogue_cycle() {
	need := func(id string) []immy.Prerequisite {
		return []immy.Prerequisite{{Condition: immy.ConditionNotInstalled, Subjects: []string{id}, Then: immy.PrereqInstall, On: []string{id}}}
	}
	_, err := resolver.NewCatalogue(&immy.Fleet{Software: []immy.Software{
		{ID: "app-b", Detection: immy.Detection{DisplayName: "B"}, Prerequisites: need("app-c")},
		{ID: "app-c", Detection: immy.Detection{DisplayName: "C"}, Prerequisites: need("app-a")},
		{ID: "app-a", Detection: immy.Detection{DisplayName: "A"}, Prerequisites: need("app-b")},
	}})
	fmt.Println(err)
	// Output:
	// resolver: catalogue: software "app-a": prerequisites[0].on: prerequisite cycle: app-a -> app-b -> app-c -> app-a
}
