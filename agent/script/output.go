package script

import (
	"bytes"
	"strings"
	"sync"
	"unicode/utf8"
)

// mask replaces a secret parameter's value in the output.
const mask = "********"

// maxLine bounds the partial line kept to find the last non-empty line.
const maxLine = 4096

// sink receives a script's combined output: it hides secrets, keeps up to
// max bytes, streams what it keeps, and remembers the last non-empty line of
// the whole output (kept or not).
type sink struct {
	mu        sync.Mutex
	max       int
	kept      strings.Builder // String() without a copy
	truncated bool
	stream    func([]byte)
	secrets   []string // longest first
	hold      []byte   // the tail that may be the start of a secret
	line      []byte   // the current, unfinished line
	last      string   // the last finished non-empty line
}

func newSink(max int, stream func([]byte), secrets []string) *sink {
	s := &sink{max: max, stream: stream}
	for _, v := range secrets {
		if v != "" {
			s.secrets = append(s.secrets, v)
		}
	}
	// Longest first, so a secret that contains another is masked whole.
	for i := 1; i < len(s.secrets); i++ {
		for j := i; j > 0 && len(s.secrets[j]) > len(s.secrets[j-1]); j-- {
			s.secrets[j], s.secrets[j-1] = s.secrets[j-1], s.secrets[j]
		}
	}
	return s
}

// Write implements io.Writer; it never fails, so a chatty script is not
// killed by a broken pipe when its output is over the cap.
func (s *sink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.secrets) == 0 {
		s.emit(p)
		return len(p), nil
	}
	buf := append(s.hold, p...)
	for _, sec := range s.secrets {
		if bytes.Contains(buf, []byte(sec)) {
			buf = bytes.ReplaceAll(buf, []byte(sec), []byte(mask))
		}
	}
	keep := len(s.secrets[0]) - 1 // a secret's start may be at the end
	if keep > len(buf) {
		keep = len(buf)
	}
	s.emit(buf[:len(buf)-keep])
	s.hold = append(s.hold[:0:0], buf[len(buf)-keep:]...)
	return len(p), nil
}

// close flushes what was held back.
func (s *sink) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.hold) > 0 {
		s.emit(s.hold)
		s.hold = nil
	}
}

func (s *sink) emit(p []byte) {
	if len(p) == 0 {
		return
	}
	s.track(p)
	room := s.max - s.kept.Len()
	if room <= 0 {
		s.truncated = true
		return
	}
	if len(p) > room {
		// Cut before a character rather than inside it, when the output is UTF-8.
		cut := room
		for k := 1; k < utf8.UTFMax && cut > 0 && !utf8.RuneStart(p[cut]); k++ {
			cut--
		}
		if !utf8.RuneStart(p[cut]) {
			cut = room
		}
		p = p[:cut]
		s.truncated = true
	}
	s.kept.Write(p)
	if s.stream != nil {
		s.stream(bytes.Clone(p))
	}
}

// track follows lines to remember the last non-empty one.
func (s *sink) track(p []byte) {
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		part := p
		if i >= 0 {
			part = p[:i]
		}
		if room := maxLine - len(s.line); room > 0 {
			s.line = append(s.line, part[:min(room, len(part))]...)
		}
		if i < 0 {
			return
		}
		if t := strings.TrimSpace(string(s.line)); t != "" {
			s.last = t
		}
		s.line = s.line[:0]
		p = p[i+1:]
	}
}

// value is the last non-empty line of the whole output.
func (s *sink) value() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := strings.TrimSpace(string(s.line)); t != "" {
		return t
	}
	return s.last
}

func (s *sink) result() (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.kept.String(), s.truncated
}
