package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/immyoss/engine/examples/immy-server/internal/config"
	"github.com/immyoss/engine/examples/immy-server/internal/links"
	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/session/notify"
)

// linkSigner returns the signer of the notification links: the key of
// --link-key-file, or of DATA-DIR/link.key, made (32 random bytes, base64)
// on the first start.
func linkSigner(cfg *config.Config, dataDir string) (notify.Signer, error) {
	path := cfg.LinkKeyFile
	if path == "" {
		path = filepath.Join(dataDir, "link.key")
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			key := make([]byte, 32)
			if _, err := rand.Read(key); err != nil {
				return notify.Signer{}, err
			}
			if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(key)+"\n"), 0o600); err != nil {
				return notify.Signer{}, fmt.Errorf("link key: %w", err)
			}
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return notify.Signer{}, fmt.Errorf("link key: %w", err)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) < notify.MinKeyLen {
		return notify.Signer{}, fmt.Errorf("link key %s: want the base64 of at least %d bytes", path, notify.MinKeyLen)
	}
	return notify.Signer{Key: key}, nil
}

// newEmail returns the notifier of the before and after emails, or nil
// when no SMTP server is configured. The people told of a computer are
// the person of its latest user (by UPN, in its tenant), else the tenant's
// contacts (the config file's tenants.ID.to); their emails are in the
// tenant's branding.
func newEmail(cfg *config.Config, signer notify.Signer, publicURL string, fleet func() *immy.Fleet) (*notify.Email, error) {
	s := cfg.SMTP
	if s.Host == "" {
		return nil, nil
	}
	var tlsCfg *tls.Config
	if s.CAFile != "" {
		pem, err := os.ReadFile(s.CAFile)
		if err != nil {
			return nil, fmt.Errorf("--smtp-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--smtp-ca %s: no PEM certificate", s.CAFile)
		}
		tlsCfg = &tls.Config{RootCAs: pool, ServerName: s.Host, MinVersion: tls.VersionTLS12}
	}
	return notify.NewEmail(notify.Config{
		Addr: net.JoinHostPort(s.Host, strconv.Itoa(s.Port)), Username: s.User, Password: s.Password,
		TLS: tlsCfg, AllowPlaintext: s.Plaintext, From: s.From, FromName: s.FromName,
		Audience: func(_ context.Context, computer string) (notify.Audience, error) {
			return audience(fleet(), cfg.Tenants, computer)
		},
		ItemName: func(id string) string { return itemName(fleet(), id) },
		Signer:   &signer, LinkBase: strings.TrimRight(publicURL, "/") + links.Path,
		LinkTTL: s.LinkTTL, PostponeFor: s.PostponeFor,
	})
}

func audience(f *immy.Fleet, tenants map[string]config.TenantNotify, computer string) (notify.Audience, error) {
	if f == nil {
		return notify.Audience{}, errors.New("no fleet loaded")
	}
	var c *immy.Computer
	for i := range f.Computers {
		if f.Computers[i].ID == computer {
			c = &f.Computers[i]
			break
		}
	}
	if c == nil {
		return notify.Audience{}, fmt.Errorf("computer %q: %w", computer, immy.ErrNotFound)
	}
	tn := tenants[c.Tenant]
	a := notify.Audience{ComputerName: c.Name,
		Branding: notify.Branding{Name: tn.Name, LogoURL: tn.LogoURL, Primary: tn.Primary, Accent: tn.Accent}}
	if len(c.UPNs) > 0 {
		for _, p := range f.Persons {
			if p.Tenant == c.Tenant && p.UPN != "" && strings.EqualFold(p.UPN, c.UPNs[0]) {
				if _, err := mail.ParseAddress(p.UPN); err == nil {
					a.To, a.Person = []string{p.UPN}, p.Name
				}
				break
			}
		}
	}
	if len(a.To) == 0 {
		a.To = tn.To
	}
	if len(a.To) == 0 {
		return a, fmt.Errorf("computer %q: nobody to tell (no known user; no tenants.%s.to in the config)", computer, c.Tenant)
	}
	return a, nil
}

func itemName(f *immy.Fleet, id string) string {
	if f == nil {
		return id
	}
	for _, s := range f.Software {
		if s.ID == id && s.Name != "" {
			return s.Name
		}
	}
	for _, t := range f.Tasks {
		if t.ID == id && t.Name != "" {
			return t.Name
		}
	}
	return id
}
