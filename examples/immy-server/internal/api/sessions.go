package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/immyoss/engine/examples/immy-server/internal/auth"
	"github.com/immyoss/engine/examples/immy-server/internal/core"
	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/session"
)

// StartBody asks for a session of a computer, or a tenant (cloud task)
// session of a tenant: one of Computer and Tenant.
type StartBody struct {
	Computer string `json:"computer,omitempty"`
	// Tenant asks for the tenant's session: its cloud tasks run on the
	// server, bound to the tenant (session/tenant.go). A tenant-user asks
	// for its own tenant's only.
	Tenant string `json:"tenant,omitempty"`
	// Kind: full (default), detection-only, single-item or onboarding; a
	// tenant session is full or detection-only.
	Kind string `json:"kind,omitempty"`
	// Item is the one item of a single-item session.
	Item string `json:"item,omitempty"`
	// Offline: wait (default) or skip.
	Offline string `json:"offline,omitempty"`
	// Reboot: normal (default), suppress, prompt or force.
	Reboot string `json:"reboot,omitempty"`
}

var startKinds = map[string]session.Kind{
	"": session.FullMaintenance, "full": session.FullMaintenance, "detection-only": session.DetectionOnly,
	"single-item": session.SingleItem, "onboarding": session.OnboardingRun,
}

// computerTenant returns the tenant of a computer the token may see.
func (h *Handler) computerTenant(t auth.Token, id string) (string, bool) {
	f := h.c.Fleet.Fleet()
	for i := range f.Computers {
		if c := &f.Computers[i]; c.ID == id {
			return c.Tenant, visible(t, c.Tenant)
		}
	}
	return "", false
}

func (h *Handler) startSession(w http.ResponseWriter, r *http.Request) {
	var b StartBody
	if err := decode(r, &b); err != nil {
		h.fail(w, r, err)
		return
	}
	if b.Tenant != "" {
		h.startTenantSession(w, r, b)
		return
	}
	var fields []FieldError
	req := session.Request{Computer: b.Computer, Source: session.AdHoc, Notify: true}
	if b.Computer == "" {
		fields = append(fields, FieldError{Field: "computer", Message: "required (or tenant, for a tenant session)"})
	} else if _, ok := core.TenantOfSession(b.Computer); ok {
		// the engine would run it as that tenant's session, whatever
		// tenant a computer of that id is in
		h.fail(w, r, errInvalid(FieldError{Field: "computer", Message: fmt.Sprintf("%q names a tenant session: give tenant instead", b.Computer)}))
		return
	} else if _, ok := h.computerTenant(token(r), b.Computer); !ok {
		h.fail(w, r, errNotFound(fmt.Sprintf("computer %q", b.Computer)))
		return
	}
	k, ok := startKinds[b.Kind]
	if !ok {
		fields = append(fields, FieldError{Field: "kind", Message: fmt.Sprintf("unknown kind %q (want full, detection-only, single-item or onboarding)", b.Kind)})
	}
	req.Kind = k
	if k == session.SingleItem && b.Item == "" {
		fields = append(fields, FieldError{Field: "item", Message: "required for a single-item session"})
	}
	if k != session.SingleItem && b.Item != "" {
		fields = append(fields, FieldError{Field: "item", Message: "only a single-item session names an item"})
	}
	if k == session.OnboardingRun {
		req.Source = session.FromOnboarding
	}
	req.Item = b.Item
	if b.Offline != "" {
		if err := req.Offline.UnmarshalText([]byte(b.Offline)); err != nil {
			fields = append(fields, FieldError{Field: "offline", Message: "want wait or skip"})
		}
	}
	if b.Reboot != "" {
		if err := req.Reboot.UnmarshalText([]byte(b.Reboot)); err != nil {
			fields = append(fields, FieldError{Field: "reboot", Message: "want normal, suppress, prompt or force"})
		}
	}
	if len(fields) > 0 {
		h.fail(w, r, errInvalid(fields...))
		return
	}
	h.start(w, r, req)
}

// startTenantSession starts the tenant (cloud task) session of b.Tenant:
// full or detection-only, asking nobody before execution (a tenant is no
// computer: no notices, so no postponement), for a tenant the token may see.
func (h *Handler) startTenantSession(w http.ResponseWriter, r *http.Request, b StartBody) {
	if !h.tenantExists(token(r), b.Tenant) {
		h.fail(w, r, errNotFound(fmt.Sprintf("tenant %q", b.Tenant)))
		return
	}
	var fields []FieldError
	if b.Computer != "" {
		fields = append(fields, FieldError{Field: "computer", Message: "a session is of a computer or of a tenant, not both"})
	}
	k, ok := startKinds[b.Kind]
	if !ok || (k != session.FullMaintenance && k != session.DetectionOnly) {
		fields = append(fields, FieldError{Field: "kind", Message: fmt.Sprintf("a tenant session is full or detection-only, not %q", b.Kind)})
	}
	for _, f := range []struct{ name, v string }{{"item", b.Item}, {"offline", b.Offline}, {"reboot", b.Reboot}} {
		if f.v != "" {
			fields = append(fields, FieldError{Field: f.name, Message: "only a computer's session has it"})
		}
	}
	if len(fields) > 0 {
		h.fail(w, r, errInvalid(fields...))
		return
	}
	h.start(w, r, session.Request{Computer: session.TenantSession(b.Tenant), Kind: k, Source: session.AdHoc})
}

// tenantExists reports whether the tenant exists and the token may see it.
func (h *Handler) tenantExists(t auth.Token, id string) bool {
	if !visible(t, id) {
		return false
	}
	f := h.c.Fleet.Fleet()
	for i := range f.Tenants {
		if f.Tenants[i].ID == id {
			return true
		}
	}
	return false
}

func (h *Handler) start(w http.ResponseWriter, r *http.Request, req session.Request) {
	e, err := h.c.EngineFor(r.Context(), req.Computer)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	id, err := e.Start(r.Context(), req)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.cfg.Metrics.sessionStarted()
	h.log.Info("session started", "session", id, "computer", req.Computer, "kind", req.Kind.String(), "actor", token(r).Actor())
	rep, err := e.Journaled(r.Context(), id)
	if err != nil {
		rep = session.Report{ID: id, Computer: req.Computer, Request: req}
	}
	writeJSON(w, http.StatusCreated, shown(rep))
}

// shown is a report as the API writes it: a session without actions (yet)
// has an empty list, as the OpenAPI document says, never null.
func shown(rep session.Report) session.Report {
	if rep.Actions == nil {
		rep.Actions = []session.Action{}
	}
	return rep
}

// session returns a session's report if the token may see its computer.
func (h *Handler) session(r *http.Request, id string) (session.Report, error) {
	e, err := h.c.Engine(r.Context())
	if err != nil {
		return session.Report{}, err
	}
	rep, err := e.Journaled(r.Context(), id)
	if errors.Is(err, immy.ErrNotFound) {
		return rep, errNotFound(fmt.Sprintf("session %q", id))
	}
	if err != nil {
		return rep, err
	}
	if tok := token(r); tok.Role == auth.TenantUser {
		tenant, err := h.sessionTenant(r.Context(), rep.ID, rep.Computer)
		if err != nil {
			return session.Report{}, err
		}
		if !visible(tok, tenant) {
			return session.Report{}, errNotFound(fmt.Sprintf("session %q", id))
		}
	}
	return rep, nil
}

// sessionTenant is the tenant a session ran under, as the journal noted it
// when the session was created; for a session older than that note, its
// computer's tenant now.
func (h *Handler) sessionTenant(ctx context.Context, id, computer string) (string, error) {
	if tenant, ok := core.TenantOfSession(computer); ok {
		return tenant, nil // a tenant session is its tenant's, always
	}
	tenant, ok, err := h.c.Journal.SessionTenant(ctx, id)
	if err != nil || ok {
		return tenant, err
	}
	tenant, _ = h.computerTenant(auth.Token{}, computer)
	return tenant, nil
}

func (h *Handler) getSession(w http.ResponseWriter, r *http.Request) {
	rep, err := h.session(r, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, shown(rep))
}

func (h *Handler) listSessions(w http.ResponseWriter, r *http.Request) {
	offset, limit, err := paging(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	tok := token(r)
	q := r.URL.Query()
	sq := core.SessionQuery{Offset: offset, Limit: limit}
	tenant := q.Get("tenant")
	if tok.Role == auth.TenantUser && tenant == "" {
		tenant = tok.Tenant
	}
	if tenant != "" {
		// sessions are the tenant's they ran under, wherever their
		// computer is now
		sq.Scoped, sq.Tenant = true, tenant
		if !visible(tok, tenant) {
			sq.Computers = []string{}
		}
		f := h.c.Fleet.Fleet()
		for i := range f.Computers {
			if c := &f.Computers[i]; c.Tenant == tenant {
				sq.Legacy = append(sq.Legacy, c.ID)
			}
		}
	}
	if c := q.Get("computer"); c != "" && sq.Computers == nil {
		sq.Computers = []string{c}
	}
	status := q.Get("status")
	if status != "" {
		var st session.Status
		if err := st.UnmarshalText([]byte(status)); err != nil {
			h.fail(w, r, errInvalid(FieldError{Field: "status", Message: err.Error()}))
			return
		}
	}
	sq.Status = status
	rows, err := h.c.Journal.SessionsOf(r.Context(), sq)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"offset": offset, "limit": limit, "items": nonNil(rows)})
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func (h *Handler) cancelSession(w http.ResponseWriter, r *http.Request) {
	rep, err := h.session(r, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	e, err := h.c.Engine(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if err := e.Cancel(rep.ID); err != nil {
		h.fail(w, r, err)
		return
	}
	h.log.Info("session cancelled", "session", rep.ID, "actor", token(r).Actor())
	writeJSON(w, http.StatusAccepted, map[string]string{"session": rep.ID, "status": "cancelling"})
}

// PostponeBody says until when.
type PostponeBody struct {
	Until time.Time `json:"until,omitzero"`
}

func (h *Handler) postponeSession(w http.ResponseWriter, r *http.Request) {
	rep, err := h.session(r, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var b PostponeBody
	if r.ContentLength != 0 {
		if err := decode(r, &b); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	switch {
	case isTenantSession(rep.Computer):
		h.fail(w, r, errInvalid(FieldError{Field: "session", ID: rep.ID, Message: "a tenant session asks nobody before execution, so it is not postponed: cancel it instead"}))
		return
	case rep.Status.Final():
		writeJSON(w, http.StatusConflict, &Error{Code: "ended", Message: "the session has ended"})
		return
	case rep.Stage == session.StageExecution || rep.Stage == session.StageReboot:
		writeJSON(w, http.StatusConflict, &Error{Code: "executing", Message: "the session is past the point it can be postponed: cancel it instead"})
		return
	case !b.Until.IsZero() && !b.Until.After(time.Now()):
		h.fail(w, r, errInvalid(FieldError{Field: "until", Message: "must be in the future"}))
		return
	}
	if err := h.c.Postpone(r.Context(), rep.ID, b.Until); err != nil {
		if errors.Is(err, core.ErrSessionEnded) { // it ended since it was read
			writeJSON(w, http.StatusConflict, &Error{Code: "ended", Message: "the session has ended"})
			return
		}
		h.fail(w, r, err)
		return
	}
	h.log.Info("session postponement asked", "session", rep.ID, "until", b.Until, "actor", token(r).Actor())
	writeJSON(w, http.StatusAccepted, map[string]any{"session": rep.ID, "postpone": "before execution"})
}

// RerunBody names the action of an earlier session to run again.
type RerunBody struct {
	// Action is the index of the action in the session's report.
	Action int `json:"action"`
}

func (h *Handler) rerunAction(w http.ResponseWriter, r *http.Request) {
	rep, err := h.session(r, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if isTenantSession(rep.Computer) {
		h.fail(w, r, errInvalid(FieldError{Field: "session", ID: rep.ID, Message: "a tenant session's action is not run again alone: start a tenant session"}))
		return
	}
	if _, ok := h.computerTenant(token(r), rep.Computer); !ok && token(r).Role == auth.TenantUser {
		// a session of the tenant's, but its computer has moved on
		h.fail(w, r, errNotFound(fmt.Sprintf("computer %q", rep.Computer)))
		return
	}
	var b RerunBody
	if err := decode(r, &b); err != nil {
		h.fail(w, r, err)
		return
	}
	if b.Action < 0 || b.Action >= len(rep.Actions) {
		h.fail(w, r, errInvalid(FieldError{Field: "action", Message: fmt.Sprintf("the session has actions 0 to %d", len(rep.Actions)-1)}))
		return
	}
	planned := rep.Actions[b.Action].Planned
	h.start(w, r, session.Request{Computer: rep.Computer, Kind: session.RerunAction, Source: session.AdHoc, Rerun: &planned, Notify: true})
}

func isTenantSession(computer string) bool {
	_, ok := core.TenantOfSession(computer)
	return ok
}
