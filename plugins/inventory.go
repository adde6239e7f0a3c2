package plugins

import (
	"context"
	"errors"
	"fmt"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/inventory"
	pluginv2 "github.com/immyoss/engine/plugins/proto/immy/plugin/v2"
)

// MaxInventory is the most software entries one GetInventory answer may
// hold; an answer with more is refused whole (a cut inventory would make
// software look absent).
const MaxInventory = 100_000

// Inventory returns the software installed on an agent's machine as the
// integration knows it (capability CapInventory), sorted as
// inventory.Sort sorts. An integration without the capability answers
// ErrUnsupported (which matches errors.ErrUnsupported): the engine then runs
// the built-in inventory script through RunScript. Entries with a problem
// (no name, text too long, a product code that is no GUID) are left out and
// reported together in a *ResponseError beside the good ones.
func (in *Instance) Inventory(ctx context.Context, agent string) ([]immy.DetectedSoftware, error) {
	var out []immy.DetectedSoftware
	err := in.call(ctx, CapInventory, "GetInventory", func(g *generation) (err error) {
		out, err = g.conn.inventory(ctx, in.id, agent)
		return err
	})
	return out, err
}

func (c *v2Conn) inventory(ctx context.Context, instance, agent string) ([]immy.DetectedSoftware, error) {
	r, err := c.client.GetInventory(ctx, &pluginv2.GetInventoryRequest{AgentId: agent})
	if err != nil {
		return nil, err
	}
	return decodeInventory(instance, r)
}

func (c *v1Conn) inventory(context.Context, string, string) ([]immy.DetectedSoftware, error) {
	return nil, ErrUnsupported
}

func decodeInventory(instance string, r *pluginv2.GetInventoryResponse) ([]immy.DetectedSoftware, error) {
	d := newDecoder("software")
	if n := len(r.GetSoftware()); n > MaxInventory {
		d.add(0, "", "software", "%d entries, at most %d allowed", n, MaxInventory)
		return nil, d.err(instance, "GetInventory")
	}
	var out []immy.DetectedSoftware
	for i, s := range r.GetSoftware() {
		name := s.GetName()
		if !d.id(i, name, "name") || !d.text(i, name, "version", s.GetVersion()) || !d.text(i, name, "publisher", s.GetPublisher()) {
			continue
		}
		e := immy.DetectedSoftware{Name: name, Version: immy.ParseInventoryVersion(s.GetVersion()), Publisher: s.GetPublisher()}
		var bad bool
		for _, f := range []struct {
			field, raw string
			dst        *string
		}{{"product_code", s.GetProductCode(), &e.ProductCode}, {"upgrade_code", s.GetUpgradeCode(), &e.UpgradeCode}} {
			if f.raw == "" {
				continue
			}
			g, ok := inventory.CanonicalGUID(f.raw)
			if !ok {
				d.add(i, name, f.field, "%q is not a GUID", printable(f.raw))
				bad = true
			}
			*f.dst = g
		}
		if !bad {
			out = append(out, e)
		}
	}
	return inventory.Sort(out), d.err(instance, "GetInventory")
}

// IntegrationRunner reaches computers through one integration instance: it
// runs a script on a computer through the computer's pathway of that
// instance (its agent id), and reads the computer's inventory natively when
// the integration has CapInventory. It is what a session.Config's Runners
// holds for an integration: the session hands it computer ids.
type IntegrationRunner struct {
	Instance *Instance
	// Computer looks a computer up by id, with its pathways.
	Computer func(id string) (immy.Computer, bool)
}

var (
	_ immy.ScriptRunner    = (*IntegrationRunner)(nil)
	_ immy.InventorySource = (*IntegrationRunner)(nil)
)

// agent returns the computer's agent on the instance.
func (r *IntegrationRunner) agent(computer string) (string, error) {
	if r.Instance == nil || r.Computer == nil {
		return "", fmt.Errorf("plugins: IntegrationRunner needs an Instance and a Computer lookup: %w", immy.ErrInvalid)
	}
	c, ok := r.Computer(computer)
	if !ok {
		return "", fmt.Errorf("plugins: computer %q: %w", computer, immy.ErrNotFound)
	}
	for _, p := range c.Pathways {
		if p.Integration == r.Instance.ID() {
			return p.AgentID, nil
		}
	}
	return "", fmt.Errorf("plugins: computer %q has no pathway through %q: %w", computer, r.Instance.ID(), errors.Join(immy.ErrOffline, ErrNotDelivered))
}

// RunScript runs req on the computer req.Computer through the instance.
func (r *IntegrationRunner) RunScript(ctx context.Context, req immy.ScriptRequest) (immy.ScriptResult, error) {
	agent, err := r.agent(req.Computer)
	if err != nil {
		return immy.ScriptResult{}, err
	}
	req.Computer = agent
	return r.Instance.RunScript(ctx, req)
}

// Inventory reads the computer's software from the integration, when it has
// CapInventory; otherwise ErrUnsupported, and the session runs the built-in
// inventory script through RunScript instead. The inventory has no identity:
// the integration's agents report that (ListAgents).
func (r *IntegrationRunner) Inventory(ctx context.Context, computer string) (immy.Inventory, error) {
	agent, err := r.agent(computer)
	if err != nil {
		return immy.Inventory{}, err
	}
	if !r.Instance.Info().Has(CapInventory) {
		return immy.Inventory{}, fmt.Errorf("plugins: %q: inventory: %w", r.Instance.ID(), ErrUnsupported)
	}
	sw, err := r.Instance.Inventory(ctx, agent)
	if err != nil {
		return immy.Inventory{}, err
	}
	return immy.Inventory{Software: sw}, nil
}
