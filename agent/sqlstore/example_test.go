package sqlstore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/immyoss/engine/agent"
	"github.com/immyoss/engine/agent/sqlstore"
)

// An agent server whose install tokens and agents outlive it: a token made
// by one server is known to the next one on the same database.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "immy")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "immy.db")

	store, err := sqlstore.Open(ctx, path, sqlstore.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := agent.NewServer(agent.Config{Store: store})
	_, info, err := srv.CreateInstallToken(ctx, "acme", agent.TokenOptions{MaxUses: 10})
	if err != nil {
		fmt.Println(err)
		return
	}
	srv.Close()
	store.Close()

	// The server restarts.
	store, err = sqlstore.Open(ctx, path, sqlstore.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close()
	tokens, err := store.Tokens(ctx, "acme")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, t := range tokens {
		fmt.Println(t.ID == info.ID, t.Tenant, t.MaxUses, t.Expires.Sub(t.Created))
	}
	// Output:
	// true acme 10 168h0m0s
}
