package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/immyoss/engine/examples/immy-server/internal/api"
	"github.com/immyoss/engine/examples/immy-server/internal/config"
	"github.com/immyoss/engine/examples/immy-server/internal/core"
	"github.com/immyoss/engine/examples/immy-server/internal/demo"
	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/plugins"
	"github.com/immyoss/engine/session/fleetstore"
)

// pluginSet is the plugin instances of the configuration, run by a
// plugins.Manager.
type pluginSet struct {
	m     *plugins.Manager
	specs []config.Plugin
	log   *slog.Logger

	restartMu sync.Mutex // one restart at a time
}

// startPlugins starts the configured plugin instances; with none
// configured and --example-rmm, the example RMM plugin, built from
// examples/rmm-plugin into the data directory when run from the module.
// An instance that fails to start is reported, and the server goes on.
func startPlugins(ctx context.Context, cfg *config.Config, dataDir string, log *slog.Logger, m *api.Metrics) (*pluginSet, error) {
	ps := &pluginSet{log: log, m: plugins.NewManager(plugins.Config{Logger: log.With("part", "plugins")})}
	specs := cfg.Plugins
	if len(specs) == 0 && cfg.DefaultPlugins {
		if p, err := buildExampleRMM(ctx, dataDir); err != nil {
			log.Warn("example RMM plugin not started", "err", err)
		} else {
			specs = []config.Plugin{p}
		}
	}
	for _, p := range specs {
		spec := plugins.Spec{ID: p.ID, Path: p.Path, SHA256: p.SHA256, Config: p.Settings, Secrets: p.Secrets}
		if _, err := ps.m.Start(ctx, spec); err != nil {
			log.Error("plugin instance not started", "plugin", p.ID, "err", err)
			continue
		}
		log.Info("plugin instance started", "plugin", p.ID)
	}
	ps.specs = specs
	return ps, nil
}

// buildExampleRMM builds examples/rmm-plugin (the module's go toolchain,
// from the current directory) and returns its instance: one shell agent of
// client "local", working under the data directory.
func buildExampleRMM(ctx context.Context, dataDir string) (config.Plugin, error) {
	out := filepath.Join(dataDir, "plugins", "rmm-plugin")
	if _, err := os.Stat(out); err != nil {
		if _, err := os.Stat(filepath.Join("examples", "rmm-plugin", "main.go")); err != nil {
			return config.Plugin{}, fmt.Errorf("examples/rmm-plugin not found from the current directory: configure plugins instead")
		}
		bctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(bctx, "go", "build", "-o", out, "./examples/rmm-plugin")
		if b, err := cmd.CombinedOutput(); err != nil {
			return config.Plugin{}, fmt.Errorf("build examples/rmm-plugin: %v: %s", err, b)
		}
	}
	sum, err := fileSHA256(out)
	if err != nil {
		return config.Plugin{}, err
	}
	root := filepath.Join(dataDir, "rmm-shells")
	if err := os.MkdirAll(root, 0o700); err != nil {
		return config.Plugin{}, err
	}
	return config.Plugin{ID: "example-rmm", Path: out, SHA256: sum,
		Settings: map[string]string{"shells": "shell-1", "client": "local", "root": root},
		Clients:  map[string]string{"local": demo.Tenant}}, nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Instances describes every instance and its health, for the API.
func (ps *pluginSet) Instances(ctx context.Context) []api.PluginInstance {
	var out []api.PluginInstance
	for _, p := range ps.specs {
		pi := api.PluginInstance{ID: p.ID, Path: p.Path, SHA256: p.SHA256}
		if in, ok := ps.m.Instance(p.ID); ok {
			st := in.Status()
			info := in.Info()
			pi.Name, pi.Version = info.Name, info.Version
			pi.State = fmt.Sprint(st.State)
			pi.Restarts = st.Restarts
			pi.Healthy = st.Healthy
			pi.HealthMessage = st.HealthMessage
			if !st.CheckedAt.IsZero() {
				pi.CheckedAt = st.CheckedAt
			}
			if st.Err != nil {
				pi.Error = st.Err.Error()
			}
			hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			if err := in.Health(hctx); err == nil {
				pi.Healthy, pi.HealthMessage = true, ""
			} else {
				pi.Healthy, pi.HealthMessage = false, err.Error()
			}
			if agents, err := in.Agents(hctx); err == nil {
				pi.Agents = len(agents)
			}
			cancel()
		} else {
			pi.State = "not-started"
		}
		for k := range p.Settings {
			pi.Settings = append(pi.Settings, k)
		}
		out = append(out, pi)
	}
	return out
}

// clientMap maps the instances' clients to tenants, as configured; the
// example RMM's client "local" is the demo tenant's.
func (ps *pluginSet) clientMap() plugins.ClientMap {
	m := plugins.ClientMap{}
	for _, p := range ps.specs {
		for client, tenant := range p.Clients {
			m[plugins.ClientKey{Integration: p.ID, Client: client}] = tenant
		}
	}
	return m
}

// runners returns a script runner per configured instance: it runs a
// computer's script on the computer's pathway of that instance (its agent
// id there), through the instance the manager runs at the time of the call
// (so that one restarted through the API serves the next script).
func (ps *pluginSet) runners(fleet func() *immy.Fleet) map[string]immy.ScriptRunner {
	out := map[string]immy.ScriptRunner{}
	for _, p := range ps.specs {
		out[p.ID] = pathwayRunner{id: p.ID, m: ps.m, fleet: fleet}
	}
	return out
}

type pathwayRunner struct {
	id    string
	m     *plugins.Manager
	fleet func() *immy.Fleet
}

func (r pathwayRunner) RunScript(ctx context.Context, req immy.ScriptRequest) (immy.ScriptResult, error) {
	in, ok := r.m.Instance(r.id)
	if !ok {
		return immy.ScriptResult{}, fmt.Errorf("plugin instance %q is not running: %w", r.id, immy.ErrOffline)
	}
	f := r.fleet()
	for i := range f.Computers {
		if f.Computers[i].ID != req.Computer {
			continue
		}
		for _, pw := range f.Computers[i].Pathways {
			if pw.Integration == r.id {
				req.Computer = pw.AgentID
				return in.RunScript(ctx, req)
			}
		}
	}
	return immy.ScriptResult{}, fmt.Errorf("computer %q has no pathway of %q: %w", req.Computer, r.id, immy.ErrOffline)
}

// Restart stops the configured instance id (when it runs) and starts it
// again from its configuration through the plugins.Manager (the binary's
// checksum checked again); an instance that failed to start at boot is
// started. Calls in flight on the old process fail with plugins.ErrStopped.
func (ps *pluginSet) Restart(ctx context.Context, id string) (api.PluginInstance, error) {
	i := slices.IndexFunc(ps.specs, func(p config.Plugin) bool { return p.ID == id })
	if i < 0 {
		return api.PluginInstance{}, fmt.Errorf("plugin instance %q: %w", id, immy.ErrNotFound)
	}
	p := ps.specs[i]
	ps.restartMu.Lock()
	defer ps.restartMu.Unlock()
	if err := ps.m.Stop(id); err != nil && !errors.Is(err, immy.ErrNotFound) {
		return api.PluginInstance{}, err
	}
	spec := plugins.Spec{ID: p.ID, Path: p.Path, SHA256: p.SHA256, Config: p.Settings, Secrets: p.Secrets}
	if _, err := ps.m.Start(ctx, spec); err != nil {
		ps.log.Error("plugin instance not restarted", "plugin", id, "err", err)
		return api.PluginInstance{}, fmt.Errorf("plugin instance %q not started: %w", id, err)
	}
	ps.log.Info("plugin instance restarted", "plugin", id)
	for _, pi := range ps.Instances(ctx) {
		if pi.ID == id {
			return pi, nil
		}
	}
	return api.PluginInstance{ID: id}, nil
}

// Sync identifies, every interval, the agents of every instance and the
// engine's own against the fleet's computers (plugins.Identifier: one
// computer per machine, never across tenants), and writes what changed:
// new computers of mapped clients, and pathways. An own agent's computer
// keeps its id, and gains the pathways of the integrations that reach the
// same machine.
func (ps *pluginSet) Sync(ctx context.Context, c *core.Core, every time.Duration) {
	if len(ps.specs) == 0 || every <= 0 {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := ps.syncOnce(ctx, c); err != nil && ctx.Err() == nil {
			ps.log.Warn("integrations not synchronised", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (ps *pluginSet) syncOnce(ctx context.Context, c *core.Core) error {
	f, rev := c.Fleet.Snapshot()
	known := map[string]immy.Computer{}
	var obs plugins.Observations
	for _, comp := range f.Computers {
		known[comp.ID] = comp
		if len(comp.Pathways) > 0 {
			obs.Computers = append(obs.Computers, comp)
		}
	}
	for _, s := range c.Agents.Agents() {
		comp, ok := known[s.AgentID]
		if !ok || s.Gone {
			continue
		}
		if len(comp.Pathways) == 0 {
			comp.Pathways = []immy.Pathway{{AgentID: s.AgentID, Online: s.Online}}
			obs.Computers = append(obs.Computers, comp)
		}
		obs.Agents = append(obs.Agents, plugins.Agent{ID: s.AgentID, Client: s.Tenant, Name: s.Identity.Hostname,
			Online: s.Online, LastSeen: s.LastSeen, Identity: s.Identity})
	}
	for _, p := range ps.specs {
		in, ok := ps.m.Instance(p.ID)
		if !ok {
			continue
		}
		actx, cancel := context.WithTimeout(ctx, 30*time.Second)
		agents, err := in.Agents(actx)
		cancel()
		if err != nil && len(agents) == 0 {
			ps.log.Warn("integration agents not listed", "plugin", p.ID, "err", err)
			continue
		}
		for i := range agents {
			agents[i].Integration = p.ID
		}
		obs.Agents = append(obs.Agents, agents...)
	}
	res := plugins.Identifier{Clients: ps.clientMap(), Priority: map[string]int{"": 10}}.Identify(obs)
	for _, ev := range res.Events {
		ps.log.Debug("identification", "kind", fmt.Sprint(ev.Kind), "computer", ev.Computer, "detail", ev.Detail)
	}
	var ops []fleetstore.Op
	var online []fleetstore.Inventory
	for _, comp := range res.Computers {
		if comp.Tenant == "" {
			continue // a client not mapped to a tenant: not the fleet's (yet)
		}
		old, exists := known[comp.ID]
		if exists && samePathways(old.Pathways, comp.Pathways) {
			continue
		}
		if exists {
			old.Pathways = comp.Pathways
			ops = append(ops, fleetstore.PutComputer(old))
			continue
		}
		ops = append(ops, fleetstore.PutComputer(comp))
		on := false
		for _, pw := range comp.Pathways {
			on = on || pw.Online
		}
		online = append(online, fleetstore.Inventory{Computer: comp.ID, Online: &on, LastSeen: time.Now(), OS: comp.OS})
	}
	if len(ops) == 0 {
		return nil
	}
	if _, err := c.Fleet.Apply(ctx, fleetstore.Change{Base: rev, Actor: "integrations", Ops: ops}); err != nil {
		return err
	}
	if len(online) > 0 {
		if _, err := c.Fleet.PutInventory(ctx, online); err != nil {
			return err
		}
	}
	ps.log.Info("integrations synchronised", "computers_changed", len(ops))
	return nil
}

func samePathways(a, b []immy.Pathway) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Integration != b[i].Integration || a[i].AgentID != b[i].AgentID || a[i].Priority != b[i].Priority {
			return false
		}
	}
	return true
}

// Close kills every plugin process.
func (ps *pluginSet) Close() error { return ps.m.Close() }
