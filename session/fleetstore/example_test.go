package fleetstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/resolver"
	"github.com/immyoss/engine/session/fleetstore"
)

func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "fleetstore")
	defer os.RemoveAll(dir)
	store, err := fleetstore.OpenSQLite(ctx, filepath.Join(dir, "immy.db"), fleetstore.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close()

	// An admin creates a tenant, a computer, a software and its deployment.
	chrome := immy.Software{ID: "chrome", Name: "Google Chrome", Detection: immy.Detection{DisplayName: "Google Chrome"},
		UpgradeStrategy: immy.UpgradeInstallOver}
	deploy := immy.Deployment{ID: "d1", Item: "chrome", Target: immy.Target{Type: immy.TargetAllComputers},
		Desired: immy.DesiredLatest}
	rev, err := store.Apply(ctx, fleetstore.Change{Base: store.Revision(), Actor: "alice", Ops: []fleetstore.Op{
		fleetstore.PutTenant(immy.Tenant{ID: "contoso", Name: "Contoso"}),
		fleetstore.PutComputer(immy.Computer{ID: "pc1", Tenant: "contoso", Kind: immy.KindWorkstation}),
		fleetstore.PutSoftware(chrome),
		fleetstore.PutDeployment(deploy),
	}})
	fmt.Println("revision", rev, err)

	// The agent reports; its write never conflicts with an admin's edit.
	online := true
	rev, err = store.PutInventory(ctx, []fleetstore.Inventory{{Computer: "pc1", OS: "Windows 11 Pro", Online: &online,
		Logons: []string{"john@contoso.com"}}})
	fmt.Println("revision", rev, err, store.Fleet().Computers[0].OS)

	// Two admins edit the deployment against revision 1: the second is refused.
	deploy.Priority = 10
	_, err = store.Apply(ctx, fleetstore.Change{Base: 1, Actor: "alice", Ops: []fleetstore.Op{fleetstore.PutDeployment(deploy)}})
	fmt.Println("alice:", err)
	deploy.Priority = 20
	_, err = store.Apply(ctx, fleetstore.Change{Base: 1, Actor: "bob", Ops: []fleetstore.Op{fleetstore.PutDeployment(deploy)}})
	var conflict *fleetstore.ConflictError
	fmt.Println("bob refused:", errors.As(err, &conflict), conflict.Kind, conflict.ID)

	// A change that breaks a rule lands nowhere, and says why.
	_, err = store.Apply(ctx, fleetstore.Change{Base: store.Revision(), Actor: "bob", Ops: []fleetstore.Op{
		fleetstore.Delete(fleetstore.KindSoftware, "chrome")}})
	var problems immy.Problems
	if errors.As(err, &problems) {
		for _, p := range problems {
			fmt.Println("refused:", p.Section, p.ID, p.Field)
		}
	}
	fmt.Println("still revision", store.Revision(), "with", len(store.Fleet().Software), "software")

	log, _ := store.EntityLog(ctx, fleetstore.KindDeployment, "d1", fleetstore.Page{})
	for _, e := range log {
		fmt.Println(e.Revision, e.Actor, e.Op)
	}
	// Output:
	// revision 1 <nil>
	// revision 2 <nil> Windows 11 Pro
	// alice: <nil>
	// bob refused: true deployment d1
	// refused: deployments d1 item
	// still revision 3 with 1 software
	// 1 alice create
	// 3 alice update
}

// A fleet file applied as one source: the first apply creates its entities
// (and the starting inventory of its computers); a later version is
// previewed, then applied, and deletes only what the file created.
func ExampleStore_SourceChange() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "fleetstore")
	defer os.RemoveAll(dir)
	store, err := fleetstore.OpenSQLite(ctx, filepath.Join(dir, "immy.db"), fleetstore.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close()

	chrome := immy.Software{ID: "chrome", Name: "Google Chrome", Detection: immy.Detection{DisplayName: "Google Chrome"},
		UpgradeStrategy: immy.UpgradeInstallOver, Versions: []immy.SoftwareVersion{{Version: immy.MustParseVersion("131.0")}}}
	file := &immy.Fleet{
		Tenants:     []immy.Tenant{{ID: "contoso", Name: "Contoso"}},
		Computers:   []immy.Computer{{ID: "pc1", Tenant: "contoso", Kind: immy.KindWorkstation, OS: "Windows 11 Pro"}},
		Software:    []immy.Software{chrome},
		Deployments: []immy.Deployment{{ID: "d1", Item: "chrome", Target: immy.Target{Type: immy.TargetAllComputers}, Desired: immy.DesiredLatest}},
	}
	apply := func(f *immy.Fleet) {
		ch, err := store.SourceChange(ctx, f, "fleetfile:fleet.yaml")
		if err != nil {
			fmt.Println(err)
			return
		}
		ch.Actor = "gitops"
		p, err := store.PreviewChange(ctx, ch, resolver.Config{}, resolver.Session{})
		if err != nil {
			fmt.Println(err)
			return
		}
		for _, e := range p.Entities {
			fmt.Println(e.Op, e.Kind, e.ID)
		}
		for _, c := range p.Diff.Computers {
			for _, a := range c.Actions {
				fmt.Println(c.ID, a.Item, a.Change)
			}
		}
		rev, err := store.Apply(ctx, ch)
		fmt.Println("revision", rev, err)
	}
	apply(file)

	// The next version drops the deployment.
	next := *file
	next.Deployments = nil
	apply(&next)
	fmt.Println(store.Fleet().Computers[0].OS)
	// Output:
	// create tenant contoso
	// create computer pc1
	// create software chrome
	// create deployment d1
	// pc1 chrome added
	// revision 1 <nil>
	// delete deployment d1
	// pc1 chrome removed
	// revision 2 <nil>
	// Windows 11 Pro
}
