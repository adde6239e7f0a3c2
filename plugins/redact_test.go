package plugins_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/plugins"
)

// A plugin that echoes its secret configuration value in its errors, health
// messages, log records and stderr: the host masks it everywhere. Protocol
// version 1 has no SDK, so there the host alone stands between the secret and
// the engine's log; with version 2 the SDK masks it first.
func TestSecretsMasked(t *testing.T) {
	const secret = "tok-S3CRET-4f7a"
	for _, tt := range []struct {
		name      string
		args      []string
		logLines  []string // masked lines that must reach the log
		notFound  bool     // ListAgents's error keeps its category
		healthErr string
	}{
		{name: "protocol 1", args: []string{"-protocol=1"}, logLines: []string{"logging in with token [redacted]", `"msg":"token [redacted]"`, `"token":"[redacted]"`}},
		{name: "protocol 2", logLines: []string{"debug: logging in with token [redacted]", `"msg":"logging in with token [redacted]"`}, notFound: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			path, sum := testPlugin(t)
			ctx := context.Background()
			in, err := h.m.Start(ctx, plugins.Spec{
				ID: "leaky", Path: path, SHA256: sum, Args: tt.args,
				Config: map[string]string{"token": secret, "leak": "true"}, Secrets: []string{"token"},
			})
			require.NoError(t, err)

			_, err = in.Agents(ctx)
			require.Error(t, err)
			require.NotContains(t, err.Error(), secret)
			require.Contains(t, err.Error(), "token [redacted]")
			if tt.notFound {
				require.ErrorIs(t, err, immy.ErrNotFound, "masking keeps the error's category")
			}

			err = in.Health(ctx)
			require.ErrorIs(t, err, plugins.ErrUnhealthy)
			require.NotContains(t, err.Error(), secret)
			require.Contains(t, err.Error(), "token [redacted] refused")
			require.Equal(t, "token [redacted] refused", in.Status().HealthMessage)

			require.Eventually(t, func() bool {
				logs := h.logs.String()
				for _, l := range tt.logLines {
					if !strings.Contains(logs, l) {
						return false
					}
				}
				return true
			}, 10*time.Second, 10*time.Millisecond, "the plugin's lines reach the log, masked")
			require.NotContains(t, h.logs.String(), secret)
		})
	}
}
