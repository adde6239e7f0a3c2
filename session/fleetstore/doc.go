// Package fleetstore keeps the living fleet: every entity of the vocabulary
// (tenants, persons, computers, groups, agreements, software, tasks,
// deployments, schedules and the fleet-level settings) in SQL, embedded
// SQLite by default (the journal's file of session/sqlstore can hold both),
// PostgreSQL when several engine processes share the work.
//
//	store, err := fleetstore.OpenSQLite(ctx, "/var/lib/immy/immy.db", fleetstore.Config{})
//	// or: store, err := fleetstore.OpenPostgres(ctx, pool, fleetstore.Config{})
//	defer store.Close()
//	fleet, rev := store.Snapshot() // an *immy.Fleet to plan from, and its revision
//
// # Changes
//
// An admin's edit is a [Change]: typed operations ([PutDeployment],
// [Delete], ...) made against a revision, applied by [Store.Apply] as one
// transaction. The whole fleet the change would make is checked by every
// rule (immy's Validate, filters that compile, prerequisites without cycles,
// [Config.Checks]), and every problem is reported at once as an
// [immy.Problems], by section, id and field; then either all of it lands
// with a new revision, or nothing does: not in the database, not in memory.
//
// Concurrency is optimistic: each entity keeps the revision of its last
// admin change (deleted entities too), and a change that touches an entity
// changed after the revision it names is refused with a [*ConflictError].
// Edits of different entities made against the same revision both land; the
// fleet they make together is validated as a whole.
//
// [Store.Preview] answers what a change would do before it is applied: the
// plans of the fleet before and after, and their [resolver.Diff];
// [Store.PreviewChange] also lists the entities it would create, update and
// delete. Both plan the whole fleet twice; [Store.PreviewOn] previews
// against a [Planned] the caller keeps (a planner of the current revision
// and its plan), updating it with what the change writes and planning again
// only the computers it touches, with the same result. [Store.SourceChange] makes the change that brings a whole fleet (a
// fleet file) into the store as one source's: it deletes only what that
// source created, never overwrites a computer that an agent found, and
// writes a computer's inventory only when it creates the computer (in
// [Change.Inventory], in the same transaction). immyctl apply is built on
// these three. [Change.Changes] names what a change touches, for updating
// an incremental index or planner from the fleet before it to the one after.
//
// # Inventory and presence
//
// What agents and sessions find on a computer (its OS, whether it is online
// and when it was last seen, its logons, its detected software, known task
// results) is not an admin's: [Store.PutInventory] writes it, in batches,
// with revisions of its own. It never conflicts with an admin's change, nor
// an admin's change with it, and it stays out of the audit log. A
// [PutComputer] changes a computer's admin-owned fields only.
//
// # Audit
//
// Each entity an applied change created, changed or deleted gets an [Entry]:
// who (the change's Actor), when, the revision, and the entity's stored form
// before and after, with password parameters' values and defaults
// [Redacted]. [Store.EntityLog] and [Store.TenantLog] read it page by page.
//
// # Storage
//
// Each entity is one row holding its JSON, with names of its own (a renamed
// Go field never changes what a database holds); the fleet's order is the
// order entities were created. Tables are named immy_fleet_* and have their
// own migration history per dialect (immy_fleet_schema_version), so that
// they live beside the journal's. The store holds the fleet of the current
// revision in memory; a change makes a new [immy.Fleet] that shares what did
// not change, so that a session keeps the fleet it planned from: a fleet
// handed out ([Store.Fleet], [Store.Snapshot], a preview) never changes.
// Computers are one slice of a Fleet, so the revision after one handed out
// gets a copy of it; an inventory write after a revision nobody took
// changes the few computers it reports in place instead, which nobody can
// see (a write of 1,000 computers' inventories in a fleet of 100,000 does
// not copy the other 99,000). A session engine keeps revisions nobody took:
// a session plans from its computer and the admin's entities alone, so the
// engine asks [Store.Unchanged] (the store is a session.ChangeTracker)
// whether anything its session reads changed since the revision it
// indexed last, and plans from that one when nothing did, without taking
// the current revision. A store that
// finds the database moved on by another process loads it again before it
// writes ([Store.Refresh] does so on demand); a fleet loaded so counts as
// changed everywhere.
//
// # Several processes
//
// Engine processes may share one database. [Store.Follow] keeps a store up
// to date with the others' revisions: on PostgreSQL each write announces its
// revision with NOTIFY when it commits and Follow listens, polling as the
// fallback; on SQLite it polls.
//
// # Conformance
//
// Package fleetstoretest checks a store against this contract, as
// session/journaltest checks a journal; this package runs it on SQLite and
// PostgreSQL, with faults injected inside transactions.
package fleetstore
