package targets

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/immyoss/engine/internal/luasandbox"
)

// The bounds a filter's source keeps before it reaches a parser. expr's and
// gopher-lua's parsers and compilers, and the compilers of the native forms,
// recurse once per level of nesting and once per operator of a chain: the
// bounds keep them far from the end of the stack, so that a hostile filter is
// a CompileError, not a crashed process. Both languages are checked by a scanner
// of our own (no recursion, one pass) before any parser sees the source.
const (
	// MaxFilterSource is the longest filter, in bytes.
	MaxFilterSource = 64 << 10
	// MaxFilterDepth is the deepest nesting of a filter: brackets, blocks
	// and runs of unary operators together.
	MaxFilterDepth = 100
	// MaxFilterChain is the most operators one expression of a filter
	// chains at one level of nesting (binary operators, the ternary, field
	// accesses, calls and indexes).
	MaxFilterChain = 1000
	// MaxFilterOperators is the most operators a Lua filter holds in all
	// (expr's own bound is 10000 nodes).
	MaxFilterOperators = 10_000
)

// luaFilterLimits are the bounds of a Lua filter.
var luaFilterLimits = luasandbox.Limits{MaxSource: MaxFilterSource, MaxDepth: MaxFilterDepth,
	MaxChain: MaxFilterChain, MaxOperators: MaxFilterOperators, CompileTimeout: CompileTimeout}

// checkSource returns a CompileError when src goes beyond the bounds of a
// filter of lang.
func checkSource(lang Language, src string) *CompileError {
	if len(src) > MaxFilterSource {
		// The snippet needs the start of the first line only: do not
		// split and count megabytes to show fifty characters.
		head := src[:snippetWidth*8]
		for len(head) > 0 && !utf8.RuneStart(src[len(head)]) {
			head = head[:len(head)-1]
		}
		return newCompileError(lang, head, 1, 1,
			fmt.Sprintf("filter is %d bytes, longer than the limit of %d", len(src), MaxFilterSource))
	}
	if lang == LanguageLua {
		if err := luasandbox.CheckSource(luaChunkName, src, luaFilterLimits); err != nil {
			return luaSyntaxError(src, err)
		}
		return nil
	}
	if line, col, msg := scanExpr(src); msg != "" {
		return newCompileError(lang, src, line, col, msg)
	}
	return nil
}

// Kinds of expr token the scanner tells apart.
const (
	tokOperand = iota // a name, number, string or closing bracket
	tokUnary          // ! not, and - + where an operand is expected
	tokBinary         // an operator that chains
	tokOpen           // ( [ {
	tokClose          // ) ] }
	tokSep            // , ;
	tokDot            // . (a field access)
)

// exprWords are the words expr reads as operators.
var exprWords = map[string]int{
	"not": tokUnary, "and": tokBinary, "or": tokBinary, "in": tokBinary, "matches": tokBinary,
	"contains": tokBinary, "startsWith": tokBinary, "endsWith": tokBinary,
}

// scanExpr returns the position and message of the first filter bound src
// goes beyond, or an empty message.
func scanExpr(src string) (line, col int, msg string) {
	ln, cl, i := 1, 1, 0
	advance := func(n int) {
		for end := i + n; i < end && i < len(src); {
			r, size := utf8.DecodeRuneInString(src[i:])
			if r == '\n' {
				ln, cl = ln+1, 1
			} else {
				cl++
			}
			i += size
		}
	}
	// levels holds, for each open level of nesting, the operators chained
	// so far in its current expression, and its current run of field
	// accesses, calls and indexes; the depth is len(levels)-1.
	levels := make([][2]int, 1, 16)
	unary := 0
	prev := tokSep
	for i < len(src) {
		c := src[i]
		line, col = ln, cl
		kind, width := tokBinary, 1
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			advance(1)
			continue
		case c == '/' && strings.HasPrefix(src[i:], "//"):
			for i < len(src) && src[i] != '\n' {
				advance(1)
			}
			continue
		case c == '/' && strings.HasPrefix(src[i:], "/*"):
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				advance(len(src) - i)
			} else {
				advance(end + 4)
			}
			continue
		case c == '"' || c == '\'' || c == '`':
			j := i + 1
			for j < len(src) && src[j] != c {
				if src[j] == '\\' && c != '`' {
					j++
				}
				j++
			}
			kind, width = tokOperand, j+1-i
		case c == '_' || c == '$' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c >= 0x80:
			j := i
			for j < len(src) && (src[j] == '_' || src[j] == '$' || 'a' <= src[j] && src[j] <= 'z' ||
				'A' <= src[j] && src[j] <= 'Z' || '0' <= src[j] && src[j] <= '9' || src[j] >= 0x80) {
				j++
			}
			kind, width = tokOperand, j-i
			if k, ok := exprWords[src[i:j]]; ok {
				kind = k
			}
		case c == '(' || c == '[' || c == '{':
			kind = tokOpen
		case c == ')' || c == ']' || c == '}':
			kind = tokClose
		case c == ',' || c == ';':
			kind = tokSep
		case c == '.' && !(i+1 < len(src) && '0' <= src[i+1] && src[i+1] <= '9'):
			kind = tokDot
		case c == '!' && !strings.HasPrefix(src[i:], "!="):
			kind = tokUnary
		case (c == '-' || c == '+') && prev != tokOperand && prev != tokClose:
			kind = tokUnary
		}
		advance(width)

		top := len(levels) - 1
		lv := &levels[top]
		switch kind {
		case tokUnary:
			unary++
			lv[1] = 0
		case tokBinary:
			lv[0]++
			lv[1] = 0
		case tokDot:
			lv[1]++
		case tokOperand:
			unary = 0
		case tokOpen:
			if prev == tokOperand || prev == tokClose {
				lv[1]++ // a call or an index
			} else {
				lv[1] = 0
			}
			levels = append(levels, [2]int{})
			unary = 0
		case tokClose:
			if len(levels) > 1 {
				levels = levels[:top]
			}
			unary = 0
		case tokSep:
			*lv = [2]int{}
			unary = 0
		}
		prev = kind
		if lv[0] > MaxFilterChain || lv[1] > MaxFilterChain {
			return line, col, fmt.Sprintf("expression chains more than %d operators", MaxFilterChain)
		}
		if len(levels)-1+unary > MaxFilterDepth {
			return line, col, fmt.Sprintf("nested deeper than the limit of %d", MaxFilterDepth)
		}
	}
	return 0, 0, ""
}
