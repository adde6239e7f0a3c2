package targets

import (
	"cmp"
	"fmt"
	"math/bits"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/immyoss/engine/immy"
)

// Config configures an Index. The zero value is useful.
type Config struct {
	// At is the evaluation time: client groups count the agreements active on
	// its day (whole days, both bounds inclusive, in UTC). Zero means the
	// fleet's At, or the current time when that is zero too.
	At time.Time
	// LuaPoolSize is how many idle Lua states a Matcher keeps for its Lua
	// filters; 0 means GOMAXPROCS.
	LuaPoolSize int
}

// Index holds the lookups target resolution needs over one fleet: tenants as a
// tree, computers by tenant, tag, person (through affinity), group, device
// group and client group. It is built once by NewIndex, is immutable, and is
// safe for concurrent use. It keeps the fleet: the caller must not change the
// fleet afterwards.
type Index struct {
	f           *immy.Fleet
	at          time.Time
	day         immy.Date
	luaPoolSize int

	computerIDs map[string]int32
	tenantIDs   map[string]int32
	personIDs   map[string]int32
	groupIDs    map[string]int32

	// Tenants form a forest; a DFS numbers them so that the subtree of t is
	// the DFS positions [tIn[t], tOut[t]).
	tParent       []int32
	tDepth        []int32
	tIn, tOut     []int32
	tenantRank    []int32 // position of each tenant in id order
	tenantsByRank []int32

	// Computers sorted by the DFS position of their tenant, then by id;
	// treeStart[k] is where the computers of the tenant at DFS position k start.
	compsByTree []int32
	treeStart   []int32
	tenantless  []int32 // computers whose tenant is unknown, by id

	cTenant []int32 // -1: unknown tenant
	// cKind is 1<<Kind, or 0 for a computer excluded from maintenance (so that
	// no group filter passes it): admits reads it rather than the computer.
	cKind          []uint8
	tExcludedCross []bool
	cPrimary       []int32 // -1: no primary person
	cRank          []int32 // position of each computer in id order
	byRank         []int32 // computers in id order

	personComputers [][]int32 // computers whose primary person it is, by id

	tagIDs       map[string]int32
	cTags        lists     // tags reaching each computer: its own, its tenant's, its primary person's
	tagComputers [][]int32 // computers carrying the tag themselves
	tagTenants   [][]int32
	tagPersons   [][]int32

	deviceGroupIDs    map[string]int32
	cDeviceGroups     lists
	deviceGroupMember [][]int32 // computers by id

	clientGroupIDs map[string]int32
	tClientGroups  [][]int32 // client groups with an agreement active on the day
	clientTenants  [][]int32 // tenants by id

	groupComputers [][]int32 // each group resolved to computers, by id
	cGroups        lists     // groups holding each computer

	// byUPN finds the person of a tenant by lower-cased UPN (affinity):
	// Update recomputes a changed computer's primary person with it.
	byUPN map[upnKey]int32
	// cfg is what the index was built with; gen tells this index from every
	// other; delta says how it was made from the index it updated
	// (update.go), for the matcher's Update.
	cfg   Config
	gen   uint64
	delta indexDelta
	// groups holds the computers grouped by the fields filters read,
	// built as filters need them (group.go).
	groups *groupings
}

// NewIndex builds the index of a fleet. Dangling references (a computer of an
// unknown tenant, a group member that does not exist) are left out, as
// immy.Fleet.Validate reports them; cycles in the tenant tree or in group
// nesting make resolution meaningless and are returned as immy.Problems.
func NewIndex(f *immy.Fleet, cfg Config) (*Index, error) {
	if f == nil {
		return nil, fmt.Errorf("targets: no fleet: %w", immy.ErrInvalid)
	}
	at := cfg.At
	if at.IsZero() {
		at = f.At
	}
	if at.IsZero() {
		at = time.Now()
	}
	ix := &Index{f: f, at: at, day: immy.DateOf(at.UTC()), luaPoolSize: cfg.LuaPoolSize, cfg: cfg, gen: indexGen.Add(1),
		groups: &groupings{}}
	// Independent parts are built two at a time: the computer ids beside the
	// tenants and computers, then the device and client groups beside
	// affinity (itself in two halves), then tags beside groups (both need
	// affinity).
	var wg sync.WaitGroup
	wg.Go(func() { ix.computerIDs = idMap(len(f.Computers), func(i int) string { return f.Computers[i].ID }) })
	ix.tenantIDs = idMap(len(f.Tenants), func(i int) string { return f.Tenants[i].ID })
	ix.personIDs = idMap(len(f.Persons), func(i int) string { return f.Persons[i].ID })
	ix.groupIDs = idMap(len(f.Groups), func(i int) string { return f.Groups[i].ID })

	var ps immy.Problems
	ps = append(ps, ix.buildTenants()...)
	ix.buildComputers()
	wg.Wait()
	wg.Go(func() {
		ix.buildDeviceGroups()
		ix.buildClientGroups()
	})
	ix.buildAffinity()
	wg.Wait()
	wg.Go(ix.buildTags) // tags and groups both need affinity, not each other
	ps = append(ps, ix.buildGroups()...)
	wg.Wait()
	if len(ps) > 0 {
		ps.Sort()
		return nil, ps
	}
	return ix, nil
}

// idMap maps ids to their first index; empty ids are left out.
func idMap(n int, id func(int) string) map[string]int32 {
	m := make(map[string]int32, n)
	for i := range n {
		if s := id(i); s != "" {
			if _, dup := m[s]; !dup {
				m[s] = int32(i)
			}
		}
	}
	return m
}

// rankBy returns the indices 0..n-1 sorted by id (then index), and the rank of each.
func rankBy(n int, id func(int) string) (byRank, rank []int32) {
	byRank = make([]int32, n)
	for i := range byRank {
		byRank[i] = int32(i)
	}
	slices.SortFunc(byRank, func(a, b int32) int {
		if c := strings.Compare(id(int(a)), id(int(b))); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	rank = make([]int32, n)
	for r, i := range byRank {
		rank[i] = int32(r)
	}
	return byRank, rank
}

func (ix *Index) buildTenants() immy.Problems {
	ts := ix.f.Tenants
	n := len(ts)
	ix.tenantsByRank, ix.tenantRank = rankBy(n, func(i int) string { return ts[i].ID })
	ix.tParent = make([]int32, n)
	children := make([][]int32, n)
	var roots []int32
	for _, i := range ix.tenantsByRank {
		p, ok := ix.tenantIDs[ts[i].Parent]
		if ts[i].Parent == "" || !ok || ix.tenantIDs[ts[i].ID] != i {
			// Roots: no parent, an unknown parent, or a duplicate id (which
			// nothing can name as a parent).
			ix.tParent[i] = -1
			roots = append(roots, i)
			continue
		}
		ix.tParent[i] = p
		children[p] = append(children[p], i)
	}
	ix.tDepth = make([]int32, n)
	ix.tIn = make([]int32, n)
	ix.tOut = make([]int32, n)
	for i := range ix.tIn {
		ix.tIn[i] = -1
	}
	pos := int32(0)
	type frame struct {
		t    int32
		next int
	}
	var stack []frame
	for _, r := range roots {
		ix.tIn[r] = pos
		pos++
		stack = append(stack[:0], frame{t: r})
		for len(stack) > 0 {
			top := &stack[len(stack)-1]
			if top.next < len(children[top.t]) {
				ch := children[top.t][top.next]
				top.next++
				ix.tIn[ch] = pos
				ix.tDepth[ch] = ix.tDepth[top.t] + 1
				pos++
				stack = append(stack, frame{t: ch})
				continue
			}
			ix.tOut[top.t] = pos
			stack = stack[:len(stack)-1]
		}
	}
	// Tenants not reached from a root sit on (or under) a parent cycle.
	var ps immy.Problems
	seen := map[string]bool{}
	for _, i := range ix.tenantsByRank {
		if ix.tIn[i] >= 0 {
			continue
		}
		cycle := ix.tenantCycle(i)
		if cycle == nil {
			continue
		}
		key := strings.Join(cycle, "\x00")
		if seen[key] {
			continue
		}
		seen[key] = true
		first := ix.tenantIDs[cycle[0]]
		ps = append(ps, immy.Problem{
			Section: "tenants", Index: int(first), ID: cycle[0], Field: "parent",
			Message: "tenant cycle: " + strings.Join(cycle, " -> "),
			Err:     &immy.CycleError{Kind: "tenant", Path: cycle},
		})
	}
	return ps
}

// tenantCycle walks up from t to the parent cycle it reaches and returns it,
// rotated to start at its smallest id and closed (first == last).
func (ix *Index) tenantCycle(t int32) []string {
	ts := ix.f.Tenants
	at := map[int32]int{}
	var path []int32
	for cur := t; ; {
		if k, loop := at[cur]; loop {
			cyc := path[k:]
			m := 0
			for j := range cyc {
				if ts[cyc[j]].ID < ts[cyc[m]].ID {
					m = j
				}
			}
			out := make([]string, 0, len(cyc)+1)
			for j := range cyc {
				out = append(out, ts[cyc[(m+j)%len(cyc)]].ID)
			}
			return append(out, out[0])
		}
		at[cur] = len(path)
		path = append(path, cur)
		p, ok := ix.tenantIDs[ts[cur].Parent]
		if ts[cur].Parent == "" || !ok {
			return nil
		}
		cur = p
	}
}

func (ix *Index) buildComputers() {
	cs := ix.f.Computers
	ix.byRank, ix.cRank = rankBy(len(cs), func(i int) string { return cs[i].ID })
	ix.cTenant = make([]int32, len(cs))
	ix.cKind = make([]uint8, len(cs))
	for i := range cs {
		if !cs[i].ExcludedFromMaintenance {
			ix.cKind[i] = kindBit(cs[i].Kind)
		}
	}
	nt := len(ix.f.Tenants)
	ix.tExcludedCross = make([]bool, nt)
	for t := range ix.f.Tenants {
		ix.tExcludedCross[t] = ix.f.Tenants[t].ExcludeFromCrossTenant
	}
	count := make([]int32, nt+1)
	for i := range cs {
		t, ok := ix.tenantIDs[cs[i].Tenant]
		if !ok || ix.tIn[t] < 0 {
			t = -1
		}
		ix.cTenant[i] = t
		if t >= 0 {
			count[ix.tIn[t]+1]++
		}
	}
	ix.treeStart = make([]int32, nt+1)
	for k := 1; k <= nt; k++ {
		ix.treeStart[k] = ix.treeStart[k-1] + count[k]
	}
	fill := slices.Clone(ix.treeStart)
	ix.compsByTree = make([]int32, ix.treeStart[nt])
	for _, c := range ix.byRank {
		t := ix.cTenant[c]
		if t < 0 {
			ix.tenantless = append(ix.tenantless, c)
			continue
		}
		k := ix.tIn[t]
		ix.compsByTree[fill[k]] = c
		fill[k]++
	}
}

type upnKey struct {
	tenant int32
	upn    string
}

func (ix *Index) buildAffinity() {
	ps := ix.f.Persons
	byUPN := make(map[upnKey]int32, len(ps))
	for i := range ps {
		t, ok := ix.tenantIDs[ps[i].Tenant]
		if !ok || ps[i].UPN == "" {
			continue
		}
		k := upnKey{t, strings.ToLower(ps[i].UPN)}
		if j, dup := byUPN[k]; !dup || ps[i].ID < ps[j].ID {
			byUPN[k] = int32(i)
		}
	}
	ix.byUPN = byUPN
	cs := ix.f.Computers
	ix.cPrimary = make([]int32, len(cs))
	// Each computer's primary person is its own business: the computers are
	// read in two halves at once (byUPN is only read).
	primary := func(lo, hi int) {
		var t int32
		lookup := func(upn string) int {
			if p, ok := byUPN[upnKey{t, upn}]; ok {
				return int(p)
			}
			return -1
		}
		for c := lo; c < hi; c++ {
			ix.cPrimary[c] = -1
			t = ix.cTenant[c]
			if t >= 0 {
				ix.cPrimary[c] = int32(affinity(cs[c].UPNs, lookup))
			}
		}
	}
	var wg sync.WaitGroup
	half := len(cs) / 2
	wg.Go(func() { primary(half, len(cs)) })
	primary(0, half)
	wg.Wait()
	ix.personComputers = make([][]int32, len(ps))
	for _, c := range ix.byRank {
		if p := ix.cPrimary[c]; p >= 0 {
			ix.personComputers[p] = append(ix.personComputers[p], c)
		}
	}
}

// intern returns the id of s in ids, adding it.
func intern(ids map[string]int32, s string) int32 {
	if id, ok := ids[s]; ok {
		return id
	}
	id := int32(len(ids))
	ids[s] = id
	return id
}

// grow makes lists long enough to hold index n.
func grow(lists [][]int32, n int32) [][]int32 {
	for int32(len(lists)) <= n {
		lists = append(lists, nil)
	}
	return lists
}

// internAll interns a list of names, without duplicates, in first-seen order.
func internAll(ids map[string]int32, names []string) []int32 {
	if len(names) == 0 {
		return nil
	}
	return appendInterned(make([]int32, 0, len(names)), 0, ids, names)
}

// appendInterned interns names and appends those that dst[start:] does not
// hold yet, in first-seen order.
func appendInterned(dst []int32, start int, ids map[string]int32, names []string) []int32 {
	for _, s := range names {
		if s == "" {
			continue
		}
		id := intern(ids, s)
		if !slices.Contains(dst[start:], id) {
			dst = append(dst, id)
		}
	}
	return dst
}

// sortComputers sorts computer indices by id and drops duplicates, in place.
// Large sets go through a bitmap over the id order rather than a sort.
func (ix *Index) sortComputers(cs []int32) []int32 {
	n := len(ix.byRank)
	if len(cs) > n/32 && len(cs) > 64 {
		bits := make([]uint64, (n+63)/64)
		for _, c := range cs {
			r := ix.cRank[c]
			bits[r/64] |= 1 << (r % 64)
		}
		cs = cs[:0]
		for w, word := range bits {
			for word != 0 {
				b := bitsTrailingZeros(word)
				cs = append(cs, ix.byRank[w*64+b])
				word &= word - 1
			}
		}
		return cs
	}
	for i, c := range cs {
		cs[i] = ix.cRank[c]
	}
	slices.Sort(cs)
	cs = slices.Compact(cs)
	for i, r := range cs {
		cs[i] = ix.byRank[r]
	}
	return cs
}

// sortTenants sorts tenant indices by id and drops duplicates.
func (ix *Index) sortTenants(ts []int32) []int32 {
	for i, t := range ts {
		ts[i] = ix.tenantRank[t]
	}
	slices.Sort(ts)
	ts = slices.Compact(ts)
	for i, r := range ts {
		ts[i] = ix.tenantsByRank[r]
	}
	return ts
}

// Fleet returns the indexed fleet.
func (ix *Index) Fleet() *immy.Fleet { return ix.f }

// ComputersByID returns the indices of the fleet's computers sorted by id
// (computers with the same id by index).
func (ix *Index) ComputersByID() []int { return toInts(ix.byRank) }

// At returns the evaluation time.
func (ix *Index) At() time.Time { return ix.at }

// Day returns the evaluation day, in UTC, on which agreements must be active.
func (ix *Index) Day() immy.Date { return ix.day }

// Computer returns the index in Fleet().Computers of the computer with the id.
func (ix *Index) Computer(id string) (int, bool) {
	i, ok := ix.computerIDs[id]
	return int(i), ok
}

// Tenant returns the index in Fleet().Tenants of the tenant with the id.
func (ix *Index) Tenant(id string) (int, bool) {
	i, ok := ix.tenantIDs[id]
	return int(i), ok
}

// ComputerTenant returns the index of the computer's tenant, or false when the
// computer's tenant is unknown.
func (ix *Index) ComputerTenant(computer int) (int, bool) {
	t := ix.cTenant[computer]
	return int(t), t >= 0
}

// TenantDistance returns how far up the tree ancestor is from tenant: 0 for
// the same tenant, 1 for its parent, 2 for its grandparent; -1 when ancestor
// is neither tenant nor one of its ancestors (or either is unknown).
func (ix *Index) TenantDistance(ancestor, tenant string) int {
	a, ok1 := ix.tenantIDs[ancestor]
	t, ok2 := ix.tenantIDs[tenant]
	if !ok1 || !ok2 || !ix.inSubtree(a, t) {
		return -1
	}
	return int(ix.tDepth[t] - ix.tDepth[a])
}

// inSubtree reports whether t is a or one of its descendants.
func (ix *Index) inSubtree(a, t int32) bool {
	return ix.tIn[a] >= 0 && ix.tIn[t] >= 0 && ix.tIn[a] <= ix.tIn[t] && ix.tIn[t] < ix.tOut[a]
}

// PrimaryPerson returns the index in Fleet().Persons of the computer's
// primary person (see the package function PrimaryPerson for the rule).
func (ix *Index) PrimaryPerson(computer int) (person int, ok bool) {
	p := ix.cPrimary[computer]
	return int(p), p >= 0
}

// PersonComputers returns the computers (indices, sorted by id) whose primary
// person is person. The slice must not be changed.
func (ix *Index) PersonComputers(person int) []int {
	return toInts(ix.personComputers[person])
}

// subtreeComputers returns the computers of tenant t, and of its descendants
// when deep; not sorted by id when deep.
func (ix *Index) subtreeComputers(t int32, deep bool) []int32 {
	k := ix.tIn[t]
	if k < 0 {
		return nil
	}
	end := k + 1
	if deep {
		end = ix.tOut[t]
	}
	return ix.compsByTree[ix.treeStart[k]:ix.treeStart[end]]
}

func toInts(s []int32) []int {
	out := make([]int, len(s))
	for i, v := range s {
		out[i] = int(v)
	}
	return out
}

func bitsTrailingZeros(w uint64) int { return bits.TrailingZeros64(w) }

// kindBit is the bit of a computer kind in a group filter's mask; a kind out
// of range counts as unknown.
func kindBit(k immy.ComputerKind) uint8 {
	if k > immy.KindPrimaryDomainController {
		k = immy.KindUnknown
	}
	return 1 << k
}
