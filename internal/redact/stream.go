package redact

import "unicode/utf8"

// Stream masks text that arrives in chunks (a running script's output) and
// passes it on, masked, to a function. A secret cut across chunks is still
// hidden: each Write holds back the tail that could be the start of a
// secret or transform, or the base64 characters a match may still widen
// over, and masks it with what follows; Close passes on what is held. What
// is held is bounded by the longest transform of the Masker's secrets plus
// a few bytes. A Stream is not safe for concurrent use.
type Stream struct {
	m       *Masker
	emit    func([]byte)
	pending []byte
	carry   int  // pending[:carry] is hidden, its token already passed on
	widen   int  // base64 characters the carried span may still widen over
	touch   bool // what was passed on ends with a token: a span at 0 joins it
	closed  bool
}

// Stream returns a Stream passing masked text to emit, which may keep the
// slice it is given. A nil Masker's Stream passes text on as it comes.
func (m *Masker) Stream(emit func([]byte)) *Stream {
	return &Stream{m: m, emit: emit}
}

// Write masks p with what came before and passes on what can no longer
// be part of a secret. It never fails.
func (s *Stream) Write(p []byte) (int, error) {
	if len(p) == 0 || s.closed {
		return len(p), nil
	}
	if s.m == nil {
		s.emit(append([]byte(nil), p...))
		return len(p), nil
	}
	s.pending = append(s.pending, p...)
	s.flush(false)
	return len(p), nil
}

// Close passes on what was held back. Later writes are ignored.
func (s *Stream) Close() {
	if s.closed {
		return
	}
	if s.m != nil {
		s.flush(true)
	}
	s.closed = true
}

// Held is how many bytes are waiting for the next chunk.
func (s *Stream) Held() int { return len(s.pending) }

func (s *Stream) flush(closing bool) {
	text := s.pending
	spans, partial := s.m.find(text, s.carry, s.widen, closing)
	cut := len(text)
	if !closing {
		// Keep the characters a match starting at partial may widen over.
		cut = max(partial-b64Widen, 0)
	}
	var out []byte
	pos, carry, widen, touch := 0, 0, 0, false
	for _, sp := range spans {
		continuing := sp.start == 0 && (s.carry > 0 || s.touch) // its token is already out
		if sp.start >= cut && !continuing {
			break
		}
		out = append(out, text[pos:sp.start]...)
		if !continuing {
			out = append(out, s.m.token...)
		}
		if sp.end > cut || sp.widen > 0 {
			// Hidden on past the cut: the rest stays hidden next time.
			carry, widen, pos = sp.end-cut, sp.widen, cut
			break
		}
		pos = sp.end
		touch = pos == cut
	}
	if pos < cut {
		out = append(out, text[pos:cut]...)
	} else if cut == 0 {
		touch = s.touch // nothing passed on: what was, still ends as it did
	}
	s.pending = append([]byte(nil), text[cut:]...)
	s.carry, s.widen, s.touch = carry, widen, touch
	if len(out) > 0 {
		s.emit(out)
	}
}

// Cut returns where to cut p to keep at most n bytes: n, or less so as not
// to cut a UTF-8 character in two (bytes that are not UTF-8 are cut anywhere).
func Cut(p []byte, n int) int {
	if n >= len(p) {
		return len(p)
	}
	for j := n - 1; j >= 0 && j > n-utf8.UTFMax; j-- {
		if utf8.RuneStart(p[j]) {
			if r, w := utf8.DecodeRune(p[j:]); (r != utf8.RuneError || w > 1) && j+w > n {
				return j
			}
			break
		}
	}
	return max(n, 0)
}
