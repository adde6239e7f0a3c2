// Package fleetstoretest checks that a fleet store keeps the contract of
// session/fleetstore, in the manner of testing/slogtest and of
// session/journaltest: a store's own test calls [Run] (or [RunWith], to
// check durability, two processes on one database and failures in the
// middle of a transaction too) with a function that returns an empty store,
// and the kit runs its checks as subtests.
//
//	func TestConformance(t *testing.T) {
//		fleetstoretest.RunWith(t, fleetstoretest.Options{
//			Open: func(t *testing.T) fleetstoretest.Store { return openEmpty(t) },
//			Reopen: func(t *testing.T, s fleetstoretest.Store) fleetstoretest.Store {
//				return openSameDatabase(t, s)
//			},
//		})
//	}
//
// The checks: a fleet comes back equal, from memory and after a reopen
// (round-trip); a fleet file applied as a source creates, updates and
// deletes only its own entities and never overwrites a computer an agent
// found nor any inventory (source-change); a change that breaks rules is
// refused with every problem at once and changes nothing (refused);
// optimistic concurrency with [*fleetstore.ConflictError] (conflict);
// inventory and presence never conflict with an admin's edit, nor an edit
// with them, and stay out of the audit log (inventory); the audit log with
// secrets redacted (audit); a preview equal to the diff of the plans before
// and after applying (preview); concurrent writers, each with a revision of
// its own (concurrent, run it with -race); and, given the options, a write
// that fails in the middle of its transaction leaves the store, in memory
// and in the database, exactly as it was (fault), what was applied is there
// after a reopen (durable), and a second store on the same database refuses
// a conflicting edit and plans from the first one's revision (two-stores).
package fleetstoretest
