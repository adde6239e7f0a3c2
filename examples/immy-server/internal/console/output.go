package console

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/immyoss/engine/session"
)

// Script output is not journaled (an action keeps the output of a failed
// script only), so the live session page follows it from the engines of
// this process: each line its scripts write while the page is open, as a
// Server-Sent Event "line" (data: {"index": action, "text": line}). A
// session worked by another server process (PostgreSQL) shows its actions
// live, from the journal, but not this stream.

const (
	outputMaxLife = 30 * time.Minute
	outputMaxLine = 4 << 10
)

func (c *Console) sessionOutput(w http.ResponseWriter, r *http.Request, s *webSession) {
	rep, err := c.report(r, s) // the token may see the session
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	if c.cfg.Core == nil {
		http.Error(w, "no live output here", http.StatusNotFound)
		return
	}
	lines := make(chan session.Event, 256)
	done := make(chan struct{})
	defer close(done)
	// a session runs on the engine River hands it to, which may be built
	// after the page opened: new engines are subscribed to as they come
	subs := map[*session.Engine]*session.Subscription{}
	defer func() {
		for _, sub := range subs {
			sub.Close()
		}
	}()
	subscribe := func() {
		c.cfg.Core.Engines(func(e *session.Engine) bool {
			if subs[e] != nil {
				return true
			}
			sub := e.Subscribe(rep.ID)
			subs[e] = sub
			go func() {
				for ev := range sub.C {
					if ev.Kind != session.EventLog {
						continue
					}
					select {
					case lines <- ev:
					case <-done:
						return
					}
				}
			}()
			return true
		})
	}
	subscribe()
	engines := time.NewTicker(250 * time.Millisecond)
	defer engines.Stop()
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if rc.Flush() != nil {
		return
	}
	life := time.NewTimer(outputMaxLife)
	defer life.Stop()
	keep := time.NewTicker(15 * time.Second)
	defer keep.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-life.C:
			return
		case <-engines.C:
			subscribe()
		case <-keep.C:
			_ = rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil || rc.Flush() != nil {
				return
			}
		case ev := <-lines:
			text := ev.Text
			if len(text) > outputMaxLine {
				text = text[:outputMaxLine]
			}
			b, _ := json.Marshal(map[string]any{"index": ev.Index, "text": text})
			_ = rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if _, err := fmt.Fprintf(w, "event: line\ndata: %s\n\n", strings.ReplaceAll(string(b), "\n", "")); err != nil || rc.Flush() != nil {
				return
			}
		}
	}
}
