package plugins

import (
	"context"
	"slices"
	"strings"
	"sync"
)

// Store keeps each plugin instance's private key-value context, which the
// plugin reads and writes through the host services (for cursors, tokens,
// caches that must survive a restart). An instance sees only its own keys.
// Implementations must be safe for concurrent use; give the Manager a durable
// one to keep the context across host restarts.
type Store interface {
	Get(ctx context.Context, instance, key string) (value []byte, found bool, err error)
	Set(ctx context.Context, instance, key string, value []byte) error
	Delete(ctx context.Context, instance, key string) error
	// Keys lists the instance's keys that start with prefix, sorted.
	Keys(ctx context.Context, instance, prefix string) ([]string, error)
}

// MemoryStore is a Store in memory. The zero value is ready to use.
type MemoryStore struct {
	mu sync.Mutex
	m  map[string]map[string][]byte
}

// Get implements Store.
func (s *MemoryStore) Get(_ context.Context, instance, key string) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[instance][key]
	return slices.Clone(v), ok, nil
}

// Set implements Store.
func (s *MemoryStore) Set(_ context.Context, instance, key string, value []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]map[string][]byte{}
	}
	if s.m[instance] == nil {
		s.m[instance] = map[string][]byte{}
	}
	s.m[instance][key] = slices.Clone(value)
	return nil
}

// Delete implements Store.
func (s *MemoryStore) Delete(_ context.Context, instance, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m[instance], key)
	return nil
}

// Keys implements Store.
func (s *MemoryStore) Keys(_ context.Context, instance, prefix string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var keys []string
	for k := range s.m[instance] {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys, nil
}
