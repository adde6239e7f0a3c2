package resolver

import (
	"context"
	"math"
	"slices"
	"weak"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/targets"
)

// An edit of deployments alone (their targets, desired states, priorities,
// enforcement...) changes, on a computer it touches, the decisions of the
// edited deployments' items and nothing else: every other item has the same
// candidates, ranked the same way. Replan then plans such a computer from
// its stored record: it re-ranks only the edited items, from the candidates
// the record names (the winner and its losers) and the edited deployments
// that select the computer now, and keeps every other decision as the record
// has it. When no decision changed, the computer keeps its record; else its
// actions are sequenced again from the decisions and encoded. Matching the
// computer against its ~400 targets, which is most of planning it, is not
// done again. TestEditEqualsPlanComputer pins the result to PlanComputer.

// deploymentEdit is how Update made a planner from its parent when only
// deployments changed and the table kept its layout: the same deployments,
// of the same items, in the same places.
type deploymentEdit struct {
	deps  []int32 // the edited deployments, table indices, ascending
	items []int32 // their items, ascending, distinct
}

// maxEdited bounds the deployments an edit re-ranks item by item; a larger
// edit plans the computers it touches whole.
const maxEdited = 32

// editOf returns how q was made from p by changing the deployments ch names,
// nil when the table's layout changed (a deployment created, deleted or
// moved to another item) or something else changed.
func editOf(p, q *Planner, ch Changes) *deploymentEdit {
	if len(ch.Deployments) == 0 || len(ch.Deployments) > maxEdited || ch.Settings ||
		len(ch.Tenants)+len(ch.Persons)+len(ch.Computers)+len(ch.Groups)+len(ch.Agreements)+len(ch.Software)+len(ch.Tasks) > 0 ||
		!q.ix.SharesLookups(p.ix) || !sameLayout(p.pc, q.pc) {
		return nil
	}
	e := &deploymentEdit{}
	for _, id := range ch.Deployments {
		i, ok := q.byID[id]
		if !ok {
			return nil
		}
		e.deps = append(e.deps, i)
		// its item, whether it takes part now or did before (a deployment
		// enabled or disabled): the table's item of the deployment
		if k, ok := q.cat.byID[q.table[i].Item]; ok {
			e.items = append(e.items, k)
		}
	}
	slices.Sort(e.deps)
	e.deps = slices.Compact(e.deps)
	slices.Sort(e.items)
	e.items = slices.Compact(e.items)
	return e
}

// tableOrder returns the order of p's table (by fleet index) when it holds
// for f, a fleet with the same deployments (ids and items) in the same
// places and catalogue cat of the same items: buildPlanner then need not
// sort the deployments again. nil otherwise, and for a nil p.
func (p *Planner) tableOrder(f *immy.Fleet, cat *Catalogue) []int {
	if p == nil || !sameItems(p.cat, cat) || len(p.fleet.Deployments) != len(f.Deployments) {
		return nil
	}
	for i := range f.Deployments {
		a, b := &p.fleet.Deployments[i], &f.Deployments[i]
		if a.ID != b.ID || a.Item != b.Item {
			return nil
		}
	}
	order := make([]int, len(p.pc.fleetIndex))
	for r, i := range p.pc.fleetIndex {
		order[r] = int(i)
	}
	return order
}

// groupOrder returns p's order of the computers by matcher group (see
// groupOrder) when it holds for index ix and its matcher m: ix shares every
// lookup with p's. nil otherwise, and for a nil p.
func (p *Planner) groupOrder(ix *targets.Index, m *targets.Matcher) []int32 {
	if p == nil || !ix.SharesLookups(p.ix) || m.Groups() != p.m.Groups() {
		return nil
	}
	return p.byGroup
}

// sameLayout reports whether records of plan context a read the same in b:
// the same catalogue items, the same deployments (by id and item) in the
// same places of the table. The deployments' other fields may differ.
func sameLayout(a, b *planContext) bool {
	if a == b {
		return true
	}
	if a == nil || b == nil || len(a.deps) != len(b.deps) || len(a.cat.items) != len(b.cat.items) ||
		(len(a.cat.items) > 0 && &a.cat.items[0] != &b.cat.items[0]) {
		return false
	}
	for i := range a.deps {
		if a.deps[i].ID != b.deps[i].ID || a.deps[i].Item != b.deps[i].Item {
			return false
		}
	}
	return true
}

// editSelection is what replanning after an edit reads of the edited
// deployments: the computers each selects now, one bit a computer, and the
// computers on which one of their filters failed (planned whole: the item is
// held there).
type editSelection struct {
	edit     *deploymentEdit
	selects  [][]uint64 // by edited deployment (as in edit.deps)
	failed   map[int]bool
	isEdited []bool // by item: one of edit.items
	alone    bool   // every edited item is planned alone (see aloneItems)
	readers  []bool // by item: its rules read an edited item (see readersOf)
}

func (p *Planner) selection(ctx context.Context) (*editSelection, error) {
	e := p.edit
	sel := &editSelection{edit: e, selects: make([][]uint64, len(e.deps)), failed: map[int]bool{}}
	sel.alone, sel.readers = aloneItems(p.cat, e.items), readersOf(p.cat, e.items)
	sel.isEdited = make([]bool, len(p.cat.items))
	for _, k := range e.items {
		sel.isEdited[k] = true
	}
	words := (len(p.fleet.Computers) + 63) / 64
	for k, di := range e.deps {
		bits := make([]uint64, words)
		sel.selects[k] = bits
		if p.deps[di].item < 0 { // never a candidate
			continue
		}
		cs, err := p.m.Resolve(ctx, int(di))
		if es, ok := filterErrors(err); ok {
			for _, fe := range es {
				if c, ok := p.ix.Computer(fe.Computer); ok {
					sel.failed[c] = true
				}
			}
		} else if err != nil {
			return nil, err
		}
		for _, c := range cs {
			bits[c/64] |= 1 << (c % 64)
		}
	}
	return sel, nil
}

// selected reports whether edited deployment di (a table index) selects
// computer c.
func (sel *editSelection) selected(di int32, c int) bool {
	k, ok := slices.BinarySearch(sel.edit.deps, di)
	return ok && sel.selects[k][c/64]&(1<<(c%64)) != 0
}

func (sel *editSelection) edited(di int32) bool {
	_, ok := slices.BinarySearch(sel.edit.deps, di)
	return ok
}

// editScratch is one goroutine's memory for replanning edited computers.
type editScratch struct {
	acts    []action
	losers  []loserRec
	out     []loserRec // the losers of the new decisions, by item
	sitems  []seqItem
	idx     []int
	cands   []int32
	grp     []candRec
	lost    []lost
	results slab[byte]
	layouts map[*planContext]layout // by record context
	codes   *codeMap                // of the record context last spliced
	spans   []span                  // the edited items' actions in the record (scanEdited)
	end     int                     // where the actions of the record end
	// of the record's other actions: whether splice may keep them, each
	// item's action once, the last version they bring (scanEdited)
	others, unique bool
	otherVer       int32
	edits          []spliceEdit
	// by edited item (as in deploymentEdit.items): its winner in the
	// record, and now; -1 for none
	oldWins, newWins []int32
	// the groups of losers of the record (scanLosers) when scanned; losers
	// then holds only the edited items'
	groups  []lossGroup
	scanned bool
	seen    []uint32 // by item: met in the record spliced when gen
	gen     uint32
	// the spliced records' notes (spliceNote), and the plan context of the
	// records last spliced, with its weak pointer
	notes     []spliceNote
	noteSpans []splicedSpan
	noteFrom  *planContext
	noteWeak  weak.Pointer[planContext]
}

// Outcomes of replanEdited.
const (
	editWhole   = iota // the record cannot be patched: plan the computer whole
	editKept           // no decision changed: the computer keeps its record
	editPatched        // its actions sequenced again
	editSpliced        // the record copied, the edited items' actions replaced
)

// layout is how the table of a record's plan context maps onto a planner's.
type layout struct {
	ok    bool    // the same catalogue items: the record can be read
	same  bool    // the same deployments in the same places (sameLayout)
	remap []int32 // else, by deployment of the record's table, its place in the planner's, -1 for none
}

// layoutOf returns the layout of records of pc in p.
func (p *Planner) layoutOf(pc *planContext) layout {
	if sameLayout(pc, p.pc) {
		return layout{ok: true, same: true}
	}
	if pc == nil || !sameItems(pc.cat, p.cat) {
		return layout{}
	}
	l := layout{ok: true, remap: make([]int32, len(pc.deps))}
	for i := range pc.deps {
		l.remap[i] = -1
		if j, ok := p.byID[pc.deps[i].ID]; ok && p.table[j].Item == pc.deps[i].Item {
			l.remap[i] = j
		}
	}
	return l
}

// dep returns the place in the planner's table of the record's deployment
// d, -1 for none.
func (l *layout) dep(d int32) int32 {
	if d < 0 || l.same {
		return d
	}
	return l.remap[d]
}

// replanEdited plans computer c after an edit of deployments alone, from
// old, its plan of the same session by a planner whose catalogue has the
// same items (its deployments mapped by id; see layoutOf), valid for the
// planner p was updated from. It returns
// editWhole, planning nothing, when old cannot serve: a plan with problems
// or from a State, a computer excluded or moved, a filter of an edited
// deployment failing on c.
func (p *Planner) replanEdited(ctx context.Context, w *worker, sc *editScratch, sel *editSelection, c int, old *ComputerPlan, s *sessionFilter, cp *ComputerPlan) (int, error) {
	if err := ctx.Err(); err != nil {
		return editWhole, err
	}
	if old.pc == nil || old.Excluded || old.extra != nil || int(old.comp) != c || c >= len(p.fleet.Computers) ||
		p.fleet.Computers[c].ExcludedFromMaintenance || p.fleet.Computers[c].ID != old.ID || sel.failed[c] {
		return editWhole, nil
	}
	lay, ok := sc.layouts[old.pc]
	if !ok {
		lay = p.layoutOf(old.pc)
		sc.layouts[old.pc] = lay
	}
	if !lay.ok {
		return editWhole, nil
	}
	if how, ok := p.replanNoted(w, sc, sel, c, old, s, lay, cp); ok { // from its splice note alone (update_noted.go)
		return how, nil
	}
	// the record's actions, by their bytes: the edited items' winners
	sc.spans, sc.end = scanEdited(old, sel, codesOf(&sc.codes, old.pc, p.pc), sc, sc.spans[:0])
	items := sel.edit.items
	sc.oldWins, sc.newWins = sc.oldWins[:0], sc.newWins[:0]
	for range items {
		sc.oldWins, sc.newWins = append(sc.oldWins, -1), append(sc.newWins, -1)
	}
	for _, sp := range sc.spans {
		if sp.dep >= 0 && sel.isEdited[sp.item] {
			k, _ := slices.BinarySearch(items, sp.item)
			if sc.oldWins[k] = lay.dep(sp.dep); sc.oldWins[k] < 0 {
				return editWhole, nil
			}
		}
	}
	// the losers: by their groups when the record's are its own, of the
	// same layout (only the edited items' are read), else all
	sc.groups, sc.scanned = sc.groups[:0], false
	if lay.same && old.shared == nil && sc.others && sel.alone { // else splice refuses the record: its losers are merged
		sc.groups, sc.scanned = scanLosers(old, sc.end, sc.groups)
	}
	if sc.scanned {
		sc.losers = sc.losers[:0]
		for _, g := range sc.groups {
			if sel.isEdited[g.item] {
				sc.losers = g.decode(old, sc.losers)
			}
		}
	} else {
		d := decoder{c: old, buf: old.rec[sc.end:]}
		sc.losers = old.losers(&d, sc.losers[:0])
	}
	if !lay.same {
		for i := range sc.losers {
			if sc.losers[i].dep = lay.dep(sc.losers[i].dep); sc.losers[i].dep < 0 {
				return editWhole, nil
			}
		}
	}

	if !p.rankEdited(w, sc, sel, c, s) { // the record holds: no decision changed, and none names an edited deployment as its winner
		*cp = *old
		return editKept, nil
	}

	tried := sc.scanned
	if tried && p.splice(w, sc, sel, c, old, s, cp) { // the losers spliced by their groups
		return editSpliced, nil
	}
	if sc.scanned { // every loser of the record, to merge
		d := decoder{c: old, buf: old.rec[sc.end:]}
		sc.losers, sc.scanned = old.losers(&d, sc.losers[:0]), false
	}
	// the losers: the record's, the edited items' replaced (both by item)
	sc.out = sc.out[:0]
	rest := sc.losers
	for _, dec := range w.decs {
		for len(rest) > 0 && rest[0].item < dec.item {
			if !sel.isEdited[rest[0].item] {
				sc.out = append(sc.out, rest[0])
			}
			rest = rest[1:]
		}
		for _, l := range w.loss[dec.lost0 : dec.lost0+dec.nlost] {
			sc.out = append(sc.out, loserRec{item: dec.item, lost: l})
		}
	}
	for _, l := range rest {
		if !sel.isEdited[l.item] {
			sc.out = append(sc.out, l)
		}
	}
	if !tried && p.splice(w, sc, sel, c, old, s, cp) { // the edited items' actions alone
		return editSpliced, nil
	}

	// the decisions: the record's, the edited items' replaced; all sequenced again
	dd := decoder{c: old, buf: old.rec}
	sc.acts = sc.acts[:0]
	for range old.nact {
		sc.acts = append(sc.acts, dd.next(false))
	}
	sc.idx = decisionsOf(sc.acts, sc.idx[:0]) // by item
	sc.sitems = sc.sitems[:0]
	for _, i := range sc.idx {
		if a := &sc.acts[i]; !sel.isEdited[a.item] {
			dep := lay.dep(a.dep)
			if dep < 0 {
				return editWhole, nil
			}
			sc.sitems = append(sc.sitems, seqItem{it: a.item, dep: dep})
		}
	}
	for _, dec := range w.decs {
		sc.sitems = append(sc.sitems, seqItem{it: dec.item, dep: dec.winner})
	}
	if len(w.decs) > 0 {
		slices.SortFunc(sc.sitems, func(a, b seqItem) int { return cmpInt(int(a.it), int(b.it)) })
	}
	p.encodeEdited(w, sc, sel, c, s, cp)
	return editPatched, nil
}

// rankEdited ranks each edited item again on computer c, from its winner and
// losers in the record (sc.oldWins, sc.losers) and the edited deployments
// that select c now, into w.decs and sc.newWins. It reports whether a
// decision changed, or names an edited deployment as its winner: else the
// record holds.
func (p *Planner) rankEdited(w *worker, sc *editScratch, sel *editSelection, c int, s *sessionFilter) bool {
	ct, hasTenant := p.ix.ComputerTenant(c)
	changed := false
	w.decs, w.loss = w.decs[:0], w.loss[:0]
	for k, item := range sel.edit.items {
		oldWin := sc.oldWins[k]
		oldLost := losersOf(sc.losers, item)
		sc.cands = sc.cands[:0]
		if oldWin >= 0 && !sel.edited(oldWin) {
			sc.cands = append(sc.cands, oldWin)
		}
		for _, l := range oldLost {
			if !sel.edited(l.dep) {
				sc.cands = append(sc.cands, l.dep)
			}
		}
		for _, di := range sel.edit.deps {
			if p.deps[di].item == item && sel.selected(di, c) {
				sc.cands = append(sc.cands, di)
			}
		}
		slices.Sort(sc.cands) // decide meets them in table order
		sc.grp = sc.grp[:0]
		for _, di := range sc.cands {
			if cr, ok := p.candidate(int(di), c, ct, hasTenant, s); ok {
				sc.grp = append(sc.grp, cr)
			}
		}
		var newLost []lost
		if len(sc.grp) > 0 {
			p.rank(w, sc.grp, c)
			dec := &w.decs[len(w.decs)-1]
			sc.newWins[k], newLost = dec.winner, w.loss[dec.lost0:dec.lost0+dec.nlost]
		}
		if newWin := sc.newWins[k]; newWin != oldWin || (newWin >= 0 && sel.edited(newWin)) || !sameLosers(oldLost, newLost) {
			changed = true
		}
	}
	return changed
}

// encodeLosers appends the losers of sc.out, grouped by item, to w's
// encoder; note (nil for none) is told where the edited items' groups are
// (lossPlaces).
func (p *Planner) encodeLosers(w *worker, sc *editScratch, sel *editSelection, note *spliceNote) {
	lp := lossPlaces{note: note, items: sel.edit.items}
	for i := 0; i < len(sc.out); {
		j := i
		sc.lost = sc.lost[:0]
		for ; j < len(sc.out) && sc.out[j].item == sc.out[i].item; j++ {
			sc.lost = append(sc.lost, sc.out[j].lost)
		}
		at, prev := len(w.enc.buf), w.enc.prevL
		lp.before(sc.out[i].item, at, prev)
		w.enc.losers(p.pc, sc.out[i].item, sc.lost)
		lp.wrote(sc.out[i].item, at, len(w.enc.buf), prev)
		i = j
	}
	lp.before(math.MaxInt32, len(w.enc.buf), w.enc.prevL)
}

// encodeEdited sequences the decisions of sc (sitems, and the losers in
// out) on computer c and encodes them into cp, as planOne does after decide.
func (p *Planner) encodeEdited(w *worker, sc *editScratch, sel *editSelection, c int, s *sessionFilter, cp *ComputerPlan) {
	comp := &p.fleet.Computers[c]
	*cp = ComputerPlan{ID: comp.ID, pc: p.pc, comp: int32(c), tenant: -1}
	if t, ok := p.ix.ComputerTenant(c); ok {
		cp.tenant = int32(t)
	}
	w.probs = w.probs[:0]
	if len(sc.sitems) == 0 {
		return
	}
	w.inv.load(comp, &p.names, &w.hits)
	w.seq.tenant = cp.tenant
	acts := w.seq.run(sc.sitems, &w.inv, s.kind == OnboardingSession)
	p.keepProblems(w, cp, w.seq.probs)
	w.enc.reset()
	w.enc.buf = sc.results.tail()
	w.enc.actions(p.pc, acts)
	p.encodeLosers(w, sc, sel, nil)
	cp.nact, cp.nlost = uint32(len(acts)), uint32(len(sc.out))
	b := w.enc.buf
	w.enc.buf = nil // in the slab, or copied there (the next record starts at its tail)
	cp.rec = sc.results.keep(b)
}

// losersOf returns the losers of item among ls, sorted by item.
func losersOf(ls []loserRec, item int32) []loserRec {
	i, _ := slices.BinarySearchFunc(ls, item, func(l loserRec, it int32) int { return cmpInt(int(l.item), int(it)) })
	j := i
	for j < len(ls) && ls[j].item == item {
		j++
	}
	return ls[i:j]
}

func sameLosers(a []loserRec, b []lost) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].lost != b[i] {
			return false
		}
	}
	return true
}
