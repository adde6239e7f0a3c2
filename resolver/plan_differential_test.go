package resolver

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/immytest"
)

// contested makes a generated fleet contest its items harder than an MSP's
// fleet does, so that the rules of the ranking meet on one computer: some
// deployments become optional, approved for a few computers (candidates that
// differ within one matcher group), others get a priority or propagate to
// the children of their tenant, and some items get another deployment on all
// computers of a tenant, propagated or not (candidates at several tenant
// distances). It returns the changed fleet; f is not modified.
func contested(f *immy.Fleet, seed uint64) *immy.Fleet {
	r := rand.New(rand.NewPCG(seed, 7))
	next := *f
	// a deeper tenant tree: a tenant's parent comes before it
	ts := slices.Clone(f.Tenants)
	parent := map[string]bool{}
	for i := range ts {
		if i >= 2 && ts[i].Parent == "" && r.IntN(2) == 0 {
			ts[i].Parent = ts[1+r.IntN(i-1)].ID
		}
		if ts[i].Parent != "" {
			parent[ts[i].Parent] = true
		}
	}
	next.Tenants = ts
	owned := map[string]bool{} // items private to a tenant: their targets stay
	for _, s := range f.Software {
		if s.Tenant != "" {
			owned[s.ID] = true
		}
	}
	for _, t := range f.Tasks {
		if t.Tenant != "" || t.Category == immy.TaskTenant {
			owned[t.ID] = true
		}
	}
	approve := func(d *immy.Deployment) {
		d.Enforcement, d.ApprovedFor = immy.EnforcementOptional, nil
		for range 1 + r.IntN(len(f.Computers)/2) {
			if id := f.Computers[r.IntN(len(f.Computers))].ID; !slices.Contains(d.ApprovedFor, id) {
				d.ApprovedFor = append(d.ApprovedFor, id)
			}
		}
	}
	ds := slices.Clone(f.Deployments)
	for i := range ds {
		d := &ds[i]
		if r.IntN(3) == 0 {
			d.Priority = r.IntN(10)
		}
		if r.IntN(4) == 0 {
			approve(d)
		}
		if owned[d.Item] {
			continue
		}
		if d.Target.Tenant != "" && parent[d.Target.Tenant] && r.IntN(2) == 0 {
			d.Target.PropagateToChildren = true
		}
		for k := range r.IntN(3) { // rivals on all computers of a tenant
			n := *d
			n.ID = fmt.Sprintf("%s-rival-%d", d.ID, k)
			t := ts[r.IntN(len(ts))]
			n.Target = immy.Target{Type: immy.TargetAllComputers, Tenant: t.ID, PropagateToChildren: parent[t.ID] && r.IntN(3) > 0}
			n.Priority = r.IntN(10)
			n.Enforcement, n.ApprovedFor = immy.EnforcementRequired, nil
			if r.IntN(2) == 0 {
				approve(&n)
			}
			ds = append(ds, n)
		}
	}
	next.Deployments = ds
	return &next
}

// TestPlanEqualsPlanComputer is the differential test of the planner's
// paths: over generated, contested fleets and every kind of session, the
// whole-fleet Plan (decisions shared by a matcher group, the computer's own
// candidates merged in) gives every computer the plan PlanComputer gives it
// alone (every candidate ranked afresh), actions, decisions and losers with
// their rules; and a planner that ranks with the comparator instead of rank
// keys plans the same, whole fleet and alone.
func TestPlanEqualsPlanComputer(t *testing.T) {
	fleets := 12
	if os.Getenv("IMMY_TEST_LONG") != "" {
		fleets = 600
	}
	// what the plans decided: the fleets must contest items on the rules
	// where the paths differ
	var seen contests
	for fi := range fleets {
		t.Run(fmt.Sprintf("fleet=%d", fi), func(t *testing.T) { planEqualsPlanComputer(t, fi, &seen) })
	}
	require.Positive(t, seen.lost[RuleTenantDistance], "no candidate lost on tenant distance")
	require.Positive(t, seen.lost[RulePriority], "no candidate lost on priority")
	require.Positive(t, seen.optional, "no optional deployment won over another candidate")
}

// contests counts what the plans of TestPlanEqualsPlanComputer decided.
type contests struct {
	lost     [RuleID + 1]int // losers by rule
	optional int             // decisions an optional deployment won over another
}

func (c *contests) add(ds []Decision) {
	for _, d := range ds {
		for _, l := range d.Candidates {
			c.lost[l.LostOn]++
		}
		if len(d.Candidates) > 0 && d.Deployment.Enforcement == immy.EnforcementOptional {
			c.optional++
		}
	}
}

func planEqualsPlanComputer(t *testing.T, fi int, seen *contests) {
	ctx := context.Background()
	cfg := immytest.GenConfig{Seed: int64(fi + 1), Tenants: 6 + fi%7, Computers: 60, Persons: 20, Groups: 6, Agreements: 6,
		Software: 16, Tasks: 4, Deployments: 50, Mix: immytest.DefaultMix}
	if fi%2 == 1 {
		cfg.Mix = immytest.FilteredMix
	}
	f := contested(immytest.Generate(cfg), uint64(fi))
	keyed, err := freshPlanner(f)
	require.NoError(t, err, "fleet %d", fi)
	require.True(t, keyed.keyed)
	compared, err := NewPlanner(keyed.ix, keyed.cat, Config{Ranking: RankingFunc(DefaultRanking.Compare)})
	require.NoError(t, err)
	require.False(t, compared.keyed)

	adhoc := Session{Kind: AdHocSession}
	for i, it := range keyed.cat.items {
		if i%3 == fi%3 {
			adhoc.Named = append(adhoc.Named, it.id)
		}
	}
	for _, d := range f.Deployments {
		if d.Enforcement == immy.EnforcementAdHoc {
			adhoc.Named = append(adhoc.Named, d.ID)
		}
	}
	for _, s := range []Session{{}, {Kind: OnboardingSession}, adhoc} {
		what := fmt.Sprintf("fleet %d, %s session", fi, s.Kind)
		plan, err := keyed.Plan(ctx, s)
		require.NoError(t, err, what)
		slow, err := compared.Plan(ctx, s)
		require.NoError(t, err, what)
		require.Empty(t, planDiff(plainPlan(plan), plainPlan(slow)), "%s: Plan by key (-) and by comparator (+)", what)
		for i := range plan.Computers {
			in := &plan.Computers[i]
			seen.add(in.Decisions())
			for _, p := range []*Planner{keyed, compared} {
				alone, err := p.PlanComputer(ctx, in.ID, s, nil)
				require.NoError(t, err, what)
				if diff := planDiff(plainPlan(&Plan{Computers: []ComputerPlan{*in}}), plainPlan(&Plan{Computers: []ComputerPlan{*alone}})); diff != "" {
					t.Fatalf("%s, keyed %t: computer %s in the whole-fleet Plan (-) and PlanComputer (+):\n%s", what, p.keyed, in.ID, diff)
				}
			}
		}
	}
}

// planDiff is cmp.Diff with planCmp, quick where the plans are deeply equal
// (the comparers of planCmp only loosen deep equality): the race detector
// makes cmp slow.
func planDiff(a, b []plainComputer) string {
	if reflect.DeepEqual(a, b) {
		return ""
	}
	return cmp.Diff(a, b, planCmp)
}
