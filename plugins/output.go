package plugins

import (
	"bytes"
	"strings"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/internal/redact"
)

// DefaultMaxOutput is the output kept of a script when the request sets no cap.
const DefaultMaxOutput = 1 << 20

// outputCollector keeps a script's output up to a cap and forwards it to the
// request's Output callback as it comes. The secrets (the instance's and
// the request's) and their transforms are masked before anything is kept or
// forwarded, whatever the plugin did: a chunk's tail that may start a secret
// is held back until the next chunk. Once the cap cuts the output nothing
// more is kept, so the kept output is one prefix of the masked output.
type outputCollector struct {
	max       int
	red       *redactor
	masked    *redact.Stream
	buf       []byte
	truncated bool
	seen      bool // some output arrived: the script began
	fn        func([]byte)
}

func newOutputCollector(max int, fn func([]byte), red *redactor) *outputCollector {
	if max <= 0 {
		max = DefaultMaxOutput
	}
	o := &outputCollector{max: max, fn: fn, red: red}
	o.masked = red.stream(o.keep)
	return o
}

func (o *outputCollector) write(p []byte) {
	if len(p) == 0 {
		return
	}
	o.seen = true
	o.masked.Write(p)
}

// keep takes masked output.
func (o *outputCollector) keep(p []byte) {
	if !o.truncated {
		if room := o.max - len(o.buf); room < len(p) {
			o.truncated = true
			o.buf = append(o.buf, p[:redact.Cut(p, room)]...)
		} else {
			o.buf = append(o.buf, p...)
		}
	}
	if o.fn != nil {
		o.fn(bytes.Clone(p))
	}
}

// close passes on what the masking held back; result calls it.
func (o *outputCollector) close() { o.masked.Close() }

// result builds the ScriptResult; an empty value is the output's last
// non-empty line. The output and value are masked once more, whole.
func (o *outputCollector) result(exit int, value string) immy.ScriptResult {
	o.close()
	out := o.red.str(strings.ToValidUTF8(string(o.buf), "\uFFFD"))
	if value == "" {
		value = LastLine(out)
	}
	return immy.ScriptResult{ExitCode: exit, Output: out, Truncated: o.truncated, Value: o.red.str(value)}
}

// LastLine returns the last non-empty line of s, trimmed of surrounding space:
// the value of a shell script.
func LastLine(s string) string {
	for s != "" {
		i := strings.LastIndexByte(s, '\n')
		line := strings.TrimSpace(s[i+1:])
		if line != "" {
			return line
		}
		if i < 0 {
			break
		}
		s = s[:i]
	}
	return ""
}
