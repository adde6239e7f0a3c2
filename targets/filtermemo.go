package targets

import (
	"context"
	"encoding/binary"
	"sync"
	"sync/atomic"

	expr "github.com/expr-lang/expr/ast"
	luaast "github.com/yuin/gopher-lua/ast"

	"github.com/immyoss/engine/immy"
)

// A filter is a pure function of the fields it reads, and most computers of
// a tenant (often of a fleet) share those values: the same OS, kind, maker,
// site, tenant. A filter that costs more than reading its fields (a Lua
// filter, an expr filter that runs in its VM) remembers its result by the
// values of the fields it reads (filterMemo), so that it runs once per
// distinct set of values rather than once per computer, and a filter
// targeting one tenant's computers runs about once per tenant when it reads
// only the tenant's fields.
//
// The memo is bounded: it remembers at most memoEntries results, of keys of
// at most memoKeyBytes bytes (a computer whose values are longer is
// evaluated without it), and turns itself off for good when, after
// memoProbe lookups, fewer than half found a result (the filter reads a
// field that differs on every computer: its name, its UPNs). Results that
// are errors are not remembered. TestFilterMemoMatches pins a memoised
// filter to the same filter without its memo over generated fleets.
//
// What a filter reads is also what the matcher groups computers by, to
// evaluate a filter asked about many computers once per group (group.go).

// memoOff compiles filters without a memo: for the benchmarks that
// measure what it saves, never set outside them.
var memoOff = false

const (
	memoEntries  = 512
	memoKeyBytes = 192
	memoProbe    = 256
)

// memoInputKind is the kind of a field a filter reads.
type memoInputKind uint8

const (
	memoString memoInputKind = iota
	memoBool
	memoList
	memoAttr // computer.attributes[attr]: absent and "" differ
)

// memoInput is one field a filter reads.
type memoInput struct {
	name string // "computer.os", "tenant.tags", "attr:site": one per field
	kind memoInputKind
	str  strFn
	b    boolFn
	list listFn
	attr string
}

// filterMemo remembers a filter's results by the values of its inputs.
type filterMemo struct {
	inputs []memoInput

	mu sync.RWMutex
	m  map[string]bool

	// The first memoProbe lookups are counted, then the memo settles
	// (stays on, uncounted) or turns itself off.
	lookups, hits atomic.Int64
	settled, off  atomic.Bool
}

func newFilterMemo(inputs []memoInput) *filterMemo {
	return &filterMemo{inputs: inputs, m: make(map[string]bool)}
}

// key appends the values of the inputs on c and t to buf, or reports that
// they do not fit in memoKeyBytes.
func (m *filterMemo) key(buf []byte, c *immy.Computer, t *immy.Tenant) ([]byte, bool) {
	put := func(s string) bool {
		if len(buf)+binary.MaxVarintLen32+len(s) > memoKeyBytes {
			return false
		}
		buf = binary.AppendUvarint(buf, uint64(len(s)))
		buf = append(buf, s...)
		return true
	}
	for i := range m.inputs {
		in := &m.inputs[i]
		if len(buf)+binary.MaxVarintLen32+1 > memoKeyBytes {
			return buf, false
		}
		switch in.kind {
		case memoString:
			if !put(in.str(c, t)) {
				return buf, false
			}
		case memoBool:
			b := byte(0)
			if in.b(c, t) {
				b = 1
			}
			buf = append(buf, b)
		case memoAttr:
			v, ok := c.Attributes[in.attr]
			if !ok {
				buf = append(buf, 0)
				continue
			}
			buf = append(buf, 1)
			if !put(v) {
				return buf, false
			}
		case memoList:
			l := in.list(c, t)
			buf = binary.AppendUvarint(buf, uint64(len(l)))
			for _, s := range l {
				if !put(s) {
					return buf, false
				}
			}
		}
	}
	return buf, true
}

// eval returns the filter's result on c and t, from the memo when it has
// it, else from run (remembered when it is not an error).
func (m *filterMemo) eval(ctx context.Context, c *immy.Computer, t *immy.Tenant,
	run func(ctx context.Context, c *immy.Computer, t *immy.Tenant) (bool, error)) (bool, error) {
	var arr [memoKeyBytes]byte
	buf, ok := m.key(arr[:0], c, t)
	if !ok {
		return run(ctx, c, t)
	}
	m.mu.RLock()
	v, found := m.m[string(buf)]
	m.mu.RUnlock()
	if !m.settled.Load() {
		n, hits := m.lookups.Add(1), m.hits.Load()
		if found {
			hits = m.hits.Add(1)
		}
		switch {
		case n < memoProbe:
		case 2*hits >= n:
			m.settled.Store(true)
		default:
			// Too few lookups find anything: the filter reads what
			// differs on most computers. Stop paying for the memo.
			m.off.Store(true)
			m.mu.Lock()
			m.m = nil
			m.mu.Unlock()
			if !found {
				return run(ctx, c, t)
			}
		}
	}
	if found {
		return v, nil
	}
	v, err := run(ctx, c, t)
	if err != nil {
		return v, err
	}
	m.mu.Lock()
	if m.m != nil && len(m.m) < memoEntries {
		m.m[string(buf)] = v
	}
	m.mu.Unlock()
	return v, nil
}

// memoInputs collects what a filter reads, by the same names as fields.go:
// ok is false when it reads something the memo cannot key (installed: the
// software list; the attributes map as a whole; computer or tenant as a
// value).
type memoInputs struct {
	ins  []memoInput
	seen map[string]bool
	ok   bool
}

func newMemoInputs() *memoInputs { return &memoInputs{seen: map[string]bool{}, ok: true} }

func (mi *memoInputs) field(obj, name string) {
	key := obj + "." + name
	if mi.seen[key] {
		return
	}
	mi.seen[key] = true
	switch {
	case stringFields[obj][name] != nil:
		mi.ins = append(mi.ins, memoInput{name: key, kind: memoString, str: stringFields[obj][name]})
	case boolFields[obj][name] != nil:
		mi.ins = append(mi.ins, memoInput{name: key, kind: memoBool, b: boolFields[obj][name]})
	case listFields[obj][name] != nil:
		mi.ins = append(mi.ins, memoInput{name: key, kind: memoList, list: listFields[obj][name]})
	default:
		mi.ok = false // a map as a whole
	}
}

func (mi *memoInputs) attr(key string) {
	if mi.seen["attr:"+key] {
		return
	}
	mi.seen["attr:"+key] = true
	mi.ins = append(mi.ins, memoInput{name: "attr:" + key, kind: memoAttr, attr: key})
}

// helper records what a helper of the environment reads.
func (mi *memoInputs) helper(name string) {
	switch name {
	case "has_tag":
		mi.field(objComputer, "tags")
		mi.field(objTenant, "tags")
	case "installed":
		mi.ok = false
	}
}

func (mi *memoInputs) memo() *filterMemo {
	if !mi.ok || memoOff {
		return nil
	}
	return newFilterMemo(mi.ins)
}

// reads returns what the filter reads (group.go), or nil when it cannot
// be known.
func (mi *memoInputs) reads() *fieldSet {
	if !mi.ok {
		return nil
	}
	return newFieldSet(mi.ins)
}

// exprMemo returns the memo of an expr filter, or nil.
func exprMemo(root expr.Node) *filterMemo { return exprInputs(root).memo() }

// exprInputs returns what an expr filter reads.
func exprInputs(root expr.Node) *memoInputs {
	mi := newMemoInputs()
	var walk func(n expr.Node)
	walk = func(n expr.Node) {
		if !mi.ok || n == nil {
			return
		}
		if key, ok := exprAttribute(n); ok {
			mi.attr(key)
			return
		}
		if obj, name, ok := exprField(n); ok {
			mi.field(obj, name)
			return
		}
		switch n := n.(type) {
		case *expr.IdentifierNode:
			if n.Value != "has_tag" && n.Value != "installed" {
				mi.ok = false // computer or tenant as a whole, or $env
			}
		case *expr.CallNode:
			if id, ok := n.Callee.(*expr.IdentifierNode); ok {
				mi.helper(id.Value)
			}
			walk(n.Callee)
			for _, a := range n.Arguments {
				walk(a)
			}
		case *expr.MemberNode:
			walk(n.Node)
			walk(n.Property)
		default:
			children, ok := exprChildren(n)
			if !ok {
				mi.ok = false
				return
			}
			for _, ch := range children {
				walk(ch)
			}
		}
	}
	walk(root)
	return mi
}

// exprChildren lists a node's children, or reports a node it does not know.
func exprChildren(n expr.Node) ([]expr.Node, bool) {
	switch n := n.(type) {
	case *expr.NilNode, *expr.IntegerNode, *expr.FloatNode, *expr.BoolNode, *expr.StringNode,
		*expr.ConstantNode, *expr.PointerNode, *expr.IdentifierNode:
		return nil, true
	case *expr.UnaryNode:
		return []expr.Node{n.Node}, true
	case *expr.BinaryNode:
		return []expr.Node{n.Left, n.Right}, true
	case *expr.ChainNode:
		return []expr.Node{n.Node}, true
	case *expr.MemberNode:
		return []expr.Node{n.Node, n.Property}, true
	case *expr.SliceNode:
		return []expr.Node{n.Node, n.From, n.To}, true
	case *expr.CallNode:
		return append([]expr.Node{n.Callee}, n.Arguments...), true
	case *expr.BuiltinNode:
		return n.Arguments, true
	case *expr.PredicateNode:
		return []expr.Node{n.Node}, true
	case *expr.ConditionalNode:
		return []expr.Node{n.Cond, n.Exp1, n.Exp2}, true
	case *expr.ArrayNode:
		return n.Nodes, true
	case *expr.MapNode:
		out := make([]expr.Node, 0, 2*len(n.Pairs))
		for _, p := range n.Pairs {
			out = append(out, p)
		}
		return out, true
	case *expr.PairNode:
		return []expr.Node{n.Key, n.Value}, true
	}
	return nil, false
}

// luaMemo returns the memo of a Lua filter, or nil.
func luaMemo(chunk []luaast.Stmt) *filterMemo { return luaInputs(chunk).memo() }

// luaInputs returns what a Lua filter reads (before CompileChunk rewrites
// the tree).
func luaInputs(chunk []luaast.Stmt) *memoInputs {
	mi := newMemoInputs()
	w := &luaMemoWalker{mi: mi}
	w.stmts(chunk)
	if w.shadowed {
		mi.ok = false
	}
	return mi
}

type luaMemoWalker struct {
	mi       *memoInputs
	shadowed bool // the chunk names a local or global computer or tenant
}

func (w *luaMemoWalker) name(n string) {
	if n == objComputer || n == objTenant {
		w.shadowed = true
	}
}

func (w *luaMemoWalker) stmts(ss []luaast.Stmt) {
	for _, s := range ss {
		w.stmt(s)
	}
}

func (w *luaMemoWalker) exprs(es []luaast.Expr) {
	for _, e := range es {
		w.expr(e)
	}
}

func (w *luaMemoWalker) stmt(s luaast.Stmt) {
	switch s := s.(type) {
	case *luaast.LocalAssignStmt:
		for _, n := range s.Names {
			w.name(n)
		}
		w.exprs(s.Exprs)
	case *luaast.AssignStmt:
		for _, l := range s.Lhs {
			if id, ok := l.(*luaast.IdentExpr); ok {
				w.name(id.Value)
			} else {
				w.expr(l)
			}
		}
		w.exprs(s.Rhs)
	case *luaast.FuncCallStmt:
		w.expr(s.Expr)
	case *luaast.DoBlockStmt:
		w.stmts(s.Stmts)
	case *luaast.WhileStmt:
		w.expr(s.Condition)
		w.stmts(s.Stmts)
	case *luaast.RepeatStmt:
		w.expr(s.Condition)
		w.stmts(s.Stmts)
	case *luaast.IfStmt:
		w.expr(s.Condition)
		w.stmts(s.Then)
		w.stmts(s.Else)
	case *luaast.NumberForStmt:
		w.name(s.Name)
		w.expr(s.Init)
		w.expr(s.Limit)
		if s.Step != nil {
			w.expr(s.Step)
		}
		w.stmts(s.Stmts)
	case *luaast.GenericForStmt:
		for _, n := range s.Names {
			w.name(n)
		}
		w.exprs(s.Exprs)
		w.stmts(s.Stmts)
	case *luaast.ReturnStmt:
		w.exprs(s.Exprs)
	case *luaast.BreakStmt:
	default:
		// functions, goto, labels: what they read is not followed here
		w.mi.ok = false
	}
}

func (w *luaMemoWalker) expr(e luaast.Expr) {
	if !w.mi.ok || e == nil {
		return
	}
	switch e := e.(type) {
	case *luaast.AttrGetExpr:
		key, isConst := e.Key.(*luaast.StringExpr)
		if id, ok := e.Object.(*luaast.IdentExpr); ok && (id.Value == objComputer || id.Value == objTenant) {
			if !isConst || !isField(id.Value, key.Value) {
				w.mi.ok = false
				return
			}
			if _, isMap := mapFields[id.Value][key.Value]; isMap {
				w.mi.ok = false // the map as a whole
				return
			}
			w.mi.field(id.Value, key.Value)
			return
		}
		if inner, ok := e.Object.(*luaast.AttrGetExpr); ok && isConst {
			if id, ok := inner.Object.(*luaast.IdentExpr); ok && id.Value == objComputer {
				if k, ok := inner.Key.(*luaast.StringExpr); ok && k.Value == "attributes" {
					w.mi.attr(key.Value)
					return
				}
			}
		}
		w.expr(e.Object)
		w.expr(e.Key)
	case *luaast.IdentExpr:
		if e.Value == objComputer || e.Value == objTenant || e.Value == "_G" {
			w.mi.ok = false // as a whole, or through the globals
		}
	case *luaast.FuncCallExpr:
		if id, ok := e.Func.(*luaast.IdentExpr); ok {
			w.mi.helper(id.Value)
		}
		w.expr(e.Func)
		w.expr(e.Receiver)
		w.exprs(e.Args)
	case *luaast.LogicalOpExpr:
		w.expr(e.Lhs)
		w.expr(e.Rhs)
	case *luaast.RelationalOpExpr:
		w.expr(e.Lhs)
		w.expr(e.Rhs)
	case *luaast.StringConcatOpExpr:
		w.expr(e.Lhs)
		w.expr(e.Rhs)
	case *luaast.ArithmeticOpExpr:
		w.expr(e.Lhs)
		w.expr(e.Rhs)
	case *luaast.UnaryMinusOpExpr:
		w.expr(e.Expr)
	case *luaast.UnaryNotOpExpr:
		w.expr(e.Expr)
	case *luaast.UnaryLenOpExpr:
		w.expr(e.Expr)
	case *luaast.TableExpr:
		for _, f := range e.Fields {
			w.expr(f.Key)
			w.expr(f.Value)
		}
	case *luaast.NilExpr, *luaast.TrueExpr, *luaast.FalseExpr, *luaast.NumberExpr, *luaast.StringExpr, *luaast.Comma3Expr:
	default:
		w.mi.ok = false // a function: not followed
	}
}
