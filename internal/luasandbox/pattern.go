package luasandbox

// Lua patterns (string.find, match, gmatch and gsub), matched by our own
// backtracking matcher with Lua 5.1's semantics. gopher-lua's matcher cannot
// be interrupted: ("a*"):rep(12).."b" against 3000 a's runs for hours inside
// one call. This one counts its steps and reports them to the run's budget
// every stepChunk of them, so a run's deadline and instruction budget stop it.

const (
	capUnfinished = -1
	capPosition   = -2
	maxCaptures   = 32
	// maxMatchDepth bounds the matcher's recursion (Lua's own bound): a
	// pattern of more items fails with "pattern too complex".
	maxMatchDepth = 200
	// stepChunk is how many steps the matcher takes between two reports.
	stepChunk = 1024
	// patternSpecials are the characters that make a pattern more than a
	// plain string.
	patternSpecials = "^$*+?.([%-"
)

// patternError is a malformed pattern, raised as a Lua error by the caller.
type patternError struct{ msg string }

// matcher matches one pattern against one subject.
type matcher struct {
	src, pat string
	level    int
	capture  [maxCaptures]struct{ init, len int }
	depth    int
	steps    int
	// report is called every stepChunk steps with their number; it raises
	// a Lua error when the run is out of budget. Without one, the steps
	// are added to *spent, and past limit the matcher stops (Find).
	report func(n int)
	spent  *int
	limit  int
}

func (m *matcher) fail(msg string) { panic(patternError{msg}) }

// p returns the pattern's byte at i, or 0 past its end (as C's terminating NUL).
func (m *matcher) p(i int) byte {
	if i < len(m.pat) {
		return m.pat[i]
	}
	return 0
}

// s returns the subject's byte at i, or 0 past its end.
func (m *matcher) s(i int) byte {
	if i < len(m.src) {
		return m.src[i]
	}
	return 0
}

func (m *matcher) step() {
	m.steps++
	if m.steps >= stepChunk {
		n := m.steps
		m.steps = 0
		if m.report != nil {
			m.report(n)
		} else if m.spent != nil {
			m.spend(n)
		}
	}
}

// spend adds n steps to *spent, stopping the match (a findStop panic, which
// Find recovers) past the limit.
func (m *matcher) spend(n int) {
	*m.spent += n
	if *m.spent > m.limit {
		panic(findStop{})
	}
}

// reset prepares a match attempt at a new position.
func (m *matcher) reset() {
	m.level = 0
	m.depth = maxMatchDepth
}

func (m *matcher) classEnd(p int) int {
	c := m.p(p)
	p++
	if c == '%' {
		if p >= len(m.pat) {
			m.fail("malformed pattern (ends with '%')")
		}
		return p + 1
	}
	if c == '[' {
		if m.p(p) == '^' {
			p++
		}
		for {
			if p >= len(m.pat) {
				m.fail("malformed pattern (missing ']')")
			}
			c := m.pat[p]
			p++
			if c == '%' && p < len(m.pat) {
				p++ // skip escapes, such as %]
			}
			if p >= len(m.pat) {
				m.fail("malformed pattern (missing ']')")
			}
			if m.pat[p] == ']' {
				return p + 1
			}
		}
	}
	return p
}

func matchClass(c, cl byte) bool {
	var res bool
	lower := cl | 0x20
	switch lower {
	case 'a':
		res = isAlpha(c)
	case 'c':
		res = c < 32 || c == 127
	case 'd':
		res = '0' <= c && c <= '9'
	case 'l':
		res = 'a' <= c && c <= 'z'
	case 'p':
		res = isPunct(c)
	case 's':
		res = c == ' ' || '\t' <= c && c <= '\r'
	case 'u':
		res = 'A' <= c && c <= 'Z'
	case 'w':
		res = isAlpha(c) || '0' <= c && c <= '9'
	case 'x':
		res = '0' <= c && c <= '9' || 'a' <= c|0x20 && c|0x20 <= 'f'
	case 'z':
		res = c == 0
	default:
		return cl == c
	}
	if 'A' <= cl && cl <= 'Z' {
		return !res
	}
	return res
}

func isAlpha(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' }

func isPunct(c byte) bool {
	return 33 <= c && c <= 47 || 58 <= c && c <= 64 || 91 <= c && c <= 96 || 123 <= c && c <= 126
}

// matchBracketClass matches c against the set from the '[' at p to the
// ']' at ec.
func (m *matcher) matchBracketClass(c byte, p, ec int) bool {
	sig := true
	if m.p(p+1) == '^' {
		sig = false
		p++
	}
	for p++; p < ec; p++ {
		m.step()
		switch {
		case m.pat[p] == '%':
			p++
			if matchClass(c, m.p(p)) {
				return sig
			}
		case m.p(p+1) == '-' && p+2 < ec:
			p += 2
			if m.pat[p-2] <= c && c <= m.pat[p] {
				return sig
			}
		case m.pat[p] == c:
			return sig
		}
	}
	return !sig
}

// singleMatch matches the subject's byte at s against the class from p to ep.
func (m *matcher) singleMatch(s, p, ep int) bool {
	if s >= len(m.src) {
		return false
	}
	c := m.src[s]
	switch m.pat[p] {
	case '.':
		return true
	case '%':
		return matchClass(c, m.p(p+1))
	case '[':
		return m.matchBracketClass(c, p, ep-1)
	}
	return m.pat[p] == c
}

// match matches the pattern from p against the subject from s and returns
// where the match ends, or -1.
func (m *matcher) match(s, p int) int {
	m.depth--
	if m.depth == 0 {
		m.fail("pattern too complex")
	}
	defer func() { m.depth++ }()
	for {
		m.step()
		if p >= len(m.pat) {
			return s
		}
		switch m.pat[p] {
		case '(':
			if m.p(p+1) == ')' {
				return m.startCapture(s, p+2, capPosition)
			}
			return m.startCapture(s, p+1, capUnfinished)
		case ')':
			return m.endCapture(s, p+1)
		case '$':
			if p+1 == len(m.pat) {
				if s == len(m.src) {
					return s
				}
				return -1
			}
		case '%':
			switch c := m.p(p + 1); {
			case c == 'b':
				s = m.matchBalance(s, p+2)
				if s == -1 {
					return -1
				}
				p += 4
				continue
			case c == 'f':
				p += 2
				if m.p(p) != '[' {
					m.fail("missing '[' after '%f' in pattern")
				}
				ep := m.classEnd(p)
				var prev byte
				if s > 0 {
					prev = m.src[s-1]
				}
				if !m.matchBracketClass(prev, p, ep-1) && m.matchBracketClass(m.s(s), p, ep-1) {
					p = ep
					continue
				}
				return -1
			case '0' <= c && c <= '9':
				s = m.matchCapture(s, c)
				if s == -1 {
					return -1
				}
				p += 2
				continue
			}
		}
		// The default case: a single class, perhaps with a quantifier.
		ep := m.classEnd(p)
		if !m.singleMatch(s, p, ep) {
			if q := m.p(ep); q == '*' || q == '?' || q == '-' {
				p = ep + 1
				continue
			}
			return -1
		}
		switch m.p(ep) {
		case '?':
			if res := m.match(s+1, ep+1); res != -1 {
				return res
			}
			p = ep + 1
		case '+':
			return m.maxExpand(s+1, p, ep)
		case '*':
			return m.maxExpand(s, p, ep)
		case '-':
			return m.minExpand(s, p, ep)
		default:
			s++
			p = ep
		}
	}
}

func (m *matcher) maxExpand(s, p, ep int) int {
	i := 0
	for m.singleMatch(s+i, p, ep) {
		m.step()
		i++
	}
	for ; i >= 0; i-- {
		if res := m.match(s+i, ep+1); res != -1 {
			return res
		}
	}
	return -1
}

func (m *matcher) minExpand(s, p, ep int) int {
	for {
		if res := m.match(s, ep+1); res != -1 {
			return res
		}
		if !m.singleMatch(s, p, ep) {
			return -1
		}
		s++
	}
}

func (m *matcher) startCapture(s, p, what int) int {
	if m.level >= maxCaptures {
		m.fail("too many captures")
	}
	m.capture[m.level].init = s
	m.capture[m.level].len = what
	m.level++
	res := m.match(s, p)
	if res == -1 {
		m.level--
	}
	return res
}

func (m *matcher) endCapture(s, p int) int {
	l := -1
	for i := m.level - 1; i >= 0; i-- {
		if m.capture[i].len == capUnfinished {
			l = i
			break
		}
	}
	if l < 0 {
		m.fail("invalid pattern capture")
	}
	m.capture[l].len = s - m.capture[l].init
	res := m.match(s, p)
	if res == -1 {
		m.capture[l].len = capUnfinished
	}
	return res
}

func (m *matcher) matchBalance(s, p int) int {
	if p+1 >= len(m.pat) {
		m.fail("malformed pattern (missing arguments to '%b')")
	}
	if s >= len(m.src) || m.src[s] != m.pat[p] {
		return -1
	}
	b, e := m.pat[p], m.pat[p+1]
	cont := 1
	for s++; s < len(m.src); s++ {
		m.step()
		switch m.src[s] {
		case e:
			cont--
			if cont == 0 {
				return s + 1
			}
		case b:
			cont++
		}
	}
	return -1
}

func (m *matcher) matchCapture(s int, c byte) int {
	l := int(c - '1')
	if l < 0 || l >= m.level || m.capture[l].len == capUnfinished {
		m.fail("invalid capture index")
	}
	n := m.capture[l].len
	if n < 0 || len(m.src)-s < n {
		return -1
	}
	init := m.capture[l].init
	if m.src[init:init+n] == m.src[s:s+n] {
		return s + n
	}
	return -1
}

// capture is one capture of a match: a substring, or a position (1-based)
// when isPos.
type capture struct {
	str   string
	pos   int
	isPos bool
}

// captureAt returns capture i of the match from s to e; capture 0 is the
// whole match when the pattern has none.
func (m *matcher) captureAt(i, s, e int) capture {
	if i >= m.level {
		if i != 0 {
			m.fail("invalid capture index")
		}
		return capture{str: m.src[s:e]}
	}
	c := m.capture[i]
	switch c.len {
	case capUnfinished:
		m.fail("unfinished capture")
	case capPosition:
		return capture{pos: c.init + 1, isPos: true}
	}
	return capture{str: m.src[c.init : c.init+c.len]}
}

// captures returns every capture of the match from s to e (the whole match
// when there are none).
func (m *matcher) captures(s, e int) []capture {
	n := m.level
	if n == 0 {
		n = 1
	}
	out := make([]capture, n)
	for i := range out {
		out[i] = m.captureAt(i, s, e)
	}
	return out
}
