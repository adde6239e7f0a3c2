package sqlstore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/immyoss/engine/session"
	"github.com/immyoss/engine/session/sqlstore"
)

// A journal in one SQLite file: records appended, a duplicate refused, the
// sessions not ended found, and everything there again after a reopen.
func Example() {
	dir, err := os.MkdirTemp("", "sqlstore-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "immy.db")
	ctx := context.Background()

	store, err := sqlstore.OpenSQLite(ctx, path, sqlstore.Config{})
	if err != nil {
		panic(err)
	}
	at := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	for _, rec := range []session.Record{
		{Session: "s1", Seq: 1, Kind: session.RecordCreated, Time: at, Request: &session.Request{ID: "s1", Computer: "pc1"}},
		{Session: "s1", Seq: 2, Kind: session.RecordStatus, Time: at, Status: session.Running},
		{Session: "s2", Seq: 1, Kind: session.RecordCreated, Time: at, Request: &session.Request{ID: "s2", Computer: "pc2"}},
		{Session: "s2", Seq: 2, Kind: session.RecordStatus, Time: at, Status: session.Passed},
	} {
		if err := store.Append(ctx, rec); err != nil {
			panic(err)
		}
	}
	// a second writer of s1's record 2 (another process that believes it
	// works s1) is refused
	err = store.Append(ctx, session.Record{Session: "s1", Seq: 2, Kind: session.RecordStatus, Time: at, Status: session.Cancelled})
	fmt.Println(err)

	unfinished, _ := store.Unfinished(ctx)
	fmt.Println("unfinished:", unfinished)
	id, ok, _ := store.ActiveSession(ctx, "pc1")
	fmt.Println("pc1's session:", id, ok)
	if err := store.Close(); err != nil {
		panic(err)
	}

	store, err = sqlstore.OpenSQLite(ctx, path, sqlstore.Config{})
	if err != nil {
		panic(err)
	}
	defer store.Close()
	err = store.ReplaySession(ctx, "s1", func(r session.Record) error {
		fmt.Println(r.Session, r.Seq, r.Kind, r.Status)
		return nil
	})
	if err != nil {
		panic(err)
	}
	// Output:
	// sqlstore: session "s1": record 2, want 3: session: record out of sequence
	// unfinished: [s1]
	// pc1's session: s1 true
	// s1 1 created created
	// s1 2 status running
}
