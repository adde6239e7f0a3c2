package targets

import (
	"github.com/expr-lang/expr/ast"
)

// exprDisabled are expr's builtins a filter may not call: each builds a
// string larger than its input (repeat, replace, join), so that a few nested
// calls reach gigabytes, and expr's VM has no deadline to stop them. map and
// reduce, which expr parses as predicates, are refused by exprBounds.
var exprDisabled = []string{"now", "repeat", "replace", "join"}

// exprBounds finds, in a type-checked expr tree, what would make one
// evaluation unbounded in time or memory, expr's VM having no deadline:
//   - let: a variable declared from another doubles a string per line;
//   - a predicate inside a predicate (any(list, {all(list, {...})})): the
//     work grows as the product of the lists' lengths, which the computer's
//     inventory sets;
//   - a range a..b: a list of any length;
//   - map and reduce: a predicate that uses its element twice doubles a
//     string at each element (reduce(l, #acc + #acc, "x")) or at each map of
//     a chain (map(map(l, # + #), # + #)). A filter decides with any, all,
//     none, one, filter, count and find, whose results are no larger than
//     their input.
//
// It returns the first one's position (a rune offset in the source) and
// what to say, or ok.
func exprBounds(root ast.Node) (at int, msg string, ok bool) {
	v := &boundsVisitor{}
	ast.Walk(&root, v)
	if v.msg != "" {
		return v.at, v.msg, false
	}
	return 0, "", true
}

type boundsVisitor struct {
	at  int
	msg string
}

func (v *boundsVisitor) found(n ast.Node, msg string) {
	if v.msg == "" || n.Location().From < v.at {
		v.at, v.msg = n.Location().From, msg
	}
}

func (v *boundsVisitor) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.VariableDeclaratorNode:
		v.found(n, "let is not available in filters")
	case *ast.BinaryNode:
		if n.Operator == ".." {
			v.found(n, "ranges (a..b) are not available in filters")
		}
	case *ast.BuiltinNode:
		if n.Name == "map" || n.Name == "reduce" {
			v.found(n, n.Name+" is not available in filters (use any, all, none, one, filter, count or find)")
		}
	case *ast.PredicateNode:
		inner := &innerPredicate{}
		body := n.Node
		ast.Walk(&body, inner)
		if inner.node != nil {
			v.found(inner.node, "a predicate inside a predicate is not available in filters (the work would grow as the product of the lists)")
		}
	}
}

type innerPredicate struct{ node ast.Node }

func (v *innerPredicate) Visit(node *ast.Node) {
	if p, ok := (*node).(*ast.PredicateNode); ok && v.node == nil {
		v.node = p
	}
}
