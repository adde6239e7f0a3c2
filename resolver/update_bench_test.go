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

// liveFleet is the state the update benchmarks start from: FleetScale(100_000),
// its planner, and the whole fleet's plan (made once: its filters run on
// every computer, which takes minutes; both benchmarks share it).
var liveFleet struct {
	once    sync.Once
	f       *immy.Fleet
	p       *Planner
	plan    *Plan
	all, sm int // a deployment reaching every computer, one reaching about 1%
	err     error

	planOnce sync.Once
	planErr  error
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
		for i := range f.Deployments {
			d := &f.Deployments[i]
			if d.Target.Type == immy.TargetFilter || d.Disabled || d.Target.Category == immy.CategoryTenant {
				continue
			}
			cs, err := m.Resolve(context.Background(), i)
			if err != nil {
				continue
			}
			if n := len(cs); n > best && d.Target.Type == immy.TargetAllComputers {
				l.all, best = i, n
			}
			if n := len(cs); l.sm < 0 && n >= len(f.Computers)/100 && n <= len(f.Computers)/50 {
				l.sm = i
			}
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

// livePlan is the whole plan of liveFleet, made once.
func livePlan(b *testing.B) (*immy.Fleet, *Planner, *Plan) {
	f, p := live(b)
	l := &liveFleet
	l.planOnce.Do(func() { l.plan, l.planErr = p.Plan(context.Background(), Session{}) })
	if l.planErr != nil {
		b.Fatal(l.planErr)
	}
	return f, p, l.plan
}

var errNoBenchDeployment = immy.ErrNotFound

// BenchmarkEditDeployment is the what-if of an admin's edit: one
// deployment's desired state (or its target) changes, the planner is
// updated (Planner.Update), the computers it touches are found (Touched)
// and planned again (Replan, every other computer's plan shared), and the
// diff of the fleet's plan is made (Diff). The edit goes back and forth
// between two fleets, each the other with that one deployment changed.
// reach=1% edits a deployment whose target reaches 1 to 2% of the fleet,
// reach=all one reaching every computer.
//
//	go test ./resolver -run '^$' -bench BenchmarkEditDeployment -benchmem -cpu 2
func BenchmarkEditDeployment(b *testing.B) {
	f, p0, plan0 := livePlan(b)
	l := &liveFleet
	for _, bc := range []struct {
		name string
		dep  int
		edit func(d *immy.Deployment, f *immy.Fleet)
	}{
		{"reach=1%/desired", l.sm, toggleDesired},
		{"reach=1%/target", l.sm, func(d *immy.Deployment, f *immy.Fleet) {
			// another tag or tenant of the same reach: its tenant's sibling
			d.Target.Filter = immy.FilterWorkstations
		}},
		{"reach=all/desired", l.all, toggleDesired},
	} {
		b.Run(bc.name, func(b *testing.B) {
			fa := f
			fb := *f
			fb.Deployments = slices.Clone(f.Deployments)
			bc.edit(&fb.Deployments[bc.dep], &fb)
			fleets := [2]*immy.Fleet{fa, &fb}
			ch := Changes{Deployments: []string{f.Deployments[bc.dep].ID}}
			ctx := context.Background()
			p, plan := p0, plan0
			touched, changed := 0, 0
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				q, err := p.Update(fleets[i%2], ch)
				if err != nil {
					b.Fatal(err)
				}
				ids, all, err := q.Touched(ctx, p, ch)
				if err != nil {
					b.Fatal(err)
				}
				next, err := q.Replan(ctx, plan, Session{}, ids, all)
				if err != nil {
					b.Fatal(err)
				}
				d := Diff(plan, next)
				touched, changed = len(ids), len(d.Computers)
				p, plan = q, next
			}
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
