package immy

import (
	"cmp"
	"fmt"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// Version is a software version as Windows, installers and package managers
// write it. It keeps the text it was read from (String returns it), and
// compares by what the text means. There is one reading of a version text,
// used by the catalogue ([ParseVersion]) and by inventories
// ([ParseInventoryVersion]), so the two always agree.
//
// The rules, each with a real product that writes it:
//
//  1. Numeric segments separated by dots, any number of them, leading zeros
//     ignored and missing ones zero: Adobe Reader's 23.006.20320 equals
//     23.6.20320, 1.2 equals 1.2.0.0, Microsoft.Git's 2.47.0.0.3 keeps its
//     five segments and sorts after 2.47.0.0. A segment must fit in 64 bits.
//     A v or V before the first digit is dropped (rclone's v1.81.2 equals
//     1.81.2).
//  2. The zero Version (no text) is "no version" and sorts before every other.
//  3. A pre-release word glued to the last number, or after a dot, is a
//     pre-release, case-insensitively: dev < alpha (a) < beta (b) < pre
//     (preview) < rc (c) < the release. Python's 3.13.0a2 < 3.13.0b1 <
//     3.13.0rc1 < 3.13.0, MariaDB's 9.5.0Beta1 < 9.5.0. A lone a, b or c
//     counts only when a number follows it.
//  4. Any other letters after the last number, and a lone letter, come after
//     the release, ordered by the letters, then by the number that follows:
//     OpenSSL's 1.1.1 < 1.1.1b < 1.1.1w, OpenSSH's 9.6 < 9.6p1 < 9.6p2,
//     Unity's 6000.3.6 < 6000.3.6f1. Git for Windows' 2.29.2.windows.2 is
//     2.29.2 with the label windows.2: after 2.29.2 and 2.29.2.windows.1,
//     before 2.29.3. The words final, ga, release and stable are the release
//     (WildFly's 1.0.0.Final equals 1.0.0).
//  5. After '-' or '_', a number is a package revision, which sorts after its
//     base and by its number: OpenSSL packages' 3.0.8 < 3.0.8-1 < 3.0.8-2,
//     Homebrew's 8.15.0_1 > 8.15.0. What a distribution adds to the revision
//     (Ubuntu's 1ubuntu0.22.04.1) is kept in the text and does not compare.
//  6. After '-' (or Debian's '~', where '~' inside separates identifiers as
//     '.' does: 0.13~~git20221201 is 0.13-git.20221201), a word is a semver
//     pre-release: the
//     dot-separated identifiers (letters, digits, '-' and '_') compare numbers numerically and before words,
//     words by rule 3's order and then in ASCII order, and a longer list after
//     its own prefix: Node's 1.2.3-beta.1 < 1.2.3; 1.2.3-rc1 equals
//     1.2.3-rc.1 and 1.2.3rc1. Pre-releases compare case-insensitively.
//  7. After '+', build metadata: numbers compare when everything before them
//     is equal, so Liberica's 17.0.17+11 < 17.0.17+15 and 17.0.17 < 17.0.17+11;
//     any other build metadata (+exp.sha.5114f85, Debian's +deb12u2) is kept
//     in the text and ignored.
//  8. An ISO date, optionally with a time of day, compares as a date:
//     2024-05-01 is 2024.5.1, never 2024 with a revision; a nightly's
//     2019-01-11_00-10 is 2019.1.11.0.10; numbers after a dot continue it
//     (2026-08-17.4 is 2026.8.17.4).
//  9. A word made of letters then digits after the number, separated by a
//     dot, is read like a glued one (2.29.2.windows.2, 1.0.0.RC1). Letters and
//     digits that run on are one label (Spotify's 1.2.89.539.gfb3c63a3, a
//     commit, after 1.2.89.539), and dot-separated identifiers after the word
//     continue it: Firefox Nightly's 86.0a1.20210118214232 is the pre-release
//     alpha.1.20210118214232, before 86.0a1.20210119093715 and 86.0.
//  10. The version is the first word of the text. What follows a space or a
//     bracket is a build when it is a number in brackets or a number after the
//     word build (Zoom's 6.2.3 (47507), 2.137 (Build 571)), a pre-release when
//     it is a pre-release word ("2.0 Beta 3"), and otherwise kept in the text
//     and ignored (7-Zip's 25.01 (x64)).
//  11. A Windows resource version with commas is the same as with dots:
//     1,3,0,335 and 1, 3, 0, 335 equal 1.3.0.335.
//  12. Debian's epoch ("1:9.2p1-2") is dropped: catalogues do not write one.
//
// Anything else is refused: text that does not start with a number after
// rule 1 and 12 ("latest", "r15"), or that has characters the rules do not
// read ("1..2", "1.2-"). Text over [MaxVersionLen] bytes is refused. Compare
// is a total order: numeric segments, then pre-release (rule 3 and 6, none
// last), then the label of rule 4 (none first), then the package revision
// (none first), then a numeric build (none first). Equal is Compare == 0.
type Version struct {
	text string
	seg  [4]uint64
	// ext holds the rest of the meaning, "" for most versions (numbers
	// alone); else, joined by extSep: the segments after the fourth (no
	// leading or trailing zeros), the canonical pre-release ("" for a
	// release), the label of rule 4, the package revision and the numeric
	// build (canonical numbers). One string keeps a Version at 64 bytes.
	ext string
}

// extSep separates the parts of Version.ext; no version text yields it.
const extSep = "\x00"

// extParts are the parts of Version.ext.
type extParts struct{ more, pre, post, rev, build string }

func (v Version) x() extParts {
	if v.ext == "" {
		return extParts{}
	}
	more, rest, _ := strings.Cut(v.ext, extSep)
	e := extParts{more: more}
	e.pre, rest, _ = strings.Cut(rest, extSep)
	e.post, rest, _ = strings.Cut(rest, extSep)
	e.rev, e.build, _ = strings.Cut(rest, extSep)
	return e
}

// IsZero reports whether v is the zero Version (no version).
func (v Version) IsZero() bool { return v.text == "" }

// String returns the text v was parsed from.
func (v Version) String() string { return v.text }

// Segments returns the first four numeric segments, missing ones as zero.
func (v Version) Segments() [4]uint64 { return v.seg }

// Prerelease returns the pre-release in its canonical form (lower-case, "rc1"
// as "rc.1", "b2" as "beta.2"), or "" for a release.
func (v Version) Prerelease() string { return v.x().pre }

// Canonical returns the meaning of v as text: two versions are Equal exactly
// when their Canonical forms are the same. It is "" for the zero Version.
func (v Version) Canonical() string {
	if v.IsZero() {
		return ""
	}
	e := v.x()
	var b strings.Builder
	n := 4
	if e.more == "" {
		for n > 1 && v.seg[n-1] == 0 {
			n--
		}
	}
	for i := range n {
		if i > 0 {
			b.WriteByte('.')
		}
		fmt.Fprint(&b, v.seg[i])
	}
	if e.more != "" {
		b.WriteString("." + e.more)
	}
	if e.post != "" {
		b.WriteString("." + e.post)
	}
	if e.pre != "" {
		b.WriteString("-" + e.pre)
	}
	if e.rev != "" {
		b.WriteString("_" + e.rev)
	}
	if e.build != "" {
		b.WriteString("+" + e.build)
	}
	return b.String()
}

// Compare returns -1, 0 or +1 as v sorts before, equal to or after w, by the
// order in the type's documentation.
func (v Version) Compare(w Version) int {
	if v.IsZero() || w.IsZero() {
		switch {
		case v.IsZero() && w.IsZero():
			return 0
		case v.IsZero():
			return -1
		default:
			return 1
		}
	}
	for i := range v.seg {
		if v.seg[i] != w.seg[i] {
			if v.seg[i] < w.seg[i] {
				return -1
			}
			return 1
		}
	}
	if v.ext == w.ext {
		return 0
	}
	x, y := v.x(), w.x()
	if c := compareNums(x.more, y.more); c != 0 {
		return c
	}
	if c := comparePre(x.pre, y.pre); c != 0 {
		return c
	}
	if c := compareLabel(x.post, y.post); c != 0 {
		return c
	}
	if c := compareNums(x.rev, y.rev); c != 0 {
		return c
	}
	return compareNums(x.build, y.build)
}

// Equal reports whether v and w compare equal.
func (v Version) Equal(w Version) bool { return v.Compare(w) == 0 }

// Less reports whether v sorts before w.
func (v Version) Less(w Version) bool { return v.Compare(w) < 0 }

// compareNums compares canonical dot-separated numbers, missing ones as zero
// (canonical lists have no trailing zeros, so a longer list is higher).
func compareNums(a, b string) int {
	for a != "" || b != "" {
		x, restA, _ := strings.Cut(a, ".")
		y, restB, _ := strings.Cut(b, ".")
		if x == "" {
			x = "0"
		}
		if y == "" {
			y = "0"
		}
		if c := compareNumber(x, y); c != 0 {
			return c
		}
		a, b = restA, restB
	}
	return 0
}

// compareNumber compares two decimal numbers without leading zeros, of any size.
func compareNumber(x, y string) int {
	if len(x) != len(y) {
		return cmp.Compare(len(x), len(y))
	}
	return strings.Compare(x, y)
}

// comparePre compares two canonical pre-releases, the empty one (a release)
// last: identifiers left to right, and a longer list after its own prefix.
func comparePre(a, b string) int {
	switch {
	case a == b:
		return 0
	case a == "":
		return 1
	case b == "":
		return -1
	}
	return compareIdents(a, b)
}

// compareLabel compares two labels of rule 4, the empty one first.
func compareLabel(a, b string) int {
	switch {
	case a == b:
		return 0
	case a == "":
		return -1
	case b == "":
		return 1
	}
	return compareIdents(a, b)
}

func compareIdents(a, b string) int {
	for {
		x, restA, moreA := strings.Cut(a, ".")
		y, restB, moreB := strings.Cut(b, ".")
		if c := compareIdent(x, y); c != 0 {
			return c
		}
		switch {
		case !moreA && !moreB:
			return 0
		case !moreA:
			return -1
		case !moreB:
			return 1
		}
		a, b = restA, restB
	}
}

// compareIdent compares two canonical identifiers: numbers numerically and
// first, then the pre-release words of rule 3 in their order, then other
// words in ASCII order.
func compareIdent(x, y string) int {
	nx, ny := allDigits(x), allDigits(y)
	switch {
	case nx && ny:
		return compareNumber(x, y)
	case nx:
		return -1
	case ny:
		return 1
	}
	rx, ry := preWordRank(x), preWordRank(y)
	switch {
	case rx >= 0 && ry >= 0:
		return cmp.Compare(rx, ry)
	case rx >= 0:
		return -1
	case ry >= 0:
		return 1
	}
	return strings.Compare(x, y)
}

// Semver returns v as a semver version. Only three numeric segments and the
// pre-release carry over: a version with a non-zero fourth segment, more
// segments, a label (rule 4) or a package revision is an error, since semver
// has no place for them. Constraints do not need it: see [ParseConstraint].
func (v Version) Semver() (*semver.Version, error) {
	if v.IsZero() {
		return nil, fmt.Errorf("immy: zero version has no semver form: %w", ErrInvalid)
	}
	e := v.x()
	if v.seg[3] != 0 || e.more != "" {
		return nil, fmt.Errorf("immy: version %q has four segments, which semver cannot hold: %w", v.text, ErrInvalid)
	}
	if e.post != "" || e.rev != "" {
		return nil, fmt.Errorf("immy: version %q has a label or package revision, which semver cannot hold: %w", v.text, ErrInvalid)
	}
	return semver.New(v.seg[0], v.seg[1], v.seg[2], e.pre, e.build), nil
}

// Satisfies reports whether v meets a constraint such as ">= 1.2, < 2" or
// "~10.0.19045"; see [ParseConstraint]. The zero Version satisfies no
// constraint. To check many versions, parse the constraint once.
func (v Version) Satisfies(constraint string) (bool, error) {
	c, err := ParseConstraint(constraint)
	if err != nil {
		return false, err
	}
	if v.IsZero() {
		return false, fmt.Errorf("immy: zero version cannot satisfy %q: %w", constraint, ErrInvalid)
	}
	return c.Check(v), nil
}

// MarshalText implements encoding.TextMarshaler, returning the original text.
func (v Version) MarshalText() ([]byte, error) { return []byte(v.text), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseVersion. Empty
// text gives the zero Version.
func (v *Version) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*v = Version{}
		return nil
	}
	p, err := ParseVersion(string(b))
	if err != nil {
		return err
	}
	*v = p
	return nil
}
