package resolver

import (
	"encoding/binary"
	"sync"

	"github.com/immyoss/engine/immy"
)

// Reading a plan. A ComputerPlan's record (encode.go) holds everything its
// public form needs, decided: the actions with their winners, the losers with
// the rules they lost on. Reading one decodes it in a single pass, resolves
// the versions it refers to and spells ids; it ranks nothing again. The one
// thing worked out on read is an action's detected_from text, and only for
// the actions the planner marked as having a choice worth telling. The
// scratch of a read comes from a pool, so that reading every computer of a
// fleet allocates only the slices it returns.

// decoder reads the records of one ComputerPlan.
type decoder struct {
	c            *ComputerPlan
	buf          []byte
	prevA, prevL int32
}

func (d *decoder) uvarint() uint64 {
	b := d.buf
	if len(b) == 0 || b[0] >= 0x80 {
		return d.uvarintLong()
	}
	d.buf = b[1:] // most values: one byte
	return uint64(b[0])
}

// uvarintLong is uvarint past one byte; apart, so that uvarint inlines.
func (d *decoder) uvarintLong() uint64 {
	if b := d.buf; len(b) > 1 && b[1] < 0x80 { // a reason code above 7 (long form)
		d.buf = b[2:]
		return uint64(b[0]&0x7f) | uint64(b[1])<<7
	}
	v, n := binary.Uvarint(d.buf)
	if n <= 0 { // unreachable: the planner wrote the buffer
		d.buf = nil
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

// skim decodes the next action's item and deployment (-1 for none) only,
// as next does: what a reader of decisions needs.
func (d *decoder) skim() (item, dep int32) {
	var code uint64
	switch b := d.buf; {
	case len(b) >= 2 && b[0]&1 == 1: // the common form
		item, code = d.prevA+int32(unzigzag(uint64(b[0]>>1))), uint64(b[1]&31)
		d.buf = b[2:]
	case len(b) >= 3 && b[0]&3 == 2: // the short form
		item, code = d.prevA+int32(unzigzag(uint64(b[0]>>2))), uint64(b[1]&15)
		d.buf = b[3:]
	default:
		item = d.prevA + int32(unzigzag(d.uvarint()>>3))
		code = d.uvarint()
		d.uvarint() // reason and kind
		if vc := d.uvarint(); vc >= 128 {
			d.uvarint() // the detected code
		}
	}
	d.prevA = item
	pc := d.c.pc
	if uint(item) >= uint(len(pc.itemFirst)) { // unreachable: the planner wrote the buffer
		item, d.buf = 0, nil
	}
	if code == 0 {
		return item, -1
	}
	return item, pc.itemFirst[item] + int32(code) - 1
}

// action decodes the next action, its versions resolved.
func (d *decoder) action() action { return d.next(true) }

// next decodes the next action; without versions, it leaves its detected
// and brought versions nil (a reader of decisions needs none).
func (d *decoder) next(versions bool) action {
	pc := d.c.pc
	var a action
	a.dep = -1
	var dep, vc, dc uint64
	switch {
	case len(d.buf) >= 2 && d.buf[0]&1 == 1: // the common form
		a.item = d.prevA + int32(unzigzag(uint64(d.buf[0]>>1)))
		c := &commonActions[d.buf[1]>>5]
		dep, vc, a.kind, a.reason = uint64(d.buf[1]&31), c.vc, c.kind, c.reason
		d.buf = d.buf[2:]
	case len(d.buf) >= 3 && d.buf[0]&3 == 2: // the short form
		x := uint64(d.buf[1]) | uint64(d.buf[2])<<8
		a.item = d.prevA + int32(unzigzag(uint64(d.buf[0]>>2)))
		dep, vc = x&15, x>>4&3
		a.kind, a.reason = ActionKind(x>>6&15), uint32(x>>10)
		d.buf = d.buf[3:]
	default:
		zt := d.uvarint() >> 2
		a.item, a.tell = d.prevA+int32(unzigzag(zt>>1)), zt&1 == 1
		dep = d.uvarint()
		kr := d.uvarint()
		a.kind, a.reason = ActionKind(kr&15), uint32(kr>>4)
		vc = d.uvarint()
		if vc < 128 {
			vc, dc = vc>>5, vc&31
		} else {
			vc, dc = vc-128, d.uvarint()
		}
	}
	d.prevA = a.item
	if uint(a.item) >= uint(len(pc.itemFirst)) { // unreachable: the planner wrote the buffer
		a.item, d.buf = 0, nil
	}
	if dep > 0 {
		a.dep = pc.itemFirst[a.item] + int32(dep) - 1
	}
	if dc > 0 {
		tag := refEntry
		if d.c.extra != nil && d.c.extra.state {
			tag = refExtra
		}
		a.dref = newRef(tag, int(dc-1))
	}
	if !versions {
		return a
	}
	if a.dref != 0 {
		a.detected = d.c.version(a.dref, a.item)
	}
	switch vc {
	case vcNone:
	case vcLatest:
		a.version = pc.latest[a.item]
	case vcDeployed:
		if a.dep >= 0 {
			a.version = &pc.deps[a.dep].Version
		}
	case vcDetected:
		a.version = a.detected
	default:
		if i := vc - vcRef; i < uint64(len(pc.versions)) {
			a.version = pc.versions[i]
		}
	}
	return a
}

// loserRec is a loser of the decision of item.
type loserRec struct {
	item int32
	lost
}

// losers appends to dst the losers of the computer's decisions, by item, each
// item's best first: those of the record (d is after its actions) and, for
// the items the computer did not decide afresh, its group's. Both lists come
// by item, so they merge in one pass.
func (c *ComputerPlan) losers(d *decoder, dst []loserRec) []loserRec {
	var shared []loserRec
	if c.shared != nil {
		shared = *c.shared
	}
	pc := c.pc
	for len(d.buf) > 0 {
		item := d.prevL + int32(d.uvarint()>>2)
		d.prevL = item
		n := d.uvarint()
		if uint(item) >= uint(len(pc.itemFirst)) { // unreachable: the planner wrote the buffer
			break
		}
		for len(shared) > 0 && shared[0].item < item {
			dst, shared = append(dst, shared[0]), shared[1:]
		}
		for len(shared) > 0 && shared[0].item == item { // decided afresh
			shared = shared[1:]
		}
		first := pc.itemFirst[item]
		for ; n > 0 && len(d.buf) > 0; n-- {
			x := d.uvarint()
			dst = append(dst, loserRec{item: item, lost: lost{dep: first + int32(x>>4), rule: Rule(x & 15)}})
		}
	}
	return append(dst, shared...)
}

// decode returns the actions in order and the losers by item, appended to
// the slices given.
func (c *ComputerPlan) decode(acts []action, losers []loserRec) ([]action, []loserRec) {
	d := decoder{c: c, buf: c.rec}
	for range c.nact {
		acts = append(acts, d.action())
	}
	return acts, c.losers(&d, losers)
}

// version resolves a reference for an action on item.
func (c *ComputerPlan) version(r vref, item int32) *immy.Version {
	i := int(r >> 2)
	switch r & 3 {
	case refTable:
		return c.pc.versions[i]
	case refExtra:
		return &c.extra.vals[i]
	case refEntry:
		e := &c.pc.fleet.Computers[c.comp].Software[i]
		v := &e.Version
		hs := c.pc.names.hits(&c.pc.cat.detect, e.Name)
		for j := range hs {
			if hs[j].item == item && !hs[j].ver.IsZero() {
				v = &hs[j].ver
				break
			}
		}
		if f := c.pc.cat.items[item].filters; f != nil {
			v = f.mapVersion(v)
		}
		return v
	}
	return nil
}

// decisionsOf appends the indices of the actions that carry a decision, by
// item (an insertion sort: the actions come mostly in item order, and each
// item has one).
func decisionsOf(acts []action, dst []int) []int {
	start := len(dst)
	for i := range acts {
		if acts[i].dep < 0 {
			continue
		}
		dst = append(dst, i)
		j := len(dst) - 1
		for ; j > start && acts[dst[j-1]].item > acts[i].item; j-- {
			dst[j] = dst[j-1]
		}
		dst[j] = i
	}
	return dst
}

// readScratch is the memory of one read of a ComputerPlan.
type readScratch struct {
	wins   []win
	losers []loserRec
}

// win is a decision as a read finds it in the record: the item's action
// carries its winning deployment.
type win struct{ item, dep int32 }

var readScratches = sync.Pool{New: func() any { return new(readScratch) }}

// Decisions returns the decisions, sorted by item id.
func (c *ComputerPlan) Decisions() []Decision {
	if c.pc == nil {
		return nil
	}
	r := readScratches.Get().(*readScratch)
	defer readScratches.Put(r)
	d := decoder{c: c, buf: c.rec}
	wins := r.wins[:0]
	for range c.nact {
		item, dep := d.skim()
		if dep < 0 {
			continue
		}
		// by item: an insertion, the actions coming mostly in item order
		wins = append(wins, win{})
		j := len(wins) - 1
		for ; j > 0 && wins[j-1].item > item; j-- {
			wins[j] = wins[j-1]
		}
		wins[j] = win{item, dep}
	}
	losers := c.losers(&d, r.losers[:0])
	r.wins, r.losers = wins, losers
	pc := c.pc
	out := make([]Decision, len(wins))
	cands := make([]Lost, len(losers)) // every loser is of a decision: one block for all
	l := 0
	for i, a := range wins {
		w := &pc.deps[a.dep]
		o := &out[i]
		o.Item, o.Winner, o.Desired, o.Deployment = pc.cat.items[a.item].id, w.ID, desiredText(w), w
		for l < len(losers) && losers[l].item < a.item {
			l++
		}
		l0 := l
		for ; l < len(losers) && losers[l].item == a.item; l++ {
			cands[l] = Lost{Deployment: pc.deps[losers[l].dep].ID, LostOn: losers[l].rule}
		}
		if l > l0 {
			o.Candidates = cands[l0:l:l]
		}
	}
	return out
}

// Decision returns the decision for an item, if there is one.
func (c *ComputerPlan) Decision(item string) (Decision, bool) {
	for _, d := range c.Decisions() {
		if d.Item == item {
			return d, true
		}
	}
	return Decision{}, false
}

// Actions returns the actions in execution order; every decided item has one,
// none included.
func (c *ComputerPlan) Actions() []Action {
	if c.pc == nil {
		return nil
	}
	out := make([]Action, c.nact)
	d := decoder{c: c, buf: c.rec}
	cat, deps := c.pc.cat, c.pc.deps
	for i := range out {
		a := d.action()
		cat.setAction(&out[i], deps, &a)
		if a.tell {
			out[i].DetectedFrom = c.detectedFrom(&a)
		}
	}
	return out
}

// detectedFrom explains which inventory entry an action's detected version
// comes from, when there was a choice (see choice.go); "" otherwise. The
// planner marks the actions that may have one (action.tell): the others
// have none, and cost nothing here.
func (c *ComputerPlan) detectedFrom(a *action) string {
	if !a.tell || a.detected == nil || a.dref&3 != refEntry {
		return ""
	}
	return c.pc.cat.detectedFrom(a.item, c.pc.fleet.Computers[c.comp].Software)
}
