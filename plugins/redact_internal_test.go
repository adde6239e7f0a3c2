package plugins

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
)

func TestRedactor(t *testing.T) {
	r := newRedactor("pw", "", "pw-long", "pw")
	tests := []struct{ in, want string }{
		{"", ""},
		{"nothing here", "nothing here"},
		{"a pw b", "a [redacted] b"},
		{"pw-long first", "[redacted] first"},        // the longer secret is masked whole
		{"pwpw", "[redacted]"},                       // one token for touching matches
		{"PW and cHc=", "[redacted] and [redacted]"}, // other case, base64
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, r.str(tt.in)); diff != "" {
			t.Errorf("str(%q) (-want +got):\n%s", tt.in, diff)
		}
	}

	var nilR *redactor
	require.Equal(t, "pw", nilR.str("pw"))
	require.Nil(t, newRedactor("", ""))
	require.Equal(t, "x [redacted] [redacted]", nilR.with("pw", "x2").str("x pw x2"))
	require.Equal(t, "[redacted] [redacted]", r.with("extra").str("pw extra"))

	plain := fmt.Errorf("no secret: %w", immy.ErrOffline)
	require.Same(t, plain, r.err(plain), "an error without a secret is returned as is")
	crash := &CrashError{Instance: "i", Call: "RunScript", Err: errors.New("token pw")}
	err := r.err(fmt.Errorf("wrapped: %w", crash))
	require.Equal(t, `wrapped: plugins: instance "i": RunScript: plugin process exited during the call: token [redacted]`, err.Error())
	require.ErrorIs(t, err, ErrCrashed)
	var ce *CrashError
	require.ErrorAs(t, err, &ce)
	require.Nil(t, r.err(nil))
}

func TestRedactHandler(t *testing.T) {
	var buf bytes.Buffer
	r := newRedactor("hunter2")
	log := slog.New(r.handler(slog.NewTextHandler(&buf, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	})))
	log.With("token", "hunter2").WithGroup("g").Info("login hunter2",
		"err", errors.New("bad hunter2"), "list", []string{"a", "hunter2"}, "n", 7,
		slog.Group("inner", "v", "xhunter2x"), "hunter2", "key")
	require.Equal(t, `level=INFO msg="login [redacted]" token=[redacted] g.err="bad [redacted]" g.list="[a [redacted]]" g.n=7 g.inner.v=x[redacted]x g.[redacted]=key`+"\n", buf.String())

	// No secrets: the handler is the one given.
	h := slog.NewTextHandler(&buf, nil)
	require.Same(t, slog.Handler(h), newRedactor().handler(h))
}

func TestScriptErrorMarks(t *testing.T) {
	tests := []struct {
		name                  string
		err                   error
		seen                  bool
		offline, notDelivered bool
	}{
		{name: "offline before output", err: fmt.Errorf("x: %w", immy.ErrOffline), offline: true, notDelivered: true},
		{name: "offline after output", err: fmt.Errorf("x: %w", immy.ErrOffline), seen: true, offline: true},
		{name: "crash", err: &CrashError{Instance: "i", Call: "RunScript", Err: errors.New("EOF")}, offline: true},
		{name: "stopped mid-call", err: fmt.Errorf("x: %w", ErrStopped), offline: true},
		{name: "plugin error", err: errors.New("plugin error: boom")},
		{name: "no user", err: fmt.Errorf("x: %w", immy.ErrNoUserLoggedOn)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := scriptError(tt.err, tt.seen)
			require.ErrorIs(t, err, tt.err, "the original error is kept")
			require.Equal(t, tt.offline, errors.Is(err, immy.ErrOffline), "offline")
			require.Equal(t, tt.notDelivered, errors.Is(err, ErrNotDelivered), "not delivered")
			require.Equal(t, tt.err.Error(), err.Error())
		})
	}
}
