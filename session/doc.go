// Package session runs maintenance sessions: it brings one computer into
// compliance with the deployments that reach it, through the script runners
// that reach the computer, and verifies every change by detecting again.
//
// # Engine
//
// An [Engine] is made once over a [resolver.Planner] (which holds the fleet,
// its compiled targets and catalogue) and the runners that reach computers:
//
//	engine, err := session.New(session.Config{
//		Planner: planner,             // resolver.NewPlanner(...)
//		Runner:  agent,               // immy.ScriptRunner: the engine's own agent
//		Runners: map[string]immy.ScriptRunner{"ninja-1": ninja},
//	})
//	report, err := engine.Run(ctx, session.Request{Computer: "contoso-lt-01"})
//
// Every other field of [Config] has a useful zero value: an in-memory
// [Journal], no notifier, [DefaultMaxRunning] sessions at once, script
// timeouts. [Engine.Start] queues a session and returns its id; [Engine.Wait]
// waits for its [Report]; [Engine.Subscribe] streams its [Event] values.
//
// # Stages
//
// A session goes through the stages of the design, recorded as [Stage]:
//
//   - inventory: the computer's inventory, read through Config.Inventory or
//     the runner: natively when it is an [immy.InventorySource] (one that
//     answers errors.ErrUnsupported does not count), else by running the
//     built-in inventory script of the computer's platform (from its OS:
//     sh for Linux, PowerShell for Windows; package immy/inventory) through
//     the runner, read by the parser the engine's agent uses. A computer
//     reached only through an RMM plugin is inventoried so. A computer
//     excluded from maintenance stops here, passed.
//   - resolution: the resolver's winning deployment for each item
//     ([resolver.Planner.Decide]); a [ResolutionOnly] session ends here.
//   - onboarding: in an [OnboardingRun], the onboarding-only tasks are
//     detected, planned and run first.
//   - detection: the state of every item the decisions may touch, read-only:
//     software by its detection over the inventory (display-name glob,
//     regex, product or upgrade code) or its detection script (whose last
//     word of output is the version); a present software's test script;
//     the test of every enforced task. The resolver turns the decisions and
//     this state into the ordered actions ([resolver.Catalogue.Actions]):
//     the table of desired state against detected state, prerequisites right
//     before their dependent, a configuration task right after its software.
//     A [DetectionOnly] session ends here with the plan: it changes nothing,
//     and a task that can only be decided after another action runs (a
//     configuration task after its software changes) is reported with
//     Action.DecidedAfter, never guessed.
//   - execution: each [Action] in order, each verified by detecting again.
//   - reboot: what the [RebootPreference] says about a reboot the actions
//     asked for.
//
// [SingleItem] runs one item with its prerequisites and configuration task,
// its ad hoc deployments taking part; [RerunAction] runs one action again
// (detected first, verified after).
//
// # Actions
//
// Software actions run by strategy; a version's own script or strategy
// overrides the software's:
//
//	install     the install script of the version brought
//	uninstall   the uninstall script of the version detected
//	update      the upgrade strategy: uninstall-install, install-over, or
//	            upgrade-script; none set fails with reason no-upgrade-strategy
//	downgrade   uninstall, then install the version brought
//	reinstall   a repair after a failed test, by the repair strategy
//
// A version with an Installer (a dynamic version always has one; package
// session/dynamic) is first fetched on the computer by the fetch script of
// immy/installer: downloaded into a cache keyed by its SHA-256 (a cached
// file is not downloaded again), its hash checked; a mismatch fails the
// action with reason installer-hash-mismatch before any of its scripts
// runs, a failed download with installer-download-failed; the scripts get
// its path as the parameter installer_path.
//
// A missing script fails the action with reason "no-script:STEP". Exit codes
// 3010 and 1641 are success with a reboot required; any other non-zero exit
// code fails it (script-failed). Verification reads a fresh inventory: an
// install, update or repair must leave the software at least at the version
// brought (a newer one is no failure), a repair must pass its test, a
// downgrade must not leave it above the version, an uninstall must leave it
// gone.
//
// Tasks run by mode: enforce tests, sets when the test is false, and tests
// again; audit tests (false is non-compliant); monitor runs get and keeps its
// output and value; ignored is skipped. A task has one script told its
// method (parameter "method": get, set or test) or three scripts. Its typed
// parameters are checked against the deployment's values by [Parameters];
// password values, and their common transforms (other letter case, base64,
// hex, URL and JSON escaping), are redacted (as [Redacted]) from every log
// line, event, journal record, message and output; output streamed while a
// script runs is masked before it is cut into lines. A task that executes serially holds a
// lock across every session of the engine while it runs.
//
// A failed prerequisite fails its dependent (reason
// "prerequisite-failed:ITEM") and a failed software skips its configuration
// task ("software-failed:ITEM"), both without running them.
//
// # Scripts
//
// Scripts reach computers through [immy.ScriptRunner]. The runner of a
// computer is picked among its pathways: those believed online first, then
// by priority. Reads (inventory, detection, tests) move on to the next
// pathway when one answers [immy.ErrOffline]; a change does not, since it
// may have run before the pathway went away: the action is detected again
// on the next pathway before anything is re-run.
//
// Software scripts get the parameters software, software_name, action, step,
// version (the version the step installs or removes), detected_version and
// reboot_preference; task scripts get the task's parameters, and method when
// told.
//
// By context: system and user scripts run on the computer (a user script
// with nobody logged on fails with reason no-user-logged-on); metascript and
// cloud scripts are Lua, run on the server in the sandbox the targets'
// filters use (no os, io, load or require; a deadline from the context).
// A metascript is bound to the computer:
//
//	log(...)                      a line of output, as an event
//	progress(percent [, text])    a progress event
//	parameters                    the parameters, as a table (and as globals)
//	computer, tenant              tables of the computer and its tenant
//	value, exit_code, output = invoke_command(body [, {context = "user", language = "powershell", timeout = seconds}])
//
// A cloud script is bound to the tenant: it has tenant, parameters, log and
// progress, and no invoke_command.
//
// # Statuses, reasons and events
//
// A session's [Status] is created, pending, pending-connectivity, running,
// postponed, then passed, partially-passed, failed or cancelled; an action's
// [ActionStatus] not-started, waiting-for-prerequisite, performing,
// determining-result, then complete or skipped, with a [Result] (success,
// failed, cancelled, indeterminable) and a reason: the resolver's reason for
// planning it in Action.Planned, and Action.Reason for how it ended. A
// session that cannot run ends failed with reason inventory-failed,
// resolution-failed or internal-error, and the error, passwords redacted, in
// Report.Message. Every state change is an [Event]: session, stage, action,
// log line and progress.
//
// # Problems
//
// What held or refused part of the plan is in Report.Problems, in the
// journal with the decisions and the plan, and emitted as an EventProblem
// each: an item held because a deployment's filter failed at run time on
// the computer (no deployment of it wins there; the rest of the session runs
// and the session can pass), and an item private to another tenant refused
// as a prerequisite (its dependent fails, reason prerequisite-private:ITEM)
// or a configuration task (left out). Such an item is never detected on the
// computer either. A SingleItem request for an item private to another
// tenant than the computer's (by item or by one of its deployments), or a
// RerunAction of one, is refused by Start with an error wrapping
// immy.ErrInvalid.
//
// # Offline, reboots, users
//
// An offline computer makes a session wait, pending connectivity (reason
// computer-offline, and a message naming each pathway tried and what it
// answered, or why none could be tried), until [Engine.Connected], or [Engine.SetPathwayOnline]
// putting one of its pathways online; or, with [SkipOffline], end failed
// with reason computer-offline, the actions not run skipped. A runner's error
// that wraps [immy.ErrOffline] (a lost connection) counts as offline. A
// session that waits continues where it stopped: one that stopped before its
// plan was recorded (at inventory, resolution or detection) reads a fresh
// inventory and detects again, since the computer may have changed while
// away, and runs nothing before its plan is recorded; one that stopped in
// execution goes on with its first action not ended, and an action that was
// running is detected again before anything is re-run. The [RebootPreference] decides reboots: normal
// and prompt are turned into suppress during the business hours of the
// computer's tenant when the request asks for it ([InBusinessHours]); force
// reboots after any change. A runner that can reboot implements [Rebooter].
// Before its first change, a session asks whether a reboot is already
// pending ([RebootStateReader], else the reboot script of immy/inventory
// through the runner) and, by the preference, reboots first and waits for
// the computer to come back within Config.RebootTimeout (reason
// reboot-timeout when it does not), or goes on: normal and force reboot
// first, prompt asks, suppress goes on (see rebootfirst.go).
// A [Notifier] is told before execution, and may postpone or decline, and
// after it; a postponed session starts over from inventory when its time
// comes. A request with an ExecuteAt (a scheduled session's execution time)
// instead keeps its plan: reaching execution earlier, the session waits,
// postponed with reason waiting-for-execution-time until ExecuteAt, having
// changed nothing, and goes on from its plan then.
//
// # A living fleet
//
// A fleet that changes is a [FleetSource] (a session/fleetstore Store is
// one), set as Config.Fleet: each session plans from the revision the
// source has when the session comes to plan (at its inventory stage), and
// records it in the journal with its decisions and plan (Record.Revision,
// Report.Revision). A source that is also a [ChangeTracker] (a store is)
// spares the engine most revisions: while nothing a session reads (the
// admin's entities, its own computer) changed since the revision the
// engine indexed last, the session plans from that one and records it,
// and the engine takes no fleet from the source (which a store could then
// no longer change in place). A session that has its plan keeps it, and the fleet it
// planned from, to its end, whatever the source moves to meanwhile; one that
// starts over (after a postponement) plans from the revision of then. Start
// checks a request against the current revision. The engine indexes each
// revision once, the first time a session needs it, updating the planner
// of the revision before with what changed (resolver.Planner.Update: an
// inventory touches its computer alone; a revision that deletes a computer
// is planned afresh), without a new Engine. A session
// resumed by a new process keeps its journaled plan and runs it over the
// current revision's fleet.
//
// What a session learns of its computer goes to Config.InventorySink (for a
// fleet store, fleetstore.SessionSink): once per run, before the session
// ends or waits, the inventory it read last (after its changes), with the
// time it was read: software with versions and publishers, the OS, and
// that the computer was online then. A sink's error is a log event of the
// session, never its outcome.
//
// # Journal and resume
//
// Every state change is written to the [Journal] before it takes effect,
// but one that a resumed session does not need: an action costs two records,
// its start (performing) and its result, and its determining-result is an
// event only, journaled when its scripts asked for a reboot (a resumed
// session detects a performing and a determining action alike, before
// anything is re-run). A journal write that fails stops the session as a
// crash would. An engine
// made over the same journal calls [Engine.Resume]: the sessions that had not
// ended continue; an action that was running is detected again, and re-run
// only when detection does not find it done, so nothing is lost or run twice
// blindly. [MemoryJournal] keeps records in memory; records are plain JSON
// for durable implementations.
//
// # Dispatch
//
// With a Config.Dispatcher, the engine is one of several processes that
// share a journal (a [SessionReplayer]) and a queue (package session/durable
// puts one on River). Start journals the session and hands its id to the
// Dispatcher; whichever process is handed it calls [Engine.Work], which
// reads the session from the journal and runs it until it ends or parks,
// Config.MaxRunning at a time, one session per computer in the process.
// Session ids are random 128-bit hex unless Config.NewID numbers them. A
// session pending connectivity is dispatched again by Connected or
// SetPathwayOnline in any process; a postponed one is worked again by the
// Dispatcher when its time comes (Work returns at once before then). A
// process whose journal write is refused with [ErrOutOfSequence] lost the
// session to another and stops at once without writing more; an action that
// was running when a process died is detected again by the next before
// anything is re-run. Cancel cancels a session running in any process: in
// the journal, whose next write by that process is then refused.
// [Engine.Redispatch] (what Resume does with a Dispatcher) hands the
// Dispatcher every session that has not ended and does not wait for
// connectivity; [Engine.Journaled] reads a session's report from the
// journal, and [Fold] makes one from records. Wait and Report see the
// sessions this process started or worked.
//
// # Scheduling
//
// A computer has one active session at a time (another is a [*BusyError]).
// At most Config.MaxRunning sessions run; the others wait in a queue, ad hoc
// before onboarding before scheduled, each in arrival order. [Engine.Cancel]
// cancels at any time: a running action ends cancelled and nothing new
// starts.
package session
