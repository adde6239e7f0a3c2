package targets

import (
	"math"
	"strconv"
	"strings"
	"unsafe"

	"github.com/yuin/gopher-lua/ast"

	"github.com/immyoss/engine/internal/luasandbox"
)

// The calls of compiled Lua filters (see luacompile.go): the environment's
// helpers, tonumber, and the string library's find, match, sub, lower, upper
// and len, as the sandbox's builtins compute them.

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
		if name == "sub" {
			if e, ok := c.convSub(call); ok {
				return e
			}
		}
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
		// what they read: the tags of computer and tenant, or the software
		bit := c.readBit("software", memoInput{kind: memoNone})
		if id.Value == "has_tag" {
			bit = c.fieldBit(objComputer, "tags") | c.fieldBit(objTenant, "tags")
		}
		if len(args) == 1 {
			if k, ok := call.Args[0].(*ast.StringExpr); ok {
				s := k.Value
				if id.Value == "has_tag" {
					return func(f *lframe) lv { f.read |= bit; return lvBool(hasTag(f.c, f.t, s)) }
				}
				inst := installedFn(s)
				return func(f *lframe) lv { f.read |= bit; return lvBool(inst(f.c)) }
			}
		}
		tag := id.Value == "has_tag"
		return func(f *lframe) lv {
			v := arg(f, 0)
			if v.k != lkStr {
				return f.giveUp() // a number is made a string by the VM; others are errors
			}
			f.read |= bit
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

// convSub compiles sub of a string's lower or upper, s:lower():sub(i, j)
// and the forms of function calls, as lower and then sub compute it, but
// converting only the part of s that sub keeps when it can (convSub in
// casefold.go).
func (c *luaCompiler) convSub(call *ast.FuncCallExpr) (lexpr, bool) {
	// the string sub cuts, and its i and j
	str, ij := call.Receiver, call.Args
	if str == nil {
		if len(call.Args) == 0 {
			return nil, false
		}
		str, ij = call.Args[0], call.Args[1:]
	}
	inner, ok := str.(*ast.FuncCallExpr)
	if !ok || len(ij) == 0 || len(ij) > 2 {
		return nil, false
	}
	name, ok := c.stringFunc(inner)
	if !ok || name != "lower" && name != "upper" {
		return nil, false
	}
	x := inner.Receiver
	switch {
	case x == nil && len(inner.Args) == 1:
		x = inner.Args[0]
	case x == nil || len(inner.Args) != 0:
		return nil, false
	}
	upper := name == "upper"
	sx, iv := c.expr(x), c.expr(ij[0])
	jv := func(*lframe) lv { return lvNil }
	if len(ij) == 2 {
		jv = c.expr(ij[1])
	}
	if !c.ok {
		return nil, false
	}
	return func(f *lframe) lv {
		// as lower's closure: a string, within the bytes a run may build
		s := sx(f)
		if s.k != lkStr || !f.built(len(s.s)) {
			return f.giveUp()
		}
		// as sub's closure
		i, ok1 := luaInt(iv(f))
		j, ok2 := -1, true
		if v := jv(f); v.k != lkNil {
			j, ok2 = luaInt(v)
		}
		if f.bail || !ok1 || !ok2 {
			return f.giveUp()
		}
		return lv{k: lkStr, s: convSub(s.s, i, j, upper)}
	}, true
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
