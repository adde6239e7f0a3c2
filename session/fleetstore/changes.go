package fleetstore

import (
	"bytes"
	"sync"
	"unsafe"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/session"
)

// A session plans one computer (or one tenant's cloud tasks), and what it
// plans depends on that computer and on the admin's entities alone: its
// filters read the computer, its tenant and their persons and groups;
// affinity reads the computer's own logons; detection reads the computer's
// own inventory (resolver.Planner.Touched answers the same of an inventory
// change: that computer alone). A session engine can therefore keep
// planning from the fleet of an older revision while, since it, only other
// computers' inventories and presence were written. It asks Unchanged, and
// so leaves the current revision's Fleet in the store, whose next inventory
// write then changes the computers in place instead of copying them all
// (handout.go).
//
// The store keeps, besides the fleet, the last revision that changed more
// than inventories (an admin's change, or a fleet loaded whole: another
// process's writes) and, for each computer whose inventory or presence a
// later revision changed, the last such revision. A writer notes its
// revision once its transaction has committed, before it publishes the
// snapshot, so that a reader never finds a change published and not noted.

var _ session.ChangeTracker = (*Store)(nil)

// changeTable is which revisions changed what, since the last admin's one.
type changeTable struct {
	mu    sync.RWMutex
	admin int64            // the last revision that changed more than computers' inventory and presence
	at    map[string]int64 // computer id -> the last revision after admin that changed its inventory or presence
}

// changedAll notes that rev changed anything (an admin's change, a load).
func (t *changeTable) changedAll(rev int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.admin = rev
	clear(t.at)
}

// wrote notes that rev changed the inventory or presence of the computers
// of d whose values differ from those of f (a report of what the store
// already had, or of the last seen time alone, changes nothing a plan
// reads).
func (t *changeTable) wrote(rev int64, f *immy.Fleet, d *delta) {
	if d.empty() {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.at == nil {
		t.at = map[string]int64{}
	}
	for k, i := range d.idx {
		if c := &d.comps[k]; !sameComputer(&f.Computers[i], c) {
			t.at[c.ID] = rev
		}
	}
}

// unchanged reports whether since rev nothing changed but the inventory
// and presence of computers other than those named.
func (t *changeTable) unchanged(rev int64, computers []string) bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if rev < t.admin {
		return false
	}
	for _, id := range computers {
		if t.at[id] > rev {
			return false
		}
	}
	return true
}

// sameComputer reports whether *a and *b are the same in memory, bit for
// bit: the same texts, slices and maps (a report replaces what it changes
// with new ones, never changes them in place).
func sameComputer(a, b *immy.Computer) bool {
	n := unsafe.Sizeof(*a)
	return bytes.Equal(unsafe.Slice((*byte)(unsafe.Pointer(a)), n), unsafe.Slice((*byte)(unsafe.Pointer(b)), n))
}

// Unchanged reports whether the fleet of revision rev (one this store
// handed out) is that of the current revision in everything but the
// inventory and presence of computers other than those named: no admin's
// change landed since rev, nor any write of the named computers'
// inventory or presence (their last seen times aside, which no fleet
// holds). The session engine asks it before it takes a Snapshot (see
// session.ChangeTracker). It is cheap: a lock and a map lookup per
// computer. When it answers true, a write may land the next moment, as one
// may after a Snapshot. A fleet loaded whole (another process's writes, see
// Refresh) counts as changed everywhere; so does a revision the store has
// not reached.
func (s *Store) Unchanged(rev int64, computers ...string) bool {
	if rev > s.cur.Load().rev {
		return false
	}
	return s.changes.unchanged(rev, computers)
}

// HasComputer reports whether the current revision has the computer. Unlike
// Fleet and Snapshot it hands no fleet out, so the next inventory write
// still changes the computers in place: for a caller that only asks
// whether an agent's computer is known.
func (s *Store) HasComputer(id string) bool {
	_, ok := s.cur.Load().computer[id]
	return ok
}

// Computer returns the current revision's computer id, and whether it has
// it. Like HasComputer it hands no new fleet out when it can: while
// neither the computer nor the admin's entities changed since the fleet
// the store handed out last (Unchanged), the computer is read from that
// fleet, which never changes; otherwise the current revision is handed out
// (as Snapshot does) and the computer read from it. For a caller that
// needs one computer (its pathways, say) per request. The computer's
// slices and maps are the store's: do not change them.
func (s *Store) Computer(id string) (immy.Computer, bool) {
	if h := s.handed.Load(); h != nil && s.Unchanged(h.rev, id) {
		i, ok := h.computer[id]
		if !ok {
			return immy.Computer{}, false
		}
		return h.fleet.Computers[i], true
	}
	c := s.shared()
	i, ok := c.computer[id]
	if !ok {
		return immy.Computer{}, false
	}
	return c.fleet.Computers[i], true
}
