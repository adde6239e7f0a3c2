package agent

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
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
	// OnInventory is told each inventory an agent sends (to an Inventory
	// call), with the logons since its previous one (see Reported), before
	// the call returns it. It runs on the caller's goroutine: it must not
	// block for long.
	OnInventory func(Reported)
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
	TokenID     string // the install token it enrolled with (agent/ephemeral binds a bootstrapped agent by it)
	Gone        bool   // its record was deleted: revoked, or an ephemeral agent that said bye
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
	logons   logonTracker
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
	s.logons.forget(agentID)
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
				s.logons.forget(c.id)
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

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
