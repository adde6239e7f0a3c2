// Package storetest is a conformance kit for stores of install tokens and
// enrolled agents (agent.Store), in the manner of testing/slogtest: run it
// from a test of your own store, each subtest on a new, empty store.
//
//	func TestMyStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) agent.Store { return newEmptyStore(t) })
//	}
//
// It checks what package agent relies on: lookups of what is missing wrap
// immy.ErrNotFound, what is put comes back equal (times to the
// microsecond), a put replaces, deletes are final, UseToken (when the
// store is an agent.TokenUser) never counts past MaxUses however many
// callers race, and the store is safe for concurrent use.
package storetest
