package resolver

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/targets"
)

// Detection in the what-if reads a computer's software inventory. A software's
// Detection is tried in this order, the first set field deciding:
//
//   - DisplayName and DisplayNames: globs over the whole display name, any
//     of which matches, case-insensitive (as Windows compares display
//     names): * matches any run of characters, / and spaces included; ? one
//     character; a backslash makes the character after it stand for itself
//     ("Foo\*" matches the name Foo* alone, "What\?" a literal question mark);
//     every other character stands for itself. A glob without a backslash is
//     targets.MatchGlob, the glob of the installed() filter.
//   - Regex: a Go regular expression (RE2 syntax), case-sensitive unless it
//     says (?i), matched anywhere in the name unless anchored. A capture group
//     named "version", or else the first capture group, gives the version when
//     it parses; otherwise the entry's own version counts.
//   - ProductCode, UpgradeCode: compared with the entry's codes,
//     case-insensitively and ignoring surrounding braces.
//   - Script: the inventory cannot tell; the what-if leaves the decision to
//     detection (reason decided-at-detection).
//
// What the name or code matched is then narrowed (choice.go): Publishers
// (globs as above) and Versions (an immy.Constraint) leave out an entry whose
// publisher or version is known and does not fit; VersionMap maps the
// entry's version to the release version first. When several entries remain,
// the one known to meet the most of Publishers and Versions wins, then one an
// exact name or a code matched, then the highest version, then the first entry
// of the inventory.

// matcher tests one display name.
type nameMatcher struct {
	kind    matchKind
	lit     string         // exact, prefix, suffix, contains: the literal, lower-cased ASCII
	re      *regexp.Regexp // regex: the compiled pattern
	vgrp    int            // regex: the capture group of the version, -1 for none
	pattern string         // glob: the pattern, for targets.MatchGlob
	toks    []globTok      // escaped glob: the pattern read
	literal bool           // a glob without wildcards: it matches one name
}

// globTok is one element of a glob with escapes: a literal rune, * or ?.
type globTok struct {
	r    rune
	kind uint8 // tokLit, tokStar, tokAny
}

const (
	tokLit uint8 = iota
	tokStar
	tokAny
)

type matchKind uint8

const (
	matchExact matchKind = iota
	matchPrefix
	matchSuffix
	matchContains
	matchGlob
	matchRegex
	matchEscaped // a glob with backslash escapes
)

// errPattern marks a detection pattern that does not compile.
var errPattern = errors.New("bad pattern")

// compileGlob compiles a display-name glob with the semantics of
// targets.MatchGlob (* any run, ? one character, case-insensitive by simple
// folding; nothing else is special), the same as the installed() function of
// filters. Globs of ASCII literals and stars get a fast path for ASCII names.
func compileGlob(glob string) (nameMatcher, error) {
	if !utf8.ValidString(glob) {
		return nameMatcher{}, fmt.Errorf("glob %q is not valid UTF-8: %w", glob, errPattern)
	}
	if strings.Contains(glob, `\`) {
		toks := parseGlob(glob)
		lit := !slices.ContainsFunc(toks, func(t globTok) bool { return t.kind != tokLit })
		return nameMatcher{kind: matchEscaped, pattern: glob, toks: toks, literal: lit}, nil
	}
	m := nameMatcher{kind: matchGlob, pattern: glob, literal: !strings.ContainsAny(glob, "*?")}
	if !isASCII(glob) || strings.Contains(glob, "?") {
		return m, nil
	}
	lower := strings.ToLower(glob)
	parts := strings.Split(lower, "*")
	switch {
	case len(parts) == 1:
		m.kind, m.lit = matchExact, parts[0]
	case len(parts) == 2 && parts[1] == "":
		m.kind, m.lit = matchPrefix, parts[0]
	case len(parts) == 2 && parts[0] == "":
		m.kind, m.lit = matchSuffix, parts[1]
	case len(parts) == 3 && parts[0] == "" && parts[2] == "":
		m.kind, m.lit = matchContains, parts[1]
	}
	return m, nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// compileRegex compiles a detection regex and finds its version group.
func compileRegex(expr string) (nameMatcher, error) {
	rx, err := regexp.Compile(expr)
	if err != nil {
		return nameMatcher{}, fmt.Errorf("regex %q: %w: %w", expr, errPattern, err)
	}
	g := rx.SubexpIndex("version")
	if g < 0 && rx.NumSubexp() > 0 {
		g = 1
	}
	return nameMatcher{kind: matchRegex, re: rx, vgrp: g}, nil
}

// match reports whether name matches, and the version a regex captured (zero
// when none or when it does not parse). lower is the name lower-cased when it
// is ASCII, "" otherwise.
func (m *nameMatcher) match(name, lower string) (bool, immy.Version) {
	switch m.kind {
	case matchExact, matchPrefix, matchSuffix, matchContains:
		if lower == "" && name != "" { // not ASCII: fold as targets does
			return targets.MatchGlob(m.glob(), name), immy.Version{}
		}
		switch m.kind {
		case matchExact:
			return lower == m.lit, immy.Version{}
		case matchPrefix:
			return strings.HasPrefix(lower, m.lit), immy.Version{}
		case matchSuffix:
			return strings.HasSuffix(lower, m.lit), immy.Version{}
		}
		return strings.Contains(lower, m.lit), immy.Version{}
	case matchGlob:
		return targets.MatchGlob(m.pattern, name), immy.Version{}
	case matchEscaped:
		return matchTokens(m.toks, name), immy.Version{}
	}
	if m.vgrp < 0 {
		return m.re.MatchString(name), immy.Version{}
	}
	sub := m.re.FindStringSubmatch(name)
	if sub == nil {
		return false, immy.Version{}
	}
	if m.vgrp < len(sub) && sub[m.vgrp] != "" {
		if v, err := immy.ParseVersion(sub[m.vgrp]); err == nil {
			return true, v
		}
	}
	return true, immy.Version{}
}

// glob returns the pattern of a fast-path glob.
func (m *nameMatcher) glob() string {
	if m.pattern != "" {
		return m.pattern
	}
	switch m.kind {
	case matchPrefix:
		return m.lit + "*"
	case matchSuffix:
		return "*" + m.lit
	case matchContains:
		return "*" + m.lit + "*"
	}
	return m.lit
}

// lowerASCII lower-cases an ASCII name; it returns "" for a name that is not
// ASCII, whose matching then folds case rune by rune.
func lowerASCII(name string) string {
	if !isASCII(name) {
		return ""
	}
	return strings.ToLower(name)
}

// firstByte returns the lower-cased first byte every matching name starts
// with, when the matcher pins one down.
func (m *nameMatcher) firstByte() (byte, bool) {
	switch m.kind {
	case matchExact, matchPrefix:
		// k and s also fold with the Kelvin sign and the long s
		if m.lit != "" && m.lit[0] != 'k' && m.lit[0] != 's' {
			return m.lit[0], true
		}
		return 0, false
	case matchRegex:
		return regexFirstByte(m.re)
	}
	return 0, false
}

// regexFirstByte finds the ASCII letter or digit an anchored regex's matches
// start with ("^Microsoft ..."), lower-cased.
func regexFirstByte(rx *regexp.Regexp) (byte, bool) {
	re, err := syntax.Parse(rx.String(), syntax.Perl)
	if err != nil {
		return 0, false
	}
	re = re.Simplify()
	for re.Op == syntax.OpCapture && len(re.Sub) == 1 {
		re = re.Sub[0]
	}
	if re.Op != syntax.OpConcat || len(re.Sub) < 2 || re.Sub[0].Op != syntax.OpBeginText {
		return 0, false
	}
	next := re.Sub[1]
	for next.Op == syntax.OpCapture && len(next.Sub) == 1 {
		next = next.Sub[0]
	}
	if next.Op != syntax.OpLiteral || len(next.Rune) == 0 {
		return 0, false
	}
	r := next.Rune[0]
	if r >= utf8.RuneSelf || !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
		return 0, false
	}
	// under (?i), k and s also match the Kelvin sign and the long s, which
	// lower-case to something else: leave those unindexed
	if next.Flags&syntax.FoldCase != 0 && (r == 'k' || r == 'K' || r == 's' || r == 'S') {
		return 0, false
	}
	return toLowerByte(byte(r)), true
}

func toLowerByte(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// normCode normalises a product or upgrade code: no braces, upper case.
func normCode(s string) string {
	return strings.ToUpper(strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(s), "{"), "}"))
}

// nameHit is one software a display name matches, with the version a regex
// captured from the name (zero when none).
type nameHit struct {
	item  int32
	ver   immy.Version
	exact bool // a glob without wildcards matched: the name itself (choice.go)
}

// detectIndex finds the software a display name or code belongs to. It is
// built once per catalogue and safe for concurrent use.
type detectIndex struct {
	byFirst  [256][]int32           // matchers whose names start with this lower-cased byte
	anyFirst []int32                // matchers that pin no first byte
	names    map[int32]nameMatchers // by item
	product  map[string][]int32
	upgrade  map[string][]int32
}

// lookup returns the software that a display name matches, in item order.
func (x *detectIndex) lookup(name string, dst []nameHit) []nameHit {
	if name == "" {
		return dst
	}
	lower := lowerASCII(name)
	var a []int32
	if lower != "" {
		a = x.byFirst[lower[0]]
	} else if name[0] < utf8.RuneSelf {
		a = x.byFirst[toLowerByte(name[0])]
	}
	b := x.anyFirst
	// merge the two sorted lists so that hits come out in item order
	for len(a) > 0 || len(b) > 0 {
		var it int32
		if len(b) == 0 || (len(a) > 0 && a[0] < b[0]) {
			it, a = a[0], a[1:]
		} else {
			it, b = b[0], b[1:]
		}
		m := x.names[it]
		if ok, v := m.match(name, lower); ok {
			dst = append(dst, nameHit{item: it, ver: v, exact: m.exact(name, lower)})
		}
	}
	return dst
}

// nameCache remembers the hits of display names already seen. Fleets repeat
// the same few thousand display names over their computers, so a planner
// looks each name up once. It stops growing at maxCachedNames. The hits it
// returns are never changed: plans point at their versions.
type nameCache struct {
	m sync.Map // string -> []nameHit
	n atomic.Int64
}

const maxCachedNames = 1 << 18

func (c *nameCache) hits(x *detectIndex, name string) []nameHit {
	if v, ok := c.m.Load(name); ok {
		return v.([]nameHit)
	}
	hits := x.lookup(name, nil)
	if c.n.Load() < maxCachedNames {
		if v, loaded := c.m.LoadOrStore(name, hits); loaded {
			return v.([]nameHit)
		}
		c.n.Add(1)
	}
	return hits // the planner keeps pointers into it: never reused
}

// parseGlob reads a glob with backslash escapes; a backslash at the end
// stands for itself.
func parseGlob(glob string) []globTok {
	var out []globTok
	esc := false
	for _, r := range glob {
		switch {
		case esc:
			out = append(out, globTok{r: r})
			esc = false
		case r == '\\':
			esc = true
		case r == '*':
			out = append(out, globTok{kind: tokStar})
		case r == '?':
			out = append(out, globTok{kind: tokAny})
		default:
			out = append(out, globTok{r: r})
		}
	}
	if esc {
		out = append(out, globTok{r: '\\'})
	}
	return out
}

// matchTokens matches a parsed glob against the whole of name, folding case
// as targets.MatchGlob does; linear in the pattern times the name.
func matchTokens(toks []globTok, name string) bool {
	px, nx := 0, 0
	starPx, starNx := -1, -1
	for px < len(toks) || nx < len(name) {
		if px < len(toks) {
			t := toks[px]
			switch t.kind {
			case tokStar:
				starPx, starNx = px, nx
				px++
				continue
			case tokAny:
				if nx < len(name) {
					_, w := utf8.DecodeRuneInString(name[nx:])
					px, nx = px+1, nx+w
					continue
				}
			default:
				if nx < len(name) {
					r, w := utf8.DecodeRuneInString(name[nx:])
					if foldEqual(t.r, r) {
						px, nx = px+1, nx+w
						continue
					}
				}
			}
		}
		if starPx >= 0 && starNx < len(name) {
			_, w := utf8.DecodeRuneInString(name[starNx:])
			starNx += w
			px, nx = starPx+1, starNx
			continue
		}
		return false
	}
	return true
}

// foldEqual reports whether two runes are equal under simple case folding.
func foldEqual(a, b rune) bool {
	if a == b {
		return true
	}
	for f := unicode.SimpleFold(a); f != a; f = unicode.SimpleFold(f) {
		if f == b {
			return true
		}
	}
	return false
}

// nameMatchers are the display-name matchers of one software: any matches.
type nameMatchers []nameMatcher

// match reports whether any matcher matches name, with the version the
// first matching regex captured.
func (ms nameMatchers) match(name, lower string) (bool, immy.Version) {
	for i := range ms {
		if ok, v := ms[i].match(name, lower); ok {
			return true, v
		}
	}
	return false, immy.Version{}
}

// exact reports whether a glob without wildcards among the matchers
// matches name.
func (ms nameMatchers) exact(name, lower string) bool {
	for i := range ms {
		if ms[i].literal {
			if ok, _ := ms[i].match(name, lower); ok {
				return true
			}
		}
	}
	return false
}

// firstBytes returns the first bytes the matchers pin, or false when one
// of them pins none.
func (ms nameMatchers) firstBytes() ([]byte, bool) {
	var out []byte
	for i := range ms {
		b, ok := ms[i].firstByte()
		if !ok {
			return nil, false
		}
		if !slices.Contains(out, b) {
			out = append(out, b)
		}
	}
	return out, len(out) > 0
}
