package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/immyoss/engine/agent"
	"github.com/immyoss/engine/examples/immy-server/internal/auth"
	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/session/fleetstore"
)

// audit answers a page of the audit log: one tenant's (?tenant=; a
// tenant-user's own by default), or one entity's (?kind=&id=).
func (h *Handler) audit(w http.ResponseWriter, r *http.Request) {
	tok := token(r)
	q := r.URL.Query()
	after := int64(0)
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			h.fail(w, r, errInvalid(FieldError{Field: "after", Message: "the seq of the last entry read"}))
			return
		}
		after = n
	}
	_, limit, err := paging(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	page := fleetstore.Page{After: after, Limit: limit}
	tenant, kind, id := q.Get("tenant"), q.Get("kind"), q.Get("id")
	if tok.Role == auth.TenantUser {
		if tenant == "" {
			tenant = tok.Tenant
		}
		if tenant != tok.Tenant || kind != "" || id != "" {
			h.fail(w, r, errNotFound("audit log"))
			return
		}
	}
	var entries []fleetstore.Entry
	switch {
	case kind != "" || id != "":
		k, ok := kindOf(kind)
		if !ok || id == "" {
			h.fail(w, r, errInvalid(FieldError{Field: "kind", Message: "kind and id name one entity"}))
			return
		}
		entries, err = h.c.Fleet.EntityLog(r.Context(), k, id, page)
	case tenant != "":
		entries, err = h.c.Fleet.TenantLog(r.Context(), tenant, page)
	default:
		h.fail(w, r, errInvalid(FieldError{Field: "tenant", Message: "name a tenant, or an entity with kind and id"}))
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if tok.Role == auth.TenantUser {
		// A tenant's log holds the entries of what moved in or out: its
		// user sees only the side that was its tenant's.
		for i := range entries {
			if entries[i].Tenant != tok.Tenant {
				entries[i].After = nil
			}
			if entries[i].TenantBefore != tok.Tenant {
				entries[i].Before = nil
			}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": nonNil(entries)})
}

// InstallTokenBody asks for an install token.
type InstallTokenBody struct {
	Tenant  string    `json:"tenant"`
	Expires time.Time `json:"expires,omitzero"`
	Never   bool      `json:"never,omitempty"`
	MaxUses int       `json:"max_uses,omitempty"`
}

// InstallTokenReply is a new install token: shown once.
type InstallTokenReply struct {
	Token   string             `json:"token"`
	Info    agent.InstallToken `json:"info"`
	Command string             `json:"command"`
}

func (h *Handler) createInstallToken(w http.ResponseWriter, r *http.Request) {
	var b InstallTokenBody
	if err := decode(r, &b); err != nil {
		h.fail(w, r, err)
		return
	}
	var fields []FieldError
	if b.Tenant == "" {
		fields = append(fields, FieldError{Field: "tenant", Message: "required"})
	} else if !h.hasTenant(b.Tenant) {
		fields = append(fields, FieldError{Field: "tenant", Message: fmt.Sprintf("no tenant %q", b.Tenant)})
	}
	if b.Never && !b.Expires.IsZero() {
		fields = append(fields, FieldError{Field: "expires", Message: "a token that never expires has no expiry"})
	}
	if !b.Expires.IsZero() && !b.Expires.After(time.Now()) {
		fields = append(fields, FieldError{Field: "expires", Message: "must be in the future"})
	}
	if b.MaxUses < 0 {
		fields = append(fields, FieldError{Field: "max_uses", Message: "0 (no limit) or more"})
	}
	if len(fields) > 0 {
		h.fail(w, r, errInvalid(fields...))
		return
	}
	tok, info, err := h.c.Agents.CreateInstallToken(r.Context(), b.Tenant, agent.TokenOptions{Expires: b.Expires, Never: b.Never, MaxUses: b.MaxUses})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.log.Info("install token created", "id", info.ID, "tenant", b.Tenant, "actor", token(r).Actor())
	writeJSON(w, http.StatusCreated, InstallTokenReply{Token: tok, Info: info,
		Command: fmt.Sprintf("immy-agent --server %s --token %s", agentURL(h.cfg.PublicURL), tok)})
}

func agentURL(public string) string {
	if len(public) > 8 && public[:8] == "https://" {
		return "wss://" + public[8:] + "/agent"
	}
	return public + "/agent"
}

func (h *Handler) hasTenant(id string) bool {
	for _, t := range h.c.Fleet.Fleet().Tenants {
		if t.ID == id {
			return true
		}
	}
	return false
}

func (h *Handler) listInstallTokens(w http.ResponseWriter, r *http.Request) {
	toks, err := h.c.Tokens.Tokens(r.Context(), r.URL.Query().Get("tenant"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	type item struct {
		ID      string    `json:"id"`
		Tenant  string    `json:"tenant"`
		Created time.Time `json:"created"`
		Expires time.Time `json:"expires,omitzero"`
		MaxUses int       `json:"max_uses,omitempty"`
		Uses    int       `json:"uses"`
	}
	out := []item{}
	for _, t := range toks {
		out = append(out, item{ID: t.ID, Tenant: t.Tenant, Created: t.Created, Expires: t.Expires, MaxUses: t.MaxUses, Uses: t.Uses})
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": out})
}

func (h *Handler) revokeInstallToken(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := h.c.Agents.RevokeInstallToken(r.Context(), id); err != nil {
		h.fail(w, r, err)
		return
	}
	h.log.Info("install token revoked", "id", id, "actor", token(r).Actor())
	writeJSON(w, http.StatusOK, map[string]string{"revoked": id})
}

// APITokenBody asks for an API token.
type APITokenBody struct {
	Name    string    `json:"name"`
	Role    auth.Role `json:"role"`
	Tenant  string    `json:"tenant,omitempty"`
	Expires time.Time `json:"expires,omitzero"`
}

func (h *Handler) createAPIToken(w http.ResponseWriter, r *http.Request) {
	var b APITokenBody
	if err := decode(r, &b); err != nil {
		h.fail(w, r, err)
		return
	}
	if b.Tenant != "" && !h.hasTenant(b.Tenant) {
		h.fail(w, r, errInvalid(FieldError{Field: "tenant", Message: fmt.Sprintf("no tenant %q", b.Tenant)}))
		return
	}
	secret, t, err := h.cfg.Tokens.Create(r.Context(), b.Name, b.Role, b.Tenant, b.Expires)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.log.Info("API token created", "id", t.ID, "role", t.Role, "tenant", t.Tenant, "actor", token(r).Actor())
	writeJSON(w, http.StatusCreated, map[string]any{"token": secret, "info": t})
}

func (h *Handler) listAPITokens(w http.ResponseWriter, r *http.Request) {
	ts, err := h.cfg.Tokens.List(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": nonNil(ts)})
}

func (h *Handler) revokeAPIToken(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := h.cfg.Tokens.Revoke(r.Context(), id); err != nil {
		h.fail(w, r, err)
		return
	}
	h.log.Info("API token revoked", "id", id, "actor", token(r).Actor())
	writeJSON(w, http.StatusOK, map[string]string{"revoked": id})
}

func (h *Handler) listPlugins(w http.ResponseWriter, r *http.Request) {
	var out []PluginInstance
	if h.cfg.Plugins != nil {
		out = h.cfg.Plugins.Instances(r.Context())
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": nonNil(out)})
}

func (h *Handler) restartPlugin(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if h.cfg.Plugins == nil {
		h.fail(w, r, errNotFound("plugin instance "+name))
		return
	}
	pi, err := h.cfg.Plugins.Restart(r.Context(), name)
	switch {
	case errors.Is(err, immy.ErrNotFound):
		h.fail(w, r, errNotFound("plugin instance "+name))
		return
	case err != nil:
		// the plugin's own words may echo its settings: they stay in the log
		h.log.Error("plugin instance not restarted", "plugin", name, "err", err, "actor", token(r).Actor())
		writeJSON(w, http.StatusServiceUnavailable, &Error{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Message: "the plugin instance did not start again: see the server's log"})
		return
	}
	h.log.Info("plugin instance restarted", "plugin", name, "actor", token(r).Actor())
	writeJSON(w, http.StatusOK, pi)
}

// AgentInfo is a connected agent as the API shows it.
type AgentInfo struct {
	ID       string    `json:"id"`
	Tenant   string    `json:"tenant"`
	Online   bool      `json:"online"`
	LastSeen time.Time `json:"last_seen,omitzero"`
	Version  string    `json:"version,omitempty"`
	OS       string    `json:"os,omitempty"`
	Hostname string    `json:"hostname,omitempty"`
}

func (h *Handler) listAgents(w http.ResponseWriter, r *http.Request) {
	tok := token(r)
	out := []AgentInfo{}
	for _, s := range h.c.Agents.Agents() {
		if !visible(tok, s.Tenant) {
			continue
		}
		out = append(out, AgentInfo{ID: s.AgentID, Tenant: s.Tenant, Online: s.Online, LastSeen: s.LastSeen,
			Version: s.Version, OS: s.OS, Hostname: s.Identity.Hostname})
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": out})
}

func (h *Handler) actions(w http.ResponseWriter, r *http.Request) {
	after := int64(0)
	if v := r.URL.Query().Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			h.fail(w, r, errInvalid(FieldError{Field: "after", Message: "the seq of the last entry read"}))
			return
		}
		after = n
	}
	_, limit, err := paging(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	as, err := h.cfg.Tokens.Actions(r.Context(), after, limit)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": nonNil(as)})
}
