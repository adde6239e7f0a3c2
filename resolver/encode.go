package resolver

import (
	"encoding/binary"
	"slices"
	"sort"

	"github.com/immyoss/engine/immy"
)

// A whole-fleet plan holds millions of actions, so a ComputerPlan keeps them
// encoded in one byte slice, without pointers: nothing for the collector to
// scan, and three to five bytes an action instead of the hundred of its public
// form. Decisions are not stored apart: every decided item has exactly one
// action, under its winning deployment, so the actions carry the winners; the
// losers follow the actions. Versions are references (vref), resolved when
// the plan is read.
//
//	action: the short form, three bytes, when the item is at most 31 away
//	        from the previous action's, the deployment's code below 16, the
//	        version's below 4, nothing detected and the reason below 64:
//	        zigzag(item - previous item)<<1|1, then the 16 bits (little
//	        endian) deployment | version<<4 | kind<<6 | reason<<10. Else the
//	        long form: uvarint zigzag(item - previous item)<<1, uvarint
//	        deployment (0 none, else 1 + its offset among the item's
//	        deployments in the table), uvarint reason<<4|kind, then the
//	        version brought and the detected one: V, the version code (0
//	        none, 1 the item's latest, 2 the deployment's version, 3 the
//	        detected version, else 4 + its index in the table of versions),
//	        and D, the detected code (0 none, else 1 + the index of the
//	        inventory entry, or of ComputerPlan.extra when the plan has one),
//	        as one byte V<<5|D when V < 4 and D < 32, else as uvarint 128+V,
//	        uvarint D. The first byte tells the forms apart: its low bit.
//	losers: per decided item that has losers, uvarint zigzag(item - previous
//	        such item), uvarint count, then per loser (in rank order) uvarint
//	        offset<<4|rule, the offset of the deployment among the item's
//	        deployments in the table. In a whole-fleet plan, the losers of the
//	        decisions a computer shares with its group (tenant and kind) are
//	        kept once, in ComputerPlan.shared, in the same form; the record
//	        then holds those of the items it decided afresh, with a count of
//	        0 where such an item has none left but the group's decision had.

// vref refers to a version without a pointer: its low two bits say where the
// version is, the rest its index there.
type vref uint32

const (
	refNone  = iota // no version
	refTable        // planContext.versions: a version the fleet names (software, deployment, prerequisite)
	refEntry        // the computer's inventory entry of that index, as detection read it
	refExtra        // ComputerPlan.extra: a version a State reported
)

func newRef(tag, i int) vref { return vref(i<<2 | tag) }

// planContext is what a ComputerPlan needs to spell its records.
type planContext struct {
	cat      *Catalogue
	fleet    *immy.Fleet
	deps     []immy.Deployment
	names    *nameCache
	versions []*immy.Version         // refTable
	vindex   map[*immy.Version]int32 // and back
	// the references of the versions most actions bring, to spare a lookup
	depRef    []vref          // by deployment
	latestRef []vref          // by item
	latest    []*immy.Version // by item: its latest version (Catalogue's, packed)
	itemFirst []int32         // by item: its first deployment in the table, which is sorted by item
}

// newPlanContext indexes every version a fleet names: of software, of
// deployments (in the planner's table) and of prerequisites. These are the
// versions actions bring.
func newPlanContext(cat *Catalogue, f *immy.Fleet, table []immy.Deployment, names *nameCache) *planContext {
	pc := &planContext{cat: cat, fleet: f, deps: table, names: names, vindex: map[*immy.Version]int32{}}
	add := func(v *immy.Version) {
		if _, ok := pc.vindex[v]; !ok && !v.IsZero() {
			pc.vindex[v] = int32(len(pc.versions))
			pc.versions = append(pc.versions, v)
		}
	}
	for i := range f.Software {
		sw := &f.Software[i]
		for j := range sw.Versions {
			add(&sw.Versions[j].Version)
			for k := range sw.Versions[j].Prerequisites {
				add(&sw.Versions[j].Prerequisites[k].Version)
			}
		}
		for k := range sw.Prerequisites {
			add(&sw.Prerequisites[k].Version)
		}
	}
	pc.depRef = make([]vref, len(table))
	for i := range table {
		if v := &table[i].Version; !v.IsZero() {
			add(v)
			pc.depRef[i] = newRef(refTable, int(pc.vindex[v]))
		}
	}
	pc.latestRef = make([]vref, len(cat.items))
	pc.latest = make([]*immy.Version, len(cat.items))
	for k := range cat.items {
		pc.latest[k] = cat.items[k].latest
		if v := cat.items[k].latest; v != nil {
			pc.latestRef[k] = newRef(refTable, int(pc.vindex[v]))
		}
	}
	pc.itemFirst = make([]int32, len(cat.items))
	for k := range cat.items {
		pc.itemFirst[k] = int32(sort.Search(len(table), func(i int) bool {
			j, ok := cat.byID[table[i].Item]
			return !ok || j >= int32(k)
		}))
	}
	return pc
}

// Version codes of an action.
const (
	vcNone     = iota
	vcLatest   // the item's latest version
	vcDeployed // the deployment's version
	vcDetected // the detected version (a reinstall)
	vcRef      // 4 + a vref
)

// versionCode returns the code of the version an action brings.
func (pc *planContext) versionCode(a *action) uint64 {
	switch {
	case a.version == nil:
		return vcNone
	case a.version == a.detected:
		return vcDetected
	case a.version == pc.latest[a.item]:
		return vcLatest
	case a.dep >= 0 && a.version == &pc.deps[a.dep].Version:
		return vcDeployed
	}
	if i, ok := pc.vindex[a.version]; ok {
		return vcRef + uint64(i)
	}
	return vcNone // unreachable: every version brought is one the fleet names
}

// drefCode is the code of a detected version's reference: its index + 1,
// its place (inventory entry or extra) known from the plan.
func drefCode(r vref) uint64 {
	if r == 0 {
		return 0
	}
	return uint64(r>>2) + 1
}

func zigzag(v int64) uint64   { return uint64(v<<1) ^ uint64(v>>63) }
func unzigzag(u uint64) int64 { return int64(u>>1) ^ -int64(u&1) }

// encoder appends records to a reusable buffer.
type encoder struct {
	buf          []byte
	prevA, prevL int32
}

func (e *encoder) reset() { e.buf, e.prevA, e.prevL = e.buf[:0], 0, 0 }

func (e *encoder) uvarint(v uint64) { e.buf = appendUvarint(e.buf, v) }

// appendUvarint appends v as binary.AppendUvarint does, inlined for the
// values of one or two bytes that most are.
func appendUvarint(b []byte, v uint64) []byte {
	switch {
	case v < 1<<7: // most values: one byte
		return append(b, byte(v))
	case v < 1<<14: // as binary.AppendUvarint writes it
		return append(b, byte(v)|0x80, byte(v>>7))
	}
	return binary.AppendUvarint(b, v)
}

// actionRoom is the most an action's record takes: five uvarints (the long
// form).
const actionRoom = 5 * binary.MaxVarintLen64

// actions appends the records of acts. It works on local copies of the
// buffer and the previous item, making room before each action, so that the
// appends neither grow the buffer nor write its length back to the encoder
// one by one (this runs for every action of a fleet).
func (e *encoder) actions(pc *planContext, acts []action) {
	b, prev := e.buf, e.prevA
	for i := range acts {
		a := &acts[i]
		if cap(b)-len(b) < actionRoom {
			b = slices.Grow(b, actionRoom)
		}
		zz := zigzag(int64(a.item - prev))
		prev = a.item
		v, d := pc.versionCode(a), drefCode(a.dref)
		dep := uint64(0)
		if a.dep >= 0 {
			dep = uint64(1 + a.dep - pc.itemFirst[a.item])
		}
		if zz < 64 && dep < 16 && v < 4 && d == 0 && a.reason < 64 { // the short form
			x := dep | v<<4 | uint64(a.kind)<<6 | uint64(a.reason)<<10
			b = append(b, byte(zz<<1|1), byte(x), byte(x>>8))
			continue
		}
		b = appendUvarint(b, zz<<1)
		b = appendUvarint(b, dep)
		b = appendUvarint(b, uint64(a.reason)<<4|uint64(a.kind))
		if v < 4 && d < 32 {
			b = append(b, byte(v<<5|d))
		} else {
			b = appendUvarint(b, 128+v)
			b = appendUvarint(b, d)
		}
	}
	e.buf, e.prevA = b, prev
}

// losers encodes the losers of one decided item, best first.
func (e *encoder) losers(pc *planContext, item int32, ls []lost) {
	b := e.buf
	b = appendUvarint(b, zigzag(int64(item-e.prevL)))
	e.prevL = item
	b = appendUvarint(b, uint64(len(ls)))
	first := pc.itemFirst[item]
	for _, l := range ls {
		b = appendUvarint(b, uint64(l.dep-first)<<4|uint64(l.rule))
	}
	e.buf = b
}

// decoder reads the records of one ComputerPlan.
type decoder struct {
	c            *ComputerPlan
	buf          []byte
	prevA, prevL int32
}

func (d *decoder) uvarint() uint64 {
	if len(d.buf) > 0 && d.buf[0] < 0x80 {
		v := uint64(d.buf[0])
		d.buf = d.buf[1:]
		return v
	}
	v, n := binary.Uvarint(d.buf)
	if n <= 0 { // unreachable: the planner wrote the buffer
		d.buf = nil
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

// action decodes one action, its versions resolved.
func (d *decoder) action() action {
	pc := d.c.pc
	var a action
	a.dep = -1
	var dep, vc, dc uint64
	if len(d.buf) >= 3 && d.buf[0]&0x81 == 1 { // the short form
		x := uint64(d.buf[1]) | uint64(d.buf[2])<<8
		a.item = d.prevA + int32(unzigzag(uint64(d.buf[0]>>1)))
		dep, vc = x&15, x>>4&3
		a.kind, a.reason = ActionKind(x>>6&15), uint32(x>>10)
		d.buf = d.buf[3:]
	} else {
		a.item = d.prevA + int32(unzigzag(d.uvarint()>>1))
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
		if d.c.extra != nil {
			tag = refExtra
		}
		a.dref = newRef(tag, int(dc-1))
	}
	a.detected = d.c.version(a.dref, a.item)
	switch vc {
	case vcNone:
	case vcLatest:
		a.version = pc.cat.items[a.item].latest
	case vcDeployed:
		a.version = &pc.deps[a.dep].Version
	case vcDetected:
		a.version = a.detected
	default:
		a.version = pc.versions[vc-vcRef]
	}
	return a
}

type loserRec struct {
	item int32
	lost
}

// losers decodes the losers of one decided item, which it returns too.
func (d *decoder) losers(dst []loserRec) ([]loserRec, int32) {
	item := d.prevL + int32(unzigzag(d.uvarint()))
	d.prevL = item
	first := d.c.pc.itemFirst[item]
	for n := d.uvarint(); n > 0; n-- {
		x := d.uvarint()
		dst = append(dst, loserRec{item: item, lost: lost{dep: first + int32(x>>4), rule: Rule(x & 15)}})
	}
	return dst, item
}

// version resolves a reference for an action on item.
func (c *ComputerPlan) version(r vref, item int32) *immy.Version {
	i := int(r >> 2)
	switch r & 3 {
	case refTable:
		return c.pc.versions[i]
	case refExtra:
		return &c.extra[i]
	case refEntry:
		e := &c.pc.fleet.Computers[c.comp].Software[i]
		for _, h := range c.pc.names.hits(&c.pc.cat.detect, e.Name) {
			if h.item == item && !h.ver.IsZero() {
				return &h.ver
			}
		}
		return &e.Version
	}
	return nil
}

// decode returns the actions in order and the losers, appended to dst.
func (c *ComputerPlan) decode(acts []action, losers []loserRec) ([]action, []loserRec) {
	d := decoder{c: c, buf: c.rec}
	for range c.nact {
		acts = append(acts, d.action())
	}
	if c.shared == nil {
		for len(d.buf) > 0 {
			losers, _ = d.losers(losers)
		}
		return acts, losers
	}
	// The losers of the items the computer decided afresh (maybe none), then
	// those of its group's shared decisions for the other items, merged by
	// item.
	start := len(losers)
	var own []int32 // the items decided afresh, ascending
	for len(d.buf) > 0 {
		var it int32
		losers, it = d.losers(losers)
		own = append(own, it)
	}
	mid := len(losers)
	s := decoder{c: c, buf: c.shared}
	for len(s.buf) > 0 {
		n := len(losers)
		var it int32
		if losers, it = s.losers(losers); slices.Contains(own, it) {
			losers = losers[:n]
		}
	}
	if mid > start && len(losers) > mid {
		slices.SortStableFunc(losers[start:], func(a, b loserRec) int { return cmpInt(int(a.item), int(b.item)) })
	}
	return acts, losers
}

// decisionsOf returns the indices of the actions that carry a decision, by
// item id.
func decisionsOf(acts []action, dst []int) []int {
	for i := range acts {
		if acts[i].dep >= 0 {
			dst = append(dst, i)
		}
	}
	slices.SortFunc(dst, func(a, b int) int { return cmpInt(int(acts[a].item), int(acts[b].item)) })
	return dst
}

// Decisions returns the decisions, sorted by item id.
func (c *ComputerPlan) Decisions() []Decision {
	if c.pc == nil {
		return nil
	}
	acts, losers := c.decode(nil, nil)
	idx := decisionsOf(acts, nil)
	out := make([]Decision, len(idx))
	l := 0
	for i, k := range idx {
		a := &acts[k]
		w := &c.pc.deps[a.dep]
		out[i] = Decision{Item: c.pc.cat.items[a.item].id, Winner: w.ID, Desired: desiredText(w), Deployment: w}
		for ; l < len(losers) && losers[l].item < a.item; l++ {
		}
		for ; l < len(losers) && losers[l].item == a.item; l++ {
			out[i].Candidates = append(out[i].Candidates, Lost{Deployment: c.pc.deps[losers[l].dep].ID, LostOn: losers[l].rule})
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
	acts, _ := c.decode(nil, nil)
	out := make([]Action, len(acts))
	for i := range acts {
		out[i] = c.pc.cat.publicAction(c.pc.deps, &acts[i])
	}
	return out
}
