package endpoint

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/immyoss/engine/agent/internal/wire"
	"github.com/immyoss/engine/agent/script"
	"github.com/immyoss/engine/agent/sysinfo"
	"github.com/immyoss/engine/immy"
)

// Defaults of Config.
const (
	DefaultMinBackoff     = time.Second
	DefaultMaxBackoff     = time.Minute
	DefaultPingInterval   = 30 * time.Second
	DefaultIdleTimeout    = 2 * time.Minute
	DefaultMaxMessageSize = 8 << 20
	DefaultOrphanTimeout  = time.Hour
)

// Config configures an Agent.
type Config struct {
	// Server is the server's WebSocket URL: wss://host/path.
	Server string
	// InstallToken enrols the agent when it has no credential yet.
	InstallToken string
	// StateFile keeps the agent's id and credential across restarts; ""
	// keeps them in memory (an ephemeral agent needs no file).
	StateFile string
	// Ephemeral runs the agent for one session's span: it enrols as
	// ephemeral, keeps no state, and exits when the server releases it or
	// after IdleTimeout without a request.
	Ephemeral   bool
	IdleTimeout time.Duration
	// TLS configures the connection (extra root CAs); nil uses the system's.
	TLS *tls.Config
	// AllowPlaintext permits ws:// URLs, for tests and development only.
	AllowPlaintext bool
	// Sysinfo reads the machine; nil reads the one the agent runs on.
	Sysinfo *sysinfo.Source
	// Scripts runs the server's scripts; nil is a script.Runner reading
	// logged-on users from Sysinfo.
	Scripts immy.ScriptRunner
	// Logger receives the agent's log; nil discards it.
	Logger *slog.Logger
	// MinBackoff and MaxBackoff bound the wait between reconnection attempts,
	// which doubles from the first to the second with jitter.
	MinBackoff, MaxBackoff time.Duration
	// PingInterval is how often the agent pings the server; a server that
	// does not answer within the same time is reconnected to.
	PingInterval time.Duration
	// MaxMessageSize is the largest message read from the server.
	MaxMessageSize int64
	// OrphanTimeout bounds a script without a timeout of its own whose
	// connection was lost: it runs on (an installer is better left to finish)
	// until then. Zero means DefaultOrphanTimeout.
	OrphanTimeout time.Duration
	// Version is the agent's build, reported to the server.
	Version string
}

// State is what an agent keeps between runs: who it is and its credential.
type State struct {
	Server  string `json:"server"`
	AgentID string `json:"agent_id"`
	Tenant  string `json:"tenant"`
	// Key is the seed of the agent's Ed25519 private key.
	Key []byte `json:"key"`
}

// RefusedError is the server's refusal of the agent. Refusals of the
// install token or the credential are final: Run returns them.
type RefusedError struct {
	Code    string // install-token, credential, unknown-agent, protocol, internal-error
	Message string
}

func (e *RefusedError) Error() string {
	return "endpoint: refused by the server (" + e.Code + "): " + e.Message
}

// permanent reports whether retrying cannot help.
func (e *RefusedError) permanent() bool { return e.Code != wire.RefusedInternal }

// Agent is the endpoint side: it connects to the server, enrols, answers
// its requests, and reconnects when the connection drops.
type Agent struct {
	cfg Config
	log *slog.Logger
	src *sysinfo.Source

	mu           sync.Mutex
	state        *State
	inflight     int
	lastActivity time.Time
	runs         map[runKey]*running
	gen          uint64 // connection generation, to tell runs of old connections apart
}

type runKey struct {
	gen uint64
	id  uint64
}

// running is a script under way.
type running struct {
	cancel     context.CancelFunc
	hasTimeout bool
}

// New checks cfg and returns an Agent; it loads the state file when there
// is one.
func New(cfg Config) (*Agent, error) {
	u, err := url.Parse(cfg.Server)
	switch {
	case err != nil:
		return nil, fmt.Errorf("endpoint: server URL %q: %w", cfg.Server, err)
	case u.Scheme == "wss", u.Scheme == "ws" && cfg.AllowPlaintext:
	case u.Scheme == "ws":
		return nil, fmt.Errorf("endpoint: server URL %q: plaintext ws:// is refused; use wss:// (TLS)", cfg.Server)
	default:
		return nil, fmt.Errorf("endpoint: server URL %q: want wss://host/path", cfg.Server)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("endpoint: server URL %q has no host", cfg.Server)
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = DefaultMinBackoff
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(DefaultMaxBackoff, cfg.MinBackoff)
	}
	if cfg.PingInterval <= 0 {
		cfg.PingInterval = DefaultPingInterval
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.MaxMessageSize <= 0 {
		cfg.MaxMessageSize = DefaultMaxMessageSize
	}
	if cfg.OrphanTimeout <= 0 {
		cfg.OrphanTimeout = DefaultOrphanTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	a := &Agent{cfg: cfg, log: cfg.Logger, src: cfg.Sysinfo, runs: map[runKey]*running{}}
	if a.src == nil {
		a.src = &sysinfo.Source{}
	}
	if a.cfg.Scripts == nil {
		a.cfg.Scripts = script.New(script.Config{Logins: a.src.Logins})
	}
	if cfg.StateFile != "" && !cfg.Ephemeral {
		st, err := LoadState(cfg.StateFile)
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			return nil, err
		default:
			a.state = st
		}
	}
	if a.state == nil && cfg.InstallToken == "" {
		return nil, errors.New("endpoint: no credential yet and no install token to enrol with")
	}
	return a, nil
}

// ID returns the agent's id, or "" before it enrolled.
func (a *Agent) ID() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.state == nil {
		return ""
	}
	return a.state.AgentID
}

// LoadState reads a state file.
func LoadState(path string) (*State, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("endpoint: state file: %w", err)
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("endpoint: state file %s: %w", path, err)
	}
	if st.AgentID == "" || len(st.Key) != ed25519.SeedSize {
		return nil, fmt.Errorf("endpoint: state file %s: no agent id or no %d-byte key", path, ed25519.SeedSize)
	}
	return &st, nil
}

// saveState writes the state file atomically, readable by the agent's user only.
func saveState(path string, st *State) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("endpoint: state file: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".state-*")
	if err != nil {
		return fmt.Errorf("endpoint: state file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		tmp.Close()
		return fmt.Errorf("endpoint: state file: %w", err)
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("endpoint: state file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("endpoint: state file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("endpoint: state file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("endpoint: state file: %w", err)
	}
	return nil
}

// errReleased ends Run without error: an ephemeral agent's work is done.
var errReleased = errors.New("released")

// Run connects and serves until ctx ends (returning nil), the server
// refuses the agent for good (a *RefusedError), or an ephemeral agent is
// released or idle (nil). Connection failures are retried with backoff.
func (a *Agent) Run(ctx context.Context) error {
	a.touch()
	attempt := 0
	for {
		connected, err := a.session(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, errReleased):
			return nil
		}
		var re *RefusedError
		if errors.As(err, &re) && re.permanent() {
			return err
		}
		if connected {
			attempt = 0
		}
		if a.cfg.Ephemeral && a.idleFor() >= a.cfg.IdleTimeout {
			return fmt.Errorf("endpoint: ephemeral agent idle for %s and cannot reach the server: %w", a.cfg.IdleTimeout, err)
		}
		d := a.backoff(attempt)
		attempt++
		a.log.Warn("connection lost; reconnecting", "err", err, "in", d.Round(time.Millisecond))
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// backoff is MinBackoff doubled attempt times, capped at MaxBackoff, with
// its upper half drawn at random so that agents do not return in step.
func (a *Agent) backoff(attempt int) time.Duration {
	d := a.cfg.MinBackoff
	for i := 0; i < attempt && d < a.cfg.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, a.cfg.MaxBackoff)
	return d/2 + mrand.N(d/2+1)
}

func (a *Agent) touch() {
	a.mu.Lock()
	a.lastActivity = time.Now()
	a.mu.Unlock()
}

func (a *Agent) idleFor() time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.inflight > 0 {
		return 0
	}
	return time.Since(a.lastActivity)
}

// session dials, authenticates and serves one connection. connected
// reports whether the server welcomed the agent.
func (a *Agent) session(ctx context.Context) (connected bool, err error) {
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: a.cfg.TLS, Proxy: http.ProxyFromEnvironment}}
	defer client.CloseIdleConnections()
	ws, resp, err := websocket.Dial(dctx, a.cfg.Server, &websocket.DialOptions{HTTPClient: client, Subprotocols: []string{wire.Subprotocol}})
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		return false, fmt.Errorf("endpoint: dial %s: %w", a.cfg.Server, err)
	}
	defer ws.CloseNow()
	ws.SetReadLimit(-1)

	m, err := a.read(dctx, ws, 64<<10)
	if err != nil {
		return false, fmt.Errorf("endpoint: waiting for the challenge: %w", err)
	}
	if m.Type != wire.TypeChallenge {
		return false, fmt.Errorf("endpoint: the server opened with %s, not a challenge", m.Type)
	}
	hello, key, err := a.hello(ctx, m.Challenge.Nonce)
	if err != nil {
		return false, err
	}
	if err := write(dctx, ws, wire.Message{Type: wire.TypeHello, Hello: hello}); err != nil {
		return false, fmt.Errorf("endpoint: send hello: %w", err)
	}
	m, err = a.read(dctx, ws, 64<<10)
	if err != nil {
		return false, fmt.Errorf("endpoint: waiting for the welcome: %w", err)
	}
	switch m.Type {
	case wire.TypeRefused:
		ws.Close(websocket.StatusNormalClosure, "")
		return false, &RefusedError{Code: m.Refused.Code, Message: m.Refused.Message}
	case wire.TypeWelcome:
	default:
		return false, fmt.Errorf("endpoint: the server answered the hello with %s", m.Type)
	}
	w := m.Welcome
	if hello.AgentID == "" {
		st := &State{Server: a.cfg.Server, AgentID: w.AgentID, Tenant: w.Tenant, Key: key.Seed()}
		if a.cfg.StateFile != "" && !a.cfg.Ephemeral {
			if err := saveState(a.cfg.StateFile, st); err != nil {
				// Without its credential on disk the agent would enrol anew at
				// every start: stop rather than pile up agents.
				return false, &RefusedError{Code: "state", Message: err.Error()}
			}
		}
		a.mu.Lock()
		a.state = st
		a.mu.Unlock()
		a.log.Info("enrolled", "agent", w.AgentID, "tenant", w.Tenant, "ephemeral", a.cfg.Ephemeral)
	}
	a.log.Info("connected", "agent", w.AgentID, "server", a.cfg.Server)
	return true, a.serve(ctx, ws, w)
}

// hello builds the signed hello: with the agent's id when it has a
// credential, else an enrolment with a fresh key.
func (a *Agent) hello(ctx context.Context, nonce []byte) (*wire.Hello, ed25519.PrivateKey, error) {
	id, err := a.src.Identity(ctx)
	if err != nil {
		a.log.Warn("reading the machine's identity", "err", err)
	}
	h := &wire.Hello{Version: a.cfg.Version, OS: runtime.GOOS, Arch: runtime.GOARCH, Ephemeral: a.cfg.Ephemeral, Identity: wire.FromIdentity(id)}
	a.mu.Lock()
	st := a.state
	a.mu.Unlock()
	var key ed25519.PrivateKey
	if st != nil {
		key = ed25519.NewKeyFromSeed(st.Key)
		h.AgentID = st.AgentID
	} else {
		pub, priv, err := ed25519.GenerateKey(cryptoRand)
		if err != nil {
			return nil, nil, fmt.Errorf("endpoint: key: %w", err)
		}
		key = priv
		h.InstallToken, h.PublicKey = a.cfg.InstallToken, pub
	}
	wire.Sign(key, nonce, h)
	return h, key, nil
}

var cryptoRand io.Reader = rand.Reader

// conn is one authenticated connection's sending side.
type conn struct {
	ws  *websocket.Conn
	gen uint64
}

func (c *conn) send(m wire.Message) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return write(ctx, c.ws, m)
}

// serve answers the server's requests until the connection ends.
func (a *Agent) serve(ctx context.Context, ws *websocket.Conn, w *wire.Welcome) error {
	a.mu.Lock()
	a.gen++
	c := &conn{ws: ws, gen: a.gen}
	a.mu.Unlock()
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer a.orphan(c.gen)
	go a.pinger(cctx, ws)
	idle := make(chan struct{})
	if a.cfg.Ephemeral {
		go a.idleWatch(cctx, idle)
	}
	limit := a.cfg.MaxMessageSize
	type msgOrErr struct {
		m   wire.Message
		err error
	}
	msgs := make(chan msgOrErr)
	go func() {
		for {
			// Not cctx: a read whose context ends drops the connection
			// before a close can say why; closing ends the read.
			m, err := a.read(context.Background(), ws, limit)
			select {
			case msgs <- msgOrErr{m, err}:
			case <-cctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	for {
		var m wire.Message
		select {
		case <-ctx.Done():
			ws.Close(websocket.StatusGoingAway, "agent stopping")
			return ctx.Err()
		case <-idle:
			a.log.Info("idle: saying bye", "after", a.cfg.IdleTimeout)
			c.send(wire.Message{Type: wire.TypeBye})
			ws.Close(websocket.StatusNormalClosure, "ephemeral agent idle")
			return errReleased
		case r := <-msgs:
			if r.err != nil {
				return r.err
			}
			m = r.m
		}
		switch m.Type {
		case wire.TypeRun:
			a.startRun(ctx, c, m.ID, m.Run, w.MaxMessage)
		case wire.TypeCancel:
			a.mu.Lock()
			if r := a.runs[runKey{c.gen, m.ID}]; r != nil {
				r.cancel()
			}
			a.mu.Unlock()
		case wire.TypeInventoryRequest:
			a.begin()
			go func() {
				defer a.end()
				a.inventory(ctx, c, m.ID, w.MaxMessage)
			}()
		case wire.TypeRelease:
			a.log.Info("released by the server: saying bye")
			c.send(wire.Message{Type: wire.TypeBye})
			ws.Close(websocket.StatusNormalClosure, "ephemeral agent released")
			return errReleased
		default:
			reason := fmt.Sprintf("unexpected %s message from the server", m.Type)
			ws.Close(websocket.StatusPolicyViolation, reason)
			return errors.New("endpoint: " + reason)
		}
	}
}

// orphan bounds the runs of a lost connection that have no timeout of
// their own: they are cancelled after OrphanTimeout.
func (a *Agent) orphan(gen uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, r := range a.runs {
		if k.gen == gen && !r.hasTimeout {
			time.AfterFunc(a.cfg.OrphanTimeout, r.cancel)
		}
	}
}

func (a *Agent) begin() {
	a.mu.Lock()
	a.inflight++
	a.lastActivity = time.Now()
	a.mu.Unlock()
}

func (a *Agent) end() {
	a.mu.Lock()
	a.inflight--
	a.lastActivity = time.Now()
	a.mu.Unlock()
}

func (a *Agent) idleWatch(ctx context.Context, idle chan<- struct{}) {
	tick := max(a.cfg.IdleTimeout/8, 10*time.Millisecond)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if a.idleFor() >= a.cfg.IdleTimeout {
			close(idle)
			return
		}
	}
}

func (a *Agent) pinger(ctx context.Context, ws *websocket.Conn) {
	t := time.NewTicker(a.cfg.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, a.cfg.PingInterval)
		err := ws.Ping(pctx)
		cancel()
		if err != nil && ctx.Err() == nil {
			a.log.Warn("the server did not answer a ping", "err", err)
			ws.CloseNow()
			return
		}
	}
}

// startRun runs a script in its own goroutine, streaming its output.
func (a *Agent) startRun(ctx context.Context, c *conn, id uint64, run *wire.Run, maxMessage int64) {
	req, err := runRequest(run)
	if err != nil {
		c.send(wire.Message{Type: wire.TypeResult, ID: id, Result: &wire.Result{ExitCode: -1, Error: &wire.Error{Kind: wire.ErrorInvalid, Message: err.Error()}}})
		return
	}
	// A run outlives its connection (an installer is better left to finish),
	// up to its own timeout or OrphanTimeout (see orphan).
	rctx, cancel := context.WithCancel(ctx)
	key := runKey{c.gen, id}
	a.mu.Lock()
	a.runs[key] = &running{cancel: cancel, hasTimeout: req.Timeout > 0}
	a.mu.Unlock()
	a.begin()
	chunk := int(min(maxMessage/2, 256<<10))
	req.Output = func(b []byte) {
		for len(b) > 0 {
			n := min(len(b), chunk)
			c.send(wire.Message{Type: wire.TypeOutput, ID: id, Output: &wire.Output{Data: b[:n]}})
			b = b[n:]
		}
	}
	go func() {
		defer a.end()
		defer func() {
			a.mu.Lock()
			delete(a.runs, key)
			a.mu.Unlock()
			cancel()
		}()
		res, err := a.cfg.Scripts.RunScript(rctx, req)
		r := &wire.Result{ExitCode: res.ExitCode, Truncated: res.Truncated, Value: res.Value}
		if err != nil {
			r.Error = &wire.Error{Kind: errorKind(err), Message: err.Error()}
		}
		if err := c.send(wire.Message{Type: wire.TypeResult, ID: id, Result: r}); err != nil {
			a.log.Warn("a script's result could not be sent: the connection is gone", "request", id, "exit", res.ExitCode)
		}
	}()
}

// runRequest converts the wire's run into a script request.
func runRequest(run *wire.Run) (immy.ScriptRequest, error) {
	var errs []error
	lang, err := immy.ParseScriptLanguage(run.Language)
	errs = append(errs, err)
	sctx, err := immy.ParseScriptContext(run.Context)
	errs = append(errs, err)
	params := map[string]any{}
	for k, raw := range run.Parameters {
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			errs = append(errs, fmt.Errorf("parameter %q: %w", k, err))
			continue
		}
		params[k] = v
	}
	if err := errors.Join(errs...); err != nil {
		return immy.ScriptRequest{}, fmt.Errorf("endpoint: run request: %w", err)
	}
	return immy.ScriptRequest{
		Script:     immy.Script{Language: lang, Context: sctx, Body: run.Body},
		Parameters: params, Secrets: run.Secrets,
		Timeout:   time.Duration(run.TimeoutMS) * time.Millisecond,
		MaxOutput: run.MaxOutput,
	}, nil
}

// errorKind names an error for the wire: the run's deadline (its timeout)
// is a timeout, a cancellation (from the server) a cancel.
func errorKind(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return wire.ErrorTimeout
	case errors.Is(err, context.Canceled):
		return wire.ErrorCanceled
	case errors.Is(err, immy.ErrNoUserLoggedOn):
		return wire.ErrorNoUser
	case errors.Is(err, script.ErrUnavailable):
		return wire.ErrorUnavailable
	case errors.Is(err, script.ErrPermission):
		return wire.ErrorPermission
	case errors.Is(err, immy.ErrInvalid):
		return wire.ErrorInvalid
	}
	return wire.ErrorFailed
}

// inventory answers an inventory request.
func (a *Agent) inventory(ctx context.Context, c *conn, id uint64, maxMessage int64) {
	inv, err := a.src.Inventory(ctx)
	m := wire.Message{Type: wire.TypeInventory, ID: id, Inventory: wire.FromInventory(inv)}
	if err != nil {
		m.Inventory = &wire.Inventory{Error: &wire.Error{Kind: wire.ErrorFailed, Message: err.Error()}}
	}
	if b, err := wire.Encode(m); err == nil && int64(len(b)) > maxMessage {
		m.Inventory = &wire.Inventory{Error: &wire.Error{Kind: wire.ErrorTooLarge, Message: fmt.Sprintf("the inventory is %d bytes, over the server's %d-byte message limit", len(b), maxMessage)}}
	}
	if err := c.send(m); err != nil {
		a.log.Warn("an inventory could not be sent", "err", err)
	}
}

// read reads one message of at most limit bytes.
func (a *Agent) read(ctx context.Context, ws *websocket.Conn, limit int64) (wire.Message, error) {
	typ, r, err := ws.Reader(ctx)
	if err != nil {
		return wire.Message{}, err
	}
	if typ != websocket.MessageText {
		ws.Close(websocket.StatusUnsupportedData, "text messages only")
		return wire.Message{}, errors.New("endpoint: the server sent a binary message")
	}
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return wire.Message{}, err
	}
	if int64(len(b)) > limit {
		ws.Close(websocket.StatusMessageTooBig, fmt.Sprintf("message over the %d-byte limit refused", limit))
		return wire.Message{}, fmt.Errorf("endpoint: the server sent a message over the %d-byte limit", limit)
	}
	m, err := wire.Decode(b)
	if err != nil {
		ws.Close(websocket.StatusPolicyViolation, "malformed message")
		return wire.Message{}, fmt.Errorf("endpoint: %w", err)
	}
	return m, nil
}

func write(ctx context.Context, ws *websocket.Conn, m wire.Message) error {
	b, err := wire.Encode(m)
	if err != nil {
		return err
	}
	return ws.Write(ctx, websocket.MessageText, b)
}
