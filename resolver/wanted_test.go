package resolver

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/immytest"
)

// failingFilters gives some of f's deployments filters that fail on the
// computers with few tags (an index out of range), and some of those an
// enforcement or a state that makes them candidates nowhere, or only where
// approved: the filters a planner may leave unevaluated, beside ones it
// must evaluate to hold their items. f is changed in place.
func failingFilters(f *immy.Fleet, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 23))
	filters := []immy.Target{
		{Type: immy.TargetFilter, Expr: `computer.tags[1] != "nope"`},
		{Type: immy.TargetFilter, Lua: `return computer.tags[2]:upper() ~= "NOPE"`},
		{Type: immy.TargetFilter, Expr: `computer.kind == "server" || computer.tags[0] == "x"`},
	}
	for i := range f.Deployments {
		d := &f.Deployments[i]
		if d.Target.Type != immy.TargetAllComputers || r.IntN(3) > 0 {
			continue
		}
		d.Target = filters[r.IntN(len(filters))]
		switch r.IntN(5) {
		case 0:
			d.Disabled = true
		case 1:
			d.Enforcement, d.ApprovedFor = immy.EnforcementAdHoc, nil
		case 2:
			d.Enforcement, d.ApprovedFor = immy.EnforcementOnboardingOnly, nil
		case 3:
			d.Enforcement, d.ApprovedFor = immy.EnforcementOptional, nil
			for range 1 + r.IntN(8) {
				d.ApprovedFor = append(d.ApprovedFor, f.Computers[r.IntN(len(f.Computers))].ID)
			}
		}
	}
}

// TestWantedEqualsPlain pins the planner's wanted deployments (wanted.go)
// to the plain path: over generated, contested fleets with failing filters
// and every kind of session, a planner that asks the matcher only for the
// deployments that can be candidates plans every computer as one that asks
// for every deployment, whole fleet and alone, problems included; it did
// leave some filters out, and the failing ones it evaluated held items.
func TestWantedEqualsPlain(t *testing.T) {
	ctx := context.Background()
	var left, held int
	for fi := range 8 {
		cfg := immytest.GenConfig{Seed: int64(fi + 100), Tenants: 4 + fi%5, Computers: 60, Persons: 20, Groups: 6, Agreements: 6,
			Software: 16, Tasks: 4, Deployments: 60, Mix: immytest.DefaultMix}
		if fi%2 == 1 {
			cfg.Mix = immytest.FilteredMix
		}
		f := contested(immytest.Generate(cfg), uint64(fi))
		failingFilters(f, uint64(fi))
		wanted, err := freshPlanner(f)
		require.NoError(t, err)
		plain, err := freshPlanner(f)
		require.NoError(t, err)
		plain.wantAll = true

		adhoc := Session{Kind: AdHocSession}
		for i, it := range wanted.cat.items {
			if i%3 == fi%3 {
				adhoc.Named = append(adhoc.Named, it.id)
			}
		}
		for i, d := range f.Deployments {
			if d.Enforcement == immy.EnforcementAdHoc && i%2 == 0 {
				adhoc.Named = append(adhoc.Named, d.ID)
			}
		}
		for _, s := range []Session{{}, {Kind: OnboardingSession}, adhoc} {
			what := fmt.Sprintf("fleet %d, %s session", fi, s.Kind)
			sf, err := wanted.compileSession(s)
			require.NoError(t, err)
			for di := range wanted.table {
				if wanted.table[di].Target.Type == immy.TargetFilter && !sf.want.Has(di) {
					left++
				}
			}
			got, err := wanted.Plan(ctx, s)
			require.NoError(t, err, what)
			want, err := plain.Plan(ctx, s)
			require.NoError(t, err, what)
			require.Empty(t, planDiff(plainPlan(want), plainPlan(got)), "%s: plain Plan (-) and with wanted deployments (+)", what)
			for i := range want.Computers {
				id := want.Computers[i].ID
				held += len(want.Computers[i].Problems())
				alone, err := wanted.PlanComputer(ctx, id, s, nil)
				require.NoError(t, err, what)
				plainAlone, err := plain.PlanComputer(ctx, id, s, nil)
				require.NoError(t, err, what)
				require.Empty(t, planDiff(plainPlan(&Plan{Computers: []ComputerPlan{*plainAlone}}), plainPlan(&Plan{Computers: []ComputerPlan{*alone}})),
					"%s: computer %s: plain PlanComputer (-) and with wanted deployments (+)", what, id)
			}
		}
	}
	require.Positive(t, left, "no filter deployment was left out")
	require.Positive(t, held, "no failing filter held an item")
}

// TestWantedHoldsEveryCandidate: whatever the session and the computer, a
// deployment that is a candidate there (isCandidate) is one the matcher is
// asked for (wantedOn); one it is not asked for is a candidate nowhere.
func TestWantedHoldsEveryCandidate(t *testing.T) {
	cfg := immytest.GenConfig{Seed: 7, Tenants: 8, Computers: 80, Persons: 20, Groups: 6, Agreements: 6,
		Software: 16, Tasks: 6, Deployments: 120, Mix: immytest.FilteredMix}
	f := contested(immytest.Generate(cfg), 7)
	failingFilters(f, 7)
	p, err := freshPlanner(f)
	require.NoError(t, err)
	adhoc := Session{Kind: AdHocSession}
	for i, it := range p.cat.items {
		if i%4 == 0 {
			adhoc.Named = append(adhoc.Named, it.id)
		}
	}
	w := p.newWorker()
	var candidates, notWanted int
	for _, s := range []Session{{}, {Kind: OnboardingSession}, adhoc} {
		sf, err := p.compileSession(s)
		require.NoError(t, err)
		for c := range f.Computers {
			ct, hasTenant := p.ix.ComputerTenant(c)
			want := p.wantedOn(w, c, ct, hasTenant, sf)
			for di := range p.table {
				isCand := p.deps[di].item >= 0 && p.isCandidate(di, c, ct, hasTenant, sf)
				if isCand {
					candidates++
					require.True(t, want.Has(di), "%s session, computer %s: candidate %s not wanted", s.Kind, f.Computers[c].ID, p.table[di].ID)
				}
				if !want.Has(di) {
					notWanted++
				}
			}
		}
	}
	require.Positive(t, candidates)
	require.Positive(t, notWanted)
}
