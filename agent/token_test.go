package agent_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/agent"
	"github.com/immyoss/engine/agent/endpoint"
	"github.com/immyoss/engine/agent/internal/wire"
	"github.com/immyoss/engine/immy"
)

// clock is a settable Config.Now.
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

var t0 = time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)

func TestCreateInstallTokenTerms(t *testing.T) {
	clk := &clock{now: t0}
	srv := agent.NewServer(agent.Config{Now: clk.Now})
	defer srv.Close()
	ctx := t.Context()
	tests := []struct {
		name string
		opts agent.TokenOptions
		want agent.InstallToken // Tenant, Created, Expires, MaxUses
	}{
		{"default: seven days", agent.TokenOptions{}, agent.InstallToken{Expires: t0.Add(7 * 24 * time.Hour)}},
		{"never, said explicitly", agent.TokenOptions{Never: true}, agent.InstallToken{}},
		{"a given expiry", agent.TokenOptions{Expires: t0.Add(time.Hour)}, agent.InstallToken{Expires: t0.Add(time.Hour)}},
		{"a use count", agent.TokenOptions{MaxUses: 3}, agent.InstallToken{Expires: t0.Add(agent.DefaultTokenTTL), MaxUses: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token, info, err := srv.CreateInstallToken(ctx, "acme", tt.opts)
			require.NoError(t, err)
			require.True(t, strings.HasPrefix(token, "immy1_"))
			tt.want.Tenant, tt.want.Created = "acme", t0
			got := info
			got.ID, got.Hash = "", [32]byte{}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("token (-want +got):\n%s", diff)
			}
		})
	}

	_, _, err := srv.CreateInstallToken(ctx, "", agent.TokenOptions{Never: true, Expires: t0, MaxUses: -1})
	require.ErrorIs(t, err, immy.ErrInvalid)
	require.EqualError(t, err, "agent: install token: no tenant: invalid\n"+
		"agent: install token: both Never and Expires (2026-12-07T09:00:00Z) set: invalid\n"+
		"agent: install token: MaxUses -1 is negative: invalid")
}

// hello enrols a raw client with token and returns the refusal, or nil when
// welcomed.
func enrolOrRefused(h *harness, token string) *wire.Refused {
	h.t.Helper()
	c := h.dialRaw()
	pub, priv := c.keys(h.t.(*testing.T))
	hello := &wire.Hello{InstallToken: token, PublicKey: pub}
	wire.Sign(priv, c.nonce, hello)
	c.write(wire.Message{Type: wire.TypeHello, Hello: hello})
	m := c.read()
	if m.Type == wire.TypeWelcome {
		return nil
	}
	require.Equal(h.t, wire.TypeRefused, m.Type)
	return m.Refused
}

func TestInstallTokenExpiresByDefault(t *testing.T) {
	clk := &clock{now: t0}
	h := newHarness(t, agent.Config{Now: clk.Now})
	token, info, err := h.srv.CreateInstallToken(t.Context(), "acme", agent.TokenOptions{})
	require.NoError(t, err)
	never, _, err := h.srv.CreateInstallToken(t.Context(), "acme", agent.TokenOptions{Never: true})
	require.NoError(t, err)

	clk.add(agent.DefaultTokenTTL - time.Second)
	require.Nil(t, enrolOrRefused(h, token), "valid until seven days have passed")
	clk.add(time.Second)
	r := enrolOrRefused(h, token)
	require.NotNil(t, r, "refused once seven days have passed")
	require.Equal(t, wire.RefusedToken, r.Code)
	require.Equal(t, "install token "+info.ID+" expired at 2026-12-14T09:00:00Z", r.Message)

	clk.add(10 * 365 * 24 * time.Hour)
	require.Nil(t, enrolOrRefused(h, never), "a token made with Never enrols until revoked")
}

// notCounting is a TokenStore without TokenUser: the server counts uses
// itself.
type notCounting struct{ m *agent.MemoryStore }

func (n notCounting) PutToken(ctx context.Context, t agent.InstallToken) error {
	return n.m.PutToken(ctx, t)
}
func (n notCounting) TokenByHash(ctx context.Context, h [32]byte) (agent.InstallToken, error) {
	return n.m.TokenByHash(ctx, h)
}
func (n notCounting) DeleteToken(ctx context.Context, id string) error {
	return n.m.DeleteToken(ctx, id)
}

func TestInstallTokenUseCount(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tokens func(*agent.MemoryStore) agent.TokenStore
	}{
		{"a store that counts", func(m *agent.MemoryStore) agent.TokenStore { return m }},
		{"a store that does not", func(m *agent.MemoryStore) agent.TokenStore { return notCounting{m} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := &agent.MemoryStore{}
			h := newHarness(t, agent.Config{Tokens: tc.tokens(mem), Agents: mem})
			token, info, err := h.srv.CreateInstallToken(t.Context(), "acme", agent.TokenOptions{MaxUses: 2})
			require.NoError(t, err)
			require.Nil(t, enrolOrRefused(h, token))
			require.Nil(t, enrolOrRefused(h, token))
			r := enrolOrRefused(h, token)
			require.NotNil(t, r, "the third enrolment of a two-use token")
			require.Equal(t, &wire.Refused{Code: wire.RefusedToken, Message: "install token " + info.ID + " has been used 2 of 2 times"}, r)
			toks := mem.Tokens()
			require.Len(t, toks, 1)
			require.Equal(t, 2, toks[0].Uses)
			require.Len(t, mem.Records(), 2)

			unlimited, _, err := h.srv.CreateInstallToken(t.Context(), "acme", agent.TokenOptions{})
			require.NoError(t, err)
			for range 3 {
				require.Nil(t, enrolOrRefused(h, unlimited))
			}
		})
	}
}

// The refusal of an agent id that was never enrolled reads as the refusal
// of a known agent whose hello is signed with another key: refusals do not
// tell which agent ids exist.
func TestRefusalsTellNoAgentIDs(t *testing.T) {
	h := newHarness(t, agent.Config{})
	c := h.dialRaw()
	known, _ := c.enrol(h.token("acme"))
	_, stranger := c.keys(t)

	refusal := func(id string) *wire.Refused {
		c := h.dialRaw()
		hello := &wire.Hello{AgentID: id}
		wire.Sign(stranger, c.nonce, hello)
		c.write(wire.Message{Type: wire.TypeHello, Hello: hello})
		m := c.read()
		require.Equal(t, wire.TypeRefused, m.Type)
		m.Refused.Message = strings.ReplaceAll(m.Refused.Message, id, "ID")
		return m.Refused
	}
	unknown := "agt-" + strings.Repeat("0", 24)
	if diff := cmp.Diff(refusal(unknown), refusal(known)); diff != "" {
		t.Errorf("the refusals differ (-unknown +known):\n%s", diff)
	}
	require.Equal(t, wire.RefusedCredential, refusal(unknown).Code)
}

// With Config.Tenant, a route that names an agent of another tenant (one
// that claimed the computer's identity) does not deliver the script to it.
func TestTenantGuard(t *testing.T) {
	var h *harness
	var rogue, owner string
	h = newHarness(t, agent.Config{
		Route: func(_ context.Context, computer string) ([]string, error) {
			switch computer {
			case "pc-b":
				return []string{rogue, owner}, nil
			case "pc-b-alone":
				return []string{rogue}, nil
			}
			return nil, immy.ErrNotFound
		},
		Tenant: func(_ context.Context, computer string) (string, error) {
			if strings.HasPrefix(computer, "pc-b") {
				return "fabrikam", nil
			}
			return "", immy.ErrNotFound
		},
	})
	rogueRuns, ownerRuns := &recorder{name: "rogue"}, &recorder{name: "owner"}
	rogue, _, _ = h.inProcess(endpoint.Config{InstallToken: h.token("contoso"), Scripts: rogueRuns})
	owner, _, _ = h.inProcess(endpoint.Config{InstallToken: h.token("fabrikam"), Scripts: ownerRuns})
	run := func(computer string) (immy.ScriptResult, error) {
		return h.srv.RunScript(t.Context(), immy.ScriptRequest{Computer: computer,
			Script: immy.Script{Language: immy.LanguageLua, Body: `return secret`}, Parameters: map[string]any{"secret": "s3cret"}, Secrets: []string{"secret"}})
	}
	res, err := run("pc-b")
	require.NoError(t, err)
	require.Equal(t, "owner", res.Value, "the tenant's own agent runs it, though the route names the other first")

	_, err = run("pc-b-alone")
	require.ErrorIs(t, err, immy.ErrOffline)
	require.EqualError(t, err, `agent: computer "pc-b-alone": no agent of its tenant "fabrikam" online (1 of another tenant skipped): computer offline`)
	_, err = h.srv.Inventory(t.Context(), "pc-b-alone")
	require.ErrorIs(t, err, immy.ErrOffline)
	require.Equal(t, 0, rogueRuns.count(), "the agent of another tenant never received the script")
	require.Equal(t, 1, ownerRuns.count())
}

// recorder is an agent's script runner that counts its runs and answers
// its name.
type recorder struct {
	name string
	mu   sync.Mutex
	n    int
}

func (r *recorder) RunScript(context.Context, immy.ScriptRequest) (immy.ScriptResult, error) {
	r.mu.Lock()
	r.n++
	r.mu.Unlock()
	return immy.ScriptResult{Output: r.name + "\n", Value: r.name}, nil
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

// A server without a database says, once, that it forgets its agents.
func TestMemoryStoreWarning(t *testing.T) {
	var logs syncLog
	srv := agent.NewServer(agent.Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	srv.Close()
	require.Contains(t, logs.String(), "install tokens and enrolled agents are kept in memory and lost when the server stops")

	logs = syncLog{}
	srv = agent.NewServer(agent.Config{Store: &agent.MemoryStore{}, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	srv.Close()
	require.Empty(t, logs.String(), "a store given is the caller's choice")
}

type syncLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
