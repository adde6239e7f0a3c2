package session

import (
	"sync"

	"github.com/immyoss/engine/resolver"
	"sync/atomic"
	"time"
)

// EventKind is what an event tells.
type EventKind uint8

// Values of EventKind.
const (
	_             EventKind = iota
	EventSession            // the session's status changed: Status, Reason, and Text its message
	EventStage              // the session entered a stage: Stage
	EventAction             // an action changed: Index, Action
	EventLog                // a line of output or a log line of a script: Index (-1 outside actions), Text
	EventProgress           // a script's progress: Index, Percent, Text
	EventProblem            // a problem held or refused part of the plan (see Report.Problems): Problem, Text its message
)

var eventKindNames = names[EventKind]{"event kind", []string{"", "session", "stage", "action", "log", "progress", "problem"}}

func (k EventKind) String() string { return eventKindNames.str(k) }

// MarshalText implements encoding.TextMarshaler.
func (k EventKind) MarshalText() ([]byte, error) { return eventKindNames.marshal(k) }

// Event is one step of a session's progress. Texts are redacted: a password
// parameter's value never appears in an event.
type Event struct {
	Seq      uint64    `json:"seq"` // engine-wide order
	Time     time.Time `json:"time"`
	Kind     EventKind `json:"kind"`
	Session  string    `json:"session"`
	Computer string    `json:"computer"`
	Status   Status    `json:"status,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	Stage    Stage     `json:"stage,omitempty"`
	Index    int       `json:"index"`
	Action   *Action   `json:"action,omitempty"`
	Text     string    `json:"text,omitempty"`
	Percent  float64   `json:"percent,omitempty"`
	// Problem is an EventProblem's problem.
	Problem *resolver.Problem `json:"problem,omitempty"`
}

// Subscription receives events in order on C until Close. Events wait in the
// subscription's own queue, so a slow reader never holds up sessions; read C
// or Close the subscription. Close drops the events not yet read and closes C.
type Subscription struct {
	C <-chan Event

	hub     *hub
	session string
	c       chan Event
	mu      sync.Mutex
	queue   []Event
	signal  chan struct{}
	done    chan struct{}
	once    sync.Once
}

// Close stops the subscription; C is closed once its goroutine ends.
func (s *Subscription) Close() {
	s.once.Do(func() {
		s.hub.remove(s)
		close(s.done)
	})
}

func (s *Subscription) push(ev Event) {
	s.mu.Lock()
	s.queue = append(s.queue, ev)
	s.mu.Unlock()
	select {
	case s.signal <- struct{}{}:
	default:
	}
}

func (s *Subscription) pump() {
	defer close(s.c)
	for {
		s.mu.Lock()
		batch := s.queue
		s.queue = nil
		s.mu.Unlock()
		for _, ev := range batch {
			select {
			case s.c <- ev:
			case <-s.done:
				return
			}
		}
		if len(batch) > 0 {
			continue
		}
		select {
		case <-s.signal:
		case <-s.done:
			return
		}
	}
}

// hub fans events out to subscriptions.
type hub struct {
	mu   sync.RWMutex
	subs map[*Subscription]struct{}
	n    atomic.Int32
	seq  atomic.Uint64
}

func (h *hub) subscribe(session string) *Subscription {
	c := make(chan Event, 64)
	s := &Subscription{C: c, c: c, hub: h, session: session, signal: make(chan struct{}, 1), done: make(chan struct{})}
	h.mu.Lock()
	if h.subs == nil {
		h.subs = map[*Subscription]struct{}{}
	}
	h.subs[s] = struct{}{}
	h.n.Add(1)
	h.mu.Unlock()
	go s.pump()
	return s
}

func (h *hub) remove(s *Subscription) {
	h.mu.Lock()
	if _, ok := h.subs[s]; ok {
		delete(h.subs, s)
		h.n.Add(-1)
	}
	h.mu.Unlock()
}

// active reports whether anyone listens; events are not built otherwise.
func (h *hub) active() bool { return h.n.Load() > 0 }

func (h *hub) emit(ev Event) {
	ev.Seq = h.seq.Add(1)
	h.mu.RLock()
	defer h.mu.RUnlock()
	for s := range h.subs {
		if s.session == "" || s.session == ev.Session {
			s.push(ev)
		}
	}
}
