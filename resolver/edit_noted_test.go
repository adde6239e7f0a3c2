package resolver

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
)

// TestEditNotedEqualsPlanComputer pins Replan after a run of edits of one
// deployment (records spliced from their splice notes, replanNoted) to
// PlanComputer: on the generated fleets, deployments of items the
// sequencer plans alone (the ones whose records splice) are edited several
// times in a row (desired state, priority, target, enabled), each edit
// replanned from the plan the one before made, and every touched
// computer's plan, and record when spliced, is PlanComputer's. A record
// from its note and one from replanEdited are the same, and Diff of the
// plans reads as the plain one.
func TestEditNotedEqualsPlanComputer(t *testing.T) {
	ctx := context.Background()
	noted := map[int]int{}
	for fi, base := range editFleets() {
		p0 := mustPlanner(t, base)
		var picked []int // deployments of items planned alone
		for i := range base.Deployments {
			d := &base.Deployments[i]
			if k, ok := p0.cat.byID[d.Item]; ok && !d.Disabled && aloneItems(p0.cat, []int32{k}) && len(picked) < 4 {
				picked = append(picked, i)
			}
		}
		for _, s := range []Session{{}, {Kind: OnboardingSession}} {
			for _, di := range picked {
				f, p := base, p0
				plan := computerPlans(t, p, s)
				if fi%2 == 1 {
					var err error
					plan, err = p.Plan(ctx, s)
					require.NoError(t, err)
				}
				for step := range 8 {
					next := *f
					next.Deployments = slices.Clone(f.Deployments)
					d := &next.Deployments[di]
					switch step % 4 {
					case 0, 2:
						toggleDesired(d, &next)
					case 1:
						d.Priority = (d.Priority + 1 + step) % 5
					case 3:
						d.Target = f.Deployments[(di+step)%len(f.Deployments)].Target
					}
					if step == 5 {
						d.Disabled = true
					}
					ch := Changes{Deployments: []string{d.ID}}
					name := fmt.Sprintf("fleet %d session %q deployment %s step %d", fi, s.Kind, d.ID, step)
					q, err := p.Update(&next, ch)
					require.NoError(t, err, name)
					require.NotNil(t, q.edit, name)
					ids, all, err := q.Touched(ctx, p, ch)
					require.NoError(t, err, name)
					require.False(t, all, name)
					sel, err := q.selection(ctx)
					require.NoError(t, err, name)
					sf, err := q.compileSession(s)
					require.NoError(t, err, name)
					w := q.newWorker()
					sc, sc2 := editScratch{layouts: map[*planContext]layout{}}, editScratch{layouts: map[*planContext]layout{}}
					for _, id := range ids {
						c, _ := q.ix.Computer(id)
						old, ok := plan.Computer(id)
						if !ok {
							continue
						}
						var got, whole ComputerPlan
						how, ok := q.replanNoted(w, &sc, sel, c, old, sf, q.layoutOf(old.pc), &got)
						if !ok {
							continue
						}
						noted[how]++
						want, err := q.PlanComputer(ctx, id, s, nil)
						require.NoError(t, err, name)
						require.Empty(t, cmp.Diff(plainPlan(&Plan{Computers: []ComputerPlan{*want}}), plainPlan(&Plan{Computers: []ComputerPlan{got}}), planCmp), "%s: computer %s", name, id)
						if how == editSpliced {
							require.Equal(t, want.rec, got.rec, "%s: computer %s: record", name, id)
							require.Equal(t, [2]uint32{want.nact, want.nlost}, [2]uint32{got.nact, got.nlost}, name)
							// the note of the new record places what the next edit reads
							for _, ns := range got.splice.spans {
								require.GreaterOrEqual(t, ns.lossAt, got.splice.newEnd, name)
							}
						}
						// replanEdited takes the same path, with the same result
						how2, err := q.replanEdited(ctx, w, &sc2, sel, c, old, sf, &whole)
						require.NoError(t, err, name)
						require.Equal(t, how, how2, name)
						require.Equal(t, got.rec, whole.rec, name)
					}
					got, err := q.Replan(ctx, plan, s, ids, all)
					require.NoError(t, err, name)
					require.Empty(t, cmp.Diff(diffPlans(plan, got, true), diffPlans(plan, got, false)), name)
					f, p, plan = &next, q, got
				}
			}
		}
	}
	t.Logf("outcomes from splice notes (1 kept, 3 spliced): %v", noted)
	require.Positive(t, noted[editSpliced], "no record spliced from its splice note")
	require.Positive(t, noted[editKept], "no record kept by its splice note")
}
