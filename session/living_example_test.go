package session_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/session"
	"github.com/immyoss/engine/session/fleetstore"
)

// An engine over a living fleet: a deployment edited in the store is what
// the next session plans from, and what sessions find goes back to the
// store.
func ExampleConfig_fleet() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "living")
	defer os.RemoveAll(dir)
	store, err := fleetstore.OpenSQLite(ctx, filepath.Join(dir, "immy.db"), fleetstore.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close()
	v1, _ := immy.ParseVersion("1.0")
	v2, _ := immy.ParseVersion("2.0")
	app := immy.Software{ID: "app", Name: "App", Detection: immy.Detection{DisplayName: "App"},
		UpgradeStrategy: immy.UpgradeInstallOver, Versions: []immy.SoftwareVersion{{Version: v1}, {Version: v2}},
		Install: &immy.Script{Body: "install"}, Uninstall: &immy.Script{Body: "uninstall"}}
	dep := immy.Deployment{ID: "d-app", Item: "app", Target: immy.Target{Type: immy.TargetAllComputers},
		Desired: immy.DesiredThisVersion, Version: v1}
	if _, err := store.Apply(ctx, fleetstore.Change{Base: store.Revision(), Actor: "alice", Ops: []fleetstore.Op{
		fleetstore.PutTenant(immy.Tenant{ID: "contoso"}),
		fleetstore.PutComputer(immy.Computer{ID: "pc1", Tenant: "contoso", Kind: immy.KindWorkstation}),
		fleetstore.PutSoftware(app),
		fleetstore.PutDeployment(dep),
	}}); err != nil {
		fmt.Println(err)
		return
	}

	runner := &livingRunner{software: map[string]map[string]immy.DetectedSoftware{"pc1": {}}}
	engine, err := session.New(session.Config{
		Fleet:         store, // plans from the store's current revision
		InventorySink: fleetstore.SessionSink(store),
		Runner:        runner, Inventory: runner,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer engine.Close(ctx)
	run := func() {
		id, _ := engine.Start(ctx, session.Request{Computer: "pc1"})
		rep, _ := engine.Wait(ctx, id)
		a := rep.Actions[0]
		fmt.Printf("planned from revision %d: %s %s, %s\n", rep.Revision, a.Planned.Action, a.Planned.Version, rep.Status)
	}
	run()
	fmt.Println("the store has", store.Fleet().Computers[0].Software[0].Name, store.Fleet().Computers[0].Software[0].Version)

	dep.Version = v2
	if _, err := store.Apply(ctx, fleetstore.Change{Base: 1, Actor: "alice", Ops: []fleetstore.Op{fleetstore.PutDeployment(dep)}}); err != nil {
		fmt.Println(err)
		return
	}
	run()
	fmt.Println("the store has", store.Fleet().Computers[0].Software[0].Name, store.Fleet().Computers[0].Software[0].Version)
	// Output:
	// planned from revision 1: install 1.0, passed
	// the store has App 1.0
	// planned from revision 3: update 2.0, passed
	// the store has App 2.0
}
