package storetest_test

import (
	"testing"

	"github.com/immyoss/engine/agent"
	"github.com/immyoss/engine/agent/storetest"
)

// The kit passes on the store package agent ships.
func TestMemoryStore(t *testing.T) {
	storetest.Run(t, func(*testing.T) agent.Store { return &agent.MemoryStore{} })
}
