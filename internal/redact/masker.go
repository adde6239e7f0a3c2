package redact

import (
	"cmp"
	"slices"
	"strings"
)

// Masker hides secret values and their transforms in text. It is immutable
// and safe for concurrent use; a nil *Masker hides nothing.
type Masker struct {
	token   string
	secrets []string // distinct, non-empty, sorted
	folded  *automaton
	exact   *automaton
}

// New returns a Masker replacing each match of a secret (or of one of its
// transforms, see the package documentation) with token. Empty secrets are
// ignored; with none left, New returns nil, which hides nothing.
func New(token string, secrets ...string) *Masker {
	var vs []string
	for _, v := range secrets {
		if v != "" {
			vs = append(vs, v)
		}
	}
	slices.Sort(vs)
	vs = slices.Compact(vs)
	if len(vs) == 0 {
		return nil
	}
	m := &Masker{token: token, secrets: vs}
	var folded, exact []pattern
	for _, v := range vs {
		f, e := variants(v)
		for _, p := range f {
			p.text = foldString(p.text)
			folded = append(folded, p)
		}
		exact = append(exact, e...)
	}
	m.folded = newAutomaton(folded)
	m.exact = newAutomaton(exact)
	return m
}

// With returns a Masker hiding m's secrets and more, with m's token (or
// token when m is nil).
func (m *Masker) With(token string, more ...string) *Masker {
	if m == nil {
		return New(token, more...)
	}
	if len(more) == 0 {
		return m
	}
	return New(m.token, append(slices.Clone(m.secrets), more...)...)
}

// Secrets returns the secret values m hides, sorted.
func (m *Masker) Secrets() []string {
	if m == nil {
		return nil
	}
	return slices.Clone(m.secrets)
}

// Token is what a match becomes.
func (m *Masker) Token() string {
	if m == nil {
		return ""
	}
	return m.token
}

// String returns s with every secret and transform hidden.
func (m *Masker) String(s string) string {
	if m == nil || s == "" {
		return s
	}
	spans, _ := m.find([]byte(s), 0, 0, true)
	if len(spans) == 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	pos := 0
	for _, sp := range spans {
		b.WriteString(s[pos:sp.start])
		b.WriteString(m.token)
		pos = sp.end
	}
	b.WriteString(s[pos:])
	return b.String()
}

// Error returns err, or, when its message shows a secret, an error whose
// message is masked and which still unwraps to err (for errors.Is and
// errors.As).
func (m *Masker) Error(err error) error {
	if m == nil || err == nil {
		return err
	}
	msg := err.Error()
	if masked := m.String(msg); masked != msg {
		return &maskedError{msg: masked, err: err}
	}
	return err
}

type maskedError struct {
	msg string
	err error
}

func (e *maskedError) Error() string { return e.msg }
func (e *maskedError) Unwrap() error { return e.err }

// find returns the merged, sorted spans of text to hide, and the offset from
// which a later chunk could still complete a match (len(text) when closing).
// carry is a span [0, carry) already known to be hidden, which widens over
// up to widen more base64 characters.
func (m *Masker) find(text []byte, carry, widen int, closing bool) ([]span, int) {
	var spans []span
	if carry > 0 {
		spans = append(spans, span{start: 0, end: carry})
	}
	spans, pe := m.exact.exact(text, spans)
	spans, pf := m.folded.folded(text, spans)
	partial := min(pe, pf)
	if widen > 0 {
		e := carry
		for n := 0; n < widen && e < len(text) && isBase64(text[e]); n++ {
			e++
		}
		spans[0].end = e
		if e == len(text) && !closing && e-carry < widen {
			spans[0].widen = widen - (e - carry) // still open
		}
	}
	for i := range spans {
		sp := &spans[i]
		if sp.widen == 0 || (i == 0 && carry > 0) {
			continue
		}
		n := 0
		for ; n < sp.widen && sp.start > 0 && isBase64(text[sp.start-1]) && text[sp.start-1] != '='; n++ {
			sp.start--
		}
		n = 0
		for ; n < sp.widen && sp.end < len(text) && isBase64(text[sp.end]); n++ {
			sp.end++
		}
		if sp.end == len(text) && !closing {
			sp.widen -= n // the rest may follow in the next chunk
		} else {
			sp.widen = 0
		}
	}
	if len(spans) > 1 {
		slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.start, b.start) })
		merged := spans[:1]
		for _, sp := range spans[1:] {
			last := &merged[len(merged)-1]
			if sp.start <= last.end {
				if sp.end > last.end {
					last.end, last.widen = sp.end, sp.widen
				} else if sp.end == last.end {
					last.widen = max(last.widen, sp.widen)
				}
				continue
			}
			merged = append(merged, sp)
		}
		spans = merged
	}
	if closing {
		return spans, len(text)
	}
	return spans, partial
}

func isBase64(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '+' || c == '/' || c == '-' || c == '_' || c == '='
}
