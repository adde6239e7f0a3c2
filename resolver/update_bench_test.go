package resolver

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/immytest"
	"github.com/immyoss/engine/targets"
)

// liveFleet is the state the update benchmarks start from: FleetScale(100_000)
// and its planner, made once for both.
var liveFleet struct {
	once    sync.Once
	f       *immy.Fleet
	p       *Planner
	plan    *Plan
	all, sm int // a deployment reaching every computer, one reaching about 1%
	err     error
}

func live(b *testing.B) (*immy.Fleet, *Planner) {
	b.Helper()
	l := &liveFleet
	l.once.Do(func() {
		f := immytest.Generate(immytest.FleetScale(100_000))
		ix, err := targets.NewIndex(f, targets.Config{})
		if err != nil {
			l.err = err
			return
		}
		// the deployments of one item (of the table's order) reaching
		// everything, and about 1% of the fleet
		m, err := ix.Compile(f.Deployments)
		if err != nil {
			l.err = err
			return
		}
		l.all, l.sm = -1, -1
		best := 0
		anyTarget := -1 // reaching 1 to 2%, of any scope
		for i := range f.Deployments {
			d := &f.Deployments[i]
			if d.Target.Type == immy.TargetFilter || d.Disabled || d.Enforcement != immy.EnforcementRequired || d.Target.Category == immy.CategoryTenant {
				continue
			}
			cs, err := m.Resolve(context.Background(), i)
			if err != nil {
				continue
			}
			if n := len(cs); n > best && d.Target.Type == immy.TargetAllComputers {
				l.all, best = i, n
			}
			// a single tenant's target (it ranks before every cross-tenant
			// one, so that its edits change plans)
			n := len(cs)
			if l.sm < 0 && d.Target.Tenant != "" && n >= len(f.Computers)/200 && n <= len(f.Computers)/50 {
				l.sm = i
			}
			if anyTarget < 0 && n >= len(f.Computers)/100 && n <= len(f.Computers)/50 {
				anyTarget = i
			}
		}
		if l.sm < 0 {
			l.sm = anyTarget
		}
		if l.all < 0 || l.sm < 0 {
			l.err = errNoBenchDeployment
			return
		}
		// the deployment reaching everything does so without a group filter
		f.Deployments[l.all].Target = immy.Target{Type: immy.TargetAllComputers}
		l.f = f
		l.p, l.err = freshPlanner(f)
	})
	if l.err != nil {
		b.Fatal(l.err)
	}
	return l.f, l.p
}

var errNoBenchDeployment = immy.ErrNotFound

// BenchmarkEditDeployment is the what-if of an admin's edit: one
// deployment's desired state (or its target) changes, the planner is
// updated (Planner.Update), the computers it touches are found (Touched)
// and planned again (Replan: each from its record, only the edited item
// ranked again; update_edit.go), and the diff of the plans is made (Diff,
// record by record, a spliced record only at the actions replaced;
// diff_records.go). The
// edit goes back and forth between two fleets, each the other with that one
// deployment changed. The plan diffed holds the touched computers (every
// other computer's plan is the same before and after, as
// TestUpdateEqualsRebuild checks): what a store's preview does when it
// keeps no whole plan; a Replan of a whole-fleet plan adds the copy of its
// 100,000 computers' entries (shared, not read: Diff passes over them).
// reach=1% edits a required deployment of a single tenant whose target
// reaches 0.5 to 2% of the fleet (else any reaching 1 to 2%), reach=all one
// reaching every computer. One edit is made before the timing, so that the
// touched computers' filters have run. Records spliced by an edit are
// spliced again by the next edit of the same deployment from their splice
// notes (update_noted.go); reach=all/desired/first makes every edit from
// the plan before any edit (the records as Plan made them: read whole).
//
// cpu-ns/op is the CPU time the process spent per edit (both cores, the
// collector included): on a busy machine, the work apart from the waits.
//
//	go test ./resolver -run '^$' -bench BenchmarkEditDeployment -benchmem -cpu 2
func BenchmarkEditDeployment(b *testing.B) {
	f, p0 := live(b)
	l := &liveFleet
	for _, bc := range []struct {
		name  string
		dep   int
		edit  func(d *immy.Deployment, f *immy.Fleet)
		first bool // every edit from the fresh plan, whose records no edit spliced
	}{
		{"reach=1%/desired", l.sm, toggleDesired, false},
		{"reach=1%/target", l.sm, func(d *immy.Deployment, f *immy.Fleet) {
			d.Target.Filter = immy.FilterWorkstations
		}, false},
		{"reach=all/desired", l.all, toggleDesired, false},
		{"reach=all/desired/first", l.all, toggleDesired, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			fa := f
			fb := *f
			fb.Deployments = slices.Clone(f.Deployments)
			bc.edit(&fb.Deployments[bc.dep], &fb)
			fleets := [2]*immy.Fleet{fa, &fb}
			ch := Changes{Deployments: []string{f.Deployments[bc.dep].ID}}
			ctx := context.Background()
			s := Session{}
			edit := func(p *Planner, plan *Plan, next *immy.Fleet) (*Planner, *Plan, []string, PlanDiff) {
				q, err := p.Update(next, ch)
				if err != nil {
					b.Fatal(err)
				}
				ids, all, err := q.Touched(ctx, p, ch)
				if err != nil {
					b.Fatal(err)
				}
				if plan == nil { // the touched computers' plans before the edit
					if plan, err = p.Replan(ctx, &Plan{Session: s.Kind}, s, ids, all); err != nil {
						b.Fatal(err)
					}
				}
				next2, err := q.Replan(ctx, plan, s, ids, all)
				if err != nil {
					b.Fatal(err)
				}
				return q, next2, ids, Diff(plan, next2)
			}
			p, plan, _, _ := edit(p0, nil, fleets[1])
			p, plan, _, _ = edit(p, plan, fleets[0])
			var fresh *Plan // the plan before any edit, of p0
			if bc.first {
				q, err := p0.Update(fleets[1], ch)
				if err != nil {
					b.Fatal(err)
				}
				ids, all, err := q.Touched(ctx, p0, ch)
				if err != nil {
					b.Fatal(err)
				}
				if fresh, err = p0.Replan(ctx, &Plan{Session: s.Kind}, s, ids, all); err != nil {
					b.Fatal(err)
				}
			}
			touched, changed := 0, 0
			b.ReportAllocs()
			i := 0
			cpu0 := processCPU()
			for b.Loop() {
				i++
				var ids []string
				var d PlanDiff
				if bc.first {
					_, _, ids, d = edit(p0, fresh, fleets[1])
				} else {
					p, plan, ids, d = edit(p, plan, fleets[i%2])
				}
				touched, changed = len(ids), len(d.Computers)
			}
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
			b.ReportMetric(float64(touched), "touched")
			b.ReportMetric(float64(changed), "changed")
		})
	}
}

func toggleDesired(d *immy.Deployment, _ *immy.Fleet) {
	switch {
	case d.Desired == immy.DesiredUninstalled:
		d.Desired = immy.DesiredLatest
	case d.Desired != immy.DesiredUnset:
		d.Desired, d.Version = immy.DesiredUninstalled, immy.Version{}
	case d.Mode == immy.ModeAudit:
		d.Mode = immy.ModeEnforce
	default:
		d.Mode = immy.ModeAudit
	}
}

// BenchmarkInventoryUpdate is one computer's inventory changing (a software
// found gone) and its plan made again: Planner.Update with the computer
// named, then PlanComputer, whose filters run again on it. The inventory
// goes back and forth between two fleets.
//
//	go test ./resolver -run '^$' -bench BenchmarkInventoryUpdate -benchmem -cpu 2
func BenchmarkInventoryUpdate(b *testing.B) {
	f, p0 := live(b)
	c := len(f.Computers) / 3
	for len(f.Computers[c].Software) == 0 {
		c++
	}
	fb := *f
	fb.Computers = slices.Clone(f.Computers)
	fb.Computers[c].Software = fb.Computers[c].Software[1:]
	fleets := [2]*immy.Fleet{f, &fb}
	id := f.Computers[c].ID
	ch := Changes{Computers: []string{id}}
	ctx := context.Background()
	p := p0
	b.ReportAllocs()
	i := 0
	cpu0 := processCPU()
	defer func() { b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op") }()
	for b.Loop() {
		i++
		q, err := p.Update(fleets[i%2], ch)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := q.PlanComputer(ctx, id, Session{}, nil); err != nil {
			b.Fatal(err)
		}
		p = q
	}
}
