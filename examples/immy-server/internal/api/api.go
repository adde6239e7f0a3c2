// Package api is the example server's HTTP API: JSON over net/http's
// pattern routing, one error shape, API tokens with roles, and live events
// as Server-Sent Events. Routes lists every route with who may call it;
// the OpenAPI document and the access test are made from it.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/immyoss/engine/examples/immy-server/internal/auth"
	"github.com/immyoss/engine/examples/immy-server/internal/core"
)

// Access says who may call a route.
type Access int

// The levels of access.
const (
	Public      Access = iota // no token
	TenantScope               // any token; a tenant-user sees its tenant only
	MSP                       // msp-admin and msp-technician
	AdminOnly                 // msp-admin
)

// Route is one route of the API.
type Route struct {
	Method, Path string
	Access       Access
	Summary      string
	// Body names the request body's schema, Reply the answer's (OpenAPI).
	Body, Reply string
	Status      int // the status of success
	// Fails lists the error statuses it may answer beyond those of its
	// access and method (OpenAPI).
	Fails   []int
	handler func(http.ResponseWriter, *http.Request)
}

// PluginInstance is a plugin instance as the API shows it.
type PluginInstance struct {
	ID            string    `json:"id"`
	Path          string    `json:"path"`
	SHA256        string    `json:"sha256,omitempty"`
	Name          string    `json:"name,omitempty"`
	Version       string    `json:"version,omitempty"`
	State         string    `json:"state"`
	Restarts      int       `json:"restarts"`
	Healthy       bool      `json:"healthy"`
	HealthMessage string    `json:"health_message,omitempty"`
	CheckedAt     time.Time `json:"checked_at,omitzero"`
	Error         string    `json:"error,omitempty"`
	Agents        int       `json:"agents"`
	// Settings lists the names of the instance's settings: their values,
	// secrets among them, are never shown.
	Settings []string `json:"settings,omitempty"`
}

// Plugins lists plugin instances with their health, and restarts one.
type Plugins interface {
	Instances(ctx context.Context) []PluginInstance
	// Restart stops the instance and starts it again from its
	// configuration; an id not configured is immy.ErrNotFound.
	Restart(ctx context.Context, id string) (PluginInstance, error)
}

// Config configures a Handler.
type Config struct {
	Core      *core.Core
	Tokens    *auth.Store
	Logger    *slog.Logger
	Metrics   *Metrics
	Plugins   Plugins
	PublicURL string
}

// Handler serves the API.
type Handler struct {
	cfg    Config
	c      *core.Core
	log    *slog.Logger
	mux    *http.ServeMux
	routes []Route
	ready  atomic.Bool
	// streams bounds the open event streams
	streams StreamLimit
}

// New returns the API's handler.
func New(cfg Config) *Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics()
	}
	h := &Handler{cfg: cfg, c: cfg.Core, log: cfg.Logger, mux: http.NewServeMux()}
	h.streams.PerToken, h.streams.Total = maxStreamsPerToken, maxStreams
	h.routes = h.makeRoutes()
	for _, rt := range h.routes {
		h.mux.Handle(rt.Method+" "+rt.Path, h.wrap(rt))
	}
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, errNotFound("route "+r.Method+" "+r.URL.Path))
	})
	return h
}

// Routes returns every route of the API.
func (h *Handler) Routes() []Route { return h.routes }

// SetReady says whether /readyz answers ready.
func (h *Handler) SetReady(ok bool) { h.ready.Store(ok) }

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// wrap authenticates and authorises a route's requests, and measures them.
func (h *Handler) wrap(rt Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: 200}
		defer func() {
			h.cfg.Metrics.request(rt.Method+" "+rt.Path, sw.status, time.Since(start))
		}()
		if rt.Access != Public {
			tok, err := h.authenticate(r)
			if err != nil {
				sw.Header().Set("WWW-Authenticate", `Bearer realm="immy-server"`)
				h.fail(sw, r, err)
				return
			}
			switch {
			case rt.Access == AdminOnly && tok.Role == auth.Technician:
				writeJSON(sw, http.StatusForbidden, &Error{Code: CodeForbidden, Message: "this needs an msp-admin token"})
				return
			case rt.Access >= MSP && tok.Role == auth.TenantUser:
				// a tenant-user does not learn what exists beyond its tenant
				writeJSON(sw, http.StatusNotFound, errNotFound("route "+r.Method+" "+r.URL.Path))
				return
			}
			r = r.WithContext(auth.With(r.Context(), tok))
		}
		rt.handler(sw, r)
		if rt.Access != Public && r.Method != http.MethodGet && sw.status < 400 {
			tok := token(r)
			a := auth.Action{Actor: tok.Actor(), Tenant: tok.Tenant, Method: r.Method, Path: r.URL.Path, Status: sw.status}
			if err := h.cfg.Tokens.Record(context.WithoutCancel(r.Context()), a); err != nil {
				h.log.Error("mutation not audited", "err", err, "actor", a.Actor, "path", a.Path)
			}
		}
	})
}

func (h *Handler) authenticate(r *http.Request) (auth.Token, error) {
	v := r.Header.Get("Authorization")
	secret, ok := strings.CutPrefix(v, "Bearer ")
	if !ok || secret == "" {
		return auth.Token{}, &Error{Status: http.StatusUnauthorized, Code: CodeUnauthorized, Message: "an API token is required: Authorization: Bearer TOKEN"}
	}
	t, err := h.cfg.Tokens.Authenticate(r.Context(), strings.TrimSpace(secret))
	if err != nil {
		if err == auth.ErrUnauthorized {
			return t, &Error{Status: http.StatusUnauthorized, Code: CodeUnauthorized, Message: "the API token is not valid (unknown, expired or revoked)"}
		}
		return t, err
	}
	return t, nil
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// Flush lets Server-Sent Events through.
func (s *statusWriter) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// token returns the request's token (every route but the public ones has one).
func token(r *http.Request) auth.Token {
	t, _ := auth.From(r.Context())
	return t
}

func (h *Handler) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (h *Handler) readyz(w http.ResponseWriter, r *http.Request) {
	if !h.ready.Load() {
		writeJSON(w, http.StatusServiceUnavailable, &Error{Code: CodeUnavailable, Message: "not ready"})
		return
	}
	if err := h.c.Fleet.Refresh(r.Context()); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, &Error{Code: CodeUnavailable, Message: "the database does not answer"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ready", "revision": h.c.Fleet.Revision()})
}
