package targets

import (
	"regexp"
	"strings"

	"github.com/expr-lang/expr/ast"

	"github.com/immyoss/engine/immy"
)

// fastExpr compiles a type-checked expr tree into Go closures, or returns nil
// when the tree uses something outside the common subset: the filter then runs
// in expr's VM. Both must agree on every input (see the tests).
func fastExpr(n ast.Node) boolFn {
	if p, ok := exprPred(n); ok {
		return conj([]pred{p})
	}
	f, ok := exprBool(n)
	if !ok {
		return nil
	}
	return f
}

// exprPred recognises a simple predicate (see pred.go).
func exprPred(n ast.Node) (pred, bool) {
	switch n := n.(type) {
	case *ast.MemberNode:
		if obj, name, ok := exprField(n); ok && obj == objComputer && name == "online" {
			return pred{op: predOnline}, true
		}
	case *ast.UnaryNode:
		if n.Operator == "not" || n.Operator == "!" {
			if obj, name, ok := exprField(n.Node); ok && obj == objComputer && name == "online" {
				return pred{op: predOffline}, true
			}
		}
	case *ast.CallNode:
		id, ok := n.Callee.(*ast.IdentifierNode)
		if !ok || len(n.Arguments) != 1 {
			break
		}
		k, ok := exprConst(n.Arguments[0])
		if !ok {
			break
		}
		switch id.Value {
		case "has_tag":
			return pred{op: predHasTag, k: k}, true
		case "installed":
			return pred{op: predInstalled, k: k}, true
		}
	case *ast.BinaryNode:
		if n.Operator == "in" {
			k, ok := exprConst(n.Left)
			obj, name, ok2 := exprField(n.Right)
			if f, ok3 := predListFields[obj][name]; ok && ok2 && ok3 {
				return pred{op: predListHas, field: f, k: k}, true
			}
			break
		}
		left, right := n.Left, n.Right
		if _, isConst := exprConst(left); isConst && (n.Operator == "==" || n.Operator == "!=") {
			left, right = right, left
		}
		k, ok := exprConst(right)
		if !ok {
			break
		}
		if attr, ok := exprAttribute(left); ok {
			switch n.Operator {
			case "==":
				return pred{op: predAttrEq, attr: attr, k: k}, true
			case "!=":
				return pred{op: predAttrNe, attr: attr, k: k}, true
			}
			break
		}
		obj, name, ok := exprField(left)
		f, ok2 := predStringFields[obj][name]
		if !ok || !ok2 {
			break
		}
		op, ok := map[string]predOp{"==": predStrEq, "!=": predStrNe, "startsWith": predStrPrefix,
			"endsWith": predStrSuffix, "contains": predStrContains}[n.Operator]
		if ok {
			return pred{op: op, field: f, k: k}, true
		}
	}
	return pred{}, false
}

func exprBool(n ast.Node) (boolFn, bool) {
	switch n := n.(type) {
	case *ast.BoolNode:
		v := n.Value
		return func(*immy.Computer, *immy.Tenant) bool { return v }, true
	case *ast.UnaryNode:
		if n.Operator != "not" && n.Operator != "!" {
			return nil, false
		}
		x, ok := exprBool(n.Node)
		if !ok {
			return nil, false
		}
		return func(c *immy.Computer, t *immy.Tenant) bool { return !x(c, t) }, true
	case *ast.BinaryNode:
		return exprBinary(n)
	case *ast.MemberNode:
		obj, name, ok := exprField(n)
		if !ok {
			return nil, false
		}
		f, ok := boolFields[obj][name]
		return f, ok
	case *ast.CallNode:
		return exprCall(n)
	case *ast.BuiltinNode:
		return exprQuantifier(n)
	case *ast.ConditionalNode:
		cond, ok1 := exprBool(n.Cond)
		a, ok2 := exprBool(n.Exp1)
		b, ok3 := exprBool(n.Exp2)
		if !ok1 || !ok2 || !ok3 {
			return nil, false
		}
		return func(c *immy.Computer, t *immy.Tenant) bool {
			if cond(c, t) {
				return a(c, t)
			}
			return b(c, t)
		}, true
	}
	return nil, false
}

func exprBinary(n *ast.BinaryNode) (boolFn, bool) {
	switch n.Operator {
	case "and", "&&":
		var (
			preds []pred
			terms []boolFn
		)
		if !exprFlattenAnd(n, &preds, &terms) {
			return nil, false
		}
		return conjoin(preds, terms), true
	case "or", "||":
		var terms []boolFn
		if !exprFlatten(n, false, &terms) {
			return nil, false
		}
		return anyOf(terms), true
	case "in":
		return exprIn(n)
	}
	if l, ok := exprBool(n.Left); ok {
		r, ok := exprBool(n.Right)
		if !ok {
			return nil, false
		}
		switch n.Operator {
		case "==":
			return func(c *immy.Computer, t *immy.Tenant) bool { return l(c, t) == r(c, t) }, true
		case "!=":
			return func(c *immy.Computer, t *immy.Tenant) bool { return l(c, t) != r(c, t) }, true
		}
		return nil, false
	}
	if f, ok := exprLen(n); ok {
		return f, true
	}
	if f, ok := exprIntCompare(n); ok {
		return f, true
	}
	// Specialised forms: an attribute against a constant, a field against a constant.
	if k, ok := exprConst(n.Right); ok {
		if key, ok := exprAttribute(n.Left); ok {
			switch n.Operator {
			case "==":
				return func(c *immy.Computer, _ *immy.Tenant) bool { return c.Attributes[key] == k }, true
			case "!=":
				return func(c *immy.Computer, _ *immy.Tenant) bool { return c.Attributes[key] != k }, true
			}
		}
		if l, ok := exprStr(n.Left); ok {
			if f, ok := stringOpConst(n.Operator, l, k); ok {
				return f, true
			}
		}
	}
	l, ok1 := exprStr(n.Left)
	r, ok2 := exprStr(n.Right)
	if !ok1 || !ok2 {
		return nil, false
	}
	return stringOp(n.Operator, l, r)
}

// exprLen compiles `len(LIST) OP N`: a list field's length against an
// integer constant.
func exprLen(n *ast.BinaryNode) (boolFn, bool) {
	b, ok := n.Left.(*ast.BuiltinNode)
	if !ok || b.Name != "len" || len(b.Arguments) != 1 {
		return nil, false
	}
	k, ok := n.Right.(*ast.IntegerNode)
	if !ok {
		return nil, false
	}
	obj, name, ok := exprField(b.Arguments[0])
	if !ok {
		return nil, false
	}
	l, ok := listFields[obj][name]
	if !ok {
		return nil, false
	}
	v := k.Value
	switch n.Operator {
	case "==":
		return func(c *immy.Computer, t *immy.Tenant) bool { return len(l(c, t)) == v }, true
	case "!=":
		return func(c *immy.Computer, t *immy.Tenant) bool { return len(l(c, t)) != v }, true
	case "<":
		return func(c *immy.Computer, t *immy.Tenant) bool { return len(l(c, t)) < v }, true
	case "<=":
		return func(c *immy.Computer, t *immy.Tenant) bool { return len(l(c, t)) <= v }, true
	case ">":
		return func(c *immy.Computer, t *immy.Tenant) bool { return len(l(c, t)) > v }, true
	case ">=":
		return func(c *immy.Computer, t *immy.Tenant) bool { return len(l(c, t)) >= v }, true
	}
	return nil, false
}

// stringOpConst compiles `l OP "k"`.
func stringOpConst(op string, l strFn, k string) (boolFn, bool) {
	switch op {
	case "==":
		return func(c *immy.Computer, t *immy.Tenant) bool { return l(c, t) == k }, true
	case "!=":
		return func(c *immy.Computer, t *immy.Tenant) bool { return l(c, t) != k }, true
	case "startsWith":
		return func(c *immy.Computer, t *immy.Tenant) bool { return strings.HasPrefix(l(c, t), k) }, true
	case "endsWith":
		return func(c *immy.Computer, t *immy.Tenant) bool { return strings.HasSuffix(l(c, t), k) }, true
	case "contains":
		return func(c *immy.Computer, t *immy.Tenant) bool { return strings.Contains(l(c, t), k) }, true
	case "matches":
		re, err := regexp.Compile(k)
		if err != nil {
			return nil, false
		}
		return func(c *immy.Computer, t *immy.Tenant) bool { return re.MatchString(l(c, t)) }, true
	}
	return nil, false
}

// stringOp compiles `l OP r` over two strings.
func stringOp(op string, l, r strFn) (boolFn, bool) {
	switch op {
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
	case "startsWith":
		return func(c *immy.Computer, t *immy.Tenant) bool { return strings.HasPrefix(l(c, t), r(c, t)) }, true
	case "endsWith":
		return func(c *immy.Computer, t *immy.Tenant) bool { return strings.HasSuffix(l(c, t), r(c, t)) }, true
	case "contains":
		return func(c *immy.Computer, t *immy.Tenant) bool { return strings.Contains(l(c, t), r(c, t)) }, true
	}
	// matches with a computed pattern is left to the VM, which reports a bad pattern.
	return nil, false
}

// exprFlatten collects the operands of a chain of and (or of or) into terms.
func exprFlatten(n ast.Node, and bool, terms *[]boolFn) bool {
	if b, ok := n.(*ast.BinaryNode); ok {
		isAnd := b.Operator == "and" || b.Operator == "&&"
		isOr := b.Operator == "or" || b.Operator == "||"
		if (and && isAnd) || (!and && isOr) {
			return exprFlatten(b.Left, and, terms) && exprFlatten(b.Right, and, terms)
		}
	}
	f, ok := exprBool(n)
	if !ok {
		return false
	}
	*terms = append(*terms, f)
	return true
}

// exprFlattenAnd collects the operands of a chain of and: simple predicates
// into preds, the others compiled into terms. conjoin runs preds before
// terms, so once a term is taken every later operand is a term too: a term
// that gives up to the VM (an index out of range) must run before the
// operands that follow it in the source, as the VM runs them.
func exprFlattenAnd(n ast.Node, preds *[]pred, terms *[]boolFn) bool {
	if b, ok := n.(*ast.BinaryNode); ok && (b.Operator == "and" || b.Operator == "&&") {
		return exprFlattenAnd(b.Left, preds, terms) && exprFlattenAnd(b.Right, preds, terms)
	}
	if p, ok := exprPred(n); ok && len(*terms) == 0 {
		*preds = append(*preds, p)
		return true
	}
	f, ok := exprBool(n)
	if !ok {
		return false
	}
	*terms = append(*terms, f)
	return true
}

func allOf(fs []boolFn) boolFn {
	switch len(fs) {
	case 1:
		return fs[0]
	case 2:
		a, b := fs[0], fs[1]
		return func(c *immy.Computer, t *immy.Tenant) bool { return a(c, t) && b(c, t) }
	case 3:
		a, b, d := fs[0], fs[1], fs[2]
		return func(c *immy.Computer, t *immy.Tenant) bool { return a(c, t) && b(c, t) && d(c, t) }
	}
	return func(c *immy.Computer, t *immy.Tenant) bool {
		for _, f := range fs {
			if !f(c, t) {
				return false
			}
		}
		return true
	}
}

func anyOf(fs []boolFn) boolFn {
	switch len(fs) {
	case 1:
		return fs[0]
	case 2:
		a, b := fs[0], fs[1]
		return func(c *immy.Computer, t *immy.Tenant) bool { return a(c, t) || b(c, t) }
	}
	return func(c *immy.Computer, t *immy.Tenant) bool {
		for _, f := range fs {
			if f(c, t) {
				return true
			}
		}
		return false
	}
}

// exprIn compiles `x in y`: a string in a list field, in an array of
// constants, or a key of the attributes.
func exprIn(n *ast.BinaryNode) (boolFn, bool) {
	if arr, ok := n.Right.(*ast.ArrayNode); ok {
		set := make([]string, 0, len(arr.Nodes))
		for _, e := range arr.Nodes {
			k, ok := exprConst(e)
			if !ok {
				return nil, false
			}
			set = append(set, k)
		}
		if k, ok := exprConst(n.Left); ok {
			v := containsString(set, k)
			return func(*immy.Computer, *immy.Tenant) bool { return v }, true
		}
		l, ok := exprStr(n.Left)
		if !ok {
			return nil, false
		}
		if len(set) > 8 {
			m := make(map[string]struct{}, len(set))
			for _, s := range set {
				m[s] = struct{}{}
			}
			return func(c *immy.Computer, t *immy.Tenant) bool { _, ok := m[l(c, t)]; return ok }, true
		}
		return func(c *immy.Computer, t *immy.Tenant) bool { return containsString(set, l(c, t)) }, true
	}
	obj, name, ok := exprField(n.Right)
	if !ok {
		return nil, false
	}
	if k, ok := exprConst(n.Left); ok {
		switch {
		case obj == objComputer && name == "tags":
			return func(c *immy.Computer, _ *immy.Tenant) bool { return containsString(c.Tags, k) }, true
		case obj == objTenant && name == "tags":
			return func(_ *immy.Computer, t *immy.Tenant) bool { return containsString(t.Tags, k) }, true
		}
	}
	l, ok := exprStr(n.Left)
	if !ok {
		return nil, false
	}
	if list, ok := listFields[obj][name]; ok {
		return func(c *immy.Computer, t *immy.Tenant) bool { return containsString(list(c, t), l(c, t)) }, true
	}
	if m, ok := mapFields[obj][name]; ok {
		return func(c *immy.Computer, t *immy.Tenant) bool { _, ok := m(c, t)[l(c, t)]; return ok }, true
	}
	return nil, false
}

// exprCall compiles has_tag(s) and installed(glob).
func exprCall(n *ast.CallNode) (boolFn, bool) {
	id, ok := n.Callee.(*ast.IdentifierNode)
	if !ok || len(n.Arguments) != 1 {
		return nil, false
	}
	if k, ok := exprConst(n.Arguments[0]); ok {
		switch id.Value {
		case "has_tag":
			return func(c *immy.Computer, t *immy.Tenant) bool { return hasTag(c, t, k) }, true
		case "installed":
			inst := installedFn(k)
			return func(c *immy.Computer, _ *immy.Tenant) bool { return inst(c) }, true
		}
		return nil, false
	}
	arg, ok := exprStr(n.Arguments[0])
	if !ok {
		return nil, false
	}
	switch id.Value {
	case "has_tag":
		return func(c *immy.Computer, t *immy.Tenant) bool { return hasTag(c, t, arg(c, t)) }, true
	case "installed":
		return func(c *immy.Computer, t *immy.Tenant) bool { return installed(c, arg(c, t)) }, true
	}
	return nil, false
}

func exprStr(n ast.Node) (strFn, bool) {
	switch n := n.(type) {
	case *ast.StringNode:
		v := n.Value
		return func(*immy.Computer, *immy.Tenant) string { return v }, true
	case *ast.MemberNode:
		if obj, name, ok := exprField(n); ok {
			f, ok := stringFields[obj][name]
			return f, ok
		}
		if f, ok := exprListIndex(n); ok {
			return f, true
		}
		if key, ok := exprAttribute(n); ok {
			return func(c *immy.Computer, _ *immy.Tenant) string { return c.Attributes[key] }, true
		}
		if n.Optional || n.Method {
			return nil, false
		}
		obj, name, ok := exprField(n.Node)
		if !ok {
			return nil, false
		}
		m, ok := mapFields[obj][name]
		if !ok {
			return nil, false
		}
		key, ok := exprStr(n.Property)
		if !ok {
			return nil, false
		}
		return func(c *immy.Computer, t *immy.Tenant) string { return m(c, t)[key(c, t)] }, true
	case *ast.BuiltinNode:
		var fn func(string) string
		switch {
		case n.Name == "lower" && len(n.Arguments) == 1:
			fn = strings.ToLower
		case n.Name == "upper" && len(n.Arguments) == 1:
			fn = strings.ToUpper
		case n.Name == "trim" && len(n.Arguments) == 1:
			fn = strings.TrimSpace
		default:
			return nil, false
		}
		arg, ok := exprStr(n.Arguments[0])
		if !ok {
			return nil, false
		}
		return func(c *immy.Computer, t *immy.Tenant) string { return fn(arg(c, t)) }, true
	case *ast.BinaryNode:
		if n.Operator != "+" {
			return nil, false
		}
		l, ok1 := exprStr(n.Left)
		r, ok2 := exprStr(n.Right)
		if !ok1 || !ok2 {
			return nil, false
		}
		return func(c *immy.Computer, t *immy.Tenant) string { return l(c, t) + r(c, t) }, true
	case *ast.ConditionalNode:
		cond, ok1 := exprBool(n.Cond)
		a, ok2 := exprStr(n.Exp1)
		b, ok3 := exprStr(n.Exp2)
		if !ok1 || !ok2 || !ok3 {
			return nil, false
		}
		return func(c *immy.Computer, t *immy.Tenant) string {
			if cond(c, t) {
				return a(c, t)
			}
			return b(c, t)
		}, true
	}
	return nil, false
}

// exprConst returns the value of a string literal.
func exprConst(n ast.Node) (string, bool) {
	s, ok := n.(*ast.StringNode)
	if !ok {
		return "", false
	}
	return s.Value, true
}

// exprField recognises computer.NAME and tenant.NAME (or ["NAME"]).
func exprField(n ast.Node) (obj, name string, ok bool) {
	m, ok := n.(*ast.MemberNode)
	if !ok || m.Optional || m.Method {
		return "", "", false
	}
	id, ok := m.Node.(*ast.IdentifierNode)
	if !ok || (id.Value != objComputer && id.Value != objTenant) {
		return "", "", false
	}
	p, ok := m.Property.(*ast.StringNode)
	if !ok || !isField(id.Value, p.Value) {
		return "", "", false
	}
	return id.Value, p.Value, true
}

// exprAttribute recognises computer.attributes["KEY"] (or .KEY).
func exprAttribute(n ast.Node) (string, bool) {
	m, ok := n.(*ast.MemberNode)
	if !ok || m.Optional || m.Method {
		return "", false
	}
	obj, name, ok := exprField(m.Node)
	if !ok || obj != objComputer || name != "attributes" {
		return "", false
	}
	return exprConst(m.Property)
}
