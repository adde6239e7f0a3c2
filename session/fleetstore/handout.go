package fleetstore

import (
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/immyoss/engine/immy"
)

// An inventory write changes a few computers of a fleet of many. The fleet
// of every revision is an *immy.Fleet whose Computers is one slice, and a
// Fleet handed out never changes (a session keeps the fleet it planned
// from), so a revision whose fleet someone has must get computers of its
// own: a copy of the slice (36 MB at 100,000 computers), sharing each
// computer's texts, slices and maps. But most revisions an inventory write
// makes are never handed out before the next write lands (sessions that end
// together, agents reporting): the store tracks whether a snapshot's Fleet
// left it, and the next revision takes over the computers of one that did
// not and changes the few reported in place, in O(reports).
//
// The state belongs to the computers' array, shared by the snapshots whose
// fleets share it (an admin's edit of a deployment keeps the computers):
// it goes from private to handedOut (Fleet, Snapshot, a preview: see
// shared) or to takenOver (the writer, once the write has committed: see
// settle), never both, by compare-and-swap. Only the current snapshot is
// ever handed out or taken over. A reader that finds the current snapshot's
// computers taken over waits for the writer to publish the next revision,
// which it does right after changing the reported computers.

const (
	private   int32 = iota // no Fleet with these computers has left the store
	handedOut              // someone may hold a Fleet with them: they never change
	takenOver              // the next revision owns them
)

// computers is the state of one array of computers.
type computers struct{ state atomic.Int32 }

// shared returns the current snapshot, marked as handed out.
func (s *Store) shared() *snapshot {
	for {
		c := s.cur.Load()
		if c.share() {
			for h := s.handed.Load(); (h == nil || h.rev < c.rev) && !s.handed.CompareAndSwap(h, c); h = s.handed.Load() {
			}
			return c
		}
		runtime.Gosched() // a writer is publishing the next revision
	}
}

// share marks c's computers as handed out; false when the next revision
// took them over.
func (c *snapshot) share() bool {
	for {
		switch c.comps.state.Load() {
		case handedOut:
			return true
		case takenOver:
			return false
		}
		if c.comps.state.CompareAndSwap(private, handedOut) {
			return true
		}
	}
}

// delta is what inventory reports change of a fleet, before it is applied:
// the new values of the computers reported, by their index in the fleet.
type delta struct {
	idx   []int           // the computers' indexes, in the order first reported
	comps []immy.Computer // their new values, in the same order
	at    map[int]int     // index -> position in idx
	seen  map[string]time.Time
}

// computer returns the new value of f's computer i, made from its current
// one the first time.
func (d *delta) computer(f *immy.Fleet, i int) *immy.Computer {
	if k, ok := d.at[i]; ok {
		return &d.comps[k]
	}
	d.at[i] = len(d.idx)
	d.idx = append(d.idx, i)
	d.comps = append(d.comps, f.Computers[i])
	return &d.comps[len(d.comps)-1]
}

// empty reports whether d changes nothing.
func (d *delta) empty() bool { return d == nil || len(d.idx) == 0 && len(d.seen) == 0 }

// settle applies d to next's fleet, made from cur's by the change being
// written (next.fleet is cur.fleet, or a new Fleet that shares cur's
// computers or has its own). committed is true once the write's
// transaction has committed and next is about to replace cur: then
// computers shared with cur are taken over, when cur's Fleet was never
// handed out, and changed in place. Otherwise (cur was handed out, or next
// is a preview's) next's fleet gets computers of its own. Last seen times
// are changed in place, committed only: they are read by id alone
// (Store.LastSeen), never from an older revision.
func (next *snapshot) settle(cur *snapshot, d *delta, committed bool) {
	if d.empty() {
		return
	}
	if len(d.idx) > 0 {
		f := next.fleet
		if f == cur.fleet {
			g := *f
			f = &g
			next.fleet = f
		}
		switch {
		case !sameArray(f.Computers, cur.fleet.Computers):
			// the change made them anew: next's own
		case committed && cur.comps.state.CompareAndSwap(private, takenOver):
			next.comps = &computers{}
		default:
			f.Computers = slices.Clone(f.Computers)
			next.comps = &computers{}
		}
		for k, i := range d.idx {
			f.Computers[i] = d.comps[k]
		}
	}
	if committed && len(d.seen) > 0 {
		next.lastSeen.set(d.seen)
	}
}

// own gives next the state of its computers: cur's when it shares them,
// a new one when they are its own. Call it before settle.
func (next *snapshot) own(cur *snapshot) {
	if sameArray(next.fleet.Computers, cur.fleet.Computers) {
		next.comps = cur.comps
		return
	}
	next.comps = &computers{}
}

// sameArray reports whether a and b are views of one array.
func sameArray[T any](a, b []T) bool {
	return len(a) > 0 && len(b) > 0 && unsafe.SliceData(a) == unsafe.SliceData(b)
}

// seenTable holds when each computer was last seen. It is shared by the
// snapshots that follow one load and changed in place by the writer, once
// its transaction committed; readers take the read lock.
type seenTable struct {
	mu sync.RWMutex
	m  map[string]time.Time
}

func (t *seenTable) get(id string) (time.Time, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	v, ok := t.m[id]
	return v, ok
}

func (t *seenTable) set(m map[string]time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for id, v := range m {
		t.m[id] = v
	}
}

func (t *seenTable) delete(ids map[string]bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for id := range ids {
		delete(t.m, id)
	}
}
