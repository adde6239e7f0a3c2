package resolver

import (
	"context"
	"fmt"
	"slices"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/targets"
)

// sessionFilter is a Session compiled against the planner.
type sessionFilter struct {
	kind  SessionKind
	items map[int32]bool // ad hoc: the items the session runs
	deps  map[int32]bool // ad hoc: the deployments it names
	// want: the deployments that can be candidates on some computer,
	// optional ones aside (wanted.go); nil for every one
	want targets.Wanted
}

func (p *Planner) compileSession(s Session) (*sessionFilter, error) {
	f := &sessionFilter{kind: s.Kind}
	if s.Kind > AdHocSession {
		return nil, fmt.Errorf("resolver: unknown session kind %d: %w", s.Kind, immy.ErrInvalid)
	}
	if s.Kind != AdHocSession {
		f.want = p.wantedOf(f)
		return f, nil
	}
	f.items, f.deps = map[int32]bool{}, map[int32]bool{}
	var unknown []string
	for _, n := range s.Named {
		if k, ok := p.cat.byID[n]; ok {
			f.items[k] = true
			continue
		}
		if d, ok := p.byID[n]; ok {
			f.deps[d] = true
			if k, ok := p.cat.byID[p.table[d].Item]; ok {
				f.items[k] = true
			}
			continue
		}
		unknown = append(unknown, n)
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("resolver: ad hoc session names unknown items or deployments %q: %w", unknown, immy.ErrNotFound)
	}
	f.want = p.wantedOf(f)
	return f, nil
}

// takesPart reports whether deployment di, whose target selects computer ci,
// is a candidate in session s; when not, why.
func (p *Planner) takesPart(di int, ci int, s *sessionFilter) (bool, string) {
	info := &p.deps[di]
	k := info.item
	if k < 0 {
		if p.table[di].Disabled {
			return false, "disabled"
		}
		return false, "not planned per computer (a tenant target or an unknown item)"
	}
	it := &p.cat.items[k]
	switch {
	case it.onboardingOnly && s.kind != OnboardingSession:
		return false, "onboarding-only task outside an onboarding session"
	case info.owner != -1 && !p.ownedBy(info.owner, ci):
		return false, fmt.Sprintf("item is private to tenant %q", it.owner)
	case s.kind == AdHocSession && !s.items[k]:
		return false, "the ad hoc session does not name it or its item"
	}
	switch info.enforcement {
	case immy.EnforcementRequired:
		return true, ""
	case immy.EnforcementOptional:
		if _, ok := slices.BinarySearch(info.approved, int32(ci)); ok {
			return true, ""
		}
		return false, "optional and not approved for this computer"
	case immy.EnforcementAdHoc:
		if s.kind == AdHocSession && (s.deps[int32(di)] || s.items[k]) {
			return true, ""
		}
		return false, "ad hoc and not named by the session"
	case immy.EnforcementOnboardingOnly:
		if s.kind == OnboardingSession {
			return true, ""
		}
		return false, "onboarding enforcement outside an onboarding session"
	}
	return false, "unknown enforcement"
}

// isCandidate is takesPart without the reason, for decide: ct is computer
// ci's tenant, when hasTenant.
func (p *Planner) isCandidate(di, ci int, ct int, hasTenant bool, s *sessionFilter) bool {
	info := &p.deps[di]
	k := info.item
	switch {
	case k < 0:
		return false
	case info.onboarding && s.kind != OnboardingSession:
		return false
	case info.owner != -1 && !(hasTenant && int32(ct) == info.owner):
		return false
	case s.kind == AdHocSession && !s.items[k]:
		return false
	}
	switch info.enforcement {
	case immy.EnforcementRequired:
		return true
	case immy.EnforcementOptional:
		_, ok := slices.BinarySearch(info.approved, int32(ci))
		return ok
	case immy.EnforcementAdHoc:
		return s.kind == AdHocSession && (s.deps[int32(di)] || s.items[k])
	case immy.EnforcementOnboardingOnly:
		return s.kind == OnboardingSession
	}
	return false
}

// ownedBy reports whether computer ci belongs to tenant t (an index; -2 for
// a tenant the fleet does not have, which owns nothing).
func (p *Planner) ownedBy(t int32, ci int) bool {
	ct, ok := p.ix.ComputerTenant(ci)
	return ok && int32(ct) == t
}

// Decide returns the decisions of session s on one computer, without
// planning actions: the resolution stage of a session. The problems are the
// items held because a deployment's filter failed on the computer
// (ProblemFilterError): they have no decision, and everything else is
// decided.
func (p *Planner) Decide(ctx context.Context, computer string, s Session) ([]Decision, []Problem, error) {
	c, ok := p.ix.Computer(computer)
	if !ok {
		return nil, nil, fmt.Errorf("resolver: unknown computer %q: %w", computer, immy.ErrNotFound)
	}
	sf, err := p.compileSession(s)
	if err != nil {
		return nil, nil, err
	}
	w := p.workers.Get().(*worker)
	defer p.workers.Put(w)
	w.probs = w.probs[:0]
	if err := p.decide(ctx, w, c, sf); err != nil {
		return nil, nil, err
	}
	var probs []Problem
	for _, pp := range sortProblems(w.probs) {
		probs = append(probs, p.problem(pp, computer))
	}
	out := make([]Decision, len(w.decs))
	for i, d := range w.decs {
		win := &p.table[d.winner]
		out[i] = Decision{Item: p.cat.items[d.item].id, Winner: win.ID, Desired: desiredText(win), Deployment: win}
		for _, l := range w.loss[d.lost0 : d.lost0+d.nlost] {
			out[i].Candidates = append(out[i].Candidates, Lost{Deployment: p.table[l.dep].ID, LostOn: l.rule})
		}
	}
	return out, probs, nil
}

// decide ranks the candidates of every item on computer c into w.decs and
// w.loss. The matcher returns table indices in ascending order, so the
// candidates of one item come together, the items in id order: each item is
// ranked as soon as its last candidate has passed.
func (p *Planner) decide(ctx context.Context, w *worker, c int, s *sessionFilter) error {
	comp := &p.fleet.Computers[c]
	w.decs, w.loss = w.decs[:0], w.loss[:0]
	ct, hasTenant := p.ix.ComputerTenant(c)
	var err error
	w.match, err = p.m.MatchOf(ctx, c, w.match[:0], p.wantedOn(w, c, ct, hasTenant, s))
	if err != nil {
		es, ok := filterErrors(err)
		if !ok {
			return fmt.Errorf("resolver: computer %q: %w", comp.ID, err)
		}
		p.hold(w, c, es, s) // problem.go
	}
	if !slices.IsSorted(w.match) { // the matcher promises ascending order; grouping relies on it
		slices.Sort(w.match)
	}
	w.cands = w.cands[:0]
	for _, di := range w.match {
		cr, ok := p.candidate(di, c, ct, hasTenant, s)
		if !ok {
			continue
		}
		if len(w.cands) > 0 && w.cands[0].item != cr.item { // the previous item is complete
			p.rank(w, w.cands, c)
			w.cands = w.cands[:0]
		}
		w.cands = append(w.cands, cr)
	}
	if len(w.cands) > 0 {
		p.rank(w, w.cands, c)
	}
	return nil
}

// groupBase is what the computers of one matcher group (one tenant, one kind)
// share: the candidates among the deployments that select them by tenant and
// kind alone, and the decisions these alone make. A worker keeps the base of
// the group it plans, reusing its memory from group to group.
type groupBase struct {
	group  int        // the matcher group, -1 for none yet
	cands  []candRec  // candidates whatever the computer, ascending
	ranked []candRec  // the same, each item's by rank key (with the distance) when keyed
	items  []baseItem // by item
	sitems []seqItem  // each item's winner
	loss   []lost
	// the shared matches whose candidacy depends on the computer (optional
	// deployments, approved per computer), ascending
	perComputer []int32
	shared      []int32    // scratch: the group's shared matches
	decs        []decision // scratch for rank
	grp         []candRec
	// the losers of the group's decisions, by item, each item's best first,
	// their rules decided: computers' plans share it, so each fill makes a
	// new one
	losers *[]loserRec
}

// baseItem is the candidates of one item in groupBase.cands and its decision
// (lost0 indexing groupBase.loss).
type baseItem struct {
	c0, nc int32
	dec    decision
	keyed  bool // ranked by key: groupBase.ranked holds the candidates by key
}

// candidate returns deployment di as a candidate on computer c (of tenant
// ct when hasTenant), or false when it is none. Its rank key holds its tenant
// distance to c when the key can (see maxDistance), so that the keys of the
// candidates of one computer compare as DefaultRanking does, whichever path
// ranks them: rank, or fillBase and rerank, which merge the candidates of a
// matcher group with the computer's own.
func (p *Planner) candidate(di int, c, ct int, hasTenant bool, s *sessionFilter) (candRec, bool) {
	if uint(di) >= uint(len(p.hot)) {
		return candRec{}, false
	}
	h := p.hot[di]
	if h.item < 0 {
		return candRec{}, false
	}
	if h.key&keyChecked != 0 || s.kind == AdHocSession {
		if !p.isCandidate(di, c, ct, hasTenant, s) {
			return candRec{}, false
		}
	}
	cr := candRec{key: h.key &^ keyChecked, dep: int32(di), item: h.item}
	if h.tenant >= 0 && hasTenant {
		cr.dist = p.depth[ct] - p.depth[h.tenant]
	}
	if cr.dist >= 0 && cr.dist <= maxDistance { // beyond, rank uses the comparator
		cr.key |= uint64(cr.dist) << keyDistanceLo
	}
	return cr, true
}

// fillBase decides into b the shared matches of computer c's group g.
func (p *Planner) fillBase(b *groupBase, g int, shared []int32, c int, s *sessionFilter) {
	ct, hasTenant := p.ix.ComputerTenant(c)
	b.group = g
	b.cands, b.items, b.perComputer = b.cands[:0], b.items[:0], b.perComputer[:0]
	b.ranked, b.sitems = b.ranked[:0], b.sitems[:0]
	for _, di := range shared {
		if uint(di) < uint(len(p.deps)) && p.deps[di].item >= 0 && p.deps[di].enforcement == immy.EnforcementOptional {
			b.perComputer = append(b.perComputer, di)
			continue
		}
		if cr, ok := p.candidate(int(di), c, ct, hasTenant, s); ok {
			b.cands = append(b.cands, cr)
		}
	}
	// rank each item's candidates, with rank's memory in b
	w := worker{decs: b.decs[:0], loss: b.loss[:0]}
	for i := 0; i < len(b.cands); {
		j := i + 1
		for j < len(b.cands) && b.cands[j].item == b.cands[i].item {
			j++
		}
		keyed := p.keyed
		for _, cr := range b.cands[i:j] {
			if cr.dist < 0 || cr.dist > maxDistance {
				keyed = false
			}
		}
		b.grp = append(b.grp[:0], b.cands[i:j]...)
		p.rank(&w, b.grp, c)
		b.ranked = append(b.ranked, b.grp...) // by key when keyed
		d := w.decs[len(w.decs)-1]
		b.items = append(b.items, baseItem{c0: int32(i), nc: int32(j - i), dec: d, keyed: keyed})
		b.sitems = append(b.sitems, seqItem{it: d.item, dep: d.winner})
		i = j
	}
	b.decs, b.loss = w.decs, w.loss
	n := 0
	for _, it := range b.items {
		n += int(it.dec.nlost)
	}
	losers := make([]loserRec, 0, n)
	for _, it := range b.items {
		for _, l := range b.loss[it.dec.lost0 : it.dec.lost0+it.dec.nlost] {
			losers = append(losers, loserRec{item: it.dec.item, lost: l})
		}
	}
	b.losers = &losers
}

// decideShared is decide in a Plan: the decisions of the shared matches are
// made once per matcher group, and a computer ranks afresh only the items its
// other matches add candidates to. It decides exactly as decide does.
func (p *Planner) decideShared(ctx context.Context, w *worker, c int, s *sessionFilter) error {
	w.decs, w.loss = w.decs[:0], w.loss[:0]
	ct, hasTenant := p.ix.ComputerTenant(c)
	g, rest, err := p.m.MatchSplitOf(ctx, c, w.rest[:0], p.wantedOn(w, c, ct, hasTenant, s))
	w.rest = rest
	if err != nil {
		if _, ok := filterErrors(err); ok {
			return errHeld
		}
		return fmt.Errorf("resolver: computer %q: %w", p.fleet.Computers[c].ID, err)
	}
	if g < 0 {
		return nil
	}
	b := &w.base
	if b.group != g {
		b.shared, err = p.m.AppendShared(ctx, c, b.shared[:0])
		if err != nil {
			return fmt.Errorf("resolver: computer %q: %w", p.fleet.Computers[c].ID, err)
		}
		p.fillBase(b, g, b.shared, c, s)
	}
	// the computer's own candidates: its other matches, and the shared ones
	// that depend on it, in ascending order (the two are disjoint)
	w.tail = w.tail[:0]
	pc := b.perComputer
	for i := 0; i < len(rest) || len(pc) > 0; {
		var di int32
		if len(pc) > 0 && (i == len(rest) || pc[0] < rest[i]) {
			di, pc = pc[0], pc[1:]
		} else {
			di = rest[i]
			i++
		}
		if cr, ok := p.candidate(int(di), c, ct, hasTenant, s); ok {
			w.tail = append(w.tail, cr)
		}
	}
	// The items in order: the group's decisions where the computer adds no
	// candidate, afresh where it does.
	w.sitems, w.nlost = w.sitems[:0], 0
	items, next := b.items, 0 // b.items[next:] are still to come
	tail := w.tail
	for ti := 0; ti < len(tail); {
		item := tail[ti].item
		tj := ti + 1
		for tj < len(tail) && tail[tj].item == item {
			tj++
		}
		k := next
		for k < len(items) && items[k].dec.item < item {
			w.nlost += items[k].dec.nlost
			k++
		}
		w.sitems = append(w.sitems, b.sitems[next:k]...)
		next = k
		grp := tail[ti:tj]
		ti = tj
		masks := false                                    // the group decided the item with losers
		if k == len(items) || items[k].dec.item != item { // the computer's alone
			p.rank(w, grp, c)
		} else {
			masks = items[k].dec.nlost > 0
			p.rerank(w, b, &items[k], grp, c)
			next++
		}
		d := &w.decs[len(w.decs)-1]
		d.own = d.nlost > 0 || masks
		w.nlost += d.nlost
		w.sitems = append(w.sitems, seqItem{it: d.item, dep: d.winner})
	}
	for _, it := range items[next:] {
		w.nlost += it.dec.nlost
	}
	w.sitems = append(w.sitems, b.sitems[next:]...)
	return nil
}

// rerank decides an item that the group decided (bi) and computer c adds
// candidates grp to.
func (p *Planner) rerank(w *worker, b *groupBase, bi *baseItem, grp []candRec, c int) {
	keyed := bi.keyed
	for i := range grp {
		if grp[i].dist < 0 || grp[i].dist > maxDistance {
			keyed = false
		}
	}
	if !keyed { // merge by deployment and rank
		bc := b.cands[bi.c0 : bi.c0+bi.nc]
		w.cands = w.cands[:0]
		for len(bc) > 0 || len(grp) > 0 {
			if len(grp) == 0 || (len(bc) > 0 && bc[0].dep < grp[0].dep) {
				w.cands, bc = append(w.cands, bc[0]), bc[1:]
			} else {
				w.cands, grp = append(w.cands, grp[0]), grp[1:]
			}
		}
		p.rank(w, w.cands, c)
		return
	}
	br := b.ranked[bi.c0 : bi.c0+bi.nc]
	// The group's candidates are ranked already: sort the computer's by key
	// and merge the two, as rank would sort them all (keys are distinct),
	// straight into the losers.
	sortByKey(grp)
	next := func() (c candRec) {
		if len(grp) == 0 || (len(br) > 0 && br[0].key < grp[0].key) {
			c, br = br[0], br[1:]
		} else {
			c, grp = grp[0], grp[1:]
		}
		return c
	}
	win := next()
	d := w.decide(win.item, win.dep)
	d.lost0, d.nlost = int32(len(w.loss)), int32(len(br)+len(grp))
	for len(br) > 0 || len(grp) > 0 {
		l := next()
		w.loss = append(w.loss, lost{dep: l.dep, rule: keyRule(win.key, l.key)})
	}
}

// decide appends a decision of item for winner and returns it to complete.
// It is written in place: a decision built apart and then copied into the
// list stalls on the copy (see sequencer.add).
func (w *worker) decide(item, winner int32) *decision {
	w.decs = append(w.decs, decision{})
	d := &w.decs[len(w.decs)-1]
	d.item, d.winner = item, winner
	return d
}

// rank decides one item from its candidates on computer c.
func (p *Planner) rank(w *worker, grp []candRec, c int) {
	if len(grp) == 1 { // one candidate: no ranking to do
		w.decide(grp[0].item, grp[0].dep)
		return
	}
	d := w.decide(grp[0].item, -1)
	d.lost0, d.nlost = int32(len(w.loss)), int32(len(grp)-1)
	keyed := p.keyed
	for i := range grp {
		if grp[i].dist < 0 || grp[i].dist > maxDistance {
			keyed = false // beyond what the key holds: rank by the comparator
		}
	}
	if keyed {
		sortByKey(grp)
		d.winner = grp[0].dep
		for _, l := range grp[1:] {
			w.loss = append(w.loss, lost{dep: l.dep, rule: keyRule(grp[0].key, l.key)})
		}
	} else {
		w.group = w.group[:0]
		for _, cr := range grp {
			w.group = append(w.group, Candidate{Deployment: &p.table[cr.dep], TenantDistance: p.distance(int(cr.dep), c)})
		}
		r := p.cfg.Ranking
		sortCandidates(w.group, r)
		d.winner = p.byID[w.group[0].Deployment.ID]
		for i := 1; i < len(w.group); i++ {
			_, rule := r.Compare(&w.group[0], &w.group[i])
			w.loss = append(w.loss, lost{dep: p.byID[w.group[i].Deployment.ID], rule: rule})
		}
	}
}

// sortByKey sorts a small group by rank key (insertion sort: groups are a
// few deployments).
func sortByKey(g []candRec) {
	for i := 1; i < len(g); i++ {
		for j := i; j > 0 && g[j].key < g[j-1].key; j-- {
			g[j], g[j-1] = g[j-1], g[j]
		}
	}
}

// distance is the tenant distance of deployment di's target to computer c.
func (p *Planner) distance(di, c int) int {
	t := p.deps[di].tenant
	ct, ok := p.ix.ComputerTenant(c)
	if t < 0 || !ok {
		return 0
	}
	if d := p.depth[ct] - p.depth[t]; d >= 0 {
		return int(d)
	}
	return 1 << 20 // not an ancestor: the matcher does not select such a target
}
