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

// editFleets are the generated fleets the edit tests start from.
func editFleets() []*immy.Fleet {
	var out []*immy.Fleet
	for fi := range 4 {
		cfg := immytest.GenConfig{Seed: int64(fi + 11), Tenants: 6, Computers: 80, Persons: 30, Groups: 6, Agreements: 6,
			Software: 20, Tasks: 4, Deployments: 60, Mix: immytest.FilteredMix}
		if fi%2 == 1 {
			cfg.Mix = immytest.DefaultMix
		}
		out = append(out, immytest.Generate(cfg))
	}
	return out
}

// computerPlans plans every computer of p's fleet by PlanComputer, as a
// Plan.
func computerPlans(t *testing.T, p *Planner, s Session) *Plan {
	t.Helper()
	out := &Plan{At: p.at, Session: s.Kind}
	for _, c := range p.sorted {
		cp, err := p.PlanComputer(context.Background(), p.fleet.Computers[c].ID, s, nil)
		require.NoError(t, err)
		out.Computers = append(out.Computers, *cp)
	}
	return out
}

// TestEditEqualsPlanComputer pins Replan's item-only re-rank after an edit
// of deployments (replanEdited) to PlanComputer: over random edits of
// generated fleets, in the three kinds of session, every computer the edit
// touches, planned from its record, has the plan PlanComputer gives it,
// record byte for byte. The records edited come from PlanComputer or the
// whole-fleet Plan, then from the edits before.
func TestEditEqualsPlanComputer(t *testing.T) {
	ctx := context.Background()
	steps := 12
	if testing.Short() {
		steps = 5
	}
	outcomes, noted := map[int]int{}, map[int]int{}
	byGroups := 0
	for fi, base := range editFleets() {
		for si, s := range []Session{{}, {Kind: OnboardingSession},
			{Kind: AdHocSession, Named: []string{base.Deployments[3].Item, base.Deployments[7].ID}}} {
			m := newMutator(uint64(100*fi + si))
			m.switchItems, m.repeat = true, true
			f, p := base, mustPlanner(t, base)
			plan := computerPlans(t, p, s)
			if fi%2 == 1 { // records of the whole-fleet Plan: losers shared by groups
				var err error
				plan, err = p.Plan(ctx, s)
				require.NoError(t, err)
			}
			for step := range steps {
				next, ch, what := m.deployment(f, new(*f))
				if m.r.IntN(3) == 0 { // two at once
					var ch2 Changes
					var w2 string
					next, ch2, w2 = m.deployment(next, new(*next))
					ch, what = ch.Merge(ch2), what+" + "+w2
				}
				name := fmt.Sprintf("fleet %d session %d step %d: %s", fi, si, step, what)
				q, err := p.Update(next, ch)
				if err != nil { // a target that does not compile: refused
					continue
				}
				if _, err := q.compileSession(s); err != nil { // a deployment the session names deleted: another session
					s.Named = []string{next.Deployments[3].Item, next.Deployments[7].ID}
					f, p, plan = next, q, computerPlans(t, q, s)
					continue
				}
				ids, all, err := q.Touched(ctx, p, ch)
				require.NoError(t, err, name)
				require.False(t, all, name)
				if q.edit != nil {
					sel, err := q.selection(ctx)
					require.NoError(t, err, name)
					sf, err := q.compileSession(s)
					require.NoError(t, err, name)
					w := q.newWorker()
					sc := editScratch{layouts: map[*planContext]layout{}}
					scNoted := editScratch{layouts: map[*planContext]layout{}}
					for _, id := range ids {
						c, ok := q.ix.Computer(id)
						old, had := plan.Computer(id)
						if !ok || !had {
							continue
						}
						// from the note of the record's splice alone, where it serves
						var fromNote ComputerPlan
						if noteHow, ok := q.replanNoted(w, &scNoted, sel, c, old, sf, q.layoutOf(old.pc), &fromNote); ok {
							noted[noteHow]++
							want, err := q.PlanComputer(ctx, id, s, nil)
							require.NoError(t, err, name)
							require.Empty(t, cmp.Diff(plainPlan(&Plan{Computers: []ComputerPlan{*want}}), plainPlan(&Plan{Computers: []ComputerPlan{fromNote}}), planCmp),
								"%s: computer %s (outcome %d from its note)", name, id, noteHow)
							if noteHow == editSpliced {
								require.Equal(t, want.rec, fromNote.rec, "%s: computer %s: record from its note", name, id)
								require.Equal(t, [2]uint32{want.nact, want.nlost}, [2]uint32{fromNote.nact, fromNote.nlost}, name)
							}
						}
						var got ComputerPlan
						how, err := q.replanEdited(ctx, w, &sc, sel, c, old, sf, &got)
						require.NoError(t, err, name)
						outcomes[how]++
						if how == editSpliced && sc.scanned {
							byGroups++ // its losers spliced by their groups (spliceLosers)
						}
						if how == editWhole {
							continue
						}
						want, err := q.PlanComputer(ctx, id, s, nil)
						require.NoError(t, err, name)
						if diff := cmp.Diff(plainPlan(&Plan{Computers: []ComputerPlan{*want}}), plainPlan(&Plan{Computers: []ComputerPlan{got}}), planCmp); diff != "" {
							t.Fatalf("%s: computer %s (outcome %d) differs from PlanComputer (-want +got):\n%s", name, id, how, diff)
						}
						if how == editPatched || how == editSpliced {
							require.Equal(t, want.rec, got.rec, "%s: computer %s: record", name, id)
							require.Equal(t, [2]uint32{want.nact, want.nlost}, [2]uint32{got.nact, got.nlost}, name)
						}
					}
				} else {
					outcomes[-1]++ // a deployment created or deleted: planned whole
				}
				got, err := q.Replan(ctx, plan, s, ids, all)
				require.NoError(t, err, name)
				for _, id := range ids {
					cp, ok := got.Computer(id)
					if !ok {
						continue
					}
					want, err := q.PlanComputer(ctx, id, s, nil)
					require.NoError(t, err, name)
					require.Empty(t, cmp.Diff(plainPlan(&Plan{Computers: []ComputerPlan{*want}}), plainPlan(&Plan{Computers: []ComputerPlan{*cp}}), planCmp), name)
				}
				f, p, plan = next, q, got
			}
		}
	}
	t.Logf("outcomes (-1 no edit path, 0 whole, 1 kept, 2 sequenced again, 3 spliced): %v; %d spliced losers by groups; from splice notes: %v", outcomes, byGroups, noted)
	require.Positive(t, outcomes[editKept], "no computer kept its record")
	require.Positive(t, outcomes[editPatched], "no record sequenced again")
	require.Positive(t, outcomes[editSpliced], "no record spliced")
	require.Positive(t, byGroups, "no record's losers spliced by their groups")
}

// TestDiffRecordsEqualsPlain pins Diff's comparison of records
// (diffRecords) to the plain one that spells both plans out (diffComputer):
// over random changes of every kind, the diff of a plan and its Replan, and
// of fresh plans of the two fleets, is the same both ways.
func TestDiffRecordsEqualsPlain(t *testing.T) {
	ctx := context.Background()
	steps := 8
	if testing.Short() {
		steps = 4
	}
	changed, fast, bySpans := 0, 0, 0
	var memo *codeMap
	for fi, base := range editFleets() {
		for seq := range 2 {
			m := newMutator(uint64(7000 + 10*fi + seq))
			f, p := base, mustPlanner(t, base)
			s := Session{}
			plan := computerPlans(t, p, s)
			for step := range steps {
				next, ch, what := m.change(f)
				name := fmt.Sprintf("fleet %d sequence %d step %d: %s", fi, seq, step, what)
				q, err := p.Update(next, ch)
				if err != nil {
					continue
				}
				ids, all, err := q.Touched(ctx, p, ch)
				require.NoError(t, err, name)
				got, err := q.Replan(ctx, plan, s, ids, all)
				require.NoError(t, err, name)
				fresh, err := q.Plan(ctx, s)
				require.NoError(t, err, name)
				for _, pair := range [][2]*Plan{{plan, got}, {got, plan}, {plan, fresh}, {nil, got}, {got, nil}} {
					want, have := diffPlans(pair[0], pair[1], true), diffPlans(pair[0], pair[1], false)
					if diff := cmp.Diff(want, have); diff != "" {
						t.Fatalf("%s: Diff by records differs from the plain one (-plain +records):\n%s", name, diff)
					}
					changed += len(want.Computers)
				}
				for i := range got.Computers {
					cp := &got.Computers[i]
					old, ok := plan.Computer(cp.ID)
					if !ok {
						continue
					}
					if _, ok := diffRecords(old, cp, &memo); ok {
						fast++
					}
					// by place and bytes, where the records allow it
					if cm := codesOf(&memo, old.pc, cp.pc); old.pc != nil && cp.pc != nil && cm.same && sameInventory(old, cp) {
						d := ComputerDiff{ID: cp.ID, WasExcluded: old.Excluded, Excluded: cp.Excluded}
						if new(diffScratch).diffSpans(old, cp, cm, &d) {
							bySpans++
							require.Empty(t, cmp.Diff(diffComputer(old, cp), d), "%s: computer %s", name, cp.ID)
						}
					}
				}
				f, p, plan = next, q, got
			}
		}
	}
	require.Positive(t, changed, "no plan changed")
	require.Positive(t, fast, "no computer diffed by its records")
	require.Positive(t, bySpans, "no computer diffed by the places and bytes of its actions")
}

// TestDiffSpliceEqualsPlain pins Diff's reading of a spliced record
// (diffSplice: only the spans splice replaced) to diffComputer: over random
// edits of deployments, every touched computer whose new record was spliced
// from its old one diffs the same both ways, and whole plans diff the same
// by records and plainly. A record of another plan context (the fresh
// plan's) is never taken for the one spliced from.
func TestDiffSpliceEqualsPlain(t *testing.T) {
	ctx := context.Background()
	steps := 10
	if testing.Short() {
		steps = 5
	}
	spliced, other := 0, 0
	var memo *codeMap
	for fi, base := range editFleets() {
		m := newMutator(uint64(9100 + fi))
		m.switchItems = true
		f, p := base, mustPlanner(t, base)
		s := Session{}
		plan := computerPlans(t, p, s)
		for step := range steps {
			next, ch, what := m.deployment(f, new(*f))
			name := fmt.Sprintf("fleet %d step %d: %s", fi, step, what)
			q, err := p.Update(next, ch)
			if err != nil {
				continue
			}
			ids, all, err := q.Touched(ctx, p, ch)
			require.NoError(t, err, name)
			got, err := q.Replan(ctx, plan, s, ids, all)
			require.NoError(t, err, name)
			require.Empty(t, cmp.Diff(diffPlans(plan, got, true), diffPlans(plan, got, false)), name)
			fresh := computerPlans(t, q, s)
			for _, id := range ids {
				old, ok1 := plan.Computer(id)
				cp, ok2 := got.Computer(id)
				// a record kept from plan keeps the note of its own, earlier splice
				if !ok1 || !ok2 || cp.splice == nil || samePlan(old, cp) {
					continue
				}
				cm := codesOf(&memo, old.pc, cp.pc)
				require.True(t, cm.same && sameInventory(old, cp), "%s: computer %s: spliced from a record of other codes", name, id)
				d := ComputerDiff{ID: cp.ID, WasExcluded: old.Excluded, Excluded: cp.Excluded}
				require.True(t, new(diffScratch).diffSplice(old, cp, &d), "%s: computer %s: its splice note does not fit its old record", name, id)
				require.Empty(t, cmp.Diff(diffComputer(old, cp), d), "%s: computer %s", name, id)
				spliced++
				if fr, ok := fresh.Computer(id); ok {
					require.False(t, new(diffScratch).diffSplice(fr, cp, &ComputerDiff{}), "%s: computer %s: a fresh record taken for the spliced one", name, id)
					other++
				}
			}
			f, p, plan = next, q, got
		}
	}
	t.Logf("%d spliced records diffed, %d fresh records refused", spliced, other)
	require.Positive(t, spliced, "no record spliced")
	require.Positive(t, other, "no fresh record compared")
}
