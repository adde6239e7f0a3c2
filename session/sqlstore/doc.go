// Package sqlstore keeps the session engine's journal in SQL: embedded
// SQLite by default (one file, nothing to install, pure Go through
// modernc.org/sqlite), PostgreSQL through jackc/pgx/v5 when several engine
// processes share the work. A [Store] is a [session.Journal] and a
// [session.SessionReplayer]:
//
//	store, err := sqlstore.OpenSQLite(ctx, "/var/lib/immy/immy.db", sqlstore.Config{})
//	// or: store, err := sqlstore.OpenPostgres(ctx, pool, sqlstore.Config{})
//	defer store.Close()
//	eng, err := session.New(session.Config{Journal: store, ...})
//
// # What is kept
//
// One row per record, keyed by (session, seq): the key is the journal's
// idempotency key. A record whose Seq does not follow the session's last one
// (a first Seq other than 1, a gap, a duplicate, the same record written by
// two processes at once) is refused with an error matching
// [session.ErrOutOfSequence], in the transaction that would have written it,
// so that exactly one writer of a (session, seq) wins, in one process or
// across several. A replay checks the same numbering on the way back: a
// session whose rows have a gap (one deleted by hand, or lost) stops the
// replay with an error matching [ErrMissingRecord], naming the session and
// the record, rather than folding a state without it. The record's body is its JSON, but for action and plan
// records on SQLite (see below). Beside the records, a row
// per session holds its computer, its status, when it was created and last
// changed, and whether it has ended, written in the same transaction as the
// record that changes it: [Store.Unfinished] lists the sessions to resume,
// [Store.ActiveSession] a computer's session under way. Tables are named
// immy_*, so that the database can be shared (with River's tables, say).
//
// # One session per computer
//
// A computer has one session not ended at most, across every process: a
// created record for a computer that has another session not ended is
// refused, atomically with its write, with an error for which errors.As
// finds a [*session.BusyError] naming the computer and that session, so that
// two processes starting a session of one computer at once cannot both
// succeed. A session stops counting once its final status is recorded;
// records without a computer are never refused. A refused record fails
// alone: the records written in the same transaction are kept. SQLite checks
// under its write lock; PostgreSQL creates a session only when its computer
// has none, and a partial unique index on immy_sessions (computer) of the
// sessions not ended is the last line (schema version 2). Migrating a
// database where a computer has two sessions not ended (written by an older
// engine) fails at version 2 until one of them is ended.
//
// # Durability and throughput
//
// Append returns once its record is committed. Appends made at the same time
// are written by one goroutine in one transaction (group commit), so that a
// thousand sessions writing at once cost one sync of the disk, not a
// thousand. On SQLite the writer keeps a connection of its own, with its
// statements prepared once on it (its transactions are begun and committed
// by hand, as database/sql would prepare a connection's statements again in
// each of its transactions), and inserts the records of a transaction 64 to
// a statement. On SQLite an action record (a session's action starting or
// ending: two per action, most of a journal) and a plan record are kept in a
// compact binary form (a blob: a third of their JSON's bytes), every other
// record as its JSON (text, readable with any client). A body's first byte tells its form, so
// that rows written by earlier versions, all JSON, replay as they are, with
// no migration; a body in a form this version does not know is refused by
// replay, naming its session and record. On PostgreSQL every body is JSON
// (the column is json), the action records encoded by hand, byte for byte
// as encoding/json would. See BenchmarkSessions in package session for the
// figures against a bare append. SQLite runs in WAL mode with synchronous=FULL: a committed
// record survives the process being killed and the machine losing power.
// Config.Synchronous "NORMAL" trades the power-loss half for speed (a record
// still survives kill -9). On PostgreSQL, durability is the server's
// (synchronous_commit).
//
// # Sharing a SQLite file
//
// [Store.DB] returns the SQLite database, for River's SQLite driver or any
// other user of the same file. Its transactions begin immediate, waiting up
// to 10 s for the write lock, and the Store's writer keeps one connection
// of the pool for itself: do not limit the pool to one connection.
//
// # Migrations
//
// The schema is versioned (table immy_schema_version); OpenSQLite and
// OpenPostgres bring it up to date, each step in a transaction of its own,
// so that a step that fails leaves the database at the version before it.
// Several processes opening one database at once take turns. A database
// whose schema is newer than this code knows is refused with a
// [*SchemaError], and nothing is changed.
//
// # Testing a journal
//
// The package's tests run the conformance kit
// github.com/immyoss/engine/session/journaltest on SQLite and on
// PostgreSQL; the PostgreSQL half needs a server, named by
// IMMY_TEST_POSTGRES_URL (see .ci/postgres and the README).
package sqlstore
