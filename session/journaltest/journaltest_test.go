package journaltest_test

import (
	"testing"

	"github.com/immyoss/engine/session"
	"github.com/immyoss/engine/session/journaltest"
)

func TestMemoryJournal(t *testing.T) {
	journaltest.Run(t, func(*testing.T) session.Journal { return &session.MemoryJournal{} })
}

// TestMemoryJournalReopen checks the durability checks themselves: a
// "reopen" that keeps the same MemoryJournal passes.
func TestMemoryJournalReopen(t *testing.T) {
	journaltest.RunWith(t, journaltest.Options{
		Open:   func(*testing.T) session.Journal { return &session.MemoryJournal{} },
		Reopen: func(_ *testing.T, old session.Journal) session.Journal { return old },
	})
}
