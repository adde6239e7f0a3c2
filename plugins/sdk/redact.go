package sdk

import (
	"sync"

	"github.com/immyoss/engine/internal/redact"
)

// redacted replaces a secret value, or a transform of one, in whatever
// leaves the plugin.
const redacted = "[redacted]"

// masker returns the engine's masker (internal/redact) of the secret values:
// it hides them and their common transforms (other letter case, base64,
// hex, URL and JSON escaping); nil, hiding nothing, without secrets.
func masker(secrets ...string) *redact.Masker { return redact.New(redacted, secrets...) }

// secretSet holds the secret configuration values of the instance a plugin
// process serves, known once Configure has run; every error, health message
// and script output leaving the plugin is masked with them. Safe for
// concurrent use.
type secretSet struct {
	mu sync.RWMutex
	m  *redact.Masker
}

func (s *secretSet) set(values []string) {
	if s == nil {
		return
	}
	m := masker(values...)
	s.mu.Lock()
	s.m = m
	s.mu.Unlock()
}

// with returns the masker of the instance's secret values and more.
func (s *secretSet) with(more ...string) *redact.Masker {
	if s == nil {
		return masker(more...)
	}
	s.mu.RLock()
	m := s.m
	s.mu.RUnlock()
	return m.With(redacted, more...)
}
