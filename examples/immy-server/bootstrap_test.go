package main

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/examples/immy-server/internal/auth"
	"github.com/immyoss/engine/examples/immy-server/internal/core"
)

// TestAdminTokenReset: the first start makes an admin token, a later one
// none; a reset makes a new one and revokes the earlier bootstrap tokens,
// leaving the tokens made through the API (another name, or an expiry).
func TestAdminTokenReset(t *testing.T) {
	ctx := context.Background()
	c, err := core.Open(ctx, core.Config{DB: filepath.Join(t.TempDir(), "immy.db"), ClientID: "boot"})
	require.NoError(t, err)
	defer c.Close(ctx)
	tokens, err := auth.Open(ctx, c.SQL, nil)
	require.NoError(t, err)

	first, err := adminToken(ctx, tokens, false)
	require.NoError(t, err)
	require.NotEmpty(t, first)
	again, err := adminToken(ctx, tokens, false)
	require.NoError(t, err)
	require.Empty(t, again, "a later start without --reset-admin-token makes none")
	ops, _, err := tokens.Create(ctx, "ops", auth.Admin, "", time.Time{})
	require.NoError(t, err)
	temp, _, err := tokens.Create(ctx, "admin", auth.Admin, "", time.Now().Add(time.Hour))
	require.NoError(t, err)
	tech, _, err := tokens.Create(ctx, "admin", auth.Technician, "", time.Time{})
	require.NoError(t, err)

	second, err := adminToken(ctx, tokens, true)
	require.NoError(t, err)
	require.NotEmpty(t, second)
	third, err := adminToken(ctx, tokens, true)
	require.NoError(t, err)
	require.NotEmpty(t, third)

	for _, s := range []string{first, second} {
		_, err := tokens.Authenticate(ctx, s)
		require.ErrorIs(t, err, auth.ErrUnauthorized, "an earlier bootstrap admin token still works after a reset")
	}
	for _, s := range []string{third, ops, temp, tech} {
		_, err := tokens.Authenticate(ctx, s)
		require.NoError(t, err)
	}
	n, err := tokens.Count(ctx, auth.Admin)
	require.NoError(t, err)
	require.Equal(t, 3, n, "the new bootstrap token, ops and the expiring one")
}
