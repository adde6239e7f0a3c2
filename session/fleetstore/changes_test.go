package fleetstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
)

// Unchanged answers, for a revision and computers, whether anything a plan
// of those computers reads changed since: an admin's change, a write of
// their own inventory or presence, another process's write (the fleet
// loaded whole); a write of other computers, of the last seen time alone,
// or one refused, changes nothing.
func TestUnchanged(t *testing.T) {
	ctx := context.Background()
	src := mspFleet(t)
	a, b, c := src.Computers[0].ID, src.Computers[1].ID, src.Computers[2].ID
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			s := be.open(t)
			importFleet(t, s, src)
			r0 := s.Revision()
			require.True(t, s.Unchanged(r0))
			require.True(t, s.Unchanged(r0, a, b))
			require.False(t, s.Unchanged(r0+1, a), "a revision the store has not reached")

			r1, err := s.PutInventory(ctx, []Inventory{{Computer: a, OS: "Windows 11 Pro 25H2"}})
			require.NoError(t, err)
			require.False(t, s.Unchanged(r0, a), "a's inventory changed")
			require.False(t, s.Unchanged(r0, b, a))
			require.True(t, s.Unchanged(r0, b, c), "only a's inventory changed")
			require.True(t, s.Unchanged(r0), "a tenant session reads no computer")
			require.True(t, s.Unchanged(r1, a))

			// presence that changes nothing a fleet holds: the last seen
			// time, an online state the computer had
			online := src.Computers[1].Online
			_, err = s.PutInventory(ctx, []Inventory{{Computer: b, LastSeen: time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC), Online: &online}})
			require.NoError(t, err)
			require.True(t, s.Unchanged(r0, b), "b's last seen time alone")
			online = !online
			_, err = s.PutInventory(ctx, []Inventory{{Computer: b, Online: &online}})
			require.NoError(t, err)
			require.False(t, s.Unchanged(r0, b), "b came online or went offline")

			// an inventory in a change without operations is an inventory
			r2, err := s.Apply(ctx, Change{Base: s.Revision(), Actor: "agent", Inventory: []Inventory{{Computer: c, OS: "Windows Server 2025"}}})
			require.NoError(t, err)
			require.False(t, s.Unchanged(r1, c))
			require.True(t, s.Unchanged(r1, a))

			// a write refused notes nothing
			SetFault(s, errors.New("disk full"))
			_, err = s.PutInventory(ctx, []Inventory{{Computer: a, OS: "Windows 11 Pro 26H1"}})
			require.Error(t, err)
			SetFault(s, nil)
			require.True(t, s.Unchanged(r2, a))

			// an admin's change: every plan may differ
			d := src.Deployments[0]
			d.Priority = 901
			r3, err := s.Apply(ctx, Change{Base: s.Revision(), Actor: "alice", Ops: []Op{PutDeployment(d)}})
			require.NoError(t, err)
			require.False(t, s.Unchanged(r2))
			require.False(t, s.Unchanged(r3-1, a))
			require.True(t, s.Unchanged(r3, a, b, c))

			// another process's write: this one loads the fleet whole
			other := be.open(t)
			_, err = other.PutInventory(ctx, []Inventory{{Computer: a, OS: "Windows 11 Pro 26H2"}})
			require.NoError(t, err)
			require.True(t, s.Unchanged(r3, b), "not seen yet")
			require.NoError(t, s.Refresh(ctx))
			require.False(t, s.Unchanged(r3, b), "a fleet loaded whole")
			require.True(t, s.Unchanged(s.Revision(), a, b))
		})
	}
}

// withoutInventory returns f with the inventory and presence of every
// computer but keep zeroed.
func withoutInventory(f *immy.Fleet, keep string) *immy.Fleet {
	g := *f
	g.Computers = make([]immy.Computer, len(f.Computers))
	for i, c := range f.Computers {
		if c.ID != keep {
			c.OS, c.Online, c.UPNs, c.Software, c.Tasks = "", false, nil, nil, nil
		}
		g.Computers[i] = c
	}
	return &g
}

// Whenever Unchanged(rev, x) holds, the fleet handed out at rev equals the
// current one in everything a plan of x reads: its admin's entities and x's
// inventory. Whenever an edit or a write that changed x's inventory landed
// since, it answers false; when neither an edit nor a report of x did, true.
// Random writes of inventories and admin edits; every fleet handed out is
// checked against every computer after each write.
func TestUnchangedEqualsFleet(t *testing.T) {
	ctx := context.Background()
	src := mspFleet(t)
	s := backends(t)[0].open(t)
	importFleet(t, s, src)
	r := rand.New(rand.NewPCG(19, 7))
	type held struct {
		f     *immy.Fleet
		rev   int64
		admin string // the fleet without inventories, as JSON
	}
	adminJSON := func(f *immy.Fleet) string {
		b, err := json.Marshal(withoutInventory(f, ""))
		require.NoError(t, err)
		return string(b)
	}
	var views []held
	lastWrite := map[string]int64{}  // computer -> the last revision that changed its inventory
	lastReport := map[string]int64{} // computer -> the last revision with a report of it
	var lastEdit int64
	for n := range 120 {
		switch k := r.IntN(10); {
		case k < 7: // inventories of a few computers
			var reps []Inventory
			for range 1 + r.IntN(3) {
				c := src.Computers[r.IntN(len(src.Computers))]
				inv := Inventory{Computer: c.ID}
				switch r.IntN(3) {
				case 0:
					inv.OS = fmt.Sprintf("Windows 11 Pro %d", r.IntN(3))
				case 1:
					inv.Software = []immy.DetectedSoftware{{Name: "Agent", Version: mustVersion(t, fmt.Sprintf("1.%d", r.IntN(3)))}}
				default:
					inv.Logons = []string{fmt.Sprintf("u%d@example.com", r.IntN(3))}
				}
				reps = append(reps, inv)
			}
			before := map[string]immy.Computer{} // the write may change the array in place
			cur := s.cur.Load()
			for _, inv := range reps {
				before[inv.Computer] = cur.fleet.Computers[cur.computer[inv.Computer]]
			}
			rev, err := s.PutInventory(ctx, reps)
			require.NoError(t, err)
			cur = s.cur.Load()
			for id, c := range before {
				lastReport[id] = rev
				if cmp.Diff(c, cur.fleet.Computers[cur.computer[id]], fleetCmp...) != "" {
					lastWrite[id] = rev
				}
			}
		case k < 8: // an admin's edit
			d := src.Deployments[r.IntN(len(src.Deployments))]
			d.Priority = 1000 + n
			rev, err := s.Apply(ctx, Change{Base: s.Revision(), Actor: "alice", Ops: []Op{PutDeployment(d)}})
			require.NoError(t, err)
			lastEdit = rev
		default: // a session engine takes the current revision
			f, rev := s.Snapshot()
			views = append(views, held{f, rev, adminJSON(f)})
		}
		cur := s.cur.Load()
		admin := adminJSON(cur.fleet)
		for _, v := range views {
			for i, c := range src.Computers {
				got := s.Unchanged(v.rev, c.ID)
				switch {
				case v.rev < lastEdit || v.rev < lastWrite[c.ID]:
					require.False(t, got, "step %d: revision %d, computer %s: changed since", n, v.rev, c.ID)
				case v.rev >= lastReport[c.ID]:
					require.True(t, got, "step %d: revision %d, computer %s: nothing since", n, v.rev, c.ID)
				}
				if !got {
					continue
				}
				if admin != v.admin {
					t.Fatalf("step %d: Unchanged(%d, %s) but the admin's entities differ:\n%s", n, v.rev, c.ID, cmp.Diff(withoutInventory(cur.fleet, ""), withoutInventory(v.f, ""), fleetCmp...))
				}
				if d := cmp.Diff(cur.fleet.Computers[i], v.f.Computers[i], fleetCmp...); d != "" {
					t.Fatalf("step %d: Unchanged(%d, %s) but its inventory differs (-current +held):\n%s", n, v.rev, c.ID, d)
				}
			}
		}
	}
	require.NotEmpty(t, views)
}

// HasComputer answers from the current revision and hands no fleet out:
// the next inventory write takes the computers over.
func TestHasComputer(t *testing.T) {
	ctx := context.Background()
	src := mspFleet(t)
	s := backends(t)[0].open(t)
	importFleet(t, s, src)
	s.Fleet()
	_, err := s.PutInventory(ctx, invWrite(t, src, 1)) // copies: the fleet was handed out
	require.NoError(t, err)
	require.True(t, s.HasComputer(src.Computers[0].ID))
	require.False(t, s.HasComputer("no-such-computer"))
	before := s.cur.Load()
	_, err = s.PutInventory(ctx, invWrite(t, src, 2))
	require.NoError(t, err)
	require.True(t, sameArray(before.fleet.Computers, s.cur.Load().fleet.Computers), "HasComputer handed the fleet out")
	_, err = s.Apply(ctx, Change{Base: s.Revision(), Actor: "alice", Ops: []Op{
		PutComputer(immy.Computer{ID: "new-pc", Tenant: src.Computers[0].Tenant, Kind: immy.KindWorkstation})}})
	require.NoError(t, err)
	require.True(t, s.HasComputer("new-pc"))
}

// TestComputerHandsOutNoFleet: Computer answers the current revision's
// computer, from the fleet handed out last while neither it nor the
// admin's entities changed since (so the next inventory write still takes
// the computers over), from the current revision otherwise.
func TestComputerHandsOutNoFleet(t *testing.T) {
	ctx := context.Background()
	src := mspFleet(t)
	s := backends(t)[0].open(t)
	importFleet(t, s, src)
	current := func(id string) immy.Computer {
		c := s.cur.Load()
		return c.fleet.Computers[c.computer[id]]
	}
	write := func(n int) (copied bool) {
		t.Helper()
		before := s.cur.Load()
		_, err := s.PutInventory(ctx, invWrite(t, src, n))
		require.NoError(t, err)
		return !sameArray(before.fleet.Computers, s.cur.Load().fleet.Computers)
	}
	s.Snapshot()
	require.True(t, write(1), "the fleet was handed out: the write copies")
	// computer 0 did not change since the snapshot (write 1 reports 1, 4, ...)
	c0 := src.Computers[0].ID
	got, ok := s.Computer(c0)
	require.True(t, ok)
	require.Empty(t, cmp.Diff(current(c0), got))
	require.False(t, write(2), "Computer of an unchanged computer handed the fleet out")
	// computer 2 changed since: it is read from the current revision
	c2 := src.Computers[2].ID
	got, ok = s.Computer(c2)
	require.True(t, ok)
	require.Empty(t, cmp.Diff(current(c2), got))
	require.Equal(t, "Windows 11 Pro 24H2", got.OS, "the write's value")
	require.True(t, write(3), "the current revision was handed out: the next write copies")
	// every computer, after more writes, is the current one's
	for n := 4; n < 8; n++ {
		write(n)
		for i := range src.Computers {
			id := src.Computers[i].ID
			got, ok := s.Computer(id)
			require.True(t, ok, id)
			require.Empty(t, cmp.Diff(current(id), got), "write %d, computer %s", n, id)
		}
	}
	_, ok = s.Computer("no-such-computer")
	require.False(t, ok)
	_, err := s.Apply(ctx, Change{Base: s.Revision(), Actor: "alice", Ops: []Op{
		PutComputer(immy.Computer{ID: "new-pc", Tenant: src.Computers[0].Tenant, Kind: immy.KindWorkstation})}})
	require.NoError(t, err)
	got, ok = s.Computer("new-pc")
	require.True(t, ok, "an admin's change is read from the current revision")
	require.Equal(t, "new-pc", got.ID)
}
