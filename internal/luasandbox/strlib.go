package luasandbox

import (
	"errors"
	"strings"
	"sync"

	lua "github.com/yuin/gopher-lua"
)

// maxResults bounds the values unpack and string.byte return at once (Lua's
// own bound on the C stack).
const maxResults = 8000

// maxFormatDigits bounds the width and the precision of a string.format
// directive to two digits, as Lua's own string.format does.
const maxFormatDigits = 2

// budgeted replaces the builtins that can amplify a chunk's work or memory
// beyond what its instructions show with versions that count both against
// the run's budgets: string.rep, find, match, gmatch, gsub, format, upper,
// lower and reverse; table.concat; unpack; and the concatenation operator,
// which Compile turns into a call of the hidden concatName.
func (s *State) budgeted(str, tab, lib *lua.LTable, maxRep int64) {
	L := s.L
	set := func(t *lua.LTable, name string, fn lua.LGFunction) { t.RawSetString(name, L.NewFunction(fn)) }
	set(str, "rep", func(L *lua.LState) int {
		v := L.CheckString(1)
		n := L.CheckInt64(2)
		if n <= 0 || v == "" {
			L.Push(lua.LString(""))
			return 1
		}
		if n > maxRep || int64(len(v))*n > maxRep {
			L.RaiseError("string.rep: result longer than %d bytes", maxRep)
		}
		s.charge(L, int64(len(v))*n, true)
		L.Push(lua.LString(strings.Repeat(v, int(n))))
		return 1
	})
	for name, f := range map[string]func(string) string{"upper": strings.ToUpper, "lower": strings.ToLower, "reverse": reverse} {
		set(str, name, func(L *lua.LState) int {
			v := L.CheckString(1)
			s.charge(L, int64(len(v)), true)
			L.Push(lua.LString(f(v)))
			return 1
		})
	}
	set(str, "find", func(L *lua.LState) int { return s.strFind(L, true) })
	set(str, "match", func(L *lua.LState) int { return s.strFind(L, false) })
	set(str, "gmatch", s.strGmatch)
	set(str, "gsub", s.strGsub)
	format := str.RawGetString("format").(*lua.LFunction).GFunction
	set(str, "format", func(L *lua.LState) int {
		f := L.CheckString(1)
		checkFormat(L, f)
		// What the result can hold at most, counted before it is built:
		// the format, every argument's text, and a directive's padding.
		size := int64(len(f))
		for i := 2; i <= L.GetTop(); i++ {
			size += 128
			if v, ok := L.Get(i).(lua.LString); ok {
				size += int64(len(v))
			}
		}
		s.charge(L, size, false)
		n := format(L)
		if v, ok := L.Get(-1).(lua.LString); ok {
			s.charge(L, int64(len(v)), true)
		}
		return n
	})
	byteFn := str.RawGetString("byte").(*lua.LFunction).GFunction
	set(str, "byte", func(L *lua.LState) int {
		v := L.CheckString(1)
		i, j := L.OptInt(2, 1), L.OptInt(3, L.OptInt(2, 1))
		if i < 0 {
			i += len(v) + 1
		}
		if j < 0 {
			j += len(v) + 1
		}
		if j-i >= maxResults {
			L.RaiseError("string.byte: too many results")
		}
		return byteFn(L)
	})
	set(tab, "concat", s.tabConcat)
	set(lib, "unpack", func(L *lua.LState) int {
		t := L.CheckTable(1)
		i := L.OptInt(2, 1)
		j := L.OptInt(3, t.Len())
		if i > j {
			return 0
		}
		if int64(j)-int64(i) >= maxResults {
			L.RaiseError("too many results to unpack")
		}
		for k := i; k <= j; k++ {
			L.Push(t.RawGetInt(k))
		}
		return j - i + 1
	})
	set(lib, concatName, s.concat)
}

func reverse(v string) string {
	b := make([]byte, len(v))
	for i := range len(v) {
		b[len(v)-1-i] = v[i]
	}
	return string(b)
}

// checkFormat refuses a format directive whose width or precision has more
// than two digits, or whose flags repeat: gopher-lua would otherwise pad
// to any width asked.
func checkFormat(L *lua.LState, f string) {
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			continue
		}
		i++
		if i < len(f) && f[i] == '%' {
			continue
		}
		flags := 0
		for i < len(f) && strings.IndexByte("-+ #0", f[i]) >= 0 {
			i++
			flags++
		}
		if flags > 5 {
			L.RaiseError("invalid format (repeated flags)")
		}
		for part := 0; part < 2; part++ {
			digits := 0
			for i < len(f) && '0' <= f[i] && f[i] <= '9' {
				i++
				digits++
			}
			if digits > maxFormatDigits {
				L.RaiseError("invalid format (width or precision too long)")
			}
			if part == 0 && i < len(f) && f[i] == '.' {
				i++
				continue
			}
			break
		}
	}
}

// matcherFor returns a matcher of pat against src that reports its steps
// to the run's budget.
func (s *State) matcherFor(L *lua.LState, src, pat string) *matcher {
	return &matcher{src: src, pat: pat, report: func(n int) { s.steps(L, n) }}
}

// runMatch runs f, turning a malformed pattern into a Lua error.
func runMatch(L *lua.LState, f func()) {
	msg := ""
	func() {
		defer func() {
			if r := recover(); r != nil {
				pe, ok := r.(patternError)
				if !ok {
					panic(r)
				}
				msg = pe.msg
			}
		}()
		f()
	}()
	if msg != "" {
		L.RaiseError("%s", msg)
	}
}

func pushCapture(L *lua.LState, c capture) {
	if c.isPos {
		L.Push(lua.LNumber(c.pos))
	} else {
		L.Push(lua.LString(c.str))
	}
}

// strFind is string.find (find) and string.match (!find).
func (s *State) strFind(L *lua.LState, find bool) int {
	src := L.CheckString(1)
	pat := L.CheckString(2)
	init := L.OptInt(3, 1)
	plain := lua.LVAsBool(L.Get(4))
	var r FindResult
	runMatch(L, func() {
		r = findString(src, pat, init, plain, find, func(n int) { s.steps(L, n) }, nil, 0)
	})
	if r.Start < 0 {
		L.Push(lua.LNil)
		return 1
	}
	n := len(r.Captures)
	if find {
		L.Push(lua.LNumber(r.Start))
		L.Push(lua.LNumber(r.End))
		n += 2
	}
	for _, c := range r.Captures {
		pushCapture(L, c)
	}
	return n
}

// FindResult is what string.find or string.match found: the 1-based first
// and last byte of the match (Start -1 when none), and its captures (for
// string.match, the whole match when the pattern has none; for string.find,
// only the pattern's own).
type FindResult struct {
	Start, End int
	Captures   []Capture
}

// Capture is one capture of a match: a substring, or a position (1-based)
// when the pattern captured one with "()".
type Capture = capture

// Text returns the capture's substring ("" for a position).
func (c Capture) Text() string { return c.str }

// Position returns the capture's position and whether it is one.
func (c Capture) Position() (int, bool) { return c.pos, c.isPos }

// ErrStopped is what Find returns when its steps function stopped it.
var ErrStopped = errors.New("luasandbox: pattern matching stopped")

// Find is the sandbox's string.find (find) or string.match (!find) on Go
// values, with the same results, for an embedder that runs a chunk's common
// forms without a state: init is Lua's third argument (1 when absent), plain
// its fourth. The matcher's steps, counted as a run's budget counts them,
// are added to *spent; past limit, Find stops with ErrStopped. A malformed
// pattern is an error with Lua's message.
func Find(src, pat string, init int, plain, find bool, spent *int, limit int) (r FindResult, err error) {
	defer func() {
		if x := recover(); x != nil {
			switch x := x.(type) {
			case patternError:
				r, err = FindResult{Start: -1}, errors.New(x.msg)
			case findStop:
				r, err = FindResult{Start: -1}, ErrStopped
			default:
				panic(x)
			}
		}
	}()
	return findString(src, pat, init, plain, find, nil, spent, limit), nil
}

// findStop unwinds Find's matcher when its steps function says stop.
type findStop struct{}

// findString is string.find and string.match on Go values, reporting its
// steps to report (which may panic to stop it) or, without one, adding them
// to *spent up to limit (past it, a findStop panic); a malformed pattern
// panics with a patternError.
func findString(src, pat string, init int, plain, find bool, report func(n int), spent *int, limit int) FindResult {
	if init < 0 {
		init += len(src) + 1
	}
	init--
	if init < 0 {
		init = 0
	} else if init > len(src) {
		init = len(src)
	}
	if find && (plain || !strings.ContainsAny(pat, patternSpecials)) {
		if report != nil {
			report(len(src) / 64)
		} else if spent != nil {
			(&matcher{spent: spent, limit: limit}).spend(len(src) / 64)
		}
		i := strings.Index(src[init:], pat)
		if i < 0 {
			return FindResult{Start: -1}
		}
		return FindResult{Start: init + i + 1, End: init + i + len(pat)}
	}
	m := matchers.Get().(*matcher)
	*m = matcher{src: src, pat: pat, report: report, spent: spent, limit: limit}
	defer matchers.Put(m) // also when a malformed pattern or a stop unwinds it
	p := 0
	anchor := pat != "" && pat[0] == '^'
	if anchor {
		p = 1
	}
	for s1 := init; s1 <= len(src); s1++ {
		m.reset()
		if e := m.match(s1, p); e != -1 {
			r := FindResult{Start: s1 + 1, End: e}
			if !find || m.level > 0 {
				r.Captures = m.captures(s1, e)
			}
			return r
		}
		if anchor {
			break
		}
	}
	return FindResult{Start: -1}
}

// matchers keeps the matchers of findString: one is some 600 bytes, too
// many to allocate for each string.find of a filter run on every computer.
var matchers = sync.Pool{New: func() any { return new(matcher) }}

// strGmatch is string.gmatch: an iterator that finds one match per call.
func (s *State) strGmatch(L *lua.LState) int {
	src := L.CheckString(1)
	pat := L.CheckString(2)
	pos := 0
	L.Push(L.NewFunction(func(L *lua.LState) int {
		m := s.matcherFor(L, src, pat)
		var caps []capture
		runMatch(L, func() {
			for s1 := pos; s1 <= len(src); s1++ {
				m.reset()
				if e := m.match(s1, 0); e != -1 {
					pos = e
					if e == s1 {
						pos++ // an empty match: go on at least one character
					}
					caps = m.captures(s1, e)
					return
				}
			}
			pos = len(src) + 1
		})
		for _, c := range caps {
			pushCapture(L, c)
		}
		return len(caps)
	}))
	return 1
}

// strGsub is string.gsub, which counts its result against the memory
// budget as it grows.
func (s *State) strGsub(L *lua.LState) int {
	src := L.CheckString(1)
	pat := L.CheckString(2)
	repl := L.Get(3)
	switch repl.Type() {
	case lua.LTNumber, lua.LTString, lua.LTTable, lua.LTFunction:
	default:
		L.ArgError(3, "string/function/table expected")
	}
	maxN := L.OptInt(4, len(src)+1)
	m := s.matcherFor(L, src, pat)
	p := 0
	anchor := pat != "" && pat[0] == '^'
	if anchor {
		p = 1
	}
	var b strings.Builder
	grow := func(add int) {
		s.charge(L, int64(b.Len()+add), false)
	}
	n := 0
	var failed string
	pos := 0
	for n < maxN {
		e := -1
		var caps []capture
		runMatch(L, func() {
			m.reset()
			e = m.match(pos, p)
			if e != -1 {
				caps = m.captures(pos, e)
			}
		})
		if e != -1 {
			n++
			whole := src[pos:e]
			var out string
			switch r := repl.(type) {
			case lua.LString, lua.LNumber:
				out = s.expand(L, m, lua.LVAsString(r), pos, e)
			case *lua.LTable:
				out = replValue(L, L.GetTable(r, capValue(caps[0])), whole)
			case *lua.LFunction:
				L.Push(r)
				for _, c := range caps {
					pushCapture(L, c)
				}
				L.Call(len(caps), 1)
				v := L.Get(-1)
				L.Pop(1)
				out = replValue(L, v, whole)
			}
			grow(len(out))
			b.WriteString(out)
		}
		switch {
		case e != -1 && e > pos:
			pos = e
		case pos < len(src):
			grow(1)
			b.WriteByte(src[pos])
			pos++
		default:
			failed = "end"
		}
		if failed != "" || anchor {
			break
		}
		s.steps(L, 1)
	}
	grow(len(src) - pos)
	b.WriteString(src[pos:])
	s.charge(L, int64(b.Len()), true)
	L.Push(lua.LString(b.String()))
	L.Push(lua.LNumber(n))
	return 2
}

func capValue(c capture) lua.LValue {
	if c.isPos {
		return lua.LNumber(c.pos)
	}
	return lua.LString(c.str)
}

// replValue is what a table's or a function's value puts in place of a
// match: the match itself for false or nil.
func replValue(L *lua.LState, v lua.LValue, whole string) string {
	switch x := v.(type) {
	case lua.LString:
		return string(x)
	case lua.LNumber:
		return x.String()
	case *lua.LNilType:
		return whole
	case lua.LBool:
		if !bool(x) {
			return whole
		}
	}
	L.RaiseError("invalid replacement value (a %s)", v.Type().String())
	return ""
}

// expand is a replacement string with %0-%9 and %% replaced.
func (s *State) expand(L *lua.LState, m *matcher, repl string, start, end int) string {
	if !strings.Contains(repl, "%") {
		return repl
	}
	var b strings.Builder
	for i := 0; i < len(repl); i++ {
		c := repl[i]
		if c != '%' || i+1 >= len(repl) {
			b.WriteByte(c)
			continue
		}
		i++
		d := repl[i]
		switch {
		case d == '0':
			b.WriteString(m.src[start:end])
		case '1' <= d && d <= '9':
			var cp capture
			runMatch(L, func() { cp = m.captureAt(int(d-'1'), start, end) })
			if cp.isPos {
				b.WriteString(lua.LNumber(cp.pos).String())
			} else {
				b.WriteString(cp.str)
			}
		default:
			b.WriteByte(d)
		}
		if b.Len() > 1<<16 {
			s.charge(L, int64(b.Len()), false)
		}
	}
	return b.String()
}

// tabConcat is table.concat, which sizes its result and counts it against
// the memory budget before it builds it.
func (s *State) tabConcat(L *lua.LState) int {
	t := L.CheckTable(1)
	sep := L.OptString(2, "")
	i := L.OptInt(3, 1)
	j := L.OptInt(4, t.Len())
	if i > j {
		L.Push(lua.LString(""))
		return 1
	}
	var size int64
	for k := i; k <= j; k++ {
		v := t.RawGetInt(k)
		switch x := v.(type) {
		case lua.LString:
			size += int64(len(x))
		case lua.LNumber:
			size += int64(len(x.String()))
		default:
			L.RaiseError("invalid value (%s) at index %d in table for concat", v.Type().String(), k)
		}
		if k < j {
			size += int64(len(sep))
		}
		if (k-i)%stepChunk == stepChunk-1 {
			s.steps(L, stepChunk)
			s.charge(L, size, false)
		}
	}
	s.charge(L, size, true)
	var b strings.Builder
	b.Grow(int(size))
	for k := i; k <= j; k++ {
		b.WriteString(lua.LVAsString(t.RawGetInt(k)))
		if k < j {
			b.WriteString(sep)
		}
	}
	L.Push(lua.LString(b.String()))
	return 1
}

// concatName is the global through which a compiled chunk concatenates
// (see rewriteConcat); no Lua name can spell it.
const concatName = "\x00concat"

// concat is the concatenation operator a..b..c with its operands as
// arguments: Lua's semantics (right to left, numbers as strings, __concat
// for the others), and the result counted against the memory budget before
// it is built.
func (s *State) concat(L *lua.LState) int {
	n := L.GetTop()
	if n == 0 {
		L.Push(lua.LString(""))
		return 1
	}
	top := L.Get(n)
	for i := n - 1; i >= 1; i-- {
		a := L.Get(i)
		if isText(a) && isText(top) {
			// Gather every text operand to the left and build them at once.
			j := i
			size := int64(len(lua.LVAsString(a)) + len(lua.LVAsString(top)))
			for j > 1 && isText(L.Get(j-1)) {
				j--
				size += int64(len(lua.LVAsString(L.Get(j))))
			}
			s.charge(L, size, true)
			var b strings.Builder
			b.Grow(int(size))
			for k := j; k <= i; k++ {
				b.WriteString(lua.LVAsString(L.Get(k)))
			}
			b.WriteString(lua.LVAsString(top))
			top = lua.LString(b.String())
			i = j
			continue
		}
		mm := L.GetMetaField(a, "__concat")
		if mm == lua.LNil {
			mm = L.GetMetaField(top, "__concat")
		}
		if mm == lua.LNil {
			L.RaiseError("cannot perform concat operation between %s and %s", a.Type().String(), top.Type().String())
		}
		L.Push(mm)
		L.Push(a)
		L.Push(top)
		L.Call(2, 1)
		top = L.Get(-1)
		L.Pop(1)
	}
	L.Push(top)
	return 1
}

func isText(v lua.LValue) bool {
	switch v.(type) {
	case lua.LString, lua.LNumber:
		return true
	}
	return false
}
