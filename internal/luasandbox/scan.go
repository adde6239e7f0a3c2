package luasandbox

import (
	"fmt"
	"time"
	"unicode/utf8"
)

// The bounds a source must keep before it reaches gopher-lua's parser, when
// the Limits do not say otherwise. The parser and compiler recurse once per
// level of nesting and once per operator of a chain, so a source of a few
// hundred kilobytes of "((((" or "not not not" would otherwise end the
// process with a stack overflow, which no recover catches.
const (
	// DefaultMaxSource is the longest script, in bytes.
	DefaultMaxSource = 1 << 20
	// DefaultMaxDepth is the deepest nesting: brackets, blocks (function,
	// if, do, repeat) and runs of unary operators (not, -, #) together. Lua's
	// own compiler stops at 200 as well.
	DefaultMaxDepth = 200
	// DefaultMaxChain is the most operators one expression chains at one
	// level of nesting: binary operators, field accesses and calls.
	DefaultMaxChain = 2000
	// DefaultMaxOperators is the most operators (binary operators, field
	// accesses, calls and indexes) a whole source holds: gopher-lua's
	// compiler takes a few microseconds for each.
	DefaultMaxOperators = 100_000
	// DefaultCompileTimeout bounds the compilation of one source.
	DefaultCompileTimeout = 2 * time.Second
)

// Limits bound a source before it is parsed. Zero fields take the defaults.
type Limits struct {
	MaxSource    int // bytes
	MaxDepth     int
	MaxChain     int
	MaxOperators int
	// CompileTimeout bounds parsing and compiling (CompileLimits); a
	// source within the other bounds compiles well within the default.
	CompileTimeout time.Duration
}

func (l Limits) withDefaults() Limits {
	if l.MaxSource <= 0 {
		l.MaxSource = DefaultMaxSource
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxChain <= 0 {
		l.MaxChain = DefaultMaxChain
	}
	if l.MaxOperators <= 0 {
		l.MaxOperators = DefaultMaxOperators
	}
	if l.CompileTimeout <= 0 {
		l.CompileTimeout = DefaultCompileTimeout
	}
	return l
}

// CheckSource scans src, a Lua chunk called name, with a small scanner of its
// own (no recursion, one pass) and returns a *SyntaxError at the first place
// where it goes beyond lim: its size, its nesting, the length of an
// operator chain, or its operators in all. It does not check the syntax: what it lets through may
// still fail to parse, but parses without exhausting the stack. Compile calls
// it with the default Limits.
func CheckSource(name, src string, lim Limits) error {
	lim = lim.withDefaults()
	if len(src) > lim.MaxSource {
		return &SyntaxError{Name: name, Line: 1, Column: 1,
			Message: fmt.Sprintf("source is %d bytes, longer than the limit of %d", len(src), lim.MaxSource)}
	}
	if line, col, msg := scanLua(src, lim); msg != "" {
		return &SyntaxError{Name: name, Line: line, Column: col, Message: msg}
	}
	return nil
}

// luaScanner walks a Lua source token by token, keeping the position.
type luaScanner struct {
	src       string
	i         int
	line, col int // of src[i], 1-based; col counts characters
}

func (s *luaScanner) advance(n int) {
	for end := s.i + n; s.i < end && s.i < len(s.src); {
		r, size := utf8.DecodeRuneInString(s.src[s.i:])
		if r == '\n' {
			s.line++
			s.col = 1
		} else {
			s.col++
		}
		s.i += size
	}
}

// longBracket reports the level of a long bracket "[", "=" * level, "[" at
// s.i, or -1.
func (s *luaScanner) longBracket() int {
	if s.i >= len(s.src) || s.src[s.i] != '[' {
		return -1
	}
	j := s.i + 1
	for j < len(s.src) && s.src[j] == '=' {
		j++
	}
	if j < len(s.src) && s.src[j] == '[' {
		return j - s.i - 1
	}
	return -1
}

// skipLong skips a long string or comment of the given level from its
// opening bracket; an unterminated one runs to the end.
func (s *luaScanner) skipLong(level int) {
	s.advance(level + 2)
	for s.i < len(s.src) {
		if s.src[s.i] == ']' {
			j := s.i + 1
			for j < len(s.src) && s.src[j] == '=' {
				j++
			}
			if j < len(s.src) && s.src[j] == ']' && j-s.i-1 == level {
				s.advance(level + 2)
				return
			}
		}
		s.advance(1)
	}
}

// skipQuoted skips a quoted string from its opening quote; an unterminated
// one ends at the end of its line.
func (s *luaScanner) skipQuoted() {
	q := s.src[s.i]
	s.advance(1)
	for s.i < len(s.src) {
		c := s.src[s.i]
		switch {
		case c == '\\':
			s.advance(2)
		case c == q:
			s.advance(1)
			return
		case c == '\n':
			return
		default:
			s.advance(1)
		}
	}
}

// Kinds of token the scanner tells apart.
const (
	tokOperand = iota // a name, number, string, or a closing bracket or block
	tokUnary          // not, #, and - (which may also be binary)
	tokBinary         // a binary operator
	tokOpen           // ( [ {
	tokClose          // ) ] }
	tokBlock          // function if do repeat
	tokEnd            // end until
	tokSep            // , ; = and the other keywords: an expression starts afresh
	tokDot            // . and : (a field access or a method)
)

var luaKeywords = map[string]int{
	"and": tokBinary, "or": tokBinary, "not": tokUnary,
	"function": tokBlock, "if": tokBlock, "do": tokBlock, "repeat": tokBlock,
	"end": tokEnd, "until": tokEnd,
	"true": tokOperand, "false": tokOperand, "nil": tokOperand,
	"then": tokSep, "else": tokSep, "elseif": tokSep, "while": tokSep, "for": tokSep, "in": tokSep,
	"local": tokSep, "return": tokSep, "break": tokSep, "goto": tokSep,
}

// scanLua returns the position and message of the first bound src goes
// beyond, or an empty message.
func scanLua(src string, lim Limits) (line, col int, msg string) {
	s := &luaScanner{src: src, line: 1, col: 1}
	// levels holds, for each open level of nesting, the operators chained
	// so far in its current expression, and its current run of field
	// accesses, calls and indexes; the depth is len(levels)-1.
	levels := make([][2]int, 1, 16)
	unary := 0     // the current run of unary operators
	ops := 0       // the operators of the whole source
	prev := tokSep // the kind of the previous token
	for s.i < len(src) {
		c := src[s.i]
		line, col = s.line, s.col
		kind, width := -1, 1
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			s.advance(1)
			continue
		case c == '-' && s.i+1 < len(src) && src[s.i+1] == '-':
			s.advance(2)
			if lvl := s.longBracket(); lvl >= 0 {
				s.skipLong(lvl)
				continue
			}
			for s.i < len(src) && src[s.i] != '\n' {
				s.advance(1)
			}
			continue
		case c == '"' || c == '\'':
			s.skipQuoted()
			kind, width = tokOperand, 0
		case c == '[' && s.longBracket() >= 0:
			s.skipLong(s.longBracket())
			kind, width = tokOperand, 0
		case isNameStart(c):
			j := s.i
			for j < len(src) && (isNameStart(src[j]) || isDigit(src[j])) {
				j++
			}
			k, ok := luaKeywords[src[s.i:j]]
			if !ok {
				k = tokOperand
			}
			kind, width = k, j-s.i
		case isDigit(c) || c == '.' && s.i+1 < len(src) && isDigit(src[s.i+1]):
			j := s.i
			for j < len(src) && (isNameStart(src[j]) || isDigit(src[j]) || src[j] == '.' ||
				(src[j] == '-' || src[j] == '+') && (src[j-1] == 'e' || src[j-1] == 'E' || src[j-1] == 'p' || src[j-1] == 'P')) {
				j++
			}
			kind, width = tokOperand, j-s.i
		case c == '(' || c == '[' || c == '{':
			kind = tokOpen
		case c == ')' || c == ']' || c == '}':
			kind = tokClose
		case c == ',' || c == ';':
			kind = tokSep
		case c == '-' || c == '#':
			kind = tokUnary
		case c == '=' || c == '~' || c == '<' || c == '>':
			if s.i+1 < len(src) && src[s.i+1] == '=' {
				kind, width = tokBinary, 2
			} else if c == '=' {
				kind = tokSep
			} else {
				kind = tokBinary
			}
		case c == '.' && s.i+2 < len(src) && src[s.i+1] == '.' && src[s.i+2] == '.':
			kind, width = tokOperand, 3
		case c == '.' && s.i+1 < len(src) && src[s.i+1] == '.':
			kind, width = tokBinary, 2
		case c == ':' && s.i+1 < len(src) && src[s.i+1] == ':':
			kind, width = tokSep, 2 // a label
		case c == '.' || c == ':':
			kind = tokDot
		default: // + * / % ^ and anything else
			kind = tokBinary
		}
		s.advance(width)

		top := len(levels) - 1
		lv := &levels[top]
		afterOperand := prev == tokOperand || prev == tokClose || prev == tokEnd
		switch kind {
		case tokUnary:
			if c == '-' && afterOperand {
				lv[0]++ // a binary minus
				ops++
			} else {
				unary++
			}
			lv[1] = 0
		case tokBinary:
			lv[0]++
			lv[1] = 0
			ops++
		case tokDot:
			lv[1]++
			ops++
		case tokOperand:
			if afterOperand {
				*lv = [2]int{} // two operands in a row: a new statement
			}
			unary = 0
		case tokOpen:
			if prev == tokOperand || prev == tokClose {
				lv[1]++ // a call or an index
				ops++
			} else {
				lv[1] = 0
			}
			levels = append(levels, [2]int{})
			unary = 0
		case tokBlock:
			*lv = [2]int{}
			levels = append(levels, [2]int{})
			unary = 0
		case tokClose, tokEnd:
			if len(levels) > 1 {
				levels = levels[:top]
			}
			unary = 0
		case tokSep:
			*lv = [2]int{}
			unary = 0
		}
		prev = kind
		if lv[0] > lim.MaxChain || lv[1] > lim.MaxChain {
			return line, col, fmt.Sprintf("expression chains more than %d operators", lim.MaxChain)
		}
		if ops > lim.MaxOperators {
			return line, col, fmt.Sprintf("more than %d operators in all", lim.MaxOperators)
		}
		if d := len(levels) - 1 + unary; d > lim.MaxDepth {
			return line, col, fmt.Sprintf("nested deeper than the limit of %d", lim.MaxDepth)
		}
	}
	return 0, 0, ""
}

func isNameStart(c byte) bool {
	return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c >= 0x80
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
