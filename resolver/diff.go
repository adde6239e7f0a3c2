package resolver

import (
	"cmp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// PlanDiff is what changes between two plans of a fleet: the what-if of an
// edit. Diff makes it.
type PlanDiff struct {
	// Computers are the computers whose plan changed, sorted by id.
	Computers []ComputerDiff `json:"computers"`
}

// Empty reports whether the two plans are the same.
func (d PlanDiff) Empty() bool { return len(d.Computers) == 0 }

// ComputerDiff is how one computer's plan changed.
type ComputerDiff struct {
	ID string `json:"id"`
	// Added: the computer is only in the new plan; Removed: only in the old.
	Added   bool `json:"added,omitempty"`
	Removed bool `json:"removed,omitempty"`
	// WasExcluded and Excluded tell whether the computer was excluded from
	// maintenance in the old plan and is in the new one.
	WasExcluded bool `json:"was_excluded,omitempty"`
	Excluded    bool `json:"excluded,omitempty"`
	// Decisions are the decisions whose winner or desired state changed,
	// sorted by item.
	Decisions []DecisionDiff `json:"decisions,omitempty"`
	// Actions are the actions added, removed or changed, sorted by item.
	Actions []ActionDiff `json:"actions,omitempty"`
}

// DecisionDiff is a decision whose winner (or the winner's desired state)
// changed. A winner is "" in the plan where the item had no decision.
type DecisionDiff struct {
	Item       string `json:"item"`
	OldWinner  string `json:"old_winner"`
	NewWinner  string `json:"new_winner"`
	OldDesired string `json:"old_desired,omitempty"`
	NewDesired string `json:"new_desired,omitempty"`
}

// Kinds of change of an action.
const (
	ActionAdded   = "added"
	ActionRemoved = "removed"
	ActionChanged = "changed"
)

// ActionDiff is an action added (Old nil), removed (New nil) or changed:
// another action, version, deployment or reason for the same item. A change
// of place alone in the order of the session is not reported.
type ActionDiff struct {
	Item   string  `json:"item"`
	Change string  `json:"change"` // ActionAdded, ActionRemoved or ActionChanged
	Old    *Action `json:"old,omitempty"`
	New    *Action `json:"new,omitempty"`
}

// Diff returns what changes from the plan old to the plan new, computer by
// computer; a nil plan has no computers. The result is deterministic: the
// same plans give the same diff.
func Diff(old, new *Plan) PlanDiff { return diffPlans(old, new, false) }

// diffPlans is Diff; plain spells out every computer that differs whole
// (diffComputer) instead of comparing records (diffRecords), for the test
// that pins the one to the other. Large plans are diffed in parts, by
// ranges of ids, over GOMAXPROCS goroutines; the parts' diffs are joined in
// order.
func diffPlans(old, new *Plan, plain bool) PlanDiff {
	var a, b []ComputerPlan
	if old != nil {
		a = old.Computers
	}
	if new != nil {
		b = new.Computers
	}
	a, b = sortedPlans(a), sortedPlans(b)
	workers := runtime.GOMAXPROCS(0)
	if workers == 1 || len(a)+len(b) < 2*diffPart {
		return PlanDiff{Computers: diffRange(a, b, plain, nil)}
	}
	// parts of about diffPart computers, cut at ids of the longer plan
	cut := b
	if len(a) > len(b) {
		cut = a
	}
	nparts := (len(cut) + diffPart - 1) / diffPart
	type part struct {
		a, b []ComputerPlan
		out  []ComputerDiff
	}
	parts := make([]part, nparts)
	ia, ib := 0, 0
	for k := range parts {
		ja, jb := len(a), len(b)
		if k+1 < nparts {
			id := cut[(k+1)*len(cut)/nparts].ID
			ja = ia + sort.Search(len(a)-ia, func(i int) bool { return a[ia+i].ID >= id })
			jb = ib + sort.Search(len(b)-ib, func(i int) bool { return b[ib+i].ID >= id })
		}
		parts[k] = part{a: a[ia:ja], b: b[ib:jb]}
		ia, ib = ja, jb
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, nparts) {
		wg.Go(func() {
			for {
				k := int(next.Add(1)) - 1
				if k >= nparts {
					return
				}
				pt := &parts[k]
				pt.out = diffRange(pt.a, pt.b, plain, nil)
			}
		})
	}
	wg.Wait()
	n := 0
	for k := range parts {
		n += len(parts[k].out)
	}
	if n == 0 {
		return PlanDiff{}
	}
	out := make([]ComputerDiff, 0, n)
	for k := range parts {
		out = append(out, parts[k].out...)
	}
	return PlanDiff{Computers: out}
}

// diffPart is about how many computers one part of a large Diff holds (a
// variable for the test that diffs small plans in parts).
var diffPart = 2048

// diffRange appends to out the diffs of the computers of a and b, both
// sorted by id.
func diffRange(a, b []ComputerPlan, plain bool, out []ComputerDiff) []ComputerDiff {
	var memo *codeMap // diffRecords': of the pair of plan contexts last met
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		var d ComputerDiff
		switch {
		case j == len(b) || (i < len(a) && a[i].ID < b[j].ID):
			d = diffComputer(&a[i], nil)
			i++
		case i == len(a) || b[j].ID < a[i].ID:
			d = diffComputer(nil, &b[j])
			j++
		case samePlan(&a[i], &b[j]): // one plan, shared (update.go)
			i, j = i+1, j+1
			continue
		default:
			ok := false
			if !plain {
				d, ok = diffRecords(&a[i], &b[j], &memo)
			}
			if !ok {
				d = diffComputer(&a[i], &b[j])
			}
			i, j = i+1, j+1
		}
		if d.Added || d.Removed || d.WasExcluded != d.Excluded || len(d.Decisions) > 0 || len(d.Actions) > 0 {
			out = append(out, d)
		}
	}
	return out
}

// sortedPlans returns ps sorted by id (a Plan's are; a hand-made one may not be).
func sortedPlans(ps []ComputerPlan) []ComputerPlan {
	if slices.IsSortedFunc(ps, func(x, y ComputerPlan) int { return cmp.Compare(x.ID, y.ID) }) {
		return ps
	}
	ps = slices.Clone(ps)
	slices.SortStableFunc(ps, func(x, y ComputerPlan) int { return cmp.Compare(x.ID, y.ID) })
	return ps
}

func diffComputer(a, b *ComputerPlan) ComputerDiff {
	var d ComputerDiff
	var oldDec, newDec []Decision
	var oldAct, newAct []Action
	if a != nil {
		d.ID, d.WasExcluded = a.ID, a.Excluded
		oldDec, oldAct = a.Decisions(), a.Actions()
	} else {
		d.Added = true
	}
	if b != nil {
		d.ID, d.Excluded = b.ID, b.Excluded
		newDec, newAct = b.Decisions(), b.Actions()
	} else {
		d.Removed = true
	}
	d.Decisions = diffDecisions(oldDec, newDec)
	if !slices.Equal(oldAct, newAct) { // the same actions in the same order differ in nothing
		d.Actions = diffActions(oldAct, newAct)
	}
	return d
}

func diffDecisions(a, b []Decision) []DecisionDiff {
	byItem := func(x, y Decision) int { return cmp.Compare(x.Item, y.Item) }
	for _, ds := range []*[]Decision{&a, &b} { // a plan's are sorted: copied only when not
		if !slices.IsSortedFunc(*ds, byItem) {
			*ds = slices.Clone(*ds)
			slices.SortStableFunc(*ds, byItem)
		}
	}
	var out []DecisionDiff
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || (i < len(a) && a[i].Item < b[j].Item):
			out = append(out, DecisionDiff{Item: a[i].Item, OldWinner: a[i].Winner, OldDesired: a[i].Desired})
			i++
		case i == len(a) || b[j].Item < a[i].Item:
			out = append(out, DecisionDiff{Item: b[j].Item, NewWinner: b[j].Winner, NewDesired: b[j].Desired})
			j++
		default:
			if a[i].Winner != b[j].Winner || a[i].Desired != b[j].Desired {
				out = append(out, DecisionDiff{Item: a[i].Item, OldWinner: a[i].Winner, NewWinner: b[j].Winner,
					OldDesired: a[i].Desired, NewDesired: b[j].Desired})
			}
			i, j = i+1, j+1
		}
	}
	return out
}

// keyedAction is an action with its item's occurrence among the actions of
// the same item (a session plans an item once; the count keeps a diff exact
// if it did not).
type keyedAction struct {
	a   Action
	occ int
}

func keyed(as []Action) []keyedAction {
	// Sorted by item, then place: an item's occurrences are numbered in
	// order. The keys are distinct, so positions are sorted (not the
	// actions, which are large) without a stable sort.
	order := make([]int32, len(as))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(x, y int32) int {
		return cmp.Or(strings.Compare(as[x].Item, as[y].Item), cmp.Compare(x, y))
	})
	out := make([]keyedAction, len(as))
	for k, i := range order {
		occ := 0
		if k > 0 && out[k-1].a.Item == as[i].Item {
			occ = out[k-1].occ + 1
		}
		out[k] = keyedAction{as[i], occ}
	}
	return out
}

func diffActions(old, new []Action) []ActionDiff {
	a, b := keyed(old), keyed(new)
	less := func(x, y keyedAction) bool {
		return x.a.Item < y.a.Item || (x.a.Item == y.a.Item && x.occ < y.occ)
	}
	var out []ActionDiff
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || (i < len(a) && less(a[i], b[j])):
			out = append(out, ActionDiff{Item: a[i].a.Item, Change: ActionRemoved, Old: &a[i].a})
			i++
		case i == len(a) || less(b[j], a[i]):
			out = append(out, ActionDiff{Item: b[j].a.Item, Change: ActionAdded, New: &b[j].a})
			j++
		default:
			if a[i].a != b[j].a {
				out = append(out, ActionDiff{Item: a[i].a.Item, Change: ActionChanged, Old: &a[i].a, New: &b[j].a})
			}
			i, j = i+1, j+1
		}
	}
	return out
}
