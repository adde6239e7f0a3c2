package sqlstore_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/agent"
	"github.com/immyoss/engine/agent/endpoint"
	"github.com/immyoss/engine/agent/sqlstore"
	"github.com/immyoss/engine/agent/storetest"
	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/internal/pgtest"
)

// database is one kind of store the tests run on. open opens the store of a
// database made by newDB; each call is a server starting on that database.
type database struct {
	name       string
	persistent bool
	newDB      func(t *testing.T) string
	open       func(t *testing.T, db string) agent.Store
}

func databases(t *testing.T) []database {
	dbs := []database{
		{
			name:  "memory",
			newDB: func(*testing.T) string { return "" },
			open:  func(*testing.T, string) agent.Store { return &agent.MemoryStore{} },
		},
		{
			name: "sqlite", persistent: true,
			newDB: func(t *testing.T) string { return filepath.Join(t.TempDir(), "immy.db") },
			open:  openStore,
		},
	}
	if pgtest.Enabled(t) {
		dbs = append(dbs, database{name: "postgres", persistent: true, newDB: func(t *testing.T) string { return pgtest.Database(t) }, open: openStore})
	}
	return dbs
}

func openStore(t *testing.T, dsn string) agent.Store {
	t.Helper()
	s, err := sqlstore.Open(t.Context(), dsn, sqlstore.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

// The conformance kit over every store, in one table.
func TestConformance(t *testing.T) {
	for _, db := range databases(t) {
		t.Run(db.name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) agent.Store { return db.open(t, db.newDB(t)) })
		})
	}
}

// swap is the listener's handler: the agent server of the moment, so that a
// server can restart behind one address.
type swap struct{ srv atomic.Pointer[agent.Server] }

func (s *swap) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.srv.Load().ServeHTTP(w, r) }

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// server is one run of the agent server on the database.
type server struct {
	srv    *agent.Server
	store  agent.Store
	online chan string
}

func startServer(t *testing.T, db database, dsn string, clk *clock, sw *swap) *server {
	s := &server{store: db.open(t, dsn), online: make(chan string, 16)}
	s.srv = agent.NewServer(agent.Config{Store: s.store, Now: clk.Now, OnStatus: func(st agent.Status) {
		if st.Online {
			s.online <- st.AgentID
		}
	}})
	sw.srv.Store(s.srv)
	return s
}

func (s *server) waitOnline(t *testing.T) string {
	t.Helper()
	select {
	case id := <-s.online:
		return id
	case <-time.After(20 * time.Second):
		t.Fatal("no agent came online")
		return ""
	}
}

// runAgent runs an agent until the test ends; its Run's error arrives on the
// channel returned.
func runAgent(t *testing.T, ts *httptest.Server, cfg endpoint.Config) <-chan error {
	t.Helper()
	cfg.Server = "wss" + strings.TrimPrefix(ts.URL, "https")
	cfg.TLS = ts.Client().Transport.(*http.Transport).TLSClientConfig
	cfg.MinBackoff, cfg.MaxBackoff = 20*time.Millisecond, 200*time.Millisecond
	a, err := endpoint.New(cfg)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var wg sync.WaitGroup
	wg.Go(func() { done <- a.Run(ctx) })
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	return done
}

// refusal runs an agent that enrols with token and returns the server's
// refusal ("" when it was welcomed instead).
func refusal(t *testing.T, ts *httptest.Server, s *server, token string) string {
	t.Helper()
	done := runAgent(t, ts, endpoint.Config{InstallToken: token})
	select {
	case err := <-done:
		var re *endpoint.RefusedError
		require.ErrorAs(t, err, &re)
		return re.Message
	case <-s.online:
		return ""
	case <-time.After(20 * time.Second):
		t.Fatal("the agent was neither refused nor welcomed")
		return ""
	}
}

// An agent enrolled before the server restarts is accepted after it, and
// install tokens keep their expiry, revocation and uses: on a database.
// In memory, the restart forgets the agent, which is refused.
func TestRestart(t *testing.T) {
	for _, db := range databases(t) {
		t.Run(db.name, func(t *testing.T) {
			ctx := t.Context()
			dsn := db.newDB(t)
			clk := &clock{now: time.Now().UTC().Truncate(time.Second)}
			sw := &swap{}
			ts := httptest.NewUnstartedServer(sw)
			ts.StartTLS()
			t.Cleanup(ts.Close)

			first := startServer(t, db, dsn, clk, sw)
			twice, twiceInfo, err := first.srv.CreateInstallToken(ctx, "acme", agent.TokenOptions{MaxUses: 2})
			require.NoError(t, err)
			hour, hourInfo, err := first.srv.CreateInstallToken(ctx, "acme", agent.TokenOptions{Expires: clk.Now().Add(time.Hour)})
			require.NoError(t, err)
			revoked, revokedInfo, err := first.srv.CreateInstallToken(ctx, "acme", agent.TokenOptions{Never: true})
			require.NoError(t, err)
			require.NoError(t, first.srv.RevokeInstallToken(ctx, revokedInfo.ID))

			state := filepath.Join(t.TempDir(), "state.json")
			done := runAgent(t, ts, endpoint.Config{InstallToken: twice, StateFile: state})
			id := first.waitOnline(t)

			// The restart: the server closes (its agents disconnect), and a
			// new one starts on the same database.
			require.NoError(t, first.srv.Close())
			second := startServer(t, db, dsn, clk, sw)
			t.Cleanup(func() { second.srv.Close() })

			if !db.persistent {
				select {
				case err := <-done:
					var re *endpoint.RefusedError
					require.ErrorAs(t, err, &re, "a store in memory forgets the agent")
				case <-time.After(20 * time.Second):
					t.Fatal("the forgotten agent was not refused")
				}
				return
			}
			require.Equal(t, id, second.waitOnline(t), "the agent reconnects as itself")
			res, err := second.srv.RunScript(ctx, immy.ScriptRequest{Computer: id, Script: immy.Script{Language: immy.LanguageLua, Body: `return "still me"`}})
			require.NoError(t, err)
			require.Equal(t, "still me", res.Value)

			// Tokens: the use counted before the restart counts after it.
			tok, err := second.store.TokenByHash(ctx, twiceInfo.Hash)
			require.NoError(t, err)
			require.Equal(t, 1, tok.Uses)
			require.Equal(t, 2, tok.MaxUses)
			require.Empty(t, refusal(t, ts, second, twice), "the second use of a two-use token")
			require.Equal(t, "install token "+twiceInfo.ID+" has been used 2 of 2 times", refusal(t, ts, second, twice))
			// Revocation.
			require.Equal(t, "install token not recognised (wrong, revoked or never issued)", refusal(t, ts, second, revoked))
			// Expiry.
			tok, err = second.store.TokenByHash(ctx, hourInfo.Hash)
			require.NoError(t, err)
			require.True(t, tok.Expires.Equal(hourInfo.Expires), "expiry %s kept as %s", hourInfo.Expires, tok.Expires)
			clk.add(time.Hour)
			require.Equal(t, "install token "+hourInfo.ID+" expired at "+hourInfo.Expires.Format(time.RFC3339), refusal(t, ts, second, hour))
		})
	}
}

// Ephemeral agents that never said bye are deleted once old enough; the
// others stay. Records lists what is left.
func TestDeleteEphemeral(t *testing.T) {
	for _, db := range databases(t) {
		if !db.persistent {
			continue
		}
		t.Run(db.name, func(t *testing.T) {
			ctx := t.Context()
			s := db.open(t, db.newDB(t)).(*sqlstore.Store)
			old := storetest.Record("agt-old", "acme", "tok")
			old.Ephemeral = true
			recent := storetest.Record("agt-recent", "acme", "tok")
			recent.Ephemeral, recent.EnrolledAt = true, old.EnrolledAt.Add(2*time.Hour)
			installed := storetest.Record("agt-installed", "globex", "tok")
			for _, r := range []agent.Record{old, recent, installed} {
				require.NoError(t, s.PutAgent(ctx, r))
			}
			n, err := s.DeleteEphemeral(ctx, old.EnrolledAt.Add(time.Hour))
			require.NoError(t, err)
			require.Equal(t, 1, n)
			left, err := s.Records(ctx, "")
			require.NoError(t, err)
			var ids []string
			for _, r := range left {
				ids = append(ids, r.ID)
			}
			require.Equal(t, []string{"agt-installed", "agt-recent"}, ids)
			acme, err := s.Records(ctx, "acme")
			require.NoError(t, err)
			require.Len(t, acme, 1)
		})
	}
}
