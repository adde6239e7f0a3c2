package session

import (
	"context"
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/immytest"
)

// zeroRunner is a fake runner without latency and without Lua: scripts are
// understood by their step parameter, the state is a set of installed
// software per computer. It is the cheapest runner there can be, so that a
// benchmark measures the engine.
type zeroRunner struct {
	computers map[string]*zeroComputer // made up front, then read only
}

type zeroComputer struct {
	mu       sync.Mutex
	software map[string]immy.DetectedSoftware
}

func (z *zeroRunner) computer(id string) *zeroComputer { return z.computers[id] }

func (z *zeroRunner) RunScript(ctx context.Context, req immy.ScriptRequest) (immy.ScriptResult, error) {
	c := z.computer(req.Computer)
	name, _ := req.Parameters["software_name"].(string)
	c.mu.Lock()
	defer c.mu.Unlock()
	switch req.Parameters["step"] {
	case "install":
		v, err := immy.ParseVersion(req.Parameters["version"].(string))
		if err != nil {
			return immy.ScriptResult{ExitCode: 1}, nil
		}
		c.software[name] = immy.DetectedSoftware{Name: name, Version: v}
	case "uninstall":
		delete(c.software, name)
	}
	return immy.ScriptResult{}, nil
}

func (z *zeroRunner) Inventory(ctx context.Context, computer string) (immy.Inventory, error) {
	c := z.computer(computer)
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]immy.DetectedSoftware, 0, len(c.software))
	for _, s := range c.software {
		out = append(out, s)
	}
	return immy.Inventory{Software: out}, nil
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSessions runs 10,000 sessions at once, each installing 20
// software (20 actions, each verified by a fresh inventory), against a
// runner without latency, with the in-memory journal. It reports actions per
// second and the CPU time (user and system, of the whole process: engine,
// journal and the trivial runner) per action.
func BenchmarkSessions(b *testing.B) {
	const computers, items = 10_000, 20
	fb := immytest.NewFleet().At("2026-11-23T10:00:00Z").Tenant("t1")
	for i := range computers {
		fb.Computer(fmt.Sprintf("pc%05d", i), "t1", immy.KindWorkstation)
	}
	for i := range items {
		id := fmt.Sprintf("app%02d", i)
		fb.Software(id, immytest.Name("Application "+id), immytest.Versions("1.0", "2.0"))
		fb.Deploy("d-"+id, id, immytest.OnAllComputers())
	}
	f := fb.Build()
	for i := range f.Software {
		f.Software[i].Install = &immy.Script{Body: "install"}
		f.Software[i].Uninstall = &immy.Script{Body: "uninstall"}
	}
	planner := newPlanner(b, f)
	ctx := context.Background()
	var actions int
	var elapsed, cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		runner := &zeroRunner{computers: map[string]*zeroComputer{}}
		for _, c := range f.Computers {
			runner.computers[c.ID] = &zeroComputer{software: map[string]immy.DetectedSoftware{}}
		}
		e, err := New(Config{Planner: planner, Runner: runner, Inventory: runner, Journal: &MemoryJournal{}, MaxRunning: computers})
		require.NoError(b, err)
		b.StartTimer()
		start, cpu0 := time.Now(), cpuTime()
		ids := make([]string, computers)
		for i := range computers {
			ids[i], err = e.Start(ctx, Request{Computer: f.Computers[i].ID})
			if err != nil {
				b.Fatal(err)
			}
		}
		for _, id := range ids {
			rep, err := e.Wait(ctx, id)
			if err != nil || rep.Status != Passed || len(rep.Actions) != items {
				b.Fatalf("session %s: %v %s %d actions", id, err, rep.Status, len(rep.Actions))
			}
		}
		elapsed += time.Since(start)
		cpu += cpuTime() - cpu0
		actions += computers * items
		b.StopTimer()
		require.NoError(b, e.Close(ctx))
		b.StartTimer()
	}
	b.ReportMetric(float64(actions)/elapsed.Seconds(), "actions/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(actions), "cpu-ns/action")
}
