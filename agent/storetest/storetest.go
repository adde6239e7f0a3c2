package storetest

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/agent"
	"github.com/immyoss/engine/immy"
)

// T0 is the time the kit's records are made at: whole microseconds, UTC.
var T0 = time.Date(2026, 12, 7, 9, 30, 15, 123456000, time.UTC)

// Token returns a token of the kit: tenant, id and the hash of secret.
func Token(id, tenant, secret string) agent.InstallToken {
	return agent.InstallToken{ID: id, Tenant: tenant, Hash: sha256.Sum256([]byte(secret)), Created: T0, Expires: T0.Add(7 * 24 * time.Hour)}
}

// Record returns an agent record of the kit, with a key derived from id.
func Record(id, tenant, token string) agent.Record {
	seed := sha256.Sum256([]byte(id))
	return agent.Record{ID: id, Tenant: tenant, PublicKey: ed25519.NewKeyFromSeed(seed[:]).Public().(ed25519.PublicKey), TokenID: token, EnrolledAt: T0.Add(time.Minute)}
}

// Run runs the conformance tests; open returns a new, empty store for each.
func Run(t *testing.T, open func(t *testing.T) agent.Store) {
	t.Run("tokens", func(t *testing.T) {
		s, ctx := open(t), t.Context()
		_, err := s.TokenByHash(ctx, sha256.Sum256([]byte("nothing")))
		require.ErrorIs(t, err, immy.ErrNotFound)
		require.ErrorIs(t, s.DeleteToken(ctx, "tok-none"), immy.ErrNotFound)

		a := Token("tok-a", "acme", "secret-a")
		b := Token("tok-b", "globex", "secret-b")
		b.Expires, b.MaxUses, b.Uses = time.Time{}, 5, 2 // never expires
		require.NoError(t, s.PutToken(ctx, a))
		require.NoError(t, s.PutToken(ctx, b))
		for _, want := range []agent.InstallToken{a, b} {
			got, err := s.TokenByHash(ctx, want.Hash)
			require.NoError(t, err)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("token %s (-put +got):\n%s", want.ID, diff)
			}
		}
		a.Uses, a.MaxUses = 1, 3
		require.NoError(t, s.PutToken(ctx, a), "a put replaces")
		got, err := s.TokenByHash(ctx, a.Hash)
		require.NoError(t, err)
		require.Equal(t, 1, got.Uses)
		require.Equal(t, 3, got.MaxUses)

		require.NoError(t, s.DeleteToken(ctx, "tok-a"))
		_, err = s.TokenByHash(ctx, a.Hash)
		require.ErrorIs(t, err, immy.ErrNotFound, "a deleted token is gone")
		require.ErrorIs(t, s.DeleteToken(ctx, "tok-a"), immy.ErrNotFound)
		_, err = s.TokenByHash(ctx, b.Hash)
		require.NoError(t, err, "the other token stays")
	})
	t.Run("use count", func(t *testing.T) {
		s, ctx := open(t), t.Context()
		u, ok := s.(agent.TokenUser)
		if !ok {
			t.Skip("the store is no agent.TokenUser: the server counts uses itself")
		}
		_, err := u.UseToken(ctx, "tok-none")
		require.ErrorIs(t, err, immy.ErrNotFound)

		limited := Token("tok-l", "acme", "l")
		limited.MaxUses = 3
		unlimited := Token("tok-u", "acme", "u")
		require.NoError(t, s.PutToken(ctx, limited))
		require.NoError(t, s.PutToken(ctx, unlimited))
		var used atomic.Int32
		var wg sync.WaitGroup
		errs := make(chan error, 20)
		for range 10 {
			wg.Go(func() {
				ok, err := u.UseToken(ctx, "tok-l")
				if err != nil {
					errs <- err
				}
				if ok {
					used.Add(1)
				}
				if _, err := u.UseToken(ctx, "tok-u"); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		require.EqualValues(t, 3, used.Load(), "ten racing uses of a three-use token: three counted")
		got, err := s.TokenByHash(ctx, limited.Hash)
		require.NoError(t, err)
		require.Equal(t, 3, got.Uses)
		got, err = s.TokenByHash(ctx, unlimited.Hash)
		require.NoError(t, err)
		require.Equal(t, 10, got.Uses, "a token without MaxUses counts every use")
	})
	t.Run("agents", func(t *testing.T) {
		s, ctx := open(t), t.Context()
		_, err := s.Agent(ctx, "agt-none")
		require.ErrorIs(t, err, immy.ErrNotFound)
		require.ErrorIs(t, s.DeleteAgent(ctx, "agt-none"), immy.ErrNotFound)

		a := Record("agt-a", "acme", "tok-a")
		e := Record("agt-e", "globex", "tok-b")
		e.Ephemeral = true
		require.NoError(t, s.PutAgent(ctx, a))
		require.NoError(t, s.PutAgent(ctx, e))
		for _, want := range []agent.Record{a, e} {
			got, err := s.Agent(ctx, want.ID)
			require.NoError(t, err)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("agent %s (-put +got):\n%s", want.ID, diff)
			}
		}
		got, err := s.Agent(ctx, "agt-a")
		require.NoError(t, err)
		got.PublicKey[0] ^= 0xff
		again, err := s.Agent(ctx, "agt-a")
		require.NoError(t, err)
		require.Equal(t, a.PublicKey, again.PublicKey, "a record returned is the caller's to change")

		require.NoError(t, s.DeleteAgent(ctx, "agt-a"))
		_, err = s.Agent(ctx, "agt-a")
		require.ErrorIs(t, err, immy.ErrNotFound, "a deleted agent is gone")
		_, err = s.Agent(ctx, "agt-e")
		require.NoError(t, err, "the other agent stays")
	})
	t.Run("concurrent", func(t *testing.T) {
		s, ctx := open(t), t.Context()
		var wg sync.WaitGroup
		errs := make(chan error, 64)
		for i := range 16 {
			wg.Go(func() {
				id := fmt.Sprintf("agt-%02d", i)
				tok := Token(fmt.Sprintf("tok-%02d", i), "acme", id)
				for _, err := range []error{
					s.PutToken(ctx, tok),
					s.PutAgent(ctx, Record(id, "acme", tok.ID)),
				} {
					if err != nil {
						errs <- err
					}
				}
				if _, err := s.Agent(ctx, id); err != nil {
					errs <- err
				}
				if _, err := s.TokenByHash(ctx, tok.Hash); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
	})
	t.Run("context", func(t *testing.T) {
		s := open(t)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		// A store that does I/O honours ctx; one in memory may ignore it.
		// Either way a cancelled call does not corrupt the store.
		_ = s.PutAgent(ctx, Record("agt-c", "acme", "tok"))
		require.NoError(t, s.PutAgent(t.Context(), Record("agt-c", "acme", "tok")))
		_, err := s.Agent(t.Context(), "agt-c")
		require.NoError(t, err)
	})
}
