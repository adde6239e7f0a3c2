package agent

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/coder/websocket"

	"github.com/immyoss/engine/agent/internal/wire"
	"github.com/immyoss/engine/immy"
)

// RefusedError is why the server turned an agent away.
type RefusedError struct {
	Code    string // one of the wire's refusal codes: install-token, credential, unknown-agent, protocol, internal-error
	Message string
}

func (e *RefusedError) Error() string { return "agent: refused (" + e.Code + "): " + e.Message }

// handshake sends the challenge, reads and checks the hello, and answers
// welcome or refused.
func (s *Server) handshake(ws *websocket.Conn, remote string) (*conn, error) {
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.HelloTimeout)
	defer cancel()
	nonce := make([]byte, wire.NonceSize)
	rand.Read(nonce)
	if err := writeMessage(ctx, ws, wire.Message{Type: wire.TypeChallenge, Challenge: &wire.Challenge{Nonce: nonce}}); err != nil {
		ws.CloseNow()
		return nil, fmt.Errorf("agent: send challenge: %w", err)
	}
	// A read whose context ends drops the connection without a word; a
	// timer closes it properly instead.
	late := time.AfterFunc(s.cfg.HelloTimeout, func() { ws.Close(websocket.StatusPolicyViolation, "no hello in time") })
	m, err := readMessage(s.ctx, ws, preAuthLimit)
	if !late.Stop() {
		return nil, fmt.Errorf("agent: no hello within %s", s.cfg.HelloTimeout)
	}
	if err != nil {
		return nil, err
	}
	refuse := func(code, format string, args ...any) (*conn, error) {
		e := &RefusedError{Code: code, Message: fmt.Sprintf(format, args...)}
		writeMessage(ctx, ws, wire.Message{Type: wire.TypeRefused, Refused: &wire.Refused{Code: e.Code, Message: e.Message}})
		ws.Close(websocket.StatusPolicyViolation, closeReason("refused: "+e.Message))
		return nil, e
	}
	if m.Type != wire.TypeHello {
		return refuse(wire.RefusedProtocol, "the first message must be a hello, not %s", m.Type)
	}
	h := m.Hello
	id, err := h.Identity.Immy()
	if err != nil {
		return refuse(wire.RefusedProtocol, "%v", err)
	}
	var rec Record
	enrolled := false
	if h.AgentID == "" {
		tok, err := s.cfg.Tokens.TokenByHash(ctx, sha256.Sum256([]byte(h.InstallToken)))
		switch {
		case errors.Is(err, immy.ErrNotFound):
			return refuse(wire.RefusedToken, "install token not recognised (wrong, revoked or never issued)")
		case err != nil:
			s.log.Error("install token lookup failed", "err", err)
			return refuse(wire.RefusedInternal, "the server could not check the install token; try again later")
		}
		if why := tok.usable(s.cfg.Now()); why != "" {
			return refuse(wire.RefusedToken, "%s", why)
		}
		if !wire.Verify(h.PublicKey, nonce, h) {
			return refuse(wire.RefusedCredential, "enrolment signature does not verify against the enrolling key")
		}
		ok, err := s.useToken(ctx, tok)
		switch {
		case errors.Is(err, immy.ErrNotFound):
			return refuse(wire.RefusedToken, "install token not recognised (wrong, revoked or never issued)")
		case err != nil:
			s.log.Error("counting an install token's use failed", "token", tok.ID, "err", err)
			return refuse(wire.RefusedInternal, "the server could not check the install token; try again later")
		case !ok:
			return refuse(wire.RefusedToken, "install token %s has been used %d of %d times", tok.ID, tok.MaxUses, tok.MaxUses)
		}
		rec = Record{ID: "agt-" + randomHex(12), Tenant: tok.Tenant, PublicKey: h.PublicKey, TokenID: tok.ID, Ephemeral: h.Ephemeral, EnrolledAt: s.cfg.Now().UTC()}
		if err := s.cfg.Agents.PutAgent(ctx, rec); err != nil {
			s.log.Error("storing an enrolled agent failed", "err", err)
			return refuse(wire.RefusedInternal, "the server could not store the enrolment; try again later")
		}
		enrolled = true
		s.log.Info("agent enrolled", "agent", rec.ID, "tenant", rec.Tenant, "token", tok.ID, "ephemeral", rec.Ephemeral, "remote", remote)
	} else {
		rec, err = s.cfg.Agents.Agent(ctx, h.AgentID)
		known := err == nil
		switch {
		case errors.Is(err, immy.ErrNotFound):
		case err != nil:
			s.log.Error("agent lookup failed", "err", err)
			return refuse(wire.RefusedInternal, "the server could not look the agent up; try again later")
		}
		// An unknown id is checked against a key of no agent, so that the
		// refusal of an unknown agent and of a known one with a wrong
		// signature read the same and take the same time: the refusal does
		// not tell which agent ids exist.
		key := rec.PublicKey
		if !known || len(key) != ed25519.PublicKeySize {
			key = noAgentKey
		}
		if !wire.Verify(key, nonce, h) || !known {
			s.log.Info("agent credential refused", "agent", h.AgentID, "known", known, "remote", remote)
			return refuse(wire.RefusedCredential, "agent %q not accepted: not enrolled (revoked or never enrolled), or the hello is not signed with its key for this connection's challenge (replayed, or another key); enrol it again with an install token", h.AgentID)
		}
	}
	welcome := wire.Message{Type: wire.TypeWelcome, Welcome: &wire.Welcome{AgentID: rec.ID, Tenant: rec.Tenant, Enrolled: enrolled, MaxMessage: s.cfg.MaxMessageSize}}
	if err := writeMessage(ctx, ws, welcome); err != nil {
		ws.CloseNow()
		return nil, fmt.Errorf("agent: send welcome: %w", err)
	}
	c := &conn{s: s, ws: ws, id: rec.ID, tenant: rec.Tenant, ephemeral: rec.Ephemeral, pending: map[uint64]*pending{}}
	c.ctx, c.cancel = context.WithCancel(s.ctx)
	now := s.cfg.Now().UTC()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ws.Close(websocket.StatusGoingAway, "server shutting down")
		return nil, ErrClosed
	}
	old := s.conns[rec.ID]
	s.conns[rec.ID] = c
	st := &Status{
		AgentID: rec.ID, Tenant: rec.Tenant, Online: true, Ephemeral: rec.Ephemeral, TokenID: rec.TokenID, ConnectedAt: now, LastSeen: now,
		RemoteAddr: remote, Version: h.Version, OS: h.OS, Arch: h.Arch, Identity: id,
	}
	s.status[rec.ID] = st
	snapshot := *st
	s.mu.Unlock()
	if old != nil {
		old.close(CloseReplaced, "replaced by a newer connection of the same agent")
	}
	s.log.Info("agent online", "agent", rec.ID, "tenant", rec.Tenant, "remote", remote, "version", h.Version)
	s.notify(snapshot)
	return c, nil
}

func (s *Server) notify(st Status) {
	if s.cfg.OnStatus == nil {
		return
	}
	s.notifyMu.Lock()
	defer s.notifyMu.Unlock()
	s.cfg.OnStatus(st)
}

// noAgentKey is the public key an unknown agent id is checked against: the
// key of a private key nobody keeps.
var noAgentKey = func() ed25519.PublicKey {
	seed := make([]byte, ed25519.SeedSize)
	rand.Read(seed)
	return ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
}()
