package plugins

import (
	"strings"

	"github.com/immyoss/engine/immy"
)

// DefaultMaxOutput is the output kept of a script when the request sets no cap.
const DefaultMaxOutput = 1 << 20

// outputCollector keeps a script's output up to a cap and forwards every chunk
// to the request's Output callback as it comes.
type outputCollector struct {
	max       int
	buf       []byte
	truncated bool
	seen      bool // some output arrived: the script began
	fn        func([]byte)
}

func newOutputCollector(max int, fn func([]byte)) *outputCollector {
	if max <= 0 {
		max = DefaultMaxOutput
	}
	return &outputCollector{max: max, fn: fn}
}

func (o *outputCollector) write(p []byte) {
	if len(p) == 0 {
		return
	}
	o.seen = true
	if room := o.max - len(o.buf); room < len(p) {
		o.truncated = true
		if room > 0 {
			o.buf = append(o.buf, p[:room]...)
		}
	} else {
		o.buf = append(o.buf, p...)
	}
	if o.fn != nil {
		o.fn(p)
	}
}

// result builds the ScriptResult; an empty value is the output's last non-empty line.
func (o *outputCollector) result(exit int, value string) immy.ScriptResult {
	out := strings.ToValidUTF8(string(o.buf), "\uFFFD")
	if value == "" {
		value = LastLine(out)
	}
	return immy.ScriptResult{ExitCode: exit, Output: out, Truncated: o.truncated, Value: value}
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
