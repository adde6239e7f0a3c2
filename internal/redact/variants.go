package redact

import (
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"
)

// minEncoded is the shortest encoded transform that is masked: shorter ones
// (the hex or base64 of a one-byte secret) would hide unrelated text.
const minEncoded = 4

// b64Widen is how many base64 characters a base64 match is widened by on
// each side: the characters that mix the secret's bits with its neighbours'.
const b64Widen = 3

// pattern is one text to find.
type pattern struct {
	text  string
	widen int // base64 characters to widen a match by on each side
}

// variants returns the transforms of secret: those matched in any letter
// case, and those matched exactly.
func variants(secret string) (folded, exact []pattern) {
	add := func(list *[]pattern, p pattern) {
		if p.text == "" || slices.Contains(*list, p) {
			return
		}
		*list = append(*list, p)
	}
	add(&folded, pattern{text: secret})
	add(&exact, pattern{text: secret}) // its exact bytes, even when not UTF-8
	enc := func(s string) {
		if len(s) >= minEncoded && s != secret {
			add(&folded, pattern{text: s})
		}
	}
	enc(hex.EncodeToString([]byte(secret)))
	q := url.QueryEscape(secret)
	enc(q)
	enc(strings.ReplaceAll(q, "+", "%20"))
	enc(url.PathEscape(secret))
	// What other languages' URL escapers keep: RFC 3986's unreserved
	// characters (.NET's EscapeDataString, Python's quote(s, safe="")),
	// with the slash (Python's quote), or with !*'() (JavaScript's
	// encodeURIComponent).
	for _, keep := range []string{"-_.~", "-_.~/", "-_.~!*'()"} {
		enc(escapeExcept(secret, keep))
	}
	for _, j := range []jsonStyle{{}, {html: true}, {html: true, apos: true}, {ascii: true}, {ascii: true, slash: true}} {
		if s := jsonEscape(secret, j); s != secret {
			add(&folded, pattern{text: s})
		}
	}
	for _, e := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		b64 := func(s string) {
			if len(s) >= minEncoded {
				add(&exact, pattern{text: s, widen: b64Widen})
			}
		}
		b64(e.EncodeToString([]byte(secret)))
		raw := e.WithPadding(base64.NoPadding)
		// Inside a longer encoded text the secret starts at one of three
		// offsets in its 3-byte group; from the first whole group on, its
		// encoding does not depend on what surrounds it.
		for skip := range 3 {
			if skip >= len(secret) {
				break
			}
			rest := secret[skip:]
			b64(raw.EncodeToString([]byte(rest[:len(rest)/3*3])))
		}
	}
	return folded, exact
}

// jsonStyle is how one family of encoders escapes a JSON string.
type jsonStyle struct {
	html  bool // <, > and & as \u003c... (Go, PowerShell)
	apos  bool // ' as \u0027 (PowerShell 5)
	ascii bool // every non-ASCII character as \uXXXX (Python, PHP)
	slash bool // / as \/ (PHP)
}

// jsonEscape returns s as the inside of a JSON string.
func jsonEscape(s string, st jsonStyle) string {
	const digits = "0123456789abcdef"
	var b strings.Builder
	u := func(r rune) {
		b.WriteString(`\u`)
		for shift := 12; shift >= 0; shift -= 4 {
			b.WriteByte(digits[(r>>shift)&0xF])
		}
	}
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		i += w
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r < 0x20, r == 0x2028, r == 0x2029:
			u(r)
		case st.html && (r == '<' || r == '>' || r == '&'), st.apos && r == '\'':
			u(r)
		case st.slash && r == '/':
			b.WriteString(`\/`)
		case r == utf8.RuneError && w == 1:
			u(0xFFFD)
		case st.ascii && r >= 0x10000:
			r -= 0x10000
			u(0xD800 + (r>>10)&0x3FF)
			u(0xDC00 + r&0x3FF)
		case st.ascii && r >= utf8.RuneSelf:
			u(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Variants lists the texts m hides for secret, for documentation and
// tests: the folded ones (matched in any case) first, then the exact ones.
func Variants(secret string) []string {
	folded, exact := variants(secret)
	var out []string
	for _, p := range append(folded, exact...) {
		if !slices.Contains(out, p.text) {
			out = append(out, p.text)
		}
	}
	return out
}

// escapeExcept percent-escapes every byte of s but ASCII letters, digits and
// those in keep, with upper-case hex.
func escapeExcept(s, keep string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(keep, c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}
