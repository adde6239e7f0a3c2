package plugins

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/immyoss/engine/immy"
)

// TenantIntegrations serves the integration calls of cloud scripts and
// metascripts (session.Config.Integrations) through the plugin instances
// that serve each tenant: the instances of the clients Clients maps to the
// tenant. A script reaches only its own tenant's clients and their agents.
// Methods, as the script calls them:
//
//	integration("clients")                  -- {{integration = "rmm-a", id = "acme", name = "Acme"}, ...}
//	integration("agents" [, {integration = "rmm-a"}])
//	                                        -- {{integration, id, client, name, online}, ...}
//	integration("run_script", {agent = "shell-1", body = "...", language = "shell",
//	                           context = "system", timeout = seconds [, integration = "rmm-a"]})
//	                                        -- {exit_code = 0, output = "..."}
//
// run_script runs through the instance's RunScript on an agent of one of
// the tenant's clients (an agent of another client is refused as unknown),
// with a timeout of at most MaxTenantScriptTimeout and at most
// DefaultMaxOutput bytes of output kept.
type TenantIntegrations struct {
	// Manager holds the running instances.
	Manager *Manager
	// Clients maps each integration's client to its tenant.
	Clients ClientMap
}

// MaxTenantScriptTimeout bounds a cloud script's run_script.
const MaxTenantScriptTimeout = 10 * time.Minute

// tenantClients returns the tenant's clients, sorted, kept to one instance
// when integration is set.
func (ti *TenantIntegrations) tenantClients(tenant, integration string) []ClientKey {
	var out []ClientKey
	for k, t := range ti.Clients {
		if t == tenant && (integration == "" || k.Integration == integration) {
			out = append(out, k)
		}
	}
	slices.SortFunc(out, func(a, b ClientKey) int {
		return cmp.Or(strings.Compare(a.Integration, b.Integration), strings.Compare(a.Client, b.Client))
	})
	return out
}

// CallIntegration implements session.Integrations.
func (ti *TenantIntegrations) CallIntegration(ctx context.Context, tenant, method string, args map[string]any) (any, error) {
	if ti.Manager == nil {
		return nil, fmt.Errorf("plugins: TenantIntegrations needs a Manager: %w", immy.ErrInvalid)
	}
	str := func(key string) (string, error) {
		v, ok := args[key]
		if !ok || v == nil {
			return "", nil
		}
		s, ok := v.(string)
		if !ok {
			return "", fmt.Errorf("argument %s: want a string, not %T", key, v)
		}
		return s, nil
	}
	integration, err := str("integration")
	if err != nil {
		return nil, fmt.Errorf("plugins: %s: %w: %w", method, err, immy.ErrInvalid)
	}
	clients := ti.tenantClients(tenant, integration)
	if len(clients) == 0 {
		if integration != "" {
			return nil, fmt.Errorf("plugins: integration %q serves no client of tenant %q: %w", integration, tenant, immy.ErrNotFound)
		}
		return nil, fmt.Errorf("plugins: no integration serves tenant %q: %w", tenant, immy.ErrNotFound)
	}
	switch method {
	case "clients":
		out := []any{}
		for _, k := range clients {
			m := map[string]any{"integration": k.Integration, "id": k.Client}
			if in, ok := ti.Manager.Instance(k.Integration); ok {
				cs, err := in.Clients(ctx)
				if err != nil {
					return nil, err
				}
				for _, c := range cs {
					if c.ID == k.Client {
						m["name"] = c.Name
					}
				}
			}
			out = append(out, m)
		}
		return out, nil
	case "agents":
		agents, err := ti.agents(ctx, clients)
		if err != nil {
			return nil, err
		}
		out := []any{}
		for _, a := range agents {
			out = append(out, map[string]any{"integration": a.Integration, "id": a.ID, "client": a.Client, "name": a.Name, "online": a.Online})
		}
		return out, nil
	case "run_script":
		return ti.runScript(ctx, tenant, clients, args, str)
	}
	return nil, fmt.Errorf("plugins: no integration method %q (want clients, agents or run_script): %w", method, immy.ErrNotFound)
}

// agents lists the agents of the clients, by instance then agent id.
func (ti *TenantIntegrations) agents(ctx context.Context, clients []ClientKey) ([]Agent, error) {
	var out []Agent
	done := map[string]bool{}
	for _, k := range clients {
		if done[k.Integration] {
			continue
		}
		done[k.Integration] = true
		in, ok := ti.Manager.Instance(k.Integration)
		if !ok {
			return nil, fmt.Errorf("plugins: instance %q is not running: %w", k.Integration, ErrStopped)
		}
		as, err := in.Agents(ctx)
		if err != nil {
			return nil, err
		}
		for _, a := range as {
			a.Integration = k.Integration
			if slices.Contains(clients, ClientKey{Integration: k.Integration, Client: a.Client}) {
				out = append(out, a)
			}
		}
	}
	slices.SortFunc(out, func(a, b Agent) int {
		return cmp.Or(strings.Compare(a.Integration, b.Integration), strings.Compare(a.ID, b.ID))
	})
	return out, nil
}

func (ti *TenantIntegrations) runScript(ctx context.Context, tenant string, clients []ClientKey, args map[string]any, str func(string) (string, error)) (any, error) {
	var errs []string
	get := func(key string, required bool) string {
		s, err := str(key)
		switch {
		case err != nil:
			errs = append(errs, err.Error())
		case required && s == "":
			errs = append(errs, fmt.Sprintf("argument %s: missing", key))
		}
		return s
	}
	agent, body, lang, sctx := get("agent", true), get("body", true), get("language", false), get("context", false)
	script := immy.Script{Language: immy.LanguageShell, Context: immy.ContextSystem, Body: body}
	if lang != "" {
		l, err := immy.ParseScriptLanguage(lang)
		if err != nil {
			errs = append(errs, fmt.Sprintf("argument language: %v", err))
		}
		script.Language = l
	}
	if sctx != "" {
		c, err := immy.ParseScriptContext(sctx)
		if err != nil || (c != immy.ContextSystem && c != immy.ContextUser) {
			errs = append(errs, fmt.Sprintf("argument context: %q: want system or user", sctx))
		}
		script.Context = c
	}
	timeout := MaxTenantScriptTimeout
	if v, ok := args["timeout"]; ok && v != nil {
		secs, isNumber := 0.0, true
		switch n := v.(type) {
		case int:
			secs = float64(n)
		case int64:
			secs = float64(n)
		case float64:
			secs = n
		default:
			isNumber = false
			errs = append(errs, fmt.Sprintf("argument timeout: want seconds, not %T", v))
		}
		switch {
		case isNumber && !(secs > 0):
			errs = append(errs, "argument timeout: want a positive number of seconds")
		case isNumber:
			timeout = min(timeout, time.Duration(secs*float64(time.Second)))
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("plugins: run_script: %s: %w", strings.Join(errs, "; "), immy.ErrInvalid)
	}
	agents, err := ti.agents(ctx, clients)
	if err != nil {
		return nil, err
	}
	var on []Agent
	for _, a := range agents {
		if a.ID == agent {
			on = append(on, a)
		}
	}
	switch {
	case len(on) == 0:
		return nil, fmt.Errorf("plugins: run_script: tenant %q has no agent %q: %w", tenant, agent, immy.ErrNotFound)
	case len(on) > 1:
		return nil, fmt.Errorf("plugins: run_script: agent %q is in several integrations of tenant %q: name one (integration): %w", agent, tenant, immy.ErrInvalid)
	}
	in, ok := ti.Manager.Instance(on[0].Integration)
	if !ok {
		return nil, fmt.Errorf("plugins: instance %q is not running: %w", on[0].Integration, ErrStopped)
	}
	res, err := in.RunScript(ctx, immy.ScriptRequest{Computer: agent, Script: script, Timeout: timeout, MaxOutput: DefaultMaxOutput})
	if err != nil {
		return nil, err
	}
	return map[string]any{"exit_code": res.ExitCode, "output": res.Output}, nil
}
