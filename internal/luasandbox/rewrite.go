package luasandbox

import "github.com/yuin/gopher-lua/ast"

// maxConcatArgs bounds the operands of one call of the concatenation
// builtin; longer chains nest (registers are few).
const maxConcatArgs = 100

// rewriteConcat replaces, in place, every concatenation a .. b .. c of
// chunk with a call of the sandbox's concatenation builtin (concatName) with
// the operands as arguments: gopher-lua's own operator builds its result
// without asking anyone, so that "s = s .. s" doubles a string thirty times
// between two checks of the budget. The builtin counts the result against
// the memory budget before building it.
func rewriteConcat(chunk []ast.Stmt) {
	for _, s := range chunk {
		rewriteStmt(s)
	}
}

func rewriteStmts(stmts []ast.Stmt) {
	for _, s := range stmts {
		rewriteStmt(s)
	}
}

func rewriteExprs(es []ast.Expr) {
	for i, e := range es {
		es[i] = rewriteExpr(e)
	}
}

func rewriteStmt(s ast.Stmt) {
	switch s := s.(type) {
	case *ast.AssignStmt:
		rewriteExprs(s.Lhs)
		rewriteExprs(s.Rhs)
	case *ast.LocalAssignStmt:
		rewriteExprs(s.Exprs)
	case *ast.FuncCallStmt:
		s.Expr = rewriteExpr(s.Expr)
	case *ast.DoBlockStmt:
		rewriteStmts(s.Stmts)
	case *ast.WhileStmt:
		s.Condition = rewriteExpr(s.Condition)
		rewriteStmts(s.Stmts)
	case *ast.RepeatStmt:
		s.Condition = rewriteExpr(s.Condition)
		rewriteStmts(s.Stmts)
	case *ast.IfStmt:
		s.Condition = rewriteExpr(s.Condition)
		rewriteStmts(s.Then)
		rewriteStmts(s.Else)
	case *ast.NumberForStmt:
		s.Init = rewriteExpr(s.Init)
		s.Limit = rewriteExpr(s.Limit)
		s.Step = rewriteExpr(s.Step)
		rewriteStmts(s.Stmts)
	case *ast.GenericForStmt:
		rewriteExprs(s.Exprs)
		rewriteStmts(s.Stmts)
	case *ast.FuncDefStmt:
		if s.Name != nil {
			s.Name.Func = rewriteExpr(s.Name.Func)
			s.Name.Receiver = rewriteExpr(s.Name.Receiver)
		}
		if s.Func != nil {
			rewriteStmts(s.Func.Stmts)
		}
	case *ast.ReturnStmt:
		rewriteExprs(s.Exprs)
	}
}

func rewriteExpr(e ast.Expr) ast.Expr {
	switch e := e.(type) {
	case nil:
		return nil
	case *ast.StringConcatOpExpr:
		var ops []ast.Expr
		concatOperands(e, &ops)
		for i, op := range ops {
			op = rewriteExpr(op)
			// A call or ... gives one value as an operand, not all of its
			// values as the last argument.
			switch x := op.(type) {
			case *ast.FuncCallExpr:
				x.AdjustRet = true
			case *ast.Comma3Expr:
				x.AdjustRet = true
			}
			ops[i] = op
		}
		return concatCall(e, ops)
	case *ast.AttrGetExpr:
		e.Object = rewriteExpr(e.Object)
		e.Key = rewriteExpr(e.Key)
	case *ast.TableExpr:
		for _, f := range e.Fields {
			f.Key = rewriteExpr(f.Key)
			f.Value = rewriteExpr(f.Value)
		}
	case *ast.FuncCallExpr:
		e.Func = rewriteExpr(e.Func)
		e.Receiver = rewriteExpr(e.Receiver)
		rewriteExprs(e.Args)
	case *ast.LogicalOpExpr:
		e.Lhs = rewriteExpr(e.Lhs)
		e.Rhs = rewriteExpr(e.Rhs)
	case *ast.RelationalOpExpr:
		e.Lhs = rewriteExpr(e.Lhs)
		e.Rhs = rewriteExpr(e.Rhs)
	case *ast.ArithmeticOpExpr:
		e.Lhs = rewriteExpr(e.Lhs)
		e.Rhs = rewriteExpr(e.Rhs)
	case *ast.UnaryMinusOpExpr:
		e.Expr = rewriteExpr(e.Expr)
	case *ast.UnaryNotOpExpr:
		e.Expr = rewriteExpr(e.Expr)
	case *ast.UnaryLenOpExpr:
		e.Expr = rewriteExpr(e.Expr)
	case *ast.FunctionExpr:
		rewriteStmts(e.Stmts)
	}
	return e
}

func concatOperands(e ast.Expr, ops *[]ast.Expr) {
	if c, ok := e.(*ast.StringConcatOpExpr); ok {
		concatOperands(c.Lhs, ops)
		concatOperands(c.Rhs, ops)
		return
	}
	*ops = append(*ops, e)
}

// concatCall is the call of the concatenation builtin on ops, at e's lines.
func concatCall(e ast.Expr, ops []ast.Expr) ast.Expr {
	if len(ops) > maxConcatArgs {
		rest := concatCall(e, ops[maxConcatArgs-1:])
		ops = append(ops[:maxConcatArgs-1:maxConcatArgs-1], rest)
	}
	fn := &ast.IdentExpr{Value: concatName}
	fn.SetLine(e.Line())
	fn.SetLastLine(e.LastLine())
	call := &ast.FuncCallExpr{Func: fn, Args: ops, AdjustRet: true}
	call.SetLine(e.Line())
	call.SetLastLine(e.LastLine())
	return call
}
