package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/immyoss/engine/agent/internal/wire"
	"github.com/immyoss/engine/immy"
)

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
