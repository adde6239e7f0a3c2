package resolver

import (
	"slices"

	"github.com/immyoss/engine/immy"
)

// action is an Action while it is planned; a plan keeps it encoded (see
// encode.go).
type action struct {
	detected *immy.Version // nil when absent or not a software
	version  *immy.Version // nil when the action brings none
	dref     vref          // where detected comes from, for the compact plan
	dep      int32         // the deployment in the planner's table, -1 for none
	item     int32
	reason   uint32 // a code of Catalogue.reasons
	kind     ActionKind
	// code is 1 + the second byte of the action's common form (encode.go)
	// when the sequencer knows it beforehand, else 0
	code uint8
	// tell: the choice of the inventory entry detected is worth telling
	// (detected_from; see invState.tells)
	tell bool
}

// State is what detection found on one computer. Software reports a
// software's state; known is false when detection could not tell (the
// what-if then leaves the action to detection). Task reports a task's test
// result, when known. Implementations are read by one goroutine at a time.
type State interface {
	Software(item string) (st SoftwareState, known bool)
	Task(item string) Test
}

// stateReader is State by item index, the planner's fast path. A present
// software's version comes with the reference a compact plan keeps of it.
type stateReader interface {
	software(it int32) (present bool, ver *immy.Version, ref vref, test Test, known bool)
	task(it int32) Test
}

// publicState reads a State through item ids, keeping the versions it
// reports in vals (referenced by index).
type publicState struct {
	cat  *Catalogue
	st   State
	vals *[]immy.Version
}

func newPublicState(cat *Catalogue, st State) publicState {
	return publicState{cat: cat, st: st, vals: new([]immy.Version)}
}

func (p publicState) software(it int32) (bool, *immy.Version, vref, Test, bool) {
	if p.st == nil {
		return false, nil, 0, TestUnknown, true
	}
	st, known := p.st.Software(p.cat.items[it].id)
	if !known || !st.Present {
		return false, nil, 0, TestUnknown, known
	}
	// One small allocation per present item: a slab's block (slabSize
	// versions) would cost megabytes for each computer planned this way.
	v := new(immy.Version)
	*v = st.Version
	*p.vals = append(*p.vals, st.Version)
	return true, v, newRef(refExtra, len(*p.vals)-1), st.Test, true
}

func (p publicState) task(it int32) Test {
	if p.st == nil {
		return TestUnknown
	}
	return p.st.Task(p.cat.items[it].id)
}

// slot is the sequencer's knowledge of one item on the computer being planned.
// It is valid when gen is the sequencer's current generation. It holds no
// pointers, so that readying one for every item of every computer is a few
// plain stores: its versions are in sequencer.vers, read only where the slot
// says they are set.
type slot struct {
	dref    vref // the reference of the detected version
	gen     uint32
	dep     int32 // the item's own winning deployment + 1, 0 for none
	planned int32 // index+1 of the item's action in the plan, 0 for none
	test    Test
	loaded  bool // detPres, test and known are read (and vers.det, when detPres)
	known   bool
	detPres bool
	tell    bool // when detPres: detected_from has something to tell (invState.tells)
	present bool // projected (vers.ver is set when true)
}

// slotVers are the versions of an item's slot: det, valid when the slot is
// loaded and detPres, as detected; ver, valid when the slot is present, as
// projected after the actions planned so far.
type slotVers struct {
	det, ver *immy.Version
}

type undoRec struct {
	it  int32
	old slot
	ver *immy.Version
}

// sequencer plans the actions of one computer. It is not safe for concurrent
// use; the planner keeps one per worker and reuses its memory.
type sequencer struct {
	cat        *Catalogue
	deps       []immy.Deployment // the table action.dep and slot.dep index
	aims       []aim             // of each deployment of deps
	how        []depHow          // of each deployment of deps: what the sequencer reads of it, packed
	placed     []placement       // of each item, packed
	soft       []bool            // of each item: a software (else a task)
	hot        []seqHot          // of each item: what planning every computer reads
	st         stateReader
	inv        *invState // st, when it is the inventory (the what-if's fast path)
	onboarding bool
	slots      []slot
	vers       []slotVers // of each item, beside slots
	gen        uint32
	acts       []action
	undo       []undoRec
	rules      [][]*prereq // per recursion depth, reused
	holds      [][]bool
	depth      int
	busy       []int32   // the software whose prerequisites are being planned, outermost first
	first      []seqItem // run's items placed first and last
	late       []seqItem
	// tenant is the computer's tenant (a fleet index; -1 for none, -3 for
	// not known): an item private to another is refused (problem.go)
	tenant int32
	// checkOwn: the decided items too are checked against tenant (for
	// Actions; a planner's decisions are its own)
	checkOwn bool
	probs    []planProblem // what run refused, valid until the next run
}

// newSequencer returns a sequencer over the deployments deps of catalogue
// cat, whose aims are aims. codes, when not nil, are by deployment the
// action.code of its outcome where its software is absent (the planner's,
// which encodes).
func newSequencer(cat *Catalogue, deps []immy.Deployment, aims []aim, codes []uint8) *sequencer {
	how := make([]depHow, len(deps))
	for i, out := range absentOutcomes(deps, aims) {
		how[i] = depHow{Desired: deps[i].Desired, Mode: deps[i].Mode, absent: out.version, reason: out.reason, kind: out.kind}
		if codes != nil {
			how[i].code = codes[i]
		}
	}
	placed := make([]placement, len(cat.items))
	soft := make([]bool, len(cat.items))
	hot := make([]seqHot, len(cat.items))
	for k := range cat.items {
		it := &cat.items[k]
		placed[k], soft[k] = it.placed, it.sw != nil
		hot[k] = seqHot{config: it.config, task: it.task != nil, prereqs: len(it.prereqs) > 0 || len(it.byVersion) > 0}
		hot[k].plain = it.sw != nil && !hot[k].prereqs && it.config < 0
	}
	return &sequencer{cat: cat, deps: deps, aims: aims, how: how, placed: placed, soft: soft, hot: hot, slots: make([]slot, len(cat.items)), vers: make([]slotVers, len(cat.items)),
		tenant: -3}
}

// absentOutcomes returns the table's outcome of each deployment of deps where
// its software is absent, which depends on the deployment alone.
func absentOutcomes(deps []immy.Deployment, aims []aim) []outcome {
	out := make([]outcome, len(deps))
	for i := range deps {
		out[i] = aimedAction(deps[i].Desired, aims[i], false, nil, TestUnknown)
	}
	return out
}

// seqHot is what the sequencer reads of an item for every computer, kept
// apart from the (large) catalogue items so that it stays in the cache.
type seqHot struct {
	config  int32 // the configuration task, -1 for none
	task    bool  // a task (else a software)
	prereqs bool  // the item has prerequisite rules
	// plain: a software without prerequisite rules or configuration task,
	// whose action at its own turn depends on its detection alone
	plain bool
}

// depHow is what the sequencer reads of a winning deployment, kept apart from
// the (large) deployments so that planning a computer touches little memory:
// one entry of 16 bytes per deployment.
type depHow struct {
	// the table's outcome where the software is absent, which depends on
	// the deployment alone: the version it brings, its reason and kind,
	// and its action.code (0 for none)
	absent  *immy.Version
	reason  uint32
	kind    ActionKind
	code    uint8
	Desired immy.DesiredState
	Mode    immy.TaskMode
}

// aims computes the aim of every software deployment of deps.
func (c *Catalogue) aims(deps []immy.Deployment) []aim {
	out := make([]aim, len(deps))
	for i := range deps {
		d := &deps[i]
		if k, ok := c.software(d.Item); ok {
			it := &c.items[k]
			out[i] = aimOf(d.Desired, &d.Version, it.latest, it.sw)
		}
	}
	return out
}

// seqItem is one decided item handed to the sequencer.
type seqItem struct {
	it  int32
	dep int32 // the winning deployment in the sequencer's table
}

// run plans the decided items and returns the actions in execution order. The
// returned slice is the sequencer's own memory, valid until the next run.
//
// Items are taken in the catalogue's execution order; each item's
// prerequisites are planned right before it and its configuration task right
// after it. An item already planned earlier (as a prerequisite) is not planned
// again.
func (q *sequencer) run(items []seqItem, st stateReader, onboarding bool) []action {
	q.gen++
	if q.gen == 0 { // wrapped: forget every slot
		clear(q.slots)
		q.gen = 1
	}
	q.st, q.onboarding = st, onboarding
	q.inv, _ = st.(*invState)
	q.acts, q.probs = q.acts[:0], q.probs[:0]
	if q.checkOwn {
		items = q.ownItems(items)
	}
	// Items in execution order: those placed first (by position), the
	// unordered ones by id, which is item order (given items sorted by item,
	// as the planner gives them, only the few placed first or last need
	// sorting), then those placed last (by position).
	for i := 1; i < len(items); i++ {
		if items[i].it < items[i-1].it {
			slices.SortFunc(items, func(a, b seqItem) int { return cmpInt(int(a.it), int(b.it)) })
			break
		}
	}
	q.first, q.late = q.first[:0], q.late[:0]
	for _, d := range items {
		q.slot(d.it).dep = d.dep + 1
		switch q.placed[d.it] {
		case placedFirst:
			q.first = append(q.first, d)
		case placedLast:
			q.late = append(q.late, d)
		}
	}
	byRank := func(a, b seqItem) int { return cmpInt(int(q.cat.items[a.it].rank), int(q.cat.items[b.it].rank)) }
	slices.SortFunc(q.first, byRank)
	slices.SortFunc(q.late, byRank)
	for _, d := range q.first {
		q.undo = q.undo[:0]
		q.own(d.it)
	}
	for _, d := range items { // the unordered ones, in item order
		if q.placed[d.it] == placedUnordered && !q.absentPlain(d.it) {
			q.undo = q.undo[:0]
			q.own(d.it)
		}
	}
	for _, d := range q.late {
		q.undo = q.undo[:0]
		q.own(d.it)
	}
	q.st, q.inv = nil, nil
	return q.acts
}

func (q *sequencer) slot(it int32) *slot {
	s := &q.slots[it]
	if s.gen != q.gen {
		*s = slot{gen: q.gen}
	}
	return s
}

// load reads the detected state of an item once.
func (q *sequencer) load(it int32) *slot {
	s := q.slot(it)
	if !s.loaded {
		s.loaded = true
		var det *immy.Version
		switch {
		case q.soft[it] && q.inv != nil:
			s.detPres, det, s.dref, s.test, s.known = q.inv.software(it)
			s.tell = s.detPres && q.inv.tells(it)
		case q.soft[it]:
			s.detPres, det, s.dref, s.test, s.known = q.st.software(it)
		default:
			s.known, s.test = true, q.st.task(it)
		}
		s.present = s.detPres
		if s.detPres {
			q.vers[it] = slotVers{det: det, ver: det}
		}
	}
	return s
}

// decision returns what the sequencer reads of the item's own winning
// deployment, nil for none.
func (q *sequencer) decision(s *slot) *depHow {
	if s.dep == 0 {
		return nil
	}
	return &q.how[s.dep-1]
}

type mark struct{ acts, undo int }

func (q *sequencer) mark() mark { return mark{len(q.acts), len(q.undo)} }

// rollback takes back every action and state change since m.
func (q *sequencer) rollback(m mark) {
	for i := len(q.undo) - 1; i >= m.undo; i-- {
		u := q.undo[i]
		q.slots[u.it] = u.old
		q.vers[u.it].ver = u.ver
	}
	q.undo = q.undo[:m.undo]
	q.acts = q.acts[:m.acts]
}

// add appends the action of item it, whose slot is s (loaded): kind k for
// reason r, bringing version v (code c: see action.code), under the item's
// own deployment and reporting what detection found, which is also the
// projected state when an item is planned (each item is planned once). It
// applies the action's effect on the projected state. While prerequisites
// are being planned, the change is recorded so that a failing dependent can
// take it back; an item's own action at its own turn is final.
//
// The action is written field by field into its place: a struct this large
// lives in memory, and copying one just written costs a stall.
func (q *sequencer) add(it int32, s *slot, k ActionKind, r uint32, v *immy.Version, c uint8) {
	if q.depth > 0 {
		q.undo = append(q.undo, undoRec{it: it, old: *s, ver: q.vers[it].ver})
	}
	n := len(q.acts)
	if n == cap(q.acts) {
		q.acts = slices.Grow(q.acts, 1)
	}
	q.acts = q.acts[:n+1]
	a := &q.acts[n]
	a.item, a.dep, a.kind, a.reason, a.version, a.code = it, s.dep-1, k, r, v, c
	if s.detPres {
		a.detected, a.dref, a.tell = q.vers[it].det, s.dref, s.tell
	} else {
		a.detected, a.dref, a.tell = nil, 0, false
	}
	s.planned = int32(n + 1)
	switch {
	case k.installs():
		s.present = true
		q.vers[it].ver = v
	case k == ActionUninstall:
		s.present = false
	}
}

// projected returns the projected version of item it (slot s), nil when
// absent or present without one.
func (q *sequencer) projected(it int32, s *slot) *immy.Version {
	if !s.present {
		return nil
	}
	return q.vers[it].ver
}

// absentPlain is own for the commonest item of a what-if, in short: a plain
// software (seqHot.plain) that the inventory does not hold and nothing has
// read or planned yet, whose action is then its deployment's where the
// software is absent. It reports false, planning nothing, for any other item.
// The item's slot is of this run (run sets every item's deployment first).
func (q *sequencer) absentPlain(it int32) bool {
	s := &q.slots[it]
	if !q.hot[it].plain || q.inv == nil || s.loaded || s.dep == 0 || q.inv.stamp[it] == q.inv.gen || q.inv.script[it] {
		return false
	}
	s.loaded, s.known = true, true // absent, its test unknown
	h := &q.how[s.dep-1]
	q.add(it, s, h.kind, h.reason, h.absent, h.code)
	return true
}

// own plans an item at its own turn, by its own winning deployment.
func (q *sequencer) own(it int32) {
	s := q.load(it)
	if s.planned != 0 {
		return
	}
	dep := q.decision(s)
	h := q.hot[it]
	if h.task {
		out := taskAction(dep.Mode, s.test)
		q.add(it, s, out.kind, out.reason, nil, 0)
		return
	}
	if !s.known {
		q.add(it, s, ActionNone, rDecidedAtDetection, nil, 0)
		return
	}
	var out outcome
	var code uint8
	if s.present {
		out = aimedAction(dep.Desired, q.aims[s.dep-1], true, q.projected(it, s), s.test)
	} else { // the table's answer for an absent software depends on the deployment alone
		out = outcome{kind: dep.kind, reason: dep.reason, version: dep.absent}
		if !s.detPres {
			code = dep.code
		}
	}
	if out.kind.installs() && h.prereqs { // (prerequisites would return at once)
		m := q.mark()
		if ok, reason := q.prerequisites(it, out.version); !ok {
			q.rollback(m)
			out, code = outcome{kind: ActionFail, reason: reason}, 0
		}
	}
	q.add(it, s, out.kind, out.reason, out.version, code)
	if out.kind != ActionFail && dep.Desired != immy.DesiredIgnored && h.config >= 0 {
		q.configuration(it)
	}
}

// prerequisites plans the prerequisites of software it, about to be brought
// to version v. The conditions of all its rules are read first, from the
// projected state; a FAIL rule that holds stops it before anything is planned.
// Then the install and uninstall rules that hold are planned in their order,
// each recursively. On failure it returns the reason code for it, and the
// caller takes back what was planned.
func (q *sequencer) prerequisites(it int32, v *immy.Version) (bool, uint32) {
	if !q.hot[it].prereqs {
		return true, 0
	}
	item := &q.cat.items[it]
	if q.depth == len(q.rules) {
		q.rules = append(q.rules, nil)
		q.holds = append(q.holds, nil)
	}
	d := q.depth
	rules := item.ownRules
	if v != nil && len(item.byVersion) > 0 {
		rules = item.rules(v, q.rules[d][:0])
		q.rules[d] = rules
	}
	if item.privateRefs { // before any condition is read: a private item is not even detected
		if p := q.foreign(rules); p >= 0 {
			q.refuse(it, p)
			return false, q.cat.items[p].reasonPrivate
		}
	}
	holds := q.holds[d][:0]
	for _, r := range rules {
		holds = append(holds, q.holdsNow(r))
	}
	q.holds[d] = holds
	for i, r := range rules {
		if r.then == immy.PrereqFail && holds[i] {
			return false, r.failReason
		}
	}
	q.depth++
	q.busy = append(q.busy, it)
	ok, reason := q.planRules(it, rules, holds)
	q.depth--
	q.busy = q.busy[:len(q.busy)-1]
	return ok, reason
}

// planRules plans the install and uninstall rules of software it that hold,
// in their order, each recursively.
func (q *sequencer) planRules(it int32, rules []*prereq, holds []bool) (bool, uint32) {
	for i, r := range rules {
		if !holds[i] || r.then == immy.PrereqFail {
			continue
		}
		for _, t := range r.on {
			if ok, reason := q.require(t, r.then, r.version, it); !ok {
				return false, reason
			}
		}
	}
	return true, 0
}

// holdsNow evaluates a rule's condition on the projected state. A software
// whose state detection cannot tell counts as absent.
func (q *sequencer) holdsNow(r *prereq) bool {
	if len(r.subjects) == 0 {
		return false
	}
	want := r.cond == immy.ConditionInstalled
	for _, s := range r.subjects {
		match := q.load(s).present == want
		if r.all && !match {
			return false
		}
		if !r.all && match {
			return true
		}
	}
	return r.all
}

// needsPresence reports whether a desired state keeps a software installed.
func needsPresence(d immy.DesiredState) bool {
	switch d {
	case immy.DesiredLatest, immy.DesiredThisVersion, immy.DesiredNewerOrEqual, immy.DesiredOlderOrEqual, immy.DesiredAnyVersion:
		return true
	}
	return false
}

// require plans what a prerequisite rule of dependent asks of software t:
// installed (at least at version v, when given) or uninstalled.
//
// A requirement already met by the projected state plans nothing. A
// requirement that contradicts t's own winning deployment (installing an
// ignored or uninstalled software, removing an ignored one or one that must be
// present) is a conflict, which fails the dependent. Otherwise t is planned
// here, before its dependent, with its own winning deployment when it has one
// (an absent prerequisite is installed even where that deployment is update if
// found) and without one otherwise; its version is v, else the version its
// own deployment would install, else its latest. An install plans t's own
// prerequisites first; when they fail, so does the dependent. A rule that
// acts on a software whose own prerequisites are being planned (the
// dependent itself, or one it is a prerequisite of) is a conflict too: each
// item has one action in a session.
func (q *sequencer) require(t int32, then immy.PrereqAction, v *immy.Version, dependent int32) (bool, uint32) {
	s := q.load(t)
	item := &q.cat.items[t]
	dep := q.decision(s)
	if s.planned != 0 && q.acts[s.planned-1].kind == ActionFail {
		return false, item.reasonFailed
	}
	satisfied := false
	switch then {
	case immy.PrereqInstall:
		ver := q.projected(t, s)
		satisfied = s.present && (v == nil || (ver != nil && !ver.Less(*v)))
	case immy.PrereqUninstall:
		satisfied = !s.present
	}
	if satisfied {
		return true, 0
	}
	if s.planned != 0 || slices.Contains(q.busy, t) {
		return false, item.reasonConflict
	}
	reason := q.cat.items[dependent].reasonPrereqOf
	switch then {
	case immy.PrereqInstall:
		if dep != nil && (dep.Desired == immy.DesiredIgnored || dep.Desired == immy.DesiredUninstalled) {
			return false, item.reasonConflict
		}
		bring := v
		if bring == nil && dep != nil {
			bring = q.aims[s.dep-1].bring // what its own deployment installs
		}
		if bring == nil {
			bring = item.latest
		}
		if bring == nil {
			return false, item.reasonFailed
		}
		kind := ActionInstall
		if s.present {
			kind = ActionUpdate
		}
		if ok, _ := q.prerequisites(t, bring); !ok {
			return false, item.reasonFailed
		}
		q.add(t, s, kind, reason, bring, 0)
		q.configuration(t)
	case immy.PrereqUninstall:
		if dep != nil && (dep.Desired == immy.DesiredIgnored || needsPresence(dep.Desired)) {
			return false, item.reasonConflict
		}
		q.add(t, s, ActionUninstall, reason, nil, 0)
	}
	return true, 0
}

// configuration plans software it's configuration task right after it, when
// the software will be present: with the task's own winning deployment if it
// has one, else in enforce mode without a deployment.
func (q *sequencer) configuration(it int32) {
	ct := q.hot[it].config
	if ct < 0 || !q.load(it).present {
		return
	}
	task := &q.cat.items[ct]
	if task.tenantTask || (task.onboardingOnly && !q.onboarding) {
		return
	}
	if task.ownerIdx != -1 && !q.cat.allowed(ct, q.tenant) {
		q.refuse(it, ct)
		return
	}
	s := q.load(ct)
	if s.planned != 0 {
		return
	}
	if dep := q.decision(s); dep != nil {
		// its own reason, with the software as required_by
		out := taskAction(dep.Mode, s.test)
		q.add(ct, s, out.kind, q.cat.items[it].configReasons[out.reason], nil, 0)
	} else {
		out := taskAction(immy.ModeEnforce, s.test)
		q.add(ct, s, out.kind, q.cat.items[it].reasonConfigOf, nil, 0)
	}
}
