package plugins

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
)

// redactedText replaces a secret value wherever the host shows a plugin's words.
const redactedText = "[redacted]"

// redactor masks secret values (an instance's secret configuration values,
// a script's secret parameters) in text, errors and log records. Its zero
// value, and a nil *redactor, mask nothing. It is immutable once built.
type redactor struct {
	values []string // non-empty, longest first
	r      *strings.Replacer
}

// newRedactor masks values; empty values are ignored.
func newRedactor(values ...string) *redactor {
	var vs []string
	for _, v := range values {
		if v != "" && !slices.Contains(vs, v) {
			vs = append(vs, v)
		}
	}
	if len(vs) == 0 {
		return nil
	}
	// Longest first, so that a secret containing another is masked whole
	// (a Replacer tries its pairs in argument order).
	slices.SortFunc(vs, func(a, b string) int {
		if c := cmp.Compare(len(b), len(a)); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	pairs := make([]string, 0, 2*len(vs))
	for _, v := range vs {
		pairs = append(pairs, v, redactedText)
	}
	return &redactor{values: vs, r: strings.NewReplacer(pairs...)}
}

// with returns a redactor masking r's values and more.
func (r *redactor) with(more ...string) *redactor {
	if r == nil {
		return newRedactor(more...)
	}
	return newRedactor(append(slices.Clone(r.values), more...)...)
}

// str masks the secret values in s.
func (r *redactor) str(s string) string {
	if r == nil {
		return s
	}
	return r.r.Replace(s)
}

// err returns err, or, when its message shows a secret value, an error with
// the message masked that still unwraps to err (for errors.Is and errors.As).
func (r *redactor) err(err error) error {
	if r == nil || err == nil {
		return err
	}
	msg := err.Error()
	if masked := r.str(msg); masked != msg {
		return &redactedError{msg: masked, err: err}
	}
	return err
}

// redactedError shows the message of err with secret values masked.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

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
