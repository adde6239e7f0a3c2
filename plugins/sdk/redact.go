package sdk

import (
	"cmp"
	"slices"
	"strings"
	"sync"
)

// redacted replaces a secret value in whatever leaves the plugin.
const redacted = "[redacted]"

// mask replaces every secret value in s, longest first, so that a secret
// containing another is masked whole.
func mask(s string, secrets []string) string {
	for _, v := range longestFirst(secrets) {
		s = strings.ReplaceAll(s, v, redacted)
	}
	return s
}

// longestFirst returns the non-empty values, distinct, longest first (ties
// in byte order).
func longestFirst(values []string) []string {
	out := make([]string, 0, len(values))
	for _, v := range values {
		if v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	slices.SortFunc(out, func(a, b string) int {
		if c := cmp.Compare(len(b), len(a)); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	return out
}

// secretSet holds the secret configuration values of the instance a plugin
// process serves, known once Configure has run; every error and health
// message leaving the plugin is masked with them. Safe for concurrent use.
type secretSet struct {
	mu     sync.RWMutex
	values []string
}

func (s *secretSet) set(values []string) {
	if s == nil {
		return
	}
	v := longestFirst(values)
	s.mu.Lock()
	s.values = v
	s.mu.Unlock()
}

// with returns the instance's secret values and more.
func (s *secretSet) with(more ...string) []string {
	if s == nil {
		return more
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return append(slices.Clone(s.values), more...)
}
