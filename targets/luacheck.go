package targets

import (
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/ast"

	"github.com/immyoss/engine/internal/luasandbox"
)

// checkLua checks a parsed Lua filter before it runs: the chunk must return a
// value, every global it reads must be one of the sandbox's or assigned by the
// chunk itself, and a constant field of computer or tenant must exist. A
// return of the chunk must not give a literal that is not a boolean (return
// "x", return 1, return nil, a bare return), and a call must not call what is
// sure not to be a function of the sandbox: string.foo, math.random (filters
// are deterministic), ("x"):foo(), computer.name(), computer(). It is
// what "type-checked when saved" means for Lua: the mistakes it can see
// without running the filter.
func checkLua(src string, chunk []ast.Stmt) *CompileError {
	c := &luaChecker{assigned: map[string]bool{}}
	c.block(chunk)
	if c.bad != nil {
		return luaNameError(src, c.bad.line, c.bad.word, c.bad.msg)
	}
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

// luaProblem is the first mistake the checker found while walking: a
// literal that is not a boolean returned, or a call of what is not a
// function of the sandbox.
type luaProblem struct {
	line int
	word string // the word to point at on the line
	msg  string
}

// luaLibraryNames are the names each library table of a filter's sandbox
// holds (string, table, math), read from a real state once.
var luaLibraryNames = sync.OnceValue(func() map[string]map[string]bool {
	st := luasandbox.NewState(luaConfig)
	defer st.Close()
	out := map[string]map[string]bool{}
	for _, lib := range []string{lua.StringLibName, lua.TabLibName, lua.MathLibName} {
		names := map[string]bool{}
		// The frozen view's metatable's __index is the library itself.
		view, _ := st.L.GetField(st.NewEnv(), lib).(*lua.LTable)
		if view != nil {
			if meta, ok := view.Metatable.(*lua.LTable); ok {
				if t, ok := meta.RawGetString("__index").(*lua.LTable); ok {
					t.ForEach(func(k, _ lua.LValue) {
						if ks, ok := k.(lua.LString); ok {
							names[string(ks)] = true
						}
					})
				}
			}
		}
		out[lib] = names
	}
	return out
})

// nonBoolean returns what a literal expression gives when it is sure not to
// be a boolean ("a string"), or "".
func nonBoolean(e ast.Expr) string {
	switch e.(type) {
	case *ast.StringExpr, *ast.StringConcatOpExpr:
		return "a string"
	case *ast.NumberExpr, *ast.ArithmeticOpExpr, *ast.UnaryMinusOpExpr, *ast.UnaryLenOpExpr:
		return "a number"
	case *ast.NilExpr:
		return "nil"
	case *ast.TableExpr:
		return "a table"
	case *ast.FunctionExpr:
		return "a function"
	}
	return ""
}

func (c *luaChecker) problem(line int, word, msg string) {
	if c.bad == nil {
		c.bad = &luaProblem{line: line, word: word, msg: msg}
	}
}

// isLibrary reports whether e names one of the sandbox's library tables
// (not hidden by a local or an assignment of the chunk's).
func (c *luaChecker) isLibrary(e ast.Expr) (string, bool) {
	id, ok := e.(*ast.IdentExpr)
	if !ok || c.isLocal(id.Value) || c.assigned[id.Value] {
		return "", false
	}
	_, ok = luaLibraryNames()[id.Value]
	return id.Value, ok
}

// stringValued reports whether e is sure to be a string: a literal or a
// string field of computer or tenant.
func (c *luaChecker) stringValued(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.StringExpr, *ast.StringConcatOpExpr:
		return true
	case *ast.AttrGetExpr:
		id, ok := e.Object.(*ast.IdentExpr)
		k, ok2 := e.Key.(*ast.StringExpr)
		if !ok || !ok2 || c.isLocal(id.Value) || c.assigned[id.Value] {
			return false
		}
		_, ok = stringFields[id.Value][k.Value]
		return ok
	}
	return false
}

// call checks what a call calls, where that can be known at compile time.
func (c *luaChecker) call(e *ast.FuncCallExpr) {
	if e.Receiver != nil {
		if c.stringValued(e.Receiver) && !luaLibraryNames()[lua.StringLibName][e.Method] {
			c.problem(e.Line(), e.Method, fmt.Sprintf("unknown function %s (strings have no method %s)", e.Method, e.Method))
		}
		return
	}
	switch f := e.Func.(type) {
	case *ast.IdentExpr:
		if c.isLocal(f.Value) || c.assigned[f.Value] {
			return
		}
		switch f.Value {
		case objComputer, objTenant, lua.StringLibName, lua.TabLibName, lua.MathLibName, "_G", "_VERSION":
			c.problem(e.Line(), f.Value, fmt.Sprintf("%s is not a function", f.Value))
		}
	case *ast.AttrGetExpr:
		k, ok := f.Key.(*ast.StringExpr)
		if !ok {
			return
		}
		if id, ok := f.Object.(*ast.IdentExpr); ok && (id.Value == objComputer || id.Value == objTenant) &&
			!c.isLocal(id.Value) && !c.assigned[id.Value] && isField(id.Value, k.Value) {
			c.problem(e.Line(), k.Value, fmt.Sprintf("%s.%s is a field, not a function", id.Value, k.Value))
		}
	}
}

// libraryField checks a constant field read from a library table.
func (c *luaChecker) libraryField(e *ast.AttrGetExpr) {
	lib, ok := c.isLibrary(e.Object)
	k, ok2 := e.Key.(*ast.StringExpr)
	if ok && ok2 && !luaLibraryNames()[lib][k.Value] {
		c.problem(e.Line(), k.Value, fmt.Sprintf("unknown function %s.%s (the sandbox's %s library has no %s)", lib, k.Value, lib, k.Value))
	}
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
	bad      *luaProblem
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
		if c.depth == 0 {
			if len(s.Exprs) == 0 {
				c.problem(s.Line(), "return", "a Lua filter must return a boolean, this returns nothing")
			} else if what := nonBoolean(s.Exprs[0]); what != "" {
				c.problem(s.Line(), "return", fmt.Sprintf("a Lua filter must return a boolean, this returns %s", what))
			}
		}
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
		c.libraryField(e)
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
		c.call(e)
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
