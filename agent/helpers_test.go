package agent_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/agent"
	"github.com/immyoss/engine/agent/endpoint"
	"github.com/immyoss/engine/agent/internal/wire"
	"github.com/immyoss/engine/agent/script"
	"github.com/immyoss/engine/agent/sysinfo"
)

// harness is a Server on a TLS test listener, with its status changes.
type harness struct {
	t      testing.TB
	srv    *agent.Server
	store  *agent.MemoryStore
	http   *httptest.Server
	url    string
	tls    *tls.Config
	events chan agent.Status

	connsMu sync.Mutex
	conns   map[net.Conn]bool // the listener's connections, hijacked ones included
}

// killConns drops every connection to the server at the TCP level, as a
// network failure would.
func (h *harness) killConns() int {
	h.connsMu.Lock()
	defer h.connsMu.Unlock()
	n := len(h.conns)
	for c := range h.conns {
		c.Close()
		delete(h.conns, c)
	}
	return n
}

func newHarness(t testing.TB, cfg agent.Config) *harness {
	t.Helper()
	h := &harness{t: t, store: &agent.MemoryStore{}, events: make(chan agent.Status, 1000), conns: map[net.Conn]bool{}}
	if cfg.Tokens == nil {
		cfg.Tokens, cfg.Agents = h.store, h.store
	}
	cfg.OnStatus = func(s agent.Status) {
		select {
		case h.events <- s:
		default:
		}
	}
	h.srv = agent.NewServer(cfg)
	mux := http.NewServeMux()
	mux.Handle("/agent", h.srv)
	h.http = httptest.NewUnstartedServer(mux)
	h.http.Config.ConnState = func(c net.Conn, s http.ConnState) {
		h.connsMu.Lock()
		defer h.connsMu.Unlock()
		switch s {
		case http.StateNew:
			h.conns[c] = true
		case http.StateClosed:
			delete(h.conns, c)
		}
	}
	h.http.StartTLS()
	h.url = "wss" + strings.TrimPrefix(h.http.URL, "https") + "/agent"
	h.tls = h.http.Client().Transport.(*http.Transport).TLSClientConfig
	t.Cleanup(func() {
		h.srv.Close()
		h.http.Close()
	})
	return h
}

func (h *harness) token(tenant string) string {
	h.t.Helper()
	tok, _, err := h.srv.CreateInstallToken(h.t.Context(), tenant, agent.TokenOptions{})
	require.NoError(h.t, err)
	return tok
}

// waitStatus waits for a status change of agent id (any agent when "")
// that satisfies ok.
func (h *harness) waitStatus(id string, ok func(agent.Status) bool) agent.Status {
	h.t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case s := <-h.events:
			if (id == "" || s.AgentID == id) && ok(s) {
				return s
			}
		case <-timeout:
			h.t.Fatalf("no status change of agent %q as expected", id)
		}
	}
}

func online(s agent.Status) bool  { return s.Online }
func offline(s agent.Status) bool { return !s.Online }

// inProcess runs an endpoint.Agent in the test process and returns its id
// once it is online.
func (h *harness) inProcess(cfg endpoint.Config) (string, *endpoint.Agent, <-chan error) {
	h.t.Helper()
	cfg.Server = h.url
	cfg.TLS = h.tls
	if cfg.MinBackoff == 0 {
		cfg.MinBackoff, cfg.MaxBackoff = 20*time.Millisecond, 200*time.Millisecond
	}
	if cfg.Scripts == nil {
		cfg.Scripts = script.New(script.Config{Logins: func(context.Context) ([]sysinfo.Login, error) { return nil, nil }})
	}
	a, err := endpoint.New(cfg)
	require.NoError(h.t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var wg sync.WaitGroup
	wg.Go(func() { done <- a.Run(ctx) })
	h.t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	st := h.waitStatus("", online)
	return st.AgentID, a, done
}

// rawClient speaks the wire protocol by hand, for the bad-input tests.
type rawClient struct {
	t     testing.TB
	ws    *websocket.Conn
	nonce []byte
}

func (h *harness) dialRaw() *rawClient {
	h.t.Helper()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: h.tls}}
	ws, _, err := websocket.Dial(h.t.Context(), h.url, &websocket.DialOptions{HTTPClient: client, Subprotocols: []string{wire.Subprotocol}})
	require.NoError(h.t, err)
	ws.SetReadLimit(-1)
	h.t.Cleanup(func() { ws.CloseNow() })
	c := &rawClient{t: h.t, ws: ws}
	m := c.read()
	require.Equal(h.t, wire.TypeChallenge, m.Type)
	c.nonce = m.Challenge.Nonce
	return c
}

func (c *rawClient) read() wire.Message {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.t.Context(), 10*time.Second)
	defer cancel()
	_, b, err := c.ws.Read(ctx)
	require.NoError(c.t, err)
	m, err := wire.Decode(b)
	require.NoError(c.t, err)
	return m
}

func (c *rawClient) writeRaw(b []byte) error {
	ctx, cancel := context.WithTimeout(c.t.Context(), 10*time.Second)
	defer cancel()
	return c.ws.Write(ctx, websocket.MessageText, b)
}

func (c *rawClient) write(m wire.Message) []byte {
	c.t.Helper()
	b, err := wire.Encode(m)
	require.NoError(c.t, err)
	require.NoError(c.t, c.writeRaw(b))
	return b
}

// closeStatus reads until the server closes, and returns the close error.
func (c *rawClient) closeStatus() websocket.CloseError {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.t.Context(), 10*time.Second)
	defer cancel()
	for {
		_, _, err := c.ws.Read(ctx)
		if err != nil {
			var ce websocket.CloseError
			require.ErrorAs(c.t, err, &ce, "want a close frame, got %v", err)
			return ce
		}
	}
}

// enrolRaw enrols a raw client and returns its id and key.
func (c *rawClient) enrol(token string) (string, ed25519.PrivateKey) {
	c.t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(c.t, err)
	h := &wire.Hello{InstallToken: token, PublicKey: pub}
	wire.Sign(priv, c.nonce, h)
	c.write(wire.Message{Type: wire.TypeHello, Hello: h})
	m := c.read()
	require.Equal(c.t, wire.TypeWelcome, m.Type, "%+v", m.Refused)
	return m.Welcome.AgentID, priv
}

func (*rawClient) keys(t *testing.T) (ed25519.PublicKey, ed25519.PrivateKey) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	return pub, priv
}
