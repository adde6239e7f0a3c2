package targets

import (
	"context"
	"encoding/binary"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	expr "github.com/expr-lang/expr/ast"
	luaast "github.com/yuin/gopher-lua/ast"

	"github.com/immyoss/engine/immy"
)

// Grouped evaluation. A filter is a pure function of the fields it reads
// (filtermemo.go finds them), and most computers share those values with
// many others: the same OS, site and tags. A filter that the matcher has
// evaluated on many computers one by one (groupMinEvals: a whole-fleet
// plan, a cross-tenant scan) is evaluated once per group of computers that
// agree on its fields, and the result is kept for every computer of the
// index at once (groupResults): a cross-tenant filter then costs one
// evaluation per distinct set of values plus a pass over the computers,
// not one evaluation per computer.
//
// The index groups its computers by a set of fields once (grouping), and
// shares the grouping between the filters that read the same fields: first
// by each field alone, then by the set, refining one field's grouping by the
// next. A grouping with more groups than a quarter of the computers (the
// filter reads a name, a UPN list) is not used, nor one past the index's
// budget of group numbers (groupBudget), and neither is grouping for
// a filter whose inputs cannot be known (installed(), the attributes map as
// a whole, the computer or the tenant as a value, _G, $env): these stay
// evaluated per computer, as the matcher did before. Each group's
// evaluation is the filter's own, under the caller's context and the same
// budgets; a group whose evaluation fails is left to the per-computer path
// (which reports the failure on each computer, as before).
// TestGroupedMatchesPlain pins the grouped path to the per-computer one
// over FleetScale's filters.

// groupMinEvals is how many computers a matcher evaluates a filter on one
// by one before it evaluates the filter by groups; a variable for the
// tests, which lower it to reach the grouped path on small fleets.
var groupMinEvals int32 = 1024

// groupOff turns grouped evaluation off: for the tests and benchmarks that
// compare it with the per-computer path, never set outside them.
var groupOff = false

// maxGroups is the most groups a grouping may have (group numbers are
// 16 bits); a quarter of the computers is the other bound.
const maxGroups = 1 << 16

// groupBudget bounds the memory of an index's groupings, whose field sets
// the filters (a fleet file, a tenant) choose: the group numbers they keep,
// of every grouping together, are at most groupBudget times the computers
// (2 bytes each: 256 bytes a computer). A grouping of one group keeps none,
// and one that groups the computers as another (a field set's refinement
// that splits nothing) shares that one's. A filter whose grouping would go
// past the budget is evaluated per computer, as one whose fields are too
// diverse. FleetScale(100_000)'s filters keep 65 times its computers (over
// 20,000 of them, BenchmarkMatchFleet).
const groupBudget = 128

// fieldSet is the fields a filter reads, sorted by name.
type fieldSet struct {
	inputs []memoInput
	key    string // the names, joined by "\x00"
}

func newFieldSet(ins []memoInput) *fieldSet {
	sorted := slices.SortedFunc(slices.Values(ins), func(a, b memoInput) int { return strings.Compare(a.name, b.name) })
	names := make([]string, len(sorted))
	for i := range sorted {
		names[i] = sorted[i].name
	}
	return &fieldSet{inputs: sorted, key: strings.Join(names, "\x00")}
}

// groupings holds an index's groupings of its computers, by the name of a
// field for a field alone, by "set\x00" and the key of a field set of
// several, built on first need.
type groupings struct {
	mu sync.Mutex
	by map[string]*grouping
	// kept is the group numbers the groupings keep (their of), at most
	// groupBudget times the computers.
	kept atomic.Int64
}

// grouping is the index's computers grouped by the values of a set of fields.
type grouping struct {
	once sync.Once
	of   []uint16 // the group of each computer; nil when n <= 1
	n    int      // groups
	// fine: not used, for too many groups to be worth it or past the
	// index's budget; of is nil
	fine bool
}

// group returns the group of computer c.
func (g *grouping) group(c int) uint16 {
	if g.of == nil {
		return 0
	}
	return g.of[c]
}

// room tells whether a grouping of n computers fits in the budget of an
// index of n computers.
func (gs *groupings) room(n int) bool {
	return gs.kept.Load()+int64(n) <= groupBudget*int64(n)
}

// keep charges g's group numbers to the budget of an index of n computers,
// or, past it, leaves g unused.
func (gs *groupings) keep(g *grouping, n int) {
	if g.of == nil {
		return
	}
	for {
		k := gs.kept.Load()
		if k+int64(len(g.of)) > groupBudget*int64(n) {
			g.of, g.n, g.fine = nil, 0, true
			return
		}
		if gs.kept.CompareAndSwap(k, k+int64(len(g.of))) {
			return
		}
	}
}

// grouping returns the grouping of the index's computers by the fields of
// fs, building it the first time (concurrent callers wait for it).
func (ix *Index) grouping(fs *fieldSet) *grouping {
	n := len(ix.f.Computers)
	limit := min(max(n/4, 1), maxGroups)
	byField := func(in *memoInput) *grouping {
		return ix.groupingOf(in.name, func(g *grouping) {
			ix.groupByField(g, in, limit)
			ix.groups.keep(g, n)
		})
	}
	if len(fs.inputs) == 1 {
		return byField(&fs.inputs[0])
	}
	return ix.groupingOf("set\x00"+fs.key, func(g *grouping) {
		// refined field by field; a field of one group refines nothing
		var acc *grouping
		own := false // acc.of is this grouping's own, not a field's
		for i := range fs.inputs {
			one := byField(&fs.inputs[i])
			switch {
			case one.fine:
				g.fine = true
				return
			case one.n <= 1:
			case acc == nil:
				acc = one
			default:
				if !ix.groups.room(n) {
					g.fine = true
					return
				}
				next := &grouping{}
				refine(next, acc, one, limit)
				if next.fine {
					g.fine = true
					return
				}
				if next.n > acc.n { // else one splits none of acc's groups
					acc, own = next, true
				}
			}
		}
		g.n = min(n, 1) // no field of several groups: one group
		if acc != nil {
			g.of, g.n = acc.of, acc.n
		}
		if own {
			ix.groups.keep(g, n)
		}
	})
}

// groupingOf returns the grouping of key, built by build the first time.
func (ix *Index) groupingOf(key string, build func(*grouping)) *grouping {
	gs := ix.groups
	gs.mu.Lock()
	if gs.by == nil {
		gs.by = map[string]*grouping{}
	}
	g, ok := gs.by[key]
	if !ok {
		g = &grouping{}
		gs.by[key] = g
	}
	gs.mu.Unlock()
	g.once.Do(func() { build(g) })
	return g
}

// groupByField groups the computers by the value of one field, in the
// order of their first computer; fine past limit groups, or at a second
// group past the index's budget.
func (ix *Index) groupByField(g *grouping, in *memoInput, limit int) {
	cs := ix.f.Computers
	var of []uint16 // made at the second group
	ids := map[string]uint16{}
	var buf []byte
	for i := range cs {
		c := &cs[i]
		t := &emptyTenant
		if ten := ix.cTenant[i]; ten >= 0 {
			t = &ix.f.Tenants[ten]
		}
		buf = buf[:0]
		switch in.kind {
		case memoString:
			buf = append(buf, in.str(c, t)...)
		case memoBool:
			if in.b(c, t) {
				buf = append(buf, 1)
			}
		case memoAttr:
			if v, ok := c.Attributes[in.attr]; ok {
				buf = append(append(buf, 1), v...)
			}
		case memoList:
			for _, s := range in.list(c, t) {
				buf = binary.AppendUvarint(buf, uint64(len(s)))
				buf = append(buf, s...)
			}
		}
		id, ok := ids[string(buf)]
		if !ok {
			if len(ids) == limit || len(ids) == 1 && !ix.groups.room(len(cs)) {
				g.fine = true
				return
			}
			if len(ids) == 1 {
				of = make([]uint16, len(cs)) // the computers before i: group 0
			}
			id = uint16(len(ids))
			ids[string(buf)] = id
		}
		if of != nil {
			of[i] = id
		}
	}
	g.of, g.n = of, len(ids)
}

// refine sets g to the grouping by the fields of a and of b together
// (both of more than one group); fine past limit groups.
func refine(g, a, b *grouping, limit int) {
	of := make([]uint16, len(a.of))
	n := 0
	if a.n*b.n <= 1<<18 {
		seen := make([]int32, a.n*b.n) // group+1, 0: none yet
		for c := range a.of {
			k := int(a.of[c])*b.n + int(b.of[c])
			id := seen[k]
			if id == 0 {
				if n == limit {
					g.fine = true
					return
				}
				n++
				id = int32(n)
				seen[k] = id
			}
			of[c] = uint16(id - 1)
		}
	} else {
		seen := map[uint32]uint16{}
		for c := range a.of {
			k := uint32(a.of[c])<<16 | uint32(b.of[c])
			id, ok := seen[k]
			if !ok {
				if n == limit {
					g.fine = true
					return
				}
				id = uint16(n)
				n++
				seen[k] = id
			}
			of[c] = id
		}
	}
	g.of, g.n = of, n
}

// groupedFilter is what a matcher knows of one filter's grouped evaluation.
type groupedFilter struct {
	// evals counts the computers the filter was evaluated on one by one,
	// until the grouped evaluation is tried (tried).
	evals atomic.Int32
	tried atomic.Bool
	res   atomic.Pointer[groupResults]
}

// groupResults is a filter's result on the computers of an index, found
// by groups: by group of a grouping, whose group numbers of the computers
// (shared by the filters that read the same fields) and the filter's state
// of each group are what a lookup reads, rather than a bit array of every
// computer per filter. It is immutable.
type groupResults struct {
	n     int // the computers of the index the results were found on
	first groupPart
	// more are the parts a computer's result is looked up in after first,
	// in order, up to the first that knows it (a filter's guards)
	more []groupPart
	// stale: the computers changed since the results were found (they were
	// inherited from the matcher of an older index, update.go): not known.
	stale *[]uint64
}

// groupPart is what a filter's evaluation by the groups of one grouping
// found.
type groupPart struct {
	of    []uint16 // the group of each computer (the grouping's); nil: group 0
	state []uint8  // by group: stateFalse, stateTrue, or not known
}

// The states of a group in a groupPart.
const (
	stateUnknown uint8 = iota // not evaluated, failed, or a guard that holds
	stateFalse
	stateTrue
)

func newGroupPart(gr *grouping) groupPart {
	return groupPart{of: gr.of, state: make([]uint8, max(gr.n, 1))}
}

// group returns the group of computer c.
func (p *groupPart) group(c int) int {
	if p.of == nil {
		return 0
	}
	return int(p.of[c])
}

// lookup returns the result on computer c, when it is known.
func (r *groupResults) lookup(c int) (result, known bool) {
	if c >= r.n {
		return false, false
	}
	if r.stale != nil {
		if w := c >> 6; w < len(*r.stale) && (*r.stale)[w]&(1<<(c&63)) != 0 {
			return false, false
		}
	}
	switch r.first.state[r.first.group(c)] {
	case stateFalse:
		return false, true
	case stateTrue:
		return true, true
	}
	for i := range r.more {
		p := &r.more[i]
		switch p.state[p.group(c)] {
		case stateFalse:
			return false, true
		case stateTrue:
			return true, true
		}
	}
	return false, false
}

// add adds part p to r (nil: a new one).
func (r *groupResults) add(n int, p groupPart) *groupResults {
	if r == nil {
		return &groupResults{n: n, first: p}
	}
	r.more = append(r.more, p)
	return r
}

// grouped returns filter f's result on computer c when its grouped
// evaluation knows it.
func (m *Matcher) grouped(f int32, c int) (result, known bool) {
	if r := m.groups[f].res.Load(); r != nil {
		return r.lookup(c)
	}
	return false, false
}

// evaluated counts one evaluation of filter f on a computer alone, and
// evaluates f by groups once there were groupMinEvals of them.
func (m *Matcher) evaluated(ctx context.Context, f int32) {
	g := &m.groups[f]
	if !g.tried.Load() && g.evals.Add(1) == groupMinEvals {
		m.groupFilter(ctx, f)
	}
}

// groupFilter evaluates filter f once per group of the index's computers
// that agree on the fields it reads, and keeps its result on every
// computer, unless it was tried already or f's inputs cannot be known or
// are too diverse to group. A group whose evaluation fails stays unknown;
// a cancelled ctx leaves nothing.
func (m *Matcher) groupFilter(ctx context.Context, f int32) {
	g := &m.groups[f]
	if groupOff || !g.tried.CompareAndSwap(false, true) {
		return
	}
	fl := m.filters[f].f
	if fl.reads != nil {
		if gr := m.ix.grouping(fl.reads); !gr.fine {
			m.groupWhole(ctx, f, gr)
			return
		}
	}
	var r *groupResults
	if fl.chunk != nil {
		r = m.groupByReads(ctx, f)
	}
	if r = m.groupGuards(f, r); r != nil {
		m.groups[f].res.Store(r)
	}
}

// groupWhole evaluates filter f by the groups of gr, the grouping by
// every field it reads.
func (m *Matcher) groupWhole(ctx context.Context, f int32, gr *grouping) {
	g, fl := &m.groups[f], m.filters[f].f
	n := len(m.ix.f.Computers)
	p := newGroupPart(gr)
	done := make([]bool, len(p.state))
	for c := range n {
		k := p.group(c)
		if done[k] {
			continue
		}
		// the group's first computer stands for the group
		done[k] = true
		ok, err := fl.evalPlain(ctx, m.env(c))
		switch {
		case err != nil && ctx.Err() != nil:
			g.evals.Store(0)
			g.tried.Store(false) // to be tried again by a caller not cancelled
			return
		case err != nil:
			// not known: left to the computer, which reports the failure
		case ok:
			p.state[k] = stateTrue
		default:
			p.state[k] = stateFalse
		}
	}
	g.res.Store((*groupResults)(nil).add(n, p))
}

// groupGuards finds, by groups, the computers on which one of filter f's
// guards is false, and f with it, adding them to r (nil: none known yet):
// f stays to be evaluated on the others. Guards whose fields are too
// diverse to group are passed over. It returns r, nil when nothing is
// known.
func (m *Matcher) groupGuards(f int32, r *groupResults) *groupResults {
	fl := m.filters[f].f
	n := len(m.ix.f.Computers)
	for _, gd := range fl.guards {
		gr := m.ix.grouping(gd.reads)
		if gr.fine {
			continue
		}
		p := newGroupPart(gr)
		done := make([]bool, len(p.state))
		for c := range n {
			k := p.group(c)
			if done[k] {
				continue
			}
			done[k] = true
			if e := m.env(c); !gd.fn(e.Computer, tenantOrEmpty(e.Tenant)) {
				p.state[k] = stateFalse // where the guard holds, not known
			}
		}
		r = r.add(n, p)
	}
	return r
}

// filterGuard is an operand of a filter's top-level chain of and, over
// fields that can be known, compiled into closures that never fail, and
// preceded only by such operands: where it is false the filter is false,
// whatever the fields it does not read (its name, its software).
type filterGuard struct {
	reads *fieldSet
	fn    boolFn
}

// exprGuards returns the guards of an expr filter: the operands of its
// top-level and-chain that compile to total closures over fields that can
// be known, up to the first operand that may fail or needs the VM (which
// runs the operands in order, so that one may fail before a false guard).
// A filter of one operand has none (its reads are the operand's).
func exprGuards(root expr.Node) []filterGuard {
	var terms []expr.Node
	var flatten func(n expr.Node)
	flatten = func(n expr.Node) {
		if b, ok := n.(*expr.BinaryNode); ok && (b.Operator == "and" || b.Operator == "&&") {
			flatten(b.Left)
			flatten(b.Right)
			return
		}
		terms = append(terms, n)
	}
	flatten(root)
	if len(terms) < 2 {
		return nil
	}
	var out []filterGuard
	for _, n := range terms {
		fn := fastExpr(n)
		if fn == nil || exprFallible(n) {
			break
		}
		if reads := exprInputs(n).reads(); reads != nil {
			out = append(out, filterGuard{reads: reads, fn: fn})
		}
	}
	return out
}

// luaGuards returns the guards of a Lua filter that is one return of a
// chain of and: its operands that compile to total closures returning a
// boolean over fields that can be known, up to the first that does not
// (a false operand of and is what the chunk returns).
func luaGuards(chunk []luaast.Stmt) []filterGuard {
	if len(chunk) != 1 {
		return nil
	}
	ret, ok := chunk[0].(*luaast.ReturnStmt)
	if !ok || len(ret.Exprs) != 1 {
		return nil
	}
	var terms []luaast.Expr
	var flatten func(e luaast.Expr)
	flatten = func(e luaast.Expr) {
		if l, ok := e.(*luaast.LogicalOpExpr); ok && l.Operator == "and" {
			flatten(l.Lhs)
			flatten(l.Rhs)
			return
		}
		terms = append(terms, e)
	}
	flatten(ret.Exprs[0])
	if len(terms) < 2 {
		return nil
	}
	var out []filterGuard
	for _, e := range terms {
		var fn boolFn
		if p, ok := luaPred(e); ok {
			fn = conj([]pred{p})
		} else if v, ok := luaValue(e); ok && v.kind == luaBool {
			fn = v.b
		} else {
			break
		}
		mi := newMemoInputs()
		w := &luaMemoWalker{mi: mi}
		w.expr(e)
		if reads := mi.reads(); reads != nil {
			out = append(out, filterGuard{reads: reads, fn: fn})
		}
	}
	return out
}

func tenantOrEmpty(t *immy.Tenant) *immy.Tenant {
	if t == nil {
		return &emptyTenant
	}
	return t
}

// evalPlain is Eval without the filter's memo: grouped evaluation asks
// once per distinct set of values, which the memo could only miss.
func (f *Filter) evalPlain(ctx context.Context, env Env) (bool, error) {
	if env.Computer == nil {
		return f.eval(ctx, env)
	}
	t := env.Tenant
	if t == nil {
		t = &emptyTenant
	}
	if f.fast != nil {
		return f.fast(env.Computer, t), nil
	}
	return f.evalSlow(ctx, env.Computer, t)
}

// inheritGroups takes over prev's grouped results (prev is the matcher of
// the index m's was updated from, with the same filter slots and computer
// places): shared as they are, with the dirty computers added to the
// computers they do not know.
func (m *Matcher) inheritGroups(prev *Matcher, dirty []int32) {
	unions := map[*[]uint64]*[]uint64{} // a result's stale set -> with dirty added
	for f := range min(len(m.groups), len(prev.groups)) {
		r := prev.groups[f].res.Load()
		if r == nil {
			continue
		}
		if len(dirty) > 0 {
			stale, ok := unions[r.stale]
			if !ok {
				var s []uint64
				if r.stale != nil {
					s = slices.Clone(*r.stale)
				}
				for _, c := range dirty {
					w := int(c) >> 6
					for len(s) <= w {
						s = append(s, 0)
					}
					s[w] |= 1 << (c & 63)
				}
				stale = &s
				unions[r.stale] = stale
			}
			r = &groupResults{n: r.n, first: r.first, more: r.more, stale: stale}
		}
		m.groups[f].res.Store(r)
	}
}
