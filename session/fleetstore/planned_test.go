package fleetstore

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/resolver"
)

// PreviewOn, which updates a planner and plans again only what a change
// touches, gives what PreviewChange gives by planning the fleet twice,
// change after change of every kind; the Planned it returns plans as a fresh
// plan of the fleet Apply makes.
func TestPreviewOnEqualsPreview(t *testing.T) {
	ctx := context.Background()
	src := mspFleet(t)
	s := backends(t)[0].open(t)
	importFleet(t, s, src)
	gone := unreferencedComputer(t, src)
	online := true
	edits := []struct {
		name string
		ch   func(f *immy.Fleet) Change
	}{
		{"deployment's desired state", func(f *immy.Fleet) Change {
			d := deployment(f, "reader-everyone")
			d.Desired = immy.DesiredUninstalled
			return Change{Ops: []Op{PutDeployment(d)}}
		}},
		{"a put that changes nothing", func(f *immy.Fleet) Change { return Change{Ops: []Op{PutDeployment(f.Deployments[0])}} }},
		{"inventory", func(f *immy.Fleet) Change {
			return Change{Inventory: []Inventory{{Computer: f.Computers[0].ID, Software: []immy.DetectedSoftware{}, Online: &online}}}
		}},
		{"computer added with its inventory", func(f *immy.Fleet) Change {
			c := immy.Computer{ID: "new-01", Tenant: "contoso", Name: "NEW-01", Kind: immy.KindPortable, OS: "Windows 11 Pro",
				Software: []immy.DetectedSoftware{{Name: "Google Chrome", Version: mustVersion(t, "120.0")}}}
			return Change{Ops: []Op{PutComputer(c)}, Inventory: []Inventory{InventoryOf(c)}}
		}},
		{"computer deleted", func(f *immy.Fleet) Change { return Change{Ops: []Op{Delete(KindComputer, gone)}} }},
		{"computer moved to another tenant", func(f *immy.Fleet) Change {
			c := f.Computers[slices.IndexFunc(f.Computers, func(c immy.Computer) bool { return c.ID == "new-01" })]
			c.Tenant = "fabrikam"
			return Change{Ops: []Op{PutComputer(c)}}
		}},
		{"tenant added under another", func(f *immy.Fleet) Change {
			return Change{Ops: []Op{PutTenant(immy.Tenant{ID: "contoso-us", Name: "Contoso US", Parent: "contoso"})}}
		}},
		{"person's tags", func(f *immy.Fleet) Change {
			p := f.Persons[0]
			p.Tags = append(slices.Clone(p.Tags), "vip")
			return Change{Ops: []Op{PutPerson(p)}}
		}},
		{"group's members", func(f *immy.Fleet) Change {
			g := f.Groups[0]
			g.Members = g.Members[:len(g.Members)-1]
			return Change{Ops: []Op{PutGroup(g)}}
		}},
		{"deployment disabled", func(f *immy.Fleet) Change {
			d := deployment(f, "chrome-everyone")
			d.Disabled = true
			return Change{Ops: []Op{PutDeployment(d)}}
		}},
		{"software's versions", func(f *immy.Fleet) Change {
			sw := f.Software[slices.IndexFunc(f.Software, func(s immy.Software) bool { return s.ID == "7zip" })]
			sw.Versions = append([]immy.SoftwareVersion{{Version: mustVersion(t, "25.01")}}, sw.Versions...)
			return Change{Ops: []Op{PutSoftware(sw)}}
		}},
		{"task deleted with its deployments", func(f *immy.Fleet) Change {
			var ops []Op
			for _, d := range f.Deployments {
				if d.Item == "bitlocker" {
					ops = append(ops, Delete(KindDeployment, d.ID))
				}
			}
			return Change{Ops: append(ops, Delete(KindTask, "bitlocker"))}
		}},
		{"settings' time", func(f *immy.Fleet) Change {
			return Change{Ops: []Op{PutSettings(Settings{At: time.Date(2027, 1, 15, 0, 0, 0, 0, time.UTC)})}}
		}},
	}
	sess := resolver.Session{}
	pl, err := s.Planned(ctx, resolver.Config{}, sess)
	require.NoError(t, err)
	for _, e := range edits {
		f, rev := s.Snapshot()
		ch := e.ch(f)
		ch.Base, ch.Actor = rev, "alice"
		got, next, err := s.PreviewOn(ctx, ch, pl)
		require.NoError(t, err, e.name)
		want, err := s.PreviewChange(ctx, ch, resolver.Config{}, sess)
		require.NoError(t, err, e.name)
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("%s: PreviewOn (-PreviewChange +PreviewOn):\n%s", e.name, d)
		}
		applied, err := s.Apply(ctx, ch)
		require.NoError(t, err, e.name)
		if got.Empty() {
			require.Equal(t, rev, applied)
			continue
		}
		require.Positive(t, len(got.Entities)+len(got.Inventories), e.name)
		require.Equal(t, next.Revision, applied, e.name)
		fresh, err := resolver.PlanFleet(ctx, s.Fleet(), resolver.Config{}, sess)
		require.NoError(t, err)
		require.Empty(t, cmp.Diff(planJSON(t, fresh), planJSON(t, next.Plan)), "%s: the updated plan (-fresh +updated)", e.name)
		pl = next
	}

	// An inventory write moves the store on: the Planned is stale.
	_, err = s.PutInventory(ctx, []Inventory{{Computer: src.Computers[1].ID, Online: &online}})
	require.NoError(t, err)
	_, _, err = s.PreviewOn(ctx, Change{Base: s.Revision(), Actor: "alice", Ops: []Op{PutTenant(immy.Tenant{ID: "t", Name: "T"})}}, pl)
	require.ErrorIs(t, err, ErrStale)
}
