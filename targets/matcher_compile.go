package targets

import (
	"errors"
	"slices"
	"sync/atomic"

	"github.com/immyoss/engine/immy"
)

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
				gs = append(gs, filterGroup{filter: t.filter, dep0: int32(i)})
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
