package plugins

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/immyoss/engine/internal/redact"
)

// redactedText replaces a secret value, or a transform of one, wherever the
// host shows a plugin's words.
const redactedText = "[redacted]"

// redactor masks secret values (an instance's secret configuration values,
// a script's secret parameters) and their common transforms (other letter
// case, base64, hex, URL and JSON escaping) in text, errors and log records:
// the engine's one masker, internal/redact. A nil *redactor masks nothing.
// It is immutable once built.
type redactor struct {
	m *redact.Masker
}

// newRedactor masks values; empty values are ignored.
func newRedactor(values ...string) *redactor {
	m := redact.New(redactedText, values...)
	if m == nil {
		return nil
	}
	return &redactor{m: m}
}

// with returns a redactor masking r's values and more.
func (r *redactor) with(more ...string) *redactor {
	if r == nil {
		return newRedactor(more...)
	}
	return &redactor{m: r.m.With(redactedText, more...)}
}

// str masks the secret values in s, a whole text.
func (r *redactor) str(s string) string {
	if r == nil {
		return s
	}
	return r.m.String(s)
}

// err returns err, or, when its message shows a secret value, an error with
// the message masked that still unwraps to err (for errors.Is and errors.As).
func (r *redactor) err(err error) error {
	if r == nil {
		return err
	}
	return r.m.Error(err)
}

// stream returns a writer passing chunks on to emit with the secrets
// masked, even one cut across chunks; close it at the end.
func (r *redactor) stream(emit func([]byte)) *redact.Stream {
	if r == nil {
		return (*redact.Masker)(nil).Stream(emit)
	}
	return r.m.Stream(emit)
}

// handler wraps h so that every record it handles has the secret values
// masked: message, attribute keys and values, in groups too.
func (r *redactor) handler(h slog.Handler) slog.Handler {
	if r == nil {
		return h
	}
	return &redactHandler{h: h, r: r}
}

type redactHandler struct {
	h slog.Handler
	r *redactor
}

func (h *redactHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.h.Enabled(ctx, l) }

func (h *redactHandler) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, h.r.str(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.r.attr(a))
		return true
	})
	return h.h.Handle(ctx, out)
}

func (h *redactHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	masked := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		masked[i] = h.r.attr(a)
	}
	return &redactHandler{h: h.h.WithAttrs(masked), r: h.r}
}

func (h *redactHandler) WithGroup(name string) slog.Handler {
	return &redactHandler{h: h.h.WithGroup(h.r.str(name)), r: h.r}
}

// attr masks one attribute. A value whose text shows a secret becomes that
// text, masked.
func (r *redactor) attr(a slog.Attr) slog.Attr {
	key := r.str(a.Key)
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindGroup:
		group := v.Group()
		masked := make([]slog.Attr, len(group))
		for i, g := range group {
			masked[i] = r.attr(g)
		}
		return slog.Attr{Key: key, Value: slog.GroupValue(masked...)}
	case slog.KindString:
		return slog.String(key, r.str(v.String()))
	case slog.KindAny:
		var text string
		if err, ok := v.Any().(error); ok {
			text = err.Error()
		} else {
			text = fmt.Sprint(v.Any())
		}
		if masked := r.str(text); masked != text {
			return slog.String(key, masked)
		}
		return slog.Attr{Key: key, Value: v}
	}
	text := v.String()
	if masked := r.str(text); masked != text {
		return slog.String(key, masked)
	}
	return slog.Attr{Key: key, Value: v}
}
