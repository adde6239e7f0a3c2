package core

import (
	"context"
	"sync"
	"time"

	"github.com/immyoss/engine/session"
)

// postponer is the engines' session.Notifier: it tells nobody, and answers
// "postpone" before the execution of a session whose postponement was asked
// through the API (sessions the API starts ask for notices). It keeps the
// asks in this process's memory: a session worked by another process, or
// after a restart, is not postponed.
type postponer struct {
	mu sync.Mutex
	m  map[string]time.Time // session id -> until
}

func (p *postponer) Before(_ context.Context, n session.Notice) (session.Reply, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if until, ok := p.m[n.Session]; ok {
		delete(p.m, n.Session)
		return session.Reply{Answer: session.Postpone, Until: until, Reason: "postponed through the API"}, nil
	}
	return session.Reply{Answer: session.Proceed}, nil
}

func (p *postponer) After(context.Context, session.Notice) error { return nil }

// Postpone asks that session id, when it reaches execution, waits until
// until (zero: session.DefaultPostpone) and starts again from inventory.
func (c *Core) Postpone(id string, until time.Time) {
	c.post.mu.Lock()
	defer c.post.mu.Unlock()
	if c.post.m == nil {
		c.post.m = map[string]time.Time{}
	}
	c.post.m[id] = until
}
