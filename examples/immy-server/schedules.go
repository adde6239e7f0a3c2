package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/immyoss/engine/examples/immy-server/internal/core"
	"github.com/immyoss/engine/session/durable"
	"github.com/immyoss/engine/session/schedule"
	"github.com/immyoss/engine/targets"
)

// tickSchedules starts the sessions of the fleet's schedules through the
// River queue of session/durable: every interval it compiles the schedules
// of the fleet's current revision (so that an edit through the API counts
// at the next tick), asks each what is due since the last tick, and inserts
// each due session as a durable.Fire, a River job unique per (schedule,
// fire, computer): ticks of several processes, or a tick repeated, queue
// each session once, and the fire's job starts it at its detection time,
// waiting for its execution time before changing anything.
//
// Each schedule's last tick is kept in the database (core.LastTicks,
// core.SetLastTick): a fire missed while no server ran is due at the first
// tick after the next start, as schedule.Planner.Due has it (the latest
// missed fire starts once, at once if found past its LateAfter); a
// schedule never ticked before only marks the time. Several processes read
// and move the same ticks; the fires' River jobs being unique, a fire two
// of them find is queued once.
func tickSchedules(ctx context.Context, c *core.Core, every time.Duration, log *slog.Logger) {
	if every <= 0 {
		return
	}
	var rev int64 = -1
	var planner *schedule.Planner
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		now := time.Now().UTC()
		f, r := c.Fleet.Snapshot()
		if r != rev {
			ix, err := targets.NewIndex(f, targets.Config{At: f.At})
			if err == nil {
				planner, err = schedule.New(ix, schedule.Config{})
			}
			if err != nil {
				log.Error("schedules not compiled", "err", err)
				planner = nil
			}
			rev = r
		}
		if planner != nil {
			n := tickOnce(ctx, c.Queue, planner, c, now, log)
			if n > 0 {
				log.Info("scheduled sessions queued", "sessions", n)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// tickStore keeps the schedules' last ticks (*core.Core, in its database).
type tickStore interface {
	LastTicks(ctx context.Context) (map[string]time.Time, error)
	SetLastTick(ctx context.Context, id string, at time.Time) error
}

func tickOnce(ctx context.Context, q *durable.Queue, p *schedule.Planner, ticks tickStore, now time.Time, log *slog.Logger) int {
	queued := 0
	last, err := ticks.LastTicks(ctx)
	if err != nil {
		log.Warn("schedules not ticked", "err", err)
		return 0
	}
	for _, s := range p.Schedules() {
		id := s.ID()
		fires, err := p.Due(ctx, id, last[id], now)
		if err != nil {
			log.Warn("schedule not ticked", "schedule", id, "err", err)
			continue
		}
		ok := true
		for _, fire := range fires {
			batches, err := p.Batches(ctx, fire)
			if err != nil {
				log.Warn("schedule fire not planned", "schedule", id, "err", err)
				ok = false
				break
			}
			for _, b := range batches {
				fs := make([]durable.Fire, len(b))
				for i, s := range b {
					fs[i] = durable.ScheduledFire(s)
				}
				n, err := q.InsertFires(ctx, fs)
				if err != nil {
					log.Warn("scheduled sessions not queued", "schedule", id, "err", err)
					ok = false
					break
				}
				queued += n
			}
		}
		if ok {
			if err := ticks.SetLastTick(ctx, id, now); err != nil {
				log.Warn("schedule's tick not recorded", "schedule", id, "err", err)
			}
		}
	}
	return queued
}
