package agent

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/immyoss/engine/immy"
)

// DefaultTokenTTL is how long an install token enrols agents when
// TokenOptions sets neither Expires nor Never.
const DefaultTokenTTL = 7 * 24 * time.Hour

// TokenOptions are the terms of an install token. The zero value makes a
// token that enrols any number of agents for DefaultTokenTTL.
type TokenOptions struct {
	// Expires is when the token stops enrolling agents; zero means
	// DefaultTokenTTL from now.
	Expires time.Time
	// Never makes a token that enrols until it is revoked; Expires must
	// then be zero.
	Never bool
	// MaxUses is how many agents may enrol with the token; zero means no
	// limit.
	MaxUses int
}

// CreateInstallToken makes an install token for tenant on opts' terms. The
// token is returned once; the store keeps its hash. Hand it to the
// technician (or the RMM's deployment script).
func (s *Server) CreateInstallToken(ctx context.Context, tenant string, opts TokenOptions) (string, InstallToken, error) {
	var errs []error
	if tenant == "" {
		errs = append(errs, fmt.Errorf("agent: install token: no tenant: %w", immy.ErrInvalid))
	}
	if opts.Never && !opts.Expires.IsZero() {
		errs = append(errs, fmt.Errorf("agent: install token: both Never and Expires (%s) set: %w", opts.Expires.UTC().Format(time.RFC3339), immy.ErrInvalid))
	}
	if opts.MaxUses < 0 {
		errs = append(errs, fmt.Errorf("agent: install token: MaxUses %d is negative: %w", opts.MaxUses, immy.ErrInvalid))
	}
	if err := errors.Join(errs...); err != nil {
		return "", InstallToken{}, err
	}
	now := s.cfg.Now().UTC()
	expires := opts.Expires
	switch {
	case opts.Never:
	case expires.IsZero():
		expires = now.Add(DefaultTokenTTL)
	default:
		expires = expires.UTC()
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	token := "immy1_" + base64.RawURLEncoding.EncodeToString(secret)
	t := InstallToken{ID: "tok-" + randomHex(8), Tenant: tenant, Hash: sha256.Sum256([]byte(token)), Created: now, Expires: expires, MaxUses: opts.MaxUses}
	if err := s.cfg.Tokens.PutToken(ctx, t); err != nil {
		return "", InstallToken{}, fmt.Errorf("agent: install token: %w", err)
	}
	return token, t, nil
}

// useToken counts an enrolment against t; false when t has no uses left.
func (s *Server) useToken(ctx context.Context, t InstallToken) (bool, error) {
	if u, ok := s.cfg.Tokens.(TokenUser); ok {
		return u.UseToken(ctx, t.ID)
	}
	s.tokenMu.Lock()
	defer s.tokenMu.Unlock()
	cur, err := s.cfg.Tokens.TokenByHash(ctx, t.Hash)
	if err != nil {
		return false, err
	}
	if cur.MaxUses > 0 && cur.Uses >= cur.MaxUses {
		return false, nil
	}
	cur.Uses++
	return true, s.cfg.Tokens.PutToken(ctx, cur)
}

// RevokeInstallToken forgets an install token; agents enrolled with it stay.
func (s *Server) RevokeInstallToken(ctx context.Context, id string) error {
	if err := s.cfg.Tokens.DeleteToken(ctx, id); err != nil {
		return fmt.Errorf("agent: revoke install token: %w", err)
	}
	return nil
}
