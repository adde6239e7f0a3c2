// Package immytest helps test code that uses the engine's vocabulary: builders
// of small fleets, a generator of large synthetic ones, fake computers, and a
// conformance kit for script runners. It imports immy, never the packages
// above it, so that their tests can use it.
//
// # Small fleets: the builder
//
// [NewFleet] returns a [FleetBuilder]; each call adds one entity, with options
// for what the test cares about, and [FleetBuilder.Build] returns the fleet:
//
//	f := immytest.NewFleet().
//		Tenant("contoso").
//		Computer("pc1", "contoso", immy.KindWorkstation,
//			immytest.OS("Windows 11 Pro"), immytest.Installed("Google Chrome", "118.0")).
//		Software("chrome", immytest.Name("Google Chrome"), immytest.Versions("119.0", "118.0")).
//		Deploy("d1", "chrome", immytest.OnTenantComputers("contoso")).
//		Build()
//
// The builder fills in what a test rarely cares about: names from ids,
// computers online and onboarded, software detected by its name, deployments
// enabled and required, with the desired state latest (software) or the mode
// enforce (tasks) unless an option says otherwise. It checks nothing, so
// broken fleets are as easy to build as sound ones; [FleetBuilder.BuildValid]
// fails the test when the fleet does not pass [immy.Fleet.Validate]. Options
// are typed by entity ([ComputerOption], [DeploymentOption], ...); targets are
// the On functions ([OnTag], [OnExpr], ...), and [FleetBuilder.Edit] or the
// Func types reach any field.
//
// # Large fleets: the generator
//
// [Generate] draws a fleet from a [GenConfig]: tenants in a tree, computers of
// every kind with Windows-style inventories and UPNs, persons, nested groups,
// agreements, software with prerequisite chains, tasks, and deployments over
// every kind of target. It is seeded and deterministic, the result passes
// Validate, and it is fast enough for a benchmark's setup. [FleetScale] is the
// preset the engine's benchmarks share, with filters as MSPs write them (over
// a third of the deployments, most sources distinct, Lua with locals, string
// functions and loops); [FleetScaleUniform] is the earlier shape, with few
// filters of few sources:
//
//	f := immytest.Generate(immytest.FleetScale(100_000)) // 2,000 tenants, 5,000 deployments
//
// # Fake computers
//
// [NewFakeFleet] turns a fleet's computers into fakes that run Lua scripts
// against an in-memory state, as an [immy.ScriptRunner] and an
// [immy.InventorySource]; [FakeScripts] gives the fleet's software and tasks
// scripts those fakes understand, and a [Fault] makes a computer fail on
// purpose. Whole maintenance sessions run this way in unit tests.
//
// # Conformance of script runners
//
// [CheckRunner] and [TestRunner] check that a ScriptRunner keeps the contract
// (output, exit codes, parameters, caps, deadlines, cancellation, offline and
// user-context errors), given a [RunnerKit] that says how to write small
// scripts in its language; run them against your own runner in the manner of
// testing/slogtest.
package immytest
