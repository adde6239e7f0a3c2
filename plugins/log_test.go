package plugins

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/require"

	pluginv2 "github.com/immyoss/engine/plugins/proto/immy/plugin/v2"
)

// records decodes JSON log lines.
func records(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), line)
		delete(m, "time")
		out = append(out, m)
	}
	return out
}

func TestHCLogAdapter(t *testing.T) {
	var buf bytes.Buffer
	l := newHCLogger(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}), "go-plugin", "rmm-plugin")
	l.Debug("dropped: below the handler's level")
	l.With("id", 7).Named("grpc").Warn("hello", "k", "v")
	l.Named("rmm-plugin").Error("muted: the stderr logger is replaced by stderrWriter")
	require.Equal(t, hclog.Info, l.GetLevel())
	require.Equal(t, hclog.Off, l.Named("rmm-plugin").GetLevel())
	require.False(t, l.IsDebug())
	l.StandardLogger(nil).Print("from the standard logger")
	require.Equal(t, []map[string]any{
		{"level": "WARN", "msg": "hello", "id": float64(7), "logger": "go-plugin.grpc", "k": "v"},
		{"level": "INFO", "msg": "from the standard logger", "logger": "go-plugin"},
	}, records(t, &buf))
}

func TestStderrWriter(t *testing.T) {
	var buf bytes.Buffer
	w := &stderrWriter{h: slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})}
	// go-plugin writes a line, then its newline apart.
	for _, line := range []string{
		`{"@level":"warn","@message":"from the sdk","@timestamp":"2026-11-23T10:00:00.000000Z","b":2,"a":"x"}`,
		`{"@message": 1, "@level": ["not", "a", "string"]}`, // would panic go-plugin's own parser
		`plain text`,
		`panic: boom`,
		`goroutine 1 [running]:`,
	} {
		w.Write([]byte(line))
		w.Write([]byte("\n"))
	}
	require.Equal(t, []map[string]any{
		{"level": "WARN", "msg": "from the sdk", "stream": "stderr", "a": "x", "b": float64(2)},
		{"level": "INFO", "msg": "", "stream": "stderr"},
		{"level": "DEBUG", "msg": "plain text", "stream": "stderr"},
		{"level": "ERROR", "msg": "panic: boom", "stream": "stderr"},
		{"level": "ERROR", "msg": "goroutine 1 [running]:", "stream": "stderr"},
	}, records(t, &buf))
}

func TestHostServerLimits(t *testing.T) {
	var buf bytes.Buffer
	var got []Progress
	h := &hostServer{instance: "i", log: slog.New(slog.NewJSONHandler(&buf, nil)), store: &MemoryStore{}, progress: func(p Progress) { got = append(got, p) }}
	ctx := context.Background()
	_, err := h.SetValue(ctx, &pluginv2.SetValueRequest{Key: "", Value: []byte("x")})
	require.ErrorContains(t, err, "key must be 1 to 256 bytes long")
	_, err = h.SetValue(ctx, &pluginv2.SetValueRequest{Key: "k", Value: make([]byte, maxValueLen+1)})
	require.ErrorContains(t, err, "exceeds")
	_, err = h.SetValue(ctx, &pluginv2.SetValueRequest{Key: "a/1", Value: []byte("v")})
	require.NoError(t, err)
	_, err = h.SetValue(ctx, &pluginv2.SetValueRequest{Key: "b", Value: []byte("v")})
	require.NoError(t, err)
	keys, err := h.ListKeys(ctx, &pluginv2.ListKeysRequest{Prefix: "a/"})
	require.NoError(t, err)
	require.Equal(t, []string{"a/1"}, keys.GetKeys())
	_, err = h.Progress(ctx, &pluginv2.ProgressRequest{Percent: 101})
	require.ErrorContains(t, err, "out of range")
	_, err = h.Progress(ctx, &pluginv2.ProgressRequest{OperationId: "op", Percent: -5, Message: "m"})
	require.NoError(t, err)
	require.Equal(t, []Progress{{Instance: "i", Operation: "op", Percent: -1, Message: "m"}}, got)

	attrs := make([]*pluginv2.LogAttr, maxLogAttrs+3)
	for i := range attrs {
		attrs[i] = &pluginv2.LogAttr{Key: "k", Value: "v"}
	}
	_, err = h.Log(ctx, &pluginv2.LogRequest{Level: pluginv2.LogLevel_LOG_LEVEL_WARN, Message: strings.Repeat("x", maxTextLen+10), Attrs: attrs})
	require.NoError(t, err)
	recs := records(t, &buf)
	require.Len(t, recs, 1)
	require.Equal(t, "WARN", recs[0]["level"])
	require.Equal(t, float64(3), recs[0]["plugin_attrs_dropped"])
	require.Len(t, recs[0]["msg"], maxTextLen+len("…"))
}

func TestLastLine(t *testing.T) {
	for in, want := range map[string]string{"": "", "a\nb\n": "b", "a\n  \n\n": "a", "x": "x", " v \r\n": "v"} {
		require.Equal(t, want, LastLine(in), in)
	}
}
