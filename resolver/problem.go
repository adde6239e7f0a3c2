package resolver

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/targets"
)

// ProblemKind is what kind of Problem held or refused part of a computer's
// plan.
type ProblemKind uint8

// Values of ProblemKind.
const (
	// ProblemFilterError: a deployment's filter failed at run time on the
	// computer. The deployment's item is held there: no deployment of it
	// wins, so that a lower-ranked one cannot take over (an "uninstalled"
	// whose filter fails must not let a "latest" install).
	ProblemFilterError ProblemKind = iota + 1
	// ProblemPrivateItem: an item private to another tenant (or to any
	// tenant, where the computer's tenant is not known) was named as a
	// prerequisite or configuration task, or decided for the computer. It is
	// refused: no action of it is planned; a software whose prerequisite
	// rules name it fails (reason prerequisite-private:ITEM), and a
	// configuration task is left out.
	ProblemPrivateItem
)

var problemKindNames = [...]string{"", "filter-error", "private-item"}

// String returns the kind in kebab case: filter-error, private-item.
func (k ProblemKind) String() string {
	if int(k) < len(problemKindNames) && k > 0 {
		return problemKindNames[k]
	}
	return fmt.Sprintf("problem(%d)", uint8(k))
}

// MarshalText writes the kind as String does.
func (k ProblemKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// Problem is something that held or refused part of one computer's plan; the
// rest of the plan goes on. Plans, sessions and immyctl list them.
type Problem struct {
	Kind     ProblemKind `json:"kind"`
	Computer string      `json:"computer"`
	// Item is the item held (filter-error), or whose prerequisite or
	// configuration task was refused, or that was refused itself
	// (private-item).
	Item string `json:"item"`
	// Deployment is the deployment whose filter failed (filter-error), or
	// Item's winning deployment ("" for none) (private-item).
	Deployment string `json:"deployment"`
	// Private and Tenant name the private item refused and the tenant it
	// belongs to (private-item).
	Private string `json:"private,omitempty"`
	Tenant  string `json:"tenant,omitempty"`
	// File and Line locate the deployment (filter-error) or Item's
	// prerequisites (private-item) in the fleet file, when Config.Locate
	// knows; "" and 0 otherwise.
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	// Message says what went wrong, on one line.
	Message string `json:"message"`
	// Err is the cause: a *targets.FilterError for a filter error, wrapping
	// the filter's own error; immy.ErrInvalid for a private item.
	Err error `json:"-"`
}

// Error renders "resolver: FILE:LINE: computer "pc": item "x": deployment "d": message".
func (p Problem) Error() string {
	var b strings.Builder
	b.WriteString("resolver: ")
	if p.File != "" {
		b.WriteString(p.File)
		b.WriteByte(':')
	}
	if p.Line > 0 {
		fmt.Fprintf(&b, "%d:", p.Line)
	}
	if p.File != "" || p.Line > 0 {
		b.WriteByte(' ')
	}
	fmt.Fprintf(&b, "computer %q: item %q: ", p.Computer, p.Item)
	if p.Deployment != "" {
		fmt.Fprintf(&b, "deployment %q: ", p.Deployment)
	}
	b.WriteString(p.Message)
	return b.String()
}

// Unwrap returns the cause.
func (p Problem) Unwrap() error { return p.Err }

// planProblem is a Problem while a computer is planned, and as a plan keeps
// it: indices, spelt out by problem.
type planProblem struct {
	kind  ProblemKind
	item  int32 // catalogue item
	dep   int32 // deployment in the planner's table (the sequencer's for Actions), -1 for none
	about int32 // private-item: the private item, -1 otherwise
	ferr  *targets.FilterError
}

// cmpPlanProblem orders problems by item, kind, private item and deployment.
func cmpPlanProblem(a, b planProblem) int {
	switch {
	case a.item != b.item:
		return cmpInt(int(a.item), int(b.item))
	case a.kind != b.kind:
		return cmpInt(int(a.kind), int(b.kind))
	case a.about != b.about:
		return cmpInt(int(a.about), int(b.about))
	}
	return cmpInt(int(a.dep), int(b.dep))
}

// sortProblems sorts and deduplicates a computer's problems (a prerequisite
// refused for several dependents, or tried twice, is one problem a
// dependent).
func sortProblems(ps []planProblem) []planProblem {
	slices.SortFunc(ps, cmpPlanProblem)
	return slices.CompactFunc(ps, func(a, b planProblem) bool { return cmpPlanProblem(a, b) == 0 })
}

// problem spells out a computer's problem: comp is its id, deps the table
// dep indexes, fleetIndex the fleet's index of each of them (nil when
// unknown), locate the planner's Config.Locate.
func (c *Catalogue) problem(pp planProblem, comp string, deps []immy.Deployment, fleetIndex []int32, locate func(immy.Problem) immy.Problem) Problem {
	it := &c.items[pp.item]
	p := Problem{Kind: pp.kind, Computer: comp, Item: it.id}
	if pp.dep >= 0 && int(pp.dep) < len(deps) {
		p.Deployment = deps[pp.dep].ID
	}
	var where immy.Problem
	switch pp.kind {
	case ProblemFilterError:
		p.Err = pp.ferr
		if pp.ferr != nil {
			p.Message = fmt.Sprintf("held: its %s filter failed: %s", pp.ferr.Lang, pp.ferr.Message())
		}
		where = immy.Problem{Section: "deployments", ID: p.Deployment, Index: -1, Field: "target"}
		if pp.dep >= 0 && int(pp.dep) < len(fleetIndex) {
			where.Index = int(fleetIndex[pp.dep])
		}
		if pp.ferr != nil && pp.ferr.Lang == targets.LanguageLua {
			where.Field = "target.lua"
		} else if pp.ferr != nil {
			where.Field = "target.expr"
		}
	case ProblemPrivateItem:
		priv := &c.items[pp.about]
		p.Private, p.Tenant = priv.id, priv.owner
		p.Err = immy.ErrInvalid
		switch {
		case pp.about == pp.item:
			p.Message = fmt.Sprintf("refused: the item is private to tenant %q", priv.owner)
		case it.config == pp.about:
			p.Message = fmt.Sprintf("configuration task %q refused: it is private to tenant %q", priv.id, priv.owner)
		default:
			p.Message = fmt.Sprintf("failed: its prerequisites name %q, private to tenant %q", priv.id, priv.owner)
		}
		where = immy.Problem{Section: "software", ID: it.id, Index: c.fleetIndex(pp.item), Field: "prerequisites"}
		switch {
		case pp.about == pp.item:
			where = immy.Problem{Section: "deployments", ID: p.Deployment, Index: -1, Field: "item"}
			if pp.dep >= 0 && int(pp.dep) < len(fleetIndex) {
				where.Index = int(fleetIndex[pp.dep])
			}
		case it.config == pp.about:
			where.Field = "configuration_task"
		}
	}
	if locate != nil && where.Index >= 0 {
		where = locate(where)
		p.File, p.Line = where.File, where.Line
	}
	return p
}

// fleetIndex is item k's index in its section of the fleet (Software or
// Tasks), -1 when not found.
func (c *Catalogue) fleetIndex(k int32) int {
	it := &c.items[k]
	if it.sw != nil {
		for i := range c.fleet.Software {
			if &c.fleet.Software[i] == it.sw {
				return i
			}
		}
	}
	if it.task != nil {
		for i := range c.fleet.Tasks {
			if &c.fleet.Tasks[i] == it.task {
				return i
			}
		}
	}
	return -1
}

// filterErrors returns the filter errors of a match, false for any other
// error (which fails the computer).
func filterErrors(err error) (targets.FilterErrors, bool) {
	es, ok := err.(targets.FilterErrors) //nolint:errorlint // Match returns it unwrapped, and only it
	return es, ok
}

// owners finds each item's owner among the fleet's tenants, and the software
// whose prerequisites or configuration task name a private item.
func (c *Catalogue) owners() {
	tenants := make(map[string]int32, len(c.fleet.Tenants))
	for i := range c.fleet.Tenants {
		if _, dup := tenants[c.fleet.Tenants[i].ID]; !dup {
			tenants[c.fleet.Tenants[i].ID] = int32(i)
		}
	}
	for k := range c.items {
		it := &c.items[k]
		it.ownerIdx = -1
		if it.owner != "" {
			it.ownerIdx = -2
			if t, ok := tenants[it.owner]; ok {
				it.ownerIdx = t
			}
			// after every other reason, so that those keep their (small) codes
			it.reasonPrivate = c.reason(ReasonPrerequisitePrivate, it.id, -1)
		}
	}
	private := func(rules []prereq) bool {
		for _, r := range rules {
			for _, t := range r.subjects {
				if c.items[t].ownerIdx != -1 {
					return true
				}
			}
			for _, t := range r.on {
				if c.items[t].ownerIdx != -1 {
					return true
				}
			}
		}
		return false
	}
	for k := range c.items {
		it := &c.items[k]
		it.privateRefs = private(it.prereqs) || (it.config >= 0 && c.items[it.config].ownerIdx != -1)
		for _, v := range it.byVersion {
			it.privateRefs = it.privateRefs || private(v.rules)
		}
	}
}

// allowed reports whether item k may be planned on a computer of tenant t (a
// fleet index; -1 for none, -3 for not known): a public item anywhere, a
// private one on its own tenant's computers only.
func (c *Catalogue) allowed(k, t int32) bool {
	o := c.items[k].ownerIdx
	return o == -1 || (o >= 0 && o == t)
}

// foreign returns the first item the rules name (subject or acted on) that
// is private to another tenant than the computer's, -1 for none.
func (q *sequencer) foreign(rules []*prereq) int32 {
	for _, r := range rules {
		for _, t := range r.subjects {
			if !q.cat.allowed(t, q.tenant) {
				return t
			}
		}
		for _, t := range r.on {
			if !q.cat.allowed(t, q.tenant) {
				return t
			}
		}
	}
	return -1
}

// refuse records that item it's prerequisite or configuration task (or it
// itself) about is private to another tenant: nothing of about is planned.
func (q *sequencer) refuse(it, about int32) {
	q.probs = append(q.probs, planProblem{kind: ProblemPrivateItem, item: it, dep: q.slot(it).dep - 1, about: about})
}

// ownItems drops the decided items private to another tenant, each a
// problem.
func (q *sequencer) ownItems(items []seqItem) []seqItem {
	out := items[:0]
	for _, d := range items {
		if !q.cat.allowed(d.it, q.tenant) {
			q.probs = append(q.probs, planProblem{kind: ProblemPrivateItem, item: d.it, dep: d.dep, about: d.it})
			continue
		}
		out = append(out, d)
	}
	return out
}

// errHeld is decideShared's answer for a computer on which a filter failed:
// planOne decides it with decide, which holds the items.
var errHeld = errors.New("resolver: a filter failed")

// hold records the items of computer c held by the filters that failed on
// it (es), each a problem, and drops their other matches from w.match: no
// deployment of a held item wins there. A failed filter of a deployment that
// would not take part (disabled, not approved, of another session) holds
// nothing.
func (p *Planner) hold(w *worker, c int, es targets.FilterErrors, s *sessionFilter) {
	ct, hasTenant := p.ix.ComputerTenant(c)
	n := len(w.probs)
	for _, e := range es {
		di := e.Deployment
		if uint(di) >= uint(len(p.hot)) || p.hot[di].item < 0 || !p.isCandidate(di, c, ct, hasTenant, s) {
			continue
		}
		w.probs = append(w.probs, planProblem{kind: ProblemFilterError, item: p.hot[di].item, dep: int32(di), about: -1, ferr: e})
	}
	held := w.probs[n:]
	if len(held) == 0 {
		return
	}
	out := w.match[:0]
	for _, di := range w.match {
		if uint(di) < uint(len(p.hot)) && slices.ContainsFunc(held, func(pp planProblem) bool { return pp.item == p.hot[di].item }) {
			continue
		}
		out = append(out, di)
	}
	w.match = out
}

// keepProblems keeps in cp the problems of its plan: the filters' (w.probs)
// and the sequencer's (seq).
func (p *Planner) keepProblems(w *worker, cp *ComputerPlan, seq []planProblem) {
	if len(w.probs) == 0 && len(seq) == 0 {
		return
	}
	all := append(slices.Clone(w.probs), seq...)
	if cp.extra == nil {
		cp.extra = new(planExtra)
	}
	cp.extra.probs = sortProblems(all)
}

// problem spells out a problem of the planner's.
func (p *Planner) problem(pp planProblem, computer string) Problem {
	return p.cat.problem(pp, computer, p.table, p.pc.fleetIndex, p.pc.locate)
}

// relocate gives the plans Replan kept from an older planner the places of
// their problems in p's fleet, as Config.Locate is handed them: a kept
// plan's context holds the index of each deployment in the fleet it was
// planned from, which moves when deployments are added or removed before
// it. Only a kept plan with problems, whose deployments moved, gets a
// context of its own (its records are unchanged: the deployments' table
// rows and versions are the older planner's); the plans stay shared.
func (p *Planner) relocate(plans []ComputerPlan) {
	if p.pc.locate == nil {
		return
	}
	var moved map[*planContext]*planContext
	for i := range plans {
		cp := &plans[i]
		if cp.pc == nil || cp.pc == p.pc || cp.extra == nil || len(cp.extra.probs) == 0 {
			continue
		}
		if moved == nil {
			moved = map[*planContext]*planContext{}
		}
		pc, ok := moved[cp.pc]
		if !ok {
			pc = p.relocated(cp.pc)
			moved[cp.pc] = pc
		}
		if pc != nil {
			cp.pc = pc
		}
	}
}

// relocated returns old with the index of each of its deployments in p's
// fleet (-1 for one p's fleet has not), nil when none moved.
func (p *Planner) relocated(old *planContext) *planContext {
	idx := make([]int32, len(old.deps))
	same := len(old.fleetIndex) == len(old.deps)
	for r := range old.deps {
		idx[r] = -1
		if row, ok := p.byID[old.deps[r].ID]; ok && int(row) < len(p.pc.fleetIndex) {
			idx[r] = p.pc.fleetIndex[row]
		}
		same = same && idx[r] == old.fleetIndex[r]
	}
	if same {
		return nil
	}
	pc := *old
	pc.fleetIndex = idx
	pc.locate = p.pc.locate
	return &pc
}

// Problems returns what held or refused part of the computer's plan: items
// held because a deployment's filter failed on it, prerequisites and
// configuration tasks refused because they are private to another tenant.
// They are sorted by item, then kind; nil when there is none.
func (c *ComputerPlan) Problems() []Problem {
	if c.extra == nil || len(c.extra.probs) == 0 || c.pc == nil {
		return nil
	}
	out := make([]Problem, len(c.extra.probs))
	for i, pp := range c.extra.probs {
		out[i] = c.pc.cat.problem(pp, c.ID, c.pc.deps, c.pc.fleetIndex, c.pc.locate)
	}
	return out
}

// Problems returns the problems of every computer of the plan, by computer.
func (p *Plan) Problems() []Problem {
	var out []Problem
	for i := range p.Computers {
		out = append(out, p.Computers[i].Problems()...)
	}
	return out
}
