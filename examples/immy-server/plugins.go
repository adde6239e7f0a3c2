package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/immyoss/engine/examples/immy-server/internal/api"
	"github.com/immyoss/engine/examples/immy-server/internal/config"
	"github.com/immyoss/engine/plugins"
)

// pluginSet is the plugin instances of the configuration, run by a
// plugins.Manager.
type pluginSet struct {
	m     *plugins.Manager
	specs []config.Plugin
	log   *slog.Logger
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
		Settings: map[string]string{"shells": "shell-1", "client": "local", "root": root}}, nil
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

// Close kills every plugin process.
func (ps *pluginSet) Close() error { return ps.m.Close() }
