package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/immyoss/engine/agent"
	"github.com/immyoss/engine/examples/fleets"
	"github.com/immyoss/engine/examples/immy-server/internal/auth"
	"github.com/immyoss/engine/examples/immy-server/internal/config"
	"github.com/immyoss/engine/examples/immy-server/internal/core"
	"github.com/immyoss/engine/examples/immy-server/internal/demo"
	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/fleetfile"
	"github.com/immyoss/engine/session/fleetstore"
)

// firstStart imports the fleet file (the bundled example fleet by default)
// and the demo tenant into an empty fleet store, each as a source of its
// own, with the computers' inventories the file gives.
func firstStart(ctx context.Context, c *core.Core, cfg *config.Config, dataDir string, log *slog.Logger) error {
	if c.Fleet.Revision() != 0 {
		return nil
	}
	var fleetFiles []*immy.Fleet
	var sources []string
	switch cfg.Fleet {
	case "none":
	case "":
		ff, err := fleetfile.Load(fleets.DefaultName, bytes.NewReader(fleets.Default))
		if err != nil {
			return err
		}
		fleetFiles, sources = append(fleetFiles, ff.Fleet), append(sources, "immy-server:bundled")
	default:
		ff, err := fleetfile.LoadFile(cfg.Fleet)
		if err != nil {
			return err
		}
		fleetFiles, sources = append(fleetFiles, ff.Fleet), append(sources, "file:"+filepath.Base(cfg.Fleet))
	}
	if !cfg.NoDemo {
		f, err := demo.Fleet(filepath.Join(dataDir, "demo-files"))
		if err != nil {
			return err
		}
		fleetFiles, sources = append(fleetFiles, f), append(sources, demo.Source)
	}
	for i, f := range fleetFiles {
		ch, err := c.Fleet.SourceChange(ctx, f, sources[i])
		if err != nil {
			return err
		}
		if i > 0 {
			// the settings (evaluation time) are the first file's
			ops := ch.Ops[:0]
			for _, o := range ch.Ops {
				if o.Kind() != fleetstore.KindSettings {
					ops = append(ops, o)
				}
			}
			ch.Ops = ops
		}
		ch.Actor = "immy-server (first start)"
		if _, err := c.Fleet.Apply(ctx, ch); err != nil {
			return fmt.Errorf("import %s: %w", sources[i], err)
		}
		var inv []fleetstore.Inventory
		for _, comp := range f.Computers {
			inv = append(inv, fleetstore.InventoryOf(comp))
		}
		if len(inv) > 0 {
			if _, err := c.Fleet.PutInventory(ctx, inv); err != nil {
				return fmt.Errorf("import %s: inventory: %w", sources[i], err)
			}
		}
		log.Info("fleet imported", "source", sources[i], "computers", len(f.Computers), "deployments", len(f.Deployments))
	}
	return nil
}

// bootstrapName names the msp-admin tokens adminToken makes.
const bootstrapName = "admin"

// adminToken makes the first msp-admin API token (or a new one when asked)
// and returns it; "" when one exists already. A reset revokes the
// msp-admin tokens an earlier start made (named "admin", never expiring)
// once the new one is made, so that a lost or leaked bootstrap token stops
// working; tokens made through the API with another name or an expiry stay.
func adminToken(ctx context.Context, tokens *auth.Store, reset bool) (string, error) {
	n, err := tokens.Count(ctx, auth.Admin)
	if err != nil {
		return "", err
	}
	if n > 0 && !reset {
		return "", nil
	}
	old, err := tokens.List(ctx)
	if err != nil {
		return "", err
	}
	secret, made, err := tokens.Create(ctx, bootstrapName, auth.Admin, "", time.Time{})
	if err != nil {
		return "", err
	}
	for _, t := range old {
		if t.ID != made.ID && !t.Revoked && t.Role == auth.Admin && t.Name == bootstrapName && t.Expires.IsZero() {
			if err := tokens.Revoke(ctx, t.ID); err != nil {
				return "", fmt.Errorf("revoke the earlier admin token %s: %w", t.ID, err)
			}
		}
	}
	return secret, nil
}

// enrolCommand makes an install token for the demo tenant (valid a day) and
// returns the command that enrols this machine's agent with it.
func enrolCommand(ctx context.Context, c *core.Core, publicURL, pin, dataDir string) (string, error) {
	f := c.Fleet.Fleet()
	tenant := ""
	for _, t := range f.Tenants {
		if t.ID == demo.Tenant {
			tenant = t.ID
		}
	}
	if tenant == "" {
		return "(no demo tenant: create an install token with POST /api/install-tokens)", nil
	}
	tok, _, err := c.Agents.CreateInstallToken(ctx, tenant, agent.TokenOptions{Expires: time.Now().Add(24 * time.Hour)})
	if err != nil {
		return "", err
	}
	server := "wss://" + strings.TrimPrefix(strings.TrimPrefix(publicURL, "https://"), "http://") + "/agent"
	state := filepath.Join(dataDir, "agent", "state.json")
	return fmt.Sprintf("go run ./agent/cmd/immy-agent --server %s --token %s --pin %s --state %s", server, tok, pin, shellArg(state)), nil
}

func shellArg(s string) string {
	if strings.ContainsAny(s, " '\"$`\\") {
		return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
	}
	return s
}
