package targets

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"github.com/yuin/gopher-lua/ast"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/internal/luasandbox"
)

// Lua filters as people write them (locals, if and early returns, numeric
// and generic for loops over the computer's lists, string.find, match, sub,
// lower and upper with method calls, #, tonumber, constant tables used as
// sets) are compiled into Go closures over Lua values, when every statement
// and expression of the chunk is of these forms (luaCompile). A run of the
// closures ends in one of two ways: with the boolean the chunk returns, or
// by giving up, for an input the closures do not model exactly (a Lua
// error to report, a return that is not a boolean, a number used as a
// string, more steps or bytes than a compiled run may take). A run that
// gives up is run again in the sandbox's VM, which gives the answer, the
// error or the budget's stop: the closures have no side effects, so running
// the chunk twice is the same as running it once. The VM is the reference;
// TestLuaCompiledMatchesVM and FuzzLuaCompiled pin the closures to it.
//
// A compiled run never takes more than luaFastSteps steps (loop iterations
// and the pattern matcher's steps, as the VM counts them) nor builds more
// than luaFastBytes bytes of strings: what passes is left to the VM and its
// budgets (time, instructions, memory), so both paths stop the same chunk
// the same way.

const (
	// luaFastSteps is the most steps a compiled run takes before it leaves
	// the chunk to the VM.
	luaFastSteps = 100_000
	// luaFastBytes is the most bytes of strings a compiled run builds before
	// it leaves the chunk to the VM.
	luaFastBytes = 1 << 20
)

// lk is the kind of a Lua value of the compiled path.
type lk uint8

const (
	lkNil lk = iota
	lkBool
	lkNum
	lkStr
	lkList  // a list field of computer or tenant (a read-only table)
	lkMap   // computer.attributes (a read-only userdata)
	lkTable // a table built from constants when the filter was compiled
)

// lv is a Lua value of the compiled path.
type lv struct {
	k lk
	b bool
	n float64
	s string
	l *[]string // lkList: the field itself, so that the same field is the same table
	m map[string]string
	t *constTable
}

var lvNil = lv{}

func lvBool(b bool) lv { return lv{k: lkBool, b: b} }

func (v lv) truthy() bool { return v.k != lkNil && (v.k != lkBool || v.b) }

// constTable is a table constructor of constants: its list items and its
// string keys.
type constTable struct {
	arr  []lv
	hash map[string]lv
}

func (t *constTable) get(k lv) lv {
	switch k.k {
	case lkStr:
		return t.hash[k.s]
	case lkNum:
		if i := int(k.n); float64(i) == k.n && i >= 1 && i <= len(t.arr) {
			return t.arr[i-1]
		}
	}
	return lvNil
}

// lframe is one compiled run: the computer, the variables, what it spent,
// and whether it gave up.
type lframe struct {
	c     *immy.Computer
	t     *immy.Tenant
	vars  []lv
	ret   lv
	steps int
	bytes int
	bail  bool
}

// giveUp marks the run as given up and returns nil.
func (f *lframe) giveUp() lv {
	f.bail = true
	return lvNil
}

// step counts n steps; false when the run has given up.
func (f *lframe) step(n int) bool {
	f.steps += n
	if f.steps > luaFastSteps {
		f.bail = true
	}
	return !f.bail
}

// built counts n bytes of strings built; false when the run has given up.
func (f *lframe) built(n int) bool {
	f.bytes += n
	f.steps += n / 64
	if f.bytes > luaFastBytes || f.steps > luaFastSteps {
		f.bail = true
	}
	return !f.bail
}

type (
	lexpr func(f *lframe) lv
	lcond func(f *lframe) bool
	lstmt func(f *lframe) lctl
)

// lctl is how a statement ends.
type lctl uint8

const (
	ctlNext lctl = iota
	ctlBreak
	ctlReturn // a return, or the run gave up
)

// luaChunk is a compiled filter: its body and the number of variables.
type luaChunk struct {
	body  lstmt
	nvars int
	pool  sync.Pool // *lframe
}

// run runs the chunk on one computer: its result, and whether it decided
// (false: run the VM).
func (p *luaChunk) run(c *immy.Computer, t *immy.Tenant) (result, ok bool) {
	f, _ := p.pool.Get().(*lframe)
	if f == nil {
		f = &lframe{vars: make([]lv, p.nvars)}
	}
	f.c, f.t = c, t
	p.body(f)
	ret, bail := f.ret, f.bail
	clear(f.vars)
	*f = lframe{vars: f.vars}
	p.pool.Put(f)
	if bail || ret.k != lkBool {
		return false, false
	}
	return ret.b, true
}

// luaScope resolves names to variables while compiling.
type luaScope struct {
	names  map[string]int
	parent *luaScope
}

// luaCompiler compiles one chunk.
type luaCompiler struct {
	scope   *luaScope
	globals map[string]int // the globals the chunk assigns, as variables
	nvars   int
	ok      bool
}

// luaCompile compiles a Lua chunk into closures, or returns nil when it uses
// a form outside the compiled subset.
func luaCompile(chunk []ast.Stmt) *luaChunk {
	c := &luaCompiler{scope: &luaScope{names: map[string]int{}}, globals: map[string]int{}, ok: true}
	// Globals the chunk assigns are variables of the run (a fresh
	// environment each run), unless they hide a name of the sandbox.
	for _, name := range assignedGlobals(chunk) {
		if luaGlobals[name] {
			return nil
		}
		c.globals[name] = c.nvars
		c.nvars++
	}
	body := c.block(chunk)
	if !c.ok {
		return nil
	}
	return &luaChunk{body: body, nvars: c.nvars}
}

// assignedGlobals lists the names the chunk assigns without declaring them
// local: the chunk has no functions, so a name is global where no local of
// that name is in scope.
func assignedGlobals(chunk []ast.Stmt) []string {
	var out []string
	type scope map[string]bool
	var walk func(stmts []ast.Stmt, scopes []scope)
	visible := func(scopes []scope, name string) bool {
		for _, s := range scopes {
			if s[name] {
				return true
			}
		}
		return false
	}
	walk = func(stmts []ast.Stmt, scopes []scope) {
		scopes = append(slices.Clip(scopes), scope{})
		top := scopes[len(scopes)-1]
		for _, st := range stmts {
			switch st := st.(type) {
			case *ast.LocalAssignStmt:
				for _, n := range st.Names {
					top[n] = true
				}
			case *ast.AssignStmt:
				for _, l := range st.Lhs {
					if id, ok := l.(*ast.IdentExpr); ok && !visible(scopes, id.Value) && !slices.Contains(out, id.Value) {
						out = append(out, id.Value)
					}
				}
			case *ast.IfStmt:
				walk(st.Then, scopes)
				walk(st.Else, scopes)
			case *ast.DoBlockStmt:
				walk(st.Stmts, scopes)
			case *ast.WhileStmt:
				walk(st.Stmts, scopes)
			case *ast.NumberForStmt:
				walk(st.Stmts, append(slices.Clip(scopes), scope{st.Name: true}))
			case *ast.GenericForStmt:
				s := scope{}
				for _, n := range st.Names {
					s[n] = true
				}
				walk(st.Stmts, append(slices.Clip(scopes), s))
			}
		}
	}
	walk(chunk, nil)
	return out
}

func (c *luaCompiler) fail() { c.ok = false }

func (c *luaCompiler) push() { c.scope = &luaScope{names: map[string]int{}, parent: c.scope} }
func (c *luaCompiler) pop()  { c.scope = c.scope.parent }

// declare makes a new variable of the current scope.
func (c *luaCompiler) declare(name string) int {
	i := c.nvars
	c.nvars++
	c.scope.names[name] = i
	return i
}

// lookup finds a variable: a local in scope, or a global the chunk assigns.
func (c *luaCompiler) lookup(name string) (int, bool) {
	for s := c.scope; s != nil; s = s.parent {
		if i, ok := s.names[name]; ok {
			return i, true
		}
	}
	i, ok := c.globals[name]
	return i, ok
}

// builtin reports whether name is the sandbox's, not hidden by a variable.
func (c *luaCompiler) builtin(name string) bool {
	_, isVar := c.lookup(name)
	return !isVar
}

func (c *luaCompiler) block(stmts []ast.Stmt) lstmt {
	c.push()
	defer c.pop()
	body := make([]lstmt, 0, len(stmts))
	for _, st := range stmts {
		body = append(body, c.stmt(st))
		if !c.ok {
			return nil
		}
	}
	switch len(body) {
	case 0:
		return func(*lframe) lctl { return ctlNext }
	case 1:
		return body[0]
	}
	return func(f *lframe) lctl {
		for _, s := range body {
			if r := s(f); r != ctlNext {
				return r
			}
		}
		return ctlNext
	}
}

func (c *luaCompiler) stmt(st ast.Stmt) lstmt {
	switch st := st.(type) {
	case *ast.LocalAssignStmt:
		vals := c.values(st.Exprs, len(st.Names))
		if !c.ok {
			return nil
		}
		slots := make([]int, len(st.Names))
		for i, n := range st.Names {
			slots[i] = c.declare(n)
		}
		return assign(slots, vals)
	case *ast.AssignStmt:
		vals := c.values(st.Rhs, len(st.Lhs))
		slots := make([]int, len(st.Lhs))
		for i, l := range st.Lhs {
			id, ok := l.(*ast.IdentExpr)
			if !ok {
				c.fail() // t[k] = v: tables stay constant
				return nil
			}
			slot, ok := c.lookup(id.Value)
			if !ok {
				c.fail()
				return nil
			}
			slots[i] = slot
		}
		if !c.ok {
			return nil
		}
		return assign(slots, vals)
	case *ast.ReturnStmt:
		if len(st.Exprs) == 0 {
			return func(f *lframe) lctl { f.ret = lvNil; return ctlReturn }
		}
		// The VM's run keeps the first value.
		if c.isBool(st.Exprs[0]) {
			cond := c.cond(st.Exprs[0])
			return func(f *lframe) lctl { f.ret = lvBool(cond(f)); return ctlReturn }
		}
		e := c.expr(st.Exprs[0])
		return func(f *lframe) lctl { f.ret = e(f); return ctlReturn }
	case *ast.IfStmt:
		cond := c.cond(st.Condition)
		then := c.block(st.Then)
		els := c.block(st.Else)
		if !c.ok {
			return nil
		}
		return func(f *lframe) lctl {
			ok := cond(f)
			if f.bail {
				return ctlReturn
			}
			if ok {
				return then(f)
			}
			return els(f)
		}
	case *ast.DoBlockStmt:
		return c.block(st.Stmts)
	case *ast.BreakStmt:
		return func(*lframe) lctl { return ctlBreak }
	case *ast.FuncCallStmt:
		e := c.expr(st.Expr)
		return func(f *lframe) lctl {
			e(f)
			if f.bail {
				return ctlReturn
			}
			return ctlNext
		}
	case *ast.WhileStmt:
		cond := c.cond(st.Condition)
		body := c.block(st.Stmts)
		if !c.ok {
			return nil
		}
		return func(f *lframe) lctl {
			for f.step(1) && cond(f) && !f.bail {
				switch body(f) {
				case ctlBreak:
					return ctlNext
				case ctlReturn:
					return ctlReturn
				}
			}
			if f.bail {
				return ctlReturn
			}
			return ctlNext
		}
	case *ast.NumberForStmt:
		return c.numberFor(st)
	case *ast.GenericForStmt:
		return c.genericFor(st)
	}
	c.fail()
	return nil
}

// values compiles the right side of an assignment of n names: missing
// values are nil; a call that would give more than one value where they are
// needed is outside the subset.
func (c *luaCompiler) values(es []ast.Expr, n int) []lexpr {
	if len(es) < n && len(es) > 0 && c.multi(es[len(es)-1]) {
		c.fail()
		return nil
	}
	out := make([]lexpr, n)
	for i := range out {
		if i < len(es) {
			out[i] = c.expr(es[i])
		} else {
			out[i] = func(*lframe) lv { return lvNil }
		}
	}
	// The extra values are evaluated too: one may be an error.
	for _, e := range es[min(n, len(es)):] {
		if n == 0 {
			c.fail()
			return nil
		}
		extra, last := c.expr(e), out[n-1]
		out[n-1] = func(f *lframe) lv { v := last(f); extra(f); return v }
	}
	return out
}

func assign(slots []int, vals []lexpr) lstmt {
	if len(slots) == 1 {
		slot, val := slots[0], vals[0]
		return func(f *lframe) lctl {
			f.vars[slot] = val(f)
			if f.bail {
				return ctlReturn
			}
			return ctlNext
		}
	}
	return func(f *lframe) lctl {
		var buf [8]lv
		vs := buf[:0]
		for _, v := range vals {
			vs = append(vs, v(f))
		}
		for i, slot := range slots {
			f.vars[slot] = vs[i]
		}
		if f.bail {
			return ctlReturn
		}
		return ctlNext
	}
}

// loop runs a loop's body once: whether the loop goes on, and how the
// statement ends when it does not.
func loopBody(f *lframe, body lstmt) (more bool, end lctl) {
	switch body(f) {
	case ctlBreak:
		return false, ctlNext
	case ctlReturn:
		return false, ctlReturn
	}
	if !f.step(1) {
		return false, ctlReturn
	}
	return true, ctlNext
}

func (c *luaCompiler) numberFor(st *ast.NumberForStmt) lstmt {
	init, limit := c.expr(st.Init), c.expr(st.Limit)
	step := func(*lframe) lv { return lv{k: lkNum, n: 1} }
	if st.Step != nil {
		step = c.expr(st.Step)
	}
	c.push()
	slot := c.declare(st.Name)
	body := c.block(st.Stmts)
	c.pop()
	if !c.ok {
		return nil
	}
	return func(f *lframe) lctl {
		a, b, s := init(f), limit(f), step(f)
		if f.bail || a.k != lkNum || b.k != lkNum || s.k != lkNum {
			f.giveUp() // the VM's error
			return ctlReturn
		}
		// As the VM counts: from init - step, step by step.
		v, lim, st := a.n-s.n, b.n, s.n
		for {
			v += st
			if !(st > 0 && v <= lim || st <= 0 && v >= lim) {
				return ctlNext
			}
			f.vars[slot] = lv{k: lkNum, n: v}
			if more, end := loopBody(f, body); !more {
				return end
			}
		}
	}
}

// genericFor compiles `for i, v in ipairs(X)` and `for k, v in pairs(X)`
// over a list field, a constant list, or (pairs) computer.attributes.
func (c *luaCompiler) genericFor(st *ast.GenericForStmt) lstmt {
	if len(st.Exprs) != 1 || len(st.Names) > 2 {
		c.fail()
		return nil
	}
	call, ok := st.Exprs[0].(*ast.FuncCallExpr)
	if !ok || call.Receiver != nil || len(call.Args) != 1 {
		c.fail()
		return nil
	}
	fn, ok := call.Func.(*ast.IdentExpr)
	if !ok || (fn.Value != "ipairs" && fn.Value != "pairs") || !c.builtin(fn.Value) {
		c.fail()
		return nil
	}
	pairs := fn.Value == "pairs"
	x := c.expr(call.Args[0])
	c.push()
	slots := make([]int, len(st.Names))
	for i, n := range st.Names {
		slots[i] = c.declare(n)
	}
	body := c.block(st.Stmts)
	c.pop()
	if !c.ok {
		return nil
	}
	set := func(f *lframe, k, v lv) {
		f.vars[slots[0]] = k
		if len(slots) > 1 {
			f.vars[slots[1]] = v
		}
	}
	return func(f *lframe) lctl {
		t := x(f)
		if f.bail {
			return ctlReturn
		}
		switch {
		case t.k == lkList:
			for i, s := range *t.l {
				set(f, lv{k: lkNum, n: float64(i + 1)}, lv{k: lkStr, s: s})
				if more, end := loopBody(f, body); !more {
					return end
				}
			}
			return ctlNext
		case t.k == lkTable && (!pairs || len(t.t.hash) == 0):
			for i, v := range t.t.arr {
				set(f, lv{k: lkNum, n: float64(i + 1)}, v)
				if more, end := loopBody(f, body); !more {
					return end
				}
			}
			return ctlNext
		case t.k == lkMap && pairs:
			keys := make([]string, 0, len(t.m))
			for k := range t.m {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				set(f, lv{k: lkStr, s: k}, lv{k: lkStr, s: t.m[k]})
				if more, end := loopBody(f, body); !more {
					return end
				}
			}
			return ctlNext
		}
		f.giveUp()
		return ctlReturn
	}
}

// multi reports whether e is a call that may give more than one value.
func (c *luaCompiler) multi(e ast.Expr) bool {
	call, ok := e.(*ast.FuncCallExpr)
	if !ok || call.AdjustRet {
		return false
	}
	name, ok := c.stringFunc(call)
	if !ok {
		return false // the helpers and tonumber give one
	}
	switch name {
	case "find":
		return true
	case "match":
		// One value unless the pattern has more than one capture.
		pat := 1
		if call.Receiver != nil {
			pat = 0
		}
		if pat >= len(call.Args) {
			return true
		}
		s, ok := call.Args[pat].(*ast.StringExpr)
		return !ok || strings.Count(s.Value, "(") > 1
	}
	return false
}

// isBool reports whether e always gives a boolean (or gives up).
func (c *luaCompiler) isBool(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.TrueExpr, *ast.FalseExpr, *ast.UnaryNotOpExpr, *ast.RelationalOpExpr:
		return true
	case *ast.LogicalOpExpr:
		return c.isBool(e.Lhs) && c.isBool(e.Rhs)
	case *ast.AttrGetExpr:
		id, ok := e.Object.(*ast.IdentExpr)
		k, ok2 := e.Key.(*ast.StringExpr)
		if ok && ok2 && c.builtin(id.Value) {
			_, isBool := boolFields[id.Value][k.Value]
			return isBool
		}
	case *ast.FuncCallExpr:
		if id, ok := e.Func.(*ast.IdentExpr); ok && e.Receiver == nil && c.builtin(id.Value) {
			switch id.Value {
			case "has_tag", "installed", "starts_with", "ends_with", "contains":
				return true
			}
		}
	}
	return false
}

// cond compiles e where only its truth counts.
func (c *luaCompiler) cond(e ast.Expr) lcond {
	switch e := e.(type) {
	case *ast.TrueExpr:
		return func(*lframe) bool { return true }
	case *ast.FalseExpr, *ast.NilExpr:
		return func(*lframe) bool { return false }
	case *ast.UnaryNotOpExpr:
		x := c.cond(e.Expr)
		return func(f *lframe) bool { return !x(f) }
	case *ast.LogicalOpExpr:
		if luaLiteral(e.Lhs) {
			c.fail()
			return nil
		}
		l, r := c.cond(e.Lhs), c.cond(e.Rhs)
		if e.Operator == "and" {
			return func(f *lframe) bool { return l(f) && r(f) }
		}
		return func(f *lframe) bool { return l(f) || r(f) }
	case *ast.RelationalOpExpr:
		return c.compare(e)
	}
	x := c.expr(e)
	return func(f *lframe) bool { return x(f).truthy() }
}

// compare compiles a comparison.
func (c *luaCompiler) compare(e *ast.RelationalOpExpr) lcond {
	l, r := e.Lhs, e.Rhs
	if e.Operator == "==" || e.Operator == "~=" {
		eq := e.Operator == "=="
		if _, ok := l.(*ast.StringExpr); ok {
			l, r = r, l
		}
		// The common case: a value against a string constant.
		if k, ok := r.(*ast.StringExpr); ok {
			x, s := c.expr(l), k.Value
			return func(f *lframe) bool { v := x(f); return (v.k == lkStr && v.s == s) == eq }
		}
		if _, ok := r.(*ast.NilExpr); ok {
			x := c.expr(l)
			return func(f *lframe) bool { return (x(f).k == lkNil) == eq }
		}
		a, b := c.expr(l), c.expr(r)
		return func(f *lframe) bool {
			x, y := a(f), b(f)
			same, ok := lvEqual(x, y)
			if !ok {
				f.giveUp()
			}
			return same == eq
		}
	}
	if k, ok := r.(*ast.NumberExpr); ok {
		if n, ok := luaNumberLiteral(k.Value); ok && !math.IsNaN(n) {
			if f, ok := c.compareNumber(l, e.Operator, n); ok {
				return f
			}
		}
	}
	a, b := c.expr(l), c.expr(r)
	op := e.Operator
	return func(f *lframe) bool {
		x, y := a(f), b(f)
		var less, equal bool
		switch {
		case x.k == lkNum && y.k == lkNum:
			less, equal = x.n < y.n, x.n == y.n
			if math.IsNaN(x.n) || math.IsNaN(y.n) {
				f.giveUp() // <= is not not > with NaN: leave it to the VM
				return false
			}
		case x.k == lkStr && y.k == lkStr:
			less, equal = x.s < y.s, x.s == y.s
		default:
			f.giveUp() // the VM's "attempt to compare"
			return false
		}
		switch op {
		case "<":
			return less
		case "<=":
			return less || equal
		case ">":
			return !less && !equal
		case ">=":
			return !less
		}
		f.giveUp()
		return false
	}
}

// compareNumber compiles `x OP k` for a number literal k.
func (c *luaCompiler) compareNumber(l ast.Expr, op string, k float64) (lcond, bool) {
	x := c.expr(l)
	var test func(v float64) bool
	switch op {
	case "<":
		test = func(v float64) bool { return v < k }
	case "<=":
		test = func(v float64) bool { return v <= k }
	case ">":
		test = func(v float64) bool { return v > k }
	case ">=":
		test = func(v float64) bool { return v >= k }
	default:
		return nil, false
	}
	return func(f *lframe) bool {
		v := x(f)
		if v.k != lkNum || math.IsNaN(v.n) {
			f.giveUp() // the VM's "attempt to compare", or NaN
			return false
		}
		return test(v.n)
	}, true
}

// lvEqual is Lua's raw equality of two values, when the compiled path
// knows it (tables built by a constructor compare by identity, which a
// compiled run does not keep).
func lvEqual(x, y lv) (equal, ok bool) {
	if x.k != y.k {
		return false, true
	}
	switch x.k {
	case lkNil:
		return true, true
	case lkBool:
		return x.b == y.b, true
	case lkNum:
		return x.n == y.n, true
	case lkStr:
		return x.s == y.s, true
	case lkList:
		return x.l == y.l, true
	case lkMap:
		return true, true // there is one map field
	}
	return false, false
}

// expr compiles e to its value.
func (c *luaCompiler) expr(e ast.Expr) lexpr {
	if !c.ok {
		return nil
	}
	switch e := e.(type) {
	case *ast.NilExpr:
		return func(*lframe) lv { return lvNil }
	case *ast.TrueExpr:
		return func(*lframe) lv { return lvBool(true) }
	case *ast.FalseExpr:
		return func(*lframe) lv { return lvBool(false) }
	case *ast.StringExpr:
		v := lv{k: lkStr, s: e.Value}
		return func(*lframe) lv { return v }
	case *ast.NumberExpr:
		n, ok := luaNumberLiteral(e.Value)
		if !ok {
			break
		}
		v := lv{k: lkNum, n: n}
		return func(*lframe) lv { return v }
	case *ast.IdentExpr:
		if slot, ok := c.lookup(e.Value); ok {
			return func(f *lframe) lv { return f.vars[slot] }
		}
	case *ast.AttrGetExpr:
		return c.index(e)
	case *ast.FuncCallExpr:
		return c.call(e)
	case *ast.TableExpr:
		t, ok := constTableOf(e)
		if !ok {
			break
		}
		v := lv{k: lkTable, t: t}
		return func(*lframe) lv { return v }
	case *ast.UnaryNotOpExpr, *ast.RelationalOpExpr:
		cond := c.cond(e)
		return func(f *lframe) lv { return lvBool(cond(f)) }
	case *ast.LogicalOpExpr:
		if luaLiteral(e.Lhs) {
			break
		}
		l, r := c.expr(e.Lhs), c.expr(e.Rhs)
		if e.Operator == "and" {
			return func(f *lframe) lv {
				if v := l(f); !v.truthy() {
					return v
				}
				return r(f)
			}
		}
		return func(f *lframe) lv {
			if v := l(f); v.truthy() {
				return v
			}
			return r(f)
		}
	case *ast.UnaryLenOpExpr:
		if a, ok := e.Expr.(*ast.AttrGetExpr); ok {
			// #computer.upns: the length of the field, read in place.
			id, ok1 := a.Object.(*ast.IdentExpr)
			k, ok2 := a.Key.(*ast.StringExpr)
			if ok1 && ok2 && c.builtin(id.Value) && id.Value == objComputer {
				if pf, ok := predListFields[objComputer][k.Value]; ok {
					off := computerListOffset[pf]
					return func(f *lframe) lv {
						return lv{k: lkNum, n: float64(len(*(*[]string)(unsafePointerAdd(f.c, off))))}
					}
				}
			}
		}
		x := c.expr(e.Expr)
		return func(f *lframe) lv {
			v := x(f)
			switch v.k {
			case lkStr:
				return lv{k: lkNum, n: float64(len(v.s))}
			case lkList:
				return lv{k: lkNum, n: float64(len(*v.l))}
			case lkTable:
				if len(v.t.hash) == 0 {
					return lv{k: lkNum, n: float64(len(v.t.arr))}
				}
			}
			return f.giveUp()
		}
	case *ast.UnaryMinusOpExpr:
		x := c.expr(e.Expr)
		return func(f *lframe) lv {
			v := x(f)
			if v.k != lkNum {
				return f.giveUp()
			}
			return lv{k: lkNum, n: -v.n}
		}
	case *ast.ArithmeticOpExpr:
		return c.arith(e)
	case *ast.StringConcatOpExpr:
		l, r := c.expr(e.Lhs), c.expr(e.Rhs)
		return func(f *lframe) lv {
			a, b := l(f), r(f)
			if a.k != lkStr || b.k != lkStr || !f.built(len(a.s)+len(b.s)) {
				return f.giveUp() // numbers are formatted by the VM
			}
			return lv{k: lkStr, s: a.s + b.s}
		}
	}
	c.fail()
	return func(*lframe) lv { return lvNil }
}

func (c *luaCompiler) arith(e *ast.ArithmeticOpExpr) lexpr {
	l, r := c.expr(e.Lhs), c.expr(e.Rhs)
	var op func(a, b float64) float64
	switch e.Operator {
	case "+":
		op = func(a, b float64) float64 { return a + b }
	case "-":
		op = func(a, b float64) float64 { return a - b }
	case "*":
		op = func(a, b float64) float64 { return a * b }
	case "/":
		op = func(a, b float64) float64 { return a / b }
	default:
		c.fail()
		return nil
	}
	return func(f *lframe) lv {
		a, b := l(f), r(f)
		if a.k != lkNum || b.k != lkNum {
			return f.giveUp() // strings that read as numbers: the VM's coercion
		}
		return lv{k: lkNum, n: op(a.n, b.n)}
	}
}

// luaLiteral reports whether e is a literal. gopher-lua folds `false and
// x`, `nil or false` and the like when it compiles them, and inside a
// generic for its code for `return false and x` returns nil, or does not
// return at all: the compiled path leaves a logical operator whose left
// operand is a literal to the VM, so that both agree, bugs included.
func luaLiteral(e ast.Expr) bool {
	switch e.(type) {
	case *ast.TrueExpr, *ast.FalseExpr, *ast.NilExpr, *ast.NumberExpr, *ast.StringExpr:
		return true
	}
	return false
}

// luaNumberLiteral reads a number as gopher-lua's compiler does.
func luaNumberLiteral(s string) (float64, bool) {
	if v, err := strconv.ParseInt(s, 0, 64); err == nil {
		return float64(v), true
	}
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil
}

// constTableOf builds a table constructor whose items and values are
// constants (strings, numbers, booleans) and keys strings.
func constTableOf(e *ast.TableExpr) (*constTable, bool) {
	t := &constTable{hash: map[string]lv{}}
	konst := func(e ast.Expr) (lv, bool) {
		switch e := e.(type) {
		case *ast.StringExpr:
			return lv{k: lkStr, s: e.Value}, true
		case *ast.TrueExpr:
			return lvBool(true), true
		case *ast.FalseExpr:
			return lvBool(false), true
		case *ast.NumberExpr:
			n, ok := luaNumberLiteral(e.Value)
			return lv{k: lkNum, n: n}, ok
		}
		return lvNil, false
	}
	for _, fl := range e.Fields {
		v, ok := konst(fl.Value)
		if !ok {
			return nil, false
		}
		if fl.Key == nil {
			t.arr = append(t.arr, v)
			continue
		}
		k, ok := fl.Key.(*ast.StringExpr)
		if !ok {
			return nil, false
		}
		t.hash[k.Value] = v // a key given twice: the last one counts, as in Lua
	}
	return t, true
}

// index compiles obj.key and obj[key].
func (c *luaCompiler) index(e *ast.AttrGetExpr) lexpr {
	key, isConst := e.Key.(*ast.StringExpr)
	if id, ok := e.Object.(*ast.IdentExpr); ok && (id.Value == objComputer || id.Value == objTenant) && c.builtin(id.Value) {
		if !isConst {
			c.fail()
			return nil
		}
		return luaField(id.Value, key.Value, c)
	}
	obj := c.expr(e.Object)
	if isConst {
		k := key.Value
		kv := lv{k: lkStr, s: k}
		return func(f *lframe) lv {
			o := obj(f)
			switch o.k {
			case lkMap:
				if v, ok := o.m[k]; ok {
					return lv{k: lkStr, s: v}
				}
				return lvNil
			case lkList:
				return lvNil
			case lkTable:
				return o.t.get(kv)
			}
			return f.giveUp() // a string's methods, or an error
		}
	}
	k := c.expr(e.Key)
	return func(f *lframe) lv {
		o, kv := obj(f), k(f)
		switch o.k {
		case lkList:
			if kv.k == lkNum {
				if i := int(kv.n); float64(i) == kv.n && i >= 1 && i <= len(*o.l) {
					return lv{k: lkStr, s: (*o.l)[i-1]}
				}
				return lvNil
			}
			if kv.k == lkStr || kv.k == lkBool {
				return lvNil
			}
		case lkMap:
			if kv.k != lkStr {
				return lvNil
			}
			if v, ok := o.m[kv.s]; ok {
				return lv{k: lkStr, s: v}
			}
			return lvNil
		case lkTable:
			if kv.k == lkStr || kv.k == lkNum || kv.k == lkBool {
				return o.t.get(kv)
			}
		}
		return f.giveUp()
	}
}

// luaField compiles computer.NAME or tenant.NAME.
func luaField(obj, name string, c *luaCompiler) lexpr {
	if f, ok := stringFields[obj][name]; ok {
		if obj == objComputer {
			// The plain string fields at their offset: no getter call.
			if pf, ok := predStringFields[obj][name]; ok {
				if off, ok := computerStringOffset[pf]; ok {
					return func(f *lframe) lv { return lv{k: lkStr, s: computerString(f.c, off)} }
				}
			}
		}
		return func(fr *lframe) lv { return lv{k: lkStr, s: f(fr.c, fr.t)} }
	}
	if f, ok := boolFields[obj][name]; ok {
		return func(fr *lframe) lv { return lvBool(f(fr.c, fr.t)) }
	}
	if pf, ok := predListFields[obj][name]; ok {
		if off, ok := computerListOffset[pf]; ok {
			return func(f *lframe) lv {
				return lv{k: lkList, l: (*[]string)(unsafePointerAdd(f.c, off))}
			}
		}
		off := tenantListOffset[pf]
		return func(f *lframe) lv {
			return lv{k: lkList, l: (*[]string)(unsafePointerAdd(f.t, off))}
		}
	}
	if f, ok := mapFields[obj][name]; ok {
		return func(fr *lframe) lv { return lv{k: lkMap, m: f(fr.c, fr.t)} }
	}
	c.fail()
	return nil
}

// stringFunc recognises a call of the string library's find, match, sub,
// lower, upper or len: string.NAME(s, ...) or s:NAME(...).
func (c *luaCompiler) stringFunc(call *ast.FuncCallExpr) (string, bool) {
	name := call.Method
	if call.Receiver == nil {
		a, ok := call.Func.(*ast.AttrGetExpr)
		if !ok {
			return "", false
		}
		lib, ok1 := a.Object.(*ast.IdentExpr)
		k, ok2 := a.Key.(*ast.StringExpr)
		if !ok1 || !ok2 || lib.Value != "string" || !c.builtin("string") {
			return "", false
		}
		name = k.Value
	}
	switch name {
	case "find", "match", "sub", "lower", "upper", "len":
		return name, true
	}
	return "", false
}

// call compiles the calls of the subset.
func (c *luaCompiler) call(call *ast.FuncCallExpr) lexpr {
	// A call's last argument that gives several values passes them all.
	if n := len(call.Args); n > 0 && c.multi(call.Args[n-1]) {
		c.fail()
		return nil
	}
	if name, ok := c.stringFunc(call); ok {
		args := make([]lexpr, 0, len(call.Args)+1)
		if call.Receiver != nil {
			args = append(args, c.expr(call.Receiver))
		}
		for _, a := range call.Args {
			args = append(args, c.expr(a))
		}
		if !c.ok {
			return nil
		}
		konst := call.Args
		if call.Receiver == nil && len(konst) > 0 {
			konst = konst[1:]
		}
		return stringCall(name, args, konst)
	}
	id, ok := call.Func.(*ast.IdentExpr)
	if !ok || call.Receiver != nil || !c.builtin(id.Value) {
		c.fail()
		return nil
	}
	args := make([]lexpr, len(call.Args))
	for i, a := range call.Args {
		args[i] = c.expr(a)
	}
	if !c.ok {
		return nil
	}
	arg := func(f *lframe, i int) lv {
		if i < len(args) {
			return args[i](f)
		}
		return lvNil
	}
	switch id.Value {
	case "tonumber":
		if len(args) != 1 {
			break
		}
		return func(f *lframe) lv { return luaToNumber(args[0](f)) }
	case "has_tag", "installed":
		if len(args) == 1 {
			if k, ok := call.Args[0].(*ast.StringExpr); ok {
				s := k.Value
				if id.Value == "has_tag" {
					return func(f *lframe) lv { return lvBool(hasTag(f.c, f.t, s)) }
				}
				return func(f *lframe) lv { return lvBool(installed(f.c, s)) }
			}
		}
		tag := id.Value == "has_tag"
		return func(f *lframe) lv {
			v := arg(f, 0)
			if v.k != lkStr {
				return f.giveUp() // a number is made a string by the VM; others are errors
			}
			if tag {
				return lvBool(hasTag(f.c, f.t, v.s))
			}
			return lvBool(installed(f.c, v.s))
		}
	case "starts_with", "ends_with":
		test := strings.HasPrefix
		if id.Value == "ends_with" {
			test = strings.HasSuffix
		}
		return func(f *lframe) lv {
			s, k := arg(f, 0), arg(f, 1)
			if k.k != lkStr {
				return f.giveUp()
			}
			return lvBool(s.k == lkStr && test(s.s, k.s))
		}
	case "contains":
		return func(f *lframe) lv {
			list, v := arg(f, 0), arg(f, 1)
			switch list.k {
			case lkList:
				return lvBool(v.k == lkStr && containsString(*list.l, v.s))
			case lkTable:
				for _, x := range list.t.arr {
					if same, ok := lvEqual(x, v); !ok {
						return f.giveUp()
					} else if same {
						return lvBool(true)
					}
				}
			}
			return lvBool(false)
		}
	}
	c.fail()
	return nil
}

// luaToNumber is tonumber(v) as gopher-lua reads it.
func luaToNumber(v lv) lv {
	switch v.k {
	case lkNum:
		return v
	case lkStr:
		s := strings.Trim(v.s, " \n\t")
		if strings.Contains(s, ".") {
			if n, err := strconv.ParseFloat(s, 64); err == nil {
				return lv{k: lkNum, n: n}
			}
			return lvNil
		}
		base := 10
		if strings.HasPrefix(strings.ToLower(s), "0x") {
			base, s = 16, s[2:]
		}
		if n, err := strconv.ParseInt(s, base, 64); err == nil {
			return lv{k: lkNum, n: float64(n)}
		}
	}
	return lvNil
}

// luaInt is a number argument as gopher-lua's CheckInt reads it, when it
// is an integer the compiled path can read the same way.
func luaInt(v lv) (int, bool) {
	if v.k != lkNum || v.n != math.Trunc(v.n) || math.Abs(v.n) > 1<<31 {
		return 0, false
	}
	return int(v.n), true
}

// stringCall compiles string.NAME(args...), the receiver of a method call
// first.
func stringCall(name string, args []lexpr, konst []ast.Expr) lexpr {
	// The arguments, each a closure (nil when absent), called directly.
	var a [4]lexpr
	for i := range a {
		if i < len(args) {
			a[i] = args[i]
		} else {
			a[i] = func(*lframe) lv { return lvNil }
		}
	}
	arg := func(f *lframe, i int) lv { return a[i](f) }
	switch name {
	case "lower", "upper":
		conv := strings.ToLower
		if name == "upper" {
			conv = strings.ToUpper
		}
		return func(f *lframe) lv {
			s := arg(f, 0)
			if s.k != lkStr || !f.built(len(s.s)) {
				return f.giveUp()
			}
			return lv{k: lkStr, s: conv(s.s)}
		}
	case "len":
		return func(f *lframe) lv {
			s := arg(f, 0)
			if s.k != lkStr {
				return f.giveUp()
			}
			return lv{k: lkNum, n: float64(len(s.s))}
		}
	case "sub":
		// s:sub(i, j) with integer literals, the common case.
		if i, j, ok := constSubArgs(konst); ok {
			a0 := a[0]
			return func(f *lframe) lv {
				s := a0(f)
				if s.k != lkStr {
					return f.giveUp()
				}
				return lv{k: lkStr, s: luaSub(s.s, i, j)}
			}
		}
		return func(f *lframe) lv {
			s, iv, jv := arg(f, 0), arg(f, 1), arg(f, 2)
			i, ok1 := luaInt(iv)
			j, ok2 := -1, true
			if jv.k != lkNil {
				j, ok2 = luaInt(jv)
			}
			if s.k != lkStr || !ok1 || !ok2 {
				return f.giveUp()
			}
			return lv{k: lkStr, s: luaSub(s.s, i, j)}
		}
	}
	find := name == "find"
	return func(f *lframe) lv {
		s, p, iv, pl := arg(f, 0), arg(f, 1), arg(f, 2), arg(f, 3)
		init, ok := 1, true
		if iv.k != lkNil {
			init, ok = luaInt(iv)
		}
		if s.k != lkStr || p.k != lkStr || !ok {
			return f.giveUp()
		}
		r, err := luasandbox.Find(s.s, p.s, init, find && pl.truthy(), find, &f.steps, luaFastSteps)
		if err != nil {
			return f.giveUp() // a bad pattern's error, or out of steps
		}
		if r.Start < 0 {
			return lvNil
		}
		if find {
			return lv{k: lkNum, n: float64(r.Start)}
		}
		if pos, isPos := r.Captures[0].Position(); isPos {
			return lv{k: lkNum, n: float64(pos)}
		}
		return lv{k: lkStr, s: r.Captures[0].Text()}
	}
}

// constSubArgs reads the i and j of sub (konst: the arguments after the
// string) when they are integer literals (j absent: -1).
func constSubArgs(konst []ast.Expr) (i, j int, ok bool) {
	num := func(e ast.Expr) (int, bool) {
		var neg bool
		if m, ok := e.(*ast.UnaryMinusOpExpr); ok {
			neg, e = true, m.Expr
		}
		n, ok := e.(*ast.NumberExpr)
		if !ok {
			return 0, false
		}
		v, ok := luaNumberLiteral(n.Value)
		if neg {
			v = -v
		}
		return luaInt(lv{k: lkNum, n: v})
	}
	if len(konst) < 1 || len(konst) > 2 {
		return 0, 0, false
	}
	i, ok = num(konst[0])
	j = -1
	if ok && len(konst) == 2 {
		j, ok = num(konst[1])
	}
	return i, j, ok
}

// luaSub is string.sub as gopher-lua computes it.
func luaSub(s string, i, j int) string {
	index := func(i int, start bool) int {
		if start && i != 0 {
			i--
		}
		if i < 0 {
			i = len(s) + i + 1
		}
		i = max(0, i)
		if !start && i > len(s) {
			i = len(s)
		}
		return i
	}
	start, end := index(i, true), index(j, false)
	if start >= len(s) || end < start {
		return ""
	}
	return s[start:end]
}

// unsafePointerAdd is the address off bytes into *p (a field of it).
func unsafePointerAdd[T any](p *T, off uintptr) unsafe.Pointer {
	return unsafe.Add(unsafe.Pointer(p), off)
}
