// Package sqlstore keeps the agent server's install tokens and enrolled
// agents in SQL, so that agents are still accepted after the server
// restarts: embedded SQLite (one file, pure Go through modernc.org/sqlite),
// or PostgreSQL through jackc/pgx/v5 when several server processes share
// the work. A [Store] is an agent.Store and an agent.TokenUser:
//
//	store, err := sqlstore.Open(ctx, "/var/lib/immy/immy.db", sqlstore.Config{})
//	// or: sqlstore.Open(ctx, "postgres://immy@db/immy", sqlstore.Config{})
//	// or: sqlstore.OpenPostgres(ctx, pool, sqlstore.Config{})
//	defer store.Close()
//	srv := agent.NewServer(agent.Config{Store: store, ...})
//
// Wherever a product configures a database, pass it here: without a Store,
// agent.Server keeps tokens and agents in memory, and every agent must enrol
// again after a restart.
//
// # What is kept
//
// Tables immy_agent_tokens (an install token's id, tenant, SHA-256 hash,
// creation, expiry (NULL: never), use limit and uses; the token itself is
// never stored) and immy_agent_records (an agent's id, tenant, Ed25519
// public key, the token it enrolled with, whether it is ephemeral, when it
// enrolled). Nothing stored lets anyone act as an agent or enrol one. A
// revoked token or agent is deleted. Times are kept to the microsecond, in
// UTC. UseToken counts an enrolment in one conditional update, so that a
// token's use limit holds across processes sharing the database. An
// ephemeral agent is deleted when it says bye; [Store.DeleteEphemeral]
// deletes those killed before they could. [Store.Tokens] and
// [Store.Records] list what is kept, for a product's console.
//
// The database may be the one the session journal uses (package
// session/sqlstore): the tables, and the table of the schema's version
// (immy_agent_schema_version), are this package's own.
//
// # Migrations
//
// The schema is versioned per dialect; Open, OpenSQLite and OpenPostgres
// bring it up to date, each step in a transaction of its own, so that a
// step that fails leaves the database at the version before it. Several
// processes opening one database at once take turns (SQLite's write lock,
// a PostgreSQL advisory lock). A database whose schema is newer than this
// code knows is refused with a [*SchemaError], and nothing is changed.
//
// # Testing a store
//
// The tests run the conformance kit of package agent/storetest over the
// memory store, SQLite and PostgreSQL in one table, and restart a server on
// each; the PostgreSQL half needs a server, named by
// IMMY_TEST_POSTGRES_URL (see .ci/postgres and the README), and fails
// rather than skips under CI=true.
package sqlstore
