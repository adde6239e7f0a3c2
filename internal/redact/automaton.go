package redact

import (
	"unicode"
	"unicode/utf8"
)

// automaton finds every occurrence of a set of byte strings in one pass
// (Aho-Corasick): at each position it reports the longest pattern ending
// there, which is all masking needs, since the shorter ones lie inside it.
type automaton struct {
	nodes  []node
	root   [256]int32 // the root's edges, dense: most bytes of a text go through it
	maxLen int
}

type node struct {
	edges []edge
	fail  int32
	depth int32
	out   int32 // the length of the longest pattern ending here, 0 for none
	widen int8  // the widest widening of the patterns ending here
}

type edge struct {
	b  byte
	to int32
}

func (n *node) child(b byte) int32 {
	for _, e := range n.edges {
		if e.b == b {
			return e.to
		}
	}
	return -1
}

// newAutomaton builds the automaton of ps; nil when ps is empty.
func newAutomaton(ps []pattern) *automaton {
	if len(ps) == 0 {
		return nil
	}
	a := &automaton{nodes: []node{{}}}
	for _, p := range ps {
		s := int32(0)
		for i := 0; i < len(p.text); i++ {
			c := a.nodes[s].child(p.text[i])
			if c < 0 {
				c = int32(len(a.nodes))
				a.nodes = append(a.nodes, node{depth: a.nodes[s].depth + 1})
				a.nodes[s].edges = append(a.nodes[s].edges, edge{b: p.text[i], to: c})
			}
			s = c
		}
		n := &a.nodes[s]
		n.out = max(n.out, int32(len(p.text)))
		n.widen = max(n.widen, int8(p.widen))
		a.maxLen = max(a.maxLen, len(p.text))
	}
	for _, e := range a.nodes[0].edges {
		a.root[e.b] = e.to
	}
	// Breadth first: a node's failure link is shallower than the node.
	queue := []int32{0}
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		for _, e := range a.nodes[u].edges {
			v := e.to
			f := int32(0)
			if u != 0 {
				f = a.step(a.nodes[u].fail, e.b)
			}
			n := &a.nodes[v]
			n.fail = f
			n.out = max(n.out, a.nodes[f].out)
			n.widen = max(n.widen, a.nodes[f].widen)
			queue = append(queue, v)
		}
	}
	return a
}

// step is the state after reading b in state s.
func (a *automaton) step(s int32, b byte) int32 {
	for s != 0 {
		if c := a.nodes[s].child(b); c >= 0 {
			return c
		}
		s = a.nodes[s].fail
	}
	return a.root[b]
}

// span is a range of the text to hide.
type span struct {
	start, end int
	widen      int
}

// exact appends the matches of a in text, and returns where a match that
// text's end has begun could start (len(text) when none could).
func (a *automaton) exact(text []byte, out []span) ([]span, int) {
	if a == nil {
		return out, len(text)
	}
	s := int32(0)
	for i := 0; i < len(text); i++ {
		s = a.step(s, text[i])
		if n := &a.nodes[s]; n.out > 0 {
			out = append(out, span{start: i + 1 - int(n.out), end: i + 1, widen: int(n.widen)})
		}
	}
	return out, len(text) - int(a.nodes[s].depth)
}

// folded is exact over the case-folded text: each rune is read as its
// fold (see fold), and matches are reported in the original text's offsets.
func (a *automaton) folded(text []byte, out []span) ([]span, int) {
	if a == nil {
		return out, len(text)
	}
	// origin[k%len] is the offset in text of the rune that gave the k-th
	// folded byte; a match or partial match is never longer than maxLen.
	size := 1
	for size <= a.maxLen {
		size <<= 1
	}
	origin := make([]int, size)
	mask := size - 1
	var buf [utf8.UTFMax]byte
	s, k := int32(0), 0
	for i := 0; i < len(text); {
		if c := text[i]; c < utf8.RuneSelf {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			origin[k&mask] = i
			k++
			s = a.step(s, c)
			if n := &a.nodes[s]; n.out > 0 {
				out = append(out, span{start: origin[(k-int(n.out))&mask], end: i + 1, widen: int(n.widen)})
			}
			i++
			continue
		}
		if !utf8.FullRune(text[i:]) {
			// A character cut at the end of the text: its fold is not known
			// until the next chunk completes it, so a match may start here.
			hold := i
			if d := int(a.nodes[s].depth); d > 0 {
				hold = min(hold, origin[(k-d)&mask])
			}
			return out, hold
		}
		r, w := utf8.DecodeRune(text[i:])
		var fb []byte
		if r == utf8.RuneError && w <= 1 {
			fb = text[i : i+1]
			w = 1
		} else {
			fb = utf8.AppendRune(buf[:0], fold(r))
		}
		for _, b := range fb {
			origin[k&mask] = i
			k++
			s = a.step(s, b)
			if n := &a.nodes[s]; n.out > 0 {
				out = append(out, span{start: origin[(k-int(n.out))&mask], end: i + w, widen: int(n.widen)})
			}
		}
		i += w
	}
	if d := int(a.nodes[s].depth); d > 0 {
		return out, origin[(k-d)&mask]
	}
	return out, len(text)
}

// fold maps every rune of a case-folding orbit (k, K, the Kelvin sign) to
// one of them, the smallest.
func fold(r rune) rune {
	if r < utf8.RuneSelf {
		if 'a' <= r && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}
	m := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		m = min(m, f)
	}
	return m
}

// foldString folds every rune of s; bytes that are not UTF-8 stay as they are.
func foldString(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && w <= 1 {
			b = append(b, s[i])
			i++
			continue
		}
		b = utf8.AppendRune(b, fold(r))
		i += w
	}
	return string(b)
}
