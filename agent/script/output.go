package script

import (
	"bytes"
	"strings"
	"sync"

	"github.com/immyoss/engine/internal/redact"
)

// mask replaces a secret parameter's value, or a transform of it, in the output.
const mask = "********"

// maxLine bounds the partial line kept to find the last non-empty line.
const maxLine = 4096

// sink receives a script's combined output. The engine's masker
// (internal/redact) hides the secrets and their transforms in it first,
// holding back what could be the start of one until the next write; the
// masked output is then kept up to max bytes and streamed as it is kept.
// Once the cap cuts the output nothing more is kept, so kept pieces are
// always one prefix of the masked output and never join into a secret.
// The sink remembers the last non-empty line of the whole masked output.
type sink struct {
	mu        sync.Mutex
	max       int
	masker    *redact.Masker // nil without secrets
	masked    *redact.Stream
	kept      strings.Builder // String() without a copy
	truncated bool
	stream    func([]byte)
	line      []byte // the current, unfinished line
	last      string // the last finished non-empty line
}

func newSink(max int, stream func([]byte), secrets []string) *sink {
	s := &sink{max: max, stream: stream, masker: redact.New(mask, secrets...)}
	s.masked = s.masker.Stream(s.emit)
	return s
}

// Write implements io.Writer; it never fails, so a chatty script is not
// killed by a broken pipe when its output is over the cap.
func (s *sink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.masked.Write(p)
}

// close flushes what was held back.
func (s *sink) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.masked.Close()
}

// emit takes masked output.
func (s *sink) emit(p []byte) {
	s.track(p)
	if s.truncated {
		return
	}
	room := s.max - s.kept.Len()
	if len(p) > room {
		// Cut before a character rather than inside it, when the output is UTF-8.
		p = p[:redact.Cut(p, room)]
		s.truncated = true
	}
	if len(p) == 0 {
		return
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

// value is the last non-empty line of the whole output, masked as a whole.
func (s *sink) value() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := strings.TrimSpace(string(s.line)); t != "" {
		return s.masker.String(t)
	}
	return s.masker.String(s.last)
}

// result is the output kept and whether the cap cut it; the kept output is
// masked once more as a whole.
func (s *sink) result() (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.masker.String(s.kept.String()), s.truncated
}

// hide masks a text of the run that is not output (a Lua script's value).
func (s *sink) hide(text string) string { return s.masker.String(text) }
