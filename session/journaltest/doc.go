// Package journaltest checks that a [session.Journal] keeps its contract, in
// the manner of testing/slogtest: a journal's own test calls [Run] (or
// [RunWith], to check durability across a reopen too) with a function that
// returns an empty journal, and the kit runs its checks as subtests.
//
//	func TestJournal(t *testing.T) {
//		journaltest.RunWith(t, journaltest.Options{
//			Open: func(t *testing.T) session.Journal { return openMine(t, t.TempDir()) },
//			Reopen: func(t *testing.T, old session.Journal) session.Journal {
//				old.(*Mine).Close()
//				return openMine(t, old.(*Mine).Dir())
//			},
//		})
//	}
//
// The checks: every record kind with every field comes back equal; each
// session's records in Seq order; the sequence rule (the first Seq is 1;
// gaps and duplicates refused with an error matching
// [session.ErrOutOfSequence], including one (session, Seq) appended by two
// goroutines at once, of which exactly one wins); many sessions appended
// concurrently (run with -race); errors of the replay function; a cancelled
// context; [session.SessionReplayer], [session.UnfinishedLister] and
// [session.ActiveSessioner] when the journal implements them; and, given
// [Options.Reopen], durability. [Every] and [Simple] return the records
// the kit appends, for a journal's own further tests.
package journaltest
