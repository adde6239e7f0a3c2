package ephemeral

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/immyoss/engine/immy"
)

// Runner is a computer's RMM pathway that brings in an ephemeral agent when
// a script needs what the RMM cannot give: it is what a session.Config's
// Runners holds for the RMM's integration, in place of the RMM's own runner.
// A script Need says so of (by default: user context, or a Timeout above
// MaxRMMTimeout when that is set) runs through an ephemeral agent it
// bootstraps on the computer at the first such script, and keeps while the
// agent stays online (the agent exits by itself after Config.Idle without a
// request); every other script, and the inventory, go through the RMM.
type Runner struct {
	Bootstrapper *Bootstrapper
	// RMM runs scripts through the integration, by computer id
	// (plugins.IntegrationRunner).
	RMM immy.ScriptRunner
	// Computer looks a computer up by id.
	Computer func(id string) (immy.Computer, bool)
	// MaxRMMTimeout, when set, is the longest script the RMM is trusted with.
	MaxRMMTimeout time.Duration
	// Need, when set, replaces the default test of what needs the agent.
	Need func(req immy.ScriptRequest) bool

	mu     sync.Mutex
	agents map[string]string      // computer -> ephemeral agent id
	locks  map[string]*sync.Mutex // computer -> held while its agent is found or started
	starts int
}

var (
	_ immy.ScriptRunner    = (*Runner)(nil)
	_ immy.InventorySource = (*Runner)(nil)
)

func (r *Runner) need(req immy.ScriptRequest) bool {
	if r.Need != nil {
		return r.Need(req)
	}
	return req.Script.Context == immy.ContextUser || (r.MaxRMMTimeout > 0 && req.Timeout > r.MaxRMMTimeout)
}

// Started reports how many ephemeral agents the runner bootstrapped.
func (r *Runner) Started() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.starts
}

// RunScript runs req through the RMM, or through the computer's ephemeral
// agent when the script needs it.
func (r *Runner) RunScript(ctx context.Context, req immy.ScriptRequest) (immy.ScriptResult, error) {
	if !r.need(req) {
		return r.RMM.RunScript(ctx, req)
	}
	id, err := r.agent(ctx, req.Computer)
	if err != nil {
		return immy.ScriptResult{}, err
	}
	sub := req
	sub.Computer = id
	return r.Bootstrapper.cfg.Server.RunScript(ctx, sub)
}

// agent returns the computer's ephemeral agent, bootstrapping one when it
// has none online.
func (r *Runner) agent(ctx context.Context, computer string) (string, error) {
	r.mu.Lock()
	if r.locks == nil {
		r.locks, r.agents = map[string]*sync.Mutex{}, map[string]string{}
	}
	l := r.locks[computer]
	if l == nil {
		l = &sync.Mutex{}
		r.locks[computer] = l
	}
	r.mu.Unlock()
	l.Lock() // one bootstrap per computer at a time; other computers go on
	defer l.Unlock()

	r.mu.Lock()
	id, ok := r.agents[computer]
	r.mu.Unlock()
	if ok {
		if st, ok := r.Bootstrapper.cfg.Server.Status(id); ok && st.Online && !st.Gone {
			return id, nil
		}
	}
	c, ok := r.Computer(computer)
	if !ok {
		return "", fmt.Errorf("ephemeral: computer %q: %w", computer, immy.ErrNotFound)
	}
	a, err := r.Bootstrapper.Start(ctx, r.RMM, c, "")
	if err != nil {
		return "", err
	}
	r.mu.Lock()
	r.agents[computer] = a.ID
	r.starts++
	r.mu.Unlock()
	return a.ID, nil
}

// Release releases every ephemeral agent the runner started (at the end of
// the sessions that needed them).
func (r *Runner) Release() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	for c, id := range r.agents {
		if err := r.Bootstrapper.cfg.Server.Release(id); err != nil && !errors.Is(err, immy.ErrOffline) {
			errs = append(errs, err)
		}
		delete(r.agents, c)
	}
	return errors.Join(errs...)
}

// Inventory reads the inventory through the RMM when it is an inventory
// source; otherwise errors.ErrUnsupported, and the session runs the
// inventory script through RunScript (the RMM, being a system script).
func (r *Runner) Inventory(ctx context.Context, computer string) (immy.Inventory, error) {
	if src, ok := r.RMM.(immy.InventorySource); ok {
		return src.Inventory(ctx, computer)
	}
	return immy.Inventory{}, fmt.Errorf("ephemeral: inventory: %w", errors.ErrUnsupported)
}
