package targets

import (
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/expr-lang/expr/ast"

	"github.com/immyoss/engine/immy"
)

// The expr forms of exprfast.go's closures that go beyond comparisons of
// strings: integers (int(s), len, count and integer literals, compared),
// the quantifiers any, all, none and one, and count, over a list field or
// split(s, sep) with a predicate on the element (#), and an element of
// split(s, sep)[i].
//
// int of a string that is not a number and an index out of range are errors
// in expr's VM; the closures give up there (exprGiveUp), and the filter
// runs in the VM for that computer, which reports the error (see
// exprDecider). Both must agree on every input: TestExprNativeAgreesWithVM
// and FuzzExprCompiled pin the closures to the VM.

type intFn func(c *immy.Computer, t *immy.Tenant) int

// exprGiveUp is what a closure panics with when it cannot decide the input
// as the VM would (the VM reports an error there).
type exprGiveUp struct{}

// exprFallible reports whether the closures of n may give up: n calls int
// of a string or indexes a list.
func exprFallible(n ast.Node) bool {
	v := &fallibleVisitor{}
	ast.Walk(&n, v)
	return v.found
}

type fallibleVisitor struct{ found bool }

func (v *fallibleVisitor) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.BuiltinNode:
		if n.Name == "int" {
			v.found = true
		}
	case *ast.MemberNode:
		if _, ok := n.Property.(*ast.IntegerNode); ok {
			v.found = true
		}
	}
}

// exprDecider wraps closures that may give up: the result, and whether they
// decided it.
func exprDecider(fn boolFn) func(c *immy.Computer, t *immy.Tenant) (bool, bool) {
	return func(c *immy.Computer, t *immy.Tenant) (result, decided bool) {
		defer func() {
			if x := recover(); x != nil {
				if _, ok := x.(exprGiveUp); !ok {
					panic(x)
				}
				result, decided = false, false
			}
		}()
		return fn(c, t), true
	}
}

// exprInt compiles an integer expression.
func exprInt(n ast.Node) (intFn, bool) {
	switch n := n.(type) {
	case *ast.IntegerNode:
		v := n.Value
		return func(*immy.Computer, *immy.Tenant) int { return v }, true
	case *ast.BuiltinNode:
		switch {
		case n.Name == "int" && len(n.Arguments) == 1:
			if i, ok := exprInt(n.Arguments[0]); ok {
				return i, true
			}
			s, ok := exprStr(n.Arguments[0])
			if !ok {
				return nil, false
			}
			return func(c *immy.Computer, t *immy.Tenant) int {
				i, err := strconv.Atoi(s(c, t))
				if err != nil {
					panic(exprGiveUp{})
				}
				return i
			}, true
		case n.Name == "len" && len(n.Arguments) == 1:
			if l, ok := exprList(n.Arguments[0]); ok {
				return func(c *immy.Computer, t *immy.Tenant) int { return len(l(c, t)) }, true
			}
			if s, ok := exprStr(n.Arguments[0]); ok {
				return func(c *immy.Computer, t *immy.Tenant) int { return utf8.RuneCountInString(s(c, t)) }, true
			}
		case n.Name == "count" && len(n.Arguments) == 2:
			l, p, ok := exprQuantified(n)
			if !ok {
				return nil, false
			}
			return func(c *immy.Computer, t *immy.Tenant) int {
				k := 0
				for _, s := range l(c, t) {
					if p(c, t, s) {
						k++
					}
				}
				return k
			}, true
		}
	}
	return nil, false
}

// exprIntCompare compiles a comparison of two integer expressions.
func exprIntCompare(n *ast.BinaryNode) (boolFn, bool) {
	l, ok1 := exprInt(n.Left)
	r, ok2 := exprInt(n.Right)
	if !ok1 || !ok2 {
		return nil, false
	}
	if k, ok := n.Right.(*ast.IntegerNode); ok {
		v := k.Value
		switch n.Operator {
		case "==":
			return func(c *immy.Computer, t *immy.Tenant) bool { return l(c, t) == v }, true
		case "!=":
			return func(c *immy.Computer, t *immy.Tenant) bool { return l(c, t) != v }, true
		case "<":
			return func(c *immy.Computer, t *immy.Tenant) bool { return l(c, t) < v }, true
		case "<=":
			return func(c *immy.Computer, t *immy.Tenant) bool { return l(c, t) <= v }, true
		case ">":
			return func(c *immy.Computer, t *immy.Tenant) bool { return l(c, t) > v }, true
		case ">=":
			return func(c *immy.Computer, t *immy.Tenant) bool { return l(c, t) >= v }, true
		}
		return nil, false
	}
	switch n.Operator {
	case "==":
		return func(c *immy.Computer, t *immy.Tenant) bool { return l(c, t) == r(c, t) }, true
	case "!=":
		return func(c *immy.Computer, t *immy.Tenant) bool { return l(c, t) != r(c, t) }, true
	case "<":
		return func(c *immy.Computer, t *immy.Tenant) bool { return l(c, t) < r(c, t) }, true
	case "<=":
		return func(c *immy.Computer, t *immy.Tenant) bool { return l(c, t) <= r(c, t) }, true
	case ">":
		return func(c *immy.Computer, t *immy.Tenant) bool { return l(c, t) > r(c, t) }, true
	case ">=":
		return func(c *immy.Computer, t *immy.Tenant) bool { return l(c, t) >= r(c, t) }, true
	}
	return nil, false
}

// exprList compiles a list of strings: a list field, or split(s, sep).
func exprList(n ast.Node) (listFn, bool) {
	if obj, name, ok := exprField(n); ok {
		l, ok := listFields[obj][name]
		return l, ok
	}
	b, ok := n.(*ast.BuiltinNode)
	if !ok || b.Name != "split" || len(b.Arguments) != 2 {
		return nil, false
	}
	s, ok1 := exprStr(b.Arguments[0])
	sep, ok2 := exprStr(b.Arguments[1])
	if !ok1 || !ok2 {
		return nil, false
	}
	return func(c *immy.Computer, t *immy.Tenant) []string { return strings.Split(s(c, t), sep(c, t)) }, true
}

// exprListIndex compiles LIST[i] with an integer literal i (negative: from
// the end, as expr reads it); out of range gives up.
func exprListIndex(n *ast.MemberNode) (strFn, bool) {
	k, ok := n.Property.(*ast.IntegerNode)
	if !ok || n.Optional || n.Method {
		return nil, false
	}
	l, ok := exprList(n.Node)
	if !ok {
		return nil, false
	}
	i := k.Value
	return func(c *immy.Computer, t *immy.Tenant) string {
		list := l(c, t)
		j := i
		if j < 0 {
			j += len(list)
		}
		if j < 0 || j >= len(list) {
			panic(exprGiveUp{})
		}
		return list[j]
	}, true
}

// elemBoolFn and elemStrFn are a predicate's body, given the element.
type (
	elemBoolFn func(c *immy.Computer, t *immy.Tenant, e string) bool
	elemStrFn  func(c *immy.Computer, t *immy.Tenant, e string) string
)

// exprQuantified compiles the list and the predicate of any, all, none,
// one or count.
func exprQuantified(n *ast.BuiltinNode) (listFn, elemBoolFn, bool) {
	if len(n.Arguments) != 2 {
		return nil, nil, false
	}
	l, ok := exprList(n.Arguments[0])
	if !ok {
		return nil, nil, false
	}
	p, ok := n.Arguments[1].(*ast.PredicateNode)
	if !ok {
		return nil, nil, false
	}
	body, ok := elemBool(p.Node)
	if !ok {
		return nil, nil, false
	}
	return l, body, true
}

// exprQuantifier compiles any, all, none and one.
func exprQuantifier(n *ast.BuiltinNode) (boolFn, bool) {
	switch n.Name {
	case "any", "all", "none", "one":
	default:
		return nil, false
	}
	l, p, ok := exprQuantified(n)
	if !ok {
		return nil, false
	}
	switch n.Name {
	case "any":
		return func(c *immy.Computer, t *immy.Tenant) bool {
			for _, s := range l(c, t) {
				if p(c, t, s) {
					return true
				}
			}
			return false
		}, true
	case "all":
		return func(c *immy.Computer, t *immy.Tenant) bool {
			for _, s := range l(c, t) {
				if !p(c, t, s) {
					return false
				}
			}
			return true
		}, true
	case "none":
		return func(c *immy.Computer, t *immy.Tenant) bool {
			for _, s := range l(c, t) {
				if p(c, t, s) {
					return false
				}
			}
			return true
		}, true
	}
	return func(c *immy.Computer, t *immy.Tenant) bool {
		k := 0
		for _, s := range l(c, t) {
			if p(c, t, s) {
				if k++; k > 1 {
					return false
				}
			}
		}
		return k == 1
	}, true
}

// elemStr compiles a string of a predicate's body: the element (#), lower,
// upper or trim of one, or a string that does not read the element.
func elemStr(n ast.Node) (elemStrFn, bool) {
	switch n := n.(type) {
	case *ast.PointerNode:
		if n.Name != "" {
			return nil, false
		}
		return func(_ *immy.Computer, _ *immy.Tenant, e string) string { return e }, true
	case *ast.BuiltinNode:
		if len(n.Arguments) != 1 {
			break
		}
		var fn func(string) string
		switch n.Name {
		case "lower":
			fn = strings.ToLower
		case "upper":
			fn = strings.ToUpper
		case "trim":
			fn = strings.TrimSpace
		default:
			return nil, false
		}
		x, ok := elemStr(n.Arguments[0])
		if !ok {
			return nil, false
		}
		if _, isElem := n.Arguments[0].(*ast.PointerNode); isElem {
			return func(_ *immy.Computer, _ *immy.Tenant, e string) string { return fn(e) }, true
		}
		return func(c *immy.Computer, t *immy.Tenant, e string) string { return fn(x(c, t, e)) }, true
	}
	s, ok := exprStr(n)
	if !ok {
		return nil, false
	}
	return func(c *immy.Computer, t *immy.Tenant, _ string) string { return s(c, t) }, true
}

// elemBool compiles a predicate's body.
func elemBool(n ast.Node) (elemBoolFn, bool) {
	switch n := n.(type) {
	case *ast.UnaryNode:
		if n.Operator != "not" && n.Operator != "!" {
			return nil, false
		}
		x, ok := elemBool(n.Node)
		if !ok {
			return nil, false
		}
		return func(c *immy.Computer, t *immy.Tenant, e string) bool { return !x(c, t, e) }, true
	case *ast.BinaryNode:
		switch n.Operator {
		case "and", "&&", "or", "||":
			l, ok1 := elemBool(n.Left)
			r, ok2 := elemBool(n.Right)
			if !ok1 || !ok2 {
				return nil, false
			}
			if n.Operator == "and" || n.Operator == "&&" {
				return func(c *immy.Computer, t *immy.Tenant, e string) bool { return l(c, t, e) && r(c, t, e) }, true
			}
			return func(c *immy.Computer, t *immy.Tenant, e string) bool { return l(c, t, e) || r(c, t, e) }, true
		case "in":
			x, ok := elemStr(n.Left)
			if !ok {
				break
			}
			if arr, ok := n.Right.(*ast.ArrayNode); ok {
				set := make([]string, 0, len(arr.Nodes))
				for _, a := range arr.Nodes {
					k, ok := exprConst(a)
					if !ok {
						return nil, false
					}
					set = append(set, k)
				}
				return func(c *immy.Computer, t *immy.Tenant, e string) bool { return containsString(set, x(c, t, e)) }, true
			}
			if l, ok := exprList(n.Right); ok {
				return func(c *immy.Computer, t *immy.Tenant, e string) bool { return containsString(l(c, t), x(c, t, e)) }, true
			}
			return nil, false
		}
		if f, ok := elemStringOp(n); ok {
			return f, true
		}
	}
	if f, ok := exprBool(n); ok {
		return func(c *immy.Computer, t *immy.Tenant, _ string) bool { return f(c, t) }, true
	}
	return nil, false
}

// elemStringOp compiles `l OP r` over strings of a predicate's body.
func elemStringOp(n *ast.BinaryNode) (elemBoolFn, bool) {
	l, ok := elemStr(n.Left)
	if !ok {
		return nil, false
	}
	if k, ok := exprConst(n.Right); ok {
		if fn, ok := elemConvOp(n, k); ok {
			return fn, true
		}
		var test func(s, k string) bool
		switch n.Operator {
		case "==":
			test = func(s, k string) bool { return s == k }
		case "!=":
			test = func(s, k string) bool { return s != k }
		case "startsWith":
			test = strings.HasPrefix
		case "endsWith":
			test = strings.HasSuffix
		case "contains":
			test = strings.Contains
		case "matches":
			re, err := regexp.Compile(k)
			if err != nil {
				return nil, false
			}
			return func(c *immy.Computer, t *immy.Tenant, e string) bool { return re.MatchString(l(c, t, e)) }, true
		default:
			return nil, false
		}
		if _, isElem := n.Left.(*ast.PointerNode); isElem {
			return func(_ *immy.Computer, _ *immy.Tenant, e string) bool { return test(e, k) }, true
		}
		return func(c *immy.Computer, t *immy.Tenant, e string) bool { return test(l(c, t, e), k) }, true
	}
	r, ok := elemStr(n.Right)
	if !ok {
		return nil, false
	}
	var test func(a, b string) bool
	switch n.Operator {
	case "==":
		test = func(a, b string) bool { return a == b }
	case "!=":
		test = func(a, b string) bool { return a != b }
	case "<":
		test = func(a, b string) bool { return a < b }
	case "<=":
		test = func(a, b string) bool { return a <= b }
	case ">":
		test = func(a, b string) bool { return a > b }
	case ">=":
		test = func(a, b string) bool { return a >= b }
	case "startsWith":
		test = strings.HasPrefix
	case "endsWith":
		test = strings.HasSuffix
	case "contains":
		test = strings.Contains
	default:
		return nil, false
	}
	return func(c *immy.Computer, t *immy.Tenant, e string) bool { return test(l(c, t, e), r(c, t, e)) }, true
}

// elemConvOp compiles lower(x) or upper(x) compared with a constant k by
// ==, !=, startsWith or endsWith, without converting x where its ASCII
// bytes decide (casefold.go).
func elemConvOp(n *ast.BinaryNode, k string) (elemBoolFn, bool) {
	b, ok := n.Left.(*ast.BuiltinNode)
	if !ok || len(b.Arguments) != 1 || b.Name != "lower" && b.Name != "upper" {
		return nil, false
	}
	x, ok := elemStr(b.Arguments[0])
	if !ok {
		return nil, false
	}
	upper := b.Name == "upper"
	var test func(s, k string, upper bool) bool
	switch n.Operator {
	case "==", "!=":
		test = convEqual
	case "startsWith":
		test = convHasPrefix
	case "endsWith":
		test = convHasSuffix
	default:
		return nil, false
	}
	if n.Operator == "!=" {
		return func(c *immy.Computer, t *immy.Tenant, e string) bool { return !convEqual(x(c, t, e), k, upper) }, true
	}
	if _, isElem := b.Arguments[0].(*ast.PointerNode); isElem {
		return func(_ *immy.Computer, _ *immy.Tenant, e string) bool { return test(e, k, upper) }, true
	}
	return func(c *immy.Computer, t *immy.Tenant, e string) bool { return test(x(c, t, e), k, upper) }, true
}
