package targets

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/immyoss/engine/immy"
)

// Changes names what changed from one fleet to the next, by id, section by
// section: an entity put (created or replaced) or deleted is listed in its
// section. The fleet store's typed operations map onto it one to one (a put
// or delete of a tenant lists the tenant's id in Tenants, and so on; an
// inventory write lists its computers in Computers; settings set Settings).
// Software, Tasks and Schedules mean nothing to an Index or a Matcher; the
// resolver reads Software and Tasks, and Schedules are listed so that a
// store's change maps whole.
type Changes struct {
	Tenants     []string
	Persons     []string
	Computers   []string
	Groups      []string
	Agreements  []string
	Software    []string
	Tasks       []string
	Deployments []string
	Schedules   []string
	// Settings: the fleet's settings (its evaluation time At) changed.
	Settings bool
}

// Empty reports whether nothing changed.
func (c Changes) Empty() bool {
	return !c.Settings && len(c.Tenants)+len(c.Persons)+len(c.Computers)+len(c.Groups)+len(c.Agreements)+
		len(c.Software)+len(c.Tasks)+len(c.Deployments)+len(c.Schedules) == 0
}

// Merge returns the changes of c followed by o: what changed from the fleet
// before c to the fleet after o. Ids may repeat.
func (c Changes) Merge(o Changes) Changes {
	return Changes{
		Tenants:     append(slices.Clip(c.Tenants), o.Tenants...),
		Persons:     append(slices.Clip(c.Persons), o.Persons...),
		Computers:   append(slices.Clip(c.Computers), o.Computers...),
		Groups:      append(slices.Clip(c.Groups), o.Groups...),
		Agreements:  append(slices.Clip(c.Agreements), o.Agreements...),
		Software:    append(slices.Clip(c.Software), o.Software...),
		Tasks:       append(slices.Clip(c.Tasks), o.Tasks...),
		Deployments: append(slices.Clip(c.Deployments), o.Deployments...),
		Schedules:   append(slices.Clip(c.Schedules), o.Schedules...),
		Settings:    c.Settings || o.Settings,
	}
}

// indexGen numbers indexes, so that an index can name the one it was
// updated from without keeping it alive.
var indexGen atomic.Uint64

// indexDelta is how an index was made from the one it updated.
type indexDelta struct {
	parent uint64 // the gen of that index; 0: built from scratch
	// same: every lookup is the parent's (the same slices and maps); only
	// what filters read of some computers changed
	same bool
	// positions: the parent's computers keep their indices, added ones come
	// after them, and the tenants did not change: a filter's result on a
	// computer not in dirty still holds
	positions bool
	dirty     []int32 // computers (indices) whose filter environment may have changed
}

// Update returns the index of next, a fleet that differs from the index's
// own by ch alone: the entities ch lists may differ, the others must be
// equal and, for computers, keep their place (as the fleet store makes its
// fleets: a put replaces in place, a create appends, a delete removes). The
// index is immutable: ix is left as it was, for whoever still plans from it.
//
// What it costs depends on what changed. A change of deployments,
// software, tasks or schedules alone, or of computers' fields that no
// lookup reads (inventory, OS, online, attributes, name, ...), makes an
// index that shares every lookup with ix: O(changed computers). A change of
// a computer's kind, exclusion, tags or device groups patches copies of the
// lookups it touches (the per-computer arrays, copied whole, and the lists
// of the tags and device groups it joins or leaves). A change of a
// computer's tenant or primary person, the creation or deletion of a
// computer, or any change of tenants, persons, groups, agreements or
// settings builds the lookups again from next (O(fleet), as NewIndex), which
// these rarer changes can afford; a
// Matcher updated to it still keeps what its filters found on every computer
// that did not change (Matcher.Update).
func (ix *Index) Update(next *immy.Fleet, ch Changes) (*Index, error) {
	if next == nil {
		return nil, fmt.Errorf("targets: no fleet: %w", immy.ErrInvalid)
	}
	old := ix.f.Computers
	d := indexDelta{parent: ix.gen, positions: len(ch.Tenants) == 0 && len(next.Computers) >= len(old)}
	// The computers ch names: in place, or created or deleted.
	inPlace := len(next.Computers) == len(old)
	var changed []int32 // in place
	for _, id := range ch.Computers {
		i, ok := ix.computerIDs[id]
		if ok && int(i) < len(next.Computers) && next.Computers[i].ID == id {
			changed = append(changed, i)
			continue
		}
		inPlace = false
		if ok { // deleted, or moved: the computers after it moved too
			d.positions = false
		}
	}
	if !inPlace && d.positions { // computers created: the old ones must keep their places
		for i := range old {
			if next.Computers[i].ID != old[i].ID {
				d.positions = false
				break
			}
		}
	}
	slices.Sort(changed)
	changed = slices.Compact(changed)
	if d.positions {
		d.dirty = append(d.dirty, changed...)
		for i := len(old); i < len(next.Computers); i++ {
			d.dirty = append(d.dirty, int32(i))
		}
	}
	atChanged := ix.cfg.At.IsZero() && !next.At.Equal(ix.f.At)
	structural := !inPlace || ch.Settings || atChanged ||
		len(ch.Tenants)+len(ch.Persons)+len(ch.Groups)+len(ch.Agreements) > 0
	patch := false // only kinds, exclusions, tags or device groups changed
	if !structural {
		for _, i := range changed {
			switch ix.lookupsOf(i, &next.Computers[i]) {
			case lookupsPatch:
				patch = true
			case lookupsRebuild:
				structural = true
			}
		}
	}
	if !structural {
		nx := ix.shallow()
		nx.f, nx.gen = next, indexGen.Add(1)
		nx.groups = &groupings{} // of next's computers, as filters need them
		d.same = !patch
		if patch {
			nx.patch(ix, changed)
		}
		nx.delta = d
		return nx, nil
	}
	nx, err := NewIndex(next, ix.cfg)
	if err != nil {
		return nil, err
	}
	nx.delta = d
	return nx, nil
}

// What a computer's change does to the index's lookups.
const (
	lookupsSame    = iota // none reads what changed
	lookupsPatch          // its kind, exclusion, tags or device groups: patched (patch)
	lookupsRebuild        // its tenant or primary person: built again
)

// lookupsOf tells what computer i's change to c does to the lookups.
func (ix *Index) lookupsOf(i int32, c *immy.Computer) int {
	o := &ix.f.Computers[i]
	if o.Tenant != c.Tenant {
		return lookupsRebuild
	}
	if !slices.Equal(o.UPNs, c.UPNs) {
		p := int32(-1)
		if t := ix.cTenant[i]; t >= 0 {
			p = int32(affinity(c.UPNs, func(upn string) int {
				if p, ok := ix.byUPN[upnKey{t, upn}]; ok {
					return int(p)
				}
				return -1
			}))
		}
		if p != ix.cPrimary[i] {
			return lookupsRebuild
		}
	}
	if o.Kind != c.Kind || o.ExcludedFromMaintenance != c.ExcludedFromMaintenance ||
		!slices.Equal(o.Tags, c.Tags) || !slices.Equal(o.DeviceGroups, c.DeviceGroups) {
		return lookupsPatch
	}
	return lookupsSame
}

// patch brings the lookups of ix, a shallow copy of old over the next
// fleet, up to date for the changed computers, whose tenant and primary
// person did not change: kinds, tags and device groups. What it changes it
// copies first (old is left as it was); the per-computer arrays are copied
// whole, the lists of a tag or device group only where a computer joins or
// leaves them.
func (ix *Index) patch(old *Index, changed []int32) {
	f, of := ix.f, old.f
	var kinds, tags, devs bool
	for _, c := range changed {
		n, o := &f.Computers[c], &of.Computers[c]
		kinds = kinds || n.Kind != o.Kind || n.ExcludedFromMaintenance != o.ExcludedFromMaintenance
		tags = tags || !slices.Equal(n.Tags, o.Tags)
		devs = devs || !slices.Equal(n.DeviceGroups, o.DeviceGroups)
	}
	if kinds {
		ix.cKind = slices.Clone(old.cKind)
		for _, c := range changed {
			ix.cKind[c] = 0
			if !f.Computers[c].ExcludedFromMaintenance {
				ix.cKind[c] = kindBit(f.Computers[c].Kind)
			}
		}
	}
	if tags {
		ix.tagIDs = maps.Clone(old.tagIDs)
		ix.tagComputers = slices.Clone(old.tagComputers)
		ix.cTags = lists{at: slices.Clone(old.cTags.at), vals: slices.Clip(old.cTags.vals)}
		for _, c := range changed {
			vals := ix.cTags.vals
			start := len(vals)
			vals = appendInterned(vals, start, ix.tagIDs, f.Computers[c].Tags) // its own
			own := vals[start:]
			for g := int32(len(ix.tagComputers)); g < int32(len(ix.tagIDs)); g++ {
				ix.tagComputers = append(ix.tagComputers, nil)
			}
			ix.joinLeave(ix.tagComputers, c, ownTags(old, c), own)
			add := func(names []string) {
				for _, name := range names {
					if g, ok := ix.tagIDs[name]; ok && name != "" && !slices.Contains(vals[start:], g) {
						vals = append(vals, g)
					}
				}
			}
			if t := ix.cTenant[c]; t >= 0 {
				add(f.Tenants[t].Tags)
			}
			if p := ix.cPrimary[c]; p >= 0 {
				add(f.Persons[p].Tags)
			}
			ix.cTags.at[c] = span{int32(start), int32(len(vals) - start)}
			ix.cTags.vals = vals
		}
		n := len(ix.tagIDs)
		for len(ix.tagTenants) < n || len(ix.tagPersons) < n {
			if len(ix.tagTenants) < n {
				ix.tagTenants = append(slices.Clip(ix.tagTenants), nil)
			}
			if len(ix.tagPersons) < n {
				ix.tagPersons = append(slices.Clip(ix.tagPersons), nil)
			}
		}
	}
	if devs {
		ix.deviceGroupIDs = maps.Clone(old.deviceGroupIDs)
		ix.deviceGroupMember = slices.Clone(old.deviceGroupMember)
		ix.cDeviceGroups = lists{at: slices.Clone(old.cDeviceGroups.at), vals: slices.Clip(old.cDeviceGroups.vals)}
		for _, c := range changed {
			vals := ix.cDeviceGroups.vals
			start := len(vals)
			vals = appendInterned(vals, start, ix.deviceGroupIDs, f.Computers[c].DeviceGroups)
			for g := int32(len(ix.deviceGroupMember)); g < int32(len(ix.deviceGroupIDs)); g++ {
				ix.deviceGroupMember = append(ix.deviceGroupMember, nil)
			}
			ix.joinLeave(ix.deviceGroupMember, c, old.cDeviceGroups.of(int(c)), vals[start:])
			ix.cDeviceGroups.at[c] = span{int32(start), int32(len(vals) - start)}
			ix.cDeviceGroups.vals = vals
		}
	}
}

// ownTags returns the tags computer c carries itself in old: the first of
// its tag list, before its tenant's and its primary person's.
func ownTags(old *Index, c int32) []int32 {
	all := old.cTags.of(int(c))
	var own []int32
	for _, name := range old.f.Computers[c].Tags {
		if g, ok := old.tagIDs[name]; ok && name != "" && slices.Contains(all, g) && !slices.Contains(own, g) {
			own = append(own, g)
		}
	}
	return own
}

// joinLeave takes computer c out of members[g] for each g of was not in is,
// and puts it in for each g of is not in was, copying the lists it changes
// (members itself is the caller's copy). Lists stay sorted by computer id.
func (ix *Index) joinLeave(members [][]int32, c int32, was, is []int32) {
	rank := func(x int32) int32 { return ix.cRank[x] }
	for _, g := range was {
		if slices.Contains(is, g) {
			continue
		}
		members[g] = slices.DeleteFunc(slices.Clone(members[g]), func(x int32) bool { return x == c })
	}
	for _, g := range is {
		if slices.Contains(was, g) {
			continue
		}
		list := members[g]
		at, found := slices.BinarySearchFunc(list, rank(c), func(x, r int32) int { return cmpInt32(rank(x), r) })
		if !found {
			members[g] = slices.Insert(slices.Clone(list), at, c)
		}
	}
}

func cmpInt32(a, b int32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// shallow returns a copy of ix that shares every lookup.
func (ix *Index) shallow() *Index {
	nx := *ix
	return &nx
}

// Update returns the matcher of deployments over ix, an index updated from
// m's (Index.Update), reusing what still holds: each filter compiled once
// for all the matchers updated from one another (by its source), and what
// the filters found on the computers that did not change. When ix shares
// every lookup with m's index and deployments is the very slice m was
// compiled from (nothing but computers' inventory changed), the postings
// are shared too and the update costs O(changed computers). Otherwise the
// targets are compiled again, O(deployments), without compiling any filter
// already known. m is left as it was. An ix that was not updated from m's
// index gets a matcher that shares m's compiled filters only.
func (m *Matcher) Update(ix *Index, deployments []immy.Deployment) (*Matcher, error) {
	if ix == nil {
		return nil, fmt.Errorf("targets: no index: %w", immy.ErrInvalid)
	}
	sameDeps := len(deployments) == len(m.deps) && (len(deployments) == 0 || &deployments[0] == &m.deps[0])
	if sameDeps && ix.delta.parent == m.ix.gen && ix.delta.same {
		return m.withIndex(ix), nil
	}
	prev := m
	if len(m.cache.all()) > 2*m.usedFilters()+256 {
		// Filters no deployment uses any more have piled up along the
		// updates: start afresh from the ones in use (their results are
		// lost with their slots).
		prev = &Matcher{ix: m.ix, cache: m.cache.compact(m)}
	}
	return ix.compile(deployments, prev)
}

// usedFilters counts the distinct filters m's deployments use.
func (m *Matcher) usedFilters() int {
	seen := map[int32]bool{}
	for i := range m.targets {
		if f := m.targets[i].filter; f >= 0 {
			seen[f] = true
		}
	}
	return len(seen)
}

// withIndex returns m over ix, which shares every lookup with m's index:
// the same targets and postings; the filters' results but those of ix's
// dirty computers.
func (m *Matcher) withIndex(ix *Index) *Matcher {
	n := &Matcher{
		ix: ix, deps: m.deps, targets: m.targets, filters: m.filters, post: m.post, filterPost: m.filterPost,
		crossTypes: m.crossTypes, freeTypes: m.freeTypes, tenantTypes: m.tenantTypes,
		shared: m.shared, // by tenant and kind, which did not change
		cache:  m.cache,
		memo:   make([]atomic.Pointer[[]atomic.Uint32], len(m.memo)), memoStride: m.memoStride,
		groups: make([]groupedFilter, len(m.filters)),
	}
	n.scratch.New = func() any { return new([]int32) }
	n.merge.New = func() any { return new([]int) }
	n.bitmaps.New = func() any {
		words := make([]uint64, (len(n.deps)+63)/64)
		return &words
	}
	n.inherit(m)
	return n
}

// inherit takes over from prev, the matcher of the index m's index was
// updated from, what still holds: the filters' results on the computers
// that did not change (when the filters keep their slots and the computers
// their places), and the scans that read no changed computer's filters.
func (m *Matcher) inherit(prev *Matcher) {
	d := &m.ix.delta
	if d.parent != prev.ix.gen || !d.positions || m.cache != prev.cache {
		return
	}
	m.inheritMemo(prev, d.dirty)
	m.inheritGroups(prev, d.dirty) // group.go
	if !d.same {
		return
	}
	// The lookups are the same: a scan holds unless a filter of it may read
	// differently on a changed computer.
	prev.scans.Range(func(k, v any) bool {
		if t := k.(target); t.filter < 0 || len(d.dirty) == 0 {
			m.scans.Store(k, v)
		}
		return true
	})
}

// inheritMemo shares prev's blocks of filter results, copying the blocks of
// dirty computers with their results cleared, and widening every block
// when m has more filters than prev's blocks hold.
func (m *Matcher) inheritMemo(prev *Matcher, dirty []int32) {
	stride := max(m.memoStride, prev.memoStride)
	wide := stride > prev.memoStride
	if wide {
		stride += 4 // room for a few more filters before the next widening
	}
	m.memoStride = stride
	isDirty := map[int]bool{}
	for _, c := range dirty {
		isDirty[int(c)/memoBlock] = true
	}
	for b := range min(len(m.memo), len(prev.memo)) {
		old := prev.memo[b].Load()
		if old == nil {
			continue
		}
		if !wide && !isDirty[b] {
			m.memo[b].Store(old) // shared: both write the same results
			continue
		}
		// fresh is m's alone until it is stored: it is written plainly,
		// old is read word by word as its other matchers may be writing.
		fresh := make([]uint32, memoBlock*stride)
		for c := range memoBlock {
			from := (*old)[c*prev.memoStride : (c+1)*prev.memoStride]
			to := fresh[c*stride : c*stride+prev.memoStride]
			for w := range from {
				to[w] = from[w].Load()
			}
		}
		for _, c := range dirty {
			if int(c)/memoBlock == b {
				clear(fresh[(int(c)%memoBlock)*stride:][:stride])
			}
		}
		words := unsafe.Slice((*atomic.Uint32)(unsafe.Pointer(unsafe.SliceData(fresh))), len(fresh))
		m.memo[b].Store(&words)
	}
}

// inheritMemo writes a block as []uint32 before it is published as
// []atomic.Uint32: the two must have one size.
var (
	_ [unsafe.Sizeof(atomic.Uint32{}) - 4]struct{}
	_ [4 - unsafe.Sizeof(atomic.Uint32{})]struct{}
)

// filterCache holds compiled filters by source, each in its own slot, for a
// matcher and every matcher updated from it: a source keeps its slot in all
// of them, so that what a filter found on a computer can be shared between
// them (Matcher.memo). Slots are never reused.
type filterCache struct {
	mu       sync.Mutex
	pool     *statePool
	bySource map[filterSource]int32
	filters  []*filterSlot
}

type filterSource struct {
	lang Language
	src  string
}

func newFilterCache(luaPoolSize int) *filterCache {
	return &filterCache{pool: newStatePool(luaPoolSize), bySource: map[filterSource]int32{}}
}

// slot returns the slot of the filter with this source, compiling it the
// first time.
func (fc *filterCache) slot(lang Language, src string) (int32, error) {
	k := filterSource{lang, src}
	fc.mu.Lock()
	defer fc.mu.Unlock()
	if f, ok := fc.bySource[k]; ok {
		return f, nil
	}
	f, err := compileFilter(lang, src, fc.pool)
	if err != nil {
		return -1, err
	}
	fc.bySource[k] = int32(len(fc.filters))
	fc.filters = append(fc.filters, &filterSlot{f: f})
	return fc.bySource[k], nil
}

// all returns every slot so far; the slice is not changed afterwards.
func (fc *filterCache) all() []*filterSlot {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	return slices.Clip(fc.filters)
}

// compact returns a new cache holding the filters m uses, compiled already.
func (fc *filterCache) compact(m *Matcher) *filterCache {
	fresh := &filterCache{pool: fc.pool, bySource: map[filterSource]int32{}}
	used := map[int32]bool{}
	for i := range m.targets {
		if f := m.targets[i].filter; f >= 0 {
			used[f] = true
		}
	}
	fc.mu.Lock()
	defer fc.mu.Unlock()
	for k, f := range fc.bySource {
		if used[f] {
			fresh.bySource[k] = -1
		}
	}
	for k := range fresh.bySource {
		fresh.bySource[k] = int32(len(fresh.filters))
		fresh.filters = append(fresh.filters, fc.filters[fc.bySource[k]])
	}
	return fresh
}

// Touched returns the ids, sorted, of the computers whose matches may differ
// between old and m, where m was updated from old with ch (Index.Update, then
// Matcher.Update): the computers ch names, those of a changed tenant's
// subtree, of a changed person's or agreement's tenant, of a changed group,
// and those that a changed deployment's target selects in old or in m (or
// where its filter fails). It includes computers that old has and m has
// not. all reports that ch may touch every computer (changed settings); the
// ids are then nil. Software, tasks and schedules touch no computer's
// matches.
func (m *Matcher) Touched(ctx context.Context, old *Matcher, ch Changes) (ids []string, all bool, err error) {
	if ch.Settings {
		return nil, true, nil
	}
	ix, ox := m.ix, old.ix
	// With positions kept, a computer of old's index has the same index in
	// m's (none was deleted).
	samePlaces := ox == ix || (ix.delta.parent == ox.gen && ix.delta.positions)
	mark := make([]uint64, (len(ix.f.Computers)+63)/64)
	var list []int32
	var gone []string
	add := func(c int32) {
		if mark[c/64]&(1<<(c%64)) == 0 {
			mark[c/64] |= 1 << (c % 64)
			list = append(list, c)
		}
	}
	addID := func(id string) {
		if c, ok := ix.computerIDs[id]; ok {
			add(c)
		} else if _, had := ox.computerIDs[id]; had {
			gone = append(gone, id)
		}
	}
	// addAll adds computers of index x (old's or m's).
	addAll := func(x *Index, cs []int32) {
		if x == ix || samePlaces {
			for _, c := range cs {
				add(c)
			}
			return
		}
		for _, c := range cs {
			addID(x.f.Computers[c].ID)
		}
	}
	both := []*Index{ox, ix}
	for _, id := range ch.Computers {
		addID(id)
	}
	for _, id := range ch.Tenants { // the subtree: scopes, propagation, distances
		for _, x := range both {
			if t, ok := x.tenantIDs[id]; ok {
				addAll(x, x.subtreeComputers(t, true))
			}
		}
		for _, c := range ox.tenantless { // a computer of a tenant that comes now
			if ox.f.Computers[c].Tenant == id {
				addAll(ox, []int32{c})
			}
		}
	}
	tenantOf := func(x *Index, tenant string) {
		if t, ok := x.tenantIDs[tenant]; ok && tenant != "" {
			addAll(x, x.subtreeComputers(t, false))
		}
	}
	for _, id := range ch.Persons { // affinity looks among the persons of the computer's tenant
		for _, x := range both {
			if p, ok := x.personIDs[id]; ok {
				tenantOf(x, x.f.Persons[p].Tenant)
			}
		}
	}
	for _, id := range ch.Agreements { // client groups are the tenant's own
		for _, x := range both {
			for i := range x.f.Agreements {
				if x.f.Agreements[i].ID == id {
					tenantOf(x, x.f.Agreements[i].Tenant)
				}
			}
		}
	}
	for _, id := range ch.Groups { // a group nesting it changes by its computers only
		for _, x := range both {
			if g, ok := x.groupIDs[id]; ok && int(g) < len(x.groupComputers) {
				addAll(x, x.groupComputers[g])
			}
		}
	}
	for _, id := range ch.Deployments {
		for _, x := range []*Matcher{old, m} {
			i, ok := x.Deployment(id)
			if !ok {
				continue
			}
			cs, err := x.Resolve(ctx, i)
			if es, partial := partialMatch(err); partial {
				for _, e := range es {
					addID(e.Computer)
				}
			} else if err != nil {
				return nil, false, err
			}
			for _, c := range cs {
				if x == m || samePlaces {
					add(int32(c))
				} else {
					addID(x.ix.f.Computers[c].ID)
				}
			}
		}
	}
	list = ix.sortComputers(list)
	ids = make([]string, 0, len(list)+len(gone))
	for _, c := range list {
		ids = append(ids, ix.f.Computers[c].ID)
	}
	if len(gone) > 0 {
		ids = append(ids, gone...)
		slices.Sort(ids)
		ids = slices.Compact(ids)
	}
	return ids, false, nil
}

// SharesLookups reports whether ix shares every lookup with old: it is old,
// or it was updated from old (Index.Update) by a change of what filters read
// of some computers alone, so that every computer, tenant, person and group
// keeps its index and everything the index derived from them.
func (ix *Index) SharesLookups(old *Index) bool {
	return ix == old || (old != nil && ix.delta.same && ix.delta.parent == old.gen)
}
