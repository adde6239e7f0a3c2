package agent

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/immyoss/engine/agent/internal/wire"
	"github.com/immyoss/engine/immy"
)

// Defaults of Config.
const (
	DefaultMaxMessageSize = 8 << 20
	DefaultHelloTimeout   = 10 * time.Second
	DefaultPingInterval   = 30 * time.Second
	DefaultCancelGrace    = 5 * time.Second
	DefaultMaxOutput      = 1 << 20
)

// preAuthLimit bounds the messages read before an agent is authenticated.
const preAuthLimit = 64 << 10

// writeTimeout bounds one message write to an agent.
const writeTimeout = 30 * time.Second

// CloseReplaced is the WebSocket close code of a connection replaced by a
// newer one of the same agent.
const CloseReplaced websocket.StatusCode = 4001

// Config configures a Server. The zero value works: an in-memory store,
// computers addressed by agent id, the defaults above.
type Config struct {
	// Store keeps install tokens and enrolled agents: a database of package
	// agent/sqlstore, so that agents are still known after the server
	// restarts. Nil keeps them in a MemoryStore, which forgets them: every
	// agent must enrol again after a restart (the server logs a warning).
	Store Store
	// Tokens and Agents, when set, take the place of Store for install
	// tokens and for enrolled agents.
	Tokens TokenStore
	Agents AgentStore
	// Route returns the agents that reach a computer, in the order to try
	// them (the computer's pathways); RunScript and Inventory use the first
	// online one. Nil addresses computers by agent id.
	Route func(ctx context.Context, computer string) ([]string, error)
	// Tenant returns the tenant of a computer. When set, RunScript and
	// Inventory use only agents enrolled for that tenant, whatever Route
	// says: an agent that claims another tenant's machine never receives
	// its scripts or parameters (a computer none of whose tenant's agents is
	// online is immy.ErrOffline). Nil trusts Route.
	Tenant func(ctx context.Context, computer string) (string, error)
	// OnStatus is told every change of an agent's status (online, offline,
	// gone), in order. It runs on the connection's goroutine, one call at a
	// time: it must not block for long.
	OnStatus func(Status)
	// Logger receives the server's log; nil discards it. Install tokens,
	// credentials and script parameters are never logged.
	Logger *slog.Logger
	// MaxMessageSize is the largest message read from an authenticated
	// agent; a larger one closes the connection (close code 1009).
	MaxMessageSize int64
	// HelloTimeout is how long a new connection may take to authenticate.
	HelloTimeout time.Duration
	// PingInterval is how often the server pings each agent; an agent that
	// does not answer within the same time is disconnected.
	PingInterval time.Duration
	// CancelGrace is how long RunScript waits, after its context ended and it
	// told the agent to cancel, for the agent's last output and result.
	CancelGrace time.Duration
	// DefaultMaxOutput caps a script's output when the request sets no cap.
	DefaultMaxOutput int
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// Status is what the server knows of an agent now.
type Status struct {
	AgentID     string
	Tenant      string
	Online      bool
	Ephemeral   bool
	Gone        bool // its record was deleted: revoked, or an ephemeral agent that said bye
	ConnectedAt time.Time
	LastSeen    time.Time // the last message received
	RemoteAddr  string
	Version     string // the agent's build
	OS, Arch    string
	Identity    immy.Identity // as of its last hello or inventory
}

// Server is the server side of the engine's own agents: an http.Handler
// that agents connect to over WebSocket, and an immy.ScriptRunner and
// immy.InventorySource that reach them. Create it with NewServer, mount it
// on a TLS listener at any path, and Close it when done. It is safe for
// concurrent use.
type Server struct {
	cfg    Config
	log    *slog.Logger
	ctx    context.Context // ends at Close
	cancel context.CancelFunc

	mu     sync.Mutex
	conns  map[string]*conn // online agents by id
	status map[string]*Status
	closed bool
	wg     sync.WaitGroup

	notifyMu sync.Mutex // keeps OnStatus calls in order
	tokenMu  sync.Mutex // counts token uses one at a time, for a TokenStore that is no TokenUser
}

var (
	_ immy.ScriptRunner    = (*Server)(nil)
	_ immy.InventorySource = (*Server)(nil)
	_ http.Handler         = (*Server)(nil)
)

// NewServer returns a Server with cfg's zero fields set to their defaults.
func NewServer(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Store != nil {
		if cfg.Tokens == nil {
			cfg.Tokens = cfg.Store
		}
		if cfg.Agents == nil {
			cfg.Agents = cfg.Store
		}
	}
	if cfg.Tokens == nil || cfg.Agents == nil {
		mem := &MemoryStore{}
		if cfg.Tokens == nil {
			cfg.Tokens = mem
		}
		if cfg.Agents == nil {
			cfg.Agents = mem
		}
		cfg.Logger.Warn("agent: install tokens and enrolled agents are kept in memory and lost when the server stops; " +
			"set agent.Config.Store to a database of package agent/sqlstore to keep them")
	}
	if cfg.MaxMessageSize <= 0 {
		cfg.MaxMessageSize = DefaultMaxMessageSize
	}
	if cfg.HelloTimeout <= 0 {
		cfg.HelloTimeout = DefaultHelloTimeout
	}
	if cfg.PingInterval <= 0 {
		cfg.PingInterval = DefaultPingInterval
	}
	if cfg.CancelGrace <= 0 {
		cfg.CancelGrace = DefaultCancelGrace
	}
	if cfg.DefaultMaxOutput <= 0 {
		cfg.DefaultMaxOutput = DefaultMaxOutput
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{cfg: cfg, log: cfg.Logger, ctx: ctx, cancel: cancel, conns: map[string]*conn{}, status: map[string]*Status{}}
}

// DefaultTokenTTL is how long an install token enrols agents when
// TokenOptions sets neither Expires nor Never.
const DefaultTokenTTL = 7 * 24 * time.Hour

// TokenOptions are the terms of an install token. The zero value makes a
// token that enrols any number of agents for DefaultTokenTTL.
type TokenOptions struct {
	// Expires is when the token stops enrolling agents; zero means
	// DefaultTokenTTL from now.
	Expires time.Time
	// Never makes a token that enrols until it is revoked; Expires must
	// then be zero.
	Never bool
	// MaxUses is how many agents may enrol with the token; zero means no
	// limit.
	MaxUses int
}

// CreateInstallToken makes an install token for tenant on opts' terms. The
// token is returned once; the store keeps its hash. Hand it to the
// technician (or the RMM's deployment script).
func (s *Server) CreateInstallToken(ctx context.Context, tenant string, opts TokenOptions) (string, InstallToken, error) {
	var errs []error
	if tenant == "" {
		errs = append(errs, fmt.Errorf("agent: install token: no tenant: %w", immy.ErrInvalid))
	}
	if opts.Never && !opts.Expires.IsZero() {
		errs = append(errs, fmt.Errorf("agent: install token: both Never and Expires (%s) set: %w", opts.Expires.UTC().Format(time.RFC3339), immy.ErrInvalid))
	}
	if opts.MaxUses < 0 {
		errs = append(errs, fmt.Errorf("agent: install token: MaxUses %d is negative: %w", opts.MaxUses, immy.ErrInvalid))
	}
	if err := errors.Join(errs...); err != nil {
		return "", InstallToken{}, err
	}
	now := s.cfg.Now().UTC()
	expires := opts.Expires
	switch {
	case opts.Never:
	case expires.IsZero():
		expires = now.Add(DefaultTokenTTL)
	default:
		expires = expires.UTC()
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	token := "immy1_" + base64.RawURLEncoding.EncodeToString(secret)
	t := InstallToken{ID: "tok-" + randomHex(8), Tenant: tenant, Hash: sha256.Sum256([]byte(token)), Created: now, Expires: expires, MaxUses: opts.MaxUses}
	if err := s.cfg.Tokens.PutToken(ctx, t); err != nil {
		return "", InstallToken{}, fmt.Errorf("agent: install token: %w", err)
	}
	return token, t, nil
}

// useToken counts an enrolment against t; false when t has no uses left.
func (s *Server) useToken(ctx context.Context, t InstallToken) (bool, error) {
	if u, ok := s.cfg.Tokens.(TokenUser); ok {
		return u.UseToken(ctx, t.ID)
	}
	s.tokenMu.Lock()
	defer s.tokenMu.Unlock()
	cur, err := s.cfg.Tokens.TokenByHash(ctx, t.Hash)
	if err != nil {
		return false, err
	}
	if cur.MaxUses > 0 && cur.Uses >= cur.MaxUses {
		return false, nil
	}
	cur.Uses++
	return true, s.cfg.Tokens.PutToken(ctx, cur)
}

// RevokeInstallToken forgets an install token; agents enrolled with it stay.
func (s *Server) RevokeInstallToken(ctx context.Context, id string) error {
	if err := s.cfg.Tokens.DeleteToken(ctx, id); err != nil {
		return fmt.Errorf("agent: revoke install token: %w", err)
	}
	return nil
}

// Revoke forgets an enrolled agent and disconnects it; it cannot come back
// without enrolling again.
func (s *Server) Revoke(ctx context.Context, agentID string) error {
	if err := s.cfg.Agents.DeleteAgent(ctx, agentID); err != nil {
		return fmt.Errorf("agent: revoke: %w", err)
	}
	s.mu.Lock()
	c := s.conns[agentID]
	if st := s.status[agentID]; st != nil {
		st.Gone = true
	}
	s.mu.Unlock()
	if c != nil {
		c.close(websocket.StatusPolicyViolation, "agent revoked")
	}
	return nil
}

// Disconnect closes an agent's connection (it will reconnect); it reports
// whether the agent was online.
func (s *Server) Disconnect(agentID string) bool {
	s.mu.Lock()
	c := s.conns[agentID]
	s.mu.Unlock()
	if c == nil {
		return false
	}
	c.close(websocket.StatusGoingAway, "disconnected by the server")
	return true
}

// Release tells an ephemeral agent that its session is over: it says bye
// and exits, and the server forgets it.
func (s *Server) Release(agentID string) error {
	s.mu.Lock()
	c := s.conns[agentID]
	s.mu.Unlock()
	if c == nil {
		return fmt.Errorf("agent: release %s: %w", agentID, immy.ErrOffline)
	}
	if !c.ephemeral {
		return fmt.Errorf("agent: release %s: not an ephemeral agent: %w", agentID, immy.ErrInvalid)
	}
	return c.send(s.ctx, wire.Message{Type: wire.TypeRelease})
}

// Status returns what the server knows of an agent it has seen since it
// started.
func (s *Server) Status(agentID string) (Status, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.status[agentID]
	if !ok {
		return Status{}, false
	}
	return *st, true
}

// Agents lists the agents seen since the server started, by id.
func (s *Server) Agents() []Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Status, 0, len(s.status))
	for _, st := range s.status {
		out = append(out, *st)
	}
	slices.SortFunc(out, func(a, b Status) int { return strings.Compare(a.AgentID, b.AgentID) })
	return out
}

// Close disconnects every agent, fails their pending requests with
// ErrClosed, and waits for the connections' goroutines.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	conns := make([]*conn, 0, len(s.conns))
	for _, c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.close(websocket.StatusGoingAway, "server shutting down")
	}
	s.wg.Wait()
	s.cancel()
	return nil
}

// ServeHTTP accepts an agent's WebSocket connection and serves it until it
// ends.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		http.Error(w, "agent server closed", http.StatusServiceUnavailable)
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()

	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{wire.Subprotocol}})
	if err != nil {
		s.log.Info("agent connection not accepted", "remote", r.RemoteAddr, "err", err)
		return
	}
	if ws.Subprotocol() != wire.Subprotocol {
		ws.Close(websocket.StatusPolicyViolation, "the "+wire.Subprotocol+" subprotocol is required")
		return
	}
	ws.SetReadLimit(-1) // readMessage applies the limits
	c, err := s.handshake(ws, r.RemoteAddr)
	if err != nil {
		s.log.Warn("agent not authenticated", "remote", r.RemoteAddr, "err", err)
		return
	}
	s.serve(c)
}

// RefusedError is why the server turned an agent away.
type RefusedError struct {
	Code    string // one of the wire's refusal codes: install-token, credential, unknown-agent, protocol, internal-error
	Message string
}

func (e *RefusedError) Error() string { return "agent: refused (" + e.Code + "): " + e.Message }

// handshake sends the challenge, reads and checks the hello, and answers
// welcome or refused.
func (s *Server) handshake(ws *websocket.Conn, remote string) (*conn, error) {
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.HelloTimeout)
	defer cancel()
	nonce := make([]byte, wire.NonceSize)
	rand.Read(nonce)
	if err := writeMessage(ctx, ws, wire.Message{Type: wire.TypeChallenge, Challenge: &wire.Challenge{Nonce: nonce}}); err != nil {
		ws.CloseNow()
		return nil, fmt.Errorf("agent: send challenge: %w", err)
	}
	// A read whose context ends drops the connection without a word; a
	// timer closes it properly instead.
	late := time.AfterFunc(s.cfg.HelloTimeout, func() { ws.Close(websocket.StatusPolicyViolation, "no hello in time") })
	m, err := readMessage(s.ctx, ws, preAuthLimit)
	if !late.Stop() {
		return nil, fmt.Errorf("agent: no hello within %s", s.cfg.HelloTimeout)
	}
	if err != nil {
		return nil, err
	}
	refuse := func(code, format string, args ...any) (*conn, error) {
		e := &RefusedError{Code: code, Message: fmt.Sprintf(format, args...)}
		writeMessage(ctx, ws, wire.Message{Type: wire.TypeRefused, Refused: &wire.Refused{Code: e.Code, Message: e.Message}})
		ws.Close(websocket.StatusPolicyViolation, closeReason("refused: "+e.Message))
		return nil, e
	}
	if m.Type != wire.TypeHello {
		return refuse(wire.RefusedProtocol, "the first message must be a hello, not %s", m.Type)
	}
	h := m.Hello
	id, err := h.Identity.Immy()
	if err != nil {
		return refuse(wire.RefusedProtocol, "%v", err)
	}
	var rec Record
	enrolled := false
	if h.AgentID == "" {
		tok, err := s.cfg.Tokens.TokenByHash(ctx, sha256.Sum256([]byte(h.InstallToken)))
		switch {
		case errors.Is(err, immy.ErrNotFound):
			return refuse(wire.RefusedToken, "install token not recognised (wrong, revoked or never issued)")
		case err != nil:
			s.log.Error("install token lookup failed", "err", err)
			return refuse(wire.RefusedInternal, "the server could not check the install token; try again later")
		}
		if why := tok.usable(s.cfg.Now()); why != "" {
			return refuse(wire.RefusedToken, "%s", why)
		}
		if !wire.Verify(h.PublicKey, nonce, h) {
			return refuse(wire.RefusedCredential, "enrolment signature does not verify against the enrolling key")
		}
		ok, err := s.useToken(ctx, tok)
		switch {
		case errors.Is(err, immy.ErrNotFound):
			return refuse(wire.RefusedToken, "install token not recognised (wrong, revoked or never issued)")
		case err != nil:
			s.log.Error("counting an install token's use failed", "token", tok.ID, "err", err)
			return refuse(wire.RefusedInternal, "the server could not check the install token; try again later")
		case !ok:
			return refuse(wire.RefusedToken, "install token %s has been used %d of %d times", tok.ID, tok.MaxUses, tok.MaxUses)
		}
		rec = Record{ID: "agt-" + randomHex(12), Tenant: tok.Tenant, PublicKey: h.PublicKey, TokenID: tok.ID, Ephemeral: h.Ephemeral, EnrolledAt: s.cfg.Now().UTC()}
		if err := s.cfg.Agents.PutAgent(ctx, rec); err != nil {
			s.log.Error("storing an enrolled agent failed", "err", err)
			return refuse(wire.RefusedInternal, "the server could not store the enrolment; try again later")
		}
		enrolled = true
		s.log.Info("agent enrolled", "agent", rec.ID, "tenant", rec.Tenant, "token", tok.ID, "ephemeral", rec.Ephemeral, "remote", remote)
	} else {
		rec, err = s.cfg.Agents.Agent(ctx, h.AgentID)
		known := err == nil
		switch {
		case errors.Is(err, immy.ErrNotFound):
		case err != nil:
			s.log.Error("agent lookup failed", "err", err)
			return refuse(wire.RefusedInternal, "the server could not look the agent up; try again later")
		}
		// An unknown id is checked against a key of no agent, so that the
		// refusal of an unknown agent and of a known one with a wrong
		// signature read the same and take the same time: the refusal does
		// not tell which agent ids exist.
		key := rec.PublicKey
		if !known || len(key) != ed25519.PublicKeySize {
			key = noAgentKey
		}
		if !wire.Verify(key, nonce, h) || !known {
			s.log.Info("agent credential refused", "agent", h.AgentID, "known", known, "remote", remote)
			return refuse(wire.RefusedCredential, "agent %q not accepted: not enrolled (revoked or never enrolled), or the hello is not signed with its key for this connection's challenge (replayed, or another key); enrol it again with an install token", h.AgentID)
		}
	}
	welcome := wire.Message{Type: wire.TypeWelcome, Welcome: &wire.Welcome{AgentID: rec.ID, Tenant: rec.Tenant, Enrolled: enrolled, MaxMessage: s.cfg.MaxMessageSize}}
	if err := writeMessage(ctx, ws, welcome); err != nil {
		ws.CloseNow()
		return nil, fmt.Errorf("agent: send welcome: %w", err)
	}
	c := &conn{s: s, ws: ws, id: rec.ID, tenant: rec.Tenant, ephemeral: rec.Ephemeral, pending: map[uint64]*pending{}}
	c.ctx, c.cancel = context.WithCancel(s.ctx)
	now := s.cfg.Now().UTC()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ws.Close(websocket.StatusGoingAway, "server shutting down")
		return nil, ErrClosed
	}
	old := s.conns[rec.ID]
	s.conns[rec.ID] = c
	st := &Status{
		AgentID: rec.ID, Tenant: rec.Tenant, Online: true, Ephemeral: rec.Ephemeral, ConnectedAt: now, LastSeen: now,
		RemoteAddr: remote, Version: h.Version, OS: h.OS, Arch: h.Arch, Identity: id,
	}
	s.status[rec.ID] = st
	snapshot := *st
	s.mu.Unlock()
	if old != nil {
		old.close(CloseReplaced, "replaced by a newer connection of the same agent")
	}
	s.log.Info("agent online", "agent", rec.ID, "tenant", rec.Tenant, "remote", remote, "version", h.Version)
	s.notify(snapshot)
	return c, nil
}

func (s *Server) notify(st Status) {
	if s.cfg.OnStatus == nil {
		return
	}
	s.notifyMu.Lock()
	defer s.notifyMu.Unlock()
	s.cfg.OnStatus(st)
}

// serve reads the agent's messages until the connection ends.
func (s *Server) serve(c *conn) {
	go c.pinger()
	err := c.readLoop()
	c.close(websocket.StatusNormalClosure, "")
	c.failPending(err)

	s.mu.Lock()
	var snapshot Status
	changed := false
	if s.conns[c.id] == c {
		delete(s.conns, c.id)
		if st := s.status[c.id]; st != nil {
			st.Online = false
			if c.gone {
				st.Gone = true
			}
			snapshot, changed = *st, true
		}
	}
	s.mu.Unlock()
	lvl := slog.LevelInfo
	if err != nil && !errors.Is(err, errBye) {
		lvl = slog.LevelWarn
	}
	s.log.Log(context.Background(), lvl, "agent offline", "agent", c.id, "reason", errString(err))
	if changed {
		s.notify(snapshot)
	}
}

var errBye = errors.New("the agent said bye")

func errString(err error) string {
	if err == nil {
		return "closed"
	}
	return err.Error()
}

// conn is one authenticated agent connection.
type conn struct {
	s         *Server
	ws        *websocket.Conn
	id        string
	tenant    string
	ephemeral bool
	ctx       context.Context
	cancel    context.CancelFunc
	gone      bool // set by the read loop when an ephemeral agent said bye

	mu        sync.Mutex
	nextID    uint64
	pending   map[uint64]*pending
	failed    error // set when the connection ended
	closeOnce sync.Once
}

func (c *conn) close(code websocket.StatusCode, reason string) {
	c.closeOnce.Do(func() {
		go func() { // the close handshake may wait for the peer
			c.ws.Close(code, closeReason(reason))
			c.cancel()
		}()
	})
}

func (c *conn) send(ctx context.Context, m wire.Message) error {
	ctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	if err := writeMessage(ctx, c.ws, m); err != nil {
		return fmt.Errorf("agent: agent %s: %w: %w", c.id, ErrDisconnected, err)
	}
	return nil
}

func (c *conn) pinger() {
	t := time.NewTicker(c.s.cfg.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(c.ctx, c.s.cfg.PingInterval)
		err := c.ws.Ping(ctx)
		cancel()
		if err != nil && c.ctx.Err() == nil {
			c.s.log.Warn("agent did not answer a ping", "agent", c.id, "err", err)
			c.ws.CloseNow()
			return
		}
	}
}

func (c *conn) readLoop() error {
	for {
		// Not c.ctx: a read whose context ends drops the connection before
		// close can say why. Close ends the read.
		m, err := readMessage(context.Background(), c.ws, c.s.cfg.MaxMessageSize)
		if err != nil {
			var pe *protocolError
			if errors.As(err, &pe) {
				c.s.log.Warn("agent sent a bad message", "agent", c.id, "err", err)
			}
			return err
		}
		c.s.mu.Lock()
		if st := c.s.status[c.id]; st != nil && c.s.conns[c.id] == c {
			st.LastSeen = c.s.cfg.Now().UTC()
		}
		c.s.mu.Unlock()
		switch m.Type {
		case wire.TypeOutput:
			if p := c.lookup(m.ID); p != nil {
				p.output(m.Output.Data)
			}
		case wire.TypeResult:
			if p := c.lookup(m.ID); p != nil {
				p.finish(m.Result, nil)
			}
		case wire.TypeInventory:
			if p := c.lookup(m.ID); p != nil {
				p.finish(nil, m.Inventory)
			}
		case wire.TypeBye:
			if c.ephemeral {
				if err := c.s.cfg.Agents.DeleteAgent(context.Background(), c.id); err != nil && !errors.Is(err, immy.ErrNotFound) {
					c.s.log.Error("forgetting an ephemeral agent failed", "agent", c.id, "err", err)
				}
				c.gone = true
			}
			return errBye
		default:
			err := &protocolError{fmt.Sprintf("unexpected %s message from an agent", m.Type)}
			c.s.log.Warn("agent sent a bad message", "agent", c.id, "err", err)
			c.close(websocket.StatusPolicyViolation, err.msg)
			return err
		}
	}
}

func (c *conn) lookup(id uint64) *pending {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pending[id] // nil for a request that already ended
}

// newPending registers a request; it fails when the connection has ended.
func (c *conn) newPending(maxOutput int) (*pending, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failed != nil {
		return nil, c.failed
	}
	c.nextID++
	p := &pending{id: c.nextID, max: maxOutput, notify: make(chan struct{}, 1)}
	c.pending[p.id] = p
	return p, nil
}

func (c *conn) dropPending(p *pending) {
	c.mu.Lock()
	delete(c.pending, p.id)
	c.mu.Unlock()
}

func (c *conn) failPending(cause error) {
	err := fmt.Errorf("agent: agent %s: %w", c.id, ErrDisconnected)
	if c.s.ctx.Err() != nil {
		err = fmt.Errorf("agent: agent %s: %w", c.id, ErrClosed)
	} else if cause != nil && !errors.Is(cause, errBye) {
		err = fmt.Errorf("agent: agent %s: %w: %v", c.id, ErrDisconnected, cause)
	}
	c.mu.Lock()
	c.failed = err
	ps := c.pending
	c.pending = map[uint64]*pending{}
	c.mu.Unlock()
	for _, p := range ps {
		p.finish(nil, nil, err)
	}
}

// pending is a request waiting for its answer. The read loop fills it; the
// requester drains it.
type pending struct {
	id     uint64
	max    int
	notify chan struct{}

	mu        sync.Mutex
	chunks    [][]byte
	kept      int
	truncated bool
	done      bool
	result    *wire.Result
	inventory *wire.Inventory
	err       error
}

func (p *pending) wake() {
	select {
	case p.notify <- struct{}{}:
	default:
	}
}

// output queues a chunk, within the output cap (the agent caps too; this
// keeps a misbehaving one from growing the queue).
func (p *pending) output(b []byte) {
	p.mu.Lock()
	if p.done {
		p.mu.Unlock()
		return
	}
	if room := p.max - p.kept; len(b) > room {
		b = b[:max(room, 0)]
		p.truncated = true
	}
	if len(b) > 0 {
		p.chunks = append(p.chunks, b)
		p.kept += len(b)
	}
	p.mu.Unlock()
	p.wake()
}

func (p *pending) finish(r *wire.Result, inv *wire.Inventory, err ...error) {
	p.mu.Lock()
	if !p.done {
		p.done, p.result, p.inventory = true, r, inv
		if len(err) > 0 {
			p.err = err[0]
		}
	}
	p.mu.Unlock()
	p.wake()
}

// take returns the queued chunks and whether the request is done.
func (p *pending) take() ([][]byte, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.chunks
	p.chunks = nil
	return c, p.done
}

// protocolError is a message the protocol does not allow.
type protocolError struct{ msg string }

func (e *protocolError) Error() string { return "agent: protocol: " + e.msg }

// readMessage reads one message of at most limit bytes. A larger one closes
// the connection with 1009 (message too big), a malformed one with 1008.
func readMessage(ctx context.Context, ws *websocket.Conn, limit int64) (wire.Message, error) {
	typ, r, err := ws.Reader(ctx)
	if err != nil {
		return wire.Message{}, err
	}
	if typ != websocket.MessageText {
		ws.Close(websocket.StatusUnsupportedData, "text messages only")
		return wire.Message{}, &protocolError{"binary message"}
	}
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return wire.Message{}, err
	}
	if int64(len(b)) > limit {
		reason := fmt.Sprintf("message over the %d-byte limit refused", limit)
		ws.Close(websocket.StatusMessageTooBig, reason)
		return wire.Message{}, &protocolError{reason}
	}
	m, err := wire.Decode(b)
	if err != nil {
		ws.Close(websocket.StatusPolicyViolation, closeReason(err.Error()))
		return wire.Message{}, &protocolError{err.Error()}
	}
	return m, nil
}

func writeMessage(ctx context.Context, ws *websocket.Conn, m wire.Message) error {
	b, err := wire.Encode(m)
	if err != nil {
		return err
	}
	return ws.Write(ctx, websocket.MessageText, b)
}

// closeReason fits a reason into a close frame (123 bytes).
func closeReason(s string) string {
	if len(s) <= 123 {
		return s
	}
	s = s[:120]
	for len(s) > 0 && s[len(s)-1]&0xC0 == 0x80 {
		s = s[:len(s)-1]
	}
	return s + "..."
}

// noAgentKey is the public key an unknown agent id is checked against: the
// key of a private key nobody keeps.
var noAgentKey = func() ed25519.PublicKey {
	seed := make([]byte, ed25519.SeedSize)
	rand.Read(seed)
	return ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
}()

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
