package targets

import (
	"strings"

	"github.com/immyoss/engine/immy"
)

// installedFn compiles installed(glob) for a constant glob. A glob that is
// ASCII text and a final * ("Mozilla Firefox*", the form people write)
// compares a software name's first bytes with the text, ASCII case folded,
// and leaves to MatchGlob only a name with a non-ASCII character among
// them (which may fold to ASCII: the Kelvin sign to k). MatchGlob is the
// reference: TestInstalledFnMatchesGlob and FuzzInstalledFn pin the two.
func installedFn(glob string) func(c *immy.Computer) bool {
	prefix, ok := strings.CutSuffix(glob, "*")
	if !ok || strings.ContainsAny(prefix, "*?") || !isASCII(prefix) {
		return func(c *immy.Computer) bool { return installed(c, glob) }
	}
	return func(c *immy.Computer) bool {
		for i := range c.Software {
			if globPrefixMatch(glob, prefix, c.Software[i].Name) {
				return true
			}
		}
		return false
	}
}

// globPrefixMatch is MatchGlob(glob, name) for glob = prefix + "*",
// prefix ASCII without wildcards.
func globPrefixMatch(glob, prefix, name string) bool {
	if len(name) < len(prefix) {
		return false // each character of prefix matches one of name, of a byte or more
	}
	for i := 0; i < len(prefix); i++ {
		b := name[i]
		if b >= 0x80 {
			return MatchGlob(glob, name)
		}
		if asciiConv(b, false) != asciiConv(prefix[i], false) {
			return false // name's characters so far are its bytes
		}
	}
	return true // the * takes the rest, whatever it is
}
