package session_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/resolver"
	"github.com/immyoss/engine/session"
	"github.com/immyoss/engine/session/fleetstore"
	"github.com/immyoss/engine/targets"
)

// countingStore is a fleet store that counts the fleets it hands out to the
// engine: each one the store has to keep as it is (its next inventory
// write copies every computer). It keeps the store's Unchanged.
type countingStore struct {
	*fleetstore.Store
	snapshots atomic.Int64
}

func (s *countingStore) Snapshot() (*immy.Fleet, int64) {
	s.snapshots.Add(1)
	return s.Store.Snapshot()
}

// osStore opens a SQLite fleet store of a tenant, computers pc1..pcN without
// an OS, and App 1.0 deployed to the computers whose OS is Windows 11: a
// computer's plan depends on its inventory, which its sessions write (the
// runner reports "Windows 11 Pro").
func osStore(t *testing.T, n int) *fleetstore.Store {
	t.Helper()
	ctx := t.Context()
	store, err := fleetstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "immy.db"), fleetstore.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	app := immy.Software{ID: "app", Name: "App", Detection: immy.Detection{DisplayName: "App"},
		UpgradeStrategy: immy.UpgradeInstallOver, Versions: []immy.SoftwareVersion{{Version: mustVersion(t, "1.0")}},
		Install: &immy.Script{Body: "install"}, Uninstall: &immy.Script{Body: "uninstall"}}
	ops := []fleetstore.Op{fleetstore.PutTenant(immy.Tenant{ID: "t1"}), fleetstore.PutSoftware(app),
		fleetstore.PutDeployment(immy.Deployment{ID: "d-app", Item: "app",
			Target:  immy.Target{Type: immy.TargetFilter, Expr: `computer.os startsWith "Windows 11"`},
			Desired: immy.DesiredThisVersion, Version: mustVersion(t, "1.0")})}
	for i := 1; i <= n; i++ {
		ops = append(ops, fleetstore.PutComputer(immy.Computer{ID: fmt.Sprintf("pc%d", i), Tenant: "t1", Kind: immy.KindWorkstation}))
	}
	_, err = store.Apply(ctx, fleetstore.Change{Base: store.Revision(), Actor: "alice", Ops: ops})
	require.NoError(t, err)
	return store
}

func osRunner(n int) *livingRunner {
	r := &livingRunner{software: map[string]map[string]immy.DetectedSoftware{}}
	for i := 1; i <= n; i++ {
		r.software[fmt.Sprintf("pc%d", i)] = map[string]immy.DetectedSoftware{}
	}
	return r
}

// detect runs a detection-only session of computer on e.
func detect(t *testing.T, e *session.Engine, computer string) session.Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	id, err := e.Start(ctx, session.Request{Computer: computer, Kind: session.DetectionOnly})
	require.NoError(t, err)
	rep, err := e.Wait(ctx, id)
	require.NoError(t, err)
	require.Equal(t, session.Passed, rep.Status, "%s: %s", rep.Reason, rep.Message)
	return rep
}

// freshReport runs the same session on an engine made afresh from f, with
// no fleet source and no inventory sink.
func freshReport(t *testing.T, f *immy.Fleet, runner *livingRunner, computer string) session.Report {
	t.Helper()
	cat, err := resolver.NewCatalogue(f)
	require.NoError(t, err)
	ix, err := targets.NewIndex(f, targets.Config{})
	require.NoError(t, err)
	p, err := resolver.NewPlanner(ix, cat, resolver.Config{})
	require.NoError(t, err)
	e, err := session.New(session.Config{Planner: p, Runner: runner, Inventory: runner})
	require.NoError(t, err)
	t.Cleanup(func() { e.Close(context.Background()) })
	return detect(t, e, computer)
}

// samePlan compares what two sessions decided and planned.
func samePlan(t *testing.T, want, got session.Report) {
	t.Helper()
	opts := cmp.Options{cmpopts.IgnoreFields(session.Report{}, "ID", "Request", "Created", "Ended", "Revision"),
		cmpopts.IgnoreUnexported(session.Report{}), cmpopts.EquateEmpty(),
		cmp.Comparer(func(a, b immy.Version) bool { return a.Compare(b) == 0 })}
	if d := cmp.Diff(want, got, opts...); d != "" {
		t.Fatalf("session of %s: plan from the store (+) differs from a plan of the current fleet (-):\n%s", got.Computer, d)
	}
}

// A session whose computer's inventory did not change since the revision
// the engine indexed last plans from that revision, without taking the
// store's current one (which the store can then change in place), and
// records it; one whose computer's inventory changed plans from the
// current revision. Either plan equals a plan of the current fleet.
func TestLivingChangesPlanFromView(t *testing.T) {
	store := &countingStore{Store: osStore(t, 3)}
	runner := osRunner(3)
	journal := &session.MemoryJournal{}
	e, err := session.New(session.Config{Fleet: store, Runner: runner, Inventory: runner, Journal: journal,
		InventorySink: fleetstore.SessionSink(store.Store)})
	require.NoError(t, err)
	t.Cleanup(func() { e.Close(context.Background()) })
	require.Equal(t, int64(1), store.snapshots.Load(), "New takes the current revision")
	r1 := store.Revision()

	step := func(computer string, wantRev int64, wantSnapshots int64, wantActions int) session.Report {
		t.Helper()
		cur := store.Fleet() // the fleet the session should plan as (handed out after the session started)
		fresh := freshReport(t, cur, runner, computer)
		rep := detect(t, e, computer)
		require.Equal(t, wantRev, rep.Revision, "session of %s: the revision planned from", computer)
		require.Equal(t, []int64{wantRev, wantRev}, planRevisions(t, journal, rep.ID))
		require.Equal(t, wantSnapshots, store.snapshots.Load(), "session of %s: fleets taken from the store", computer)
		require.Len(t, rep.Actions, wantActions, "session of %s", computer)
		samePlan(t, fresh, rep)
		return rep
	}
	// pc1 has no OS in the store: App is not deployed to it; the session
	// writes its OS (Windows 11 Pro) back.
	step("pc1", r1, 1, 0)
	require.Greater(t, store.Revision(), r1)
	// pc2's inventory did not change: planned from revision r1, no fleet
	// taken
	step("pc2", r1, 1, 0)
	// pc1's did: planned from the current revision, where App is deployed
	// to it
	r3 := store.Revision()
	rep := step("pc1", r3, 2, 1)
	require.Equal(t, "install", rep.Actions[0].Planned.Action.String())
	// pc3: from r3, the latest the engine indexed
	step("pc3", r3, 2, 0)

	// an admin's edit: every session plans from the current revision
	_, err = store.Apply(t.Context(), fleetstore.Change{Base: store.Revision(), Actor: "alice",
		Ops: []fleetstore.Op{fleetstore.PutTenant(immy.Tenant{ID: "t1", Name: "Tenant one"})}})
	require.NoError(t, err)
	r5 := store.Revision()
	step("pc3", r5, 3, 1) // its own write (its OS: App now) was before the edit
	// a tenant session reads no computer: the engine's latest revision
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	id, err := e.Start(ctx, session.Request{Computer: session.TenantSession("t1"), Kind: session.DetectionOnly})
	require.NoError(t, err)
	rep, err = e.Wait(ctx, id)
	require.NoError(t, err)
	require.Equal(t, session.Passed, rep.Status, rep.Message)
	require.Equal(t, r5, rep.Revision)
	require.Equal(t, int64(3), store.snapshots.Load())
}

// Sessions start while inventories of other computers and admin edits (in
// the first round) land at once: a session never plans from a revision older than its own
// computer's last inventory write (the second session of each computer,
// whose first wrote the OS that deploys App to it, plans App), and none of
// the engine's fleets changes (the race detector).
func TestLivingChangesConcurrentWrites(t *testing.T) {
	const n = 12
	base := osStore(t, n+4)
	store := &countingStore{Store: base}
	runner := osRunner(n + 4)
	e, err := session.New(session.Config{Fleet: store, Runner: runner, Inventory: runner,
		InventorySink: fleetstore.SessionSink(base), MaxRunning: 4})
	require.NoError(t, err)
	t.Cleanup(func() { e.Close(context.Background()) })

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var edits atomic.Bool // in the first round only: the second plans from views older than the writes of its computers
	edits.Store(true)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // agents of pc13..pc16 report, an admin edits now and then
		defer wg.Done()
		for k := 0; ctx.Err() == nil; k++ {
			c := fmt.Sprintf("pc%d", n+1+k%4)
			on := k%2 == 0
			if _, err := base.PutInventory(ctx, []fleetstore.Inventory{{Computer: c, Online: &on,
				OS: fmt.Sprintf("Windows 10 Pro %d", k%3)}}); err != nil && ctx.Err() == nil {
				t.Errorf("inventory: %v", err)
				return
			}
			if k%10 == 9 && edits.Load() {
				_, err := base.Apply(ctx, fleetstore.Change{Base: base.Revision(), Actor: "alice",
					Ops: []fleetstore.Op{fleetstore.PutTenant(immy.Tenant{ID: "t1", Name: fmt.Sprint("T", k)})}})
				if err != nil && ctx.Err() == nil {
					t.Errorf("edit: %v", err)
					return
				}
			}
		}
	}()
	for round, want := range []int{0, 1} {
		var rw sync.WaitGroup
		for i := 1; i <= n; i++ {
			rw.Add(1)
			go func() {
				defer rw.Done()
				c := fmt.Sprintf("pc%d", i)
				id, err := e.Start(ctx, session.Request{Computer: c, Kind: session.DetectionOnly})
				if err != nil {
					t.Errorf("round %d: %s: %v", round, c, err)
					return
				}
				rep, err := e.Wait(ctx, id)
				if err != nil {
					t.Errorf("round %d: %s: %v", round, c, err)
					return
				}
				if rep.Status != session.Passed || len(rep.Actions) != want {
					t.Errorf("round %d: %s: %s %s, %d actions (planned from revision %d), want %d", round, c, rep.Status, rep.Message, len(rep.Actions), rep.Revision, want)
				}
			}()
		}
		rw.Wait()
		edits.Store(false)
	}
	cancel()
	wg.Wait()
}
