package resolver

import (
	"bytes"
	"cmp"
	"slices"
	"sync"

	"github.com/immyoss/engine/immy"
)

// Diff of two computers' plans from their records. diffComputer spells both
// plans out whole (every decision and action in its public form, with its
// strings) and compares those; most of an edit's changed computers differ in
// one item or two. diffRecords decodes both records into their internal
// actions, pairs them by item, tells most pairs equal without spelling them
// out, and spells out only the decisions and actions that changed. A record
// Replan spliced from the other (update_splice.go) is read only at the spans
// it replaced (diffSplice). TestDiffRecordsEqualsPlain and
// TestDiffSpliceEqualsPlain pin them to diffComputer.

// diffScratch is the memory of one diffRecords.
type diffScratch struct {
	a, b       []action
	ai, bi     []int // decisions: indices of a and b by item
	ak, bk     []int // actions: indices of a and b by item, then place
	aocc, bocc []int // the occurrence of each of ak, bk among its item's actions
	keys       []uint64
	as, bs     []span
	seen       []uint32 // by item: seen in this record when gen
	gen        uint32
	decs       []itemDiff[DecisionDiff]
	acts       []itemDiff[ActionDiff]
	pub        []Action // the free tail of a chunk of the diffs' actions (keep)
}

// itemDiff is a diff found in record order, sorted by item before it is
// returned.
type itemDiff[T any] struct {
	item int32
	d    T
}

var diffScratches = sync.Pool{New: func() any { return new(diffScratch) }}

// diffRecords is diffComputer for two plans whose records read against the
// same catalogue items; ok is false, and nothing done, for any others.
// memo keeps what diffSpans needs to know of the plan contexts of the pair
// last diffed.
func diffRecords(a, b *ComputerPlan, memo **codeMap) (d ComputerDiff, ok bool) {
	if a.pc == nil || b.pc == nil || !sameItems(a.pc.cat, b.pc.cat) {
		return ComputerDiff{}, false
	}
	sc := diffScratches.Get().(*diffScratch)
	defer diffScratches.Put(sc)
	d = ComputerDiff{ID: b.ID, WasExcluded: a.Excluded, Excluded: b.Excluded}
	if cm := codesOf(memo, a.pc, b.pc); cm.same && sameInventory(a, b) && (sc.diffSplice(a, b, &d) || sc.diffSpans(a, b, cm, &d)) {
		return d, true
	}
	sc.a, sc.b = decodeActions(a, sc.a[:0]), decodeActions(b, sc.b[:0])
	pa, pb := a.pc, b.pc
	items := pa.cat.items

	// decisions, by item: the actions under a deployment
	sc.ai, sc.bi = decisionsOf(sc.a, sc.ai[:0]), decisionsOf(sc.b, sc.bi[:0])
	x, y := sc.ai, sc.bi
	for len(x) > 0 || len(y) > 0 {
		switch {
		case len(y) == 0 || (len(x) > 0 && sc.a[x[0]].item < sc.b[y[0]].item):
			w := &pa.deps[sc.a[x[0]].dep]
			d.Decisions = append(d.Decisions, DecisionDiff{Item: items[sc.a[x[0]].item].id, OldWinner: w.ID, OldDesired: desiredText(w)})
			x = x[1:]
		case len(x) == 0 || sc.b[y[0]].item < sc.a[x[0]].item:
			w := &pb.deps[sc.b[y[0]].dep]
			d.Decisions = append(d.Decisions, DecisionDiff{Item: items[sc.b[y[0]].item].id, NewWinner: w.ID, NewDesired: desiredText(w)})
			y = y[1:]
		default:
			wa, wb := &pa.deps[sc.a[x[0]].dep], &pb.deps[sc.b[y[0]].dep]
			if wa == wb || (wa.ID == wb.ID && wa.Desired == wb.Desired && wa.Mode == wb.Mode) {
				// the same winner, of the same desired state
			} else if da, db := desiredText(wa), desiredText(wb); wa.ID != wb.ID || da != db {
				d.Decisions = append(d.Decisions, DecisionDiff{Item: items[sc.a[x[0]].item].id, OldWinner: wa.ID, NewWinner: wb.ID,
					OldDesired: da, NewDesired: db})
			}
			x, y = x[1:], y[1:]
		}
	}

	// actions, by item and occurrence, as diffActions pairs them
	sc.keys, sc.ak, sc.aocc = keyedOrder(sc.a, sc.keys, sc.ak[:0], sc.aocc[:0])
	sc.keys, sc.bk, sc.bocc = keyedOrder(sc.b, sc.keys, sc.bk[:0], sc.bocc[:0])
	// key compares a's i-th keyed action with b's j-th
	key := func(i, j int) int {
		return cmp.Or(cmp.Compare(sc.a[sc.ak[i]].item, sc.b[sc.bk[j]].item), cmp.Compare(sc.aocc[i], sc.bocc[j]))
	}
	i, j := 0, 0
	for i < len(sc.ak) || j < len(sc.bk) {
		switch {
		case j == len(sc.bk) || (i < len(sc.ak) && key(i, j) < 0):
			old := a.publicAction(&sc.a[sc.ak[i]])
			d.Actions = append(d.Actions, ActionDiff{Item: old.Item, Change: ActionRemoved, Old: &old})
			i++
		case i == len(sc.ak) || key(i, j) > 0:
			nw := b.publicAction(&sc.b[sc.bk[j]])
			d.Actions = append(d.Actions, ActionDiff{Item: nw.Item, Change: ActionAdded, New: &nw})
			j++
		default:
			x, y := &sc.a[sc.ak[i]], &sc.b[sc.bk[j]]
			if !sameAction(a, x, b, y) {
				if old, nw := a.publicAction(x), b.publicAction(y); old != nw {
					d.Actions = append(d.Actions, ActionDiff{Item: old.Item, Change: ActionChanged, Old: &old, New: &nw})
				}
			}
			i, j = i+1, j+1
		}
	}
	return d, true
}

// sameItems reports whether two catalogues have the same items, so that
// item indices mean the same in both (a catalogue updated for another fleet
// shares them; see Planner.Update).
func sameItems(a, b *Catalogue) bool {
	return a == b || (len(a.items) == len(b.items) && (len(a.items) == 0 || &a.items[0] == &b.items[0]))
}

// decodeActions appends the actions of c's record, their versions resolved.
func decodeActions(c *ComputerPlan, dst []action) []action {
	d := decoder{c: c, buf: c.rec}
	for range c.nact {
		dst = append(dst, d.action())
	}
	return dst
}

// keyedOrder appends to dst the indices of acts by item, then place, and to
// occ each one's occurrence among its item's actions (keyed's order). The
// keys are packed item and place, sorted as integers.
func keyedOrder(acts []action, keys []uint64, dst, occ []int) ([]uint64, []int, []int) {
	keys = keys[:0]
	for i := range acts {
		keys = append(keys, uint64(acts[i].item)<<32|uint64(i))
	}
	slices.Sort(keys)
	for k, key := range keys {
		n := 0
		if k > 0 && keys[k-1]>>32 == key>>32 {
			n = occ[len(occ)-1] + 1
		}
		dst, occ = append(dst, int(uint32(key))), append(occ, n)
	}
	return keys, dst, occ
}

// publicAction spells out an action of c's record, as Actions does.
func (c *ComputerPlan) publicAction(a *action) Action {
	out := c.pc.cat.publicAction(c.pc.deps, a)
	out.DetectedFrom = c.detectedFrom(a)
	return out
}

// sameAction reports whether x, an action of a's record, and y, of b's,
// spell the same Action, without spelling them: true only when they
// certainly do (a false one is spelt out and compared by the caller).
func sameAction(a *ComputerPlan, x *action, b *ComputerPlan, y *action) bool {
	if x.item != y.item || x.kind != y.kind || x.tell != y.tell || (x.dep < 0) != (y.dep < 0) ||
		!sameVersion(x.version, y.version) || !sameVersion(x.detected, y.detected) {
		return false
	}
	if x.dep >= 0 && a.pc.deps[x.dep].ID != b.pc.deps[y.dep].ID {
		return false
	}
	ra, rb := &a.pc.cat.reasons[x.reason], &b.pc.cat.reasons[y.reason]
	if ra.text != rb.text || ra.about != rb.about {
		return false
	}
	if x.tell && x.detected != nil { // detected_from reads the same entry of the same inventory
		sa, sb := a.pc.fleet.Computers[a.comp].Software, b.pc.fleet.Computers[b.comp].Software
		if x.dref != y.dref || len(sa) != len(sb) || (len(sa) > 0 && &sa[0] != &sb[0]) {
			return false
		}
	}
	return true
}

// sameVersion reports whether two versions are certainly the same (nil for
// none).
func sameVersion(x, y *immy.Version) bool {
	return x == y || (x != nil && y != nil && *x == *y)
}

// diffSpans diffs the records of a and b, whose codes read the same (cm)
// over the same inventory, when they hold the same items in the same order,
// each once: the actions are paired by place, and a pair with the same bytes
// (after the same item) under a deployment that did not change is the same
// action and decision, unread. It reports false, having written nothing in
// d, for records of other shapes.
func (sc *diffScratch) diffSpans(a, b *ComputerPlan, cm *codeMap, d *ComputerDiff) bool {
	sc.as, _ = scanRecord(a, sc.as[:0])
	sc.bs, _ = scanRecord(b, sc.bs[:0])
	if len(sc.as) != len(sc.bs) {
		return false
	}
	if n := len(a.pc.cat.items); len(sc.seen) < n {
		sc.seen = make([]uint32, n)
	}
	sc.gen++
	if sc.gen == 0 {
		clear(sc.seen)
		sc.gen = 1
	}
	for k := range sc.as {
		it := sc.as[k].item
		if sc.bs[k].item != it || sc.seen[it] == sc.gen {
			return false
		}
		sc.seen[it] = sc.gen
	}
	sc.decs, sc.acts = sc.decs[:0], sc.acts[:0]
	for k := range sc.as {
		x, y := sc.as[k], sc.bs[k]
		if string(a.rec[x.start:x.end]) == string(b.rec[y.start:y.end]) && cm.holds(x) {
			continue
		}
		prev := int32(0)
		if k > 0 {
			prev = sc.as[k-1].item
		}
		da, db := decoder{c: a, buf: a.rec[x.start:x.end], prevA: prev}, decoder{c: b, buf: b.rec[y.start:y.end], prevA: prev}
		xa, yb := da.action(), db.action()
		sc.diffPair(a, b, &xa, &yb)
	}
	d.Decisions, d.Actions = byItem(sc.decs), byItem(sc.acts)
	return true
}

// diffPair appends to sc.decs and sc.acts how xa, an action of a's record,
// changed into yb, b's action of the same item at the same place.
func (sc *diffScratch) diffPair(a, b *ComputerPlan, xa, yb *action) {
	pa, pb := a.pc, b.pc
	id := pa.cat.items[xa.item].id
	var dd DecisionDiff
	switch {
	case xa.dep >= 0 && yb.dep >= 0:
		wa, wb := &pa.deps[xa.dep], &pb.deps[yb.dep]
		if da, db := desiredText(wa), desiredText(wb); wa.ID != wb.ID || da != db {
			dd = DecisionDiff{Item: id, OldWinner: wa.ID, NewWinner: wb.ID, OldDesired: da, NewDesired: db}
		}
	case xa.dep >= 0:
		w := &pa.deps[xa.dep]
		dd = DecisionDiff{Item: id, OldWinner: w.ID, OldDesired: desiredText(w)}
	case yb.dep >= 0:
		w := &pb.deps[yb.dep]
		dd = DecisionDiff{Item: id, NewWinner: w.ID, NewDesired: desiredText(w)}
	}
	if dd.Item != "" {
		sc.decs = append(sc.decs, itemDiff[DecisionDiff]{xa.item, dd})
	}
	if !sameAction(a, xa, b, yb) {
		if old, nw := a.publicAction(xa), b.publicAction(yb); old != nw {
			sc.acts = append(sc.acts, itemDiff[ActionDiff]{xa.item, ActionDiff{Item: id, Change: ActionChanged, Old: sc.keep(old), New: sc.keep(nw)}})
		}
	}
}

// keep returns a of an ActionDiff, in memory taken from chunks: a diff of
// many computers allocates its actions by the chunk, not one by one. A
// chunk's slots are handed out once; the scratch keeps only its free tail.
func (sc *diffScratch) keep(a Action) *Action {
	if len(sc.pub) == cap(sc.pub) {
		sc.pub = make([]Action, 0, 128)
	}
	sc.pub = append(sc.pub, a)
	return &sc.pub[len(sc.pub)-1]
}

// diffSplice diffs a and b, whose codes read the same over the same
// inventory, when b's record was spliced from a's (b.splice): a's plan
// context is the one the note names, and a's record is, byte for byte, the
// older record outside the spans replaced, with the same item at each of
// them. Every other action was checked by splice to read the same in both
// contexts and to depend on no replaced one, so only the replaced spans are
// read. It reports false, having written nothing in d, for any other pair.
// TestDiffSpliceEqualsPlain pins it to diffComputer.
func (sc *diffScratch) diffSplice(a, b *ComputerPlan, d *ComputerDiff) bool {
	n := b.splice
	if n == nil || a.Excluded || b.Excluded || a.nact != b.nact || n.from.Value() != a.pc ||
		int(n.oldEnd) > len(a.rec) || int(n.newEnd) > len(b.rec) {
		return false
	}
	sc.decs, sc.acts = sc.decs[:0], sc.acts[:0]
	pa, pb := int32(0), int32(0) // where the bytes before the next span start in a.rec, b.rec
	for _, s := range n.spans {
		if s.oldStart < pa || s.oldEnd > n.oldEnd || !bytes.Equal(a.rec[pa:s.oldStart], b.rec[pb:s.newStart]) {
			return false
		}
		da := decoder{c: a, buf: a.rec[s.oldStart:n.oldEnd], prevA: s.prev}
		xa := da.action()
		if xa.item != s.item || len(da.buf) != int(n.oldEnd-s.oldEnd) { // a's span is not the older record's
			return false
		}
		db := decoder{c: b, buf: b.rec[s.newStart:s.newEnd], prevA: s.prev}
		yb := db.action()
		sc.diffPair(a, b, &xa, &yb)
		pa, pb = s.oldEnd, s.newEnd
	}
	if !bytes.Equal(a.rec[pa:n.oldEnd], b.rec[pb:n.newEnd]) {
		return false
	}
	d.Decisions, d.Actions = byItem(sc.decs), byItem(sc.acts)
	return true
}

// byItem returns the diffs sorted by item, nil for none.
func byItem[T any](ds []itemDiff[T]) []T {
	if len(ds) == 0 {
		return nil
	}
	slices.SortFunc(ds, func(x, y itemDiff[T]) int { return cmp.Compare(x.item, y.item) })
	out := make([]T, len(ds))
	for i := range ds {
		out[i] = ds[i].d
	}
	return out
}
