package agent_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/agent"
	"github.com/immyoss/engine/agent/endpoint"
	"github.com/immyoss/engine/agent/internal/wire"
	"github.com/immyoss/engine/agent/sysinfo"
	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/immytest"
)

func shQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func shKit(runner immy.ScriptRunner, computer, offline, noUser string) immytest.RunnerKit {
	return immytest.RunnerKit{
		Runner: runner, Computer: computer, Offline: offline, NoUser: noUser, Language: immy.LanguageShell,
		Print: func(lines ...string) string {
			var b strings.Builder
			for _, l := range lines {
				fmt.Fprintf(&b, "printf '%%s\\n' %s\n", shQuote(l))
			}
			return b.String()
		},
		Exit:       func(code int) string { return fmt.Sprintf("exit %d", code) },
		Sleep:      func(d time.Duration) string { return fmt.Sprintf("sleep %g", d.Seconds()) },
		PrintParam: func(name string) string { return fmt.Sprintf("printf '%%s\\n' \"$%s\"", name) },
	}
}

// The server with a real agent behind it keeps the ScriptRunner contract.
func TestConformance(t *testing.T) {
	immytest.TestRunner(t, func(t *testing.T) immytest.RunnerKit {
		h := newHarness(t, agent.Config{CancelGrace: time.Second})
		id, _, _ := h.inProcess(endpoint.Config{InstallToken: h.token("acme")})
		return shKit(h.srv, id, "agt-not-online", id)
	})
}

func TestInventory(t *testing.T) {
	h := newHarness(t, agent.Config{})
	root, err := filepath.Abs("sysinfo/testdata/linux/debian-laptop")
	require.NoError(t, err)
	src := &sysinfo.Source{Root: root}
	id, _, _ := h.inProcess(endpoint.Config{InstallToken: h.token("acme"), Sysinfo: src})
	want, err := src.Inventory(t.Context())
	require.NoError(t, err)

	st, ok := h.srv.Status(id)
	require.True(t, ok)
	require.Equal(t, want.Identity, st.Identity, "the hello carries the identity")
	require.Equal(t, "acme", st.Tenant)

	got, err := h.srv.Inventory(t.Context(), id)
	require.NoError(t, err)
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b immy.Version) bool { return a.String() == b.String() })); diff != "" {
		t.Errorf("inventory (-want +got):\n%s", diff)
	}
	_, err = h.srv.Inventory(t.Context(), "agt-missing")
	require.ErrorIs(t, err, immy.ErrOffline)
}

// A route maps computers to their agents; the first online one is used.
func TestRoute(t *testing.T) {
	var h *harness
	var agentID string
	h = newHarness(t, agent.Config{Route: func(_ context.Context, computer string) ([]string, error) {
		switch computer {
		case "pc-1":
			return []string{"agt-offline", agentID}, nil
		case "pc-2":
			return []string{"agt-offline"}, nil
		}
		return nil, fmt.Errorf("computer %q: %w", computer, immy.ErrNotFound)
	}})
	agentID, _, _ = h.inProcess(endpoint.Config{InstallToken: h.token("acme")})
	res, err := h.srv.RunScript(t.Context(), immy.ScriptRequest{Computer: "pc-1", Script: immy.Script{Language: immy.LanguageShell, Body: "echo routed"}})
	require.NoError(t, err)
	require.Equal(t, "routed", res.Value)
	_, err = h.srv.RunScript(t.Context(), immy.ScriptRequest{Computer: "pc-2", Script: immy.Script{Language: immy.LanguageShell, Body: "true"}})
	require.ErrorIs(t, err, immy.ErrOffline)
	_, err = h.srv.RunScript(t.Context(), immy.ScriptRequest{Computer: "pc-3", Script: immy.Script{Language: immy.LanguageShell, Body: "true"}})
	require.ErrorIs(t, err, immy.ErrNotFound)
}

func TestRequestErrors(t *testing.T) {
	h := newHarness(t, agent.Config{})
	id, _, _ := h.inProcess(endpoint.Config{InstallToken: h.token("acme")})
	tests := []struct {
		name string
		req  immy.ScriptRequest
		is   error
		msg  string
	}{
		{"every problem at once", immy.ScriptRequest{Computer: id, Script: immy.Script{Context: immy.ContextCloud}, Timeout: -1},
			immy.ErrInvalid, "agent: a cloud script runs on the server, not on an agent: invalid\nagent: script language \"\": invalid\nagent: negative timeout -1ns: invalid"},
		{"a parameter that is no JSON", immy.ScriptRequest{Computer: id, Script: immy.Script{Language: immy.LanguageShell}, Parameters: map[string]any{"f": func() {}}},
			immy.ErrInvalid, `parameter "f" cannot be sent`},
		{"reported by the agent", immy.ScriptRequest{Computer: id, Script: immy.Script{Language: immy.LanguageShell}, Parameters: map[string]any{"bad name": 1}},
			immy.ErrInvalid, `agent: agent ` + id + `: script: parameter name "bad name"`},
		{"no interpreter on the agent", immy.ScriptRequest{Computer: id, Script: immy.Script{Language: immy.LanguageCmd, Body: "echo hi"}},
			agent.ErrUnavailable, "runs on Windows only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.srv.RunScript(t.Context(), tt.req)
			require.ErrorIs(t, err, tt.is)
			require.ErrorContains(t, err, tt.msg)
		})
	}
}

// A killed connection comes back by itself, with the same credential.
func TestReconnect(t *testing.T) {
	h := newHarness(t, agent.Config{})
	state := filepath.Join(t.TempDir(), "state.json")
	id, a, _ := h.inProcess(endpoint.Config{InstallToken: h.token("acme"), StateFile: state})
	require.Eventually(t, func() bool { return a.ID() == id }, 10*time.Second, 5*time.Millisecond)
	require.True(t, h.srv.Disconnect(id))
	h.waitStatus(id, offline)
	h.waitStatus(id, online)
	res, err := h.srv.RunScript(t.Context(), immy.ScriptRequest{Computer: id, Script: immy.Script{Language: immy.LanguageLua, Body: "return 'back'"}})
	require.NoError(t, err)
	require.Equal(t, "back", res.Value)
	require.Len(t, h.store.Records(), 1, "no second enrolment")
	st, err := endpoint.LoadState(state)
	require.NoError(t, err)
	require.Equal(t, id, st.AgentID)
	require.Equal(t, "acme", st.Tenant)
}

func TestEphemeralRelease(t *testing.T) {
	h := newHarness(t, agent.Config{})
	id, _, done := h.inProcess(endpoint.Config{InstallToken: h.token("acme"), Ephemeral: true, IdleTimeout: time.Hour})
	st, _ := h.srv.Status(id)
	require.True(t, st.Ephemeral)
	res, err := h.srv.RunScript(t.Context(), immy.ScriptRequest{Computer: id, Script: immy.Script{Language: immy.LanguageShell, Body: "echo one session"}})
	require.NoError(t, err)
	require.Equal(t, "one session", res.Value)
	require.Error(t, h.srv.Release("agt-missing"))
	require.NoError(t, h.srv.Release(id))
	select {
	case err := <-done:
		require.NoError(t, err, "a released agent ends without error")
	case <-time.After(20 * time.Second):
		t.Fatal("the released agent did not exit")
	}
	gone := h.waitStatus(id, offline)
	require.True(t, gone.Gone)
	require.Empty(t, h.store.Records(), "the server forgets an ephemeral agent that said bye")
}

func TestEphemeralIdle(t *testing.T) {
	h := newHarness(t, agent.Config{})
	_, _, done := h.inProcess(endpoint.Config{InstallToken: h.token("acme"), Ephemeral: true, IdleTimeout: 300 * time.Millisecond})
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(20 * time.Second):
		t.Fatal("the idle agent did not exit")
	}
	require.Empty(t, h.store.Records())
}

func TestRevoke(t *testing.T) {
	h := newHarness(t, agent.Config{})
	id, _, done := h.inProcess(endpoint.Config{InstallToken: h.token("acme")})
	require.NoError(t, h.srv.Revoke(t.Context(), id))
	select {
	case err := <-done:
		var re *endpoint.RefusedError
		require.ErrorAs(t, err, &re)
		require.Equal(t, wire.RefusedCredential, re.Code)
		require.ErrorContains(t, err, "not accepted: not enrolled (revoked or never enrolled)")
	case <-time.After(20 * time.Second):
		t.Fatal("the revoked agent did not stop")
	}
}

// Bad input is refused with a clear error, and the server keeps serving
// the agent that behaves.
func TestBadInput(t *testing.T) {
	h := newHarness(t, agent.Config{MaxMessageSize: 64 << 10, HelloTimeout: 300 * time.Millisecond})
	token := h.token("acme")
	good, _, _ := h.inProcess(endpoint.Config{InstallToken: token})
	stillServes := func(t *testing.T) {
		t.Helper()
		res, err := h.srv.RunScript(t.Context(), immy.ScriptRequest{Computer: good, Script: immy.Script{Language: immy.LanguageShell, Body: "echo still here"}})
		require.NoError(t, err)
		require.Equal(t, "still here", res.Value)
	}

	t.Run("wrong install token", func(t *testing.T) {
		a, err := endpoint.New(endpoint.Config{Server: h.url, TLS: h.tls, InstallToken: "immy1_not-a-token"})
		require.NoError(t, err)
		err = a.Run(t.Context())
		var re *endpoint.RefusedError
		require.ErrorAs(t, err, &re)
		require.Equal(t, wire.RefusedToken, re.Code)
		require.EqualError(t, err, "endpoint: refused by the server (install-token): install token not recognised (wrong, revoked or never issued)")
		stillServes(t)
	})
	t.Run("expired install token", func(t *testing.T) {
		tok, info, err := h.srv.CreateInstallToken(t.Context(), "acme", agent.TokenOptions{Expires: time.Now().Add(-time.Minute)})
		require.NoError(t, err)
		c := h.dialRaw()
		pubHello := &wire.Hello{InstallToken: tok, PublicKey: make([]byte, 32), Signature: make([]byte, 64)}
		c.write(wire.Message{Type: wire.TypeHello, Hello: pubHello})
		m := c.read()
		require.Equal(t, wire.TypeRefused, m.Type)
		require.Contains(t, m.Refused.Message, "install token "+info.ID+" expired at")
		stillServes(t)
	})
	t.Run("replayed credential", func(t *testing.T) {
		c1 := h.dialRaw()
		id, key := c1.enrol(token)
		c1.ws.Close(websocket.StatusNormalClosure, "")
		// A genuine hello, captured on the wire...
		c2 := h.dialRaw()
		hello := &wire.Hello{AgentID: id}
		wire.Sign(key, c2.nonce, hello)
		captured := c2.write(wire.Message{Type: wire.TypeHello, Hello: hello})
		require.Equal(t, wire.TypeWelcome, c2.read().Type)
		c2.ws.Close(websocket.StatusNormalClosure, "")
		// ...replayed on a new connection, whose challenge differs.
		c3 := h.dialRaw()
		require.NoError(t, c3.writeRaw(captured))
		m := c3.read()
		require.Equal(t, wire.TypeRefused, m.Type)
		require.Equal(t, wire.RefusedCredential, m.Refused.Code)
		require.Contains(t, m.Refused.Message, "not signed with its key for this connection's challenge (replayed, or another key)")
		ce := c3.closeStatus()
		require.Equal(t, websocket.StatusPolicyViolation, ce.Code)
		stillServes(t)
	})
	t.Run("oversize message", func(t *testing.T) {
		c := h.dialRaw()
		id, _ := c.enrol(token)
		h.waitStatus(id, online)
		big := fmt.Sprintf(`{"type":"bye","pad":"%s"}`, strings.Repeat("x", 70<<10))
		err := c.writeRaw([]byte(big))
		if err == nil {
			ce := c.closeStatus()
			require.Equal(t, websocket.StatusMessageTooBig, ce.Code)
			require.Equal(t, "message over the 65536-byte limit refused", ce.Reason)
		}
		h.waitStatus(id, offline)
		stillServes(t)
	})
	t.Run("malformed message", func(t *testing.T) {
		c := h.dialRaw()
		id, _ := c.enrol(token)
		require.NoError(t, c.writeRaw([]byte(`{"type":"result","id":7}`)))
		ce := c.closeStatus()
		require.Equal(t, websocket.StatusPolicyViolation, ce.Code)
		require.Equal(t, "wire: result message lacks its result payload", ce.Reason)
		h.waitStatus(id, offline)
		stillServes(t)
	})
	t.Run("a server's message from an agent", func(t *testing.T) {
		c := h.dialRaw()
		c.enrol(token)
		c.write(wire.Message{Type: wire.TypeRelease})
		ce := c.closeStatus()
		require.Equal(t, "unexpected release message from an agent", ce.Reason)
		stillServes(t)
	})
	t.Run("no hello", func(t *testing.T) {
		c := h.dialRaw()
		ce := c.closeStatus()
		require.Equal(t, websocket.StatusPolicyViolation, ce.Code)
		require.Equal(t, "no hello in time", ce.Reason)
		stillServes(t)
	})
	t.Run("not a hello first", func(t *testing.T) {
		c := h.dialRaw()
		c.write(wire.Message{Type: wire.TypeBye})
		m := c.read()
		require.Equal(t, wire.RefusedProtocol, m.Refused.Code)
		require.Equal(t, "the first message must be a hello, not bye", m.Refused.Message)
	})
	t.Run("enrolment signed with another key", func(t *testing.T) {
		c := h.dialRaw()
		_, other := (&rawClient{}).keys(t)
		pub, _ := (&rawClient{}).keys(t)
		hello := &wire.Hello{InstallToken: token, PublicKey: pub}
		wire.Sign(other, c.nonce, hello)
		c.write(wire.Message{Type: wire.TypeHello, Hello: hello})
		m := c.read()
		require.Equal(t, wire.RefusedCredential, m.Refused.Code)
	})
	require.Len(t, h.store.Records(), 5, "the good agent and the four raw ones that enrolled")
}
