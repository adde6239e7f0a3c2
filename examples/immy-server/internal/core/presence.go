package core

import (
	"context"
	"strings"
	"time"

	"github.com/immyoss/engine/agent"
	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/session/fleetstore"
)

// The engine's own agents are computers of the fleet store: an agent that
// enrols becomes a computer of its install token's tenant (its id is the
// agent's id), made by the actor "agent:ID"; its presence (online, last
// seen) and inventory (OS, software, users) are written as inventory, which
// never conflicts with an admin's edit and stays out of the audit log.

// StartPresence starts the goroutine that writes what agents report into
// the fleet store, one report at a time; it ends with ctx.
func (c *Core) StartPresence(ctx context.Context) {
	c.presence = make(chan func(context.Context), 16384)
	c.invSem = make(chan struct{}, 16)
	c.presenceDone = make(chan struct{})
	go func() {
		defer close(c.presenceDone)
		for {
			select {
			case <-ctx.Done():
				return
			case fn := <-c.presence:
				fn(ctx)
			}
		}
	}()
}

// later queues fn for the presence goroutine; it drops it when the queue is
// full (presence is written again at the agent's next change).
func (c *Core) later(fn func(context.Context)) {
	if c.presence == nil {
		return
	}
	select {
	case c.presence <- fn:
	default:
		c.log.Warn("presence queue full: a report was dropped")
	}
}

// onStatus is the agent server's Config.OnStatus.
func (c *Core) onStatus(s agent.Status) {
	c.later(func(ctx context.Context) { c.writeStatus(ctx, s) })
}

func (c *Core) writeStatus(ctx context.Context, s agent.Status) {
	log := c.log.With("agent", s.AgentID, "tenant", s.Tenant)
	if c.OnAgent != nil {
		c.OnAgent(s)
	}
	if s.Gone {
		c.markAgent(ctx, s.AgentID, false)
		c.putPresence(ctx, s.AgentID, false, s.LastSeen)
		return
	}
	c.markAgent(ctx, s.AgentID, s.Online)
	if s.Online {
		if err := c.ensureComputer(ctx, s); err != nil {
			log.Error("agent's computer not added to the fleet", "err", err)
			return
		}
	}
	c.putPresence(ctx, s.AgentID, s.Online, s.LastSeen)
	if !s.Online {
		return
	}
	go func() {
		// inventory reads wait on the agent: never hold presence up for them
		c.invSem <- struct{}{}
		defer func() { <-c.invSem }()
		c.refreshInventory(ctx, s.AgentID)
	}()
	if e, err := c.Engine(ctx); err == nil {
		e.SetPathwayOnline(s.AgentID, "", true)
		e.Connected(s.AgentID)
	}
}

// ensureComputer adds the agent's computer to the fleet if it is new.
func (c *Core) ensureComputer(ctx context.Context, s agent.Status) error {
	// Most statuses are of a known computer: asking the store hands no
	// fleet out, so its next inventory write changes the computers in
	// place instead of copying them.
	if c.Fleet.HasComputer(s.AgentID) {
		return nil
	}
	f, rev := c.Fleet.Snapshot()
	for i := range f.Computers {
		if f.Computers[i].ID == s.AgentID {
			return nil
		}
	}
	id := s.Identity
	name := id.Hostname
	if name == "" {
		name = s.AgentID
	}
	comp := immy.Computer{
		ID: s.AgentID, Tenant: s.Tenant, Name: name, UUID: id.UUID, Serial: id.Serial,
		Manufacturer: id.Manufacturer, Model: id.Model, OSInstallID: id.OSInstallID, Kind: id.Kind,
		// its own agent is its first pathway; integrations' agents that
		// reach the same machine join it (see the plugins' sync)
		Pathways: []immy.Pathway{{AgentID: s.AgentID, Priority: 10}},
	}
	_, err := c.Fleet.Apply(ctx, fleetstore.Change{Base: rev, Actor: "agent:" + s.AgentID,
		Ops: []fleetstore.Op{fleetstore.PutComputer(comp)}})
	if err == nil {
		c.log.Info("agent enrolled: computer added", "computer", s.AgentID, "tenant", s.Tenant, "name", name)
	}
	return err
}

func (c *Core) putPresence(ctx context.Context, computer string, online bool, seen time.Time) {
	if !c.hasComputer(computer) {
		return
	}
	if seen.IsZero() {
		seen = time.Now()
	}
	if _, err := c.Fleet.PutInventory(ctx, []fleetstore.Inventory{{Computer: computer, Online: &online, LastSeen: seen}}); err != nil {
		c.log.Warn("presence not written", "computer", computer, "err", err)
	}
}

func (c *Core) hasComputer(id string) bool { return c.Fleet.HasComputer(id) }

// refreshInventory reads a computer's inventory from its agent and writes
// it to the fleet store.
func (c *Core) refreshInventory(ctx context.Context, computer string) {
	if !c.hasComputer(computer) {
		return
	}
	if _, ok := c.Agents.Status(computer); !ok {
		return // not an agent of this process
	}
	rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	inv, err := c.Agents.Inventory(rctx, computer)
	if err != nil {
		c.log.Debug("inventory not read", "computer", computer, "err", err)
		return
	}
	sw := inv.Software
	if sw == nil {
		sw = []immy.DetectedSoftware{}
	}
	if len(sw) > fleetstore.MaxSoftware {
		sw = sw[:fleetstore.MaxSoftware]
	}
	os := strings.TrimSpace(inv.Identity.OS + " " + inv.Identity.OSVersion)
	upns := inv.UPNs
	if upns == nil {
		upns = []string{}
	}
	if len(upns) > immy.MaxUPNs {
		upns = upns[:immy.MaxUPNs]
	}
	if _, err := c.Fleet.PutInventory(ctx, []fleetstore.Inventory{{Computer: computer, Software: sw, OS: os, UPNs: upns}}); err != nil {
		c.log.Warn("inventory not written", "computer", computer, "err", err)
	}
}

// sessionEnded tells OnSessionEnd (metrics); the session's own inventory
// went to the store through fleetstore.SessionSink.
func (c *Core) sessionEnded(id string) {
	if c.OnSessionEnd == nil {
		return
	}
	c.later(func(context.Context) { c.OnSessionEnd(id) })
}
