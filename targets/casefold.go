package targets

import "strings"

// Comparisons of a converted string (expr's lower and upper, Lua's
// string.lower and string.upper: strings.ToLower and strings.ToUpper in
// both, Unicode-aware) with a constant, without building the converted
// string when the bytes that decide are ASCII.
//
// Why this is exact: strings.ToLower(s) (and ToUpper) is the concatenation
// of the conversions of s's runes, an invalid byte being a rune of its own
// (which becomes U+FFFD), and an ASCII byte is always a rune of its own
// that converts to one ASCII byte. So a run of ASCII bytes at the start
// (at the end) of s is converted, byte for byte, at the start (at the end)
// of the result, whatever the rest of s becomes. When the bytes that decide
// are not all ASCII, the functions convert s and compare as before.
// TestCaseFoldMatchesConvert and FuzzCaseFold pin them to the plain forms.

// caseConv is the conversion of one of the functions: strings.ToLower or
// strings.ToUpper.
func caseConv(upper bool) func(string) string {
	if upper {
		return strings.ToUpper
	}
	return strings.ToLower
}

// asciiConv converts an ASCII byte as strings.ToLower (ToUpper) does.
func asciiConv(b byte, upper bool) byte {
	if upper {
		if 'a' <= b && b <= 'z' {
			b -= 'a' - 'A'
		}
	} else if 'A' <= b && b <= 'Z' {
		b += 'a' - 'A'
	}
	return b
}

// convHasPrefix reports strings.HasPrefix(conv(s), k).
func convHasPrefix(s, k string, upper bool) bool {
	for i := 0; i < len(k); i++ {
		if i == len(s) {
			return false // s is ASCII and shorter than k
		}
		b := s[i]
		if b >= 0x80 {
			return strings.HasPrefix(caseConv(upper)(s), k)
		}
		if asciiConv(b, upper) != k[i] {
			return false
		}
	}
	return true
}

// convHasSuffix reports strings.HasSuffix(conv(s), k).
func convHasSuffix(s, k string, upper bool) bool {
	for i := 1; i <= len(k); i++ {
		if i > len(s) {
			return false // s is ASCII and shorter than k
		}
		b := s[len(s)-i]
		if b >= 0x80 {
			return strings.HasSuffix(caseConv(upper)(s), k)
		}
		if asciiConv(b, upper) != k[len(k)-i] {
			return false
		}
	}
	return true
}

// convEqual reports conv(s) == k.
func convEqual(s, k string, upper bool) bool {
	for i := 0; i < len(s); i++ {
		b := s[i]
		if b >= 0x80 {
			return caseConv(upper)(s) == k
		}
		if i == len(k) || asciiConv(b, upper) != k[i] {
			// every rune converts to at least one byte: conv(s) is
			// longer than k, or differs from it at i
			return false
		}
	}
	return len(s) == len(k)
}

// asciiConvString converts s, all ASCII, as strings.ToLower (ToUpper)
// would: s itself when nothing changes.
func asciiConvString(s string, upper bool) string {
	for i := 0; i < len(s); i++ {
		if asciiConv(s[i], upper) != s[i] {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				b[j] = asciiConv(b[j], upper)
			}
			return string(b)
		}
	}
	return s
}

// isASCII reports whether s is all ASCII bytes.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// convSub is luaSub(conv(s), i, j) (Lua's s:lower():sub(i, j) and
// s:upper():sub(i, j)), converting only the bytes kept when the call keeps
// a start (1 <= i, 1 <= j) or an end (i < 0, j == -1) of s that is ASCII.
func convSub(s string, i, j int, upper bool) string {
	switch {
	case i >= 1 && j >= 1:
		if head := s[:min(j, len(s))]; isASCII(head) {
			// conv(s) starts with conv(head), of head's length; when j
			// is past the end, s is head
			return luaSub(asciiConvString(head, upper), i, j)
		}
	case i < 0 && j == -1:
		if tail := s[max(len(s)+i, 0):]; isASCII(tail) {
			// conv(s) ends with conv(tail), of tail's length; when -i
			// is past the start, s is tail
			return asciiConvString(tail, upper)
		}
	}
	return luaSub(caseConv(upper)(s), i, j)
}
