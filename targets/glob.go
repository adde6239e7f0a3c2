package targets

import (
	"unicode"
	"unicode/utf8"
)

// MatchGlob reports whether name matches the glob pattern, ignoring case. In
// the pattern, * matches any run of characters (the empty one included) and ?
// matches exactly one character; every other character stands for itself.
// Filters use it for installed("Adobe Acrobat*").
func MatchGlob(pattern, name string) bool {
	px, nx := 0, 0
	// Where to resume after a mismatch: just after the last star, with the star
	// swallowing one more character of name.
	starPx, starNx := -1, -1
	for px < len(pattern) || nx < len(name) {
		if px < len(pattern) {
			pc, pw := utf8.DecodeRuneInString(pattern[px:])
			switch pc {
			case '*':
				starPx, starNx = px, nx
				px += pw
				continue
			case '?':
				if nx < len(name) {
					_, nw := utf8.DecodeRuneInString(name[nx:])
					px += pw
					nx += nw
					continue
				}
			default:
				if nx < len(name) {
					nc, nw := utf8.DecodeRuneInString(name[nx:])
					if equalFold(pc, nc) {
						px += pw
						nx += nw
						continue
					}
				}
			}
		}
		if starPx >= 0 && starNx < len(name) {
			_, nw := utf8.DecodeRuneInString(name[starNx:])
			starNx += nw
			px, nx = starPx+1, starNx
			continue
		}
		return false
	}
	return true
}

// equalFold reports whether two runes are equal under simple Unicode case folding.
func equalFold(a, b rune) bool {
	if a == b {
		return true
	}
	if a < utf8.RuneSelf && b < utf8.RuneSelf {
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		return a == b
	}
	for f := unicode.SimpleFold(a); f != a; f = unicode.SimpleFold(f) {
		if f == b {
			return true
		}
	}
	return false
}
