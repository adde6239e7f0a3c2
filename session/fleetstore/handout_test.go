package fleetstore

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/resolver"
)

// frozen is a fleet handed out and what it held then, deeply (every text,
// slice and map, as JSON).
type frozen struct {
	f    *immy.Fleet
	rev  int64
	json []byte
}

func freeze(t *testing.T, s *Store) frozen {
	t.Helper()
	f, rev := s.Snapshot()
	b, err := json.Marshal(f)
	require.NoError(t, err)
	return frozen{f, rev, b}
}

// unchanged fails when the fleet changed since it was frozen.
func (fr frozen) unchanged(t *testing.T) {
	t.Helper()
	b, err := json.Marshal(fr.f)
	require.NoError(t, err)
	require.JSONEq(t, string(fr.json), string(b), "the fleet of revision %d changed after it was handed out", fr.rev)
}

// invWrite is the n-th of a sequence of inventory writes: computers i, i+3,
// i+6... of f change OS, presence, software, logons and task results.
func invWrite(t *testing.T, f *immy.Fleet, n int) []Inventory {
	online := n%2 == 0
	var out []Inventory
	for i := n % 3; i < len(f.Computers); i += 3 {
		inv := Inventory{Computer: f.Computers[i].ID, OS: fmt.Sprintf("Windows 11 Pro 24H%d", n), Online: &online,
			LastSeen: time.Date(2026, 12, 7, 9, n, i, 0, time.UTC), Logons: []string{fmt.Sprintf("u%d@x.com", n)},
			Software: []immy.DetectedSoftware{{Name: "Agent", Version: mustVersion(t, fmt.Sprintf("1.%d.%d", n, i))}}}
		if len(f.Tasks) > 0 {
			inv.Tasks = map[string]bool{f.Tasks[0].ID: n%2 == 1}
		}
		out = append(out, inv)
	}
	return out
}

// A fleet handed out (Fleet, Snapshot, a preview) never changes, however
// the store moves on: inventory writes, admin edits that keep the computers
// (their fleets share the computers with the one handed out), and both in
// one change. Revisions nobody took are taken over by the next write; the
// fleets of every path equal what a reload of the database gives.
func TestHandedOutFleetNeverChanges(t *testing.T) {
	ctx := context.Background()
	src := mspFleet(t)
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			s := b.open(t)
			importFleet(t, s, src)
			var held []frozen
			write := func(n int) {
				t.Helper()
				_, err := s.PutInventory(ctx, invWrite(t, src, n))
				require.NoError(t, err)
			}
			edit := func(n int, inv []Inventory) {
				t.Helper()
				d := src.Deployments[n%len(src.Deployments)]
				d.Priority = 500 + n
				_, err := s.Apply(ctx, Change{Base: s.Revision(), Actor: "alice", Ops: []Op{PutDeployment(d)}, Inventory: inv})
				require.NoError(t, err)
			}
			held = append(held, freeze(t, s))
			write(1) // the fleet handed out is copied
			held = append(held, freeze(t, s))
			edit(2, nil) // shares the computers of the fleet handed out
			write(3)     // so they are copied, not taken over
			write(4)     // taken over: nobody took revision 3's
			write(5)
			held = append(held, freeze(t, s))
			edit(6, nil)
			edit(7, invWrite(t, src, 7)) // an edit with inventory copies the computers of 6, shared with 5's
			edit(8, invWrite(t, src, 8)) // and takes over 7's
			held = append(held, freeze(t, s))
			_, err := s.PreviewChange(ctx, Change{Base: s.Revision(), Actor: "alice", Inventory: invWrite(t, src, 9)}, resolver.Config{}, resolver.Session{})
			require.NoError(t, err)
			write(10) // the preview's fleets left the store
			write(11)
			for _, fr := range held {
				fr.unchanged(t)
			}
			for k, fr := range held[1:] {
				require.NotEqual(t, string(held[k].json), string(fr.json), "revision %d and %d hold the same", held[k].rev, fr.rev)
			}

			reloaded := b.open(t)
			if diff := cmp.Diff(reloaded.Fleet(), s.Fleet(), fleetCmp...); diff != "" {
				t.Fatalf("fleet in memory differs from the database's (-reloaded +memory):\n%s", diff)
			}
			c := src.Computers[len(src.Computers)-1]
			want, _ := reloaded.LastSeen(c.ID)
			got, ok := s.LastSeen(c.ID)
			require.True(t, ok)
			require.True(t, want.Equal(got), "last seen %v, reloaded %v", got, want)
		})
	}
}

// An inventory write takes over the computers of a revision nobody took
// (its fleet has the same array), and copies those of a revision handed
// out: the private path that spares a copy of the fleet.
func TestInventoryWriteTakesOverUnsharedComputers(t *testing.T) {
	ctx := context.Background()
	src := mspFleet(t)
	s := backends(t)[0].open(t)
	importFleet(t, s, src)
	write := func(n int) (before, after *snapshot) {
		before = s.cur.Load()
		_, err := s.PutInventory(ctx, invWrite(t, src, n))
		require.NoError(t, err)
		return before, s.cur.Load()
	}
	s.Fleet()
	a, b := write(1)
	require.False(t, sameArray(a.fleet.Computers, b.fleet.Computers), "a fleet handed out was changed in place")
	require.Equal(t, handedOut, a.comps.state.Load())
	a, b = write(2)
	require.True(t, sameArray(a.fleet.Computers, b.fleet.Computers), "the computers of a revision nobody took were copied")
	require.Equal(t, takenOver, a.comps.state.Load())
	require.Equal(t, private, b.comps.state.Load())
	require.True(t, a.fleet != b.fleet, "each revision has a Fleet of its own")
}

// The same writes give the same fleet whether every revision is handed out
// (each write copies the computers) or none is (each takes them over), and
// so does each revision along the way.
func TestTakeOverEqualsCopy(t *testing.T) {
	ctx := context.Background()
	src := mspFleet(t)
	stores := [2]*Store{}
	for k := range stores {
		stores[k] = backends(t)[0].open(t)
		importFleet(t, stores[k], src)
	}
	for n := range 12 {
		for k, s := range stores {
			if k == 0 {
				s.Fleet() // hand out every revision
			}
			var err error
			if n%4 == 3 {
				d := src.Deployments[n%len(src.Deployments)]
				d.Priority = 700 + n
				_, err = s.Apply(ctx, Change{Base: s.Revision(), Actor: "alice", Ops: []Op{PutDeployment(d)}, Inventory: invWrite(t, src, n)})
			} else {
				_, err = s.PutInventory(ctx, invWrite(t, src, n))
			}
			require.NoError(t, err)
		}
		if n%3 == 2 { // compare now and then: a comparison hands out both
			if diff := cmp.Diff(stores[0].Fleet(), stores[1].Fleet(), fleetCmp...); diff != "" {
				t.Fatalf("write %d: copied and taken over differ:\n%s", n, diff)
			}
		}
	}
}

// Readers take fleets while writers move the store on: each fleet a reader
// holds stays as it was (the race detector sees any change in place).
func TestHandedOutFleetUnderConcurrentWrites(t *testing.T) {
	ctx := context.Background()
	src := mspFleet(t)
	s := backends(t)[0].open(t)
	importFleet(t, s, src)
	done := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for r := range 3 {
		wg.Go(func() {
			for k := 0; ; k++ {
				select {
				case <-done:
					return
				default:
				}
				f, rev := s.Snapshot()
				os := make([]string, len(f.Computers))
				for i := range f.Computers {
					os[i] = f.Computers[i].OS
				}
				time.Sleep(time.Duration(r+1) * time.Millisecond)
				for i := range f.Computers {
					if f.Computers[i].OS != os[i] {
						errs <- fmt.Errorf("reader %d: revision %d: computer %s changed from %q to %q", r, rev, f.Computers[i].ID, os[i], f.Computers[i].OS)
						return
					}
				}
				id := f.Computers[k%len(f.Computers)].ID
				if seen, ok := s.LastSeen(id); ok && seen.Day() != 7 {
					errs <- fmt.Errorf("reader %d: computer %s last seen %v, not a time written", r, id, seen)
					return
				}
			}
		})
	}
	for n := range 40 {
		_, err := s.PutInventory(ctx, invWrite(t, src, n))
		require.NoError(t, err)
	}
	close(done)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// A preview plans the fleets it made after the store's lock is released:
// inventory writes meanwhile leave them alone (the race detector sees any
// change in place), and nobody else takes a fleet here.
func TestPreviewUnderConcurrentWrites(t *testing.T) {
	ctx := context.Background()
	src := mspFleet(t)
	s := backends(t)[0].open(t)
	importFleet(t, s, src)
	done := make(chan struct{})
	previews := make(chan error, 1)
	go func() {
		defer close(previews)
		for n := 0; ; n++ {
			select {
			case <-done:
				return
			default:
			}
			d := src.Deployments[0]
			d.Priority = 900 + n
			ch := Change{Base: s.Revision(), Actor: "alice", Ops: []Op{PutDeployment(d)}}
			if _, err := s.PreviewChange(ctx, ch, resolver.Config{}, resolver.Session{}); err != nil {
				previews <- err
				return
			}
		}
	}()
	for n := range 60 {
		_, err := s.PutInventory(ctx, invWrite(t, src, n))
		require.NoError(t, err)
	}
	close(done)
	require.NoError(t, <-previews)
}
