package resolver

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/immytest"
)

// plainDecisions is Decisions the plain way: every action decoded whole
// (decode), those with a deployment sorted by item (decisionsOf), each with
// its losers (merged by item by decode).
func plainDecisions(c *ComputerPlan) []Decision {
	if c.pc == nil {
		return nil
	}
	acts, losers := c.decode(nil, nil)
	out := []Decision{}
	for _, k := range decisionsOf(acts, nil) {
		a := &acts[k]
		w := &c.pc.deps[a.dep]
		d := Decision{Item: c.pc.cat.items[a.item].id, Winner: w.ID, Desired: desiredText(w), Deployment: w}
		for _, l := range losers {
			if l.item == a.item {
				d.Candidates = append(d.Candidates, Lost{Deployment: c.pc.deps[l.dep].ID, LostOn: l.rule})
			}
		}
		out = append(out, d)
	}
	return out
}

// plainActions is Actions the plain way: every action decoded whole, then
// spelled by publicAction, detected_from worked out for every action
// detected from the inventory.
func plainActions(c *ComputerPlan) []Action {
	if c.pc == nil {
		return nil
	}
	acts, _ := c.decode(nil, nil)
	out := []Action{}
	for i := range acts {
		a := &acts[i]
		pa := c.pc.cat.publicAction(c.pc.deps, a)
		if a.detected != nil && a.dref&3 == refEntry {
			if ch := c.pc.cat.detectedFrom(a.item, c.pc.fleet.Computers[c.comp].Software); ch != "" {
				pa.DetectedFrom = ch
			}
		}
		out = append(out, pa)
	}
	return out
}

// TestReadAsPlain pins the reader's shortcuts (skim for decisions, actions
// spelled field by field into the slice returned) to the plain path, on
// generated fleets of both shapes in every kind of session and on computers
// planned from a State: the same actions and decisions, and skim reading
// each action's item and deployment as next does, to the same byte.
func TestReadAsPlain(t *testing.T) {
	ctx := context.Background()
	var plans []*Plan
	for k, cfg := range []immytest.GenConfig{immytest.FleetScale(20_000), immytest.FleetScaleUniform(20_000)} {
		cfg.Computers, cfg.Seed = 250, int64(10+k)
		f := immytest.Generate(cfg)
		p := newPlanner(t, f, Config{})
		adhoc := Session{Kind: AdHocSession}
		for i, it := range p.cat.items {
			if i%3 == 0 {
				adhoc.Named = append(adhoc.Named, it.id)
			}
		}
		for _, s := range []Session{{}, {Kind: OnboardingSession}, adhoc} {
			plan, err := p.Plan(ctx, s)
			require.NoError(t, err)
			plans = append(plans, plan)
		}
		st := fakeState{sw: map[string]SoftwareState{}, tasks: map[string]Test{}}
		for i, it := range p.cat.items {
			switch {
			case it.sw != nil && i%3 == 0:
				st.sw[it.id] = SoftwareState{Present: true, Version: immy.MustParseVersion(fmt.Sprintf("%d.%d", i%5, i))}
			case it.sw != nil && i%3 == 1:
				st.sw[it.id] = SoftwareState{Present: true, Test: TestFailed}
			case it.task != nil:
				st.tasks[it.id] = Test(i % 3)
			}
		}
		withState := &Plan{}
		for _, c := range f.Computers[:30] {
			cp, err := p.PlanComputer(ctx, c.ID, Session{}, st)
			require.NoError(t, err)
			withState.Computers = append(withState.Computers, *cp)
		}
		plans = append(plans, withState)
	}
	actions, decisions, long := 0, 0, 0
	for _, plan := range plans {
		for i := range plan.Computers {
			c := &plan.Computers[i]
			if diff := cmp.Diff(plainActions(c), c.Actions()); diff != "" {
				t.Fatalf("%s: Actions (-plain +read):\n%s", c.ID, diff)
			}
			if diff := cmp.Diff(plainDecisions(c), c.Decisions(), cmp.Comparer(func(a, b *immy.Deployment) bool { return a == b })); diff != "" {
				t.Fatalf("%s: Decisions (-plain +read):\n%s", c.ID, diff)
			}
			if c.pc == nil {
				continue
			}
			dn, ds := decoder{c: c, buf: c.rec}, decoder{c: c, buf: c.rec}
			for range c.nact {
				if dn.buf[0]&3 == 0 {
					long++
				}
				a := dn.next(false)
				item, dep := ds.skim()
				require.Equal(t, [2]int32{a.item, a.dep}, [2]int32{item, dep}, c.ID)
				require.Equal(t, len(dn.buf), len(ds.buf), c.ID)
				actions++
				if dep >= 0 {
					decisions++
				}
			}
		}
	}
	require.Positive(t, long, "the plans must have actions of the long form")
	t.Logf("%d actions, %d decisions, %d of the long form", actions, decisions, long)
}
