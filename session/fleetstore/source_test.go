package fleetstore

import (
	"context"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
)

func TestSourceChange(t *testing.T) {
	ctx := context.Background()
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			s := b.open(t)
			file := mspFleet(t)
			const source = "fleetfile:msp.yaml"

			// The first apply creates everything.
			ch, err := s.SourceChange(ctx, file, source)
			require.NoError(t, err)
			ch.Actor = "gitops"
			_, err = s.Apply(ctx, ch)
			require.NoError(t, err)
			require.Len(t, s.Fleet().Computers, len(file.Computers))
			if diff := cmp.Diff(file, s.Fleet(), fleetCmp...); diff != "" {
				t.Fatalf("fleet file -> store -> fleet (-file +store):\n%s", diff)
			}

			// An agent finds a computer; an admin adds a deployment by hand;
			// an agent's computer also appears in the file, by another name.
			found := immy.Computer{ID: "found-01", Tenant: file.Tenants[0].ID, Name: "FOUND-01", Kind: immy.KindWorkstation}
			byHand := file.Deployments[0]
			byHand.ID = "by-hand"
			_, err = s.Apply(ctx, Change{Base: s.Revision(), Actor: "agent-server", Ops: []Op{PutComputer(found)}})
			require.NoError(t, err)
			_, err = s.Apply(ctx, Change{Base: s.Revision(), Actor: "alice", Ops: []Op{PutDeployment(byHand)}})
			require.NoError(t, err)
			// Agents report on the found computer and on one of the file's.
			online := true
			agentSW := []immy.DetectedSoftware{{Name: "7-Zip", Version: mustVersion(t, "24.08")}}
			fromFile := file.Computers[0]
			_, err = s.PutInventory(ctx, []Inventory{
				{Computer: found.ID, OS: "Windows 11 Pro", Online: &online, Software: agentSW, Logons: []string{"x@contoso.com"}},
				{Computer: fromFile.ID, OS: "Windows 11 Enterprise", Online: &online, Software: agentSW},
			})
			require.NoError(t, err)
			foundNow := s.Fleet().Computers[len(s.Fleet().Computers)-1]
			require.Equal(t, found.ID, foundNow.ID)

			// The file drops a deployment and a computer, edits another
			// deployment, and names the found computer.
			next := *file
			gone := unreferencedComputer(t, file)
			next.Computers = slices.DeleteFunc(slices.Clone(file.Computers), func(c immy.Computer) bool { return c.ID == gone })
			renamed := found
			renamed.Name = "FROM-THE-FILE"
			renamed.OS, renamed.Online, renamed.Software = "Windows 10", false, nil
			next.Computers[0].OS, next.Computers[0].Software = "Windows 10", nil
			next.Computers = append(next.Computers, renamed)
			dropped := file.Deployments[len(file.Deployments)-1]
			next.Deployments = slices.Clone(file.Deployments[:len(file.Deployments)-1])
			next.Deployments[0].Priority = 42

			ch, err = s.SourceChange(ctx, &next, source)
			require.NoError(t, err)
			var touched []string
			for _, o := range ch.Ops {
				switch {
				case o.IsDelete():
					touched = append(touched, "delete "+string(o.Kind())+" "+o.ID())
				case o.ID() == found.ID:
					touched = append(touched, "put "+o.ID())
				}
			}
			require.ElementsMatch(t, []string{"delete computer " + gone, "delete deployment " + dropped.ID}, touched)
			ch.Actor = "gitops"
			_, err = s.Apply(ctx, ch)
			require.NoError(t, err)

			f := s.Fleet()
			ids := func(n int, id func(int) string) []string {
				var out []string
				for i := range n {
					out = append(out, id(i))
				}
				return out
			}
			comps := ids(len(f.Computers), func(i int) string { return f.Computers[i].ID })
			deps := ids(len(f.Deployments), func(i int) string { return f.Deployments[i].ID })
			require.NotContains(t, comps, gone)
			require.Contains(t, comps, found.ID)
			require.Equal(t, "FOUND-01", f.Computers[slices.Index(comps, found.ID)].Name, "the file does not overwrite a computer an agent found")
			if diff := cmp.Diff(foundNow, f.Computers[slices.Index(comps, found.ID)], fleetCmp...); diff != "" {
				t.Fatalf("the found computer changed (-before +after):\n%s", diff)
			}
			got0 := f.Computers[slices.Index(comps, fromFile.ID)]
			require.Equal(t, "Windows 11 Enterprise", got0.OS, "the file never overwrites inventory an agent wrote")
			require.True(t, got0.Online)
			require.Len(t, got0.Software, 1)
			require.NotContains(t, deps, dropped.ID)
			require.Contains(t, deps, "by-hand", "a deployment made by hand stays")
			require.Equal(t, 42, deployment(f, next.Deployments[0].ID).Priority)

			// Applying the same file again changes nothing.
			rev := s.Revision()
			ch, err = s.SourceChange(ctx, &next, source)
			require.NoError(t, err)
			ch.Actor = "gitops"
			got, err := s.Apply(ctx, ch)
			require.NoError(t, err)
			require.Equal(t, rev, got)

			// A file that no longer names the found computer leaves it, and
			// a computer the file adds starts with the file's inventory.
			third := next
			third.Computers = slices.DeleteFunc(slices.Clone(next.Computers), func(c immy.Computer) bool { return c.ID == found.ID })
			added := immy.Computer{ID: "added-01", Tenant: file.Tenants[0].ID, Name: "ADDED-01", Kind: immy.KindWorkstation,
				OS: "Windows 11 Pro", Online: true, UPNs: []string{"y@contoso.com"}, Software: agentSW}
			third.Computers = append(third.Computers, added)
			ch, err = s.SourceChange(ctx, &third, source)
			require.NoError(t, err)
			require.Len(t, ch.Inventory, 1)
			ch.Actor = "gitops"
			_, err = s.Apply(ctx, ch)
			require.NoError(t, err)
			f = s.Fleet()
			require.Equal(t, found.ID, f.Computers[slices.IndexFunc(f.Computers, func(c immy.Computer) bool { return c.ID == found.ID })].ID)
			for _, s := range []*Store{s, b.open(t)} {
				i := slices.IndexFunc(s.Fleet().Computers, func(c immy.Computer) bool { return c.ID == added.ID })
				require.GreaterOrEqual(t, i, 0)
				if diff := cmp.Diff(added, s.Fleet().Computers[i], fleetCmp...); diff != "" {
					t.Fatalf("added computer (-file +store):\n%s", diff)
				}
			}

			_, err = s.SourceChange(ctx, &next, "")
			require.ErrorIs(t, err, immy.ErrInvalid)
		})
	}
}
