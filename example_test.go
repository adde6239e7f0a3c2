package engine_test

import (
	"context"
	"fmt"
	"time"

	"github.com/immyoss/engine/immy/fleetfile"
	"github.com/immyoss/engine/immy/immytest"
	"github.com/immyoss/engine/resolver"
	"github.com/immyoss/engine/session"
	"github.com/immyoss/engine/targets"
)

// Getting started, as the package documentation gives it, on the bundled
// fleet: a computer's plan, then a session that carries out one item of it
// on a fake computer.
func Example_gettingStarted() {
	ctx := context.Background()
	file, err := fleetfile.LoadFile("examples/fleets/msp.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	fleet := file.Fleet
	immytest.FakeScripts(fleet) // scripts the fake computers understand
	cat, err := resolver.NewCatalogue(fleet)
	if err != nil {
		fmt.Println(err)
		return
	}
	ix, err := targets.NewIndex(fleet, targets.Config{At: fleet.At})
	if err != nil {
		fmt.Println(err)
		return
	}
	planner, err := resolver.NewPlanner(ix, cat, resolver.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	plan, err := planner.PlanComputer(ctx, "np-ws-01", resolver.Session{}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, a := range plan.Actions() {
		fmt.Println("planned:", a.Action, a.Item)
	}

	computers := immytest.NewFakeFleet(fleet)
	engine, err := session.New(session.Config{Planner: planner, Runner: computers, Inventory: computers,
		Now: func() time.Time { return fleet.At }})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer engine.Close(ctx)
	// One item (the bundled fleet's tasks are PowerShell, which the fakes do
	// not run); a full maintenance session leaves out Kind and Item.
	report, err := engine.Run(ctx, session.Request{Computer: "np-ws-01", Kind: session.SingleItem, Item: "7zip"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("session:", report.Status)
	for _, a := range report.Actions {
		fmt.Println("ran:", a.Planned.Action, a.Item(), a.Result, a.Reason)
	}
	// Output:
	// planned: install 7zip
	// planned: install adobe-reader
	// planned: task-enforce reader-settings
	// planned: task-enforce bitlocker
	// planned: none chrome
	// planned: none legacy-av
	// session: passed
	// ran: install 7zip success verified
}
