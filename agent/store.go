package agent

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/immyoss/engine/immy"
)

// InstallToken lets agents enrol into one tenant. The token itself is shown
// once, when it is created; the store keeps its SHA-256 hash only.
type InstallToken struct {
	ID      string // public id, for listing and revoking
	Tenant  string
	Hash    [32]byte // SHA-256 of the token
	Created time.Time
	Expires time.Time // zero: never (TokenOptions.Never)
	MaxUses int       // how many agents may enrol with it; zero: no limit
	Uses    int       // how many have
}

// usable tells why t enrols no agent at now, or "" when it does.
func (t InstallToken) usable(now time.Time) string {
	switch {
	case !t.Expires.IsZero() && !now.Before(t.Expires):
		return fmt.Sprintf("install token %s expired at %s", t.ID, t.Expires.UTC().Format(time.RFC3339))
	case t.MaxUses > 0 && t.Uses >= t.MaxUses:
		return fmt.Sprintf("install token %s has been used %d of %d times", t.ID, t.Uses, t.MaxUses)
	}
	return ""
}

// Record is an enrolled agent: its tenant and the public half of its
// credential. The private key never leaves the agent's machine.
type Record struct {
	ID         string
	Tenant     string
	PublicKey  ed25519.PublicKey
	TokenID    string // the install token it enrolled with
	Ephemeral  bool   // enrolled for one session's span; forgotten when it says bye
	EnrolledAt time.Time
}

// TokenStore keeps install tokens. Lookups of what is not there return an
// error wrapping immy.ErrNotFound.
type TokenStore interface {
	PutToken(ctx context.Context, t InstallToken) error
	TokenByHash(ctx context.Context, hash [32]byte) (InstallToken, error)
	DeleteToken(ctx context.Context, id string) error
}

// TokenUser is a TokenStore that counts an enrolment against a token
// atomically, so that a token's MaxUses holds across the server's
// processes. The server uses it when its TokenStore has it; otherwise it
// counts with TokenByHash and PutToken, one enrolment at a time in its own
// process.
type TokenUser interface {
	// UseToken adds one to the uses of token id when it has uses left
	// (MaxUses zero, or Uses below it) and reports whether it did. A
	// missing token is an error wrapping immy.ErrNotFound.
	UseToken(ctx context.Context, id string) (bool, error)
}

// Store keeps both install tokens and enrolled agents, as MemoryStore and
// package agent/sqlstore do.
type Store interface {
	TokenStore
	AgentStore
}

// AgentStore keeps enrolled agents. Lookups of what is not there return an
// error wrapping immy.ErrNotFound.
type AgentStore interface {
	PutAgent(ctx context.Context, r Record) error
	Agent(ctx context.Context, id string) (Record, error)
	DeleteAgent(ctx context.Context, id string) error
}

// MemoryStore is a TokenStore and an AgentStore in memory, for tests and
// for products that persist elsewhere: what it holds is lost when the
// process ends, and enrolled agents are then refused (package
// agent/sqlstore keeps them in SQLite or PostgreSQL). Its zero value is ready; it is safe
// for concurrent use.
type MemoryStore struct {
	mu     sync.Mutex
	tokens map[string]InstallToken // by id
	agents map[string]Record
}

// PutToken implements TokenStore.
func (m *MemoryStore) PutToken(_ context.Context, t InstallToken) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.tokens == nil {
		m.tokens = map[string]InstallToken{}
	}
	m.tokens[t.ID] = t
	return nil
}

// TokenByHash implements TokenStore.
func (m *MemoryStore) TokenByHash(_ context.Context, hash [32]byte) (InstallToken, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, t := range m.tokens {
		if t.Hash == hash {
			return t, nil
		}
	}
	return InstallToken{}, fmt.Errorf("agent: install token: %w", immy.ErrNotFound)
}

// UseToken implements TokenUser.
func (m *MemoryStore) UseToken(_ context.Context, id string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.tokens[id]
	if !ok {
		return false, fmt.Errorf("agent: install token %q: %w", id, immy.ErrNotFound)
	}
	if t.MaxUses > 0 && t.Uses >= t.MaxUses {
		return false, nil
	}
	t.Uses++
	m.tokens[id] = t
	return true, nil
}

// DeleteToken implements TokenStore.
func (m *MemoryStore) DeleteToken(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.tokens[id]; !ok {
		return fmt.Errorf("agent: install token %q: %w", id, immy.ErrNotFound)
	}
	delete(m.tokens, id)
	return nil
}

// Tokens lists the install tokens by id.
func (m *MemoryStore) Tokens() []InstallToken {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]InstallToken, 0, len(m.tokens))
	for _, t := range m.tokens {
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b InstallToken) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// PutAgent implements AgentStore.
func (m *MemoryStore) PutAgent(_ context.Context, r Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.agents == nil {
		m.agents = map[string]Record{}
	}
	r.PublicKey = slices.Clone(r.PublicKey)
	m.agents[r.ID] = r
	return nil
}

// Agent implements AgentStore.
func (m *MemoryStore) Agent(_ context.Context, id string) (Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.agents[id]
	if !ok {
		return Record{}, fmt.Errorf("agent: agent %q: %w", id, immy.ErrNotFound)
	}
	r.PublicKey = slices.Clone(r.PublicKey)
	return r, nil
}

// DeleteAgent implements AgentStore.
func (m *MemoryStore) DeleteAgent(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.agents[id]; !ok {
		return fmt.Errorf("agent: agent %q: %w", id, immy.ErrNotFound)
	}
	delete(m.agents, id)
	return nil
}

// Records lists the enrolled agents by id.
func (m *MemoryStore) Records() []Record {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Record, 0, len(m.agents))
	for _, r := range m.agents {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b Record) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

var (
	_ Store     = (*MemoryStore)(nil)
	_ TokenUser = (*MemoryStore)(nil)
)
