package resolver

import (
	"context"
	"io"
	"sync"
	"testing"

	"github.com/immyoss/engine/immy/immytest"
)

// readBenchPlan is the plan BenchmarkReadPlan and BenchmarkWritePlanJSON
// read: FleetScale(100_000)'s catalogue and deployments over 10,000 of its
// computers, planned once per process.
var readBenchPlan = sync.OnceValues(func() (*Plan, error) {
	cfg := immytest.FleetScale(100_000)
	cfg.Computers = 10_000
	return PlanFleet(context.Background(), immytest.Generate(cfg), Config{}, Session{})
})

func readPlan(b *testing.B) *Plan {
	plan, err := readBenchPlan()
	if err != nil {
		b.Fatal(err)
	}
	return plan
}

// BenchmarkReadPlan is BenchmarkPlanFleet's read phase over a smaller
// fleet of the same shape (10,000 computers), without the plan: every
// computer's Actions() and Decisions(), in sequence. An op is the whole
// plan read; cpu-ns/computer is the process's CPU time (the collector's
// included) per computer read.
//
//	go test ./resolver -run '^$' -bench BenchmarkReadPlan -benchmem -cpu 2
func BenchmarkReadPlan(b *testing.B) {
	plan := readPlan(b)
	b.ReportAllocs()
	c0 := cpuTime()
	for b.Loop() {
		for i := range plan.Computers {
			c := &plan.Computers[i]
			sink += len(c.Actions()) + len(c.Decisions())
		}
	}
	b.ReportMetric(float64(cpuTime()-c0)/float64(b.N)/float64(len(plan.Computers)), "cpu-ns/computer")
}

// BenchmarkWritePlanJSON is BenchmarkPlanFleet's json phase over the
// fleet of BenchmarkReadPlan: Plan.WriteJSON to io.Discard.
//
//	go test ./resolver -run '^$' -bench BenchmarkWritePlanJSON -benchmem -cpu 2
func BenchmarkWritePlanJSON(b *testing.B) {
	plan := readPlan(b)
	b.ReportAllocs()
	c0 := cpuTime()
	for b.Loop() {
		if err := plan.WriteJSON(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime()-c0)/float64(b.N)/float64(len(plan.Computers)), "cpu-ns/computer")
}
