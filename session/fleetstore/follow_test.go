package fleetstore

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/internal/pgtest"
	"github.com/immyoss/engine/resolver"
)

// Edit through one process, plan through another: the second store learns
// the first one's revision (on PostgreSQL by notification alone: its poll is
// an hour) and plans from it.
func TestFollowEditHerePlanThere(t *testing.T) {
	src := mspFleet(t)
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			editor := b.open(t)
			importFleet(t, editor, src)
			planner := b.open(t)
			before := planner.Fleet()

			poll := 5 * time.Millisecond
			if b.name == "postgres" {
				poll = time.Hour
			}
			revs := make(chan int64, 16)
			done := make(chan error, 1)
			go func() {
				done <- planner.Follow(ctx, FollowConfig{Poll: poll, OnChange: func(_ *immy.Fleet, rev int64) { revs <- rev }})
			}()

			var ops []Op
			for _, d := range src.Deployments {
				if d.Desired != 0 && d.Desired != immy.DesiredUninstalled {
					d.Desired, d.Version = immy.DesiredUninstalled, immy.Version{}
					ops = append(ops, PutDeployment(d))
				}
			}
			rev, err := editor.Apply(ctx, Change{Base: editor.Revision(), Actor: "alice", Ops: ops})
			require.NoError(t, err)
			for got := int64(0); got != rev; {
				select {
				case got = <-revs:
				case <-time.After(time.Minute): // a guard against hanging, not a measure
					t.Fatalf("the planner never learned revision %d (it is at %d)", rev, planner.Revision())
				}
			}
			if diff := cmp.Diff(editor.Fleet(), planner.Fleet(), fleetCmp...); diff != "" {
				t.Fatalf("followed fleet (-editor +planner):\n%s", diff)
			}
			plan := func(f *immy.Fleet) *resolver.Plan {
				p, err := resolver.PlanFleet(ctx, f, resolver.Config{}, resolver.Session{})
				require.NoError(t, err)
				return p
			}
			require.True(t, resolver.Diff(plan(editor.Fleet()), plan(planner.Fleet())).Empty())
			require.False(t, resolver.Diff(plan(before), plan(planner.Fleet())).Empty(), "the edit changed the plan")

			cancel()
			require.NoError(t, <-done)
		})
	}
}

// Edit through one process, plan through another, for real: a child process
// (this test binary again) opens the database, follows it (on PostgreSQL its
// poll is an hour: it learns by notification, or by the read Follow makes
// once it listens when the edit came first; on SQLite by polling) and, once
// it has the revision the parent's edit made, writes its plan; the parent's
// plan of its own fleet is the same bytes.
func TestFollowAcrossProcesses(t *testing.T) {
	if os.Getenv("FLEETSTORE_FOLLOW_DB") != "" {
		t.Skip("in the child")
	}
	src := mspFleet(t)
	dbs := []struct{ kind, db string }{{"sqlite", filepath.Join(t.TempDir(), "immy.db")}}
	if url := pgtest.MaybeDatabase(t); url != "" {
		dbs = append(dbs, struct{ kind, db string }{"postgres", url})
	}
	for _, d := range dbs {
		t.Run(d.kind, func(t *testing.T) {
			ctx := context.Background()
			editor := openFollowStore(t, d.kind, d.db)
			importFleet(t, editor, src)
			before := editor.Fleet()
			var ops []Op
			for _, dep := range src.Deployments {
				if dep.Desired != 0 && dep.Desired != immy.DesiredUninstalled {
					dep.Desired, dep.Version = immy.DesiredUninstalled, immy.Version{}
					ops = append(ops, PutDeployment(dep))
				}
			}
			want := editor.Revision() + 1
			planPath := filepath.Join(t.TempDir(), "plan.json")

			cctx, cancel := context.WithTimeout(ctx, 2*time.Minute) // a guard against hanging, not a measure
			defer cancel()
			cmd := exec.CommandContext(cctx, os.Args[0], "-test.run=^TestFollowChild$")
			cmd.Env = append(os.Environ(), "FLEETSTORE_FOLLOW_DB="+d.db, "FLEETSTORE_FOLLOW_KIND="+d.kind,
				fmt.Sprint("FLEETSTORE_FOLLOW_WANT=", want), "FLEETSTORE_FOLLOW_PLAN="+planPath)
			stdout, err := cmd.StdoutPipe()
			require.NoError(t, err)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			require.NoError(t, cmd.Start())
			lines := bufio.NewScanner(stdout)
			var out strings.Builder
			ready := false
			for !ready && lines.Scan() {
				out.WriteString(lines.Text() + "\n")
				ready = strings.HasPrefix(lines.Text(), "fleetstore-follow-ready")
			}
			if !ready {
				cmd.Wait() // its stderr is read whole
				t.Fatalf("the child never got ready:\n%s%s", out.String(), stderr.String())
			}
			drained := make(chan struct{})
			go func() { // the rest of its output, so that it never blocks
				defer close(drained)
				for lines.Scan() {
					out.WriteString(lines.Text() + "\n")
				}
			}()

			rev, err := editor.Apply(ctx, Change{Base: editor.Revision(), Actor: "alice", Ops: ops})
			require.NoError(t, err)
			require.Equal(t, want, rev)
			<-drained // the child ended: its output is read whole before Wait
			err = cmd.Wait()
			require.NoError(t, err, "the child:\n%s%s", out.String(), stderr.String())

			got, err := os.ReadFile(planPath)
			require.NoError(t, err)
			plan := func(f *immy.Fleet) string {
				p, err := resolver.PlanFleet(ctx, f, resolver.Config{}, resolver.Session{})
				require.NoError(t, err)
				var b bytes.Buffer
				require.NoError(t, p.WriteJSON(&b))
				return b.String()
			}
			require.Empty(t, cmp.Diff(plan(editor.Fleet()), string(got)), "the other process's plan (-editor +other)")
			require.NotEqual(t, plan(before), string(got), "the edit changed the plan")
		})
	}
}

// TestFollowChild is the other process of TestFollowAcrossProcesses.
func TestFollowChild(t *testing.T) {
	db := os.Getenv("FLEETSTORE_FOLLOW_DB")
	if db == "" {
		t.Skip("run by TestFollowAcrossProcesses")
	}
	want, err := strconv.ParseInt(os.Getenv("FLEETSTORE_FOLLOW_WANT"), 10, 64)
	require.NoError(t, err)
	kind := os.Getenv("FLEETSTORE_FOLLOW_KIND")
	s := openFollowStore(t, kind, db)
	poll := 5 * time.Millisecond
	if kind == "postgres" {
		poll = time.Hour
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan *immy.Fleet, 1)
	done := make(chan error, 1)
	go func() {
		done <- s.Follow(ctx, FollowConfig{Poll: poll, OnChange: func(f *immy.Fleet, rev int64) {
			if rev >= want {
				select {
				case got <- f:
				default:
				}
			}
		}})
	}()
	fmt.Printf("fleetstore-follow-ready at revision %d\n", s.Revision())
	var f *immy.Fleet
	select {
	case f = <-got:
	case <-time.After(time.Minute): // a guard against hanging, not a measure
		t.Fatalf("never learned revision %d (at %d)", want, s.Revision())
	}
	p, err := resolver.PlanFleet(ctx, f, resolver.Config{}, resolver.Session{})
	require.NoError(t, err)
	var b bytes.Buffer
	require.NoError(t, p.WriteJSON(&b))
	require.NoError(t, os.WriteFile(os.Getenv("FLEETSTORE_FOLLOW_PLAN"), b.Bytes(), 0o644))
	cancel()
	require.NoError(t, <-done)
}

func openFollowStore(t *testing.T, kind, db string) *Store {
	t.Helper()
	ctx := context.Background()
	if kind == "sqlite" {
		s, err := OpenSQLite(ctx, db, Config{})
		require.NoError(t, err)
		t.Cleanup(func() { s.Close() })
		return s
	}
	pool, err := pgxpool.New(ctx, db)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	s, err := OpenPostgres(ctx, pool, Config{})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}
