package targets

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/immyoss/engine/immy"
)

// Language is the language of a filter.
type Language uint8

// The languages of filters.
const (
	LanguageExpr Language = iota + 1 // an expr boolean expression (github.com/expr-lang/expr)
	LanguageLua                      // a Lua chunk returning a boolean, run in a sandbox
)

// String returns "expr" or "lua".
func (l Language) String() string {
	switch l {
	case LanguageExpr:
		return "expr"
	case LanguageLua:
		return "lua"
	}
	return fmt.Sprintf("language(%d)", uint8(l))
}

// CompileError is a filter that does not compile, is not boolean, or uses a
// name its environment does not have. Line and Column are 1-based positions in
// the filter's source (columns count characters); Snippet is the source line
// around that position, cut to a readable length.
type CompileError struct {
	Lang    Language
	Line    int
	Column  int
	Snippet string
	Msg     string
}

// Error renders "targets: expr filter: line 1, column 10: message, near "snippet"".
func (e *CompileError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "targets: %s filter: line %d, column %d: %s", e.Lang, e.Line, e.Column, e.Msg)
	if e.Snippet != "" {
		fmt.Fprintf(&b, ", near %q", e.Snippet)
	}
	return b.String()
}

// Unwrap makes errors.Is(err, immy.ErrInvalid) hold.
func (e *CompileError) Unwrap() error { return immy.ErrInvalid }

// position returns the message part after the package prefix: what a
// Problem's Message holds.
func (e *CompileError) problemMessage() string {
	return strings.TrimPrefix(e.Error(), "targets: ")
}

// snippetWidth is how many characters of a source line a CompileError shows at most.
const snippetWidth = 48

// newCompileError builds a CompileError at a 1-based line and column of src,
// clamping the position into the source and cutting the snippet.
func newCompileError(lang Language, src string, line, col int, msg string) *CompileError {
	lines := strings.Split(src, "\n")
	if line < 1 {
		line = 1
	}
	if line > len(lines) {
		line = len(lines)
	}
	text := strings.TrimRight(strings.ReplaceAll(lines[line-1], "\t", " "), "\r")
	n := utf8.RuneCountInString(text)
	if col < 1 {
		col = 1
	}
	if col > n+1 {
		col = n + 1
	}
	return &CompileError{Lang: lang, Line: line, Column: col, Snippet: cut(text, col), Msg: msg}
}

// cut returns at most snippetWidth characters of line around the 1-based column
// col, marking cut ends with "...".
func cut(line string, col int) string {
	r := []rune(strings.TrimSpace(line))
	// Keep the column's place after trimming leading blanks.
	lead := utf8.RuneCountInString(line) - utf8.RuneCountInString(strings.TrimLeft(line, " "))
	col -= lead
	if len(r) <= snippetWidth {
		return string(r)
	}
	start := max(col-1-snippetWidth/3, 0)
	end := min(start+snippetWidth, len(r))
	start = max(end-snippetWidth, 0)
	s := string(r[start:end])
	if start > 0 {
		s = "..." + s
	}
	if end < len(r) {
		s += "..."
	}
	return s
}

// Env is what a filter sees: one computer and its tenant. A nil Tenant reads
// as a tenant with no id, name or tags.
type Env struct {
	Computer *immy.Computer
	Tenant   *immy.Tenant
}

// Filter is a compiled filter: an expr expression or a Lua chunk. It is
// immutable and safe for concurrent use; the expr VMs and Lua states it needs
// at run time are pooled inside.
//
// Filters of the common shapes (see the package documentation: in Lua,
// locals, loops and string functions too) are compiled into Go closures,
// which leave to the VM only the runs they do not model (an error to
// report, a budget to spend); the others run in expr's VM or in a sandboxed
// Lua state. A filter that costs more than reading its fields remembers its
// results by their values.
type Filter struct {
	lang Language
	src  string
	fast boolFn // nil when the filter needs its VM
	// decide is the filter compiled to closures that leave the rare input
	// they do not model to the VM (decided false): a Lua filter of more
	// than one return, an expr filter that may fail (int of a string).
	decide decideFn
	// memo remembers the results of a filter that costs more than reading
	// its fields, by their values (nil: none; see filtermemo.go).
	memo *filterMemo
	// reads is what the filter reads, nil when that cannot be known: the
	// matcher evaluates it once per group of computers that agree on it
	// (group.go).
	reads *fieldSet
	// guards are parts of the filter that decide it false where they are
	// false, over fields that can be known: evaluated by groups when the
	// filter's own reads cannot be (group.go).
	guards []filterGuard
	// chunk is a Lua filter's compiled closures (nil: none), which the
	// matcher evaluates by groups of computers that agree on the inputs a
	// run reads when its reads as a whole are too diverse (group.go).
	chunk *luaChunk

	expr *exprProgram
	lua  *luaProgram
}

// boolFn is a filter compiled to a Go closure.
type boolFn func(c *immy.Computer, t *immy.Tenant) bool

// decideFn is a filter compiled to a Go closure that may leave an input to
// the VM: the result, and whether it decided it.
type decideFn func(c *immy.Computer, t *immy.Tenant) (result, decided bool)

// Compile compiles and checks a filter. An expr filter is type-checked against
// the filter environment (computer, tenant, has_tag, installed; see the package
// documentation) and must be boolean. A Lua filter must parse, must return a
// value, and may only read the globals of its sandbox. A filter that fails is a
// *CompileError, with the position in src.
func Compile(lang Language, src string) (*Filter, error) {
	return compileFilter(lang, src, nil)
}

// CompileTimeout bounds the compilation of one filter. A filter within the
// source bounds (see MaxFilterSource) compiles in a few milliseconds; the
// deadline is the last line of defence should a parser still take long.
// It is far above that on purpose: whether a fleet is valid must not depend
// on how busy the machine is (2 s refused ordinary filters of a 100k fleet
// imported while the race detector ran beside it), and what bounds the
// work is the source's size, depth and operator counts.
const CompileTimeout = 30 * time.Second

func compileFilter(lang Language, src string, pool *statePool) (*Filter, error) {
	if lang != LanguageExpr && lang != LanguageLua {
		return nil, fmt.Errorf("targets: unknown filter language %d: %w", uint8(lang), immy.ErrInvalid)
	}
	if ce := checkSource(lang, src); ce != nil {
		return nil, ce
	}
	type result struct {
		f   *Filter
		err error
	}
	done := make(chan result, 1)
	go func() {
		// The compilers recover their own panics: this goroutine cannot
		// crash the process on a filter's account.
		var r result
		if lang == LanguageExpr {
			r.f, r.err = compileExpr(src)
		} else {
			r.f, r.err = compileLua(src, pool)
		}
		done <- r
	}()
	timer := time.NewTimer(CompileTimeout)
	defer timer.Stop()
	select {
	case r := <-done:
		return r.f, r.err
	case <-timer.C:
		// The goroutine ends on its own: the source is bounded.
		return nil, newCompileError(lang, src, 1, 1, fmt.Sprintf("compiling took longer than %s", CompileTimeout))
	}
}

// Language returns the filter's language.
func (f *Filter) Language() Language { return f.lang }

// Source returns the filter's source text.
func (f *Filter) Source() string { return f.src }

// Native reports whether the filter was compiled into Go closures, so that it
// runs without a VM. (A Lua filter of locals, loops and string functions
// still runs in its VM for the rare input its closures do not model: one
// its VM reports an error for, or one that spends more than a compiled run
// may.)
func (f *Filter) Native() bool { return f.fast != nil || f.decide != nil }

var emptyTenant immy.Tenant

// Eval runs the filter on env. Lua filters run under ctx's deadline (or
// DefaultLuaTimeout when ctx has none); an expr filter never blocks. A filter
// that fails at run time, or a Lua filter that returns something other than a
// boolean, is an error.
func (f *Filter) Eval(ctx context.Context, env Env) (bool, error) {
	// The common case first, small enough to be inlined into the caller.
	if f.fast != nil && env.Computer != nil && env.Tenant != nil {
		return f.fast(env.Computer, env.Tenant), nil
	}
	return f.eval(ctx, env)
}

func (f *Filter) eval(ctx context.Context, env Env) (bool, error) {
	if env.Computer == nil {
		return false, fmt.Errorf("targets: %s filter: no computer to filter: %w", f.lang, immy.ErrInvalid)
	}
	t := env.Tenant
	if t == nil {
		t = &emptyTenant
	}
	if f.fast != nil {
		return f.fast(env.Computer, t), nil
	}
	if f.memo != nil && !f.memo.off.Load() {
		return f.memo.eval(ctx, env.Computer, t, f.evalSlow)
	}
	return f.evalSlow(ctx, env.Computer, t)
}

// evalSlow runs a filter that has no total closure: its closures that may
// give up, then its VM.
func (f *Filter) evalSlow(ctx context.Context, c *immy.Computer, t *immy.Tenant) (bool, error) {
	if f.decide != nil && (ctx.Done() == nil || ctx.Err() == nil) {
		if ok, decided := f.decide(c, t); decided {
			return ok, nil
		}
	}
	return f.evalVM(ctx, c, t)
}

// evalNative runs the filter's closures alone: the result, and whether
// they decided it (false: the filter has none, or they leave this input to
// the VM).
func (f *Filter) evalNative(c *immy.Computer, t *immy.Tenant) (result, decided bool) {
	switch {
	case f.fast != nil:
		return f.fast(c, t), true
	case f.decide != nil:
		return f.decide(c, t)
	}
	return false, false
}

// evalVM runs the filter in its VM, even when it has a native form.
func (f *Filter) evalVM(ctx context.Context, c *immy.Computer, t *immy.Tenant) (bool, error) {
	if f.expr != nil {
		return f.expr.eval(c, t)
	}
	return f.lua.eval(ctx, c, t)
}

// hasTag reports whether the computer or its tenant carries the tag.
func hasTag(c *immy.Computer, t *immy.Tenant, tag string) bool {
	for _, s := range c.Tags {
		if s == tag {
			return true
		}
	}
	for _, s := range t.Tags {
		if s == tag {
			return true
		}
	}
	return false
}

// installed reports whether a detected software's name matches glob.
func installed(c *immy.Computer, glob string) bool {
	for i := range c.Software {
		if MatchGlob(glob, c.Software[i].Name) {
			return true
		}
	}
	return false
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
