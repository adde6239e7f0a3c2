package fleetstoretest_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/session/fleetstore"
	"github.com/immyoss/engine/session/fleetstore/fleetstoretest"
)

func openSQLite(t *testing.T, path string) *fleetstore.Store {
	s, err := fleetstore.OpenSQLite(context.Background(), path, fleetstore.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

// The kit passes the real store, on SQLite (session/fleetstore runs it on
// PostgreSQL too, with faults injected inside transactions).
func TestSQLite(t *testing.T) {
	paths := map[fleetstoretest.Store]string{}
	fleetstoretest.RunWith(t, fleetstoretest.Options{
		Open: func(t *testing.T) fleetstoretest.Store {
			path := filepath.Join(t.TempDir(), "immy.db")
			s := openSQLite(t, path)
			paths[s] = path
			return s
		},
		Reopen: func(t *testing.T, s fleetstoretest.Store) fleetstoretest.Store { return openSQLite(t, paths[s]) },
	})
}

// Broken stores, each breaking one rule of the contract over a real one:
// the kit must fail them, on the check that names the rule.
var broken = map[string]string{
	"no-conflict":      "conflict",      // applies every change as if made against the current revision
	"drops-software":   "round-trip",    // forgets the detected software an inventory reports
	"no-audit":         "audit",         // keeps no audit log
	"forgets":          "durable",       // a reopened store is empty
	"overwrites-found": "source-change", // a fleet file overwrites the computers agents found
	"half-applied":     "fault",         // a failed change leaves its first half applied
}

type brokenStore struct {
	*fleetstore.Store
	mode  string
	fault error
}

func (b *brokenStore) Apply(ctx context.Context, ch fleetstore.Change) (int64, error) {
	switch {
	case b.mode == "no-conflict":
		_, ch.Base = b.Snapshot()
	case b.mode == "half-applied" && b.fault != nil:
		ch.Ops = ch.Ops[:len(ch.Ops)/2]
		if _, err := b.Store.Apply(ctx, ch); err != nil {
			return 0, err
		}
		return 0, b.fault
	}
	return b.Store.Apply(ctx, ch)
}

func (b *brokenStore) PutInventory(ctx context.Context, reports []fleetstore.Inventory) (int64, error) {
	if b.mode == "half-applied" && b.fault != nil {
		return 0, b.fault
	}
	if b.mode == "drops-software" {
		for i := range reports {
			reports[i].Software = nil
		}
	}
	return b.Store.PutInventory(ctx, reports)
}

func (b *brokenStore) EntityLog(ctx context.Context, k fleetstore.Kind, id string, p fleetstore.Page) ([]fleetstore.Entry, error) {
	if b.mode == "no-audit" {
		return nil, nil
	}
	return b.Store.EntityLog(ctx, k, id, p)
}

func (b *brokenStore) TenantLog(ctx context.Context, tenant string, p fleetstore.Page) ([]fleetstore.Entry, error) {
	if b.mode == "no-audit" {
		return nil, nil
	}
	return b.Store.TenantLog(ctx, tenant, p)
}

func (b *brokenStore) SourceChange(ctx context.Context, f *immy.Fleet, source string) (fleetstore.Change, error) {
	ch, err := b.Store.SourceChange(ctx, f, source)
	if err != nil || b.mode != "overwrites-found" {
		return ch, err
	}
	put := map[string]bool{}
	for _, o := range ch.Ops {
		if o.Kind() == fleetstore.KindComputer && !o.IsDelete() {
			put[o.ID()] = true
		}
	}
	for _, c := range f.Computers {
		if !put[c.ID] {
			ch.Ops = append(ch.Ops, fleetstore.PutComputer(c))
		}
	}
	return ch, nil
}

// TestKitFailsBrokenStores runs the kit, in a child process, on each broken
// store and checks that it fails, and on the named check.
func TestKitFailsBrokenStores(t *testing.T) {
	if os.Getenv("FLEETSTORETEST_BROKEN") != "" {
		t.Skip("in the child")
	}
	for name, check := range broken {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestBrokenChild$", "-test.v")
			cmd.Env = append(os.Environ(), "FLEETSTORETEST_BROKEN="+name)
			out, err := cmd.CombinedOutput()
			require.Error(t, err, "the kit passed a broken store:\n%s", out)
			require.Contains(t, string(out), "--- FAIL: TestBrokenChild/"+check+" ", "the failing check:\n%s", out)
		})
	}
}

func TestBrokenChild(t *testing.T) {
	mode := os.Getenv("FLEETSTORETEST_BROKEN")
	if mode == "" {
		t.Skip("run by TestKitFailsBrokenStores")
	}
	paths := map[fleetstoretest.Store]string{}
	open := func(t *testing.T, path string) fleetstoretest.Store {
		b := &brokenStore{Store: openSQLite(t, path), mode: mode}
		paths[b] = path
		return b
	}
	o := fleetstoretest.Options{
		Open: func(t *testing.T) fleetstoretest.Store { return open(t, filepath.Join(t.TempDir(), "immy.db")) },
		Reopen: func(t *testing.T, s fleetstoretest.Store) fleetstoretest.Store {
			if mode == "forgets" {
				return open(t, filepath.Join(t.TempDir(), "immy.db"))
			}
			return open(t, paths[s])
		},
	}
	if mode == "half-applied" {
		o.Fault = func(_ *testing.T, s fleetstoretest.Store, err error) { s.(*brokenStore).fault = err }
	}
	fleetstoretest.RunWith(t, o)
}
