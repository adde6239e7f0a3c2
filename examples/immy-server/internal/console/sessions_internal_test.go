package console

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/examples/immy-server/internal/auth"
)

// TestSessionTableBounds: one token's sign-ins never lock another out. A
// token keeps its newest maxPerToken sessions; a full table drops its
// oldest session instead of refusing the next sign-in.
func TestSessionTableBounds(t *testing.T) {
	now := time.Now()
	c := &Console{sessions: map[string]*webSession{}}
	sess := func(id, tok string) *webSession {
		return &webSession{id: id, token: auth.Token{ID: tok}, expires: now.Add(sessionTTL)}
	}
	for i := range 100 {
		c.addSession(sess(fmt.Sprintf("a%03d", i), "attacker"), now)
	}
	require.Len(t, c.sessions, maxPerToken, "one token holds at most maxPerToken sessions")
	for i := range 100 {
		_, kept := c.sessions[fmt.Sprintf("a%03d", i)]
		require.Equal(t, i >= 100-maxPerToken, kept, "session a%03d: a token keeps its newest", i)
	}

	// Fill the table with many tokens' sessions, then sign the admin in.
	c = &Console{sessions: map[string]*webSession{}, limit: 500}
	for i := range c.limit {
		c.addSession(sess(fmt.Sprintf("f%05d", i), fmt.Sprintf("tok%d", i/maxPerToken)), now)
	}
	require.Len(t, c.sessions, c.limit)
	c.addSession(sess("admin", "admin"), now)
	require.Len(t, c.sessions, c.limit)
	require.Contains(t, c.sessions, "admin", "a full table still takes a sign-in")
	require.NotContains(t, c.sessions, "f00000", "a full table drops its oldest session")
	require.Contains(t, c.sessions, "f00001")

	// Expired sessions go first.
	c = &Console{sessions: map[string]*webSession{}}
	old := sess("old", "x")
	old.expires = now.Add(-time.Second)
	c.addSession(old, now.Add(-sessionTTL))
	c.addSession(sess("new", "y"), now)
	require.NotContains(t, c.sessions, "old")
	require.Contains(t, c.sessions, "new")
}
