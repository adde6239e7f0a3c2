package resolver

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/immyoss/engine/immy/immytest"
	"github.com/immyoss/engine/targets"
)

// BenchmarkPlanFleet is the whole-fleet what-if over a generated fleet: the
// target index, the catalogue, the planner's compilation (target matcher,
// rank keys), then every computer's targets, winners, actions and order. Only
// the fleet's generation is outside the timing.
//
// The fleet is immytest.FleetScale(100_000) (2,000 tenants, 20,000 persons,
// 2,000 groups, 5,000 deployments over 500 items with prerequisite chains)
// with its number of computers set to n, so that the sub-benchmarks differ in
// computers only: FleetScale(50_000) would also halve the deployments, and
// with them what each computer has to plan, which is not what "twice the
// fleet" measures.
//
//	go test ./resolver -run '^$' -bench BenchmarkPlanFleet -benchmem -cpu 2
func BenchmarkPlanFleet(b *testing.B) {
	for _, n := range []int{50_000, 100_000} {
		cfg := immytest.FleetScale(100_000)
		cfg.Computers = n
		f := immytest.Generate(cfg)
		b.Run(fmt.Sprintf("computers=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			var plan *Plan
			for b.Loop() {
				var err error
				plan, err = PlanFleet(context.Background(), f, Config{}, Session{})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/computer")
			reportShape(b, plan)
		})
	}
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
	for b.Loop() {
		if _, err := p.PlanComputer(ctx, ids[i%len(ids)], Session{}, nil); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkPlanOnly is Plan alone over a prepared planner (100k computers):
// the part of BenchmarkPlanFleet that runs per computer.
func BenchmarkPlanOnly(b *testing.B) {
	f := immytest.Generate(immytest.FleetScale(100_000))
	p := newPlanner(b, f, Config{})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Plan(context.Background(), Session{}); err != nil {
			b.Fatal(err)
		}
	}
}
