package plugins

import (
	"context"
	"log/slog"
	"math"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pluginv2 "github.com/immyoss/engine/plugins/proto/immy/plugin/v2"
)

// Limits of the host services.
const (
	maxKeyLen   = 256
	maxValueLen = 1 << 20
	maxLogAttrs = 64
)

// hostServer serves the host services to one plugin instance.
type hostServer struct {
	pluginv2.UnimplementedHostServer
	instance string
	log      *slog.Logger
	red      *redactor // masks secrets before clip could cut one in two
	store    Store
	progress func(Progress)
}

var logLevelOf = map[pluginv2.LogLevel]slog.Level{
	pluginv2.LogLevel_LOG_LEVEL_DEBUG: slog.LevelDebug,
	pluginv2.LogLevel_LOG_LEVEL_INFO:  slog.LevelInfo,
	pluginv2.LogLevel_LOG_LEVEL_WARN:  slog.LevelWarn,
	pluginv2.LogLevel_LOG_LEVEL_ERROR: slog.LevelError,
}

func (h *hostServer) Log(ctx context.Context, r *pluginv2.LogRequest) (*pluginv2.LogResponse, error) {
	level, ok := logLevelOf[r.GetLevel()]
	if !ok {
		level = slog.LevelInfo
	}
	handler := h.log.Handler()
	if !handler.Enabled(ctx, level) {
		return &pluginv2.LogResponse{}, nil
	}
	t := time.Now()
	if ts := r.GetTime(); ts != nil && ts.CheckValid() == nil {
		t = ts.AsTime()
	}
	rec := slog.NewRecord(t, level, clip(h.red.str(r.GetMessage())), 0)
	for i, a := range r.GetAttrs() {
		if i == maxLogAttrs {
			rec.AddAttrs(slog.Int("plugin_attrs_dropped", len(r.GetAttrs())-maxLogAttrs))
			break
		}
		rec.AddAttrs(slog.String(clip(h.red.str(a.GetKey())), clip(h.red.str(a.GetValue()))))
	}
	if err := handler.Handle(ctx, rec); err != nil {
		return nil, status.Error(codes.Internal, "log: "+err.Error())
	}
	return &pluginv2.LogResponse{}, nil
}

// minLogLevel is the least severe level h keeps, for the plugin to send no less.
func minLogLevel(h slog.Handler) pluginv2.LogLevel {
	ctx := context.Background()
	switch {
	case h.Enabled(ctx, slog.LevelDebug):
		return pluginv2.LogLevel_LOG_LEVEL_DEBUG
	case h.Enabled(ctx, slog.LevelInfo):
		return pluginv2.LogLevel_LOG_LEVEL_INFO
	case h.Enabled(ctx, slog.LevelWarn):
		return pluginv2.LogLevel_LOG_LEVEL_WARN
	}
	return pluginv2.LogLevel_LOG_LEVEL_ERROR
}

func clip(s string) string {
	if len(s) > maxTextLen {
		s = s[:maxTextLen] + "…"
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

func (h *hostServer) Progress(_ context.Context, r *pluginv2.ProgressRequest) (*pluginv2.ProgressResponse, error) {
	p := r.GetPercent()
	if math.IsNaN(p) || p > 100 {
		return nil, status.Errorf(codes.InvalidArgument, "progress: percent %v out of range", p)
	}
	if p < 0 {
		p = -1
	}
	if h.progress != nil {
		h.progress(Progress{Instance: h.instance, Operation: clip(r.GetOperationId()), Percent: p, Message: clip(h.red.str(r.GetMessage()))})
	}
	return &pluginv2.ProgressResponse{}, nil
}

func checkKey(key string) error {
	if key == "" || len(key) > maxKeyLen {
		return status.Errorf(codes.InvalidArgument, "key must be 1 to %d bytes long", maxKeyLen)
	}
	return nil
}

func (h *hostServer) GetValue(ctx context.Context, r *pluginv2.GetValueRequest) (*pluginv2.GetValueResponse, error) {
	if err := checkKey(r.GetKey()); err != nil {
		return nil, err
	}
	v, ok, err := h.store.Get(ctx, h.instance, r.GetKey())
	if err != nil {
		return nil, status.Error(codes.Unavailable, "store: "+err.Error())
	}
	return &pluginv2.GetValueResponse{Found: ok, Value: v}, nil
}

func (h *hostServer) SetValue(ctx context.Context, r *pluginv2.SetValueRequest) (*pluginv2.SetValueResponse, error) {
	if err := checkKey(r.GetKey()); err != nil {
		return nil, err
	}
	if len(r.GetValue()) > maxValueLen {
		return nil, status.Errorf(codes.InvalidArgument, "value of %d bytes exceeds %d", len(r.GetValue()), maxValueLen)
	}
	if err := h.store.Set(ctx, h.instance, r.GetKey(), r.GetValue()); err != nil {
		return nil, status.Error(codes.Unavailable, "store: "+err.Error())
	}
	return &pluginv2.SetValueResponse{}, nil
}

func (h *hostServer) DeleteValue(ctx context.Context, r *pluginv2.DeleteValueRequest) (*pluginv2.DeleteValueResponse, error) {
	if err := checkKey(r.GetKey()); err != nil {
		return nil, err
	}
	if err := h.store.Delete(ctx, h.instance, r.GetKey()); err != nil {
		return nil, status.Error(codes.Unavailable, "store: "+err.Error())
	}
	return &pluginv2.DeleteValueResponse{}, nil
}

func (h *hostServer) ListKeys(ctx context.Context, r *pluginv2.ListKeysRequest) (*pluginv2.ListKeysResponse, error) {
	keys, err := h.store.Keys(ctx, h.instance, r.GetPrefix())
	if err != nil {
		return nil, status.Error(codes.Unavailable, "store: "+err.Error())
	}
	return &pluginv2.ListKeysResponse{Keys: keys}, nil
}
