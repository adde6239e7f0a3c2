package session

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/immytest"
	"github.com/immyoss/engine/resolver"
)

// fakeSource is a FleetSource whose revisions a test sets.
type fakeSource struct {
	mu  sync.Mutex
	f   *immy.Fleet
	rev int64
}

func (s *fakeSource) Snapshot() (*immy.Fleet, int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.f, s.rev
}

func (s *fakeSource) set(f *immy.Fleet) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.f, s.rev = f, s.rev+1
}

type noRunner struct{}

func (noRunner) RunScript(context.Context, immy.ScriptRequest) (immy.ScriptResult, error) {
	return immy.ScriptResult{}, nil
}

// mutate returns the next revision of f as a store makes it (what did not
// change is copied, what changes is new), and the ids it changed.
func mutate(r *rand.Rand, f *immy.Fleet) (next *immy.Fleet, ch resolver.Changes, deleted bool) {
	nf := *f
	next = &nf
	switch r.IntN(6) {
	case 0, 1: // an inventory: software found, online
		next.Computers = slices.Clone(f.Computers)
		c := &next.Computers[r.IntN(len(next.Computers))]
		sw := f.Software[r.IntN(len(f.Software))]
		v, _ := immy.ParseVersion(fmt.Sprintf("%d.%d", r.IntN(5), r.IntN(10)))
		c.Software = append(slices.Clone(c.Software[:len(c.Software)/2]), immy.DetectedSoftware{Name: sw.Name, Version: v})
		c.Online = !c.Online
		ch.Computers = []string{c.ID}
	case 2: // a computer's tags
		next.Computers = slices.Clone(f.Computers)
		c := &next.Computers[r.IntN(len(next.Computers))]
		c.Tags = append(slices.Clone(c.Tags), fmt.Sprintf("tag%d", r.IntN(8)))
		ch.Computers = []string{c.ID}
	case 3: // a deployment's priority or desired state
		next.Deployments = slices.Clone(f.Deployments)
		d := &next.Deployments[r.IntN(len(next.Deployments))]
		d.Priority += 1 + r.IntN(5)
		if d.Desired == immy.DesiredLatest {
			d.Desired = immy.DesiredUninstalled
		}
		ch.Deployments = []string{d.ID}
	case 4: // a computer added, like another
		next.Computers = slices.Clone(f.Computers)
		c := next.Computers[r.IntN(len(next.Computers))]
		c.ID = fmt.Sprintf("new-%d-%d", len(next.Computers), r.IntN(1000))
		next.Computers = append(next.Computers, c)
		ch.Computers = []string{c.ID}
	case 5: // an added computer deleted: the others after it move
		i := slices.IndexFunc(f.Computers, func(c immy.Computer) bool { return strings.HasPrefix(c.ID, "new-") })
		if i < 0 {
			return mutate(r, f)
		}
		next.Computers = slices.Delete(slices.Clone(f.Computers), i, i+1)
		ch.Computers = []string{f.Computers[i].ID}
		deleted = true
	}
	return next, ch, deleted
}

// TestLivingUpdateEqualsRebuild pins the engine's planners of a living
// fleet, updated from revision to revision with what fleetChanges finds, to
// planners made afresh: every computer's decisions are the same.
func TestLivingUpdateEqualsRebuild(t *testing.T) {
	f := immytest.Generate(immytest.FleetScale(300))
	src := &fakeSource{f: f, rev: 1}
	e, err := New(Config{Fleet: src, Runner: noRunner{}})
	require.NoError(t, err)
	require.Equal(t, int64(1), e.Revision())
	ctx := context.Background()
	r := rand.New(rand.NewPCG(11, 12))
	deletions := 0
	for step := range 30 {
		prev, _ := src.Snapshot()
		next, want, deleted := mutate(r, prev)
		got := fleetChanges(prev, next)
		if d := cmp.Diff(want, got, cmpopts.EquateEmpty()); d != "" {
			t.Fatalf("step %d: changes (-want +got):\n%s", step, d)
		}
		before := e.latest.Load()
		src.set(next)
		cur, err := e.current()
		require.NoError(t, err)
		require.Equal(t, src.rev, cur.rev)
		require.Same(t, next, cur.fleet)
		if deleted {
			deletions++
		} else {
			_, err = before.planner.Update(next, got)
			require.NoError(t, err, "step %d: the update path, not a rebuild", step)
		}
		fresh, err := planFleet(&e.cfg, next)
		require.NoError(t, err)
		for i, c := range next.Computers {
			require.Same(t, &next.Computers[i], cur.computer(c.ID), "step %d: the revision's own computer", step)
			gd, gp, gerr := cur.planner.Decide(ctx, c.ID, resolver.Session{})
			wd, wp, werr := fresh.Decide(ctx, c.ID, resolver.Session{})
			require.Equal(t, werr, gerr)
			if d := cmp.Diff(wd, gd); d != "" {
				t.Fatalf("step %d: computer %s: decisions (-rebuilt +updated):\n%s", step, c.ID, d)
			}
			if d := cmp.Diff(wp, gp); d != "" {
				t.Fatalf("step %d: computer %s: problems (-rebuilt +updated):\n%s", step, c.ID, d)
			}
		}
		again, err := e.current()
		require.NoError(t, err)
		require.Same(t, cur, again, "a revision is indexed once")
	}
	require.Positive(t, deletions, "a deletion, planned afresh")
}

// TestFleetChangesMovedAndDeleted: when entities move or go, the changes
// name the ones that differ, by id.
func TestFleetChangesMovedAndDeleted(t *testing.T) {
	f := &immy.Fleet{Tenants: []immy.Tenant{{ID: "a"}, {ID: "b"}, {ID: "c"}}}
	next := *f
	next.Tenants = []immy.Tenant{f.Tenants[2], f.Tenants[0], {ID: "d"}}
	next.Tenants[1].Tags = []string{"x"}
	got := fleetChanges(f, &next)
	require.Equal(t, []string{"a", "d", "b"}, got.Tenants)
	require.Empty(t, got.Computers)
	require.True(t, fleetChanges(f, f).Empty())
}
