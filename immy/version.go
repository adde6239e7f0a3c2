package immy

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// Version is a software version as Windows and package managers write it: one to
// four numeric segments, leading zeros allowed, optionally followed by a semver
// pre-release ("-beta.1") and build metadata ("+build.5", ignored when comparing).
//
// A Version keeps the text it was parsed from, so 23.006.20320 prints as written
// but compares equal to 23.6.20320. Missing segments count as zero: 1.2 equals 1.2.0.
// A pre-release sorts before its release, as in semver. The zero Version is "no
// version" and sorts before every parsed one.
type Version struct {
	text string
	seg  [4]uint64
	pre  string // semver pre-release, without the leading '-'
}

// ParseVersion parses s. It accepts 1 to 4 dot-separated decimal segments, each
// fitting in 64 bits, then an optional "-PRERELEASE" and "+BUILD".
func ParseVersion(s string) (Version, error) {
	if s == "" {
		return Version{}, fmt.Errorf("immy: empty version: %w", ErrInvalid)
	}
	core, build, hasBuild := strings.Cut(s, "+")
	if hasBuild && !validIdents(build, false) {
		return Version{}, fmt.Errorf("immy: version %q: invalid build metadata %q: %w", s, build, ErrInvalid)
	}
	core, pre, hasPre := strings.Cut(core, "-")
	if hasPre && !validIdents(pre, true) {
		return Version{}, fmt.Errorf("immy: version %q: invalid pre-release %q: %w", s, pre, ErrInvalid)
	}
	parts := strings.Split(core, ".")
	if len(parts) > 4 {
		return Version{}, fmt.Errorf("immy: version %q has %d numeric segments, at most 4 allowed: %w", s, len(parts), ErrInvalid)
	}
	v := Version{text: s, pre: pre}
	for i, p := range parts {
		if p == "" || strings.TrimLeft(p, "0123456789") != "" {
			return Version{}, fmt.Errorf("immy: version %q: segment %d (%q) is not a number: %w", s, i+1, p, ErrInvalid)
		}
		n, err := strconv.ParseUint(p, 10, 64)
		if err != nil {
			return Version{}, fmt.Errorf("immy: version %q: segment %d is too large: %w", s, i+1, ErrInvalid)
		}
		v.seg[i] = n
	}
	return v, nil
}

// MustParseVersion is ParseVersion for constants in tests and examples; it panics on error.
func MustParseVersion(s string) Version {
	v, err := ParseVersion(s)
	if err != nil {
		panic(err)
	}
	return v
}

// validIdents reports whether s is a non-empty dot-separated list of non-empty
// [0-9A-Za-z-] identifiers; for a pre-release, numeric identifiers must not have
// leading zeros (semver 2.0.0, item 9).
func validIdents(s string, pre bool) bool {
	if s == "" {
		return false
	}
	for id := range strings.SplitSeq(s, ".") {
		if id == "" {
			return false
		}
		numeric := true
		for _, r := range id {
			switch {
			case r >= '0' && r <= '9':
			case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r == '-':
				numeric = false
			default:
				return false
			}
		}
		if pre && numeric && len(id) > 1 && id[0] == '0' {
			return false
		}
	}
	return true
}

// IsZero reports whether v is the zero Version (no version).
func (v Version) IsZero() bool { return v.text == "" }

// String returns the text v was parsed from.
func (v Version) String() string { return v.text }

// Segments returns the four numeric segments, missing ones as zero.
func (v Version) Segments() [4]uint64 { return v.seg }

// Prerelease returns the pre-release without its leading '-', or "".
func (v Version) Prerelease() string { return v.pre }

// Compare returns -1, 0 or +1 as v sorts before, equal to or after w. The order is
// total: numeric segments first, then a pre-release before its release, then
// pre-releases by semver's rules. Build metadata and leading zeros are ignored.
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
	return comparePre(v.pre, w.pre)
}

// Equal reports whether v and w compare equal.
func (v Version) Equal(w Version) bool { return v.Compare(w) == 0 }

// Less reports whether v sorts before w.
func (v Version) Less(w Version) bool { return v.Compare(w) < 0 }

// comparePre compares two pre-releases by semver 2.0.0's precedence (item 11), the
// empty one (a release) last: dot-separated identifiers left to right, numeric
// ones numerically and before alphanumeric ones, alphanumeric ones in ASCII order,
// and a longer list after its own prefix. It is done here rather than by semver's
// Version.Compare, which refuses texts over 256 bytes and numbers over 64 bits and
// so cannot keep the order total; ParseVersion has already rejected leading zeros,
// so numbers of any size compare by length, then digit by digit.
func comparePre(a, b string) int {
	switch {
	case a == b:
		return 0
	case a == "":
		return 1
	case b == "":
		return -1
	}
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

// compareIdent compares two pre-release identifiers.
func compareIdent(x, y string) int {
	nx, ny := numeric(x), numeric(y)
	switch {
	case nx && ny:
		if len(x) != len(y) {
			return cmp.Compare(len(x), len(y))
		}
		return strings.Compare(x, y)
	case nx:
		return -1
	case ny:
		return 1
	}
	return strings.Compare(x, y)
}

func numeric(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// Semver returns v as a semver version for use with semver constraints. Only the
// first three segments carry over; a fourth non-zero segment is an error, since
// semver has no place for it.
func (v Version) Semver() (*semver.Version, error) {
	if v.IsZero() {
		return nil, fmt.Errorf("immy: zero version has no semver form: %w", ErrInvalid)
	}
	if v.seg[3] != 0 {
		return nil, fmt.Errorf("immy: version %q has four segments, which semver cannot hold: %w", v.text, ErrInvalid)
	}
	return semver.New(v.seg[0], v.seg[1], v.seg[2], v.pre, ""), nil
}

// Satisfies reports whether v meets a semver constraint such as ">= 1.2, < 2".
// Constraints are for three-part versions; see Semver.
func (v Version) Satisfies(constraint string) (bool, error) {
	c, err := semver.NewConstraint(constraint)
	if err != nil {
		return false, fmt.Errorf("immy: constraint %q: %w: %w", constraint, ErrInvalid, err)
	}
	sv, err := v.Semver()
	if err != nil {
		return false, err
	}
	return c.Check(sv), nil
}

// MarshalText implements encoding.TextMarshaler, returning the original text.
func (v Version) MarshalText() ([]byte, error) { return []byte(v.text), nil }

// UnmarshalText implements encoding.TextUnmarshaler. Empty text gives the zero Version.
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
