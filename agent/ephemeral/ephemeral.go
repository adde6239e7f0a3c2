package ephemeral

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/immyoss/engine/agent"
	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/installer"
	"github.com/immyoss/engine/immy/inventory"
)

//go:embed launch.sh
var launchScript string

// Config configures a Bootstrapper. Server, URL and Binary are required.
type Config struct {
	Server *agent.Server
	// URL is where the agent dials the server (wss://.../agent).
	URL string
	// Pin, when set, is the server certificate's SHA-256 the agent accepts
	// instead of CA checks (its -pin flag).
	Pin string
	// Binary is the immy-agent binary for the computers' platform: where
	// they download it and its SHA-256.
	Binary immy.Installer
	// Idle is how long the agent waits without a request before it exits;
	// zero is 5 minutes.
	Idle time.Duration
	// TokenTTL bounds the one-time token's life; zero is 10 minutes.
	TokenTTL time.Duration
	// Wait bounds the wait for the agent to connect; zero is 2 minutes.
	// Poll is how often the server is asked meanwhile; zero is 200 ms.
	Wait, Poll time.Duration
}

// Bootstrapper starts ephemeral agents through RMMs.
type Bootstrapper struct{ cfg Config }

// New checks cfg.
func New(cfg Config) (*Bootstrapper, error) {
	var errs []error
	if cfg.Server == nil {
		errs = append(errs, errors.New("Server is required"))
	}
	if !strings.HasPrefix(cfg.URL, "wss://") && !strings.HasPrefix(cfg.URL, "ws://") {
		errs = append(errs, fmt.Errorf("URL %q is not a ws(s) URL", cfg.URL))
	}
	if err := installer.Check(cfg.Binary); err != nil {
		errs = append(errs, fmt.Errorf("Binary: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("ephemeral: %w", err)
	}
	if cfg.Idle <= 0 {
		cfg.Idle = 5 * time.Minute
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = 10 * time.Minute
	}
	if cfg.Wait <= 0 {
		cfg.Wait = 2 * time.Minute
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 200 * time.Millisecond
	}
	return &Bootstrapper{cfg: cfg}, nil
}

// Agent is an ephemeral agent started for one session of one computer.
type Agent struct {
	ID       string // the agent's id: route the computer's scripts to it
	Computer string
	Session  string
	srv      *agent.Server
}

// Release ends the agent's session: it says bye and exits, and the server
// forgets it.
func (a *Agent) Release() error { return a.srv.Release(a.ID) }

// ErrBinding: the agent that enrolled with the token is not the computer
// the token was made for.
var ErrBinding = errors.New("ephemeral: the agent is not the computer it was started for")

// Start bootstraps an ephemeral agent on computer c through rmm (a runner
// that takes computer ids, such as plugins.IntegrationRunner), for session.
// A binary whose SHA-256 differs is a *installer.MismatchError and nothing
// is started.
func (b *Bootstrapper) Start(ctx context.Context, rmm immy.ScriptRunner, c immy.Computer, session string) (*Agent, error) {
	plat, ok := inventory.PlatformOf(c.OS)
	if !ok || plat != inventory.Linux {
		return nil, fmt.Errorf("ephemeral: computer %q: OS %q: only Linux computers are bootstrapped: %w", c.ID, c.OS, errors.ErrUnsupported)
	}
	fetched, err := installer.Fetch(ctx, rmm, c.ID, plat, b.cfg.Binary)
	if err != nil {
		return nil, fmt.Errorf("ephemeral: computer %q: the agent binary: %w", c.ID, err)
	}
	srv := b.cfg.Server
	token, tok, err := srv.CreateInstallToken(ctx, c.Tenant, agent.TokenOptions{MaxUses: 1, Expires: time.Now().Add(b.cfg.TokenTTL)})
	if err != nil {
		return nil, fmt.Errorf("ephemeral: computer %q: %w", c.ID, err)
	}
	// The token works once and only until the agent has used it.
	defer srv.RevokeInstallToken(context.WithoutCancel(ctx), tok.ID)
	res, err := rmm.RunScript(ctx, immy.ScriptRequest{
		Computer: c.ID,
		Script:   immy.Script{Language: immy.LanguageShell, Context: immy.ContextSystem, Body: launchScript},
		Parameters: map[string]any{
			"agent_path": fetched.Path, "agent_server": b.cfg.URL, "agent_token": token, "agent_pin": b.cfg.Pin,
			"agent_idle": b.cfg.Idle.String(), "agent_session": session,
		},
		Secrets: []string{"agent_token"},
		Timeout: time.Minute,
	})
	if err != nil {
		return nil, fmt.Errorf("ephemeral: computer %q: launch: %w", c.ID, err)
	}
	if res.ExitCode != 0 || !strings.Contains(res.Output, "#immy:agent-started") {
		return nil, fmt.Errorf("ephemeral: computer %q: the launch script exited with code %d: %s", c.ID, res.ExitCode, strings.TrimSpace(res.Output))
	}
	st, err := b.await(ctx, tok.ID)
	if err != nil {
		return nil, fmt.Errorf("ephemeral: computer %q: %w", c.ID, err)
	}
	if why := mismatch(c, st); why != "" {
		srv.Revoke(context.WithoutCancel(ctx), st.AgentID)
		return nil, fmt.Errorf("%w: computer %q, agent %s: %s", ErrBinding, c.ID, st.AgentID, why)
	}
	return &Agent{ID: st.AgentID, Computer: c.ID, Session: session, srv: srv}, nil
}

// await waits for the agent enrolled with the token to be online.
func (b *Bootstrapper) await(ctx context.Context, tokenID string) (agent.Status, error) {
	deadline := time.NewTimer(b.cfg.Wait)
	defer deadline.Stop()
	tick := time.NewTicker(b.cfg.Poll)
	defer tick.Stop()
	for {
		for _, st := range b.cfg.Server.Agents() {
			if st.TokenID == tokenID && st.Online {
				return st, nil
			}
		}
		select {
		case <-ctx.Done():
			return agent.Status{}, ctx.Err()
		case <-deadline.C:
			return agent.Status{}, fmt.Errorf("no agent connected with the token within %s", b.cfg.Wait)
		case <-tick.C:
		}
	}
}

// mismatch says why an agent is not computer c, or "".
func mismatch(c immy.Computer, st agent.Status) string {
	var why []string
	if !st.Ephemeral {
		why = append(why, "it did not enrol as ephemeral")
	}
	if st.Tenant != c.Tenant {
		why = append(why, fmt.Sprintf("its tenant is %q, not %q", st.Tenant, c.Tenant))
	}
	if c.UUID != "" && st.Identity.UUID != "" && !strings.EqualFold(c.UUID, st.Identity.UUID) {
		why = append(why, fmt.Sprintf("its hardware UUID is %s, not %s", st.Identity.UUID, c.UUID))
	}
	if c.OSInstallID != "" && st.Identity.OSInstallID != "" && !strings.EqualFold(c.OSInstallID, st.Identity.OSInstallID) {
		why = append(why, fmt.Sprintf("its OS installation id is %s, not %s", st.Identity.OSInstallID, c.OSInstallID))
	}
	if c.UUID == "" && c.OSInstallID == "" || st.Identity.UUID == "" && st.Identity.OSInstallID == "" {
		why = append(why, "neither a hardware UUID nor an OS installation id is known on both sides")
	}
	return strings.Join(why, "; ")
}
