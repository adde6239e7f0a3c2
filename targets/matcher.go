package targets

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/immyoss/engine/immy"
)

// Matcher answers which computers (or tenants) the targets of a list of
// deployments select. It is built once by Index.Compile, is immutable, and is
// safe for concurrent use. Match goes from a computer to its deployments
// through inverted indexes (tenant and its ancestors, tags, primary person,
// groups, device groups, client groups), never through a scan of every
// deployment; Resolve goes from a deployment to its computers through the
// index of its target type. Each distinct filter is evaluated at most once per
// computer, whichever deployments share it and whichever of Match and Resolve
// asked first, and once asked about many computers, once per group of
// computers that agree on the fields it reads (group.go); a target that scans
// the computers (all computers, a filter) is scanned once for every
// deployment that has it.
type Matcher struct {
	ix      *Index
	deps    []immy.Deployment
	targets []target
	filters []*filterSlot
	// The filters' results, by computer: two bits per filter (0 not
	// evaluated, 1 false, 2 true), set atomically. A computer's filters
	// share a cache line, which matching the computer reads all of. The
	// words are allocated by blocks of memoBlock computers, as computers are
	// first asked about: planning one computer does not pay for the fleet.
	memo       []atomic.Pointer[[]atomic.Uint32] // by block
	memoStride int                               // words per computer
	// groups holds, by filter, its results found by groups of computers
	// that agree on what it reads (group.go): read before memo.
	groups []groupedFilter
	post   map[postKey][]int32
	// The filter targets of each scope key, grouped by filter, so that Match
	// evaluates (or looks up) each distinct filter once per computer.
	filterPost map[int32][]filterGroup
	// Which target types have postings in each scope, to skip empty lookups.
	crossTypes, freeTypes uint16
	tenantTypes           []uint16  // by scope key 2t (exact) and 2t+1 (propagating)
	bitmaps               sync.Pool // *[]uint64, one bit per deployment, all clear
	scratch               sync.Pool // *[]int32, for Match
	merge                 sync.Pool // *[]int, for mergeMatches
	// shared holds, per tenant (+1, 0 for none) and kind, the deployments
	// whose targets select a computer by its tenant and kind alone (all
	// computers, client groups), ascending: computed by the first Match of
	// such a computer, shared by the others.
	shared []atomic.Pointer[[]int32]
	scans  sync.Map // target -> []int: the results of scanning targets
	// cache holds the compiled filters by source, shared with the matchers
	// updated from this one (update.go): a source keeps its slot in
	// filters and memo along the updates.
	cache *filterCache
}

// target is a deployment's target compiled against the index.
type target struct {
	typ       immy.TargetType
	tenants   bool  // selects tenants (cloud tasks), not computers
	scope     int32 // scopeFree, scopeCross or a tenant index
	propagate bool
	kinds     uint8 // bit k set: ComputerKind k passes the group filter
	key       int32 // computer, person, tag, group, device group or client group; -1: names nothing that exists
	filter    int32 // index into Matcher.filters, or -1
	dangling  bool  // Target.Tenant names no tenant: selects nothing
}

const (
	scopeFree  = -2 // individual targets without a tenant
	scopeCross = -1
)

// postKey locates a posting list: a scope (see scopeKey), a target type and
// the type's key.
type postKey struct {
	scope int32
	typ   immy.TargetType
	key   int32
}

// scopeKey is scopeFree, scopeCross, 2t for tenant t or 2t+1 for tenant t
// propagating to its descendants.
func (t *target) scopeKey() int32 {
	if t.scope < 0 {
		return t.scope
	}
	k := 2 * t.scope
	if t.propagate {
		k++
	}
	return k
}

// filterGroup is the deployments of one scope whose targets share a filter,
// in ascending order, with the union of their kind masks.
type filterGroup struct {
	filter int32
	kinds  uint8
	deps   []int32
}

// filterSlot is one distinct filter (its results are in Matcher.memo).
type filterSlot struct {
	f *Filter
}

// kindMasks maps a group filter to the kinds of computer it keeps.
func kindMask(g immy.GroupFilter) uint8 {
	bit := func(ks ...immy.ComputerKind) uint8 {
		var m uint8
		for _, k := range ks {
			m |= 1 << k
		}
		return m
	}
	switch g {
	case immy.FilterServers:
		return bit(immy.KindServer, immy.KindDomainController, immy.KindPrimaryDomainController)
	case immy.FilterWorkstations:
		return bit(immy.KindWorkstation)
	case immy.FilterPortable:
		return bit(immy.KindPortable)
	case immy.FilterWorkstationsAndPortable:
		return bit(immy.KindWorkstation, immy.KindPortable)
	case immy.FilterDomainControllers:
		return bit(immy.KindDomainController, immy.KindPrimaryDomainController)
	case immy.FilterPrimaryDomainControllers:
		return bit(immy.KindPrimaryDomainController)
	case immy.FilterAll:
		return 0xff
	}
	return 0
}

// selectsTenants reports whether a target selects tenants (a cloud task's
// target) rather than computers.
func selectsTenants(t immy.Target) bool {
	switch t.Type {
	case immy.TargetAllTenants, immy.TargetTenant, immy.TargetTenantTag:
		return true
	}
	return t.Category == immy.CategoryTenant
}

// Compile compiles the targets of deployments against the index, once: each
// distinct filter is compiled and type-checked once and shared. Filters that
// do not compile are returned together as immy.Problems (section
// "deployments", field "target.expr" or "target.lua", the message holding the
// position inside the filter); nothing is returned half-built. Targets that
// name something the fleet does not have select nothing (immy.Fleet.Validate
// reports them). The deployments slice is kept: the caller must not change it.
func (ix *Index) Compile(deployments []immy.Deployment) (*Matcher, error) {
	return ix.compile(deployments, nil)
}

// compile is Compile; prev, when not nil, is a matcher of an index that ix
// was updated from: its compiled filters, and what it knows that still
// holds, are reused (update.go).
func (ix *Index) compile(deployments []immy.Deployment, prev *Matcher) (*Matcher, error) {
	m := &Matcher{
		ix:          ix,
		deps:        deployments,
		targets:     make([]target, len(deployments)),
		post:        map[postKey][]int32{},
		filterPost:  map[int32][]filterGroup{},
		tenantTypes: make([]uint16, 2*len(ix.f.Tenants)),
		shared:      make([]atomic.Pointer[[]int32], 9*(len(ix.f.Tenants)+1)),
	}
	m.scratch.New = func() any { return new([]int32) }
	m.merge.New = func() any { return new([]int) }
	m.bitmaps.New = func() any {
		words := make([]uint64, (len(deployments)+63)/64)
		return &words
	}
	if prev != nil {
		m.cache = prev.cache
	} else {
		m.cache = newFilterCache(ix.luaPoolSize)
	}
	var ps immy.Problems
	for i := range deployments {
		d := &deployments[i]
		t, err := m.compileTarget(d.Target, m.cache.slot)
		if err != nil {
			p := immy.Problem{Section: "deployments", Index: i, ID: d.ID, Field: "target.expr", Message: err.Error(), Err: immy.ErrInvalid}
			var ce *CompileError
			if errors.As(err, &ce) {
				p.Message, p.Err = ce.problemMessage(), ce
				if ce.Lang == LanguageLua {
					p.Field = "target.lua"
				}
			}
			ps = append(ps, p)
			continue
		}
		m.targets[i] = t
		if t.tenants || t.dangling || t.key < 0 {
			continue
		}
		sk := t.scopeKey()
		pk := postKey{scope: sk, typ: t.typ, key: t.key}
		m.post[pk] = append(m.post[pk], int32(i))
		if t.filter >= 0 {
			gs := m.filterPost[sk]
			g := slices.IndexFunc(gs, func(g filterGroup) bool { return g.filter == t.filter })
			if g < 0 {
				gs = append(gs, filterGroup{filter: t.filter})
				g = len(gs) - 1
			}
			gs[g].kinds |= t.kinds
			gs[g].deps = append(gs[g].deps, int32(i))
			m.filterPost[sk] = gs
		}
		bit := uint16(1) << t.typ
		switch sk {
		case scopeCross:
			m.crossTypes |= bit
		case scopeFree:
			m.freeTypes |= bit
		default:
			m.tenantTypes[sk] |= bit
		}
	}
	if len(ps) > 0 {
		ps.Sort()
		return nil, ps
	}
	m.filters = m.cache.all()
	m.memoStride = (len(m.filters) + 15) / 16
	m.groups = make([]groupedFilter, len(m.filters))
	m.memo = make([]atomic.Pointer[[]atomic.Uint32], (len(ix.f.Computers)+memoBlock-1)/memoBlock)
	if prev != nil {
		m.inherit(prev) // update.go
	}
	return m, nil
}

// compileTarget compiles one target; filter compiles (or finds) a filter.
func (m *Matcher) compileTarget(tg immy.Target, filter func(Language, string) (int32, error)) (target, error) {
	ix := m.ix
	t := target{typ: tg.Type, tenants: selectsTenants(tg), kinds: kindMask(tg.Filter), key: -1, filter: -1,
		propagate: tg.PropagateToChildren}
	switch {
	case tg.Tenant != "":
		k, ok := ix.tenantIDs[tg.Tenant]
		t.scope = k
		t.dangling = !ok
	case tg.Type == immy.TargetComputer || tg.Type == immy.TargetPerson:
		t.scope = scopeFree
	default:
		t.scope = scopeCross
	}
	lookup := func(ids map[string]int32, id string) int32 {
		if k, ok := ids[id]; ok {
			return k
		}
		return -1
	}
	switch tg.Type {
	case immy.TargetAllComputers, immy.TargetAllTenants, immy.TargetTenant:
		t.key = 0
	case immy.TargetComputer:
		t.key = lookup(ix.computerIDs, tg.Computer)
	case immy.TargetPerson:
		t.key = lookup(ix.personIDs, tg.Person)
	case immy.TargetTag, immy.TargetTenantTag:
		t.key = lookup(ix.tagIDs, tg.Tag)
	case immy.TargetGroup:
		t.key = lookup(ix.groupIDs, tg.Group)
	case immy.TargetDeviceGroup:
		t.key = lookup(ix.deviceGroupIDs, tg.DeviceGroup)
	case immy.TargetClientGroup:
		t.key = lookup(ix.clientGroupIDs, tg.ClientGroup)
	case immy.TargetFilter:
		var (
			f   int32
			err error
		)
		switch {
		case tg.Expr != "" && tg.Lua != "", tg.Expr == "" && tg.Lua == "":
			return t, errors.New("a filter target needs exactly one of expr and lua")
		case tg.Expr != "":
			f, err = filter(LanguageExpr, tg.Expr)
		default:
			f, err = filter(LanguageLua, tg.Lua)
		}
		if err != nil {
			return t, err
		}
		t.key, t.filter = 0, f
	}
	return t, nil
}

// Index returns the index the matcher was compiled against.
func (m *Matcher) Index() *Index { return m.ix }

// Len returns the number of deployments.
func (m *Matcher) Len() int { return len(m.deps) }

// Match appends to dst the indices (into the deployments given to Compile) of
// the deployments whose target selects computer c, in ascending order, and
// returns the extended slice. A computer excluded from maintenance matches
// nothing; a tenant excluded from cross-tenant deployments is skipped by
// cross-tenant targets; a single-tenant target reaches only its tenant, and
// its descendants when it propagates; a client group counts the agreements
// active on the index's day. Targets selecting tenants never match. Whether a
// deployment is enabled is not looked at: that is the caller's decision.
//
// A filter that fails at run time on c leaves its deployments out: Match then
// returns every other match together with a [FilterErrors] naming each of
// them. Any other error (a cancelled ctx) returns no match.
func (m *Matcher) Match(ctx context.Context, c int, dst []int) ([]int, error) {
	if err := m.checkComputer(c); err != nil {
		return dst, err
	}
	if m.ix.f.Computers[c].ExcludedFromMaintenance {
		return dst, nil
	}
	start := len(dst)
	shared, _ := m.sharedOf(ctx, c)
	for _, i := range shared {
		dst = append(dst, int(i))
	}
	mid := len(dst) // dst[start:mid] is in order
	sp := m.scratch.Get().(*[]int32)
	rest, err := m.rest(ctx, c, (*sp)[:0])
	for _, i := range rest {
		dst = append(dst, int(i))
	}
	*sp = rest
	m.scratch.Put(sp)
	if _, partial := partialMatch(err); err != nil && !partial {
		return dst[:start], err
	}
	if len(dst)-start > 32 {
		return m.mergeMatches(dst, start, mid), err
	}
	return m.sortMatches(dst, start), err
}

// MatchSplit is Match in two parts, for callers that plan many computers of
// a group at once. The group (an index below Groups(); -1 for a computer
// excluded from maintenance, which matches nothing) stands for the
// deployments whose targets select computer c by its tenant and kind alone
// (all computers, client groups): AppendShared gives them, the same for every
// computer of the group. MatchSplit appends the others to dst, ascending and
// without duplicates. Together they are what Match returns.
func (m *Matcher) MatchSplit(ctx context.Context, c int, dst []int32) (group int, out []int32, err error) {
	if err := m.checkComputer(c); err != nil {
		return -1, dst, err
	}
	if m.ix.f.Computers[c].ExcludedFromMaintenance {
		return -1, dst, nil
	}
	start := len(dst)
	out, err = m.rest(ctx, c, dst)
	if err != nil {
		return -1, out[:start], err
	}
	return m.group(c), m.sortRest(out, start), nil
}

// AppendShared appends to dst the deployments whose targets select computer
// c by its tenant and kind alone, ascending: the part of Match that c shares
// with its group (see MatchSplit). A computer excluded from maintenance has
// none.
func (m *Matcher) AppendShared(ctx context.Context, c int, dst []int32) ([]int32, error) {
	if err := m.checkComputer(c); err != nil {
		return dst, err
	}
	if m.ix.f.Computers[c].ExcludedFromMaintenance {
		return dst, nil
	}
	if shared := m.shared[m.group(c)].Load(); shared != nil {
		return append(dst, *shared...), nil
	}
	start := len(dst)
	dst = m.appendShared(ctx, c, dst)
	return m.sortRest(dst, start), nil // each deployment is in one posting: nothing dropped
}

// sortRest sorts dst[start:] and drops duplicates: through a bitmap over the
// deployments when there are many, else by sort. The shared lists go through
// it too: a bitmap sorts their hundreds of entries far faster than a sort.
func (m *Matcher) sortRest(dst []int32, start int) []int32 {
	tail := dst[start:]
	if len(tail) <= 32 {
		slices.Sort(tail)
		return dst[:start+len(slices.Compact(tail))]
	}
	bm := m.bitmaps.Get().(*[]uint64)
	words := *bm
	for _, i := range tail { // deployment indices: never negative
		u := uint32(i)
		words[u>>6] |= 1 << (u & 63)
	}
	n := 0 // tail is in the bitmap: its memory takes the sorted result
	for w, word := range words {
		if word == 0 {
			continue
		}
		for base := int32(w * 64); word != 0; word &= word - 1 {
			tail[n] = base + int32(bits.TrailingZeros64(word))
			n++
		}
		words[w] = 0
	}
	m.bitmaps.Put(bm)
	return dst[:start+n]
}

// Groups returns the number of groups of MatchSplit.
func (m *Matcher) Groups() int { return len(m.shared) }

// Group returns the group of MatchSplit that computer c belongs to: -1 when
// it is excluded from maintenance or unknown.
func (m *Matcher) Group(c int) int {
	if c < 0 || c >= len(m.ix.f.Computers) || m.ix.f.Computers[c].ExcludedFromMaintenance {
		return -1
	}
	return m.group(c)
}

func (m *Matcher) group(c int) int {
	return 9*(int(m.ix.cTenant[c])+1) + bits.TrailingZeros8(m.ix.cKind[c])
}

func (m *Matcher) checkComputer(c int) error {
	if c < 0 || c >= len(m.ix.f.Computers) {
		return fmt.Errorf("targets: no computer #%d: %w", c, immy.ErrNotFound)
	}
	return nil
}

// scopes appends the scope keys that reach computer c, whose tenant is ten.
func (m *Matcher) scopes(ten int32, dst []int32) []int32 {
	ix := m.ix
	dst = append(dst, scopeFree)
	if ten < 0 || !ix.f.Tenants[ten].ExcludeFromCrossTenant {
		dst = append(dst, scopeCross)
	}
	if ten >= 0 {
		dst = append(dst, 2*ten, 2*ten+1)
		for a := ix.tParent[ten]; a >= 0; a = ix.tParent[a] {
			dst = append(dst, 2*a+1)
		}
	}
	return dst
}

func (m *Matcher) typesOf(s int32) uint16 {
	switch s {
	case scopeFree:
		return m.freeTypes
	case scopeCross:
		return m.crossTypes
	}
	return m.tenantTypes[s]
}

// visit appends the deployments of one posting list that select computer c,
// of kind kind; the first error is kept in *err.
func (m *Matcher) visit(ctx context.Context, c int, kind uint8, pk postKey, dst []int32, err *error) []int32 {
	for _, i := range m.post[pk] {
		t := &m.targets[i]
		if t.kinds&kind == 0 {
			continue
		}
		if t.filter >= 0 {
			ok, ferr := m.filterResult(ctx, t.filter, c)
			if ferr != nil {
				m.filterFailed(ctx, err, i, c, ferr) // problem.go
				continue
			}
			if !ok {
				continue
			}
		}
		dst = append(dst, i)
	}
	return dst
}

// sharedOf returns the deployments whose targets select computer c (not
// excluded) by its tenant and kind alone, ascending, and the index of their
// group: computed by the first computer of the group, shared by the others.
func (m *Matcher) sharedOf(ctx context.Context, c int) ([]int32, int) {
	group := m.group(c)
	slot := &m.shared[group]
	if shared := slot.Load(); shared != nil {
		return *shared, group
	}
	sp := m.scratch.Get().(*[]int32)
	list := m.sortRest(m.appendShared(ctx, c, (*sp)[:0]), 0)
	*sp = list
	list = slices.Clone(list) // exactly sized: kept as long as the matcher
	m.scratch.Put(sp)
	slot.CompareAndSwap(nil, &list)
	return *slot.Load(), group
}

// appendShared appends the deployments whose targets select computer c (not
// excluded) by its tenant and kind alone, in no particular order.
func (m *Matcher) appendShared(ctx context.Context, c int, dst []int32) []int32 {
	ix := m.ix
	kind := ix.cKind[c]
	ten := ix.cTenant[c]
	var scopeBuf [8]int32
	var err error // these targets have no filter
	for _, s := range m.scopes(ten, scopeBuf[:0]) {
		types := m.typesOf(s)
		if types&(1<<immy.TargetAllComputers) != 0 {
			dst = m.visit(ctx, c, kind, postKey{s, immy.TargetAllComputers, 0}, dst, &err)
		}
		if ten >= 0 && types&(1<<immy.TargetClientGroup) != 0 {
			for _, g := range ix.tClientGroups[ten] {
				dst = m.visit(ctx, c, kind, postKey{s, immy.TargetClientGroup, g}, dst, &err)
			}
		}
	}
	return dst
}

// rest appends the deployments whose targets select computer c (not
// excluded) by more than its tenant and kind, in no particular order, maybe
// more than once.
func (m *Matcher) rest(ctx context.Context, c int, dst []int32) ([]int32, error) {
	ix := m.ix
	kind := ix.cKind[c]
	ten := ix.cTenant[c]
	var scopeBuf [8]int32
	var err error
	for _, s := range m.scopes(ten, scopeBuf[:0]) {
		types := m.typesOf(s)
		if types == 0 {
			continue
		}
		has := func(t immy.TargetType) bool { return types&(1<<t) != 0 }
		if has(immy.TargetComputer) {
			dst = m.visit(ctx, c, kind, postKey{s, immy.TargetComputer, int32(c)}, dst, &err)
		}
		if p := ix.cPrimary[c]; p >= 0 && has(immy.TargetPerson) {
			dst = m.visit(ctx, c, kind, postKey{s, immy.TargetPerson, p}, dst, &err)
		}
		if has(immy.TargetTag) {
			for _, g := range ix.cTags.of(c) {
				dst = m.visit(ctx, c, kind, postKey{s, immy.TargetTag, g}, dst, &err)
			}
		}
		if has(immy.TargetGroup) {
			for _, g := range ix.cGroups.of(c) {
				dst = m.visit(ctx, c, kind, postKey{s, immy.TargetGroup, g}, dst, &err)
			}
		}
		if has(immy.TargetDeviceGroup) {
			for _, g := range ix.cDeviceGroups.of(c) {
				dst = m.visit(ctx, c, kind, postKey{s, immy.TargetDeviceGroup, g}, dst, &err)
			}
		}
		if has(immy.TargetFilter) {
			// each distinct filter once; a failure is reported for every
			// deployment of the filter (problem.go)
			for _, g := range m.filterPost[s] {
				if g.kinds&kind == 0 {
					continue
				}
				ok, e := m.filterResult(ctx, g.filter, c)
				for _, i := range g.deps {
					if m.targets[i].kinds&kind == 0 {
						continue
					}
					if e != nil {
						m.filterFailed(ctx, &err, i, c, e)
						continue
					}
					if ok {
						dst = append(dst, i)
					}
				}
			}
		}
	}
	if es, ok := partialMatch(err); ok {
		sortFilterErrors(es)
	}
	return dst, err
}

// mergeMatches sorts dst[start:] when dst[start:mid] is in order: it sorts
// the rest, merges it in and drops duplicates, as sortMatches does for more
// than 32 matches.
func (m *Matcher) mergeMatches(dst []int, start, mid int) []int {
	tail := dst[mid:]
	slices.Sort(tail)
	sp := m.merge.Get().(*[]int)
	b := append((*sp)[:0], tail...)
	i, j := mid-1, len(b)-1
	for k := len(dst) - 1; j >= 0; k-- {
		if i >= start && dst[i] > b[j] {
			dst[k] = dst[i]
			i--
		} else {
			dst[k] = b[j]
			j--
		}
	}
	*sp = b
	m.merge.Put(sp)
	return dst[:start+len(slices.Compact(dst[start:]))]
}

// sortMatches sorts dst[start:], the union of ascending posting lists:
// through a bitmap over the deployments when there are many, else by sort.
func (m *Matcher) sortMatches(dst []int, start int) []int {
	n := len(dst) - start
	if n <= 32 {
		slices.Sort(dst[start:])
		return dst
	}
	bm := m.bitmaps.Get().(*[]uint64)
	words := *bm
	for _, i := range dst[start:] {
		words[i/64] |= 1 << (i % 64)
	}
	dst = dst[:start]
	for w, word := range words {
		if word == 0 {
			continue
		}
		for word != 0 {
			dst = append(dst, w*64+bits.TrailingZeros64(word))
			word &= word - 1
		}
		words[w] = 0
	}
	m.bitmaps.Put(bm)
	return dst
}

// memoBlock is the number of computers a block of Matcher.memo covers: the
// unit of allocation, and of copying when a matcher is updated for changed
// computers (update.go).
const memoBlock = 256

// memoWord returns the word of Matcher.memo that holds filter f's result on
// computer c, allocating its block on first use.
func (m *Matcher) memoWord(c int, f int32) *atomic.Uint32 {
	slot := &m.memo[c/memoBlock]
	words := slot.Load()
	if words == nil {
		fresh := make([]atomic.Uint32, memoBlock*m.memoStride)
		if !slot.CompareAndSwap(nil, &fresh) {
			words = slot.Load() // another goroutine allocated it first: use that one
		} else {
			words = &fresh
		}
	}
	return &(*words)[(c%memoBlock)*m.memoStride+int(f/16)]
}

// filterResult evaluates filter f on computer c, once: by its group when
// f was evaluated by groups (group.go), else on c alone.
func (m *Matcher) filterResult(ctx context.Context, f int32, c int) (bool, error) {
	if ok, known := m.grouped(f, c); known {
		return ok, nil
	}
	word := m.memoWord(c, f)
	shift := uint(f%16) * 2
	switch (word.Load() >> shift) & 3 {
	case 1:
		return false, nil
	case 2:
		return true, nil
	}
	slot := m.filters[f]
	ok, err := slot.f.Eval(ctx, m.env(c))
	if err != nil {
		return false, err
	}
	bits := uint32(1)
	if ok {
		bits = 2
	}
	for {
		old := word.Load()
		if word.CompareAndSwap(old, old|bits<<shift) {
			break
		}
	}
	m.evaluated(ctx, f)
	return ok, nil
}

// env is the filter environment of computer c.
func (m *Matcher) env(c int) Env {
	e := Env{Computer: &m.ix.f.Computers[c]}
	if t := m.ix.cTenant[c]; t >= 0 {
		e.Tenant = &m.ix.f.Tenants[t]
	}
	return e
}

// admits checks everything but the target type's own rule: exclusion from
// maintenance, the group filter, the tenant scope and exclusion from
// cross-tenant deployments.
func (m *Matcher) admits(t *target, c int32) bool {
	ix := m.ix
	if t.kinds&ix.cKind[c] == 0 {
		return false
	}
	ten := ix.cTenant[c]
	switch t.scope {
	case scopeFree:
		return true
	case scopeCross:
		return ten < 0 || !ix.tExcludedCross[ten]
	}
	if ten < 0 {
		return false
	}
	return ten == t.scope || (t.propagate && ix.inSubtree(t.scope, ten))
}

func (m *Matcher) check(i int) (*target, error) {
	if i < 0 || i >= len(m.targets) {
		return nil, fmt.Errorf("targets: no deployment #%d: %w", i, immy.ErrNotFound)
	}
	return &m.targets[i], nil
}

// Resolve returns the computers (indices into Fleet().Computers) that
// deployment i's target selects, sorted by computer id, under the same rules
// as Match. A target that selects tenants selects no computers.
//
// A filter that fails at run time on some computers leaves them out: Resolve
// then returns the computers it could decide together with a [FilterErrors]
// naming each failure. Any other error (a cancelled ctx) returns none.
func (m *Matcher) Resolve(ctx context.Context, i int) ([]int, error) {
	t, err := m.check(i)
	if err != nil {
		return nil, err
	}
	ix := m.ix
	if t.tenants || t.dangling || t.key < 0 {
		return []int{}, nil
	}
	// Scans (all computers, filters) are shared by the deployments with the
	// same target: computed once, copied out.
	scan := t.typ == immy.TargetAllComputers || t.typ == immy.TargetFilter
	if scan {
		if got, ok := m.scans.Load(*t); ok {
			return slices.Clone(got.([]int)), nil
		}
	}
	// The candidates the type's index gives, and whether they are in id order.
	var cand []int32
	sorted := true
	scoped := func() {
		switch t.scope {
		case scopeCross, scopeFree:
			cand = ix.byRank
		default:
			cand = ix.subtreeComputers(t.scope, t.propagate)
			sorted = !t.propagate
		}
	}
	switch t.typ {
	case immy.TargetAllComputers, immy.TargetFilter:
		scoped()
	case immy.TargetComputer:
		cand = []int32{t.key}
	case immy.TargetPerson:
		cand = ix.personComputers[t.key]
	case immy.TargetTag:
		cand = slices.Clone(ix.tagComputers[t.key])
		for _, tn := range ix.tagTenants[t.key] {
			cand = append(cand, ix.subtreeComputers(tn, false)...)
		}
		for _, p := range ix.tagPersons[t.key] {
			cand = append(cand, ix.personComputers[p]...)
		}
		cand = ix.sortComputers(cand)
	case immy.TargetGroup:
		cand = ix.groupComputers[t.key]
	case immy.TargetDeviceGroup:
		cand = ix.deviceGroupMember[t.key]
	case immy.TargetClientGroup:
		for _, tn := range ix.clientTenants[t.key] {
			cand = append(cand, ix.subtreeComputers(tn, false)...)
		}
		sorted = false
	default:
		return []int{}, nil
	}
	if t.filter >= 0 && len(cand) >= int(groupMinEvals) {
		m.groupFilter(ctx, t.filter) // a scan of many computers: by groups
	}
	out := make([]int, 0, len(cand))
	var ferrs error
	for n, c := range cand {
		if n%1024 == 1023 {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("targets: deployment %q: %w", m.deps[i].ID, err)
			}
		}
		if !m.admits(t, c) {
			continue
		}
		if t.filter >= 0 {
			ok, err := m.filterResult(ctx, t.filter, int(c))
			if err != nil {
				m.filterFailed(ctx, &ferrs, int32(i), int(c), err)
				if _, partial := partialMatch(ferrs); !partial {
					return nil, ferrs
				}
				continue
			}
			if !ok {
				continue
			}
		}
		out = append(out, int(c))
	}
	if !sorted {
		out = sortByRank(ix, out)
	}
	if ferrs != nil {
		return out, ferrs // not kept: the failures are told on every call
	}
	if scan {
		m.scans.Store(*t, slices.Clone(out))
	}
	return out, nil
}

// ResolveTenants returns the tenants (indices into Fleet().Tenants) that
// deployment i's target selects, sorted by tenant id: the target of a cloud
// task (all-tenants, tenant, tenant-tag, or client-group). A single-tenant
// target keeps its tenant (and its descendants when it propagates); a
// cross-tenant one skips the tenants excluded from cross-tenant deployments.
// Other target types are an error.
func (m *Matcher) ResolveTenants(ctx context.Context, i int) ([]int, error) {
	t, err := m.check(i)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("targets: deployment %q: %w", m.deps[i].ID, err)
	}
	ix := m.ix
	var cand []int32
	switch t.typ {
	case immy.TargetAllTenants, immy.TargetTenant:
		cand = ix.tenantsByRank
	case immy.TargetTenantTag:
		if t.key >= 0 {
			cand = ix.tagTenants[t.key]
		}
	case immy.TargetClientGroup:
		if t.key >= 0 {
			cand = ix.clientTenants[t.key]
		}
	default:
		return nil, fmt.Errorf("targets: deployment %q: target %s selects computers, not tenants: %w",
			m.deps[i].ID, t.typ, immy.ErrInvalid)
	}
	out := []int{}
	if t.dangling {
		return out, nil
	}
	for _, tn := range cand {
		if t.scope >= 0 {
			if tn != t.scope && !(t.propagate && ix.inSubtree(t.scope, tn)) {
				continue
			}
		} else if ix.f.Tenants[tn].ExcludeFromCrossTenant {
			continue
		}
		out = append(out, int(tn))
	}
	// Every candidate list is in id order already.
	return out, nil
}

// sortByRank sorts computer indices by computer id.
func sortByRank(ix *Index, cs []int) []int {
	tmp := make([]int32, len(cs))
	for i, c := range cs {
		tmp[i] = int32(c)
	}
	tmp = ix.sortComputers(tmp)
	cs = cs[:len(tmp)]
	for i, c := range tmp {
		cs[i] = int(c)
	}
	return cs
}
