package fleetstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/immyoss/engine/immy"
)

// notifyChannel is the PostgreSQL channel on which each landed revision is
// announced, with the revision as its payload.
const notifyChannel = "immy_fleet"

// FollowConfig tunes Follow. The zero FollowConfig is ready for use.
type FollowConfig struct {
	// Poll is how often the database's revision is read when no
	// notification came (PostgreSQL) or at all (SQLite); zero means 1 s on
	// SQLite and 30 s on PostgreSQL, where notifications do the work.
	Poll time.Duration
	// OnChange, when set, is called with the fleet and its revision each time
	// Follow loaded a newer one (not for this store's own writes).
	OnChange func(f *immy.Fleet, rev int64)
}

// Follow keeps the store up to date with the revisions other processes
// write, until ctx ends (it then returns nil). On PostgreSQL it listens for
// the notification each write sends when it commits, and polls as the
// fallback; on SQLite it polls. A store that writes does not need Follow to
// write correctly (a write reads the database's revision first); Follow is
// for the readers of Fleet, so that a process plans from what another
// process edited.
func (s *Store) Follow(ctx context.Context, cfg FollowConfig) error {
	poll := cfg.Poll
	if poll <= 0 {
		poll = time.Second
		if s.pool != nil {
			poll = 30 * time.Second
		}
	}
	refresh := func() error {
		before := s.Revision()
		if err := s.Refresh(ctx); err != nil {
			return err
		}
		if f, rev := s.Snapshot(); rev != before && cfg.OnChange != nil {
			cfg.OnChange(f, rev)
		}
		return nil
	}
	for {
		var err error
		if s.pool != nil {
			err = s.listen(ctx, poll, refresh)
		} else {
			err = s.pollOnce(ctx, poll, refresh)
		}
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, ErrClosed):
			return err
		case err != nil:
			// the database went away for a moment: wait a poll, then again
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(poll):
			}
		}
	}
}

func (s *Store) pollOnce(ctx context.Context, poll time.Duration, refresh func() error) error {
	t := time.NewTimer(poll)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return nil
	case <-t.C:
	}
	return refresh()
}

// listen holds one connection of the pool listening on notifyChannel and
// refreshes on each notification, and every poll without one.
func (s *Store) listen(ctx context.Context, poll time.Duration, refresh func() error) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("fleetstore: follow: %w", err)
	}
	defer func() {
		// a connection left listening must not go back to the pool
		conn.Conn().Close(context.Background())
		conn.Release()
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		return fmt.Errorf("fleetstore: follow: %w", err)
	}
	// what landed before LISTEN took effect
	if err := refresh(); err != nil {
		return err
	}
	for {
		wctx, cancel := context.WithTimeout(ctx, poll)
		_, err := conn.Conn().WaitForNotification(wctx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil && !errors.Is(err, context.DeadlineExceeded):
			return fmt.Errorf("fleetstore: follow: %w", err)
		}
		if err := refresh(); err != nil {
			return err
		}
	}
}
