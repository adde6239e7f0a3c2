package resolver

import (
	"math"
	"slices"
	"weak"

	"github.com/immyoss/engine/immy"
)

// Records read at the level of their bytes. Two plan contexts whose codes
// mean the same (sameCodes) spell the same bytes of an action the same way,
// unless the action is under a deployment whose fields differ between them:
// an edit's Replan then copies the record of a touched computer and
// re-encodes only the edited item's action (splice; the losers of the
// other items are copied by their groups, spliceLosers), and Diff tells
// equal actions apart by their bytes (diff_records.go), reading a spliced
// record only at the actions replaced (spliceNote, diffSplice).

// span is one action of a record: its item, its deployment (table index, -1
// for none) and where its bytes are.
type span struct {
	item, dep  int32
	start, end int32
	ver        int32 // the index of the version it brings in planContext.versions, -1 for none (or another code)
	prev       int32 // the item of the action before (0 for none: the decoder's state there)
}

// head reads the next action of the record as far as the spans need: its
// item, its deployment code (0: none) and the index of the version it
// brings in planContext.versions (-1: none, or another code), leaving d
// after the action. It reads the forms of encode.go.
func (d *decoder) head() (item int32, dep uint64, ver int32) {
	ver = -1
	switch b := d.buf; {
	case len(b) >= 2 && b[0]&1 == 1: // the common form
		item = d.prevA + int32(unzigzag(uint64(b[0]>>1)))
		dep = uint64(b[1] & 31)
		d.buf = b[2:]
	case len(b) >= 3 && b[0]&3 == 2: // the short form
		item = d.prevA + int32(unzigzag(uint64(b[0]>>2)))
		dep = (uint64(b[1]) | uint64(b[2])<<8) & 15
		d.buf = b[3:]
	default:
		item = d.prevA + int32(unzigzag(d.uvarint()>>3))
		dep = d.uvarint()
		d.uvarint() // reason and kind
		if vc := d.uvarint(); vc >= 128 {
			if vc-128 >= vcRef {
				ver = int32(vc - 128 - vcRef)
			}
			d.uvarint() // the detected code
		}
	}
	return item, dep, ver
}

// scanRecord appends the spans of c's actions and returns where they end in
// c.rec (the losers follow). It reads the forms of encode.go and resolves
// nothing.
func scanRecord(c *ComputerPlan, dst []span) ([]span, int) {
	pc := c.pc
	d := decoder{c: c, buf: c.rec}
	dst = slices.Grow(dst, int(c.nact))
	for range c.nact {
		start := len(c.rec) - len(d.buf)
		item, dep, ver := d.head()
		prev := d.prevA
		d.prevA = item
		if uint(item) >= uint(len(pc.itemFirst)) { // unreachable: the planner wrote the buffer
			break
		}
		s := span{item: item, dep: -1, start: int32(start), end: int32(len(c.rec) - len(d.buf)), ver: ver, prev: prev}
		if dep > 0 {
			s.dep = pc.itemFirst[item] + int32(dep) - 1
		}
		dst = append(dst, s)
	}
	return dst, len(c.rec) - len(d.buf)
}

// scanEdited is scanRecord for an edit's splice, in one pass: it appends
// the spans of the edited items' actions alone and returns where the
// actions end, and tells of the others (sc.others): whether each reads the
// same under cm (codeMap.holds) and is of an item that reads no edited item
// (what splice requires), the last version they bring (sc.otherVer), and
// whether every item's action is there once (sc.unique).
func scanEdited(c *ComputerPlan, sel *editSelection, cm *codeMap, sc *editScratch, dst []span) ([]span, int) {
	pc := c.pc
	d := decoder{c: c, buf: c.rec}
	sc.others, sc.unique, sc.otherVer = true, true, -1
	sc.gen++
	if n := len(pc.itemFirst); len(sc.seen) < n || sc.gen == 0 {
		sc.seen, sc.gen = make([]uint32, n), 1
	}
	for range c.nact {
		start := len(c.rec) - len(d.buf)
		item, dep, ver := d.head()
		prev := d.prevA
		d.prevA = item
		if uint(item) >= uint(len(pc.itemFirst)) { // unreachable: the planner wrote the buffer
			sc.others = false
			break
		}
		if sc.seen[item] == sc.gen {
			sc.unique = false
		}
		sc.seen[item] = sc.gen
		di := int32(-1)
		if dep > 0 {
			di = pc.itemFirst[item] + int32(dep) - 1
		}
		if !sel.isEdited[item] {
			if sc.others && (sel.readers[item] || (di >= 0 && cm.moved != nil && cm.moved[di]) || ver >= int32(cm.prefix)) {
				sc.others = false
			}
			sc.otherVer = max(sc.otherVer, ver)
			continue
		}
		dst = append(dst, span{item: item, dep: di, start: int32(start), end: int32(len(c.rec) - len(d.buf)), ver: ver, prev: prev})
	}
	return dst, len(c.rec) - len(d.buf)
}

// codeMap tells whether the codes of plan context a mean the same in b:
// same is the general rule (sameCodes); an action's bytes then read the same
// in both when it holds (codeMap.holds).
type codeMap struct {
	a, b   *planContext
	same   bool
	moved  []bool // by deployment: its version, desired state or mode differ in b (an edited one); nil for none
	prefix int    // the versions (planContext.versions) a and b have alike, from the first
	// whether a deployment moved that is not of an edited item of edited
	// (notedCodes), nil edited when not asked yet
	edited     *editSelection
	otherMoved bool
}

// holds reports whether the bytes of action sp read the same in both
// contexts: under no deployment that differs, bringing no version that
// does.
func (m *codeMap) holds(sp span) bool {
	return (sp.dep < 0 || m.moved == nil || !m.moved[sp.dep]) && sp.ver < int32(m.prefix)
}

// codesOf returns the codeMap of a and b, kept in *memo for the pair last
// asked.
func codesOf(memo **codeMap, a, b *planContext) *codeMap {
	if m := *memo; m != nil && m.a == a && m.b == b {
		return m
	}
	m := &codeMap{a: a, b: b}
	*memo = m
	m.same = a == b || sameCodes(a, b)
	if !m.same {
		return m
	}
	m.prefix = len(a.versions)
	if a == b {
		return m
	}
	for m.prefix = 0; m.prefix < min(len(a.versions), len(b.versions)) && *a.versions[m.prefix] == *b.versions[m.prefix]; m.prefix++ {
	}
	for i := range a.deps {
		x, y := &a.deps[i], &b.deps[i]
		if x.Version != y.Version || x.Desired != y.Desired || x.Mode != y.Mode {
			if m.moved == nil {
				m.moved = make([]bool, len(a.deps))
			}
			m.moved[i] = true
		}
	}
	return m
}

// sameCodes reports whether the records of plan context a read in b as
// they do in a, but for the actions that codeMap.holds excepts: the same
// layout (sameLayout) and the same reasons.
func sameCodes(a, b *planContext) bool {
	return sameLayout(a, b) && len(a.cat.reasons) == len(b.cat.reasons) &&
		(len(a.cat.reasons) == 0 || &a.cat.reasons[0] == &b.cat.reasons[0])
}

// sameInventory reports whether the records of a and b, of one computer,
// read detected versions from the same place.
func sameInventory(a, b *ComputerPlan) bool {
	if a.comp != b.comp || a.extra != nil || b.extra != nil {
		return false
	}
	sa, sb := a.pc.fleet.Computers[a.comp].Software, b.pc.fleet.Computers[b.comp].Software
	return len(sa) == len(sb) && (len(sa) == 0 || &sa[0] == &sb[0])
}

// aloneItems reports whether the sequencer plans each of items at its own
// turn by itself alone: a software without prerequisite rules or
// configuration task, placed among the unordered items, that is no item's
// configuration task. Its action then depends on its detection and its
// winner alone, unless an item whose rules read it is planned too (see
// readersOf).
func aloneItems(cat *Catalogue, items []int32) bool {
	for _, k := range items {
		it := &cat.items[k]
		if it.sw == nil || len(it.prereqs) > 0 || len(it.byVersion) > 0 || it.config >= 0 || it.placed != placedUnordered {
			return false
		}
	}
	for k := range cat.items {
		if c := cat.items[k].config; c >= 0 && slices.Contains(items, c) {
			return false
		}
	}
	return true
}

// readersOf returns, by item, whether the item's prerequisite rules name one
// of items, or an item that does, and so on: the items whose actions may
// change when those of items do. A computer whose plan has none of them
// keeps every other action when items' change.
func readersOf(cat *Catalogue, items []int32) []bool {
	read := make([]bool, len(cat.items))
	names := func(rules []prereq) bool {
		for _, r := range rules {
			for _, t := range r.subjects {
				if read[t] || slices.Contains(items, t) {
					return true
				}
			}
			for _, t := range r.on {
				if read[t] || slices.Contains(items, t) {
					return true
				}
			}
		}
		return false
	}
	for grew := true; grew; { // to a fixed point: chains of rules are short
		grew = false
		for k := range cat.items {
			it := &cat.items[k]
			if read[k] {
				continue
			}
			n := names(it.prereqs)
			for _, v := range it.byVersion {
				n = n || names(v.rules)
			}
			if n {
				read[k], grew = true, true
			}
		}
	}
	return read
}

// oneState is what detection found of one item, read back from the item's
// action in a record: the sequencer plans the item's new action from it.
type oneState struct {
	it      int32
	present bool
	ver     *immy.Version
	ref     vref
	known   bool
}

func (s *oneState) software(it int32) (bool, *immy.Version, vref, Test, bool) {
	if it != s.it {
		return false, nil, 0, TestUnknown, true
	}
	return s.present, s.ver, s.ref, TestUnknown, s.known
}

func (s *oneState) task(int32) Test { return TestUnknown }

// splice writes into cp the record of old with the actions of the edited
// items replaced: each edited item had a decision in old and has one now
// (sc.sitems), is isolated, and old's codes read the same in p's plan
// context. It reports false, writing nothing, when it cannot.
func (p *Planner) splice(w *worker, sc *editScratch, sel *editSelection, c int, old *ComputerPlan, s *sessionFilter, cp *ComputerPlan) bool {
	if !codesOf(&sc.codes, old.pc, p.pc).same || old.extra != nil {
		return false
	}
	if !sel.alone {
		return false
	}
	end := sc.end
	// the edited items' actions (sc.spans, in record order), with their new
	// winners; every other action read the same, of an item that reads none
	// of them (scanEdited)
	if !sc.others {
		return false
	}
	sc.edits = sc.edits[:0]
	unique := sc.unique // each item's action once: diffSplice pairs them by place
	for k, sp := range sc.spans {
		i, _ := slices.BinarySearch(sel.edit.items, sp.item)
		if sp.dep < 0 || sc.newWins[i] < 0 {
			return false // the item lost its decision, or its action is not its own
		}
		sc.edits = append(sc.edits, spliceEdit{at: k, dep: sc.newWins[i]})
	}
	n := 0
	for _, w := range sc.newWins {
		if w >= 0 {
			n++
		}
	}
	if n != len(sc.edits) {
		return false // an item decided now that was not has no place yet
	}
	comp := &p.fleet.Computers[c]
	*cp = ComputerPlan{ID: comp.ID, pc: p.pc, comp: int32(c), tenant: -1}
	if t, ok := p.ix.ComputerTenant(c); ok {
		cp.tenant = int32(t)
	}
	b := sc.results.tail()
	prev := 0
	var note *spliceNote
	if unique {
		note = sc.note(old.pc, len(sc.edits))
		note.items, note.otherVer = sel.edit.items, sc.otherVer
	}
	for _, e := range sc.edits {
		sp := sc.spans[e.at]
		d := decoder{c: old, buf: old.rec[sp.start:sp.end], prevA: sp.prev}
		a := d.action()
		st := oneState{it: sp.item, present: a.detected != nil, ver: a.detected, ref: a.dref, known: !w.inv.script[sp.item]}
		w.seq.tenant = cp.tenant
		acts := w.seq.run([]seqItem{{it: sp.item, dep: e.dep}}, &st, s.kind == OnboardingSession)
		if len(acts) != 1 || len(w.seq.probs) > 0 {
			return false
		}
		acts[0].tell = a.tell // the inventory's, as invState tells it
		w.enc.reset()
		w.enc.prevA = sp.prev
		w.enc.actions(p.pc, acts)
		b = append(b, old.rec[prev:sp.start]...)
		if note != nil {
			ns := splicedSpan{item: sp.item, prev: sp.prev, oldStart: sp.start, oldEnd: sp.end, newStart: int32(len(b)), lossAt: -1}
			ns.newEnd = ns.newStart + int32(len(w.enc.buf))
			note.spans = append(note.spans, ns)
		}
		b = append(b, w.enc.buf...)
		prev = int(sp.end)
	}
	b = append(b, old.rec[prev:end]...)
	if note != nil {
		note.oldEnd, note.newEnd = int32(end), int32(len(b))
	}
	w.enc.reset()
	w.enc.buf = b
	nlost := len(sc.out)
	if sc.scanned {
		nlost = p.spliceLosers(w, sc, sel, old, note)
	} else {
		p.encodeLosers(w, sc, sel, note)
	}
	b = w.enc.buf
	w.enc.buf = nil
	cp.nact, cp.nlost = old.nact, uint32(nlost)
	cp.splice = note
	cp.rec = sc.results.keep(b)
	return true
}

// spliceEdit is an edited item's action in a record: its span's index and
// the item's new winner.
type spliceEdit struct {
	at  int
	dep int32
}

// spliceNote is how splice made a record from an older one: the older
// record's actions, but for the spans it replaced; the losers may differ.
// Diff then reads only those spans (diffSplice), after checking that the
// record it compares with reads as the older one did.
type spliceNote struct {
	from           weak.Pointer[planContext] // the older record's plan context
	items          []int32                   // the edited items (deploymentEdit.items)
	otherVer       int32                     // the last version of planContext.versions the other items' actions bring, -1 for none
	oldEnd, newEnd int32                     // where the actions end in the older record, in the new one
	spans          []splicedSpan             // in record order
}

// splicedSpan is an action splice replaced: its item, the item of the
// action before it (0 for none: the decoder's state there), and where its
// bytes are in the older record and in the new one. The item's group of
// losers in the new record is at [lossAt, lossEnd), after the group of item
// lossPrev (0 for none); an empty one where the item has no losers, at the
// place its group would take; lossAt is -1 when not known. A later edit of
// the same items splices the new record from these places without reading
// the rest of it (spliceNoted).
type splicedSpan struct {
	item, prev                int32
	oldStart, oldEnd          int32
	newStart, newEnd          int32
	lossAt, lossEnd, lossPrev int32
}

// note returns a new spliceNote of a record spliced from one of plan
// context from, with room for n spans; notes and their spans are taken
// from chunks shared by the records of one Replan.
func (sc *editScratch) note(from *planContext, n int) *spliceNote {
	if sc.noteFrom != from {
		sc.noteFrom, sc.noteWeak = from, weak.Make(from)
	}
	if len(sc.notes) == cap(sc.notes) {
		sc.notes = make([]spliceNote, 0, 512)
	}
	if len(sc.noteSpans)+n > cap(sc.noteSpans) {
		sc.noteSpans = make([]splicedSpan, 0, max(512, n))
	}
	sc.notes = sc.notes[:len(sc.notes)+1]
	note := &sc.notes[len(sc.notes)-1]
	k := len(sc.noteSpans)
	sc.noteSpans = sc.noteSpans[:k+n]
	*note = spliceNote{from: sc.noteWeak, spans: sc.noteSpans[k : k : k+n]}
	return note
}

// lossGroup is the losers of one item in a record: its item, the item of
// the group before (0 for none: the decoder's state there), how many, and
// where the group's header, its losers and its end are.
type lossGroup struct {
	item, prev, n  int32
	hdr, body, end int32
}

// scanLosers appends the groups of losers of c's record, which start at
// from, and reports whether they are as the encoder writes one decision's
// losers: each item once, ascending, with at least one loser. It reads the
// form of encoder.losers and resolves nothing.
func scanLosers(c *ComputerPlan, from int, dst []lossGroup) ([]lossGroup, bool) {
	d := decoder{c: c, buf: c.rec[from:]}
	at := func() int32 { return int32(len(c.rec) - len(d.buf)) }
	for len(d.buf) > 0 {
		g := lossGroup{prev: d.prevL, hdr: at()}
		g.item = d.prevL + int32(d.uvarint()>>2)
		n := d.uvarint()
		if (len(dst) > 0 && g.item <= d.prevL) || n == 0 || n > uint64(len(d.buf)) || uint(g.item) >= uint(len(c.pc.itemFirst)) {
			return dst, false
		}
		d.prevL, g.n, g.body = g.item, int32(n), at()
		for ; n > 0 && len(d.buf) > 0; n-- {
			d.uvarint()
		}
		if n > 0 {
			return dst, false
		}
		g.end = at()
		dst = append(dst, g)
	}
	return dst, true
}

// decode appends the losers of group g of c's record, as
// ComputerPlan.losers reads them.
func (g *lossGroup) decode(c *ComputerPlan, dst []loserRec) []loserRec {
	d := decoder{c: c, buf: c.rec[g.body:g.end]}
	first := c.pc.itemFirst[g.item]
	for range g.n {
		x := d.uvarint()
		dst = append(dst, loserRec{item: g.item, lost: lost{dep: first + int32(x>>4), rule: Rule(x & 15)}})
	}
	return dst
}

// spliceLosers appends to w.enc.buf the losers of old's record (its groups,
// sc.groups), the edited items' replaced by those of w.decs, as encoding
// them merged would; every other group is copied, its header written anew
// when the group before it changed. It returns how many losers it wrote.
func (p *Planner) spliceLosers(w *worker, sc *editScratch, sel *editSelection, old *ComputerPlan, note *spliceNote) int {
	n := 0
	decs := w.decs
	lp := lossPlaces{note: note, items: sel.edit.items}
	put := func(dec *decision) {
		if dec.nlost > 0 {
			at, prev := len(w.enc.buf), w.enc.prevL
			w.enc.losers(p.pc, dec.item, w.loss[dec.lost0:dec.lost0+dec.nlost])
			lp.wrote(dec.item, at, len(w.enc.buf), prev)
			n += int(dec.nlost)
		}
	}
	for _, g := range sc.groups {
		for len(decs) > 0 && decs[0].item < g.item {
			put(&decs[0])
			decs = decs[1:]
		}
		if sel.isEdited[g.item] {
			continue
		}
		lp.before(g.item, len(w.enc.buf), w.enc.prevL)
		if g.prev == w.enc.prevL {
			w.enc.buf = append(w.enc.buf, old.rec[g.hdr:g.end]...)
		} else {
			w.enc.buf = appendUvarint(w.enc.buf, uint64(g.item-w.enc.prevL)<<2)
			w.enc.buf = appendUvarint(w.enc.buf, uint64(g.n))
			w.enc.buf = append(w.enc.buf, old.rec[g.body:g.end]...)
		}
		w.enc.prevL = g.item
		n += int(g.n)
	}
	for i := range decs {
		put(&decs[i])
	}
	lp.before(math.MaxInt32, len(w.enc.buf), w.enc.prevL)
	return n
}

// lossPlaces records in a splice note where the edited items' groups of
// losers are in the record written (splicedSpan.lossAt): a writer of groups
// in item order calls before ahead of every other group, wrote after an
// edited item's, and before(math.MaxInt32, ...) at the end. A nil note
// records nothing.
type lossPlaces struct {
	note  *spliceNote
	items []int32 // the edited items not placed yet, ascending
}

// before places every edited item below item not placed yet: it has no
// group, whose place is at, after the group of item prev.
func (lp *lossPlaces) before(item int32, at int, prev int32) {
	for len(lp.items) > 0 && lp.items[0] < item {
		lp.set(lp.items[0], at, at, prev)
		lp.items = lp.items[1:]
	}
}

// wrote places the group of item, written at [at, end) after the group of
// item prev.
func (lp *lossPlaces) wrote(item int32, at, end int, prev int32) {
	lp.before(item, at, prev)
	if len(lp.items) > 0 && lp.items[0] == item {
		lp.set(item, at, end, prev)
		lp.items = lp.items[1:]
	}
}

func (lp *lossPlaces) set(item int32, at, end int, prev int32) {
	if lp.note == nil {
		return
	}
	for i := range lp.note.spans {
		if s := &lp.note.spans[i]; s.item == item {
			s.lossAt, s.lossEnd, s.lossPrev = int32(at), int32(end), prev
		}
	}
}
