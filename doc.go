// Package engine is the core of an MSP endpoint-automation platform, as a Go
// library: it keeps a fleet of customers' computers in a desired state.
//
// An MSP manages tenants (customers), each with computers and persons. It writes
// deployments: rules that give a maintenance item (a software or a task) a desired
// state on a target (a set of computers). A maintenance session brings one
// computer into compliance: it decides which deployment wins for each item,
// detects the computer's state, plans the actions, prerequisites first, executes
// them and verifies the result.
//
// The module is layered; imports point down only:
//
//   - [github.com/immyoss/engine/immy] is the vocabulary: tenants, computers,
//     software, tasks, deployments, targets, versions, validation. Its
//     subpackage fleetfile reads and writes the declarative fleet file, and
//     immytest holds fakes, builders and generated fleets for tests.
//   - [github.com/immyoss/engine/targets] answers which computers (or tenants) a
//     target selects, with expr and Lua filters compiled once.
//   - [github.com/immyoss/engine/resolver] picks the winning deployment for each
//     item and computer, explains why, turns desired and detected state into
//     actions, and orders them with their prerequisites.
//   - [github.com/immyoss/engine/session] runs maintenance sessions.
//   - [github.com/immyoss/engine/plugins] runs RMM and PSA integrations as
//     go-plugin processes; [github.com/immyoss/engine/agent] is the endpoint agent.
//
// The programs under examples/ show the engine end to end; start with
// examples/immyctl, the what-if planner over a fleet file.
//
// # Getting started
//
// From a fleet file to a plan, then to a session that carries it out. The
// fleet file names every problem at once, with its line; the planner is
// compiled once and plans any computer; the session engine runs sessions
// through whatever reaches the computers (here the fakes of immytest; in a
// product, the agent's server or an RMM plugin):
//
//	file, err := fleetfile.LoadFile("msp.yaml") // every problem at once, file:line each
//	if err != nil {
//		return err
//	}
//	fleet := file.Fleet
//	cat, err := resolver.NewCatalogue(fleet)
//	if err != nil {
//		return err
//	}
//	ix, err := targets.NewIndex(fleet, targets.Config{At: time.Now()})
//	if err != nil {
//		return err
//	}
//	planner, err := resolver.NewPlanner(ix, cat, resolver.Config{})
//	if err != nil {
//		return err
//	}
//	plan, err := planner.PlanComputer(ctx, "contoso-pc-01", resolver.Session{}, nil) // the what-if
//	fmt.Println(plan, err)                                                             // winners, actions, why
//
//	computers := immytest.NewFakeFleet(fleet) // or agent.Server, plugins.Runner
//	engine, err := session.New(session.Config{Planner: planner, Runner: computers, Inventory: computers})
//	if err != nil {
//		return err
//	}
//	defer engine.Close(ctx)
//	report, err := engine.Run(ctx, session.Request{Computer: "contoso-pc-01"})
//
// Example_gettingStarted runs these lines on the bundled fleet.
// resolver.PlanFleet plans every computer in one call; session/sqlstore
// keeps the sessions' journal in SQLite or PostgreSQL, and session/durable
// shares the work among processes. Each package's documentation has
// runnable examples.
//
// This package holds no code.
package engine
