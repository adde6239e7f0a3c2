package resolver

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/immyoss/engine/immy/immytest"
	"github.com/immyoss/engine/targets"
)

// BenchmarkPlanFleet is the whole-fleet what-if over a generated fleet: the
// target index, the catalogue, the planner's compilation (target matcher,
// rank keys), then every computer's targets, winners, actions and order; and
// then the full read of the plan, as whoever uses a whole-fleet plan reads
// it: every computer's Actions() and Decisions(), and the JSON of the whole
// plan written to io.Discard. Only the fleet's generation is outside the
// timing. Each phase is reported on its own, per fleet and per computer
// (plan-ns, read-ns, json-ns, with the bytes each allocates); ns/op is
// their sum. On a machine shared with other work, wall time says little:
// plan-cpu-ns and so on are the CPU time the process spent in each phase
// (all its threads, the collector's included), which is what the phase
// costs whoever runs it. live-B is the heap in use after a collection with
// the last plan alive (the fleet, the plan, what it refers to), maxrss-B the
// process's peak resident memory so far (run one sub-benchmark per process
// to read it for one fleet).
//
// The fleet is immytest.FleetScale(100_000) (2,000 tenants, 20,000 persons,
// 2,000 groups, 5,000 deployments over 500 items with prerequisite chains,
// over a third of them filters, most distinct) with its number of computers
// set to n, so that the sub-benchmarks differ in computers only:
// FleetScale(50_000) would also halve the deployments, and with them what
// each computer has to plan, which is not what "twice the fleet" measures.
// shape=uniform is FleetScaleUniform(100_000), the earlier shape (some 600
// filter targets of 16 sources), for comparison.
//
//	go test ./resolver -run '^$' -bench BenchmarkPlanFleet -benchmem -cpu 2
func BenchmarkPlanFleet(b *testing.B) {
	for _, bc := range []struct {
		shape string
		cfg   func(int) immytest.GenConfig
		n     int
	}{
		{"realistic", immytest.FleetScale, 50_000},
		{"realistic", immytest.FleetScale, 100_000},
		{"uniform", immytest.FleetScaleUniform, 100_000},
	} {
		b.Run(fmt.Sprintf("shape=%s/computers=%d", bc.shape, bc.n), func(b *testing.B) {
			cfg := bc.cfg(100_000)
			cfg.Computers = bc.n
			f := immytest.Generate(cfg)
			b.ReportAllocs()
			var plan *Plan
			var phases [3]phase
			for b.Loop() {
				phases[0].start()
				var err error
				plan, err = PlanFleet(context.Background(), f, Config{}, Session{})
				if err != nil {
					b.Fatal(err)
				}
				phases[0].stop()
				phases[1].start()
				for i := range plan.Computers {
					c := &plan.Computers[i]
					sink += len(c.Actions()) + len(c.Decisions())
				}
				phases[1].stop()
				phases[2].start()
				if err := plan.WriteJSON(io.Discard); err != nil {
					b.Fatal(err)
				}
				phases[2].stop()
			}
			b.StopTimer()
			n := float64(b.N)
			for k, name := range []string{"plan", "read", "json"} {
				p := &phases[k]
				b.ReportMetric(float64(p.ns)/n, name+"-ns")
				b.ReportMetric(float64(p.ns)/n/float64(bc.n), name+"-ns/computer")
				b.ReportMetric(float64(p.cpu)/n, name+"-cpu-ns")
				b.ReportMetric(float64(p.bytes)/n, name+"-B")
			}
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			b.ReportMetric(float64(ms.HeapAlloc), "live-B")
			b.ReportMetric(float64(maxRSS()), "maxrss-B")
			reportShape(b, plan)
		})
	}
}

// sink keeps the reads of BenchmarkPlanFleet from being optimised away.
var sink int

// phase adds up the wall time and the bytes allocated of one phase of a
// benchmark's iterations. Reading the allocation counter stops the world
// briefly, twice per phase: negligible beside a whole-fleet plan.
type phase struct {
	ns, cpu, bytes int64
	t0             time.Time
	c0             int64
	a0             uint64
}

func (p *phase) start() {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	p.a0, p.c0, p.t0 = ms.TotalAlloc, cpuTime(), time.Now()
}

func (p *phase) stop() {
	p.ns += int64(time.Since(p.t0))
	p.cpu += cpuTime() - p.c0
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	p.bytes += int64(ms.TotalAlloc - p.a0)
}

// reportShape reports what the plan holds per computer, to read the figures by.
func reportShape(b *testing.B, plan *Plan) {
	var acts, decisions, bytes int
	for i := range plan.Computers {
		c := &plan.Computers[i]
		acts += int(c.nact)
		bytes += len(c.rec)
		for _, a := range c.Actions() {
			if a.Deployment != "" {
				decisions++
			}
		}
	}
	n := float64(len(plan.Computers))
	b.ReportMetric(float64(decisions)/n, "decisions/computer")
	b.ReportMetric(float64(acts)/n, "actions/computer")
	b.ReportMetric(float64(bytes)/n, "plan-bytes/computer")
}

// BenchmarkPlanComputer is one computer's plan from a prepared planner (index,
// matcher and catalogue compiled): what a session's resolution and what-if
// cost. It visits the computers in a shuffled order, so that each plan
// evaluates its computer's filters afresh (the matcher remembers a filter's
// result per computer) until every computer has been planned once.
// cpu-ns/op is the process's CPU time per plan, for a machine shared with
// other work.
//
//	go test ./resolver -run '^$' -bench BenchmarkPlanComputer -benchmem
func BenchmarkPlanComputer(b *testing.B) {
	f := immytest.Generate(immytest.FleetScale(100_000))
	cat, err := NewCatalogue(f)
	if err != nil {
		b.Fatal(err)
	}
	ix, err := targets.NewIndex(f, targets.Config{})
	if err != nil {
		b.Fatal(err)
	}
	p, err := NewPlanner(ix, cat, Config{})
	if err != nil {
		b.Fatal(err)
	}
	ids := make([]string, len(f.Computers))
	for i, j := range rand.New(rand.NewPCG(1, 2)).Perm(len(f.Computers)) {
		ids[i] = f.Computers[j].ID
	}
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	c0 := cpuTime()
	for b.Loop() {
		if _, err := p.PlanComputer(ctx, ids[i%len(ids)], Session{}, nil); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(cpuTime()-c0)/float64(b.N), "cpu-ns/op") // the collector's too
}

// BenchmarkPlanOnly is Plan alone over a prepared planner (100k computers):
// the part of BenchmarkPlanFleet that runs per computer. The first plan
// evaluates the filters; the planner remembers their results, so that the
// plans after it measure mostly the resolver's own work. cpu-ns/op is the
// process's CPU time per plan, the collector's included.
//
//	go test ./resolver -run '^$' -bench BenchmarkPlanOnly -benchmem -cpu 2
func BenchmarkPlanOnly(b *testing.B) {
	f := immytest.Generate(immytest.FleetScale(100_000))
	p := newPlanner(b, f, Config{})
	b.ReportAllocs()
	c0 := cpuTime()
	for b.Loop() {
		if _, err := p.Plan(context.Background(), Session{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime()-c0)/float64(b.N), "cpu-ns/op")
}

// BenchmarkPlanEach is the whole-fleet plan streamed, over a prepared
// planner (100k computers): PlanEach's plans read (every computer's Actions
// and Decisions) and written by a PlanWriter to io.Discard, each dropped
// once used. stream-live-B is the most heap live (after a collection) above
// what was live before the stream (the fleet, the planner and what its
// caches remember, filled by a first stream outside the timing), taken at
// every quarter of the fleet: what the stream holds, where Plan holds every
// plan (BenchmarkPlanFleet's plan-bytes/computer). The four collections are
// in the timing, and so the time is that of a planner that remembers its
// filters' results (a second plan of the same fleet): BenchmarkPlanFleet
// measures a first one.
//
//	go test ./resolver -run '^$' -bench BenchmarkPlanEach -benchmem -cpu 2
func BenchmarkPlanEach(b *testing.B) {
	f := immytest.Generate(immytest.FleetScale(100_000))
	p := newPlanner(b, f, Config{})
	ctx := context.Background()
	heap := func() int64 {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return int64(ms.HeapAlloc)
	}
	var peak int64
	for _, err := range p.PlanEach(ctx, Session{}) { // the planner's caches filled
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	c0 := cpuTime()
	for b.Loop() {
		runtime.GC()
		base := heap()
		pw := NewPlanWriter(io.Discard, p.At())
		n := 0
		for cp, err := range p.PlanEach(ctx, Session{}) {
			if err != nil {
				b.Fatal(err)
			}
			sink += len(cp.Actions()) + len(cp.Decisions())
			if err := pw.Write(cp); err != nil {
				b.Fatal(err)
			}
			if n++; n%(len(f.Computers)/4) == 0 {
				runtime.GC()
				peak = max(peak, heap()-base)
			}
		}
		if err := pw.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime()-c0)/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(peak), "stream-live-B")
}
