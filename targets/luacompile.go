package targets

import (
	"slices"
	"sync"

	"github.com/yuin/gopher-lua/ast"

	"github.com/immyoss/engine/immy"
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
	// read has bit i set once the run read the chunk's input i (see
	// luaChunk.inputs): what its result depends on.
	read uint64
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
	// inputs is what the closures read, bit i of lframe.read standing for
	// inputs[i]: a field, or (kind memoNone) what cannot be grouped on (the
	// software list, the attributes map as a whole); the last bit stands
	// for the inputs past 63.
	inputs []memoInput
}

// memoNone is the kind of a chunk's input that is no field to group on.
const memoNone memoInputKind = 255

// run runs the chunk on one computer: its result, and whether it decided
// (false: run the VM).
func (p *luaChunk) run(c *immy.Computer, t *immy.Tenant) (result, ok bool) {
	result, ok, _ = p.runReading(c, t)
	return result, ok
}

// runReading is run, and what the run read (bit i: inputs[i]). The
// closures are a function of what they read: on a computer that agrees
// with c on those inputs, the run reads the same and ends the same.
func (p *luaChunk) runReading(c *immy.Computer, t *immy.Tenant) (result, ok bool, read uint64) {
	f, _ := p.pool.Get().(*lframe)
	if f == nil {
		f = &lframe{vars: make([]lv, p.nvars)}
	}
	f.c, f.t = c, t
	p.body(f)
	ret, bail, read := f.ret, f.bail, f.read
	clear(f.vars)
	*f = lframe{vars: f.vars}
	p.pool.Put(f)
	if bail || ret.k != lkBool {
		return false, false, read
	}
	return ret.b, true, read
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
	inputs  []memoInput // what the closures read, by bit (luaChunk.inputs)
}

// readBit returns the bit of lframe.read that stands for the input named
// name (a field's memoInput name; "software" or "computer.attributes"
// for what cannot be grouped on), adding the input the first time.
func (c *luaCompiler) readBit(name string, in memoInput) uint64 {
	for i := range c.inputs {
		if c.inputs[i].name == name {
			return 1 << min(i, 63)
		}
	}
	in.name = name
	c.inputs = append(c.inputs, in)
	return 1 << min(len(c.inputs)-1, 63)
}

// fieldBit is readBit for computer.NAME or tenant.NAME.
func (c *luaCompiler) fieldBit(obj, name string) uint64 {
	mi := newMemoInputs()
	mi.field(obj, name)
	if !mi.ok || len(mi.ins) != 1 {
		return c.readBit(obj+"."+name, memoInput{kind: memoNone})
	}
	return c.readBit(mi.ins[0].name, mi.ins[0])
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
	return &luaChunk{body: body, nvars: c.nvars, inputs: c.inputs}
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
