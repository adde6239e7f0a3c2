package resolver

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
)

// TestDiffPartsEqualsWhole pins the diff of a large plan in parts (over
// goroutines, by ranges of ids) to the diff of it in one pass: parts of a
// few computers over the generated fleets' plans and their Replans after
// random changes, each way and against no plan.
func TestDiffPartsEqualsWhole(t *testing.T) {
	ctx := context.Background()
	defer func(n int) { diffPart = n }(diffPart)
	parted := 0
	for fi, base := range editFleets() {
		m := newMutator(uint64(5300 + fi))
		f, p := base, mustPlanner(t, base)
		plan, err := p.Plan(ctx, Session{})
		require.NoError(t, err)
		for step := range 4 {
			next, ch, what := m.change(f)
			q, err := p.Update(next, ch)
			if err != nil {
				continue
			}
			ids, all, err := q.Touched(ctx, p, ch)
			require.NoError(t, err)
			got, err := q.Replan(ctx, plan, Session{}, ids, all)
			require.NoError(t, err)
			for _, part := range []int{1, 3, 7, 40} {
				diffPart = part
				for _, pair := range [][2]*Plan{{plan, got}, {got, plan}, {nil, got}, {plan, nil}} {
					whole := PlanDiff{Computers: diffRange(sortedPlans(computersOf(pair[0])), sortedPlans(computersOf(pair[1])), false, nil)}
					require.Empty(t, cmp.Diff(whole, diffPlans(pair[0], pair[1], false)), "fleet %d step %d (%s), parts of %d", fi, step, what, part)
					parted++
				}
			}
			f, p, plan = next, q, got
		}
	}
	require.Positive(t, parted)
}

func computersOf(p *Plan) []ComputerPlan {
	if p == nil {
		return nil
	}
	return p.Computers
}
