package fleetstore

import (
	"context"
	"slices"
	"testing"

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

			// An agent finds a computer; an admin adds a deployment by hand;
			// an agent's computer also appears in the file, by another name.
			found := immy.Computer{ID: "found-01", Tenant: file.Tenants[0].ID, Name: "FOUND-01", Kind: immy.KindWorkstation}
			byHand := file.Deployments[0]
			byHand.ID = "by-hand"
			_, err = s.Apply(ctx, Change{Base: s.Revision(), Actor: "agent-server", Ops: []Op{PutComputer(found)}})
			require.NoError(t, err)
			_, err = s.Apply(ctx, Change{Base: s.Revision(), Actor: "alice", Ops: []Op{PutDeployment(byHand)}})
			require.NoError(t, err)

			// The file drops a deployment and a computer, edits another
			// deployment, and names the found computer.
			next := *file
			gone := unreferencedComputer(t, file)
			next.Computers = slices.DeleteFunc(slices.Clone(file.Computers), func(c immy.Computer) bool { return c.ID == gone })
			renamed := found
			renamed.Name = "FROM-THE-FILE"
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

			_, err = s.SourceChange(ctx, &next, "")
			require.ErrorIs(t, err, immy.ErrInvalid)
		})
	}
}
