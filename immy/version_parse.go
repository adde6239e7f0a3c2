package immy

import (
	"fmt"
	"strconv"
	"strings"
)

// MaxVersionLen bounds the text of a version: longer text is refused by
// ParseVersion and read as an unknown version by ParseInventoryVersion.
const MaxVersionLen = 256

// ParseVersion reads s as a version by the rules of the [Version] documentation.
// Text that holds no version ("latest", "r15") is an error wrapping ErrInvalid
// that names the text and what was wrong; so is a number too large for 64 bits.
// The catalogue, deployments and prerequisites read their versions with it.
func ParseVersion(s string) (Version, error) {
	return readVersion(s)
}

// ParseInventoryVersion reads a version as an inventory reports it (a registry's
// DisplayVersion, dpkg's or rpm's Version) by the same rules as ParseVersion,
// which it calls: the two agree on every text ParseVersion accepts. Where
// ParseVersion refuses the text, it returns the zero Version, which an
// inventory entry keeps as "present, version unknown", never as "absent".
func ParseInventoryVersion(s string) Version {
	v, err := readVersion(s)
	if err != nil {
		return Version{}
	}
	return v
}

// MustParseVersion is ParseVersion for constants in tests and examples; it panics on error.
func MustParseVersion(s string) Version {
	v, err := ParseVersion(s)
	if err != nil {
		panic(err)
	}
	return v
}

func versionErr(s, format string, args ...any) error {
	return fmt.Errorf("immy: version %q: %s: %w", s, fmt.Sprintf(format, args...), ErrInvalid)
}

// readVersion is the one reading of a version text; see the Version documentation
// for its rules, numbered as there.
func readVersion(s string) (Version, error) {
	if strings.TrimSpace(s) == "" {
		return Version{}, fmt.Errorf("immy: empty version: %w", ErrInvalid)
	}
	if len(s) > MaxVersionLen {
		return Version{}, fmt.Errorf("immy: version %.32q...: longer than %d bytes: %w", s, MaxVersionLen, ErrInvalid)
	}
	v := &parsed{}
	t := strings.TrimSpace(s)
	// rule 11: resource versions, "1,3,0,335" or "1, 3, 0, 335"
	if nums, ok := commaVersion(t); ok {
		if err := v.setNumbers(s, nums); err != nil {
			return Version{}, err
		}
		return v.version(s), nil
	}
	// rule 10: the version is the first word; what follows a space or an
	// opening bracket is read by readTail
	end := strings.IndexAny(t, " \t(")
	if end < 0 {
		end = len(t)
	}
	tok, tail := t[:end], strings.TrimSpace(t[end:])
	// rule 1: a v prefix; rule 12: a Debian epoch
	if len(tok) > 1 && (tok[0] == 'v' || tok[0] == 'V') && isDigit(tok[1]) {
		tok = tok[1:]
	}
	if i := strings.IndexByte(tok, ':'); i > 0 && allDigits(tok[:i]) && i+1 < len(tok) && isDigit(tok[i+1]) {
		tok = tok[i+1:]
	}
	if tok == "" || !isDigit(tok[0]) {
		return Version{}, versionErr(s, "no version: a version starts with a number")
	}
	// rule 8: ISO dates and dated builds
	nums, r, ok := dateVersion(tok)
	if !ok {
		nums, r = leadingNumbers(tok)
	} else if len(r) > 1 && r[0] == '.' && isDigit(r[1]) { // "2026-08-17.4"
		more, rest := leadingNumbers(r[1:])
		nums, r = append(nums, more...), rest
	}
	if err := v.setNumbers(s, nums); err != nil {
		return Version{}, err
	}
	if err := v.readSuffix(s, r); err != nil {
		return Version{}, err
	}
	v.readTail(tail)
	return v.version(s), nil
}

// parsed is a version while it is read: the parts of Version.ext apart.
type parsed struct {
	seg                         [4]uint64
	more, pre, post, rev, build string
}

// version packs what was read into a Version of text s.
func (p *parsed) version(s string) Version {
	v := Version{text: s, seg: p.seg}
	if p.more != "" || p.pre != "" || p.post != "" || p.rev != "" || p.build != "" {
		v.ext = p.more + extSep + p.pre + extSep + p.post + extSep + p.rev + extSep + p.build
	}
	return v
}

// leadingNumbers splits the dot-separated numbers at the start of tok from
// the rest; a dot not followed by a digit is left to the rest.
func leadingNumbers(tok string) ([]string, string) {
	var nums []string
	i := 0
	for {
		j := i
		for j < len(tok) && isDigit(tok[j]) {
			j++
		}
		nums = append(nums, tok[i:j])
		if j+1 < len(tok) && tok[j] == '.' && isDigit(tok[j+1]) {
			i = j + 1
			continue
		}
		return nums, tok[j:]
	}
}

// commaVersion reads "1,3,0,335" and "1, 3, 0, 335": numbers separated by
// commas and nothing else.
func commaVersion(t string) ([]string, bool) {
	if !strings.Contains(t, ",") {
		return nil, false
	}
	parts := strings.Split(t, ",")
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if !allDigits(p) {
			return nil, false
		}
		parts[i] = p
	}
	return parts, true
}

// dateVersion reads an ISO date at the start of tok, YYYY-MM-DD, optionally
// followed by a time of day (T, _ or . then HH-MM, HH:MM or HH.MM, and seconds
// the same way), as numeric segments.
func dateVersion(tok string) ([]string, string, bool) {
	if len(tok) < 10 || tok[4] != '-' || tok[7] != '-' || !allDigits(tok[:4]) || !allDigits(tok[5:7]) || !allDigits(tok[8:10]) {
		return nil, "", false
	}
	if len(tok) > 10 && isDigit(tok[10]) {
		return nil, "", false
	}
	m, d := atoi2(tok[5:7]), atoi2(tok[8:10])
	if m < 1 || m > 12 || d < 1 || d > 31 {
		return nil, "", false
	}
	nums := []string{tok[:4], tok[5:7], tok[8:10]}
	r := tok[10:]
	if len(r) >= 6 && (r[0] == 'T' || r[0] == '_' || r[0] == '.') && allDigits(r[1:3]) && (r[3] == '-' || r[3] == ':' || r[3] == '.') && allDigits(r[4:6]) && (len(r) == 6 || !isDigit(r[6])) {
		nums = append(nums, r[1:3], r[4:6])
		r = r[6:]
		if len(r) >= 3 && (r[0] == '-' || r[0] == ':' || r[0] == '.') && allDigits(r[1:3]) && (len(r) == 3 || !isDigit(r[3])) {
			nums = append(nums, r[1:3])
			r = r[3:]
		}
	}
	return nums, r, true
}

func atoi2(s string) int { return int(s[0]-'0')*10 + int(s[1]-'0') }

// setNumbers keeps the numeric segments: the first four in seg, the others,
// without trailing zeros, in more.
func (v *parsed) setNumbers(s string, nums []string) error {
	var more []string
	for i, p := range nums {
		if p == "" {
			return versionErr(s, "segment %d is empty", i+1)
		}
		n, err := strconv.ParseUint(p, 10, 64)
		if err != nil {
			return versionErr(s, "segment %d is too large", i+1)
		}
		if i < 4 {
			v.seg[i] = n
		} else {
			more = append(more, strconv.FormatUint(n, 10))
		}
	}
	for len(more) > 0 && more[len(more)-1] == "0" {
		more = more[:len(more)-1]
	}
	v.more = strings.Join(more, ".")
	return nil
}

// readSuffix reads what follows the numbers within the version's word: a
// glued or dotted word (rules 3, 4, 9), a pre-release or package revision
// after '-', '~' or '_' (rules 5, 6), build metadata after '+' (rule 7).
func (v *parsed) readSuffix(s, r string) error {
	// rules 3, 4, 9: "3.13.0rc1", "9.5.0Beta1", "1.1.1w", "9.6p1", "2.29.2.windows.2"
	if w := r; len(w) > 0 && (isLetter(w[0]) || len(w) > 1 && w[0] == '.' && isLetter(w[1])) {
		w = strings.TrimPrefix(w, ".")
		i := 0
		for i < len(w) && isLetter(w[i]) {
			i++
		}
		word := strings.ToLower(w[:i])
		rest := w[i:]
		num := ""
		if len(rest) > 1 && rest[0] == '.' && isDigit(rest[1]) || len(rest) > 0 && isDigit(rest[0]) {
			rest = strings.TrimPrefix(rest, ".")
			j := 0
			for j < len(rest) && isDigit(rest[j]) {
				j++
			}
			num, rest = canonNum(rest[:j]), rest[j:]
		}
		runOn := false
		if len(rest) > 0 && isAlnum(rest[0]) {
			// letters and digits that run on ("gfb3c63a3", a commit): one label
			j := 0
			for j < len(rest) && isAlnum(rest[j]) {
				j++
			}
			word, num, runOn = strings.ToLower(w[:len(w)-len(rest)+j]), "", true
			rest = rest[j:]
		}
		// more dot-separated identifiers continue the word ("86.0a1.20210118214232",
		// Firefox Nightly; "1.0b8.4")
		more := ""
		for len(rest) > 1 && rest[0] == '.' && isAlnum(rest[1]) {
			j := 1
			for j < len(rest) && isAlnum(rest[j]) {
				j++
			}
			more += rest[:j]
			rest = rest[j:]
		}
		if more != "" {
			more, _ = canonPre(more[1:])
			more = "." + more
		}
		switch {
		case word == "x" && num == "" && !runOn:
			return versionErr(s, "%q is a wildcard, not a version", r)
		case releaseWords[word] && !runOn:
			// "1.0.0.Final" is the release
			v.post = strings.TrimPrefix(more, ".")
		case preWordRank(canonPreWord(word)) >= 0 && (num != "" || len(word) > 1) && !runOn:
			v.pre = canonPreWord(word)
			if num != "" {
				v.pre += "." + num
			}
			v.pre += more
		default:
			v.post = word
			if num != "" {
				v.post += "." + num
			}
			v.post += more
		}
		r = rest
	}
	// rules 5 and 6: "-beta.1", "~rc2", "-1", "_1"
	if len(r) > 1 && (r[0] == '-' || r[0] == '~' || r[0] == '_') {
		sep := r[0]
		body := r[1:]
		if isDigit(body[0]) && sep != '~' {
			// a package revision: dotted numbers, then a distribution's tail
			// ("1ubuntu0.22.04.1", "2+deb12u2") that does not compare
			nums, rest := leadingNumbers(body)
			v.rev = canonNums(nums)
			k := 0
			for k < len(rest) && rest[k] != '+' {
				if !isIdentByte(rest[k]) && rest[k] != '~' {
					return versionErr(s, "unexpected %q in the package revision", rest[k:])
				}
				k++
			}
			r = rest[k:]
		} else if v.pre == "" {
			stop := "+"
			if sep != '-' {
				stop = "+-"
			}
			k := strings.IndexAny(body, stop)
			if k < 0 {
				k = len(body)
			}
			p := body[:k]
			if sep == '~' { // Debian sorts "~~" and "~" alike before the release
				p = strings.Join(strings.FieldsFunc(p, func(r rune) bool { return r == '~' || r == '.' }), ".")
			}
			pre, ok := canonPre(p)
			if !ok {
				return versionErr(s, "invalid pre-release %q", body[:k])
			}
			v.pre = pre
			r = body[k:]
			if len(r) > 1 && r[0] == '-' && isDigit(r[1]) { // "3.0.8~beta1-1"
				return v.readSuffix(s, r)
			}
		} else {
			return versionErr(s, "unexpected %q after the pre-release", r)
		}
	}
	// rule 7: "+11", "+build.5"
	if len(r) > 0 && r[0] == '+' {
		b := r[1:]
		if b == "" {
			return versionErr(s, "invalid build metadata %q", b)
		}
		numeric := true
		for i := 0; i < len(b); i++ {
			c := b[i]
			switch {
			case isDigit(c):
			case c == '.':
				if i == 0 || i == len(b)-1 || b[i-1] == '.' {
					numeric = false
				}
			case isIdentByte(c) || c == '~' || c == '+':
				numeric = false
			default:
				return versionErr(s, "invalid build metadata %q", b)
			}
		}
		if numeric {
			v.build = canonNums(strings.Split(b, "."))
		}
		r = ""
	}
	if r != "" {
		return versionErr(s, "unexpected %q after the version", r)
	}
	return nil
}

// readTail reads the text after the version's word (rule 10): a build in
// brackets or after the word "build", a pre-release word ("2.0 Beta 3");
// anything else ("(x64)", "64-bit") is kept in the text and ignored.
func (v *parsed) readTail(tail string) {
	if tail == "" {
		return
	}
	f := strings.FieldsFunc(strings.ToLower(tail), func(r rune) bool {
		return r == ' ' || r == '\t' || r == '(' || r == ')' || r == '[' || r == ']' || r == ':' || r == ','
	})
	if len(f) == 0 {
		return
	}
	switch {
	case allDigits(f[0]) && strings.HasPrefix(tail, "("):
		if v.build == "" {
			v.build = canonNums([]string{f[0]})
		}
	case f[0] == "build" && len(f) > 1 && allDigits(f[1]):
		if v.build == "" {
			v.build = canonNums([]string{f[1]})
		}
	case preWordRank(canonPreWord(f[0])) >= 0 && len(f[0]) > 1 && v.pre == "" && v.post == "":
		v.pre = canonPreWord(f[0])
		if len(f) > 1 && allDigits(f[1]) {
			v.pre += "." + canonNum(f[1])
		}
	default:
		// a word run into its number: "beta2", "build571"
		i := 0
		for i < len(f[0]) && isLetter(f[0][i]) {
			i++
		}
		w, n := f[0][:i], f[0][i:]
		if n == "" || !allDigits(n) {
			return
		}
		switch {
		case w == "build" && v.build == "":
			v.build = canonNums([]string{n})
		case preWordRank(canonPreWord(w)) >= 0 && v.pre == "" && v.post == "":
			v.pre = canonPreWord(w) + "." + canonNum(n)
		}
	}
}

// releaseWords name the release itself.
var releaseWords = map[string]bool{"final": true, "ga": true, "release": true, "stable": true}

// preWords are the pre-release words, in order; a, b and c are short for
// alpha, beta and rc, preview is pre.
var preWords = []string{"dev", "alpha", "beta", "pre", "rc"}

func canonPreWord(w string) string {
	switch w {
	case "a":
		return "alpha"
	case "b":
		return "beta"
	case "c":
		return "rc"
	case "preview":
		return "pre"
	}
	return w
}

// preWordRank is the place of a canonical pre-release word, -1 for another.
func preWordRank(w string) int {
	for i, p := range preWords {
		if w == p {
			return i
		}
	}
	return -1
}

// canonPre reads a pre-release after '-' or '~': dot-separated identifiers of
// letters, digits, hyphens and underscores. They are lower-cased, a word run into a number
// is split ("rc1" is "rc.1"), a, b, c and preview become alpha, beta, rc and
// pre, numbers lose their leading zeros.
func canonPre(p string) (string, bool) {
	if p == "" {
		return "", false
	}
	var out []string
	for id := range strings.SplitSeq(strings.ToLower(p), ".") {
		if id == "" {
			return "", false
		}
		for i := 0; i < len(id); i++ {
			if !isIdentByte(id[i]) {
				return "", false
			}
		}
		i := 0
		for i < len(id) && isLetter(id[i]) {
			i++
		}
		switch {
		case allDigits(id):
			out = append(out, canonNum(id))
		case i > 0 && i < len(id) && allDigits(id[i:]):
			out = append(out, canonPreWord(id[:i]), canonNum(id[i:]))
		case i == len(id):
			out = append(out, canonPreWord(id))
		default:
			out = append(out, id)
		}
	}
	return strings.Join(out, "."), true
}

// canonNum drops a number's leading zeros.
func canonNum(n string) string {
	n = strings.TrimLeft(n, "0")
	if n == "" {
		return "0"
	}
	return n
}

// canonNums joins numbers without leading zeros, dropping trailing zeros.
func canonNums(nums []string) string {
	out := make([]string, len(nums))
	for i, n := range nums {
		out[i] = canonNum(n)
	}
	for len(out) > 0 && out[len(out)-1] == "0" {
		out = out[:len(out)-1]
	}
	return strings.Join(out, ".")
}

func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isAlnum(c byte) bool  { return isDigit(c) || isLetter(c) }
func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isIdentByte(c byte) bool {
	return isDigit(c) || isLetter(c) || c == '-' || c == '.' || c == '_'
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}
