package targets

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/yuin/gopher-lua/ast"
)

// checkLua checks a parsed Lua filter before it runs: the chunk must return a
// value, every global it reads must be one of the sandbox's or assigned by the
// chunk itself, and a constant field of computer or tenant must exist. It is
// what "type-checked when saved" means for Lua: the mistakes it can see
// without running the filter.
func checkLua(src string, chunk []ast.Stmt) *CompileError {
	c := &luaChecker{assigned: map[string]bool{}}
	c.block(chunk)
	if !c.returns {
		line := 1
		if n := len(chunk); n > 0 {
			line = chunk[n-1].LastLine()
		}
		return luaNameError(src, line, "", "a Lua filter must return a boolean (add a return statement)")
	}
	for _, r := range c.reads {
		if r.field != "" {
			if !isField(r.name, r.field) {
				return luaNameError(src, r.line, r.field, fmt.Sprintf("%s has no field %q", r.name, r.field))
			}
			continue
		}
		if !luaGlobals[r.name] && !c.assigned[r.name] {
			return luaNameError(src, r.line, r.name, fmt.Sprintf("unknown name %q (the sandbox has no %s)", r.name, r.name))
		}
	}
	return nil
}

// luaNameError positions an error at the first whole-word occurrence of word
// on the line, or at its first column.
func luaNameError(src string, line int, word, msg string) *CompileError {
	col := 1
	lines := strings.Split(src, "\n")
	if word != "" && line >= 1 && line <= len(lines) {
		text := lines[line-1]
		for from := 0; from < len(text); {
			i := strings.Index(text[from:], word)
			if i < 0 {
				break
			}
			i += from
			end := i + len(word)
			if (i == 0 || !isLuaIdent(text[i-1])) && (end == len(text) || !isLuaIdent(text[end])) {
				col = utf8.RuneCountInString(text[:i]) + 1
				break
			}
			from = end
		}
	}
	return newCompileError(LanguageLua, src, line, col, msg)
}

func isLuaIdent(b byte) bool {
	return b == '_' || 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9'
}

type luaRead struct {
	name  string // a global read, or the object of a field read
	field string // the constant field read from computer or tenant, or ""
	line  int
}

type luaChecker struct {
	scopes   []map[string]bool
	assigned map[string]bool // globals the chunk assigns
	reads    []luaRead
	depth    int  // nesting of function bodies; 0 is the chunk
	returns  bool // the chunk itself returns a value somewhere
}

func (c *luaChecker) push()          { c.scopes = append(c.scopes, map[string]bool{}) }
func (c *luaChecker) pop()           { c.scopes = c.scopes[:len(c.scopes)-1] }
func (c *luaChecker) local(n string) { c.scopes[len(c.scopes)-1][n] = true }

func (c *luaChecker) isLocal(n string) bool {
	for i := len(c.scopes) - 1; i >= 0; i-- {
		if c.scopes[i][n] {
			return true
		}
	}
	return false
}

func (c *luaChecker) block(stmts []ast.Stmt) {
	c.push()
	for _, s := range stmts {
		c.stmt(s)
	}
	c.pop()
}

func (c *luaChecker) stmt(s ast.Stmt) {
	switch s := s.(type) {
	case *ast.AssignStmt:
		c.exprs(s.Rhs)
		for _, l := range s.Lhs {
			if id, ok := l.(*ast.IdentExpr); ok {
				if !c.isLocal(id.Value) {
					c.assigned[id.Value] = true
				}
				continue
			}
			c.expr(l)
		}
	case *ast.LocalAssignStmt:
		if len(s.Names) == 1 && len(s.Exprs) == 1 {
			if _, isFunc := s.Exprs[0].(*ast.FunctionExpr); isFunc {
				// local function f: f is visible in its own body.
				c.local(s.Names[0])
			}
		}
		c.exprs(s.Exprs)
		for _, n := range s.Names {
			c.local(n)
		}
	case *ast.FuncCallStmt:
		c.expr(s.Expr)
	case *ast.DoBlockStmt:
		c.block(s.Stmts)
	case *ast.WhileStmt:
		c.expr(s.Condition)
		c.block(s.Stmts)
	case *ast.RepeatStmt:
		// The condition sees the body's locals.
		c.push()
		for _, st := range s.Stmts {
			c.stmt(st)
		}
		c.expr(s.Condition)
		c.pop()
	case *ast.IfStmt:
		c.expr(s.Condition)
		c.block(s.Then)
		c.block(s.Else)
	case *ast.NumberForStmt:
		c.expr(s.Init)
		c.expr(s.Limit)
		if s.Step != nil {
			c.expr(s.Step)
		}
		c.push()
		c.local(s.Name)
		c.block(s.Stmts)
		c.pop()
	case *ast.GenericForStmt:
		c.exprs(s.Exprs)
		c.push()
		for _, n := range s.Names {
			c.local(n)
		}
		c.block(s.Stmts)
		c.pop()
	case *ast.FuncDefStmt:
		if s.Name != nil {
			if id, ok := s.Name.Func.(*ast.IdentExpr); ok {
				if !c.isLocal(id.Value) {
					c.assigned[id.Value] = true
				}
			} else if s.Name.Func != nil {
				c.expr(s.Name.Func)
			}
			if s.Name.Receiver != nil {
				c.expr(s.Name.Receiver)
			}
		}
		c.function(s.Func, s.Name != nil && s.Name.Method != "")
	case *ast.ReturnStmt:
		if c.depth == 0 && len(s.Exprs) > 0 {
			c.returns = true
		}
		c.exprs(s.Exprs)
	}
}

func (c *luaChecker) function(f *ast.FunctionExpr, method bool) {
	if f == nil {
		return
	}
	c.depth++
	c.push()
	if method {
		c.local("self")
	}
	if f.ParList != nil {
		for _, n := range f.ParList.Names {
			c.local(n)
		}
	}
	c.block(f.Stmts)
	c.pop()
	c.depth--
}

func (c *luaChecker) exprs(es []ast.Expr) {
	for _, e := range es {
		c.expr(e)
	}
}

func (c *luaChecker) expr(e ast.Expr) {
	switch e := e.(type) {
	case *ast.IdentExpr:
		if !c.isLocal(e.Value) {
			c.reads = append(c.reads, luaRead{name: e.Value, line: e.Line()})
		}
	case *ast.AttrGetExpr:
		if id, ok := e.Object.(*ast.IdentExpr); ok && (id.Value == objComputer || id.Value == objTenant) &&
			!c.isLocal(id.Value) && !c.assigned[id.Value] {
			if k, ok := e.Key.(*ast.StringExpr); ok {
				c.reads = append(c.reads, luaRead{name: id.Value, field: k.Value, line: e.Line()})
			}
		}
		c.expr(e.Object)
		c.expr(e.Key)
	case *ast.TableExpr:
		for _, f := range e.Fields {
			if f.Key != nil {
				c.expr(f.Key)
			}
			c.expr(f.Value)
		}
	case *ast.FuncCallExpr:
		if e.Func != nil {
			c.expr(e.Func)
		}
		if e.Receiver != nil {
			c.expr(e.Receiver)
		}
		c.exprs(e.Args)
	case *ast.LogicalOpExpr:
		c.expr(e.Lhs)
		c.expr(e.Rhs)
	case *ast.RelationalOpExpr:
		c.expr(e.Lhs)
		c.expr(e.Rhs)
	case *ast.StringConcatOpExpr:
		c.expr(e.Lhs)
		c.expr(e.Rhs)
	case *ast.ArithmeticOpExpr:
		c.expr(e.Lhs)
		c.expr(e.Rhs)
	case *ast.UnaryMinusOpExpr:
		c.expr(e.Expr)
	case *ast.UnaryNotOpExpr:
		c.expr(e.Expr)
	case *ast.UnaryLenOpExpr:
		c.expr(e.Expr)
	case *ast.FunctionExpr:
		c.function(e, false)
	}
}
