package sdk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/immyoss/engine/internal/redact"
	pluginv2 "github.com/immyoss/engine/plugins/proto/immy/plugin/v2"
)

// ErrNoHost: the engine serves no host services to this plugin (a host of an
// older protocol, or a test without a host).
var ErrNoHost = errors.New("sdk: no host services")

// Host is what the engine offers a plugin instance: a logger whose records
// reach the engine's log, progress reports, and a private key-value context
// that survives restarts of the plugin. A nil *Host logs to stderr, and its
// other methods return ErrNoHost.
type Host struct {
	client pluginv2.HostClient
	logger *slog.Logger
}

func newHost(client pluginv2.HostClient, level slog.Level, cfg Config) *Host {
	h := &Host{client: client}
	h.logger = slog.New(&hostHandler{client: client, level: level, redact: masker(cfg.secrets()...), fallback: stderrHandler()})
	return h
}

// Logger returns the plugin's logger. Its records go to the engine's logger,
// with the instance's id; values of secret configuration keys are hidden.
func (h *Host) Logger() *slog.Logger {
	if h == nil || h.logger == nil {
		return slog.New(stderrHandler())
	}
	return h.logger
}

// Progress reports how far an operation (a ScriptRequest.Operation, or "" for
// the instance) has come: percent from 0 to 100, negative when unknown.
func (h *Host) Progress(ctx context.Context, operation string, percent float64, message string) error {
	if h == nil || h.client == nil {
		return ErrNoHost
	}
	_, err := h.client.Progress(ctx, &pluginv2.ProgressRequest{OperationId: operation, Percent: percent, Message: message})
	return wrapHost("progress", err)
}

// Get reads key from the instance's key-value context.
func (h *Host) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if h == nil || h.client == nil {
		return nil, false, ErrNoHost
	}
	r, err := h.client.GetValue(ctx, &pluginv2.GetValueRequest{Key: key})
	if err != nil {
		return nil, false, wrapHost("get "+key, err)
	}
	return r.GetValue(), r.GetFound(), nil
}

// Set writes key (1 to 256 bytes) with a value of at most 1 MiB.
func (h *Host) Set(ctx context.Context, key string, value []byte) error {
	if h == nil || h.client == nil {
		return ErrNoHost
	}
	_, err := h.client.SetValue(ctx, &pluginv2.SetValueRequest{Key: key, Value: value})
	return wrapHost("set "+key, err)
}

// Delete removes key; an absent key is no error.
func (h *Host) Delete(ctx context.Context, key string) error {
	if h == nil || h.client == nil {
		return ErrNoHost
	}
	_, err := h.client.DeleteValue(ctx, &pluginv2.DeleteValueRequest{Key: key})
	return wrapHost("delete "+key, err)
}

// Keys lists the keys starting with prefix, sorted.
func (h *Host) Keys(ctx context.Context, prefix string) ([]string, error) {
	if h == nil || h.client == nil {
		return nil, ErrNoHost
	}
	r, err := h.client.ListKeys(ctx, &pluginv2.ListKeysRequest{Prefix: prefix})
	if err != nil {
		return nil, wrapHost("keys", err)
	}
	return r.GetKeys(), nil
}

func wrapHost(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("sdk: host %s: %w", what, err)
}

// stderrHandler writes hclog's JSON lines to stderr, which go-plugin hands to
// the engine's logger: the channel for records before the host services are up.
func stderrHandler() slog.Handler { return newStderrHandler(processStderr) }

// processStderr is the stderr the process started with: go-plugin's Serve
// redirects os.Stderr afterwards, while the engine reads the original.
var processStderr = os.Stderr

func newStderrHandler(w io.Writer) slog.Handler {
	return slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) > 0 {
				return a
			}
			switch a.Key {
			case slog.TimeKey:
				return slog.String("@timestamp", a.Value.Time().Format("2006-01-02T15:04:05.000000Z07:00"))
			case slog.LevelKey:
				return slog.String("@level", strings.ToLower(a.Value.String()))
			case slog.MessageKey:
				return slog.String("@message", a.Value.String())
			}
			return a
		},
	})
}

// hostHandler sends records to the engine through Host.Log.
type hostHandler struct {
	client   pluginv2.HostClient
	level    slog.Level
	redact   *redact.Masker
	fallback slog.Handler
	prefix   string // open groups, dotted
	attrs    []*pluginv2.LogAttr
}

func (h *hostHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

var wireLevel = map[slog.Level]pluginv2.LogLevel{
	slog.LevelDebug: pluginv2.LogLevel_LOG_LEVEL_DEBUG,
	slog.LevelInfo:  pluginv2.LogLevel_LOG_LEVEL_INFO,
	slog.LevelWarn:  pluginv2.LogLevel_LOG_LEVEL_WARN,
	slog.LevelError: pluginv2.LogLevel_LOG_LEVEL_ERROR,
}

func toWireLevel(l slog.Level) pluginv2.LogLevel {
	switch {
	case l >= slog.LevelError:
		return pluginv2.LogLevel_LOG_LEVEL_ERROR
	case l >= slog.LevelWarn:
		return pluginv2.LogLevel_LOG_LEVEL_WARN
	case l >= slog.LevelInfo:
		return pluginv2.LogLevel_LOG_LEVEL_INFO
	}
	return pluginv2.LogLevel_LOG_LEVEL_DEBUG
}

func fromWireLevel(l pluginv2.LogLevel) slog.Level {
	for k, v := range wireLevel {
		if v == l {
			return k
		}
	}
	return slog.LevelInfo
}

func (h *hostHandler) Handle(ctx context.Context, r slog.Record) error {
	req := &pluginv2.LogRequest{
		Level: toWireLevel(r.Level), Message: h.scrub(r.Message),
		Time: timestamppb.New(r.Time), Attrs: append([]*pluginv2.LogAttr(nil), h.attrs...),
	}
	r.Attrs(func(a slog.Attr) bool {
		req.Attrs = h.flatten(req.Attrs, h.prefix, a)
		return true
	})
	// The record's ctx may be ending; the log should still get through.
	sendCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if _, err := h.client.Log(sendCtx, req); err != nil {
		// The record as sent, secrets masked, to stderr instead.
		fr := slog.NewRecord(r.Time, r.Level, req.Message, r.PC)
		for _, a := range req.Attrs {
			fr.AddAttrs(slog.String(a.Key, a.Value))
		}
		return h.fallback.Handle(ctx, fr)
	}
	return nil
}

func (h *hostHandler) flatten(out []*pluginv2.LogAttr, prefix string, a slog.Attr) []*pluginv2.LogAttr {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		p := prefix
		if a.Key != "" {
			p += a.Key + "."
		}
		for _, g := range v.Group() {
			out = h.flatten(out, p, g)
		}
		return out
	}
	if a.Key == "" {
		return out
	}
	return append(out, &pluginv2.LogAttr{Key: prefix + a.Key, Value: h.scrub(v.String())})
}

// scrub hides the values of secret configuration keys, and their transforms.
func (h *hostHandler) scrub(s string) string { return h.redact.String(s) }

func (h *hostHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append([]*pluginv2.LogAttr(nil), h.attrs...)
	for _, a := range attrs {
		c.attrs = h.flatten(c.attrs, h.prefix, a)
	}
	return &c
}

func (h *hostHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.prefix = h.prefix + name + "."
	return &c
}
