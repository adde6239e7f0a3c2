package immy

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Constraint is a compiled version constraint, checked against [Version] values
// with their own order, so four-part and longer versions (Chrome's
// 131.0.6778.86, Microsoft.Git's 2.47.0.0.3) and every form ParseVersion reads
// take part. Parse it once with [ParseConstraint]; it is immutable and safe for
// concurrent use. The zero Constraint matches every version but the zero one.
//
// Syntax: alternatives separated by "||"; each is a list of terms separated by
// spaces or commas, all of which must hold. A term is:
//
//	V, V.x, V.*   V's written segments equal: "17" holds for 17.0.13 and 17.0.13+11
//	= V, == V     equal to V ("=1.2" holds for 1.2.0, not 1.2.1)
//	!= V          not equal to V
//	> V, >= V     after V (or equal), in Version's order
//	< V, <= V     before V (or equal); when V is a plain number (no pre-release,
//	              label, revision or build), "< V" compares the numbers only, so
//	              "<18" excludes 18.0.0-rc1 as well as 18
//	~ V, ~> V     >= V, the segments written but the last equal (with one or two
//	              segments written, all of them): ~1.2.3 is >=1.2.3 <1.3,
//	              ~10.0.19045.3570 is >=10.0.19045.3570 <10.0.19046, ~1.2 is <1.3
//	^ V           >= V, the segments up to the first non-zero one equal:
//	              ^1.2.3 is <2, ^0.2.3 is <0.3, ^0.0.3 is <0.0.4
//	A - B         >= A, and <= B or B's written segments equal ("1 - 2" holds for 2.9)
//	*, x          any version
//
// A space may separate an operator from its version (">= 1.2").
type Constraint struct {
	text string
	alts [][]term
}

type term struct {
	op   string // "", "=", "!=", ">", ">=", "<", "<=", "~", "^", "-", "*"
	v, w Version
	n    int // segments written in v (for "", "~", "^"); in w for "-"
	nw   int
}

// maxConstraintLen bounds a constraint's text.
const maxConstraintLen = 1024

// ParseConstraint compiles a constraint; see [Constraint] for the syntax. A
// constraint that does not parse is an error wrapping ErrInvalid that names
// the constraint and each bad term.
func ParseConstraint(s string) (Constraint, error) {
	if len(s) > maxConstraintLen {
		return Constraint{}, fmt.Errorf("immy: constraint %.32q...: longer than %d bytes: %w", s, maxConstraintLen, ErrInvalid)
	}
	if strings.TrimSpace(s) == "" {
		return Constraint{}, fmt.Errorf("immy: empty constraint: %w", ErrInvalid)
	}
	c := Constraint{text: s}
	var errs []error
	for alt := range strings.SplitSeq(s, "||") {
		toks := strings.FieldsFunc(alt, func(r rune) bool { return r == ' ' || r == '\t' || r == ',' })
		if len(toks) == 0 {
			errs = append(errs, errors.New("an empty alternative"))
			continue
		}
		var ts []term
		for i := 0; i < len(toks); i++ {
			tok := toks[i]
			op := constraintOp(tok)
			if op == tok && op != "*" { // an operator alone: its version follows
				if i+1 >= len(toks) {
					errs = append(errs, fmt.Errorf("%q has no version", tok))
					break
				}
				i++
				tok += toks[i]
			}
			if i+2 < len(toks) && toks[i+1] == "-" && op == "" {
				t, err := hyphenTerm(tok, toks[i+2])
				if err != nil {
					errs = append(errs, err)
				}
				ts = append(ts, t)
				i += 2
				continue
			}
			t, err := parseTerm(tok)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			ts = append(ts, t)
		}
		c.alts = append(c.alts, ts)
	}
	if len(errs) > 0 {
		return Constraint{}, fmt.Errorf("immy: constraint %q: %w: %w", s, errors.Join(errs...), ErrInvalid)
	}
	return c, nil
}

// MustParseConstraint is ParseConstraint for constants in tests and examples;
// it panics on error.
func MustParseConstraint(s string) Constraint {
	c, err := ParseConstraint(s)
	if err != nil {
		panic(err)
	}
	return c
}

func constraintOp(tok string) string {
	for _, op := range []string{"==", "!=", ">=", "<=", "~>", "=", ">", "<", "~", "^"} {
		if strings.HasPrefix(tok, op) {
			return op
		}
	}
	if tok == "*" || tok == "x" || tok == "X" {
		return "*"
	}
	return ""
}

func parseTerm(tok string) (term, error) {
	op := constraintOp(tok)
	if op == "*" {
		return term{op: "*"}, nil
	}
	rest := tok[len(op):]
	switch op {
	case "==":
		op = "="
	case "~>":
		op = "~"
	}
	v, n, wild, err := constraintVersion(rest)
	if err != nil {
		return term{}, fmt.Errorf("term %q: %w", tok, err)
	}
	if wild && op != "" {
		return term{}, fmt.Errorf("term %q: a wildcard goes with no operator", tok)
	}
	if n == 0 {
		return term{op: "*"}, nil
	}
	return term{op: op, v: v, n: n}, nil
}

func hyphenTerm(a, b string) (term, error) {
	v, n, _, err := constraintVersion(a)
	if err != nil {
		return term{}, fmt.Errorf("range %q - %q: %w", a, b, err)
	}
	w, nw, _, err := constraintVersion(b)
	if err != nil {
		return term{}, fmt.Errorf("range %q - %q: %w", a, b, err)
	}
	if n == 0 || nw == 0 {
		return term{}, fmt.Errorf("range %q - %q: a range needs two versions", a, b)
	}
	return term{op: "-", v: v, n: n, w: w, nw: nw}, nil
}

// constraintVersion reads the version of a term, with trailing .x or .*
// wildcards; n is the count of numeric segments written.
func constraintVersion(s string) (Version, int, bool, error) {
	if s == "" {
		return Version{}, 0, false, errors.New("missing version")
	}
	wild := false
	for {
		t := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(s, ".x"), ".X"), ".*")
		if t == s {
			break
		}
		s, wild = t, true
	}
	if s == "*" || s == "x" || s == "X" {
		return Version{}, 0, true, nil
	}
	v, err := ParseVersion(s)
	if err != nil {
		return Version{}, 0, false, errors.New(strings.TrimPrefix(strings.TrimSuffix(err.Error(), ": "+ErrInvalid.Error()), "immy: "))
	}
	t := strings.TrimLeft(s, "vV")
	if i := strings.IndexByte(t, ':'); i > 0 && allDigits(t[:i]) {
		t = t[i+1:]
	}
	nums, _ := leadingNumbers(t)
	if _, _, ok := dateVersion(t); ok {
		nums, _, _ = dateVersion(t)
	}
	return v, len(nums), wild, nil
}

// String returns the constraint's text.
func (c Constraint) String() string { return c.text }

// Check reports whether v meets the constraint. The zero Version meets none.
func (c Constraint) Check(v Version) bool {
	if v.IsZero() {
		return false
	}
	if len(c.alts) == 0 {
		return true
	}
	for _, alt := range c.alts {
		ok := true
		for i := range alt {
			if !alt[i].check(v) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func (t *term) check(v Version) bool {
	switch t.op {
	case "*":
		return true
	case "":
		return samePrefix(v, t.v, t.n)
	case "=":
		return v.Equal(t.v)
	case "!=":
		return !v.Equal(t.v)
	case ">":
		return v.Compare(t.v) > 0
	case ">=":
		return v.Compare(t.v) >= 0
	case "<":
		if t.v.plain() {
			return compareNumbers(v, t.v) < 0
		}
		return v.Compare(t.v) < 0
	case "<=":
		return v.Compare(t.v) <= 0
	case "~":
		k := t.n
		if k >= 3 {
			k--
		}
		return v.Compare(t.v) >= 0 && samePrefix(v, t.v, k)
	case "^":
		k := t.n
		for i := range t.n {
			if t.v.segment(i) != 0 {
				k = i + 1
				break
			}
		}
		return v.Compare(t.v) >= 0 && samePrefix(v, t.v, k)
	case "-":
		return v.Compare(t.v) >= 0 && (v.Compare(t.w) <= 0 || samePrefix(v, t.w, t.nw))
	}
	return false
}

// plain reports whether v is numbers alone.
func (v Version) plain() bool {
	e := v.x()
	return e.pre == "" && e.post == "" && e.rev == "" && e.build == ""
}

// segment returns numeric segment i (from 0), zero when missing.
func (v Version) segment(i int) uint64 {
	if i < 4 {
		return v.seg[i]
	}
	rest := v.x().more
	for j := 4; rest != ""; j++ {
		x, r, _ := strings.Cut(rest, ".")
		if j == i {
			n, _ := strconv.ParseUint(x, 10, 64)
			return n
		}
		rest = r
	}
	return 0
}

// samePrefix reports whether the first n numeric segments of v and w are equal.
func samePrefix(v, w Version, n int) bool {
	for i := range n {
		if v.segment(i) != w.segment(i) {
			return false
		}
	}
	return true
}

// compareNumbers compares the numeric segments of v and w alone.
func compareNumbers(v, w Version) int {
	for i := range v.seg {
		if v.seg[i] != w.seg[i] {
			if v.seg[i] < w.seg[i] {
				return -1
			}
			return 1
		}
	}
	return compareNums(v.x().more, w.x().more)
}
