package resolver

import (
	"slices"
)

// A record that Replan spliced keeps a note of it (spliceNote): where the
// edited items' actions and groups of losers are in it. When the next edit
// is of the same items (an admin trying one deployment's desired states or
// targets one after the other), the record is spliced again from those
// places alone (spliceNoted): the other actions and groups are copied
// unread, where replanEdited would scan the whole record and check each
// action (scanRecord, scanLosers, splice). The checks splice made of the
// other actions hold again when they read the same under the new plan
// context: no deployment but the edited items' differs between the two
// contexts, and no version of the record's is new (notedCodes).
// TestEditEqualsPlanComputer pins the records so made to PlanComputer's.

// replanNoted is replanEdited for a record whose splice note serves the
// edit (see above); ok is false, having written nothing in cp, when it does
// not, or the edit changes more than the edited items' actions can take (an
// item decided now that was not, or no longer decided): replanEdited then
// reads the record whole. lay is the layout of old's plan context in p.
func (p *Planner) replanNoted(w *worker, sc *editScratch, sel *editSelection, c int, old *ComputerPlan, s *sessionFilter, lay layout, cp *ComputerPlan) (how int, ok bool) {
	n := old.splice
	if n == nil || !lay.same || old.shared != nil || old.extra != nil || !sel.alone ||
		len(n.spans) != len(sel.edit.items) || !slices.Equal(n.items, sel.edit.items) ||
		int(n.newEnd) > len(old.rec) || !p.notedCodes(sc, sel, old.pc, n.otherVer) {
		return editWhole, false
	}
	// the edited items' actions (each item once: its winner) and losers
	items := sel.edit.items
	sc.oldWins, sc.newWins = sc.oldWins[:0], sc.newWins[:0]
	for range items {
		sc.oldWins, sc.newWins = append(sc.oldWins, -1), append(sc.newWins, -1)
	}
	sc.acts = sc.acts[:0]
	for _, ns := range n.spans {
		if ns.lossAt < 0 || ns.newStart > ns.newEnd || ns.newEnd > n.newEnd || ns.lossEnd < ns.lossAt ||
			ns.lossAt < n.newEnd || int(ns.lossEnd) > len(old.rec) {
			return editWhole, false
		}
		d := decoder{c: old, buf: old.rec[ns.newStart:ns.newEnd], prevA: ns.prev}
		a := d.action()
		k, found := slices.BinarySearch(items, a.item)
		if a.item != ns.item || !found || a.dep < 0 || len(d.buf) != 0 {
			return editWhole, false
		}
		sc.oldWins[k] = a.dep
		sc.acts = append(sc.acts, a)
	}
	// the losers of the edited items, by item as rankEdited reads them
	sc.losers = sc.losers[:0]
	last := n.newEnd
	for _, k := range items {
		ns := n.spanOf(k)
		if ns == nil || ns.lossAt < last {
			return editWhole, false
		}
		last = ns.lossEnd
		if ns.lossEnd > ns.lossAt {
			g, ok := lossGroupAt(old, ns)
			if !ok {
				return editWhole, false
			}
			sc.losers = g.decode(old, sc.losers)
		}
	}
	if !p.rankEdited(w, sc, sel, c, s) {
		*cp = *old
		return editKept, true
	}
	for _, win := range sc.newWins {
		if win < 0 {
			return editWhole, false // an item no longer decided: its action goes
		}
	}
	if !p.spliceNoted(w, sc, sel, c, old, s, cp) {
		return editWhole, false
	}
	return editSpliced, true
}

// notedCodes reports whether the actions of a record of plan context from
// that are not of edited items, bringing versions up to the lastVer-th of
// from's table, read the same in p's: the two contexts' codes read the same
// (sameCodes), with those versions in the same places, and every deployment
// whose fields the codes read (version, desired state, mode) the same but
// the edited items'. The last is kept in sc's codeMap of the pair.
func (p *Planner) notedCodes(sc *editScratch, sel *editSelection, from *planContext, lastVer int32) bool {
	cm := codesOf(&sc.codes, from, p.pc)
	if !cm.same || int(lastVer) >= cm.prefix {
		return false
	}
	if cm.edited == nil || cm.edited != sel {
		cm.edited, cm.otherMoved = sel, false
		for d, moved := range cm.moved {
			if it := p.deps[d].item; moved && (it < 0 || !sel.isEdited[it]) {
				cm.otherMoved = true
				break
			}
		}
	}
	return !cm.otherMoved
}

// spanOf returns the span of item in n (one there is: see replanNoted).
func (n *spliceNote) spanOf(item int32) *splicedSpan {
	for i := range n.spans {
		if n.spans[i].item == item {
			return &n.spans[i]
		}
	}
	return nil
}

// lossGroupAt reads the group of losers of c's record that the note's span
// places (its header at lossAt, after the group of item lossPrev); ok is
// false when it is not the span's item's, or runs past lossEnd.
func lossGroupAt(c *ComputerPlan, ns *splicedSpan) (lossGroup, bool) {
	d := decoder{c: c, buf: c.rec[ns.lossAt:ns.lossEnd]}
	g := lossGroup{prev: ns.lossPrev, hdr: ns.lossAt}
	g.item = ns.lossPrev + int32(d.uvarint()>>2)
	cnt := d.uvarint()
	g.body = ns.lossEnd - int32(len(d.buf))
	if g.item != ns.item || cnt == 0 || cnt > uint64(len(d.buf)) {
		return lossGroup{}, false
	}
	g.n, g.end = int32(cnt), ns.lossEnd
	for ; cnt > 0 && len(d.buf) > 0; cnt-- {
		d.uvarint()
	}
	if cnt > 0 || len(d.buf) != 0 {
		return lossGroup{}, false
	}
	return g, true
}

// spliceNoted writes into cp old's record with the edited items' actions
// (sc.acts, in record order, as old's note places them) and groups of
// losers replaced by those of their new decisions (w.decs; each item has
// one: sc.newWins), every other byte copied, and a note of its own. It
// reports false, writing nothing, when the sequencer plans an item other
// than by one action without problems.
func (p *Planner) spliceNoted(w *worker, sc *editScratch, sel *editSelection, c int, old *ComputerPlan, s *sessionFilter, cp *ComputerPlan) bool {
	n := old.splice
	comp := &p.fleet.Computers[c]
	tenant := int32(-1)
	if t, ok := p.ix.ComputerTenant(c); ok {
		tenant = int32(t)
	}
	note := sc.note(old.pc, len(n.spans))
	note.items, note.otherVer = sel.edit.items, n.otherVer
	b := sc.results.tail()
	prev := int32(0) // where the bytes not yet copied start in old.rec
	for i, ns := range n.spans {
		a := &sc.acts[i]
		k, _ := slices.BinarySearch(sel.edit.items, ns.item)
		st := oneState{it: ns.item, present: a.detected != nil, ver: a.detected, ref: a.dref, known: !w.inv.script[ns.item]}
		w.seq.tenant = tenant
		acts := w.seq.run([]seqItem{{it: ns.item, dep: sc.newWins[k]}}, &st, s.kind == OnboardingSession)
		if len(acts) != 1 || len(w.seq.probs) > 0 {
			return false
		}
		acts[0].tell = a.tell
		w.enc.reset()
		w.enc.prevA = ns.prev
		w.enc.actions(p.pc, acts)
		b = append(b, old.rec[prev:ns.newStart]...)
		to := splicedSpan{item: ns.item, prev: ns.prev, oldStart: ns.newStart, oldEnd: ns.newEnd, newStart: int32(len(b)), lossAt: -1}
		b = append(b, w.enc.buf...)
		to.newEnd = int32(len(b))
		note.spans = append(note.spans, to)
		prev = ns.newEnd
	}
	b = append(b, old.rec[prev:n.newEnd]...)
	note.oldEnd, note.newEnd = n.newEnd, int32(len(b))

	// the losers: old's groups copied, the edited items' replaced (in item
	// order); a group after a replaced one gets its header anew when the
	// group before it changed
	w.enc.reset()
	w.enc.buf = b
	lp := lossPlaces{note: note, items: sel.edit.items}
	from, fromPrev := n.newEnd, int32(0) // old's bytes not yet copied, and the item of the group before them
	nlost := int(old.nlost)
	copyGroups := func(to int32) {
		if to <= from {
			return
		}
		if fromPrev == w.enc.prevL {
			w.enc.buf = append(w.enc.buf, old.rec[from:to]...)
			return
		}
		d := decoder{c: old, buf: old.rec[from:to]}
		item := fromPrev + int32(d.uvarint()>>2)
		cnt := d.uvarint()
		w.enc.buf = appendUvarint(w.enc.buf, uint64(item-w.enc.prevL)<<2)
		w.enc.buf = appendUvarint(w.enc.buf, cnt)
		w.enc.buf = append(w.enc.buf, d.buf...)
	}
	decs := w.decs
	for _, k := range sel.edit.items {
		ns := n.spanOf(k)
		copyGroups(ns.lossAt)
		if ns.lossAt > from {
			w.enc.prevL = ns.lossPrev // the item of the last group copied
		}
		if ns.lossEnd > ns.lossAt {
			g, _ := lossGroupAt(old, ns) // read by replanNoted
			nlost -= int(g.n)
		}
		for len(decs) > 0 && decs[0].item < k {
			decs = decs[1:]
		}
		at, prevL := len(w.enc.buf), w.enc.prevL
		lp.before(k, at, prevL)
		if len(decs) > 0 && decs[0].item == k && decs[0].nlost > 0 {
			dec := &decs[0]
			w.enc.losers(p.pc, k, w.loss[dec.lost0:dec.lost0+dec.nlost])
			nlost += int(dec.nlost)
		}
		lp.wrote(k, at, len(w.enc.buf), prevL)
		from, fromPrev = ns.lossEnd, ns.lossPrev
		if ns.lossEnd > ns.lossAt {
			fromPrev = k
		}
	}
	copyGroups(int32(len(old.rec)))
	b = w.enc.buf
	w.enc.buf = nil

	*cp = ComputerPlan{ID: comp.ID, pc: p.pc, comp: int32(c), tenant: tenant, nact: old.nact, nlost: uint32(nlost), splice: note}
	cp.rec = sc.results.keep(b)
	return true
}
