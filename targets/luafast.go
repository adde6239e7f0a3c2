package targets

import (
	"strings"

	"github.com/yuin/gopher-lua/ast"

	"github.com/immyoss/engine/immy"
)

// fastLua compiles a Lua filter that is a single `return <boolean
// expression>` over the common subset into Go closures, or returns nil: the
// filter then runs in a sandboxed state. Both must agree on every input (see
// the tests). Lua's nil matters here: a missing attribute is nil, not "".
func fastLua(chunk []ast.Stmt) boolFn {
	if len(chunk) != 1 {
		return nil
	}
	ret, ok := chunk[0].(*ast.ReturnStmt)
	if !ok || len(ret.Exprs) != 1 {
		return nil
	}
	if p, ok := luaPred(ret.Exprs[0]); ok {
		return conj([]pred{p})
	}
	v, ok := luaValue(ret.Exprs[0])
	if !ok || v.kind != luaBool {
		return nil
	}
	return v.b
}

// luaPred recognises a simple predicate (see pred.go).
func luaPred(e ast.Expr) (pred, bool) {
	field := func(e ast.Expr) (obj, name string, ok bool) {
		a, ok := e.(*ast.AttrGetExpr)
		if !ok {
			return "", "", false
		}
		id, ok1 := a.Object.(*ast.IdentExpr)
		k, ok2 := a.Key.(*ast.StringExpr)
		if !ok1 || !ok2 {
			return "", "", false
		}
		return id.Value, k.Value, true
	}
	attribute := func(e ast.Expr) (string, bool) {
		a, ok := e.(*ast.AttrGetExpr)
		if !ok {
			return "", false
		}
		obj, name, ok := field(a.Object)
		k, ok2 := a.Key.(*ast.StringExpr)
		if !ok || !ok2 || obj != objComputer || name != "attributes" {
			return "", false
		}
		return k.Value, true
	}
	konst := func(e ast.Expr) (string, bool) {
		s, ok := e.(*ast.StringExpr)
		if !ok {
			return "", false
		}
		return s.Value, true
	}
	switch e := e.(type) {
	case *ast.AttrGetExpr:
		if obj, name, ok := field(e); ok && obj == objComputer && name == "online" {
			return pred{op: predOnline}, true
		}
	case *ast.UnaryNotOpExpr:
		if obj, name, ok := field(e.Expr); ok && obj == objComputer && name == "online" {
			return pred{op: predOffline}, true
		}
	case *ast.RelationalOpExpr:
		if e.Operator != "==" && e.Operator != "~=" {
			break
		}
		l, r := e.Lhs, e.Rhs
		if _, isConst := konst(l); isConst {
			l, r = r, l
		}
		k, ok := konst(r)
		if !ok {
			break
		}
		eq := e.Operator == "=="
		if attr, ok := attribute(l); ok {
			if eq {
				return pred{op: predAttrIs, attr: attr, k: k}, true
			}
			return pred{op: predAttrIsnt, attr: attr, k: k}, true
		}
		if obj, name, ok := field(l); ok {
			if f, ok := predStringFields[obj][name]; ok {
				if eq {
					return pred{op: predStrEq, field: f, k: k}, true
				}
				return pred{op: predStrNe, field: f, k: k}, true
			}
		}
	case *ast.FuncCallExpr:
		id, ok := e.Func.(*ast.IdentExpr)
		if !ok || e.Receiver != nil {
			break
		}
		switch {
		case (id.Value == "has_tag" || id.Value == "installed") && len(e.Args) == 1:
			k, ok := konst(e.Args[0])
			if !ok {
				break
			}
			if id.Value == "has_tag" {
				return pred{op: predHasTag, k: k}, true
			}
			return pred{op: predInstalled, k: k}, true
		case (id.Value == "starts_with" || id.Value == "ends_with") && len(e.Args) == 2:
			obj, name, ok1 := field(e.Args[0])
			f, ok2 := predStringFields[obj][name]
			k, ok3 := konst(e.Args[1])
			if !ok1 || !ok2 || !ok3 {
				break
			}
			if id.Value == "starts_with" {
				return pred{op: predStrPrefix, field: f, k: k}, true
			}
			return pred{op: predStrSuffix, field: f, k: k}, true
		case id.Value == "contains" && len(e.Args) == 2:
			obj, name, ok1 := field(e.Args[0])
			f, ok2 := predListFields[obj][name]
			k, ok3 := konst(e.Args[1])
			if ok1 && ok2 && ok3 {
				return pred{op: predListHas, field: f, k: k}, true
			}
		}
	}
	return pred{}, false
}

type luaKind uint8

const (
	luaBool luaKind = iota + 1
	luaStr
	luaList
	luaMap
)

// optFn yields a string, or false for Lua's nil.
type optFn func(c *immy.Computer, t *immy.Tenant) (string, bool)

// luaVal is a compiled Lua expression of a known kind.
type luaVal struct {
	kind    luaKind
	b       boolFn
	s       optFn
	nilable bool // s may yield nil
	l       listFn
	m       mapFn
	attr    string // for computer.attributes.KEY: the key, to specialise comparisons
	isAttr  bool
	konst   string // for a string literal: its value
	isConst bool
}

func luaBoolVal(f boolFn) (luaVal, bool) { return luaVal{kind: luaBool, b: f}, true }

func luaValue(e ast.Expr) (luaVal, bool) {
	switch e := e.(type) {
	case *ast.TrueExpr:
		return luaBoolVal(func(*immy.Computer, *immy.Tenant) bool { return true })
	case *ast.FalseExpr:
		return luaBoolVal(func(*immy.Computer, *immy.Tenant) bool { return false })
	case *ast.StringExpr:
		k := e.Value
		return luaVal{kind: luaStr, s: func(*immy.Computer, *immy.Tenant) (string, bool) { return k, true }, konst: k, isConst: true}, true
	case *ast.AttrGetExpr:
		return luaAttr(e)
	case *ast.FuncCallExpr:
		return luaCall(e)
	case *ast.UnaryNotOpExpr:
		x, ok := luaValue(e.Expr)
		if !ok || x.kind != luaBool {
			return luaVal{}, false
		}
		return luaBoolVal(func(c *immy.Computer, t *immy.Tenant) bool { return !x.b(c, t) })
	case *ast.LogicalOpExpr:
		if e.Operator == "and" {
			var (
				preds []pred
				terms []boolFn
			)
			if !luaFlattenAnd(e, &preds, &terms) {
				return luaVal{}, false
			}
			return luaBoolVal(conjoin(preds, terms))
		}
		var terms []boolFn
		if !luaFlatten(e, e.Operator, &terms) {
			return luaVal{}, false
		}
		return luaBoolVal(anyOf(terms))
	case *ast.RelationalOpExpr:
		return luaCompare(e)
	}
	return luaVal{}, false
}

// luaFlatten collects the boolean operands of a chain of one logical operator.
func luaFlatten(e ast.Expr, op string, terms *[]boolFn) bool {
	if l, ok := e.(*ast.LogicalOpExpr); ok && l.Operator == op {
		return luaFlatten(l.Lhs, op, terms) && luaFlatten(l.Rhs, op, terms)
	}
	v, ok := luaValue(e)
	if !ok || v.kind != luaBool {
		return false
	}
	*terms = append(*terms, v.b)
	return true
}

// luaFlattenAnd collects the operands of a chain of and: simple predicates
// into preds, the other boolean operands compiled into terms.
func luaFlattenAnd(e ast.Expr, preds *[]pred, terms *[]boolFn) bool {
	if l, ok := e.(*ast.LogicalOpExpr); ok && l.Operator == "and" {
		return luaFlattenAnd(l.Lhs, preds, terms) && luaFlattenAnd(l.Rhs, preds, terms)
	}
	if p, ok := luaPred(e); ok {
		*preds = append(*preds, p)
		return true
	}
	v, ok := luaValue(e)
	if !ok || v.kind != luaBool {
		return false
	}
	*terms = append(*terms, v.b)
	return true
}

// luaAttr compiles computer.F, tenant.F and computer.attributes.K (or ["K"]).
func luaAttr(e *ast.AttrGetExpr) (luaVal, bool) {
	key, ok := e.Key.(*ast.StringExpr)
	if !ok {
		return luaVal{}, false
	}
	if id, ok := e.Object.(*ast.IdentExpr); ok {
		obj, name := id.Value, key.Value
		if f, ok := stringFields[obj][name]; ok {
			return luaVal{kind: luaStr, s: func(c *immy.Computer, t *immy.Tenant) (string, bool) { return f(c, t), true }}, true
		}
		if f, ok := boolFields[obj][name]; ok {
			return luaBoolVal(f)
		}
		if f, ok := listFields[obj][name]; ok {
			return luaVal{kind: luaList, l: f}, true
		}
		if f, ok := mapFields[obj][name]; ok {
			return luaVal{kind: luaMap, m: f, attr: obj + "." + name}, true
		}
		return luaVal{}, false
	}
	m, ok := luaValue(e.Object)
	if !ok || m.kind != luaMap {
		return luaVal{}, false
	}
	k := key.Value
	get := m.m
	return luaVal{kind: luaStr, nilable: true, isAttr: m.attr == "computer.attributes", attr: k,
		s: func(c *immy.Computer, t *immy.Tenant) (string, bool) { v, ok := get(c, t)[k]; return v, ok }}, true
}

// luaCall compiles the helpers of the environment and the string methods lower and upper.
func luaCall(e *ast.FuncCallExpr) (luaVal, bool) {
	args := make([]luaVal, len(e.Args))
	for i, a := range e.Args {
		v, ok := luaValue(a)
		if !ok {
			return luaVal{}, false
		}
		args[i] = v
	}
	strArg := func(i int, nilable bool) (optFn, bool) {
		if i >= len(args) || args[i].kind != luaStr || (args[i].nilable && !nilable) {
			return nil, false
		}
		return args[i].s, true
	}
	if e.Receiver != nil {
		recv, ok := luaValue(e.Receiver)
		if !ok || recv.kind != luaStr || recv.nilable || len(args) != 0 {
			return luaVal{}, false
		}
		return luaStringFunc(e.Method, recv.s)
	}
	if a, ok := e.Func.(*ast.AttrGetExpr); ok {
		lib, ok1 := a.Object.(*ast.IdentExpr)
		name, ok2 := a.Key.(*ast.StringExpr)
		s, ok3 := strArg(0, false)
		if !ok1 || !ok2 || !ok3 || lib.Value != "string" || len(args) != 1 {
			return luaVal{}, false
		}
		return luaStringFunc(name.Value, s)
	}
	id, ok := e.Func.(*ast.IdentExpr)
	if !ok {
		return luaVal{}, false
	}
	switch id.Value {
	case "has_tag", "installed":
		s, ok := strArg(0, false)
		if !ok || len(args) != 1 {
			return luaVal{}, false
		}
		if args[0].isConst {
			k := args[0].konst
			if id.Value == "has_tag" {
				return luaBoolVal(func(c *immy.Computer, t *immy.Tenant) bool { return hasTag(c, t, k) })
			}
			inst := installedFn(k)
			return luaBoolVal(func(c *immy.Computer, _ *immy.Tenant) bool { return inst(c) })
		}
		if id.Value == "has_tag" {
			return luaBoolVal(func(c *immy.Computer, t *immy.Tenant) bool { v, _ := s(c, t); return hasTag(c, t, v) })
		}
		return luaBoolVal(func(c *immy.Computer, t *immy.Tenant) bool { v, _ := s(c, t); return installed(c, v) })
	case "starts_with", "ends_with":
		s, ok1 := strArg(0, true)
		p, ok2 := strArg(1, false)
		if !ok1 || !ok2 || len(args) != 2 {
			return luaVal{}, false
		}
		test := strings.HasPrefix
		if id.Value == "ends_with" {
			test = strings.HasSuffix
		}
		if args[1].isConst {
			k := args[1].konst
			return luaBoolVal(func(c *immy.Computer, t *immy.Tenant) bool { v, ok := s(c, t); return ok && test(v, k) })
		}
		return luaBoolVal(func(c *immy.Computer, t *immy.Tenant) bool {
			v, ok := s(c, t)
			k, _ := p(c, t)
			return ok && test(v, k)
		})
	case "contains":
		if len(args) != 2 || args[0].kind != luaList {
			return luaVal{}, false
		}
		v, ok := strArg(1, true)
		if !ok {
			return luaVal{}, false
		}
		list := args[0].l
		if args[1].isConst {
			k := args[1].konst
			return luaBoolVal(func(c *immy.Computer, t *immy.Tenant) bool { return containsString(list(c, t), k) })
		}
		return luaBoolVal(func(c *immy.Computer, t *immy.Tenant) bool {
			x, ok := v(c, t)
			return ok && containsString(list(c, t), x)
		})
	}
	return luaVal{}, false
}

func luaStringFunc(name string, s optFn) (luaVal, bool) {
	var fn func(string) string
	switch name {
	case "lower":
		fn = strings.ToLower
	case "upper":
		fn = strings.ToUpper
	default:
		return luaVal{}, false
	}
	return luaVal{kind: luaStr, s: func(c *immy.Computer, t *immy.Tenant) (string, bool) {
		v, _ := s(c, t)
		return fn(v), true
	}}, true
}

// luaCompare compiles == and ~= over booleans or strings (nil included), and
// the orderings over strings that cannot be nil.
func luaCompare(e *ast.RelationalOpExpr) (luaVal, bool) {
	l, ok1 := luaValue(e.Lhs)
	r, ok2 := luaValue(e.Rhs)
	if !ok1 || !ok2 || l.kind != r.kind {
		return luaVal{}, false
	}
	eq := e.Operator == "=="
	if e.Operator != "==" && e.Operator != "~=" {
		if l.kind != luaStr || l.nilable || r.nilable {
			return luaVal{}, false
		}
		ls, rs := l.s, r.s
		var less func(a, b string) bool
		switch e.Operator {
		case "<":
			less = func(a, b string) bool { return a < b }
		case "<=":
			less = func(a, b string) bool { return a <= b }
		case ">":
			less = func(a, b string) bool { return a > b }
		case ">=":
			less = func(a, b string) bool { return a >= b }
		default:
			return luaVal{}, false
		}
		return luaBoolVal(func(c *immy.Computer, t *immy.Tenant) bool {
			a, _ := ls(c, t)
			b, _ := rs(c, t)
			return less(a, b)
		})
	}
	switch l.kind {
	case luaBool:
		lb, rb := l.b, r.b
		if eq {
			return luaBoolVal(func(c *immy.Computer, t *immy.Tenant) bool { return lb(c, t) == rb(c, t) })
		}
		return luaBoolVal(func(c *immy.Computer, t *immy.Tenant) bool { return lb(c, t) != rb(c, t) })
	case luaStr:
		if l.isConst && r.isAttr {
			l, r = r, l
		}
		if l.isAttr && r.isConst {
			// The common case, specialised: computer.attributes.site == "hq".
			key, k := l.attr, r.konst
			return luaBoolVal(func(c *immy.Computer, _ *immy.Tenant) bool {
				v, ok := c.Attributes[key]
				return (ok && v == k) == eq
			})
		}
		ls, rs := l.s, r.s
		return luaBoolVal(func(c *immy.Computer, t *immy.Tenant) bool {
			a, aok := ls(c, t)
			b, bok := rs(c, t)
			same := aok == bok && (!aok || a == b)
			return same == eq
		})
	}
	return luaVal{}, false
}
