package targets

import (
	"math"
	"strconv"
	"strings"

	"github.com/yuin/gopher-lua/ast"
)

// The expressions of compiled Lua filters (see luacompile.go): truth,
// comparisons, values, indexing and the fields of computer and tenant.

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
					off, bit := computerListOffset[pf], c.fieldBit(objComputer, k.Value)
					return func(f *lframe) lv {
						f.read |= bit
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
	if isConst && c.attributes(e.Object) {
		// computer.attributes.KEY: one attribute, read as one input
		k, bit := key.Value, c.readBit("attr:"+key.Value, memoInput{kind: memoAttr, attr: key.Value})
		return func(f *lframe) lv {
			f.read |= bit
			if v, ok := f.c.Attributes[k]; ok {
				return lv{k: lkStr, s: v}
			}
			return lvNil
		}
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

// attributes reports whether e is computer.attributes, the sandbox's.
func (c *luaCompiler) attributes(e ast.Expr) bool {
	a, ok := e.(*ast.AttrGetExpr)
	if !ok {
		return false
	}
	id, ok1 := a.Object.(*ast.IdentExpr)
	k, ok2 := a.Key.(*ast.StringExpr)
	return ok1 && ok2 && id.Value == objComputer && k.Value == "attributes" && c.builtin(objComputer)
}

// luaField compiles computer.NAME or tenant.NAME. Each read sets the
// field's bit of lframe.read.
func luaField(obj, name string, c *luaCompiler) lexpr {
	if !isField(obj, name) {
		c.fail()
		return nil
	}
	bit := c.fieldBit(obj, name)
	if f, ok := stringFields[obj][name]; ok {
		if obj == objComputer {
			// The plain string fields at their offset: no getter call.
			if pf, ok := predStringFields[obj][name]; ok {
				if off, ok := computerStringOffset[pf]; ok {
					return func(f *lframe) lv { f.read |= bit; return lv{k: lkStr, s: computerString(f.c, off)} }
				}
			}
		}
		return func(fr *lframe) lv { fr.read |= bit; return lv{k: lkStr, s: f(fr.c, fr.t)} }
	}
	if f, ok := boolFields[obj][name]; ok {
		return func(fr *lframe) lv { fr.read |= bit; return lvBool(f(fr.c, fr.t)) }
	}
	if pf, ok := predListFields[obj][name]; ok {
		if off, ok := computerListOffset[pf]; ok {
			return func(f *lframe) lv {
				f.read |= bit
				return lv{k: lkList, l: (*[]string)(unsafePointerAdd(f.c, off))}
			}
		}
		off := tenantListOffset[pf]
		return func(f *lframe) lv {
			f.read |= bit
			return lv{k: lkList, l: (*[]string)(unsafePointerAdd(f.t, off))}
		}
	}
	if f, ok := mapFields[obj][name]; ok {
		return func(fr *lframe) lv { fr.read |= bit; return lv{k: lkMap, m: f(fr.c, fr.t)} }
	}
	c.fail()
	return nil
}
