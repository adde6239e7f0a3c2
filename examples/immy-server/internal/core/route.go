package core

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/immyoss/engine/session"
	"github.com/immyoss/engine/session/durable"
)

// Several server processes share one database (PostgreSQL), and an agent is
// connected to one of them: only that process can run its scripts. So each
// process works a River queue of its own ("immy-" and its client id), and
// the router, the engines' session.Dispatcher, queues a session on the
// queue of the process its computer's agent is connected to, as the table
// immy_server_agents says (each process writes its agents there when they
// connect, and again every heartbeat); a computer whose agent is connected
// nowhere (or reached through a plugin, which every process runs) is queued
// here. When the agent connects to a process later, that process's
// Connected dispatches the waiting session again, to itself.

const (
	presenceBeat  = 30 * time.Second
	presenceStale = 2 * time.Minute
)

var queueChars = regexp.MustCompile(`[^a-z0-9_-]+`)

// QueueName is the River queue of the process with client id.
func QueueName(clientID string) string {
	q := "immy-" + queueChars.ReplaceAllString(strings.ToLower(clientID), "-")
	if len(q) > 100 {
		q = q[:100]
	}
	return q
}

type router struct {
	c      *Core
	own    *durable.Queue
	name   string
	qcfg   durable.Config
	mu     sync.Mutex
	others map[string]*durable.Queue // queues of other processes: inserting only
}

func (c *Core) migratePresence(ctx context.Context) error {
	if err := c.exec(ctx, `CREATE TABLE IF NOT EXISTS immy_server_agents (
		agent   TEXT PRIMARY KEY,
		queue   TEXT NOT NULL,
		updated TEXT NOT NULL
	)`); err != nil {
		return err
	}
	return c.migrateFeed(ctx)
}

func (c *Core) exec(ctx context.Context, q string, args ...any) error {
	if c.Pool != nil {
		_, err := c.Pool.Exec(ctx, rebind(q), args...)
		return err
	}
	_, err := c.SQL.ExecContext(ctx, q, args...)
	return err
}

func rebind(q string) string {
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// markAgent records that an agent is connected here (or no longer).
func (c *Core) markAgent(ctx context.Context, agentID string, online bool) {
	var err error
	if online {
		err = c.exec(ctx, `INSERT INTO immy_server_agents (agent, queue, updated) VALUES (?, ?, ?)
			ON CONFLICT (agent) DO UPDATE SET queue = excluded.queue, updated = excluded.updated`,
			agentID, c.router.name, time.Now().UTC().Format(time.RFC3339))
	} else {
		err = c.exec(ctx, `DELETE FROM immy_server_agents WHERE agent = ? AND queue = ?`, agentID, c.router.name)
	}
	if err != nil {
		c.log.Warn("agent presence not recorded", "agent", agentID, "err", err)
	}
}

// heartbeat refreshes the presence of this process's connected agents.
func (c *Core) heartbeat(ctx context.Context) {
	t := time.NewTicker(presenceBeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, s := range c.Agents.Agents() {
			if s.Online {
				c.markAgent(ctx, s.AgentID, true)
			}
		}
	}
}

// queueOf returns the queue of the process an agent is connected to; "" for
// this process's own.
func (r *router) queueOf(ctx context.Context, computer string) string {
	agentID := computer
	// one computer, read without handing the fleet out (see fleetstore's
	// Store.Computer): a dispatch per session must not make the next
	// inventory write copy every computer
	if comp, ok := r.c.Fleet.Computer(computer); ok {
		for _, pw := range comp.Pathways {
			if pw.Integration == "" {
				agentID = pw.AgentID
			}
		}
	}
	if s, ok := r.c.Agents.Status(agentID); ok && s.Online {
		return r.name
	}
	var queue, updated string
	q := `SELECT queue, updated FROM immy_server_agents WHERE agent = ?`
	var err error
	if r.c.Pool != nil {
		err = r.c.Pool.QueryRow(ctx, rebind(q), agentID).Scan(&queue, &updated)
	} else {
		err = r.c.SQL.QueryRowContext(ctx, q, agentID).Scan(&queue, &updated)
	}
	if errors.Is(err, sql.ErrNoRows) || errors.Is(err, pgx.ErrNoRows) || err != nil {
		return r.name
	}
	if t, perr := time.Parse(time.RFC3339, updated); perr != nil || time.Since(t) > presenceStale {
		return r.name
	}
	return queue
}

// Dispatch implements session.Dispatcher.
func (r *router) Dispatch(ctx context.Context, ss []session.Dispatched) error {
	groups := map[string][]session.Dispatched{}
	var order []string
	for _, s := range ss {
		q := r.queueOf(ctx, s.Computer)
		if _, ok := groups[q]; !ok {
			order = append(order, q)
		}
		groups[q] = append(groups[q], s)
	}
	var errs []error
	for _, name := range order {
		q, err := r.queue(ctx, name)
		if err == nil {
			err = q.Dispatch(ctx, groups[name])
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (r *router) queue(ctx context.Context, name string) (*durable.Queue, error) {
	if name == r.name {
		return r.own, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if q, ok := r.others[name]; ok {
		return q, nil
	}
	cfg := r.qcfg
	cfg.Queue, cfg.ClientID = name, ""
	q, err := durable.Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if r.others == nil {
		r.others = map[string]*durable.Queue{}
	}
	r.others[name] = q
	return q, nil
}
