package fleetstoretest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/immytest"
	"github.com/immyoss/engine/resolver"
	"github.com/immyoss/engine/session/fleetstore"
)

// Store is what the kit checks: the methods of *fleetstore.Store. A store
// is safe for concurrent use.
type Store interface {
	Apply(ctx context.Context, ch fleetstore.Change) (int64, error)
	PutInventory(ctx context.Context, reports []fleetstore.Inventory) (int64, error)
	Snapshot() (*immy.Fleet, int64)
	Refresh(ctx context.Context) error
	SourceChange(ctx context.Context, f *immy.Fleet, source string) (fleetstore.Change, error)
	Preview(ctx context.Context, ch fleetstore.Change, cfg resolver.Config, s resolver.Session) (resolver.PlanDiff, error)
	EntityLog(ctx context.Context, kind fleetstore.Kind, id string, p fleetstore.Page) ([]fleetstore.Entry, error)
	TenantLog(ctx context.Context, tenant string, p fleetstore.Page) ([]fleetstore.Entry, error)
	LastSeen(computer string) (time.Time, bool)
	Close() error
}

var _ Store = (*fleetstore.Store)(nil)

// Options tells [RunWith] how to reach the store under test.
type Options struct {
	// Open returns an empty store over a database of its own; it is called
	// once per check, and the store is closed, if it needs to be, by a
	// t.Cleanup the function registers.
	Open func(t *testing.T) Store
	// Reopen, when set, returns another store over the database of s (as
	// another process would open it), leaving s open: the durable and
	// two-stores checks run only with it.
	Reopen func(t *testing.T, s Store) Store
	// Fault, when set, makes every later write of s fail with err in the
	// middle of its transaction, after it wrote part of its rows, until it is
	// called again with a nil err: the fault check runs only with it.
	Fault func(t *testing.T, s Store, err error)
	// Fleet returns the fleet the checks start from, a new one at each call;
	// nil means immytest.Generate(immytest.FleetScale(100)).
	Fleet func() *immy.Fleet
}

// Run runs the checks every fleet store must pass, as subtests of t, on
// stores returned by open; see [RunWith].
func Run(t *testing.T, open func(t *testing.T) Store) {
	t.Helper()
	RunWith(t, Options{Open: open})
}

// RunWith runs the checks every fleet store must pass, as subtests of t:
//
//   - round-trip: a fleet's entities (fleetstore.Ops) and inventories
//     (fleetstore.InventoryOf) come back equal, with revision 2; applying
//     the same again changes nothing and keeps the revision;
//   - source-change: a fleet applied through SourceChange comes back equal;
//     a later version of it deletes only what the source created, leaves a
//     computer an agent found and the inventory agents wrote as they are,
//     gives a computer it creates the fleet's inventory, and the same
//     version again changes nothing;
//   - refused: a change that breaks several rules is refused with every
//     problem (immy.Problems, by section, id and field), a malformed one
//     with immy.ErrInvalid or immy.ErrNotFound, an inventory naming an
//     unknown computer with immy.ErrNotFound; none changes the fleet or the
//     revision;
//   - conflict: two edits of one entity against one revision: the second is
//     refused with a *fleetstore.ConflictError (errors.Is ErrConflict) naming
//     it; edits of other entities against that revision land; a put against
//     a revision before a delete conflicts;
//   - inventory: an inventory write never refuses an admin's edit made
//     against an older revision, nor the edit the write; a computer's put
//     keeps its inventory; logons roll (newest first, immy.MaxUPNs kept,
//     repetitions too); last seen is kept; none of it is in the audit log;
//   - audit: each change's entities in the entity's and the tenant's log,
//     with actor, revision, op, before and after; password parameters read
//     fleetstore.Redacted;
//   - preview: Preview equals the diff of the plans before and after
//     applying the change, and writes nothing;
//   - concurrent: admins' edits and inventory writes at once all land, each
//     with a revision of its own;
//   - fault (with Options.Fault): a change, and an inventory write, that
//     fail in the middle of their transaction leave the store as it was, in
//     memory (the same *immy.Fleet) and in the database (a reopened store
//     holds the same fleet); without the fault the same change lands;
//   - durable (with Options.Reopen): a reopened store holds the fleet, the
//     revision, last seen and the audit log;
//   - two-stores (with Options.Reopen): an edit through one store is
//     refused through the other when it conflicts, and the other, after
//     Refresh, plans from it.
func RunWith(t *testing.T, o Options) {
	t.Helper()
	if o.Fleet == nil {
		o.Fleet = func() *immy.Fleet { return immytest.Generate(immytest.FleetScale(100)) }
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			switch {
			case c.reopen && o.Reopen == nil:
				t.Skip("fleetstoretest: no Options.Reopen")
			case c.fault && o.Fault == nil:
				t.Skip("fleetstoretest: no Options.Fault")
			}
			c.run(t, &o)
		})
	}
}

var checks = []struct {
	name          string
	reopen, fault bool
	run           func(t *testing.T, o *Options)
}{
	{name: "round-trip", run: checkRoundTrip},
	{name: "source-change", run: checkSourceChange},
	{name: "refused", run: checkRefused},
	{name: "conflict", run: checkConflict},
	{name: "inventory", run: checkInventory},
	{name: "audit", run: checkAudit},
	{name: "preview", run: checkPreview},
	{name: "concurrent", run: checkConcurrent},
	{name: "fault", fault: true, reopen: true, run: checkFault},
	{name: "durable", reopen: true, run: checkDurable},
	{name: "two-stores", reopen: true, run: checkTwoStores},
}

// Equal is the comparison the kit uses for fleets: versions by their text,
// nil and empty alike.
var Equal = cmp.Options{
	cmp.Comparer(func(a, b immy.Version) bool { return a.String() == b.String() }),
	cmpopts.EquateEmpty(),
}

// Import brings f into an empty store: its entities in one change, then the
// computers' inventories in one write.
func Import(t testing.TB, s Store, f *immy.Fleet) {
	t.Helper()
	ctx := context.Background()
	_, rev := s.Snapshot()
	_, err := s.Apply(ctx, fleetstore.Change{Base: rev, Actor: "import", Ops: fleetstore.Ops(f)})
	require.NoError(t, err, "import the fleet's entities")
	inv := make([]fleetstore.Inventory, 0, len(f.Computers))
	for _, c := range f.Computers {
		inv = append(inv, fleetstore.InventoryOf(c))
	}
	_, err = s.PutInventory(ctx, inv)
	require.NoError(t, err, "import the fleet's inventories")
}

func sameFleet(t *testing.T, what string, want, got *immy.Fleet) {
	t.Helper()
	if d := cmp.Diff(want, got, Equal); d != "" {
		t.Fatalf("%s (-want +got):\n%s", what, d)
	}
}

// unchanged checks that s holds exactly the fleet f at revision rev.
func unchanged(t *testing.T, s Store, f *immy.Fleet, rev int64) {
	t.Helper()
	got, r := s.Snapshot()
	require.Equal(t, rev, r, "the revision moved")
	require.True(t, got == f, "the in-memory fleet was replaced")
}

func index[T any](xs []T, id func(*T) string, want string) int {
	for i := range xs {
		if id(&xs[i]) == want {
			return i
		}
	}
	return -1
}

func computer(f *immy.Fleet, id string) (immy.Computer, bool) {
	i := index(f.Computers, func(c *immy.Computer) string { return c.ID }, id)
	if i < 0 {
		return immy.Computer{}, false
	}
	return f.Computers[i], true
}

func deployment(t *testing.T, f *immy.Fleet, id string) immy.Deployment {
	t.Helper()
	i := index(f.Deployments, func(d *immy.Deployment) string { return d.ID }, id)
	require.GreaterOrEqual(t, i, 0, "no deployment %q", id)
	return f.Deployments[i]
}

// unreferenced returns the id of a computer of f no group, target or
// approval names: one that can be deleted alone.
func unreferenced(t *testing.T, f *immy.Fleet) string {
	t.Helper()
	used := map[string]bool{}
	for _, g := range f.Groups {
		for _, m := range g.Members {
			used[m] = true
		}
	}
	for _, d := range f.Deployments {
		used[d.Target.Computer] = true
		for _, c := range d.ApprovedFor {
			used[c] = true
		}
	}
	for _, s := range f.Schedules {
		used[s.Target.Computer] = true
	}
	for i := len(f.Computers) - 1; i >= 0; i-- {
		if !used[f.Computers[i].ID] {
			return f.Computers[i].ID
		}
	}
	t.Fatal("fleetstoretest: every computer of the fleet is referenced")
	return ""
}

// softwareEdits returns puts of f's deployments of software, each with a
// priority of its own.
func softwareEdits(f *immy.Fleet, n int) []fleetstore.Op {
	var ops []fleetstore.Op
	for i, d := range f.Deployments {
		if len(ops) == n {
			break
		}
		d.Priority = 500 + i
		ops = append(ops, fleetstore.PutDeployment(d))
	}
	return ops
}

func checkRoundTrip(t *testing.T, o *Options) {
	ctx := t.Context()
	s := o.Open(t)
	_, rev := s.Snapshot()
	require.Zero(t, rev, "an empty store is at revision 0")
	want := o.Fleet()
	Import(t, s, want)
	got, rev := s.Snapshot()
	require.Equal(t, int64(2), rev)
	sameFleet(t, "fleet -> store -> fleet", want, got)
	r, err := s.Apply(ctx, fleetstore.Change{Base: rev, Actor: "import", Ops: fleetstore.Ops(want)})
	require.NoError(t, err)
	require.Equal(t, rev, r, "applying what the store holds makes no revision")
	unchanged(t, s, got, rev)
}

func checkSourceChange(t *testing.T, o *Options) {
	ctx := t.Context()
	s := o.Open(t)
	file := o.Fleet()
	const source = "fleetfile:fleet.yaml"
	apply := func(f *immy.Fleet) (fleetstore.Change, int64) {
		t.Helper()
		ch, err := s.SourceChange(ctx, f, source)
		require.NoError(t, err)
		ch.Actor = "gitops"
		rev, err := s.Apply(ctx, ch)
		require.NoError(t, err)
		return ch, rev
	}
	apply(file)
	got, rev := s.Snapshot()
	sameFleet(t, "fleet file -> store -> fleet", file, got)

	// An agent finds a computer and reports on one of the file's; an admin
	// makes a deployment by hand.
	tenant := file.Tenants[0].ID
	found := immy.Computer{ID: "found-by-agent", Tenant: tenant, Name: "FOUND", Kind: immy.KindWorkstation}
	_, err := s.Apply(ctx, fleetstore.Change{Base: rev, Actor: "agent-server", Ops: []fleetstore.Op{fleetstore.PutComputer(found)}})
	require.NoError(t, err)
	byHand := file.Deployments[0]
	byHand.ID = "made-by-hand"
	_, rev = s.Snapshot()
	_, err = s.Apply(ctx, fleetstore.Change{Base: rev, Actor: "alice", Ops: []fleetstore.Op{fleetstore.PutDeployment(byHand)}})
	require.NoError(t, err)
	online := true
	reported := file.Computers[0].ID
	_, err = s.PutInventory(ctx, []fleetstore.Inventory{
		{Computer: found.ID, OS: "Windows 11 Pro", Online: &online, Logons: []string{"x@example.com"}},
		{Computer: reported, OS: "Agent's OS", Online: &online, Software: []immy.DetectedSoftware{}},
	})
	require.NoError(t, err)
	before, _ := s.Snapshot()

	// The next version of the file drops a computer and a deployment, names
	// the found computer with other fields, gives the reported computer
	// another inventory, and adds a computer.
	next := *file
	gone := unreferenced(t, file)
	next.Computers = slices.DeleteFunc(slices.Clone(file.Computers), func(c immy.Computer) bool { return c.ID == gone })
	next.Computers[0].OS, next.Computers[0].Online = "File's OS", false
	other := found
	other.Name, other.OS = "FROM-THE-FILE", "Windows 10"
	added := immy.Computer{ID: "added-by-file", Tenant: tenant, Name: "ADDED", Kind: immy.KindPortable, OS: "Windows 11 Pro",
		Online: true, UPNs: []string{"y@example.com"}}
	next.Computers = append(next.Computers, other, added)
	dropped := file.Deployments[len(file.Deployments)-1]
	next.Deployments = slices.Clone(file.Deployments[:len(file.Deployments)-1])
	ch, _ := apply(&next)
	for _, op := range ch.Ops {
		if op.IsDelete() {
			require.Contains(t, []string{"computer " + gone, "deployment " + dropped.ID}, string(op.Kind())+" "+op.ID(), "deletes only what the source created")
		}
	}
	after, _ := s.Snapshot()
	for _, id := range []string{found.ID, reported} {
		b, _ := computer(before, id)
		a, ok := computer(after, id)
		require.True(t, ok, id)
		if d := cmp.Diff(b, a, Equal); d != "" {
			t.Fatalf("the file overwrote %s (-before +after):\n%s", id, d)
		}
	}
	_, ok := computer(after, gone)
	require.False(t, ok, "a computer the source created and dropped is deleted")
	a, ok := computer(after, added.ID)
	require.True(t, ok)
	if d := cmp.Diff(added, a, Equal); d != "" {
		t.Fatalf("a computer the file creates starts with the file's inventory (-file +store):\n%s", d)
	}
	require.GreaterOrEqual(t, index(after.Deployments, func(d *immy.Deployment) string { return d.ID }, byHand.ID), 0, "a deployment made by hand stays")
	require.Negative(t, index(after.Deployments, func(d *immy.Deployment) string { return d.ID }, dropped.ID))

	// The same version again changes nothing.
	_, rev = s.Snapshot()
	_, got2 := apply(&next)
	require.Equal(t, rev, got2)

	_, err = s.SourceChange(ctx, &next, "")
	require.ErrorIs(t, err, immy.ErrInvalid)
}

func checkRefused(t *testing.T, o *Options) {
	ctx := t.Context()
	s := o.Open(t)
	src := o.Fleet()
	Import(t, s, src)
	f, rev := s.Snapshot()

	d := src.Deployments[0]
	d.Item = "no-such-item"
	loop := immy.Tenant{ID: "loop", Name: "Loop", Parent: "loop"}
	filter := src.Deployments[1]
	filter.Target = immy.Target{Type: immy.TargetFilter, Expr: "computer.os startsWith"}
	_, err := s.Apply(ctx, fleetstore.Change{Base: rev, Actor: "alice", Ops: []fleetstore.Op{
		fleetstore.PutTenant(immy.Tenant{ID: "fine", Name: "Fine"}), fleetstore.PutDeployment(d),
		fleetstore.PutTenant(loop), fleetstore.PutDeployment(filter)}})
	var ps immy.Problems
	require.ErrorAs(t, err, &ps, "a change that breaks rules is refused with its problems")
	var where []string
	for _, p := range ps {
		where = append(where, p.Section+" "+p.ID+" "+p.Field)
	}
	for _, w := range []string{"deployments " + d.ID + " item", "tenants loop parent", "deployments " + filter.ID + " target.expr"} {
		require.Contains(t, where, w, "every problem at once")
	}
	unchanged(t, s, f, rev)

	for _, tc := range []struct {
		name string
		ch   fleetstore.Change
		want error
	}{
		{"no actor", fleetstore.Change{Base: rev, Ops: []fleetstore.Op{fleetstore.PutTenant(immy.Tenant{ID: "t", Name: "T"})}}, immy.ErrInvalid},
		{"twice", fleetstore.Change{Base: rev, Actor: "alice", Ops: []fleetstore.Op{fleetstore.Delete(fleetstore.KindDeployment, d.ID), fleetstore.PutDeployment(src.Deployments[0])}}, immy.ErrInvalid},
		{"delete of nothing", fleetstore.Change{Base: rev, Actor: "alice", Ops: []fleetstore.Op{fleetstore.Delete(fleetstore.KindTenant, "nobody")}}, immy.ErrNotFound},
		{"future base", fleetstore.Change{Base: rev + 1, Actor: "alice", Ops: []fleetstore.Op{fleetstore.PutTenant(immy.Tenant{ID: "t", Name: "T"})}}, immy.ErrInvalid},
		{"settings deleted", fleetstore.Change{Base: rev, Actor: "alice", Ops: []fleetstore.Op{fleetstore.Delete(fleetstore.KindSettings, fleetstore.SettingsID)}}, immy.ErrInvalid},
	} {
		_, err := s.Apply(ctx, tc.ch)
		require.ErrorIs(t, err, tc.want, tc.name)
		unchanged(t, s, f, rev)
	}
	_, err = s.PutInventory(ctx, []fleetstore.Inventory{{Computer: src.Computers[0].ID, OS: "Windows 12"}, {Computer: "ghost"}})
	require.ErrorIs(t, err, immy.ErrNotFound)
	require.ErrorContains(t, err, `"ghost"`)
	unchanged(t, s, f, rev)
	_, err = s.PutInventory(ctx, []fleetstore.Inventory{{Computer: src.Computers[0].ID, Software: []immy.DetectedSoftware{{}}}})
	require.ErrorIs(t, err, immy.ErrInvalid, "software without a name")
	unchanged(t, s, f, rev)
}

func checkConflict(t *testing.T, o *Options) {
	ctx := t.Context()
	s := o.Open(t)
	src := o.Fleet()
	Import(t, s, src)
	_, base := s.Snapshot()
	d0, d1, d2 := src.Deployments[0], src.Deployments[1], src.Deployments[2]

	a := d0
	a.Priority = 5
	rev, err := s.Apply(ctx, fleetstore.Change{Base: base, Actor: "alice", Ops: []fleetstore.Op{fleetstore.PutDeployment(a)}})
	require.NoError(t, err)
	b := d0
	b.Priority = 7
	f, cur := s.Snapshot()
	_, err = s.Apply(ctx, fleetstore.Change{Base: base, Actor: "bob", Ops: []fleetstore.Op{fleetstore.PutDeployment(d1), fleetstore.PutDeployment(b)}})
	var ce *fleetstore.ConflictError
	require.ErrorAs(t, err, &ce, "the second writer on the same revision is refused")
	require.ErrorIs(t, err, fleetstore.ErrConflict)
	require.Equal(t, fleetstore.ConflictError{Kind: fleetstore.KindDeployment, ID: d0.ID, Base: base, Revision: rev}, *ce)
	unchanged(t, s, f, cur)
	require.Equal(t, 5, deployment(t, f, d0.ID).Priority)

	// Another entity edited against the same old revision lands.
	c := d2
	c.Priority = 9
	_, err = s.Apply(ctx, fleetstore.Change{Base: base, Actor: "carol", Ops: []fleetstore.Op{fleetstore.PutDeployment(c)}})
	require.NoError(t, err)
	// Against the new revision, bob's edit lands.
	_, cur = s.Snapshot()
	_, err = s.Apply(ctx, fleetstore.Change{Base: cur, Actor: "bob", Ops: []fleetstore.Op{fleetstore.PutDeployment(b)}})
	require.NoError(t, err)
	f, _ = s.Snapshot()
	require.Equal(t, 7, deployment(t, f, d0.ID).Priority)
	require.Equal(t, 9, deployment(t, f, d2.ID).Priority)

	// A delete and a put against the revision before it conflict.
	_, cur = s.Snapshot()
	_, err = s.Apply(ctx, fleetstore.Change{Base: cur, Actor: "alice", Ops: []fleetstore.Op{fleetstore.Delete(fleetstore.KindDeployment, d1.ID)}})
	require.NoError(t, err)
	_, err = s.Apply(ctx, fleetstore.Change{Base: cur, Actor: "bob", Ops: []fleetstore.Op{fleetstore.PutDeployment(d1)}})
	require.ErrorAs(t, err, &ce, "a put made before a delete conflicts with it")
	require.Equal(t, d1.ID, ce.ID)
}

func checkInventory(t *testing.T, o *Options) {
	ctx := t.Context()
	s := o.Open(t)
	src := o.Fleet()
	Import(t, s, src)
	_, base := s.Snapshot()
	c := src.Computers[0]

	online := !c.Online
	seen := time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)
	sw := []immy.DetectedSoftware{{Name: "7-Zip 24.08 (x64)", Version: mustVersion(t, "24.08"), Publisher: "Igor Pavlov"}}
	_, err := s.PutInventory(ctx, []fleetstore.Inventory{{Computer: c.ID, Online: &online, OS: "Windows 11 Pro 24H2", LastSeen: seen,
		Software: sw, UPNs: []string{}, Logons: []string{"a@x.com", "b@x.com"}}})
	require.NoError(t, err)

	edited := c
	edited.Name = "RENAMED"
	edited.OS, edited.Online, edited.Software = "not an admin's", false, nil
	_, err = s.Apply(ctx, fleetstore.Change{Base: base, Actor: "alice", Ops: []fleetstore.Op{fleetstore.PutComputer(edited)}})
	require.NoError(t, err, "an inventory write never refuses an admin's edit")
	var logons []string
	for i := range 12 {
		logons = append(logons, fmt.Sprintf("u%d@x.com", i%3))
	}
	_, err = s.PutInventory(ctx, []fleetstore.Inventory{{Computer: c.ID, Logons: logons}})
	require.NoError(t, err, "an admin's edit never refuses an inventory write")

	f, _ := s.Snapshot()
	got, _ := computer(f, c.ID)
	require.Equal(t, "RENAMED", got.Name)
	require.Equal(t, "Windows 11 Pro 24H2", got.OS, "a computer's put keeps its inventory")
	require.Equal(t, online, got.Online)
	if d := cmp.Diff(sw, got.Software, Equal); d != "" {
		t.Fatalf("software (-reported +store):\n%s", d)
	}
	want := []string{"u2@x.com", "u1@x.com", "u0@x.com", "u2@x.com", "u1@x.com", "u0@x.com", "u2@x.com", "u1@x.com", "u0@x.com", "u2@x.com"}
	require.Equal(t, want[:immy.MaxUPNs], got.UPNs, "logons roll, newest first, repetitions kept")
	ls, ok := s.LastSeen(c.ID)
	require.True(t, ok)
	require.True(t, seen.Equal(ls))

	log, err := s.EntityLog(ctx, fleetstore.KindComputer, c.ID, fleetstore.Page{})
	require.NoError(t, err)
	require.Len(t, log, 2, "import and rename; inventory is not in the audit log")
	for _, e := range log {
		require.NotContains(t, string(e.After), "7-Zip")
		require.NotContains(t, string(e.After), "u2@x.com")
	}
}

func checkAudit(t *testing.T, o *Options) {
	ctx := t.Context()
	s := o.Open(t)
	src := o.Fleet()
	Import(t, s, src)
	const secret = "Hunter2-fleetstoretest!"
	tenant := src.Tenants[0].ID
	task := immy.Task{ID: "kit-secret-task", Name: "Kit secret task", Category: immy.TaskComputer,
		Parameters: []immy.Parameter{{Name: "password", Type: immy.ParamPassword, Default: secret}}}
	dep := immy.Deployment{ID: "kit-secret-dep", Item: task.ID, Target: immy.Target{Type: immy.TargetAllComputers, Tenant: tenant},
		Mode: immy.ModeEnforce, Parameters: map[string]any{"password": secret}}
	_, rev := s.Snapshot()
	r1, err := s.Apply(ctx, fleetstore.Change{Base: rev, Actor: "alice", Ops: []fleetstore.Op{fleetstore.PutTask(task), fleetstore.PutDeployment(dep)}})
	require.NoError(t, err)
	dep.Priority = 3
	r2, err := s.Apply(ctx, fleetstore.Change{Base: r1, Actor: "bob", Ops: []fleetstore.Op{fleetstore.PutDeployment(dep)}})
	require.NoError(t, err)
	r3, err := s.Apply(ctx, fleetstore.Change{Base: r2, Actor: "carol", Ops: []fleetstore.Op{fleetstore.Delete(fleetstore.KindDeployment, dep.ID)}})
	require.NoError(t, err)

	log, err := s.EntityLog(ctx, fleetstore.KindDeployment, dep.ID, fleetstore.Page{})
	require.NoError(t, err)
	require.Len(t, log, 3)
	type entry struct {
		Rev           int64
		Actor, Op     string
		Before, After bool
	}
	var got []entry
	for _, e := range log {
		got = append(got, entry{e.Revision, e.Actor, e.Op, e.Before != nil, e.After != nil})
		require.Equal(t, fleetstore.KindDeployment, e.Kind)
		require.Equal(t, dep.ID, e.ID)
		require.Equal(t, tenant, e.Tenant)
		require.False(t, e.At.IsZero())
		for _, doc := range []string{string(e.Before), string(e.After)} {
			require.NotContains(t, doc, secret, "a password parameter in the audit log")
		}
	}
	require.Equal(t, []entry{{r1, "alice", "create", false, true}, {r2, "bob", "update", true, true}, {r3, "carol", "delete", true, false}}, got)
	require.Contains(t, string(log[1].After), fleetstore.Redacted)
	tl, err := s.EntityLog(ctx, fleetstore.KindTask, task.ID, fleetstore.Page{})
	require.NoError(t, err)
	require.Len(t, tl, 1)
	require.NotContains(t, string(tl[0].After), secret, "a password default in the audit log")

	// The tenant's log holds them, page by page.
	var all []fleetstore.Entry
	for p := (fleetstore.Page{Limit: 2}); ; {
		page, err := s.TenantLog(ctx, tenant, p)
		require.NoError(t, err)
		if len(page) == 0 {
			break
		}
		all = append(all, page...)
		p.After = page[len(page)-1].Seq
	}
	n := 0
	for i, e := range all {
		if i > 0 {
			require.Greater(t, e.Seq, all[i-1].Seq)
		}
		if e.ID == dep.ID {
			n++
		}
	}
	require.Equal(t, 3, n)
}

func checkPreview(t *testing.T, o *Options) {
	ctx := t.Context()
	s := o.Open(t)
	src := o.Fleet()
	Import(t, s, src)
	before, rev := s.Snapshot()
	var ops []fleetstore.Op
	for _, d := range before.Deployments {
		if d.Desired != 0 && d.Desired != immy.DesiredUninstalled {
			d.Desired, d.Version = immy.DesiredUninstalled, immy.Version{}
			ops = append(ops, fleetstore.PutDeployment(d))
		}
	}
	require.NotEmpty(t, ops)
	ch := fleetstore.Change{Base: rev, Actor: "alice", Ops: ops}
	got, err := s.Preview(ctx, ch, resolver.Config{}, resolver.Session{})
	require.NoError(t, err)
	require.False(t, got.Empty())
	unchanged(t, s, before, rev)
	_, err = s.Apply(ctx, ch)
	require.NoError(t, err)
	after, _ := s.Snapshot()
	plan := func(f *immy.Fleet) *resolver.Plan {
		p, err := resolver.PlanFleet(ctx, f, resolver.Config{}, resolver.Session{})
		require.NoError(t, err)
		return p
	}
	if d := cmp.Diff(resolver.Diff(plan(before), plan(after)), got); d != "" {
		t.Fatalf("preview (-applied +preview):\n%s", d)
	}
}

func checkConcurrent(t *testing.T, o *Options) {
	ctx := t.Context()
	s := o.Open(t)
	src := o.Fleet()
	Import(t, s, src)
	_, base := s.Snapshot()
	n := min(len(src.Deployments), 16)
	revs := make(chan int64, 2*n)
	errs := make(chan error, 2*n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			d := src.Deployments[i]
			d.Priority = 1000 + i
			rev, err := s.Apply(ctx, fleetstore.Change{Base: base, Actor: fmt.Sprint("admin", i), Ops: []fleetstore.Op{fleetstore.PutDeployment(d)}})
			revs <- rev
			errs <- err
		})
		wg.Go(func() {
			online := i%2 == 0
			rev, err := s.PutInventory(ctx, []fleetstore.Inventory{{Computer: src.Computers[i%len(src.Computers)].ID, Online: &online,
				Logons: []string{fmt.Sprintf("u%d@x.com", i)}}})
			revs <- rev
			errs <- err
		})
	}
	wg.Wait()
	close(revs)
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	seen := map[int64]bool{}
	for r := range revs {
		require.False(t, seen[r], "revision %d given twice", r)
		seen[r] = true
	}
	f, rev := s.Snapshot()
	require.Equal(t, base+int64(2*n), rev)
	for i := range n {
		require.Equal(t, 1000+i, deployment(t, f, src.Deployments[i].ID).Priority)
	}
}

func checkFault(t *testing.T, o *Options) {
	ctx := t.Context()
	s := o.Open(t)
	src := o.Fleet()
	Import(t, s, src)
	f, rev := s.Snapshot()

	ops := softwareEdits(f, 20)
	gone := unreferenced(t, f)
	ops = append(ops, fleetstore.Delete(fleetstore.KindComputer, gone), fleetstore.PutTenant(immy.Tenant{ID: "kit-added", Name: "Added"}))
	online := true
	reports := []fleetstore.Inventory{
		{Computer: f.Computers[0].ID, Online: &online, OS: "Windows 12"},
		{Computer: f.Computers[1].ID, Logons: []string{"x@example.com"}},
		{Computer: f.Computers[2].ID, Software: []immy.DetectedSoftware{}},
	}
	boom := errors.New("fleetstoretest: injected fault")
	o.Fault(t, s, boom)
	_, err := s.Apply(ctx, fleetstore.Change{Base: rev, Actor: "alice", Ops: ops})
	require.ErrorIs(t, err, boom, "the change did not meet the fault")
	unchanged(t, s, f, rev)
	_, err = s.PutInventory(ctx, reports)
	require.ErrorIs(t, err, boom, "the inventory write did not meet the fault")
	unchanged(t, s, f, rev)
	o.Fault(t, s, nil)

	// The database holds what it held.
	other := o.Reopen(t, s)
	of, orev := other.Snapshot()
	require.Equal(t, rev, orev)
	sameFleet(t, "the database after failed writes", f, of)
	_, err = other.Preview(ctx, fleetstore.Change{Base: rev, Actor: "alice", Ops: ops}, resolver.Config{}, resolver.Session{})
	require.NoError(t, err, "nothing of the failed change is left to conflict with")

	// Without the fault, the same change and write land whole.
	_, err = s.Apply(ctx, fleetstore.Change{Base: rev, Actor: "alice", Ops: ops})
	require.NoError(t, err)
	_, err = s.PutInventory(ctx, reports)
	require.NoError(t, err)
	after, _ := s.Snapshot()
	_, ok := computer(after, gone)
	require.False(t, ok)
	got, _ := computer(after, f.Computers[0].ID)
	require.Equal(t, "Windows 12", got.OS)
}

func checkDurable(t *testing.T, o *Options) {
	ctx := t.Context()
	s := o.Open(t)
	src := o.Fleet()
	Import(t, s, src)
	seen := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
	_, err := s.PutInventory(ctx, []fleetstore.Inventory{{Computer: src.Computers[0].ID, LastSeen: seen}})
	require.NoError(t, err)
	_, rev := s.Snapshot()
	_, err = s.Apply(ctx, fleetstore.Change{Base: rev, Actor: "alice", Ops: softwareEdits(src, 3)})
	require.NoError(t, err)
	want, rev := s.Snapshot()
	log, err := s.EntityLog(ctx, fleetstore.KindDeployment, src.Deployments[0].ID, fleetstore.Page{})
	require.NoError(t, err)

	r := o.Reopen(t, s)
	got, grev := r.Snapshot()
	require.Equal(t, rev, grev)
	sameFleet(t, "reopened", want, got)
	ls, ok := r.LastSeen(src.Computers[0].ID)
	require.True(t, ok)
	require.True(t, seen.Equal(ls))
	rlog, err := r.EntityLog(ctx, fleetstore.KindDeployment, src.Deployments[0].ID, fleetstore.Page{})
	require.NoError(t, err)
	if d := cmp.Diff(log, rlog, cmpopts.EquateApproxTime(time.Microsecond)); d != "" {
		t.Fatalf("audit log reopened (-before +after):\n%s", d)
	}
	// The next change goes on from the revision.
	nr, err := r.Apply(ctx, fleetstore.Change{Base: rev, Actor: "bob", Ops: []fleetstore.Op{fleetstore.PutTenant(immy.Tenant{ID: "kit-next", Name: "Next"})}})
	require.NoError(t, err)
	require.Equal(t, rev+1, nr)
}

func checkTwoStores(t *testing.T, o *Options) {
	ctx := t.Context()
	a := o.Open(t)
	src := o.Fleet()
	Import(t, a, src)
	b := o.Reopen(t, a)
	_, base := b.Snapshot()
	before, _ := b.Snapshot()

	var ops []fleetstore.Op
	for _, d := range src.Deployments {
		if d.Desired != 0 && d.Desired != immy.DesiredUninstalled {
			d.Desired, d.Version = immy.DesiredUninstalled, immy.Version{}
			ops = append(ops, fleetstore.PutDeployment(d))
		}
	}
	rev, err := a.Apply(ctx, fleetstore.Change{Base: base, Actor: "alice", Ops: ops})
	require.NoError(t, err)
	// b's conflicting edit against the old revision is refused: it checks
	// the database, not its memory.
	_, err = b.Apply(ctx, fleetstore.Change{Base: base, Actor: "bob", Ops: ops[:1]})
	require.ErrorIs(t, err, fleetstore.ErrConflict)
	require.NoError(t, b.Refresh(ctx))
	fa, ra := a.Snapshot()
	fb, rb := b.Snapshot()
	require.Equal(t, rev, ra)
	require.Equal(t, ra, rb)
	sameFleet(t, "the other store after Refresh", fa, fb)
	plan := func(f *immy.Fleet) *resolver.Plan {
		p, err := resolver.PlanFleet(ctx, f, resolver.Config{}, resolver.Session{})
		require.NoError(t, err)
		return p
	}
	require.True(t, resolver.Diff(plan(fa), plan(fb)).Empty(), "the other store plans from the edit")
	require.False(t, resolver.Diff(plan(before), plan(fb)).Empty(), "the edit changed the plan")
}

func mustVersion(t testing.TB, s string) immy.Version {
	t.Helper()
	var v immy.Version
	require.NoError(t, v.UnmarshalText([]byte(s)))
	return v
}
