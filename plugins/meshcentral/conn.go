package meshcentral

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// Errors of the control connection.
var (
	// ErrAuth is a refused login: wrong key, password or user, or an
	// account that needs a second factor.
	ErrAuth = errors.New("meshcentral: the server refused the login")
	// ErrDisconnected is a control connection lost while a call waited.
	ErrDisconnected = errors.New("meshcentral: connection to the server lost")
)

// maxMessage bounds one message from the server: a listing of tens of
// thousands of nodes fits.
const maxMessage = 64 << 20

// clientConfig is what a Client connects with.
type clientConfig struct {
	base     *url.URL // https://host[:port]/[domain/]
	domain   string
	user     string // the account's name
	key      []byte // login-token key; nil with a password
	password string
	tls      *tls.Config
	logger   *slog.Logger

	minBackoff, maxBackoff time.Duration
}

func (c *clientConfig) userID() string { return "user/" + c.domain + "/" + strings.ToLower(c.user) }

// message is what the server sends, as far as the client routes it.
type message struct {
	Action     string          `json:"action"`
	ResponseID string          `json:"responseid"`
	Tag        string          `json:"tag"`
	Type       string          `json:"type"`
	NodeID     string          `json:"nodeid"`
	Cause      string          `json:"cause"`
	Msg        string          `json:"msg"`
	Value      string          `json:"value"`
	Event      json.RawMessage `json:"event"`
	raw        []byte
}

// nodeEvent is the part of an event the client watches: a node's connection state.
type nodeEvent struct {
	Action string `json:"action"`
	NodeID string `json:"nodeid"`
	Conn   *int   `json:"conn"`
}

// session is one control connection.
type session struct {
	ws     *websocket.Conn
	done   chan struct{} // closed when the reader ends
	err    error         // why it ended, set before done closes
	userID string
	admin  bool // a full site administrator (who may use the server console)
}

// Client is a control connection to one MeshCentral server, dialled when a
// call needs it and again after it drops, with exponential backoff between
// failed dials. Calls send JSON actions carrying a response id and wait for
// the answer carrying it. Safe for concurrent use.
type Client struct {
	cfg clientConfig

	mu       sync.Mutex
	sess     *session
	dialing  chan struct{} // non-nil while a dial runs; closed when it ends
	failures int           // consecutive failed dials
	nextDial time.Time     // no dial before this, after failures
	lastErr  error

	pmu      sync.Mutex
	pending  map[string]chan message
	watchers map[string][]chan struct{} // node id -> channels closed when it disconnects
	consoles map[string][]chan string   // node id -> channels of its agent's console text

	prefix string // of response ids: random, since answers to runs reach every session of the account
	seq    atomic.Uint64
	closed atomic.Bool
}

func newClient(cfg clientConfig) *Client {
	if cfg.minBackoff == 0 {
		cfg.minBackoff = 500 * time.Millisecond
	}
	if cfg.maxBackoff == 0 {
		cfg.maxBackoff = 30 * time.Second
	}
	if cfg.logger == nil {
		cfg.logger = slog.New(slog.DiscardHandler)
	}
	var r [6]byte
	_, _ = rand.Read(r[:])
	return &Client{cfg: cfg, prefix: "immy-" + hex.EncodeToString(r[:]) + "-", pending: map[string]chan message{}, watchers: map[string][]chan struct{}{}, consoles: map[string][]chan string{}}
}

// Close closes the connection; calls fail afterwards.
func (c *Client) Close() {
	c.closed.Store(true)
	c.mu.Lock()
	s := c.sess
	c.sess = nil
	c.mu.Unlock()
	if s != nil {
		s.ws.Close(websocket.StatusNormalClosure, "")
		<-s.done
	}
}

// connect returns the live session, dialling when there is none.
func (c *Client) connect(ctx context.Context) (*session, error) {
	for {
		if c.closed.Load() {
			return nil, errors.New("meshcentral: client closed")
		}
		c.mu.Lock()
		if s := c.sess; s != nil {
			select {
			case <-s.done:
				c.sess = nil
			default:
				c.mu.Unlock()
				return s, nil
			}
		}
		if wait := c.dialing; wait != nil {
			c.mu.Unlock()
			select {
			case <-wait:
				c.mu.Lock()
				s, err := c.sess, c.lastErr
				c.mu.Unlock()
				if s == nil && err != nil && errors.Is(err, ErrAuth) {
					return nil, err
				}
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		delay := time.Until(c.nextDial)
		c.dialing = make(chan struct{})
		c.mu.Unlock()

		if delay > 0 {
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				c.endDial(nil, nil)
				return nil, ctx.Err()
			}
		}
		s, err := c.dial(ctx)
		c.endDial(s, err)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
}

func (c *Client) endDial(s *session, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s != nil {
		c.sess, c.failures, c.nextDial, c.lastErr = s, 0, time.Time{}, nil
	} else if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		c.failures++
		d := c.cfg.minBackoff << min(c.failures-1, 16)
		if d > c.cfg.maxBackoff || d <= 0 {
			d = c.cfg.maxBackoff
		}
		c.nextDial, c.lastErr = time.Now().Add(d), err
		c.cfg.logger.Warn("meshcentral: connection failed", "attempt", c.failures, "retry_in", d, "error", err)
	}
	close(c.dialing)
	c.dialing = nil
}

// dial opens the control WebSocket and waits for the server to accept the
// login: it sends the account's userinfo, or a close with the reason.
func (c *Client) dial(ctx context.Context) (*session, error) {
	u := *c.cfg.base
	u.Scheme = map[string]string{"https": "wss", "http": "ws"}[u.Scheme]
	u.Path = strings.TrimSuffix(u.Path, "/") + "/control.ashx"
	header := http.Header{}
	if c.cfg.key != nil {
		tok, err := controlToken(c.cfg.key, c.cfg.userID(), c.cfg.domain, time.Now())
		if err != nil {
			return nil, err
		}
		u.RawQuery = "auth=" + url.QueryEscape(tok)
	} else {
		header.Set("X-Meshauth", base64.StdEncoding.EncodeToString([]byte(c.cfg.user))+","+base64.StdEncoding.EncodeToString([]byte(c.cfg.password)))
	}
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(dctx, u.String(), &websocket.DialOptions{
		HTTPClient: &http.Client{Transport: &http.Transport{TLSClientConfig: c.cfg.tls, Proxy: http.ProxyFromEnvironment}},
		HTTPHeader: header,
	})
	if err != nil {
		// the URL may hold the token: say where without it
		return nil, fmt.Errorf("meshcentral: connecting to %s: %w", c.cfg.base.Redacted(), stripURL(err, u.String(), c.cfg.base.Redacted()))
	}
	ws.SetReadLimit(maxMessage)
	// The server answers a login with serverinfo and userinfo, or refuses it
	// with a close action.
	for {
		_, b, err := ws.Read(dctx)
		if err != nil {
			ws.CloseNow()
			return nil, fmt.Errorf("meshcentral: login to %s: %w", c.cfg.base.Redacted(), err)
		}
		var m struct {
			Action   string `json:"action"`
			Cause    string `json:"cause"`
			Msg      string `json:"msg"`
			UserInfo struct {
				ID        string `json:"_id"`
				SiteAdmin uint64 `json:"siteadmin"`
			} `json:"userinfo"`
		}
		if json.Unmarshal(b, &m) != nil {
			continue
		}
		switch m.Action {
		case "close":
			ws.CloseNow()
			return nil, fmt.Errorf("%w as %s at %s (%s %s)", ErrAuth, c.cfg.userID(), c.cfg.base.Redacted(), printable(m.Cause), printable(m.Msg))
		case "userinfo":
			s := &session{ws: ws, done: make(chan struct{}), userID: m.UserInfo.ID, admin: m.UserInfo.SiteAdmin == 0xFFFFFFFF}
			go c.read(s)
			return s, nil
		}
	}
}

// stripURL replaces the dialled URL (with its token) in an error's text.
func stripURL(err error, full, safe string) error {
	msg := err.Error()
	if !strings.Contains(msg, full) {
		return err
	}
	return errors.New(strings.ReplaceAll(msg, full, safe))
}

// read routes the session's messages until it ends.
func (c *Client) read(s *session) {
	defer close(s.done)
	for {
		_, b, err := s.ws.Read(context.Background())
		if err != nil {
			s.err = err
			c.failAll()
			return
		}
		var m message
		if json.Unmarshal(b, &m) != nil {
			continue
		}
		m.raw = b
		if m.Action == "event" && len(m.Event) > 0 {
			var ev nodeEvent
			if json.Unmarshal(m.Event, &ev) == nil && ev.Action == "nodeconnect" && ev.Conn != nil && *ev.Conn&1 == 0 {
				c.nodeGone(ev.NodeID)
			}
			continue
		}
		if m.Action == "msg" && m.Type == "console" && m.ResponseID == "" && m.NodeID != "" {
			c.consoleText(m.NodeID, m.Value)
			continue
		}
		if m.Action == "close" {
			s.err = fmt.Errorf("%w: the server closed the session (%s %s)", ErrDisconnected, printable(m.Cause), printable(m.Msg))
			s.ws.CloseNow()
			continue
		}
		id := m.ResponseID
		if id == "" {
			id = m.Tag
		}
		if id == "" {
			continue
		}
		c.pmu.Lock()
		ch := c.pending[id]
		delete(c.pending, id)
		c.pmu.Unlock()
		if ch != nil {
			ch <- m
		}
	}
}

func (c *Client) failAll() {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	for id, ch := range c.pending {
		close(ch)
		delete(c.pending, id)
	}
	for id, ws := range c.watchers {
		for _, w := range ws {
			close(w)
		}
		delete(c.watchers, id)
	}
}

func (c *Client) nodeGone(node string) {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	for _, w := range c.watchers[node] {
		close(w)
	}
	delete(c.watchers, node)
}

// watch returns a channel closed when node disconnects (or the control
// connection drops), and a function to stop watching.
func (c *Client) watch(node string) (<-chan struct{}, func()) {
	ch := make(chan struct{})
	c.pmu.Lock()
	c.watchers[node] = append(c.watchers[node], ch)
	c.pmu.Unlock()
	return ch, func() {
		c.pmu.Lock()
		defer c.pmu.Unlock()
		ws := c.watchers[node]
		for i, w := range ws {
			if w == ch {
				c.watchers[node] = append(ws[:i:i], ws[i+1:]...)
				break
			}
		}
		if len(c.watchers[node]) == 0 {
			delete(c.watchers, node)
		}
	}
}

// console subscribes to the console text of a node's agent (what its
// runs print, its "already busy"); text that finds the channel full is
// dropped.
func (c *Client) console(node string) (<-chan string, func()) {
	ch := make(chan string, 256)
	c.pmu.Lock()
	c.consoles[node] = append(c.consoles[node], ch)
	c.pmu.Unlock()
	return ch, func() {
		c.pmu.Lock()
		defer c.pmu.Unlock()
		cs := c.consoles[node]
		for i, x := range cs {
			if x == ch {
				c.consoles[node] = append(cs[:i:i], cs[i+1:]...)
				break
			}
		}
		if len(c.consoles[node]) == 0 {
			delete(c.consoles, node)
		}
	}
}

func (c *Client) consoleText(node, text string) {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	for _, ch := range c.consoles[node] {
		select {
		case ch <- text:
		default:
		}
	}
}

// call sends an action with a fresh response id (also as its tag, which some
// actions echo instead) and returns the server's answer to it.
func (c *Client) call(ctx context.Context, req map[string]any) (message, error) {
	s, err := c.connect(ctx)
	if err != nil {
		return message{}, err
	}
	id := c.prefix + strconv.FormatUint(c.seq.Add(1), 10)
	req["responseid"], req["tag"] = id, id
	b, err := json.Marshal(req)
	if err != nil {
		return message{}, fmt.Errorf("meshcentral: %w", err)
	}
	ch := make(chan message, 1)
	c.pmu.Lock()
	c.pending[id] = ch
	c.pmu.Unlock()
	defer func() {
		c.pmu.Lock()
		delete(c.pending, id)
		c.pmu.Unlock()
	}()
	if err := s.ws.Write(ctx, websocket.MessageText, b); err != nil {
		s.ws.CloseNow()
		return message{}, fmt.Errorf("%w: sending %v: %w", ErrDisconnected, req["action"], err)
	}
	select {
	case m, ok := <-ch:
		if !ok {
			return message{}, fmt.Errorf("%w while waiting for %v", ErrDisconnected, req["action"])
		}
		return m, nil
	case <-ctx.Done():
		return message{}, ctx.Err()
	}
}

// send sends an action that has no answer.
func (c *Client) send(ctx context.Context, req map[string]any) error {
	s, err := c.connect(ctx)
	if err != nil {
		return err
	}
	b, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("meshcentral: %w", err)
	}
	if err := s.ws.Write(ctx, websocket.MessageText, b); err != nil {
		s.ws.CloseNow()
		return fmt.Errorf("%w: sending %v: %w", ErrDisconnected, req["action"], err)
	}
	return nil
}

// printable bounds a text the server sent before it goes into an error.
func printable(s string) string {
	const limit = 200
	if len(s) > limit {
		s = s[:limit] + "..."
	}
	return strconv.Quote(s)
}
