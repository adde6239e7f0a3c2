package resolver

import (
	"encoding/binary"
	"slices"
	"sort"

	"github.com/immyoss/engine/immy"
)

// A whole-fleet plan holds millions of actions, so a ComputerPlan keeps them
// encoded in one byte slice, without pointers: nothing for the collector to
// scan, and two to five bytes an action instead of the hundred of its public
// form. Decisions are not stored apart: every decided item has exactly one
// action, under its winning deployment, so the actions carry the winners; the
// losers follow the actions. Versions are references (vref), resolved when
// the plan is read.
//
//	action: Z is zigzag(item - previous item). The common form, two bytes,
//	        when Z is below 128, the deployment's code below 32, nothing
//	        detected and the kind, reason and version code one of the eight
//	        of commonActions: Z<<1|1, then common<<5|deployment. The short
//	        form, three bytes, when Z is below 64, the deployment's code below
//	        16, the version's below 4, nothing detected and the reason below
//	        64: Z<<2|2, then the 16 bits (little endian) deployment |
//	        version<<4 | kind<<6 | reason<<10. Else the long form: uvarint
//	        Z<<2, uvarint
//	        deployment (0 none, else 1 + its offset among the item's
//	        deployments in the table), uvarint reason<<4|kind, then the
//	        version brought and the detected one: V, the version code (0
//	        none, 1 the item's latest, 2 the deployment's version, 3 the
//	        detected version, else 4 + its index in the table of versions),
//	        and D, the detected code (0 none, else 1 + the index of the
//	        inventory entry, or of ComputerPlan.extra when the plan has one),
//	        as one byte V<<5|D when V < 4 and D < 32, else as uvarint 128+V,
//	        uvarint D. The first byte tells the forms apart: its low two bits.
//	losers: per decided item that has losers, uvarint (item - previous such
//	        item)<<2|form, uvarint count, then per loser (in rank order) in
//	        form 0 (losersList) uvarint offset<<4|rule, the offset of the
//	        deployment among the item's deployments in the table. Form 1
//	        (losersKeyed) serves decisions ranked by rank key (DefaultRanking)
//	        of items of over wideItem deployments, and every keyed decision
//	        of a group: the winner's offset, then per loser its offset alone;
//	        reading it ranks the candidates by key again and takes each
//	        loser's rule from the keys, as the planner did. In a whole-fleet
//	        plan, the losers of the decisions a computer shares with its group
//	        (tenant and kind) are kept once, in ComputerPlan.shared; the
//	        record then holds those of the items it decided afresh, with a
//	        count of 0 where such an item has none left but the group's
//	        decision had. Where the computer only adds candidates to a keyed
//	        decision of its group, the record holds form 2 (losersAdded): the
//	        count and the offsets of the candidates it adds, which reading
//	        ranks together with the group's.

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
	// to rank again the candidates a plan keeps without their rules (keyed
	// planners only): by deployment its rank key without the tenant
	// distance and its target's tenant (-1 for none); by tenant its depth
	keys             []uint64
	depTenant, depth []int32
	// by item: it has over wideItem deployments, so many that most offsets
	// take two bytes with a rule and one alone: the losers of its keyed
	// decisions are kept as offsets
	wide []bool
	// for problems: by deployment its index in the fleet; Config.Locate
	fleetIndex []int32
	locate     func(immy.Problem) immy.Problem
}

const wideItem = 16

// rankKey is deployment dep's rank key on a computer of tenant t (-1 for
// none), as the planner computes it (candidate, rank).
func (pc *planContext) rankKey(dep, t int32) uint64 {
	k := pc.keys[dep]
	if dt := pc.depTenant[dep]; dt >= 0 && t >= 0 {
		k |= uint64(pc.depth[t]-pc.depth[dt]) << keyDistanceLo
	}
	return k
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

// commonActions are the kinds, reasons and version codes that most actions
// of a fleet have, which the common form spells in three bits.
var commonActions = [8]struct {
	kind   ActionKind
	reason uint32
	vc     uint64
}{
	{ActionInstall, rSoftwareMissing, vcLatest},
	{ActionNone, rNotDetected, vcNone},
	{ActionInstall, rSoftwareMissing, vcDeployed},
	{ActionNone, rIgnored, vcNone},
	{ActionTaskEnforce, rDecidedAtDetection, vcNone},
	{ActionTaskAudit, rAudit, vcNone},
	{ActionTaskMonitor, rMonitor, vcNone},
	{ActionNone, rTestPassed, vcNone},
}

// commonCode is, by kind, reason and version code, 1 + the index in
// commonActions, 0 for none.
var commonCode = func() (t [numActionKinds][numStaticReasons][vcRef]uint8) {
	for i, c := range commonActions {
		t[c.kind][c.reason][c.vc] = uint8(i + 1)
	}
	return t
}()

// absentCodes returns, by deployment of the table, the action.code of the
// action the table gives where the software is absent: nothing detected, so
// that the common form depends on the deployment alone.
func (pc *planContext) absentCodes(absent []outcome, items []int32) []uint8 {
	codes := make([]uint8, len(absent))
	for i, out := range absent {
		it := items[i]
		if it < 0 || out.reason >= numStaticReasons || int(out.kind) >= numActionKinds {
			continue
		}
		a := action{item: it, dep: int32(i), version: out.version, kind: out.kind, reason: out.reason}
		v, dep := pc.versionCode(&a), uint64(1+a.dep-pc.itemFirst[it])
		if v >= vcRef || dep >= 32 {
			continue
		}
		if c := commonCode[a.kind][a.reason][v]; c > 0 {
			codes[i] = 1 + byte(uint64(c-1)<<5|dep)
		}
	}
	return codes
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
		if a.code != 0 && zz < 128 { // the common form, its second byte known
			b = append(b, byte(zz<<1|1), a.code-1)
			continue
		}
		v, d := pc.versionCode(a), drefCode(a.dref)
		dep := uint64(0)
		if a.dep >= 0 {
			dep = uint64(1 + a.dep - pc.itemFirst[a.item])
		}
		if d == 0 && v < vcRef && a.reason < numStaticReasons && int(a.kind) < numActionKinds && zz < 128 && dep < 32 {
			if c := commonCode[a.kind][a.reason][v]; c > 0 { // the common form
				b = append(b, byte(zz<<1|1), byte(uint64(c-1)<<5|dep))
				continue
			}
		}
		if zz < 64 && dep < 16 && v < 4 && d == 0 && a.reason < 64 { // the short form
			x := dep | v<<4 | uint64(a.kind)<<6 | uint64(a.reason)<<10
			b = append(b, byte(zz<<2|2), byte(x), byte(x>>8))
			continue
		}
		b = appendUvarint(b, zz<<2)
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

// Forms of a record of losers.
const (
	losersList  = iota // losers and their rules
	losersKeyed        // the winner and the losers, the rules from the keys
	losersAdded        // the candidates a computer adds to its group's decision
)

// losers encodes the losers of decision d, ls (best first): with their
// rules, or, when d was ranked by key and its item is wide or withWinner
// asks (a group's record, which computers add candidates to), as offsets
// after the winner's.
func (e *encoder) losers(pc *planContext, d *decision, ls []lost, withWinner bool) {
	first := pc.itemFirst[d.item]
	head := uint64(d.item-e.prevL) << 2
	e.prevL = d.item
	b := e.buf
	if d.keyed && pc.keys != nil && (withWinner || pc.wide[d.item]) {
		b = appendUvarint(b, head|losersKeyed)
		b = appendUvarint(b, uint64(len(ls)))
		b = appendUvarint(b, uint64(d.winner-first))
		for _, l := range ls {
			b = appendUvarint(b, uint64(l.dep-first))
		}
		e.buf = b
		return
	}
	b = appendUvarint(b, head|losersList)
	b = appendUvarint(b, uint64(len(ls)))
	for _, l := range ls {
		b = appendUvarint(b, uint64(l.dep-first)<<4|uint64(l.rule))
	}
	e.buf = b
}

// added encodes deps, the candidates a computer adds to its group's keyed
// decision of item.
func (e *encoder) added(pc *planContext, item int32, deps []int32) {
	first := pc.itemFirst[item]
	b := appendUvarint(e.buf, uint64(item-e.prevL)<<2|losersAdded)
	e.prevL = item
	b = appendUvarint(b, uint64(len(deps)))
	for _, dep := range deps {
		b = appendUvarint(b, uint64(dep-first))
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
		a.item = d.prevA + int32(unzigzag(d.uvarint()>>2))
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

// record reads the next record of losers: its item and its form. A list
// appends its losers to dst; the other forms append their offsets to offs
// (the winner's first).
func (d *decoder) record(dst []loserRec, offs []int32) (int32, uint64, []loserRec, []int32) {
	pc := d.c.pc
	head := d.uvarint()
	item, form := d.prevL+int32(head>>2), head&3
	d.prevL = item
	if uint(item) >= uint(len(pc.itemFirst)) || (form != losersList && pc.keys == nil) { // unreachable: the planner wrote the buffer
		d.buf = nil
		return 0, losersList, dst, offs
	}
	first := pc.itemFirst[item]
	n := d.uvarint()
	switch form {
	case losersList:
		for ; n > 0 && len(d.buf) > 0; n-- {
			x := d.uvarint()
			dst = append(dst, loserRec{item: item, lost: lost{dep: first + int32(x>>4), rule: Rule(x & 15)}})
		}
	case losersKeyed:
		n++ // the winner
		fallthrough
	default:
		for ; n > 0 && len(d.buf) > 0; n-- {
			offs = append(offs, int32(d.uvarint()))
		}
	}
	return item, form, dst, offs
}

// rankLosers ranks the candidates of item at offs by their rank keys on the
// computer, as the planner did, and appends the losers to dst.
func (c *ComputerPlan) rankLosers(dst []loserRec, item int32, offs []int32) []loserRec {
	pc := c.pc
	first := pc.itemFirst[item]
	var arr [64]uint64
	keys := arr[:0]
	for _, o := range offs {
		if uint(first+o) >= uint(len(pc.keys)) { // unreachable: the planner wrote the buffer
			continue
		}
		k := pc.rankKey(first+o, c.tenant)
		j := len(keys)
		keys = append(keys, 0)
		for ; j > 0 && keys[j-1] > k; j-- {
			keys[j] = keys[j-1]
		}
		keys[j] = k
	}
	for i := 1; i < len(keys); i++ { // the first is the winner's
		dst = append(dst, loserRec{item: item, lost: lost{dep: int32(keys[i] & (1<<keyIDBits - 1)), rule: keyRule(keys[0], keys[i])}})
	}
	return dst
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

// decode returns the actions in order and the losers, appended to dst.
func (c *ComputerPlan) decode(acts []action, losers []loserRec) ([]action, []loserRec) {
	d := decoder{c: c, buf: c.rec}
	for range c.nact {
		acts = append(acts, d.action())
	}
	var arr [64]int32
	offs := arr[:0]
	var item int32
	var form uint64
	if c.shared == nil {
		for len(d.buf) > 0 {
			item, form, losers, offs = d.record(losers, offs[:0])
			if form == losersKeyed {
				losers = c.rankLosers(losers, item, offs)
			}
		}
		return acts, losers
	}
	// The losers of the items the computer decided afresh (maybe none), then
	// those of its group's shared decisions for the other items, and of
	// those it added candidates to, merged by item.
	type ownRec struct{ item, add0, add1 int32 }
	start := len(losers)
	var own []ownRec // the items decided afresh, ascending
	var added []int32
	for len(d.buf) > 0 {
		item, form, losers, offs = d.record(losers, offs[:0])
		r := ownRec{item: item, add0: -1}
		switch form {
		case losersKeyed:
			losers = c.rankLosers(losers, item, offs)
		case losersAdded:
			r.add0 = int32(len(added))
			added = append(added, offs...)
			r.add1 = int32(len(added))
		}
		own = append(own, r)
	}
	mid := len(losers)
	s := decoder{c: c, buf: *c.shared}
	for len(s.buf) > 0 {
		n := len(losers)
		item, form, losers, offs = s.record(losers, offs[:0])
		k, found := slices.BinarySearchFunc(own, item, func(r ownRec, it int32) int { return cmpInt(int(r.item), int(it)) })
		switch {
		case found && own[k].add0 >= 0 && form == losersKeyed: // the group's candidates and the computer's
			losers = c.rankLosers(losers[:n], item, append(offs, added[own[k].add0:own[k].add1]...))
		case found: // decided afresh
			losers = losers[:n]
		case form == losersKeyed:
			losers = c.rankLosers(losers, item, offs)
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
		out[i].DetectedFrom = c.detectedFrom(&acts[i])
	}
	return out
}

// detectedFrom explains which inventory entry an action's detected version
// comes from, when there was a choice (see choice.go); "" otherwise.
func (c *ComputerPlan) detectedFrom(a *action) string {
	if a.detected == nil || a.dref&3 != refEntry {
		return ""
	}
	return c.pc.cat.detectedFrom(a.item, c.pc.fleet.Computers[c.comp].Software)
}
