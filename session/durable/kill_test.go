package durable_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/internal/testbin"
	"github.com/immyoss/engine/session"
	"github.com/immyoss/engine/session/durable/internal/durabletest"
	"github.com/immyoss/engine/session/sqlstore"
)

// engineBin builds the binary the tests run, once.
var engineBin = testbin.New("github.com/immyoss/engine/session/durable/internal/enginecmd")

var killSeed = flag.Uint64("kill.seed", 20261123, "seed of the kill tests' kill times")

func TestMain(m *testing.M) {
	code := m.Run()
	engineBin.Cleanup()
	os.Exit(code)
}

// proc is a running engine process.
type proc struct {
	cmd    *exec.Cmd
	out    bytes.Buffer
	done   chan struct{}
	exitOK bool
}

func startProc(t *testing.T, args ...string) *proc {
	t.Helper()
	bin, err := engineBin.Path()
	require.NoError(t, err)
	p := &proc{cmd: exec.Command(bin, args...), done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	require.NoError(t, p.cmd.Start())
	go func() {
		p.exitOK = p.cmd.Wait() == nil
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

// kill kills the process with SIGKILL; it reports whether it was still
// working (not already exited).
func (p *proc) kill(t *testing.T) bool {
	t.Helper()
	select {
	case <-p.done:
		return false
	default:
	}
	require.NoError(t, p.cmd.Process.Kill())
	<-p.done
	return true
}

// wait waits for the process to exit by itself.
func (p *proc) wait(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case <-p.done:
		require.True(t, p.exitOK, "the engine process failed:\n%s", p.out.String())
	case <-time.After(d):
		t.Fatalf("the engine process did not finish within %s:\n%s", d, p.out.String())
	}
}

// checkOutcome checks, after every session ended, that no action was lost
// (every session passed with every action succeeded, every computer in its
// desired state) and none ran twice without a detection in between.
func checkOutcome(t *testing.T, store *sqlstore.Store, logPath string, computers int) {
	t.Helper()
	ctx := context.Background()
	left, err := store.Unfinished(ctx)
	require.NoError(t, err)
	require.Empty(t, left)
	resumed, interrupted := 0, 0
	for i := range computers {
		id := "sess-" + durabletest.Computer(i)
		var rep session.Report
		running := 0
		err := store.ReplaySession(ctx, id, func(r session.Record) error {
			if r.Kind == session.RecordStatus && r.Status == session.Running {
				running++
			}
			return nil
		})
		require.NoError(t, err)
		if running > 1 {
			resumed++
		}
		rep, err = journaled(ctx, store, id)
		require.NoError(t, err)
		require.Equal(t, session.Passed, rep.Status, "%s: %s", id, rep.Reason)
		require.Len(t, rep.Actions, 4, id)
		for _, a := range rep.Actions {
			require.Equal(t, session.Success, a.Result, "%s: %s %s", id, a.Item(), a.Reason)
			if a.Reason == session.ReasonVerifiedAfterResume || a.Attempts > 1 {
				interrupted++
			}
		}
	}
	entries, err := durabletest.ReadLog(logPath)
	require.NoError(t, err)
	require.Empty(t, durabletest.Repeats(entries), "changes run twice without a detection in between")
	// Each computer's state, from the log, is the desired one.
	fleet := durabletest.Fleet(computers)
	logged, err := durabletest.OpenLogged(ctx, fleet, logPath, "check", 0)
	require.NoError(t, err)
	defer logged.Close()
	runs := 0
	for _, e := range entries {
		if e.Kind == "run" {
			runs++
		}
	}
	for i := range computers {
		c := logged.Fake().Computer(durabletest.Computer(i))
		got := map[string]string{}
		for _, s := range c.Software() {
			got[s.Name] = s.Version.String()
		}
		require.Equal(t, map[string]string{"App": "2.0", "VC Redist": "14.40", "Phone": "18.1"}, got, durabletest.Computer(i))
		v, _ := c.Get("task:bitlocker")
		require.Equal(t, "true", v)
	}
	t.Logf("%d sessions, %d of them resumed after a kill, %d actions interrupted while they ran; %d changes run (%d planned)",
		computers, resumed, interrupted, runs, 5*computers)
	require.Positive(t, resumed, "no kill interrupted a session: the test proved nothing")
	// The log is the computers' state: a change it lacks did not happen, and
	// is run after a detection finds it missing; one it has is found done.
	// So each planned change ran exactly once.
	require.Equal(t, 5*computers, runs, "changes run")
}

// journaled reads a session's report from a store.
func journaled(ctx context.Context, store *sqlstore.Store, id string) (session.Report, error) {
	var recs []session.Record
	if err := store.ReplaySession(ctx, id, func(r session.Record) error { recs = append(recs, r); return nil }); err != nil {
		return session.Report{}, err
	}
	return session.Fold(recs), nil
}

// TestKillSQLite kills an engine process on SQLite at random points, with
// SIGKILL, and restarts it until every session ended.
func TestKillSQLite(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills engine processes")
	}
	killSQLite(t, 50, 5, "60ms")
}

// TestKillSQLiteThousand is TestKillSQLite at scale: 1000 sessions, 15
// kills. It takes a minute or more, so it runs only when
// IMMY_TEST_KILL_LONG=1 (.ci/run sets it in a step of its own).
func TestKillSQLiteThousand(t *testing.T) {
	if os.Getenv("IMMY_TEST_KILL_LONG") != "1" {
		t.Skip("set IMMY_TEST_KILL_LONG=1 to run the 1000-session kill test")
	}
	killSQLite(t, 1000, 15, "20ms")
}

// killSQLite runs the fleet of n computers, a session each, in an engine
// process killed kills times at random points, then lets a last process
// finish and checks that every change ran exactly once.
func killSQLite(t *testing.T, computers, kills int, delay string) {
	dir := t.TempDir()
	db, logPath := filepath.Join(dir, "immy.db"), filepath.Join(dir, "actions.log")
	args := []string{"-sqlite", db, "-log", logPath, "-computers", fmt.Sprint(computers), "-id", "engine-1",
		"-workers", "8", "-delay", delay, "-job-timeout", "20s", "-rescue", "25s"}
	seed := *killSeed
	rng := rand.New(rand.NewPCG(seed, seed))
	killed := 0
	for try := 0; killed < kills && try < 2*kills; try++ {
		p := startProc(t, args...)
		time.Sleep(time.Duration(200+rng.IntN(800)) * time.Millisecond)
		if p.kill(t) {
			killed++
		} else {
			require.True(t, p.exitOK, "the engine process failed:\n%s", p.out.String())
		}
	}
	t.Logf("seed %d: %d kills", seed, killed)
	startProc(t, args...).wait(t, time.Duration(40+computers/10)*time.Second)

	store, err := sqlstore.OpenSQLite(context.Background(), db, sqlstore.Config{})
	require.NoError(t, err)
	defer store.Close()
	checkOutcome(t, store, logPath, computers)
}
