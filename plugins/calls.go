package plugins

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/immyoss/engine/immy"
)

// Health asks the plugin whether it can work. It returns nil when healthy, an
// error wrapping ErrUnhealthy with the plugin's reason when not, and other
// errors when the plugin could not be asked.
func (in *Instance) Health(ctx context.Context) error {
	g, err := in.acquire(ctx)
	if err != nil {
		return err
	}
	return in.checkHealth(ctx, g)
}

// ListClients streams the integration's clients to fn in batches. Records the
// engine cannot accept are skipped and reported together at the end in a
// *ResponseError; an error of fn stops the listing and is returned as is.
func (in *Instance) ListClients(ctx context.Context, fn func([]Client) error) error {
	return in.call(ctx, CapClients, "ListClients", func(g *generation) error {
		return g.conn.listClients(ctx, in.id, fn)
	})
}

// Clients returns every client of the integration. On a *ResponseError the
// valid clients are returned with it.
func (in *Instance) Clients(ctx context.Context) ([]Client, error) {
	var out []Client
	err := in.ListClients(ctx, func(b []Client) error { out = append(out, b...); return nil })
	return out, err
}

// ListAgents streams the integration's agents to fn in batches, as the plugin
// sends them (a hundred thousand agents arrive in a few hundred batches). fn
// may keep the slice. Records the engine cannot accept (no id, a duplicate id,
// an unknown kind, oversized fields) are skipped and reported together at the
// end in a *ResponseError; an error of fn stops the listing and is returned as is.
func (in *Instance) ListAgents(ctx context.Context, fn func([]Agent) error) error {
	return in.call(ctx, CapAgents, "ListAgents", func(g *generation) error {
		return g.conn.listAgents(ctx, in.id, fn)
	})
}

// Agents returns every agent of the integration. On a *ResponseError the valid
// agents are returned with it.
func (in *Instance) Agents(ctx context.Context) ([]Agent, error) {
	var out []Agent
	err := in.ListAgents(ctx, func(b []Agent) error { out = append(out, b...); return nil })
	return out, err
}

// RunScript runs a script on one of the integration's agents; req.Computer is
// the agent's id in this integration (PathwayRunner maps computers to agents).
// It implements immy.ScriptRunner: output reaches req.Output as the plugin
// streams it; the deadline of ctx and req.Timeout bound the run, and
// cancelling ctx cancels the script on the agent. A script that ran and failed
// is a result with its exit code.
//
// Errors: immy.ErrOffline whenever the agent cannot be reached through the
// integration right now: the plugin said the agent is offline, or the plugin
// crashed during the run (a *CrashError, also matching ErrCrashed), lost its
// connection, was stopped or failed. Such an error also matches
// ErrNotDelivered when the script provably never reached the agent (the
// plugin was not running, or reported the agent offline before any output);
// otherwise its outcome is unknown and the session detects again before it
// re-runs anything. Other errors: immy.ErrNoUserLoggedOn, immy.ErrInvalid, or
// ctx's error. No error, output or value shows the instance's secret
// configuration values or the request's secret parameters, nor their
// common transforms (other letter case, base64, hex, URL and JSON escaping):
// they are masked as "[redacted]" before output is kept or streamed. Only system and user scripts in
// PowerShell, cmd or sh run through an integration; Lua runs on the server.
func (in *Instance) RunScript(ctx context.Context, req immy.ScriptRequest) (immy.ScriptResult, error) {
	if err := checkScript(req); err != nil {
		return immy.ScriptResult{}, fmt.Errorf("plugins: instance %q: RunScript: %w", in.id, err)
	}
	if req.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, req.Timeout)
		defer cancel()
	}
	g, err := in.acquire(ctx)
	if err != nil {
		// Stopped, failed, or still restarting when ctx ended: nothing was sent.
		return immy.ScriptResult{}, &unreachableError{err: err, notDelivered: true}
	}
	if !g.info.Has(CapRunScript) {
		return immy.ScriptResult{}, fmt.Errorf("plugins: instance %q: RunScript: %w", in.id, ErrUnsupported)
	}
	red := in.red.with(secretParams(req)...)
	call := scriptCall{
		agent: req.Computer, language: req.Script.Language, context: req.Script.Context,
		body: req.Script.Body, params: req.Parameters, secrets: req.Secrets, timeout: req.Timeout,
		operation: fmt.Sprintf("%s/run-script/%d", in.id, in.ops.Add(1)),
		out:       newOutputCollector(req.MaxOutput, req.Output, red),
	}
	res, err := g.conn.runScript(ctx, call)
	call.out.close() // what arrived before an error is passed on too
	if err == nil {
		return res, nil
	}
	err = in.classifyMasked(ctx, g, "RunScript", err, red)
	return immy.ScriptResult{}, scriptError(err, call.out.seen)
}

// scriptError marks the errors of a run after which the agent is unreachable
// through the integration; seen tells whether output had arrived.
func scriptError(err error, seen bool) error {
	var crash *CrashError
	switch {
	case errors.Is(err, immy.ErrOffline):
		// The plugin's word: the agent is offline and the script did not run.
		// Output says otherwise: then it may have run in part.
		return &unreachableError{err: err, notDelivered: !seen}
	case errors.As(err, &crash), errors.Is(err, ErrStopped), status.Code(err) == codes.Unavailable:
		// The plugin died, was stopped or went out of reach mid-call.
		return &unreachableError{err: err}
	}
	return err
}

// secretParams returns the values of the request's secret parameters.
func secretParams(req immy.ScriptRequest) []string {
	var out []string
	for _, k := range req.Secrets {
		switch v := req.Parameters[k].(type) {
		case string:
			out = append(out, v)
		case []string:
			out = append(out, v...)
		case map[string]string:
			for _, s := range v {
				out = append(out, s)
			}
		}
	}
	return out
}

var _ immy.ScriptRunner = (*Instance)(nil)

func checkScript(req immy.ScriptRequest) error {
	if req.Computer == "" {
		return fmt.Errorf("the agent id (Computer) is empty: %w", immy.ErrInvalid)
	}
	if _, ok := languageToV2[req.Script.Language]; !ok {
		return fmt.Errorf("script language %q does not run through an integration: %w", req.Script.Language, immy.ErrInvalid)
	}
	if _, ok := contextToV2[req.Script.Context]; !ok {
		return fmt.Errorf("script context %q does not run through an integration: %w", req.Script.Context, immy.ErrInvalid)
	}
	return nil
}

// DeviceGroups returns the integration's device groups, sorted by id.
func (in *Instance) DeviceGroups(ctx context.Context) ([]DeviceGroup, error) {
	var out []DeviceGroup
	err := in.call(ctx, CapDeviceGroups, "ListDeviceGroups", func(g *generation) (err error) {
		out, err = g.conn.deviceGroups(ctx, in.id)
		return err
	})
	return out, err
}

// ClientGroups returns the integration's agreement types and products with
// the clients' agreements, sorted by id.
func (in *Instance) ClientGroups(ctx context.Context) ([]ClientGroup, error) {
	var out []ClientGroup
	err := in.call(ctx, CapClientGroups, "ListClientGroups", func(g *generation) (err error) {
		out, err = g.conn.clientGroups(ctx, in.id)
		return err
	})
	return out, err
}

// Ticket looks up a ticket: its client, person and computer.
func (in *Instance) Ticket(ctx context.Context, id string) (Ticket, error) {
	var out Ticket
	err := in.call(ctx, CapTickets, "GetTicket", func(g *generation) (err error) {
		out, err = g.conn.ticket(ctx, in.id, id)
		return err
	})
	return out, err
}

// InstallToken returns a token that installs the integration's agent for a client.
func (in *Instance) InstallToken(ctx context.Context, client string) (InstallToken, error) {
	var out InstallToken
	err := in.call(ctx, CapInstallToken, "GetInstallToken", func(g *generation) (err error) {
		out, err = g.conn.installToken(ctx, in.id, client)
		return err
	})
	return out, err
}

// DynamicVersions returns the versions of a software that the integration can
// install, newest first.
func (in *Instance) DynamicVersions(ctx context.Context, software string) ([]DynamicVersion, error) {
	var out []DynamicVersion
	err := in.call(ctx, CapDynamicVersions, "ListDynamicVersions", func(g *generation) (err error) {
		out, err = g.conn.dynamicVersions(ctx, in.id, software)
		return err
	})
	return out, err
}

// SetMaintenanceMode turns the integration's maintenance mode on or off for an
// agent; d bounds it when on (0: until turned off).
func (in *Instance) SetMaintenanceMode(ctx context.Context, agent string, on bool, d time.Duration) error {
	return in.call(ctx, CapMaintenanceMode, "SetMaintenanceMode", func(g *generation) error {
		return g.conn.maintenanceMode(ctx, agent, on, d)
	})
}

// AgentLink returns a link to an agent's page, or to a remote session on it,
// in the integration's console.
func (in *Instance) AgentLink(ctx context.Context, agent string, kind LinkKind) (string, error) {
	var out string
	err := in.call(ctx, CapAgentLinks, "GetAgentLink", func(g *generation) (err error) {
		out, err = g.conn.agentLink(ctx, in.id, agent, kind)
		return err
	})
	return out, err
}
