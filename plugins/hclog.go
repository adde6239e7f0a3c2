package plugins

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// LevelTrace is the slog level of go-plugin's trace messages.
const LevelTrace = slog.LevelDebug - 4

// hclogAdapter is an hclog.Logger writing into a slog.Handler, so that
// go-plugin's own messages and the plugin's stderr reach the host's logger.
type hclogAdapter struct {
	h       slog.Handler // with the implied arguments applied
	name    string
	implied []any
	// mute names the child logger that go-plugin uses for the plugin's stderr,
	// which stderrWriter logs instead (go-plugin's own parser panics on some
	// malformed JSON lines, and a plugin must not bring the host down).
	mute string
	off  bool
}

// newHCLogger returns an hclog.Logger over h.
func newHCLogger(h slog.Handler, name, mute string) hclog.Logger {
	return &hclogAdapter{h: h, name: name, mute: mute}
}

var _ hclog.Logger = (*hclogAdapter)(nil)

func slogLevel(l hclog.Level) slog.Level {
	switch l {
	case hclog.Trace:
		return LevelTrace
	case hclog.Debug:
		return slog.LevelDebug
	case hclog.Warn:
		return slog.LevelWarn
	case hclog.Error:
		return slog.LevelError
	}
	return slog.LevelInfo
}

func (l *hclogAdapter) Log(level hclog.Level, msg string, args ...any) {
	if level == hclog.Off || l.off {
		return
	}
	lvl := slogLevel(level)
	ctx := context.Background()
	if !l.h.Enabled(ctx, lvl) {
		return
	}
	r := slog.NewRecord(time.Now(), lvl, msg, 0)
	if l.name != "" {
		r.AddAttrs(slog.String("logger", l.name))
	}
	r.Add(args...)
	_ = l.h.Handle(ctx, r)
}

func (l *hclogAdapter) Trace(msg string, args ...any) { l.Log(hclog.Trace, msg, args...) }
func (l *hclogAdapter) Debug(msg string, args ...any) { l.Log(hclog.Debug, msg, args...) }
func (l *hclogAdapter) Info(msg string, args ...any)  { l.Log(hclog.Info, msg, args...) }
func (l *hclogAdapter) Warn(msg string, args ...any)  { l.Log(hclog.Warn, msg, args...) }
func (l *hclogAdapter) Error(msg string, args ...any) { l.Log(hclog.Error, msg, args...) }

func (l *hclogAdapter) enabled(level hclog.Level) bool {
	return !l.off && l.h.Enabled(context.Background(), slogLevel(level))
}

func (l *hclogAdapter) IsTrace() bool { return l.enabled(hclog.Trace) }
func (l *hclogAdapter) IsDebug() bool { return l.enabled(hclog.Debug) }
func (l *hclogAdapter) IsInfo() bool  { return l.enabled(hclog.Info) }
func (l *hclogAdapter) IsWarn() bool  { return l.enabled(hclog.Warn) }
func (l *hclogAdapter) IsError() bool { return l.enabled(hclog.Error) }

func (l *hclogAdapter) ImpliedArgs() []any { return l.implied }

func (l *hclogAdapter) With(args ...any) hclog.Logger {
	if len(args) == 0 {
		return l
	}
	r := slog.NewRecord(time.Time{}, 0, "", 0)
	r.Add(args...)
	var attrs []slog.Attr
	r.Attrs(func(a slog.Attr) bool { attrs = append(attrs, a); return true })
	return &hclogAdapter{h: l.h.WithAttrs(attrs), name: l.name, implied: append(append([]any{}, l.implied...), args...), mute: l.mute, off: l.off}
}

func (l *hclogAdapter) Name() string { return l.name }

func (l *hclogAdapter) Named(name string) hclog.Logger {
	off := l.off || (l.mute != "" && name == l.mute)
	if l.name != "" {
		name = l.name + "." + name
	}
	return &hclogAdapter{h: l.h, name: name, implied: l.implied, mute: l.mute, off: off}
}

func (l *hclogAdapter) ResetNamed(name string) hclog.Logger {
	return &hclogAdapter{h: l.h, name: name, implied: l.implied, mute: l.mute, off: l.off || name == l.mute}
}

// SetLevel does nothing: the slog handler decides what is logged.
func (l *hclogAdapter) SetLevel(hclog.Level) {}

// GetLevel returns the lowest level the slog handler takes.
func (l *hclogAdapter) GetLevel() hclog.Level {
	if l.off {
		return hclog.Off
	}
	for _, lv := range []hclog.Level{hclog.Trace, hclog.Debug, hclog.Info, hclog.Warn, hclog.Error} {
		if l.enabled(lv) {
			return lv
		}
	}
	return hclog.Off
}

func (l *hclogAdapter) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	return log.New(l.StandardWriter(opts), "", 0)
}

func (l *hclogAdapter) StandardWriter(opts *hclog.StandardLoggerOptions) io.Writer {
	level := hclog.Info
	if opts != nil && opts.ForceLevel != hclog.NoLevel {
		level = opts.ForceLevel
	}
	return &lineWriter{l: l, level: level}
}

// lineWriter logs each line written to it.
type lineWriter struct {
	mu    sync.Mutex
	l     *hclogAdapter
	level hclog.Level
	buf   []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		if line := strings.TrimSpace(string(w.buf[:i])); line != "" {
			w.l.Log(w.level, line)
		}
		w.buf = w.buf[i+1:]
	}
	return len(p), nil
}

// stderrWriter logs a plugin's stderr, line by line: hclog JSON lines (what
// the SDK writes before the host services are up) at their level, other lines
// at debug, except a panic's, which are errors.
type stderrWriter struct {
	mu      sync.Mutex
	h       slog.Handler
	buf     []byte
	inPanic bool
}

// maxStderrLine bounds a line kept in the buffer; longer ones are cut.
const maxStderrLine = 64 << 10

func (w *stderrWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			if len(w.buf) > maxStderrLine {
				w.line(w.buf)
				w.buf = w.buf[:0]
			}
			break
		}
		w.line(w.buf[:i])
		w.buf = w.buf[i+1:]
	}
	return len(p), nil
}

func (w *stderrWriter) line(b []byte) {
	line := strings.TrimRight(strings.ToValidUTF8(string(b), "\uFFFD"), "\r")
	if strings.TrimSpace(line) == "" {
		return
	}
	level, msg, attrs := parseStderrLine(line, &w.inPanic)
	ctx := context.Background()
	if !w.h.Enabled(ctx, level) {
		return
	}
	r := slog.NewRecord(time.Now(), level, msg, 0)
	r.AddAttrs(slog.String("stream", "stderr"))
	r.AddAttrs(attrs...)
	_ = w.h.Handle(ctx, r)
}

// parseStderrLine reads one line of a plugin's stderr.
func parseStderrLine(line string, inPanic *bool) (slog.Level, string, []slog.Attr) {
	var raw map[string]any
	if strings.HasPrefix(line, "{") && json.Unmarshal([]byte(line), &raw) == nil {
		level := slog.LevelInfo
		if s, ok := raw["@level"].(string); ok {
			level = slogLevel(hclog.LevelFromString(s))
		}
		msg, _ := raw["@message"].(string)
		keys := make([]string, 0, len(raw))
		for k := range raw {
			if k != "@level" && k != "@message" && k != "@timestamp" && k != "@module" && k != "@caller" {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		attrs := make([]slog.Attr, 0, len(keys))
		for _, k := range keys {
			attrs = append(attrs, slog.Any(k, raw[k]))
		}
		return level, msg, attrs
	}
	switch {
	case strings.HasPrefix(line, "panic: ") || strings.HasPrefix(line, "fatal error: "):
		*inPanic = true
		return slog.LevelError, line, nil
	case *inPanic:
		return slog.LevelError, line, nil
	case strings.HasPrefix(line, "[ERROR]"):
		return slog.LevelError, line, nil
	case strings.HasPrefix(line, "[WARN]"):
		return slog.LevelWarn, line, nil
	case strings.HasPrefix(line, "[INFO]"):
		return slog.LevelInfo, line, nil
	}
	return slog.LevelDebug, line, nil
}
