package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/immyoss/engine/agent/internal/wire"
	"github.com/immyoss/engine/immy"
)

// timeoutMargin is how long past a request's Timeout the server waits for
// the agent, which enforces the Timeout itself, before giving up on it.
const timeoutMargin = 5 * time.Second

// pick returns the connection of the first online agent that reaches
// computer, of the computer's tenant when Config.Tenant tells it.
func (s *Server) pick(ctx context.Context, computer string) (*conn, error) {
	ids := []string{computer}
	if s.cfg.Route != nil {
		var err error
		if ids, err = s.cfg.Route(ctx, computer); err != nil {
			return nil, fmt.Errorf("agent: computer %q: %w", computer, err)
		}
	}
	tenant, checkTenant := "", s.cfg.Tenant != nil
	if checkTenant {
		var err error
		if tenant, err = s.cfg.Tenant(ctx, computer); err != nil {
			return nil, fmt.Errorf("agent: computer %q: tenant: %w", computer, err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	skipped := 0
	for _, id := range ids {
		c := s.conns[id]
		switch {
		case c == nil:
		case checkTenant && c.tenant != tenant:
			skipped++
		default:
			return c, nil
		}
	}
	if skipped > 0 {
		s.log.Warn("agents of another tenant skipped", "computer", computer, "tenant", tenant, "skipped", skipped)
		return nil, fmt.Errorf("agent: computer %q: no agent of its tenant %q online (%d of another tenant skipped): %w", computer, tenant, skipped, immy.ErrOffline)
	}
	return nil, fmt.Errorf("agent: computer %q: no agent online: %w", computer, immy.ErrOffline)
}

// RunScript implements immy.ScriptRunner: it runs req's script on the first
// online agent that reaches req.Computer and streams its output to
// req.Output. A script stopped by ctx or by req.Timeout comes back with its
// output so far and an error wrapping ctx's error or
// context.DeadlineExceeded; after ctx ends the agent is told to kill the
// script, and RunScript waits up to Config.CancelGrace for its last word.
// Other errors: immy.ErrOffline, immy.ErrInvalid, immy.ErrNoUserLoggedOn,
// ErrUnavailable, ErrPermission, ErrDisconnected (the connection ended
// while the script ran: whether it finished is unknown).
func (s *Server) RunScript(ctx context.Context, req immy.ScriptRequest) (immy.ScriptResult, error) {
	if err := checkRequest(req); err != nil {
		return immy.ScriptResult{}, err
	}
	params := map[string]json.RawMessage{}
	var errs []error
	for k, v := range req.Parameters {
		b, err := json.Marshal(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("agent: parameter %q cannot be sent: %w: %w", k, err, immy.ErrInvalid))
			continue
		}
		params[k] = b
	}
	if err := errors.Join(errs...); err != nil {
		return immy.ScriptResult{}, err
	}
	c, err := s.pick(ctx, req.Computer)
	if err != nil {
		return immy.ScriptResult{}, err
	}
	maxOut := req.MaxOutput
	if maxOut <= 0 {
		maxOut = s.cfg.DefaultMaxOutput
	}
	p, err := c.newPending(maxOut)
	if err != nil {
		return immy.ScriptResult{}, err
	}
	defer c.dropPending(p)
	run := &wire.Run{
		Language: req.Script.Language.String(), Context: req.Script.Context.String(), Body: req.Script.Body,
		Parameters: params, Secrets: slices.Clone(req.Secrets), TimeoutMS: req.Timeout.Milliseconds(), MaxOutput: maxOut,
	}
	if req.Timeout > 0 && run.TimeoutMS == 0 {
		run.TimeoutMS = 1
	}
	if err := c.send(ctx, wire.Message{Type: wire.TypeRun, ID: p.id, Run: run}); err != nil {
		return immy.ScriptResult{}, err
	}

	var out strings.Builder // String() without a copy
	drain := func() bool {
		chunks, done := p.take()
		for _, ch := range chunks {
			out.Write(ch)
			if req.Output != nil {
				req.Output(ch)
			}
		}
		return done
	}
	if stopErr := s.await(ctx, c, p, req.Timeout, drain); stopErr != nil {
		// Tell the agent to kill the script, and give it a moment for its
		// last output and result.
		c.send(context.Background(), wire.Message{Type: wire.TypeCancel, ID: p.id})
		grace := time.NewTimer(s.cfg.CancelGrace)
		defer grace.Stop()
	wait:
		for !drain() {
			select {
			case <-p.notify:
			case <-grace.C:
				drain()
				break wait
			}
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		res := immy.ScriptResult{ExitCode: -1, Output: out.String(), Truncated: p.truncated}
		if p.result != nil {
			res.ExitCode, res.Value = p.result.ExitCode, p.result.Value
			res.Truncated = res.Truncated || p.result.Truncated
		}
		return res, stopErr
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return immy.ScriptResult{ExitCode: -1, Output: out.String(), Truncated: p.truncated}, p.err
	}
	r := p.result
	if r == nil {
		return immy.ScriptResult{}, fmt.Errorf("agent: agent %s answered a script with an inventory: %w", c.id, immy.ErrInvalid)
	}
	res := immy.ScriptResult{ExitCode: r.ExitCode, Output: out.String(), Truncated: p.truncated || r.Truncated, Value: r.Value}
	if r.Error == nil {
		return res, nil
	}
	switch r.Error.Kind {
	case wire.ErrorTimeout:
		return res, fmt.Errorf("agent: script on agent %s: %s: %w", c.id, r.Error.Message, context.DeadlineExceeded)
	case wire.ErrorCanceled:
		return res, fmt.Errorf("agent: script on agent %s: %s: %w", c.id, r.Error.Message, context.Canceled)
	}
	return immy.ScriptResult{}, agentError(c.id, r.Error)
}

// await waits for a run's end, draining its output as it comes. It returns
// nil when the run ended, else why the server stopped waiting: ctx ended, or
// the agent overran the request's timeout.
func (s *Server) await(ctx context.Context, c *conn, p *pending, timeout time.Duration, drain func() bool) error {
	var safety <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout + timeoutMargin)
		defer t.Stop()
		safety = t.C
	}
	for !drain() {
		select {
		case <-p.notify:
		case <-ctx.Done():
			return fmt.Errorf("agent: script on agent %s stopped: %w", c.id, ctx.Err())
		case <-safety:
			return fmt.Errorf("agent: script on agent %s: no result %s after its %s timeout: %w", c.id, timeoutMargin, timeout, context.DeadlineExceeded)
		}
	}
	return nil
}

// agentError turns an error the agent reported into one wrapping the
// matching sentinel.
func agentError(agentID string, e *wire.Error) error {
	var sentinel error
	switch e.Kind {
	case wire.ErrorNoUser:
		sentinel = immy.ErrNoUserLoggedOn
	case wire.ErrorUnavailable:
		sentinel = ErrUnavailable
	case wire.ErrorInvalid:
		sentinel = immy.ErrInvalid
	case wire.ErrorPermission:
		sentinel = ErrPermission
	case wire.ErrorTooLarge:
		sentinel = ErrTooLarge
	default:
		return fmt.Errorf("agent: agent %s: %s", agentID, e.Message)
	}
	return fmt.Errorf("agent: agent %s: %s: %w", agentID, e.Message, sentinel)
}

// checkRequest refuses what no agent can run, reporting every problem.
func checkRequest(req immy.ScriptRequest) error {
	var errs []error
	switch req.Script.Context {
	case immy.ContextSystem, immy.ContextUser:
	default:
		errs = append(errs, fmt.Errorf("agent: a %s script runs on the server, not on an agent: %w", req.Script.Context, immy.ErrInvalid))
	}
	switch req.Script.Language {
	case immy.LanguageShell, immy.LanguagePowerShell, immy.LanguageCmd, immy.LanguageLua:
	default:
		errs = append(errs, fmt.Errorf("agent: script language %q: %w", req.Script.Language, immy.ErrInvalid))
	}
	if req.Timeout < 0 {
		errs = append(errs, fmt.Errorf("agent: negative timeout %s: %w", req.Timeout, immy.ErrInvalid))
	}
	if req.MaxOutput < 0 {
		errs = append(errs, fmt.Errorf("agent: negative output cap %d: %w", req.MaxOutput, immy.ErrInvalid))
	}
	return errors.Join(errs...)
}

// Inventory implements immy.InventorySource: it asks the first online agent
// that reaches computer for its identity, software and logged-on users.
func (s *Server) Inventory(ctx context.Context, computer string) (immy.Inventory, error) {
	c, err := s.pick(ctx, computer)
	if err != nil {
		return immy.Inventory{}, err
	}
	p, err := c.newPending(0)
	if err != nil {
		return immy.Inventory{}, err
	}
	defer c.dropPending(p)
	if err := c.send(ctx, wire.Message{Type: wire.TypeInventoryRequest, ID: p.id}); err != nil {
		return immy.Inventory{}, err
	}
	for done := false; !done; _, done = p.take() {
		select {
		case <-ctx.Done():
			return immy.Inventory{}, fmt.Errorf("agent: inventory of agent %s: %w", c.id, ctx.Err())
		case <-p.notify:
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.err != nil:
		return immy.Inventory{}, p.err
	case p.inventory == nil:
		return immy.Inventory{}, fmt.Errorf("agent: agent %s answered an inventory request with a script result: %w", c.id, immy.ErrInvalid)
	case p.inventory.Error != nil:
		return immy.Inventory{}, agentError(c.id, p.inventory.Error)
	}
	inv, err := p.inventory.Immy()
	if err != nil {
		return immy.Inventory{}, fmt.Errorf("agent: inventory of agent %s: %w", c.id, err)
	}
	s.mu.Lock()
	if st := s.status[c.id]; st != nil {
		st.Identity = inv.Identity
	}
	s.mu.Unlock()
	if s.cfg.OnInventory != nil {
		s.cfg.OnInventory(Reported{AgentID: c.id, Computer: computer, Time: s.cfg.Now().UTC(), Inventory: inv,
			Logons: s.logons.logons(c.id, inv.UPNs)})
	}
	return inv, nil
}
