package durable_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/immyoss/engine/immy/immytest"
	"github.com/immyoss/engine/session"
	"github.com/immyoss/engine/session/durable"
	"github.com/immyoss/engine/session/durable/internal/durabletest"
	"github.com/immyoss/engine/session/sqlstore"
)

func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "durable-example-")
	defer os.RemoveAll(dir)

	// One SQLite file holds the journal and River's jobs.
	store, err := sqlstore.OpenSQLite(ctx, filepath.Join(dir, "immy.db"), sqlstore.Config{})
	if err != nil {
		panic(err)
	}
	defer store.Close()
	q, err := durable.Open(ctx, durable.Config{SQLite: store.DB(), ClientID: "engine-1"})
	if err != nil {
		panic(err)
	}

	fleet := durabletest.Fleet(1) // pc000: an update, a prerequisite, an install and a task to set
	planner, _ := durabletest.Planner(fleet)
	computers := immytest.NewFakeFleet(fleet)
	engine, err := session.New(session.Config{Planner: planner, Runner: computers, Inventory: computers,
		Journal: store, Dispatcher: q})
	if err != nil {
		panic(err)
	}
	if err := q.Start(ctx, engine); err != nil {
		panic(err)
	}
	defer engine.Close(ctx)
	defer q.Close(ctx)

	id, err := engine.Start(ctx, session.Request{Computer: "pc000"})
	if err != nil {
		panic(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	rep, err := engine.Wait(wctx, id) // worked by this process: River handed it here
	if err != nil {
		panic(err)
	}
	fmt.Println(rep.Status)
	for _, a := range rep.Actions {
		fmt.Println(a.Item(), a.Planned.Action, a.Result)
	}
	// Output:
	// passed
	// app update success
	// bitlocker task-enforce success
	// vcredist install success
	// phone install success
}
