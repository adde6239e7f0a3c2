// Package resolver decides what a maintenance session does on a computer:
// for each maintenance item the one winning deployment, and why every other
// candidate lost; the action that brings the item from its detected state to
// the desired one; the prerequisites those actions need, recursively; and the
// order in which everything runs. Over a whole fleet it is the engine's
// what-if (immyctl plan).
//
// # Using it
//
// Everything is compiled once and then evaluated many times:
//
//	cat, err := resolver.NewCatalogue(fleet)           // the item graph; prerequisite cycles are errors here
//	ix, err := targets.NewIndex(fleet, targets.Config{At: at})
//	p, err := resolver.NewPlanner(ix, cat, resolver.Config{})
//	plan, err := p.Plan(ctx, resolver.Session{})      // every computer, concurrently, deterministic
//	cp, err := p.PlanComputer(ctx, "pc-01", s, state) // one computer, from what detection found
//	e, err := p.Explain(ctx, "pc-01", "adobe-reader", s)
//
// PlanFleet does the four steps in one call. A Catalogue and a Planner never
// change after they are built and are safe for concurrent use. For callers
// that decide winners themselves there are the pure parts: Decide ranks
// candidates, SoftwareAction and TaskAction apply the action table, and
// Catalogue.Actions plans prerequisites and order for a set of decisions.
//
// # The winning deployment
//
// The candidates for an item on a computer are the deployments of that item
// whose target selects the computer (the targets package decides), that are
// enabled, and whose enforcement fits the Session: required always; optional
// when approved for that computer (Deployment.ApprovedFor); onboarding only in
// an onboarding session; ad hoc only in an ad hoc session that names the
// deployment or its item. An ad hoc session plans only the items it names; an
// onboarding-only task takes part only in onboarding sessions. A private item
// (Software.Tenant, Task.Tenant) never reaches another tenant's computers, and
// cloud (tenant) tasks are not planned per computer.
//
// DefaultRanking orders candidates by scope, type, group filter, tenant
// distance, priority, desired state, origin and id (see its documentation).
// The ranking is a value of the Ranking interface in Config, so a caller can
// replace it. Each Decision keeps the winner and every other candidate, best
// first, with the first Rule it lost on against the winner: the lost_on of the
// plan. The planner compares the default ranking as one precomputed 64-bit key
// per deployment (the tenant distance added per computer), which orders
// exactly as DefaultRanking.Compare does.
//
// # Desired state and action
//
// SoftwareAction is the table of the design over immy.Version: install,
// update, downgrade or uninstall, none where the state is met, none with reason
// "ignored" (not "compliant") for an ignored item, and a reinstall when a
// present software's test is known to fail. "latest" is the software's highest
// version. Every action has a kebab-case reason (software-missing,
// update-available, up-to-date, newer-version-detected, older-version-required,
// software-detected, not-detected, ignored, ...); reasons about another item
// name it after a colon (prerequisite-of:3cx). TaskAction gives tasks theirs:
// enforce is task-enforce, or none (test-passed) when the test is known to
// pass; audit is task-audit and monitor task-monitor, whatever the test says;
// ignored is none. When nothing is known of a task's test the action is kept
// and its reason is decided-at-detection.
//
// # Detection in the what-if
//
// Plan reads each computer's inventory (Computer.Software) with the software's
// Detection: display-name globs (targets.MatchGlob, the glob of the installed()
// filter: * and ?, case-insensitive; a backslash escapes; any of a list), a
// regular expression whose "version" group, or else first group, gives the
// version when it parses, or a product or upgrade code (case-insensitive,
// braces ignored). What matched is narrowed by the detection's publisher globs
// and version constraint, after its version map has turned the inventory's
// version into the release version (Python's 3.13.4150.0 into 3.13.4); an
// entry whose publisher or version is unknown is kept, as present. Where
// several entries remain, the one known to meet the most of publisher and
// versions wins, then one an exact name or a code matched, then the highest
// version, then the first entry; the action's
// DetectedFrom (detected_from in JSON) and Explanation.Detection say which
// entry and why. A software detected by script alone
// cannot be read from the inventory: its action is none with reason
// decided-at-detection. Task results come from Computer.Tasks. PlanComputer
// takes a State instead, which is how a session hands over what real detection
// found (including software test results, which the fleet file has no place
// for).
//
// # Prerequisites
//
// A software's prerequisites, and those of the version being brought, apply
// when the software is about to be installed, updated, downgraded or
// reinstalled; not when it is removed or left alone. The rules chosen here:
//
//   - All conditions of one software's rules are read at once, before any of
//     its prerequisites is planned, from the projected state: what detection
//     found, updated by the actions planned earlier in the session. An install
//     planned earlier counts as installed, an uninstall as removed; what comes
//     later in the session does not count.
//   - A FAIL rule whose condition holds makes the software's action fail
//     (reason prerequisite-fail:SUBJECTS) before anything runs: none of its
//     other prerequisite actions is planned.
//   - The install and uninstall rules that hold are then planned in their order,
//     each right before the dependent, a prerequisite's own prerequisites right
//     before it. An absent prerequisite is installed even where its own winning
//     deployment is update if found; it runs under that deployment when it has
//     one, else under none ("deployment": "") with the reason
//     prerequisite-of:DEPENDENT; the dependent's deployment (and so its
//     parameters) is never passed on. The version installed is the one the rule
//     names, else the one the prerequisite's own deployment asks for, else its
//     latest; a rule naming a version is met by that version or a higher one.
//   - A rule that contradicts the prerequisite's own winning deployment
//     (installing a software that is ignored or to be uninstalled, removing one
//     that is ignored or must be present) is a conflict: the dependent fails
//     with prerequisite-conflict:ITEM. So is a rule on a software whose own
//     prerequisites are being planned, since each item has one action.
//   - When a prerequisite fails, its dependent fails (prerequisite-failed:ITEM),
//     and whatever had been planned for the dependent is taken back; items with
//     deployments of their own are then planned at their own turn.
//   - An action several items need is planned once, at the earliest place: an
//     item already planned (as a prerequisite) is not planned again at its own
//     turn.
//
// Prerequisite cycles are found when the catalogue is built: an edge runs from
// a software to every software a rule of it (or of one of its versions) would
// install, since only installs expand further. Uninstall and fail rules add no
// edge, so two products that remove each other are not a cycle. Every
// elementary cycle is reported, from its smallest id, as an immy.Problem
// wrapping an *immy.CycleError ("app-a -> app-b -> app-c -> app-a"), all of
// them at once in immy.Problems (at most 64; a graph can hold exponentially
// many). Check reports the same for immyctl validate.
//
// # Order
//
// Actions run in this order: onboarding-only tasks first (in onboarding
// sessions); then the items placed at the beginning, by position; the
// unordered ones, by id; those at the end, by position (ties by id).
// Prerequisites come right before their dependent, and a software's
// configuration task right after it, whenever the software is present after
// its action: under the task's own winning deployment if it has one, else in
// enforce mode without a deployment (reason configuration-of:SOFTWARE).
//
// # Problems: failing filters and private items
//
// A deployment's filter that fails at run time on one computer (an index out
// of range, a Lua error or budget) holds the deployment's item on that
// computer: no deployment of it wins there, so that a lower-ranked one cannot
// take over (an "uninstalled" whose filter fails must not let a "latest"
// install). Everything else is decided and planned, Plan and PlanFleet do not
// fail for it, and the hold is a Problem (ProblemFilterError) with the
// computer, the item, the deployment, the filter's error and, when
// Config.Locate is set (fleetfile.File.Locate for a fleet file), the file and
// line of the deployment's filter. A failed filter of a deployment that would
// not take part (disabled, not approved, of another session) holds nothing,
// and such a filter is not even evaluated: the planner asks the matcher only
// for the deployments that can be candidates of the session on the computer
// (targets.Matcher.MatchOf).
// A cancelled context still fails the plan.
//
// An item private to a tenant reaches only that tenant's computers, by every
// path: its deployments take part nowhere else; a software about to be
// installed whose prerequisite rules name (as subject or as the software
// acted on) an item private to another tenant fails with reason
// prerequisite-private:ITEM before any of its rules is read, so the private
// item is not even detected; a configuration task private to another tenant
// is left out. Each refusal is a Problem (ProblemPrivateItem). immy's Validate
// refuses such fleets; the planner holds the line for fleets that were not
// validated. Catalogue.ActionsFor applies the same rules to a session's
// decisions; Catalogue.Actions, which knows no computer, plans no private
// item at all.
//
// ComputerPlan.Problems and Plan.Problems list them; the plan's JSON has a
// "problems" list in a computer's block when it has any (kind, computer,
// item, deployment, private, tenant, file, line, message) and the text a
// "problems:" section. Decide returns the held items' problems beside the
// decisions, and Explanation.Problems says why an item is held.
//
// # Plans
//
// Plan returns the computers sorted by id, each with its decisions sorted by
// item and its actions in execution order. WriteJSON writes the plan of
// fleet-file.md, byte for byte the same for the same input whatever the number
// of workers; WriteText renders it for a technician, and Explanation.WriteText
// shows every candidate of one item with the values the ranking compared.
// Plans never hold parameter values, so password parameters cannot leak into
// them. To keep a plan of 100,000 computers small, a ComputerPlan stores its
// records encoded (a few bytes an action, no pointers) and spells them out in
// Decisions and Actions. The records hold everything decided, the losers
// with the rules they lost on included: reading a plan decides nothing again,
// and each call allocates only the slices it returns (a few per computer).
//
// A caller that goes through a whole fleet's plan once (to write it, to sum
// it up) need not hold it whole: PlanEach yields the computers' plans one at
// a time, sorted by id, planned concurrently a window ahead of the loop;
// PlanWriter writes the JSON of such a stream, and Planner.WriteJSON plans and
// writes in one call, the same bytes as Plan.WriteJSON:
//
//	for cp, err := range p.PlanEach(ctx, resolver.Session{}) {
//		if err != nil {
//			return err
//		}
//		changes += countChanges(cp.Actions())
//	}
//
// Plan works through the computers by tenant and kind:
// the deployments that select a computer by these alone are ranked once for
// all such computers (their losers kept once), and each computer ranks afresh
// only the items its own targets (tags, groups, filters, ...) add candidates
// to; the result is the same as planning each computer alone.
//
// # A fleet that changes
//
// A Planner never changes: Update makes the planner of the changed fleet,
// sharing what did not change, while sessions keep planning from the old
// one. Touched says which computers' plans may differ, Replan plans them
// again and keeps every other computer's plan, and Diff is the what-if:
//
//	q, err := p.Update(next, resolver.Changes{Deployments: []string{"7zip-contoso"}})
//	ids, all, err := q.Touched(ctx, p, ch)
//	after, err := q.Replan(ctx, before, resolver.Session{}, ids, all)
//	d := resolver.Diff(before, after)
//
// A change of computers' inventory re-evaluates those computers' filters
// only; a change of deployments recompiles the table (no filter already
// compiled, none evaluated again on unchanged computers) and replans the
// computers the deployments' targets select before or after; a change of
// tenants, persons, groups or agreements rebuilds the target index and
// replans the computers it reaches (a tenant's subtree, a person's or an
// agreement's tenant, a group's members); a change of software, tasks or
// settings replans every computer. The result is the plan a planner built
// from scratch makes (TestUpdateEqualsRebuild).
package resolver
