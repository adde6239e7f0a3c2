package console

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/immyoss/engine/examples/immy-server/internal/core"
	"github.com/immyoss/engine/session"
)

// Script output is not journaled (an action keeps the output of a failed
// script only), so the console follows it from the engines of this
// process: outputs subscribes to every engine's events from the console's
// start, and keeps the latest lines of the latest sessions, so
// that a page opened while a script runs shows what it wrote so far. The
// live session page reads it as Server-Sent Events "line" (data:
// {"index": action, "text": line}). A session worked by another server
// process (PostgreSQL) shows its actions live, from the journal, but not
// this stream.

const (
	outputMaxLife     = 30 * time.Minute
	outputMaxLine     = 4 << 10
	outputKeepLines   = 2000 // per session
	outputKeepSession = 256  // sessions kept, the latest
)

type outLine struct {
	Index int    `json:"index"`
	Text  string `json:"text"`
}

type outBuf struct {
	lines     []outLine
	listeners map[chan outLine]struct{}
}

// outputs keeps the script output of this process's sessions.
type outputs struct {
	core *core.Core
	once sync.Once
	stop chan struct{}

	mu       sync.Mutex
	sessions map[string]*outBuf
	order    []string // oldest first
	subs     map[*session.Engine]*session.Subscription
}

func newOutputs(c *core.Core) *outputs {
	return &outputs{core: c, stop: make(chan struct{}), sessions: map[string]*outBuf{}, subs: map[*session.Engine]*session.Subscription{}}
}

// start subscribes to the engines, and to each new one as the fleet moves on.
func (o *outputs) start() {
	o.once.Do(func() {
		o.subscribe()
		go func() {
			t := time.NewTicker(250 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-o.stop:
					return
				case <-t.C:
					o.subscribe()
				}
			}
		}()
	})
}

func (o *outputs) close() {
	select {
	case <-o.stop:
		return
	default:
	}
	close(o.stop)
	o.mu.Lock()
	defer o.mu.Unlock()
	for e, sub := range o.subs {
		sub.Close()
		delete(o.subs, e)
	}
}

func (o *outputs) subscribe() {
	live := map[*session.Engine]bool{}
	o.core.Engines(func(e *session.Engine) bool {
		live[e] = true
		return true
	})
	o.mu.Lock()
	defer o.mu.Unlock()
	for e, sub := range o.subs {
		if !live[e] {
			sub.Close()
			delete(o.subs, e)
		}
	}
	for e := range live {
		if o.subs[e] != nil {
			continue
		}
		sub := e.Subscribe("")
		o.subs[e] = sub
		go func() {
			for ev := range sub.C {
				if ev.Kind == session.EventLog {
					o.add(ev.Session, outLine{Index: ev.Index, Text: ev.Text})
				}
			}
		}()
	}
}

func (o *outputs) buf(id string) *outBuf {
	b := o.sessions[id]
	if b == nil {
		b = &outBuf{listeners: map[chan outLine]struct{}{}}
		o.sessions[id] = b
		o.order = append(o.order, id)
		for len(o.order) > outputKeepSession {
			old := o.order[0]
			o.order = o.order[1:]
			if len(o.sessions[old].listeners) > 0 {
				o.order = append(o.order, old) // watched: kept
				break
			}
			delete(o.sessions, old)
		}
	}
	return b
}

func (o *outputs) add(id string, l outLine) {
	if len(l.Text) > outputMaxLine {
		l.Text = l.Text[:outputMaxLine]
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	b := o.buf(id)
	b.lines = append(b.lines, l)
	if n := len(b.lines); n > outputKeepLines {
		b.lines = append(b.lines[:0], b.lines[n-outputKeepLines:]...)
	}
	for ch := range b.listeners {
		select {
		case ch <- l:
		default: // a reader that falls this far behind loses lines
		}
	}
}

// watch returns the lines kept of a session and a channel of those to come.
func (o *outputs) watch(id string) ([]outLine, chan outLine, func()) {
	o.mu.Lock()
	defer o.mu.Unlock()
	b := o.buf(id)
	ch := make(chan outLine, 512)
	b.listeners[ch] = struct{}{}
	kept := append([]outLine(nil), b.lines...)
	return kept, ch, func() {
		o.mu.Lock()
		delete(b.listeners, ch)
		o.mu.Unlock()
	}
}

func (c *Console) sessionOutput(w http.ResponseWriter, r *http.Request, s *webSession) {
	rep, err := c.report(r, s) // the token may see the session
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	if c.out == nil {
		http.Error(w, "no live output here", http.StatusNotFound)
		return
	}
	release, ok := c.streams.Acquire(s.token.ID)
	if !ok {
		http.Error(w, "too many open live pages (at most 4 per token): close one first", http.StatusTooManyRequests)
		return
	}
	defer release()
	c.out.start()
	kept, lines, stop := c.out.watch(rep.ID)
	defer stop()
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	// write bounds one write (a client that stopped reading), then lifts the
	// deadline, which would otherwise fail the end of the response once the
	// stream had been quiet that long
	write := func(s string) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
		defer func() { _ = rc.SetWriteDeadline(time.Time{}) }()
		if _, err := io.WriteString(w, s); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	send := func(l outLine) bool {
		b, _ := json.Marshal(l)
		return write(fmt.Sprintf("event: line\ndata: %s\n\n", strings.ReplaceAll(string(b), "\n", "")))
	}
	for _, l := range kept {
		if !send(l) {
			return
		}
	}
	if rc.Flush() != nil {
		return
	}
	life := time.NewTimer(outputMaxLife)
	defer life.Stop()
	keep := time.NewTicker(15 * time.Second)
	defer keep.Stop()
	check := time.NewTicker(outputRecheck)
	defer check.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-check.C:
			// a revoked or expired token's page stops following
			if _, err := c.cfg.Tokens.Authenticate(r.Context(), s.secret); err != nil {
				return
			}
		case <-life.C:
			return
		case <-keep.C:
			if !write(": keep-alive\n\n") {
				return
			}
		case l := <-lines:
			if !send(l) {
				return
			}
		}
	}
}
