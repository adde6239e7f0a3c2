package targets

import (
	"context"
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
	dep0   int32 // deps[0], read without reaching deps (rest, Wanted.anyOf)
	deps   []int32
}

// filterSlot is one distinct filter (its results are in Matcher.memo).
type filterSlot struct {
	f *Filter
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
	return m.match(ctx, c, dst, nil)
}

// match is Match; want, when not nil, is the deployments the caller needs
// (candidates.go).
func (m *Matcher) match(ctx context.Context, c int, dst []int, want Wanted) ([]int, error) {
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
	rest, err := m.rest(ctx, c, (*sp)[:0], want)
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
	return m.matchSplit(ctx, c, dst, nil)
}

// matchSplit is MatchSplit; want as for match.
func (m *Matcher) matchSplit(ctx context.Context, c int, dst []int32, want Wanted) (group int, out []int32, err error) {
	if err := m.checkComputer(c); err != nil {
		return -1, dst, err
	}
	if m.ix.f.Computers[c].ExcludedFromMaintenance {
		return -1, dst, nil
	}
	start := len(dst)
	out, err = m.rest(ctx, c, dst, want)
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
// more than once. A filter that only deployments outside want (when not
// nil) have is not evaluated, and those deployments are left out.
func (m *Matcher) rest(ctx context.Context, c int, dst []int32, want Wanted) ([]int32, error) {
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
				if g.kinds&kind == 0 || (want != nil && !want.anyOf(&g)) {
					continue
				}
				ok, e := m.filterResult(ctx, g.filter, c)
				if len(g.deps) == 1 && e == nil { // its kinds are g.kinds: deps and targets not reached
					if ok {
						dst = append(dst, g.dep0)
					}
					continue
				}
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
