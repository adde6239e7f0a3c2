package targets

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/immytest"
)

// The predicate of the filter benchmarks, in Go, expr and Lua.
const (
	benchExpr = `computer.os startsWith "Windows 11" and "canary" in computer.tags and computer.attributes["site"] == "hq"`
	benchLua  = `return starts_with(computer.os, "Windows 11") and contains(computer.tags, "canary") and computer.attributes.site == "hq"`
)

func benchNative(c *immy.Computer) bool {
	return strings.HasPrefix(c.OS, "Windows 11") && slices.Contains(c.Tags, "canary") && c.Attributes["site"] == "hq"
}

type benchInput struct {
	cs []immy.Computer
	ts []*immy.Tenant
}

func newBenchInput(b *testing.B) benchInput {
	cs, tenants := genComputers(42, 4096)
	in := benchInput{cs: cs, ts: make([]*immy.Tenant, len(cs))}
	for i := range cs {
		in.ts[i] = tenantOf(tenants, cs[i].Tenant)
	}
	pass := 0
	for i := range cs {
		if benchNative(&cs[i]) {
			pass++
		}
	}
	if pass == 0 || pass == len(cs) {
		b.Fatalf("the predicate should split the computers, passes %d of %d", pass, len(cs))
	}
	return in
}

var benchSink bool

func BenchmarkFilterNative(b *testing.B) {
	in := newBenchInput(b)
	n := 0
	for b.Loop() {
		benchSink = benchNative(&in.cs[n%len(in.cs)])
		n++
	}
}

func benchFilter(b *testing.B, lang Language, src string) {
	in := newBenchInput(b)
	f, err := Compile(lang, src)
	if err != nil {
		b.Fatal(err)
	}
	// Check once that every path gives the native answer.
	for i := range in.cs {
		want := benchNative(&in.cs[i])
		got, err := f.Eval(context.Background(), Env{Computer: &in.cs[i], Tenant: in.ts[i]})
		vm, vmErr := f.evalVM(context.Background(), &in.cs[i], in.ts[i])
		if err != nil || vmErr != nil || got != want || vm != want {
			b.Fatalf("computer %s: native %v, Eval %v %v, VM %v %v", in.cs[i].ID, want, got, err, vm, vmErr)
		}
	}
	ctx := context.Background()
	runtime.GC() // leave the checks' garbage out of the measurement
	b.Run("compiled", func(b *testing.B) {
		if !f.Native() {
			b.Fatal("the predicate should compile to closures")
		}
		n := 0
		for b.Loop() {
			i := n % len(in.cs)
			benchSink, _ = f.Eval(ctx, Env{Computer: &in.cs[i], Tenant: in.ts[i]})
			n++
		}
	})
	b.Run("vm", func(b *testing.B) {
		n := 0
		for b.Loop() {
			i := n % len(in.cs)
			benchSink, _ = f.evalVM(ctx, &in.cs[i], in.ts[i])
			n++
		}
	})
}

func BenchmarkFilterExpr(b *testing.B) { benchFilter(b, LanguageExpr, benchExpr) }

func BenchmarkFilterLua(b *testing.B) { benchFilter(b, LanguageLua, benchLua) }

// BenchmarkResolve works over the generated fleet of 100k computers of
// immytest.FleetScale (2,000 tenants, 20,000 persons, 5,000 deployments of
// every target type). "index" builds the Index; "resolve" resolves every
// deployment's target; "match" finds the deployments of every computer; both
// start from a fresh Matcher, so no filter result is reused across iterations.
func BenchmarkResolve(b *testing.B) {
	f := immytest.Generate(immytest.FleetScale(100_000))
	ctx := context.Background()
	b.Run("index", func(b *testing.B) {
		for b.Loop() {
			if _, err := NewIndex(f, Config{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	ix, err := NewIndex(f, Config{})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("resolve", func(b *testing.B) {
		selected := 0
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			m, err := ix.Compile(f.Deployments)
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			selected = 0
			for d := range f.Deployments {
				cs, err := m.Resolve(ctx, d)
				if err != nil {
					b.Fatal(err)
				}
				selected += len(cs)
			}
		}
		b.ReportMetric(float64(selected), "selections")
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(f.Deployments)), "ns/deployment")
	})
	b.Run("match", func(b *testing.B) {
		var buf []int
		selected := 0
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			m, err := ix.Compile(f.Deployments)
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			selected = 0
			for c := range f.Computers {
				buf, err = m.Match(ctx, c, buf[:0])
				if err != nil {
					b.Fatal(err)
				}
				selected += len(buf)
			}
		}
		b.ReportMetric(float64(selected), "selections")
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(f.Computers)), "ns/computer")
	})
}

// scaledFleet is a generated fleet of 20,000 computers with the deployments
// and tenants of 100,000, and its index.
type scaledFleet struct {
	name string // the shape: uniform (FleetScaleUniform) or realistic (FleetScale)
	f    *immy.Fleet
	ix   *Index
}

// scaledFleets generates the fleets the filter benchmarks run on.
func scaledFleets(b *testing.B) []scaledFleet {
	var out []scaledFleet
	for _, shape := range []struct {
		name string
		cfg  func(int) immytest.GenConfig
	}{{"uniform", immytest.FleetScaleUniform}, {"realistic", immytest.FleetScale}} {
		cfg := shape.cfg(100_000)
		cfg.Computers = 20_000
		f := immytest.Generate(cfg)
		ix, err := NewIndex(f, Config{})
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, scaledFleet{shape.name, f, ix})
	}
	return out
}

// BenchmarkMatchFleet matches every computer of a generated fleet (the
// deployments and tenants of FleetScale(100_000), or of FleetScaleUniform,
// over 20,000 computers) through MatchSplit and AppendShared, from a fresh
// Matcher, as a whole-fleet plan does: group=on evaluates a filter by
// groups of computers that agree on its fields once it was evaluated on
// groupMinEvals computers (group.go), group=off on every computer alone.
func BenchmarkMatchFleet(b *testing.B) {
	ctx := context.Background()
	for _, shape := range scaledFleets(b) {
		f, ix := shape.f, shape.ix
		for _, off := range []bool{false, true} {
			b.Run(fmt.Sprintf("shape=%s/group=%s", shape.name, map[bool]string{false: "on", true: "off"}[off]), func(b *testing.B) {
				groupOff = off
				defer func() { groupOff = false }()
				var buf []int32
				selected := 0
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					// a fresh index too: its groupings are built in the timing
					ix, err := ix.Update(f, Changes{Settings: true})
					if err != nil {
						b.Fatal(err)
					}
					m, err := ix.Compile(f.Deployments)
					if err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
					selected = 0
					for c := range f.Computers {
						_, buf, err = m.MatchSplit(ctx, c, buf[:0])
						if err != nil {
							b.Fatal(err)
						}
						selected += len(buf)
						if buf, err = m.AppendShared(ctx, c, buf[:0]); err != nil {
							b.Fatal(err)
						}
						selected += len(buf)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(f.Computers)), "ns/computer")
				b.ReportMetric(float64(selected), "selections")
			})
		}
	}
}

// BenchmarkGroupedLookup reads, for one computer after another, every
// filter's grouped result (group.go), every filter of the realistic shape
// evaluated by groups first: what Match pays per filter and computer once
// the filters are grouped, order=fleet in the order of a whole-fleet plan,
// order=random in that of plans of one computer.
func BenchmarkGroupedLookup(b *testing.B) {
	ctx := context.Background()
	for _, shape := range scaledFleets(b) {
		if shape.name != "realistic" {
			continue
		}
		m, err := shape.ix.Compile(shape.f.Deployments)
		if err != nil {
			b.Fatal(err)
		}
		for s := range m.filters {
			m.groupFilter(ctx, int32(s))
		}
		n := len(shape.f.Computers)
		for _, order := range []string{"fleet", "random"} {
			b.Run("order="+order, func(b *testing.B) {
				cs := rand.New(rand.NewPCG(1, 2)).Perm(n)
				if order == "fleet" {
					slices.Sort(cs)
				}
				known, i := 0, 0
				for b.Loop() {
					c := cs[i%n]
					i++
					for s := range m.filters {
						if _, ok := m.grouped(int32(s), c); ok {
							known++
						}
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(i*len(m.filters)), "ns/lookup")
				b.ReportMetric(float64(known)/float64(i), "known/computer")
			})
		}
	}
}
