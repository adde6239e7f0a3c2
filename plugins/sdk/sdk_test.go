package sdk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/immyoss/engine/plugins/internal/protocol"
	pluginv2 "github.com/immyoss/engine/plugins/proto/immy/plugin/v2"
)

func TestConfigHidesSecrets(t *testing.T) {
	cfg := NewConfig("psa", map[string]string{"url": "https://psa", "key": "s3cr3t"}, "key")
	require.Equal(t, "{key=[redacted] url=https://psa}", cfg.String())
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "cfg", cfg)
	require.Contains(t, buf.String(), "cfg.key=[redacted] cfg.url=https://psa")
	require.Equal(t, "s3cr3t", cfg.Get("key"))
	require.True(t, cfg.IsSecret("key"))
	require.Equal(t, []string{"key", "url"}, cfg.Keys())
	require.Equal(t, "psa", cfg.Instance())
}

func TestToStatus(t *testing.T) {
	tests := []struct {
		err    error
		code   codes.Code
		reason pluginv2.ErrorReason
	}{
		{fmt.Errorf("agent 7: %w", ErrOffline), codes.FailedPrecondition, pluginv2.ErrorReason_ERROR_REASON_OFFLINE},
		{ErrNoUserLoggedOn, codes.FailedPrecondition, pluginv2.ErrorReason_ERROR_REASON_NO_USER_LOGGED_ON},
		{fmt.Errorf("x: %w", ErrNotFound), codes.NotFound, pluginv2.ErrorReason_ERROR_REASON_NOT_FOUND},
		{fmt.Errorf("x: %w", ErrInvalid), codes.InvalidArgument, pluginv2.ErrorReason_ERROR_REASON_INVALID},
		{context.DeadlineExceeded, codes.DeadlineExceeded, pluginv2.ErrorReason_ERROR_REASON_UNSPECIFIED},
		{context.Canceled, codes.Canceled, pluginv2.ErrorReason_ERROR_REASON_UNSPECIFIED},
		{errors.New("plain"), codes.Unknown, pluginv2.ErrorReason_ERROR_REASON_UNSPECIFIED},
	}
	for _, tt := range tests {
		err := toStatus(tt.err, nil)
		require.Equal(t, tt.code, status.Code(err), tt.err.Error())
		require.Equal(t, tt.reason, protocol.Reason(err), tt.err.Error())
	}
	err := toStatus(errors.New("login with hunter2 failed"), masker("hunter2"))
	require.Equal(t, "login with [redacted] failed", status.Convert(err).Message())
}

// The fallback handler writes what go-plugin parses on the host: hclog's JSON.
func TestStderrHandlerFormat(t *testing.T) {
	var buf bytes.Buffer
	r := slog.NewRecord(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC), slog.LevelWarn, "careful", 0)
	r.AddAttrs(slog.Int("n", 3))
	require.NoError(t, newStderrHandler(&buf).Handle(context.Background(), r))
	var m map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &m))
	require.Equal(t, map[string]any{"@timestamp": "2026-11-23T10:00:00.000000Z", "@level": "warn", "@message": "careful", "n": float64(3)}, m)
}

func TestHostWithoutServices(t *testing.T) {
	var h *Host
	ctx := context.Background()
	require.ErrorIs(t, h.Set(ctx, "k", nil), ErrNoHost)
	_, _, err := h.Get(ctx, "k")
	require.ErrorIs(t, err, ErrNoHost)
	require.ErrorIs(t, h.Progress(ctx, "", 1, ""), ErrNoHost)
	require.NotNil(t, h.Logger())
}
