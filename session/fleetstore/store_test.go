package fleetstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/fleetfile"
	"github.com/immyoss/engine/internal/pgtest"
	"github.com/immyoss/engine/session/sqlstore"
)

var fleetCmp = []cmp.Option{
	cmp.Comparer(func(a, b immy.Version) bool { return a.String() == b.String() }),
	cmpopts.EquateEmpty(),
}

// backend opens stores over one database, again and again.
type backend struct {
	name string
	open func(t *testing.T) *Store
}

// backends returns SQLite, and PostgreSQL when pgtest has a server; each
// backend's open reopens the same database.
func backends(t *testing.T, cfgs ...Config) []backend {
	t.Helper()
	var cfg Config
	if len(cfgs) > 0 {
		cfg = cfgs[0]
	}
	path := filepath.Join(t.TempDir(), "immy.db")
	out := []backend{{"sqlite", func(t *testing.T) *Store {
		t.Helper()
		s, err := OpenSQLite(context.Background(), path, cfg)
		require.NoError(t, err)
		t.Cleanup(func() { s.Close() })
		return s
	}}}
	if url := pgtest.MaybeDatabase(t); url != "" {
		pool, err := pgxpool.New(context.Background(), url)
		require.NoError(t, err)
		t.Cleanup(pool.Close)
		out = append(out, backend{"postgres", func(t *testing.T) *Store {
			t.Helper()
			s, err := OpenPostgres(context.Background(), pool, cfg)
			require.NoError(t, err)
			t.Cleanup(func() { s.Close() })
			return s
		}})
	}
	return out
}

func mspFleet(t testing.TB) *immy.Fleet {
	t.Helper()
	f, err := fleetfile.LoadFile(filepath.Join("..", "..", "examples", "fleets", "msp.yaml"))
	require.NoError(t, err)
	return f.Fleet
}

// importFleet brings f into s: its entities in one change, then the inventories.
func importFleet(t testing.TB, s *Store, f *immy.Fleet) {
	t.Helper()
	ctx := context.Background()
	_, err := s.Apply(ctx, Change{Base: s.Revision(), Actor: "import", Ops: Ops(f)})
	require.NoError(t, err)
	var inv []Inventory
	for _, c := range f.Computers {
		inv = append(inv, InventoryOf(c))
	}
	_, err = s.PutInventory(ctx, inv)
	require.NoError(t, err)
}

func TestRoundTrip(t *testing.T) {
	want := mspFleet(t)
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			s := b.open(t)
			require.Equal(t, int64(0), s.Revision())
			importFleet(t, s, want)
			require.Equal(t, int64(2), s.Revision())
			if diff := cmp.Diff(want, s.Fleet(), fleetCmp...); diff != "" {
				t.Fatalf("fleet in memory (-file +store):\n%s", diff)
			}
			s.Close()
			s2 := b.open(t)
			require.Equal(t, int64(2), s2.Revision())
			if diff := cmp.Diff(want, s2.Fleet(), fleetCmp...); diff != "" {
				t.Fatalf("fleet reloaded (-file +store):\n%s", diff)
			}
			// Applying the same fleet again changes nothing.
			rev, err := s2.Apply(context.Background(), Change{Base: 2, Actor: "import", Ops: Ops(want)})
			require.NoError(t, err)
			require.Equal(t, int64(2), rev)
		})
	}
}

// dump is everything the store's tables hold, for comparing before and after.
func dump(t *testing.T, s *Store) string {
	t.Helper()
	var b strings.Builder
	for _, q := range []string{
		`SELECT revision FROM immy_fleet_state`,
		`SELECT kind, id, created_rev, created_pos, revision, COALESCE(doc, '<deleted>') FROM immy_fleet_entities ORDER BY kind, id`,
		`SELECT computer, revision, doc FROM immy_fleet_inventory ORDER BY computer`,
		`SELECT seq, revision, actor, kind, entity, op, tenant, tenant_before, COALESCE(before, ''), COALESCE(after, '') FROM immy_fleet_audit ORDER BY seq`,
	} {
		rows, err := s.db.Query(q)
		require.NoError(t, err)
		cols, err := rows.Columns()
		require.NoError(t, err)
		for rows.Next() {
			vals := make([]sql.NullString, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			require.NoError(t, rows.Scan(ptrs...))
			for _, v := range vals {
				fmt.Fprintf(&b, "%s|", v.String)
			}
			b.WriteByte('\n')
		}
		require.NoError(t, rows.Err())
		rows.Close()
		b.WriteString("--\n")
	}
	return b.String()
}

func deployment(f *immy.Fleet, id string) immy.Deployment {
	for _, d := range f.Deployments {
		if d.ID == id {
			return d
		}
	}
	panic("no deployment " + id)
}

func TestFailedChangeLeavesStore(t *testing.T) {
	ctx := context.Background()
	src := mspFleet(t)
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			s := b.open(t)
			importFleet(t, s, src)
			before, fleetBefore, rev := dump(t, s), s.Fleet(), s.Revision()
			same := func(t *testing.T) {
				t.Helper()
				require.Equal(t, rev, s.Revision())
				require.True(t, fleetBefore == s.Fleet(), "the in-memory fleet was replaced")
				if diff := cmp.Diff(before, dump(t, s)); diff != "" {
					t.Fatalf("tables changed (-before +after):\n%s", diff)
				}
				if diff := cmp.Diff(src, s.Fleet(), fleetCmp...); diff != "" {
					t.Fatalf("fleet changed (-before +after):\n%s", diff)
				}
			}

			// A change that breaks rules: every problem at once.
			d := src.Deployments[0]
			d.Item = "no-such-item"
			bad := immy.Tenant{ID: "loop", Parent: "loop"}
			filter := src.Deployments[1]
			filter.Target = immy.Target{Type: immy.TargetFilter, Expr: "computer.os startsWith"}
			_, err := s.Apply(ctx, Change{Base: rev, Actor: "alice", Ops: []Op{
				PutTenant(immy.Tenant{ID: "new", Name: "New"}), PutDeployment(d), PutTenant(bad), PutDeployment(filter)}})
			var ps immy.Problems
			require.ErrorAs(t, err, &ps)
			var fields []string
			for _, p := range ps {
				fields = append(fields, p.Section+" "+p.ID+" "+p.Field)
			}
			require.Contains(t, fields, "deployments "+d.ID+" item")
			require.Contains(t, fields, "tenants loop parent")
			require.Contains(t, fields, "deployments "+filter.ID+" target.expr")
			same(t)

			// A delete of what does not exist, an entity twice, no actor.
			_, err = s.Apply(ctx, Change{Base: rev, Actor: "alice", Ops: []Op{Delete(KindTenant, "nobody")}})
			require.ErrorIs(t, err, immy.ErrNotFound)
			_, err = s.Apply(ctx, Change{Base: rev, Actor: "alice", Ops: []Op{Delete(KindDeployment, d.ID), PutDeployment(src.Deployments[0])}})
			require.ErrorIs(t, err, immy.ErrInvalid)
			_, err = s.Apply(ctx, Change{Base: rev, Ops: []Op{PutTenant(immy.Tenant{ID: "new"})}})
			require.ErrorIs(t, err, immy.ErrInvalid)
			same(t)

			// Faults in the middle of the transaction, at each step.
			var ops []Op
			for i, d := range src.Deployments {
				d.Priority = 100 + i
				ops = append(ops, PutDeployment(d))
			}
			gone := unreferencedComputer(t, src)
			ops = append(ops, Delete(KindComputer, gone))
			ops = append(ops, PutTenant(immy.Tenant{ID: "added", Name: "Added"}))
			for _, step := range []string{"entities", "audit", "state"} {
				boom := errors.New("boom at " + step)
				s.failing = func(at string) error {
					if at == step {
						return boom
					}
					return nil
				}
				_, err := s.Apply(ctx, Change{Base: rev, Actor: "alice", Ops: ops})
				require.ErrorIs(t, err, boom)
				same(t)
			}
			for _, step := range []string{"inventory", "state"} {
				boom := errors.New("boom at " + step)
				s.failing = func(at string) error {
					if at == step {
						return boom
					}
					return nil
				}
				online := true
				_, err := s.PutInventory(ctx, []Inventory{
					{Computer: src.Computers[0].ID, Online: &online, OS: "Windows 12"},
					{Computer: src.Computers[1].ID, Logons: []string{"x@example.com"}},
				})
				require.ErrorIs(t, err, boom)
				same(t)
			}
			s.failing = nil

			// An inventory write that names an unknown computer lands nowhere.
			_, err = s.PutInventory(ctx, []Inventory{{Computer: src.Computers[0].ID, OS: "Windows 12"}, {Computer: "ghost"},
				{Computer: src.Computers[1].ID, Tasks: map[string]bool{"no-such-task": true}}})
			require.ErrorIs(t, err, immy.ErrNotFound)
			require.ErrorContains(t, err, `"ghost"`)
			require.ErrorContains(t, err, `unknown task "no-such-task"`)
			same(t)

			// And the same change without the fault lands whole.
			s.Close()
			s = b.open(t)
			t2(t, s, fleetBefore)
			fleetBefore = s.Fleet()
			same(t)
			got, err := s.Apply(ctx, Change{Base: rev, Actor: "alice", Ops: ops})
			require.NoError(t, err)
			require.Equal(t, rev+1, got)
			require.Len(t, s.Fleet().Computers, len(src.Computers)-1)
			_, ok := s.LastSeen(gone)
			require.False(t, ok)
			var n int
			require.NoError(t, s.db.QueryRow(s.d.q(`SELECT COUNT(*) FROM immy_fleet_inventory WHERE computer = ?`), gone).Scan(&n))
			require.Zero(t, n, "a deleted computer's inventory goes with it")
			require.Equal(t, 100, s.Fleet().Deployments[0].Priority)
		})
	}
}

// t2 checks that a reopened store has a fleet equal to old.
func t2(t *testing.T, s *Store, old *immy.Fleet) {
	t.Helper()
	if diff := cmp.Diff(old, s.Fleet(), fleetCmp...); diff != "" {
		t.Fatalf("fleet reloaded (-before +after):\n%s", diff)
	}
}

func TestConflicts(t *testing.T) {
	ctx := context.Background()
	src := mspFleet(t)
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			s := b.open(t)
			importFleet(t, s, src)
			base := s.Revision()
			d0, d1 := src.Deployments[0], src.Deployments[1]

			// Two admins edit the same deployment against the same revision.
			a := d0
			a.Priority = 5
			rev, err := s.Apply(ctx, Change{Base: base, Actor: "alice", Ops: []Op{PutDeployment(a)}})
			require.NoError(t, err)
			bb := d0
			bb.Priority = 7
			_, err = s.Apply(ctx, Change{Base: base, Actor: "bob", Ops: []Op{PutDeployment(d1), PutDeployment(bb)}})
			var ce *ConflictError
			require.ErrorAs(t, err, &ce)
			require.Equal(t, ConflictError{Kind: KindDeployment, ID: d0.ID, Base: base, Revision: rev}, *ce)
			require.ErrorIs(t, err, ErrConflict)
			require.Equal(t, 5, deployment(s.Fleet(), d0.ID).Priority)
			require.Equal(t, rev, s.Revision())

			// A second store on the same database (another process) is refused
			// the same way, and learns the new revision.
			other := b.open(t)
			_, err = other.Apply(ctx, Change{Base: base, Actor: "bob", Ops: []Op{PutDeployment(bb)}})
			require.ErrorAs(t, err, &ce)
			require.Equal(t, rev, other.Revision())
			// Against the new revision, bob's edit lands; editing another
			// entity against the old one also lands.
			_, err = other.Apply(ctx, Change{Base: rev, Actor: "bob", Ops: []Op{PutDeployment(bb)}})
			require.NoError(t, err)
			c1 := d1
			c1.Priority = 9
			_, err = s.Apply(ctx, Change{Base: base, Actor: "carol", Ops: []Op{PutDeployment(c1)}})
			require.NoError(t, err)
			require.Equal(t, 7, deployment(s.Fleet(), d0.ID).Priority, "s learned other's write")

			// A delete conflicts with a later put, and a put with a later delete.
			cur := s.Revision()
			_, err = s.Apply(ctx, Change{Base: cur, Actor: "alice", Ops: []Op{Delete(KindDeployment, d1.ID)}})
			require.NoError(t, err)
			_, err = s.Apply(ctx, Change{Base: cur, Actor: "bob", Ops: []Op{PutDeployment(d1)}})
			require.ErrorAs(t, err, &ce)
			require.Equal(t, d1.ID, ce.ID)
			_, err = s.Apply(ctx, Change{Base: s.Revision(), Actor: "bob", Ops: []Op{PutDeployment(d1)}})
			require.NoError(t, err, "a put against the revision of the delete recreates it")
			require.Equal(t, d1.ID, s.Fleet().Deployments[len(s.Fleet().Deployments)-1].ID, "recreated at the end")

			// A change against a revision the store has not reached is malformed.
			_, err = s.Apply(ctx, Change{Base: s.Revision() + 1, Actor: "bob", Ops: []Op{PutDeployment(d1)}})
			require.ErrorIs(t, err, immy.ErrInvalid)
		})
	}
}

func TestInventoryNeverConflicts(t *testing.T) {
	ctx := context.Background()
	src := mspFleet(t)
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			s := b.open(t)
			importFleet(t, s, src)
			base := s.Revision()
			c := src.Computers[0]

			// An agent reports after the admin began editing the computer.
			online := !c.Online
			seen := time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)
			inv := Inventory{Computer: c.ID, Online: &online, OS: "Windows 11 Pro 24H2", LastSeen: seen,
				Software: []immy.DetectedSoftware{{Name: "7-Zip", Version: mustVersion(t, "24.08")}},
				Logons:   []string{"a@x.com", "b@x.com"}}
			irev, err := s.PutInventory(ctx, []Inventory{inv})
			require.NoError(t, err)
			require.Equal(t, base+1, irev)

			edited := c
			edited.Name = "RENAMED"
			edited.Tags = []string{"edited"}
			edited.OS, edited.Online, edited.Software = "ignored", false, nil // not an admin's
			rev, err := s.Apply(ctx, Change{Base: base, Actor: "alice", Ops: []Op{PutComputer(edited)}})
			require.NoError(t, err, "an inventory write never refuses an admin's edit")

			// And the admin's edit never refuses an inventory write.
			online2 := true
			_, err = s.PutInventory(ctx, []Inventory{{Computer: c.ID, Online: &online2, Logons: []string{"c@x.com"}}})
			require.NoError(t, err)
			require.Greater(t, s.Revision(), rev)

			for _, s := range []*Store{s, b.open(t)} {
				got := s.Fleet().Computers[0]
				require.Equal(t, "RENAMED", got.Name)
				require.Equal(t, []string{"edited"}, got.Tags)
				require.Equal(t, "Windows 11 Pro 24H2", got.OS)
				require.True(t, got.Online)
				want := append([]string{"c@x.com", "b@x.com", "a@x.com"}, c.UPNs...)
				require.Equal(t, want[:min(len(want), immy.MaxUPNs)], got.UPNs)
				require.Len(t, got.Software, 1)
				require.Equal(t, "24.08", got.Software[0].Version.String())
				ls, ok := s.LastSeen(c.ID)
				require.True(t, ok)
				require.True(t, seen.Equal(ls))
			}

			// Inventory stays out of the audit log.
			log, err := s.EntityLog(ctx, KindComputer, c.ID, Page{})
			require.NoError(t, err)
			require.Len(t, log, 2) // import, rename
			require.NotContains(t, string(log[1].After), "Windows 11 Pro 24H2")
			require.NotContains(t, string(log[1].After), "7-Zip")
		})
	}
}

func TestLogonsRoll(t *testing.T) {
	c := immy.Computer{UPNs: []string{"old@x.com"}}
	var logons []string
	for i := range 12 {
		logons = append(logons, fmt.Sprintf("u%d@x.com", i%3))
	}
	r := Inventory{Logons: logons}
	r.apply(&c)
	require.Equal(t, []string{"u2@x.com", "u1@x.com", "u0@x.com", "u2@x.com", "u1@x.com", "u0@x.com",
		"u2@x.com", "u1@x.com", "u0@x.com", "u2@x.com"}, c.UPNs)
}

func mustVersion(t testing.TB, s string) immy.Version {
	t.Helper()
	var v immy.Version
	require.NoError(t, v.UnmarshalText([]byte(s)))
	return v
}

// unreferencedComputer returns a computer of f that no group or target names.
func unreferencedComputer(t *testing.T, f *immy.Fleet) string {
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
	t.Fatal("every computer is referenced")
	return ""
}

func TestDeleteTaskDropsResults(t *testing.T) {
	ctx := context.Background()
	src := mspFleet(t)
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			s := b.open(t)
			importFleet(t, s, src)
			has := func(s *Store) bool {
				for _, c := range s.Fleet().Computers {
					if _, ok := c.Tasks["bitlocker"]; ok {
						return true
					}
				}
				return false
			}
			require.True(t, has(s))
			var ops []Op
			for _, d := range src.Deployments {
				if d.Item == "bitlocker" {
					ops = append(ops, Delete(KindDeployment, d.ID))
				}
			}
			ops = append(ops, Delete(KindTask, "bitlocker"))
			_, err := s.Apply(ctx, Change{Base: s.Revision(), Actor: "alice", Ops: ops})
			require.NoError(t, err, "a computer's known result of a task does not keep the task from being deleted")
			require.False(t, has(s))
			require.False(t, has(b.open(t)), "the stored inventory forgot it too")
			// Recreated, the task starts with no results.
			_, err = s.Apply(ctx, Change{Base: s.Revision(), Actor: "alice", Ops: []Op{PutTask(src.Tasks[slicesIndex(src.Tasks, "bitlocker")])}})
			require.NoError(t, err)
			require.False(t, has(b.open(t)))
		})
	}
}

func slicesIndex(ts []immy.Task, id string) int {
	for i, t := range ts {
		if t.ID == id {
			return i
		}
	}
	panic("no task " + id)
}

func TestSchemaNewerThanCode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "immy.db")
	s, err := OpenSQLite(context.Background(), path, Config{})
	require.NoError(t, err)
	_, err = s.db.Exec(`INSERT INTO immy_fleet_schema_version (version, applied) VALUES (99, 'later')`)
	require.NoError(t, err)
	s.Close()
	_, err = OpenSQLite(context.Background(), path, Config{})
	var se *SchemaError
	require.ErrorAs(t, err, &se)
	require.Equal(t, SchemaError{Dialect: "sqlite", Have: 99, Know: len(sqliteSteps)}, *se)
}

// The fleet store and the journal (session/sqlstore) share one SQLite file,
// each with its own migration history.
func TestSharesJournalFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "immy.db")
	j, err := sqlstore.OpenSQLite(ctx, path, sqlstore.Config{})
	require.NoError(t, err)
	defer j.Close()
	s, err := OpenSQLite(ctx, path, Config{})
	require.NoError(t, err)
	defer s.Close()
	importFleet(t, s, mspFleet(t))
	var journal, fleet int
	require.NoError(t, s.db.QueryRow(`SELECT MAX(version) FROM immy_schema_version`).Scan(&journal))
	require.NoError(t, s.db.QueryRow(`SELECT MAX(version) FROM immy_fleet_schema_version`).Scan(&fleet))
	require.Positive(t, journal)
	require.Equal(t, len(sqliteSteps), fleet)
}

func TestInventoryRefused(t *testing.T) {
	ctx := context.Background()
	src := mspFleet(t)
	s := backends(t)[0].open(t)
	importFleet(t, s, src)
	id := src.Computers[0].ID
	long := strings.Repeat("x", MaxTextLength+1)
	many := make([]immy.DetectedSoftware, MaxSoftware+1)
	for i := range many {
		many[i].Name = "s"
	}
	tests := []struct {
		name string
		inv  Inventory
		want string
	}{
		{"unknown computer", Inventory{Computer: "ghost"}, `computer "ghost": not found`},
		{"software without a name", Inventory{Computer: id, Software: []immy.DetectedSoftware{{}}}, "software[0]: missing name"},
		{"too much software", Inventory{Computer: id, Software: many}, "more than 10000"},
		{"long publisher", Inventory{Computer: id, Software: []immy.DetectedSoftware{{Name: "a", Publisher: long}}}, "software[0].publisher: longer than 1024 bytes"},
		{"long os", Inventory{Computer: id, OS: long}, "os: longer than 1024 bytes"},
		{"empty logon", Inventory{Computer: id, Logons: []string{""}}, "upn #1: empty"},
		{"too many logons", Inventory{Computer: id, Logons: make([]string, MaxLogons+1)}, "logons: 1001, more than 1000"},
		{"unknown task", Inventory{Computer: id, Tasks: map[string]bool{"nope": true}}, `unknown task "nope"`},
	}
	before := dump(t, s)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.PutInventory(ctx, []Inventory{{Computer: id, OS: "fine"}, tt.inv})
			require.ErrorContains(t, err, tt.want)
			require.Equal(t, before, dump(t, s), "the batch lands nowhere")
		})
	}
	_, err := s.Apply(ctx, Change{Base: s.Revision(), Actor: long, Ops: []Op{PutTenant(immy.Tenant{ID: "t", Name: "T"})}})
	require.ErrorIs(t, err, immy.ErrInvalid)
}

func TestFleetSharesNothingWithCaller(t *testing.T) {
	ctx := context.Background()
	s := backends(t)[0].open(t)
	tenant := immy.Tenant{ID: "t", Name: "T", Tags: []string{"vip"}}
	_, err := s.Apply(ctx, Change{Actor: "alice", Ops: []Op{PutTenant(tenant)}})
	require.NoError(t, err)
	tenant.Tags[0] = "changed by the caller"
	require.Equal(t, []string{"vip"}, s.Fleet().Tenants[0].Tags)
}

// Writers at once, in one store and in two: admins editing different
// deployments against the same revision all land, agents' inventory writes
// land between them, and every write has a revision of its own.
func TestConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	src := mspFleet(t)
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			s1 := b.open(t)
			importFleet(t, s1, src)
			s2 := b.open(t)
			base := s1.Revision()
			n := min(len(src.Deployments), 8)
			revs := make(chan int64, 2*n)
			errs := make(chan error, 2*n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(2)
				go func() {
					defer wg.Done()
					s := []*Store{s1, s2}[i%2]
					d := src.Deployments[i]
					d.Priority = 1000 + i
					rev, err := s.Apply(ctx, Change{Base: base, Actor: fmt.Sprint("admin", i), Ops: []Op{PutDeployment(d)}})
					revs <- rev
					errs <- err
				}()
				go func() {
					defer wg.Done()
					s := []*Store{s2, s1}[i%2]
					online := i%2 == 0
					rev, err := s.PutInventory(ctx, []Inventory{{Computer: src.Computers[i%len(src.Computers)].ID, Online: &online,
						Logons: []string{fmt.Sprintf("u%d@x.com", i)}}})
					revs <- rev
					errs <- err
				}()
			}
			wg.Wait()
			close(revs)
			close(errs)
			for err := range errs {
				require.NoError(t, err)
			}
			seen := map[int64]bool{}
			for r := range revs {
				require.False(t, seen[r], "revision %d twice", r)
				seen[r] = true
			}
			require.Len(t, seen, 2*n)
			require.NoError(t, s1.Refresh(ctx))
			require.NoError(t, s2.Refresh(ctx))
			require.Equal(t, base+int64(2*n), s1.Revision())
			if diff := cmp.Diff(s1.Fleet(), s2.Fleet(), fleetCmp...); diff != "" {
				t.Fatalf("two stores disagree:\n%s", diff)
			}
			for i := range n {
				require.Equal(t, 1000+i, deployment(s1.Fleet(), src.Deployments[i].ID).Priority)
			}
		})
	}
}
