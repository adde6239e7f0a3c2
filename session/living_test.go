package session_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/session"
	"github.com/immyoss/engine/session/fleetstore"
)

// livingRunner is a computer without latency: an install step installs the
// version it is told (publisher "Vendor"), an uninstall removes it. When
// gate is set, an install waits for it to close.
type livingRunner struct {
	mu       sync.Mutex
	software map[string]map[string]immy.DetectedSoftware // computer -> name -> entry
	gate     chan struct{}
	started  chan string // told each install, before it waits
}

func (r *livingRunner) RunScript(ctx context.Context, req immy.ScriptRequest) (immy.ScriptResult, error) {
	name, _ := req.Parameters["software_name"].(string)
	switch req.Parameters["step"] {
	case "install":
		if r.started != nil {
			r.started <- req.Computer
		}
		if r.gate != nil {
			select {
			case <-r.gate:
			case <-ctx.Done():
				return immy.ScriptResult{}, ctx.Err()
			}
		}
		v, err := immy.ParseVersion(req.Parameters["version"].(string))
		if err != nil {
			return immy.ScriptResult{ExitCode: 1}, nil
		}
		r.mu.Lock()
		r.software[req.Computer][name] = immy.DetectedSoftware{Name: name, Version: v, Publisher: "Vendor"}
		r.mu.Unlock()
	case "uninstall":
		r.mu.Lock()
		delete(r.software[req.Computer], name)
		r.mu.Unlock()
	}
	return immy.ScriptResult{}, nil
}

func (r *livingRunner) Inventory(ctx context.Context, computer string) (immy.Inventory, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	inv := immy.Inventory{Identity: immy.Identity{Hostname: computer, OS: "Windows 11 Pro"}}
	for _, s := range r.software[computer] {
		inv.Software = append(inv.Software, s)
	}
	return inv, nil
}

// livingStore opens a SQLite fleet store holding a tenant, two computers and
// a software App (1.0 and 2.0) deployed at version want to every computer.
func livingStore(t *testing.T, want string) (*fleetstore.Store, immy.Deployment) {
	t.Helper()
	ctx := t.Context()
	store, err := fleetstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "immy.db"), fleetstore.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	app := immy.Software{ID: "app", Name: "App", Detection: immy.Detection{DisplayName: "App"},
		UpgradeStrategy: immy.UpgradeInstallOver,
		Install:         &immy.Script{Body: "install"}, Uninstall: &immy.Script{Body: "uninstall"}}
	for _, v := range []string{"1.0", "2.0"} {
		pv, err := immy.ParseVersion(v)
		require.NoError(t, err)
		app.Versions = append(app.Versions, immy.SoftwareVersion{Version: pv})
	}
	dep := immy.Deployment{ID: "d-app", Item: "app", Target: immy.Target{Type: immy.TargetAllComputers},
		Desired: immy.DesiredThisVersion, Version: mustVersion(t, want)}
	_, err = store.Apply(ctx, fleetstore.Change{Base: store.Revision(), Actor: "alice", Ops: []fleetstore.Op{
		fleetstore.PutTenant(immy.Tenant{ID: "t1"}),
		fleetstore.PutComputer(immy.Computer{ID: "pc1", Tenant: "t1", Kind: immy.KindWorkstation}),
		fleetstore.PutComputer(immy.Computer{ID: "pc2", Tenant: "t1", Kind: immy.KindWorkstation}),
		fleetstore.PutSoftware(app),
		fleetstore.PutDeployment(dep),
	}})
	require.NoError(t, err)
	return store, dep
}

func mustVersion(t *testing.T, s string) immy.Version {
	t.Helper()
	v, err := immy.ParseVersion(s)
	require.NoError(t, err)
	return v
}

func livingEngine(t *testing.T, store *fleetstore.Store, runner *livingRunner, journal session.Journal) *session.Engine {
	t.Helper()
	e, err := session.New(session.Config{Fleet: store, Runner: runner, Inventory: runner, Journal: journal,
		InventorySink: fleetstore.SessionSink(store)})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, e.Close(ctx))
	})
	return e
}

func runSession(t *testing.T, e *session.Engine, computer string) session.Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	id, err := e.Start(ctx, session.Request{Computer: computer})
	require.NoError(t, err)
	rep, err := e.Wait(ctx, id)
	require.NoError(t, err)
	require.Equal(t, session.Passed, rep.Status, "%s: %s", rep.Reason, rep.Message)
	return rep
}

// planRevisions returns the revisions the journal's decisions and plan
// records of session id name.
func planRevisions(t *testing.T, j *session.MemoryJournal, id string) []int64 {
	var out []int64
	for _, r := range j.Records() {
		if r.Session == id && (r.Kind == session.RecordDecisions || r.Kind == session.RecordPlan) {
			out = append(out, r.Revision)
		}
	}
	return out
}

// TestLivingFleetEditUsedByNextSession: a deployment edited in the store is
// what the next session plans from, without a new engine; each session
// records the revision it planned from.
func TestLivingFleetEditUsedByNextSession(t *testing.T) {
	store, dep := livingStore(t, "1.0")
	runner := &livingRunner{software: map[string]map[string]immy.DetectedSoftware{"pc1": {}, "pc2": {}}}
	journal := &session.MemoryJournal{}
	e := livingEngine(t, store, runner, journal)

	rev1 := store.Revision()
	rep := runSession(t, e, "pc1")
	require.Equal(t, rev1, rep.Revision)
	require.Equal(t, []int64{rev1, rev1}, planRevisions(t, journal, rep.ID))
	require.Len(t, rep.Actions, 1)
	require.Equal(t, "1.0", rep.Actions[0].Planned.Version)

	// An admin moves the deployment to 2.0 (against the revision they saw,
	// though the session's inventory write came after it).
	dep.Version = mustVersion(t, "2.0")
	rev2, err := store.Apply(t.Context(), fleetstore.Change{Base: rev1, Actor: "alice",
		Ops: []fleetstore.Op{fleetstore.PutDeployment(dep)}})
	require.NoError(t, err, "the session's inventory revision does not conflict with the admin's edit")

	rep = runSession(t, e, "pc1")
	require.Equal(t, rev2, rep.Revision)
	require.Equal(t, []int64{rev2, rev2}, planRevisions(t, journal, rep.ID))
	require.Len(t, rep.Actions, 1)
	require.Equal(t, "update", rep.Actions[0].Planned.Action.String())
	require.Equal(t, "2.0", rep.Actions[0].Planned.Version)
	require.Equal(t, "2.0", rep.Actions[0].After)

	// A computer added by an admin is one the engine can start a session of.
	_, err = store.Apply(t.Context(), fleetstore.Change{Base: store.Revision(), Actor: "alice",
		Ops: []fleetstore.Op{fleetstore.PutComputer(immy.Computer{ID: "pc3", Tenant: "t1", Kind: immy.KindWorkstation})}})
	require.NoError(t, err)
	runner.mu.Lock()
	runner.software["pc3"] = map[string]immy.DetectedSoftware{}
	runner.mu.Unlock()
	rep = runSession(t, e, "pc3")
	require.Equal(t, "2.0", rep.Actions[0].After)
}

// TestLivingFleetRunningSessionKeepsPlan: a session that has its plan runs
// it to the end, whatever the store's revision moves to meanwhile; the next
// session plans from the edit.
func TestLivingFleetRunningSessionKeepsPlan(t *testing.T) {
	store, dep := livingStore(t, "1.0")
	runner := &livingRunner{software: map[string]map[string]immy.DetectedSoftware{"pc1": {}, "pc2": {}},
		gate: make(chan struct{}), started: make(chan string, 4)}
	journal := &session.MemoryJournal{}
	e := livingEngine(t, store, runner, journal)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	rev1 := store.Revision()
	id, err := e.Start(ctx, session.Request{Computer: "pc1"})
	require.NoError(t, err)
	require.Equal(t, "pc1", <-runner.started, "the session runs its install")

	// Meanwhile an admin moves the deployment to 2.0.
	dep.Version = mustVersion(t, "2.0")
	rev2, err := store.Apply(ctx, fleetstore.Change{Base: rev1, Actor: "alice",
		Ops: []fleetstore.Op{fleetstore.PutDeployment(dep)}})
	require.NoError(t, err)
	require.Greater(t, rev2, rev1)

	// A session of another computer started now plans from the edit.
	id2, err := e.Start(ctx, session.Request{Computer: "pc2"})
	require.NoError(t, err)
	require.Equal(t, "pc2", <-runner.started)
	close(runner.gate)

	rep, err := e.Wait(ctx, id)
	require.NoError(t, err)
	require.Equal(t, session.Passed, rep.Status, rep.Message)
	require.Equal(t, rev1, rep.Revision, "the running session kept its plan")
	require.Equal(t, "1.0", rep.Actions[0].After)

	rep2, err := e.Wait(ctx, id2)
	require.NoError(t, err)
	require.Equal(t, session.Passed, rep2.Status, rep2.Message)
	require.Equal(t, rev2, rep2.Revision)
	require.Equal(t, "2.0", rep2.Actions[0].After)
}

// TestLivingFleetInventoryWrittenBack: what a session learnt (software with
// version and publisher, OS, online, last seen) lands in the store as an
// inventory revision, which an admin's edit made against an earlier
// revision does not conflict with; the computer's UPNs, the agents', are
// left alone.
func TestLivingFleetInventoryWrittenBack(t *testing.T) {
	store, dep := livingStore(t, "1.0")
	ctx := t.Context()
	_, err := store.PutInventory(ctx, []fleetstore.Inventory{{Computer: "pc1", Logons: []string{"ann@t1", "bob@t1", "ann@t1"}}})
	require.NoError(t, err)
	base := store.Revision()
	runner := &livingRunner{software: map[string]map[string]immy.DetectedSoftware{"pc1": {}, "pc2": {}}}
	e := livingEngine(t, store, runner, &session.MemoryJournal{})

	before := time.Now().Add(-time.Second)
	runSession(t, e, "pc1")
	require.Greater(t, store.Revision(), base, "an inventory revision")
	var pc1 immy.Computer
	for _, c := range store.Fleet().Computers {
		if c.ID == "pc1" {
			pc1 = c
		}
	}
	want := []immy.DetectedSoftware{{Name: "App", Version: mustVersion(t, "1.0"), Publisher: "Vendor"}}
	if d := cmp.Diff(want, pc1.Software, cmp.Comparer(func(a, b immy.Version) bool { return a.Compare(b) == 0 })); d != "" {
		t.Errorf("software in the store (-want +got):\n%s", d)
	}
	require.Equal(t, "Windows 11 Pro", pc1.OS)
	require.True(t, pc1.Online)
	require.Equal(t, []string{"ann@t1", "bob@t1", "ann@t1"}, pc1.UPNs, "logons kept, repetitions included")
	seen, ok := store.LastSeen("pc1")
	require.True(t, ok)
	require.True(t, seen.After(before), "last seen %v", seen)

	// The admin's edit against the revision before the session's write lands.
	dep.Priority = 5
	_, err = store.Apply(ctx, fleetstore.Change{Base: base, Actor: "alice", Ops: []fleetstore.Op{fleetstore.PutDeployment(dep)}})
	require.NoError(t, err)
	// and the next session, planned from it, finds nothing to do
	rep := runSession(t, e, "pc1")
	require.Equal(t, "none", rep.Actions[0].Planned.Action.String())
}
