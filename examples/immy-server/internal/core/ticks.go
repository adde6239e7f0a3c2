package core

import (
	"context"
	"fmt"
	"time"
)

// The schedules' last ticks are rows of immy_server_schedule_ticks (the
// schedule's id, the tick's time in Unix nanoseconds, UTC), so that a fire
// missed while no server ran is found at the next start, and every process
// of a PostgreSQL database ticks from the same point. (session/durable
// keeps its own such table for its Config.Schedules, a planner fixed at
// Open; this server compiles the schedules again at each fleet revision,
// so it keeps its own.)

func (c *Core) migrateTicks(ctx context.Context) error {
	return c.exec(ctx, `CREATE TABLE IF NOT EXISTS immy_server_schedule_ticks (
		schedule TEXT PRIMARY KEY,
		last_ns  BIGINT NOT NULL
	)`)
}

// LastTicks returns each schedule's last tick (absent: never ticked).
func (c *Core) LastTicks(ctx context.Context) (map[string]time.Time, error) {
	const q = `SELECT schedule, last_ns FROM immy_server_schedule_ticks`
	var rows interface {
		Next() bool
		Scan(...any) error
		Err() error
		Close()
	}
	if c.Pool != nil {
		r, err := c.Pool.Query(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("core: schedule ticks: %w", err)
		}
		rows = pgRows{r}
	} else {
		r, err := c.SQL.QueryContext(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("core: schedule ticks: %w", err)
		}
		rows = sqlRowsT{r}
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var id string
		var ns int64
		if err := rows.Scan(&id, &ns); err != nil {
			return nil, fmt.Errorf("core: schedule ticks: %w", err)
		}
		out[id] = time.Unix(0, ns).UTC()
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("core: schedule ticks: %w", err)
	}
	return out, nil
}

// SetLastTick records schedule id's last tick; it only ever moves forward
// (a slower process's older tick does not take it back).
func (c *Core) SetLastTick(ctx context.Context, id string, at time.Time) error {
	err := c.exec(ctx, `INSERT INTO immy_server_schedule_ticks (schedule, last_ns) VALUES (?, ?)
		ON CONFLICT (schedule) DO UPDATE SET last_ns = excluded.last_ns
		WHERE immy_server_schedule_ticks.last_ns < excluded.last_ns`, id, at.UTC().UnixNano())
	if err != nil {
		return fmt.Errorf("core: schedule %q: last tick: %w", id, err)
	}
	return nil
}
