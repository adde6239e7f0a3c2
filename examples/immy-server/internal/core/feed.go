package core

import (
	"context"
	"fmt"
)

// The fleet stream's order on PostgreSQL
//
// PostgreSQL's journal records have no order of their own, so the server
// keeps one: immy_server_feed, a bigserial per record. The row is written by
// the database in the transaction that inserts the record (a trigger on the
// journal's immy_records), never by a second statement after it: a process
// that died between the two, or a second statement that failed, left a
// record the fleet stream never showed, to every reader, for good (a
// session's end among them). The trigger is a constraint trigger deferred
// to the commit, so that a row's number and time are taken as its
// transaction commits: a reader leaves rows younger than a second for its
// next read (Journal.Feed), and a number taken long before its commit
// (a group commit of many records) could otherwise come out after a
// higher one was read, and be skipped.
//
// Every writer of the journal is covered, whatever process or code wrote
// the record. The trigger reads the journal's (session, seq) columns of
// immy_records (session/sqlstore's PostgreSQL schema), as Feed reads its
// tables for the position only.

// feedLock is the key of the advisory lock that makes processes migrating
// the feed take turns.
const feedLock = 0x696d6d7966656564 // "immyfeed"

// migrateFeed creates the feed table and its trigger (PostgreSQL only).
func (c *Core) migrateFeed(ctx context.Context) error {
	if c.Pool == nil {
		return nil
	}
	tx, err := c.Pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("feed: %w", err)
	}
	defer tx.Rollback(ctx)
	for _, q := range []string{
		`SELECT pg_advisory_xact_lock(` + fmt.Sprint(int64(feedLock)) + `)`,
		`CREATE TABLE IF NOT EXISTS immy_server_feed (
			id      bigserial PRIMARY KEY,
			session text NOT NULL,
			seq     integer NOT NULL,
			at      timestamptz NOT NULL DEFAULT now()
		)`,
		// an earlier server inserted the rows itself, after the record:
		// one row a record (such a server still running is refused its
		// second insert, and logs it)
		`DELETE FROM immy_server_feed a USING immy_server_feed b
			WHERE a.session = b.session AND a.seq = b.seq AND a.id > b.id`,
		`CREATE UNIQUE INDEX IF NOT EXISTS immy_server_feed_record ON immy_server_feed (session, seq)`,
		`CREATE OR REPLACE FUNCTION immy_server_feed_note() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			INSERT INTO immy_server_feed (session, seq, at) VALUES (NEW.session, NEW.seq, clock_timestamp());
			RETURN NULL;
		END $$`,
		`DROP TRIGGER IF EXISTS immy_server_feed_note ON immy_records`,
		`CREATE CONSTRAINT TRIGGER immy_server_feed_note AFTER INSERT ON immy_records
			DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION immy_server_feed_note()`,
	} {
		if _, err := tx.Exec(ctx, q); err != nil {
			return fmt.Errorf("feed: %w", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("feed: %w", err)
	}
	return nil
}
