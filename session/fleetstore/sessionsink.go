package fleetstore

import (
	"context"
	"errors"
	"sync"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/session"
)

// This file is the session engine's way into the store: the engine
// (package session) names what it needs as interfaces of its own, which a
// Store satisfies here, since the store sits above the engine (it imports
// package session; the engine never imports the store).

var _ session.FleetSource = (*Store)(nil)

// SessionSink returns the session.InventorySink that writes what sessions
// learn into s (Config.InventorySink of the engine): each session's
// detected software, with versions and publishers, its OS, and that the
// computer was online and seen when the session read it, as
// [Store.PutInventory] does: an inventory revision of its own that never
// conflicts with an admin's change. It leaves the computer's UPNs alone
// (logons come from the agents that see them). Sessions that end at once
// are written together, in one transaction; a batch that fails is written
// again report by report, so that only the report at fault fails (a
// computer deleted meanwhile, say).
func SessionSink(s *Store) session.InventorySink {
	return &sessionSink{s: s}
}

// sinkBatch bounds the reports of one transaction.
const sinkBatch = 1024

type sessionSink struct {
	s       *Store
	mu      sync.Mutex
	pending []*sinkReq
	writing bool // a Learned call writes the pending batches
}

type sinkReq struct {
	inv  Inventory
	done chan error
}

// Learned implements session.InventorySink.
func (k *sessionSink) Learned(ctx context.Context, l session.Learned) error {
	online := true
	inv := Inventory{Computer: l.Computer, Software: l.Inventory.Software, OS: l.Inventory.Identity.OS,
		Online: &online, LastSeen: l.Time}
	if inv.Software == nil {
		inv.Software = []immy.DetectedSoftware{}
	}
	r := &sinkReq{inv: inv, done: make(chan error, 1)}
	k.mu.Lock()
	k.pending = append(k.pending, r)
	if k.writing {
		// another call writes it, with the batch it is in
		k.mu.Unlock()
		select {
		case err := <-r.done:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	k.writing = true
	for len(k.pending) > 0 {
		batch := k.pending[:min(len(k.pending), sinkBatch)]
		k.pending = k.pending[len(batch):]
		k.mu.Unlock()
		k.write(context.WithoutCancel(ctx), batch)
		k.mu.Lock()
	}
	k.writing = false
	k.pending = nil
	k.mu.Unlock()
	return <-r.done
}

func (k *sessionSink) write(ctx context.Context, batch []*sinkReq) {
	reports := make([]Inventory, len(batch))
	for i, r := range batch {
		reports[i] = r.inv
	}
	_, err := k.s.PutInventory(ctx, reports)
	if err != nil && len(batch) > 1 && !errors.Is(err, ErrClosed) {
		for _, r := range batch {
			_, err := k.s.PutInventory(ctx, []Inventory{r.inv})
			r.done <- err
		}
		return
	}
	for _, r := range batch {
		r.done <- err
	}
}
