// Package console is the example server's web console: server-rendered
// pages (html/template, embedded) over the server's own JSON API, with a
// little plain JavaScript for the live parts.
//
// A person signs in with an API token. The console keeps the token in
// memory, server side, under a random session id it sets as a cookie
// (HttpOnly, Secure, SameSite=Strict); every page calls the API in-process
// with that token, so that roles, tenant scoping (a tenant-user gets "not
// found" for anything beyond its tenant) and the audit log are the API's
// own. Every form carries the session's CSRF token; the sign-in form a
// double-submit one. Live pages follow the API's Server-Sent Events
// through the console's own event routes (a browser's EventSource sends
// the cookie, not an Authorization header).
package console

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/immyoss/engine/examples/immy-server/internal/api"
	"github.com/immyoss/engine/examples/immy-server/internal/auth"
	"github.com/immyoss/engine/examples/immy-server/internal/core"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Prefix is where the console is mounted.
const Prefix = "/console/"

const (
	cookieName   = "immy_console"
	signinCookie = "immy_console_signin"
	sessionTTL   = 12 * time.Hour
	maxSessions  = 10000
	maxPerToken  = 20 // signed-in sessions of one token; its oldest goes first
	bodyReadTime = 10 * time.Second
	// live-output streams: per token, and how often one re-checks its token
	maxOutputStreams = 4
	outputRecheck    = 5 * time.Second
	maxFormBytes     = 64 << 10
	maxAPIReply      = 32 << 20
	maxFilterBytes   = 16 << 10
)

// Config configures a Console.
type Config struct {
	// API is the server's JSON API handler (internal/api): every page
	// reads and writes through it with the signed-in token.
	API http.Handler
	// Tokens authenticates the token given at sign-in.
	Tokens *auth.Store
	// Core, when set, gives the live session page its scripts' output as
	// this process's engines run them (the journal keeps no output).
	Core   *core.Core
	Logger *slog.Logger
}

// Console serves the web console under Prefix.
type Console struct {
	cfg  Config
	log  *slog.Logger
	mux  *http.ServeMux
	tmpl map[string]*template.Template

	out     *outputs
	streams api.StreamLimit // open live-output streams

	mu       sync.Mutex
	sessions map[string]*webSession
	seq      uint64 // numbers sessions in sign-in order
	limit    int    // the table's bound; 0 is maxSessions (tests lower it)
}

// webSession is one signed-in browser.
type webSession struct {
	id      string
	secret  string // the API token; never leaves the server
	token   auth.Token
	csrf    string
	expires time.Time
	seq     uint64 // sign-in order: the lowest is the oldest
}

// New returns the console.
func New(cfg Config) (*Console, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Console{cfg: cfg, log: cfg.Logger, mux: http.NewServeMux(), sessions: map[string]*webSession{}, tmpl: map[string]*template.Template{}}
	c.streams.PerToken, c.streams.Total = maxOutputStreams, 512
	pages, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, p := range pages {
		name := strings.TrimSuffix(strings.TrimPrefix(p, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", p)
		if err != nil {
			return nil, fmt.Errorf("console: template %s: %w", name, err)
		}
		c.tmpl[name] = t
	}
	if cfg.Core != nil {
		c.out = newOutputs(cfg.Core)
		c.out.start()
	}
	static, _ := fs.Sub(staticFS, "static")
	c.mux.Handle("GET /console/static/", http.StripPrefix("/console/static/", http.FileServerFS(static)))
	c.mux.HandleFunc("GET /console/signin", c.signinPage)
	c.mux.HandleFunc("POST /console/signin", c.signin)
	c.mux.HandleFunc("POST /console/signout", c.with(c.signout))
	c.mux.HandleFunc("GET /console/{$}", c.with(func(w http.ResponseWriter, r *http.Request, s *webSession) {
		http.Redirect(w, r, "/console/fleet", http.StatusSeeOther)
	}))
	c.routes()
	return c, nil
}

// Close stops following the engines' script output.
func (c *Console) Close() {
	if c.out != nil {
		c.out.close()
	}
}

func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	c.mux.ServeHTTP(w, r)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: Prefix, MaxAge: maxAge,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
}

// current returns the request's signed-in session, if any.
func (c *Console) current(r *http.Request) *webSession {
	ck, err := r.Cookie(cookieName)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.sessions[ck.Value]
	if s == nil {
		return nil
	}
	if time.Now().After(s.expires) {
		delete(c.sessions, s.id)
		return nil
	}
	return s
}

// with requires a signed-in session, and a valid CSRF token on anything but
// GET and HEAD.
func (c *Console) with(fn func(http.ResponseWriter, *http.Request, *webSession)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := c.current(r)
		if s == nil {
			if r.Method == http.MethodGet && !strings.HasSuffix(r.URL.Path, "/events") {
				http.Redirect(w, r, "/console/signin?next="+urlQuery(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			http.Error(w, "sign in first", http.StatusUnauthorized)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
			got := r.Header.Get("X-CSRF-Token")
			if got == "" {
				got = r.PostFormValue("csrf")
			}
			if subtle.ConstantTimeCompare([]byte(got), []byte(s.csrf)) != 1 {
				http.Error(w, "the form is stale or forged (CSRF token): reload the page", http.StatusForbidden)
				return
			}
		}
		fn(w, r, s)
	}
}

func urlQuery(s string) string {
	return strings.NewReplacer("%", "%25", "&", "%26", "?", "%3F", "#", "%23", "+", "%2B", " ", "%20").Replace(s)
}

// safeNext keeps a redirect after sign-in inside the console.
func safeNext(next string) string {
	if !strings.HasPrefix(next, Prefix) || strings.HasPrefix(next, "//") || strings.Contains(next, "\\") {
		return "/console/fleet"
	}
	return next
}

func (c *Console) signinPage(w http.ResponseWriter, r *http.Request) {
	tok := randomHex(16)
	setCookie(w, signinCookie, tok, 600)
	c.render(w, r, http.StatusOK, "signin", nil, map[string]any{"SigninCSRF": tok, "Next": safeNext(r.URL.Query().Get("next"))})
}

func (c *Console) signin(w http.ResponseWriter, r *http.Request) {
	// The server sets no ReadTimeout (the /agent WebSocket); bound this
	// body's read here.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(bodyReadTime))
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	ck, err := r.Cookie(signinCookie)
	form := r.PostFormValue("csrf")
	if err != nil || form == "" || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(form)) != 1 {
		http.Error(w, "the sign-in form is stale or forged (CSRF token): reload the page", http.StatusForbidden)
		return
	}
	secret := strings.TrimSpace(r.PostFormValue("token"))
	t, err := c.cfg.Tokens.Authenticate(r.Context(), secret)
	if err != nil {
		tok := randomHex(16)
		setCookie(w, signinCookie, tok, 600)
		msg := "That API token is not valid (unknown, expired or revoked)."
		if !errors.Is(err, auth.ErrUnauthorized) {
			c.log.Error("console: sign-in", "err", err)
			msg = "The server could not check the token; try again."
		}
		c.render(w, r, http.StatusUnauthorized, "signin", nil, map[string]any{"SigninCSRF": tok, "Error": msg, "Next": safeNext(r.PostFormValue("next"))})
		return
	}
	s := &webSession{id: randomHex(32), secret: secret, token: t, csrf: randomHex(32), expires: time.Now().Add(sessionTTL)}
	c.addSession(s, time.Now())
	setCookie(w, signinCookie, "", -1)
	setCookie(w, cookieName, s.id, int(sessionTTL/time.Second))
	c.log.Info("console: signed in", "actor", t.Actor())
	http.Redirect(w, r, safeNext(r.PostFormValue("next")), http.StatusSeeOther)
}

// addSession stores a signed-in session. No token holds more than
// maxPerToken sessions (its oldest goes), and a full table drops its oldest
// session: one token's sign-ins can never lock another out.
func (c *Console) addSession(s *webSession, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var mine []*webSession
	for id, o := range c.sessions {
		switch {
		case now.After(o.expires):
			delete(c.sessions, id)
		case o.token.ID == s.token.ID:
			mine = append(mine, o)
		}
	}
	for len(mine) >= maxPerToken {
		old := 0
		for i, o := range mine {
			if o.seq < mine[old].seq {
				old = i
			}
		}
		delete(c.sessions, mine[old].id)
		mine = append(mine[:old], mine[old+1:]...)
	}
	limit := c.limit
	if limit == 0 {
		limit = maxSessions
	}
	for len(c.sessions) >= limit {
		var old *webSession
		for _, o := range c.sessions {
			if old == nil || o.seq < old.seq {
				old = o
			}
		}
		delete(c.sessions, old.id)
	}
	c.seq++
	s.seq = c.seq
	c.sessions[s.id] = s
}

func (c *Console) signout(w http.ResponseWriter, r *http.Request, s *webSession) {
	c.mu.Lock()
	delete(c.sessions, s.id)
	c.mu.Unlock()
	setCookie(w, cookieName, "", -1)
	http.Redirect(w, r, "/console/signin", http.StatusSeeOther)
}

// apiError is the API's error shape.
type apiError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Fields  []struct {
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"fields"`
}

func (e *apiError) Error() string {
	var b strings.Builder
	b.WriteString(e.Message)
	for _, f := range e.Fields {
		fmt.Fprintf(&b, "; %s: %s", f.Field, f.Message)
	}
	return b.String()
}

// recorder collects an in-process API reply.
type recorder struct {
	h      http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.h }
func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}
func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = 200
	}
	if r.body.Len()+len(p) > maxAPIReply {
		return 0, errors.New("console: API reply too large")
	}
	return r.body.Write(p)
}

// api calls the API in-process as the session's token and decodes its JSON
// reply into out. An answer of 400 or more is an *apiError.
func (c *Console) api(ctx context.Context, s *webSession, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+s.secret)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := &recorder{h: http.Header{}}
	c.cfg.API.ServeHTTP(rec, req)
	if rec.status >= 400 {
		e := &apiError{Status: rec.status}
		if json.Unmarshal(rec.body.Bytes(), e) != nil || e.Message == "" {
			e.Message = http.StatusText(rec.status)
		}
		return e
	}
	if out != nil {
		if err := json.Unmarshal(rec.body.Bytes(), out); err != nil {
			return fmt.Errorf("console: %s %s: %w", method, path, err)
		}
	}
	return nil
}

// proxyEvents serves one of the API's event streams to the browser, as
// the session's token.
func (c *Console) proxyEvents(w http.ResponseWriter, r *http.Request, s *webSession, path string) {
	req := r.Clone(r.Context())
	req.URL.Path, req.URL.RawPath, req.RequestURI = path, "", ""
	req.Header = http.Header{"Authorization": {"Bearer " + s.secret}}
	if v := r.Header.Get("Last-Event-ID"); v != "" {
		req.Header.Set("Last-Event-ID", v)
	}
	c.cfg.API.ServeHTTP(w, req)
}

// page is what every page's template gets.
type page struct {
	Title   string
	Nav     string
	Session *webSession
	CSRF    string
	Actor   string
	Role    string
	Tenant  string
	MSP     bool
	Admin   bool
	Flash   string
	Data    any
}

func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, s *webSession, data any) {
	t := c.tmpl[name]
	p := page{Title: titles[name], Nav: name, Session: s, Data: data, Flash: r.URL.Query().Get("flash")}
	if s != nil {
		p.CSRF, p.Actor, p.Role, p.Tenant = s.csrf, s.token.Name, string(s.token.Role), s.token.Tenant
		p.MSP = s.token.Role != auth.TenantUser
		p.Admin = s.token.Role == auth.Admin
	}
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, "layout.html", p); err != nil {
		c.log.Error("console: render", "page", name, "err", err)
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// fail renders an API error as a page: "not found" for what the token may
// not see, as the API answers.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, s *webSession, err error) {
	var ae *apiError
	status, msg := http.StatusInternalServerError, "Something went wrong on the server."
	if errors.As(err, &ae) {
		status, msg = ae.Status, ae.Error()
		if status == http.StatusNotFound {
			msg = "Not found."
		}
	} else {
		c.log.Error("console", "path", r.URL.Path, "err", err)
	}
	c.render(w, r, status, "error", s, map[string]any{"Status": status, "Message": msg})
}

var titles = map[string]string{
	"signin": "Sign in", "fleet": "Fleet", "computer": "Computer", "session": "Session",
	"deployments": "Deployments", "deployment": "Deployment editor", "audit": "Audit log",
	"integrations": "Integrations", "error": "Error",
}

// Root serves GET / of the server: a browser (its Accept names text/html)
// is sent to the console; any other client gets what next answers (the
// API's JSON "not found"), so that no API path changes. Mount it as
// "GET /{$}".
func Root(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Accept") // the answer depends on it: no cache may serve one for the other
		if r.URL.Path == "/" && acceptsHTML(r.Header.Values("Accept")) {
			w.Header().Set("Cache-Control", "no-store")
			http.Redirect(w, r, Prefix, http.StatusSeeOther)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// acceptsHTML reports whether an Accept header names text/html (or
// application/xhtml+xml) with a quality above zero.
func acceptsHTML(values []string) bool {
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			media, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			media = strings.ToLower(strings.TrimSpace(media))
			if media != "text/html" && media != "application/xhtml+xml" {
				continue
			}
			q := 1.0
			for _, p := range strings.Split(params, ";") {
				if k, val, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.EqualFold(strings.TrimSpace(k), "q") {
					if f, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
						q = f
					}
				}
			}
			if q > 0 {
				return true
			}
		}
	}
	return false
}
