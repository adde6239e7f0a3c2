// Package durable dispatches maintenance sessions through River
// (github.com/riverqueue/river), so that they survive the engine process
// being killed and spread over several engine processes sharing one
// database: SQLite (one file, River's riversqlite driver, next to the
// journal of package session/sqlstore) on one machine, PostgreSQL
// (riverpgxv5) on many.
//
// # Wiring
//
// A [Queue] is the engine's session.Dispatcher and works the sessions River
// hands its process:
//
//	store, err := sqlstore.OpenSQLite(ctx, "immy.db", sqlstore.Config{})
//	q, err := durable.Open(ctx, durable.Config{SQLite: store.DB(), ClientID: "engine-1"})
//	engine, err := session.New(session.Config{Planner: planner, Runner: runner,
//		Journal: store, Dispatcher: q})
//	err = q.Start(ctx, engine)   // work; dispatch what an earlier run left
//	id, err := engine.Start(ctx, session.Request{Computer: "pc1"})
//	...
//	err = q.Close(ctx)           // sessions running here stop, for another process
//
// On PostgreSQL, give Config.Postgres a *pgxpool.Pool and the journal
// sqlstore.OpenPostgres over the same pool, in every engine process.
//
// # How a session travels
//
// Start journals the session and inserts one River job of kind
// "immy_session" whose args are the session's id, unique while it waits or
// runs: a session is queued once. Whichever process fetches the job calls
// session.Engine.Work, which reads the session from the journal and runs it
// until it ends or parks. A session pending connectivity ends its job, and
// is queued again by Connected (or SetPathwayOnline) in any process; a
// postponed one snoozes its job until the postponement ends. River's job
// lock keeps a session on one process at a time; the journal's (session,
// seq) key stops a process that lost it (ErrOutOfSequence) before it writes
// again.
//
// # Crashes
//
// River runs a job again when its process died: after
// Config.RescueStuckJobsAfter (then up to 30 s, River's rescuer interval),
// or at once when the process restarts with the same Config.ClientID. The
// session goes on where its journal says: an action that was running is
// detected again before anything is re-run. Every Config.SweepInterval,
// and on Start, the queue dispatches again the sessions of the journal that
// have not ended and have no job (a process that died between the two).
//
// A job works a session for at most Config.JobTimeout (longer than a
// script's timeout by default); then the session stops where it is and the
// next job resumes it. RescueStuckJobsAfter must exceed it, so that a
// living process's job is never taken for a dead one's.
//
// # Schedules
//
// [Queue.InsertFires] inserts one unique job of kind "immy_fire" per
// [Fire] key (schedule, fire time, computer), worked at its time, or at once
// when the time passed while no engine ran. Its worker starts the session
// with an id made from the key ([FireSessionID]): a fire inserted or worked
// twice starts one session. A fire for a computer that has a session is
// skipped.
//
// Give Config.Schedules a schedule.Planner over the fleet, and the queue
// starts the schedules' sessions itself: River's leader process enqueues a
// job of kind "immy_schedule_tick" every Config.ScheduleInterval (a
// minute), and whichever process works it runs [Queue.Tick]:
//
//	p, err := schedule.New(index, schedule.Config{})
//	q, err := durable.Open(ctx, durable.Config{SQLite: store.DB(), Schedules: p})
//
// A tick reads each schedule's last tick from the table immy_schedule_state
// (created on Open by a versioned migration of its own, table
// immy_schedule_version; a newer schema is refused), asks the planner what
// is due since (schedule.Planner.Due, at Config.Now), and queues each due
// fire's sessions, one batch (schedule.Planner.Batches) at a time, as fires
// ([ScheduledFire]): key schedule/fire/computer, worked at the session's
// detection time, a scheduled session of the schedule's one item or full
// maintenance whose Request.ExecuteAt is its execution time. The last tick
// is written in the transaction of the last batch and only moves forward,
// so a tick that fails half-way, runs twice or in two processes queues each
// session once. A schedule's first tick only marks the time (nothing before
// it is due); when no engine ran over several fires, only the latest
// starts, once, from when it is found.
//
// A scheduled session detects at its detection time, records its plan, and
// waits, postponed with reason waiting-for-execution-time (its job snoozed
// until then), without changing anything; at its execution time it goes on
// from its plan.
//
// A schedule whose target selects tenants queues one tenant session per
// tenant and fire (Request.Computer session.TenantSession(tenant): the
// tenant's cloud tasks, whose scripts reach the tenant's integration through
// session.Config.Integrations), under the same keys, so each runs once per
// fire and resumes after a crash as any session (TestKillScheduledCloudTasks
// kills its engine processes mid-session).
package durable
