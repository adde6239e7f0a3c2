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
//	        The long form's first uvarint is (Z<<1|T)<<2, T set when the
//	        choice of the detected version's inventory entry is worth telling
//	        (detected_from: several entries matched, or the chosen one was
//	        mapped or kept for want of a publisher or version), so that a
//	        reader computes detected_from only for those actions.
//	losers: per decided item that has losers, uvarint (item - previous such
//	        item)<<2, uvarint count, then per loser (in rank order) uvarint
//	        offset<<4|rule, the offset of the deployment among the item's
//	        deployments in the table: every rule is the planner's, so that
//	        reading a plan decides nothing again. In a whole-fleet plan, the
//	        losers of the decisions a computer shares with its group (tenant
//	        and kind) are kept once, decoded, in ComputerPlan.shared; the
//	        record then holds those of the items it decided afresh, with a
//	        count of 0 where such an item has none left but the group's
//	        decision had.

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
	// for problems: by deployment its index in the fleet; Config.Locate
	fleetIndex []int32
	locate     func(immy.Problem) immy.Problem
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
		if a.code != 0 && zz < 128 && !a.tell { // the common form, its second byte known
			b = append(b, byte(zz<<1|1), a.code-1)
			continue
		}
		v, d := pc.versionCode(a), drefCode(a.dref)
		dep := uint64(0)
		if a.dep >= 0 {
			dep = uint64(1 + a.dep - pc.itemFirst[a.item])
		}
		if d == 0 && !a.tell && v < vcRef && a.reason < numStaticReasons && int(a.kind) < numActionKinds && zz < 128 && dep < 32 {
			if c := commonCode[a.kind][a.reason][v]; c > 0 { // the common form
				b = append(b, byte(zz<<1|1), byte(uint64(c-1)<<5|dep))
				continue
			}
		}
		if zz < 64 && dep < 16 && v < 4 && d == 0 && !a.tell && a.reason < 64 { // the short form
			x := dep | v<<4 | uint64(a.kind)<<6 | uint64(a.reason)<<10
			b = append(b, byte(zz<<2|2), byte(x), byte(x>>8))
			continue
		}
		t := uint64(0)
		if a.tell {
			t = 1
		}
		b = appendUvarint(b, (zz<<1|t)<<2)
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

// losers encodes the losers of a decision of item, ls (best first), with
// their rules.
func (e *encoder) losers(pc *planContext, item int32, ls []lost) {
	first := pc.itemFirst[item]
	b := appendUvarint(e.buf, uint64(item-e.prevL)<<2)
	e.prevL = item
	b = appendUvarint(b, uint64(len(ls)))
	for _, l := range ls {
		b = appendUvarint(b, uint64(l.dep-first)<<4|uint64(l.rule))
	}
	e.buf = b
}
