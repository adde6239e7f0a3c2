package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/immyoss/engine/examples/immy-server/internal/auth"
	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/resolver"
	"github.com/immyoss/engine/session/fleetstore"
)

var planKinds = map[string]resolver.SessionKind{
	"": resolver.FullMaintenance, "full": resolver.FullMaintenance, "onboarding": resolver.OnboardingSession,
}

// PlanReply is a computer's plan (the what-if from its inventory as the
// fleet store holds it): each decision with its winner and every losing
// candidate with the rule it lost on, and the actions; with ?explain=ITEM
// the item's whole explanation (every candidate with the values ranked, the
// deployments that took no part and why, what detection matched).
type PlanReply struct {
	Revision    int64                 `json:"revision"`
	Plan        json.RawMessage       `json:"plan"`
	Explanation *resolver.Explanation `json:"explanation,omitempty"`
}

func (h *Handler) computerPlan(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, ok := h.computerTenant(token(r), id); !ok {
		h.fail(w, r, errNotFound(fmt.Sprintf("computer %q", id)))
		return
	}
	k, ok := planKinds[r.URL.Query().Get("kind")]
	if !ok {
		h.fail(w, r, errInvalid(FieldError{Field: "kind", Message: "want full or onboarding"}))
		return
	}
	rev := h.c.Fleet.Revision()
	p, _, err := h.c.Planner(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	s := resolver.Session{Kind: k}
	start := time.Now()
	cp, err := p.PlanComputer(r.Context(), id, s, nil)
	h.cfg.Metrics.planned(time.Since(start))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	b, err := json.Marshal(cp)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := PlanReply{Revision: rev, Plan: b}
	if item := r.URL.Query().Get("explain"); item != "" {
		tok := token(r)
		f := h.c.Fleet.Fleet()
		if !itemVisible(f, tok, item) { // answered as an unknown item
			h.fail(w, r, fmt.Errorf("resolver: unknown item %q: %w", item, immy.ErrNotFound))
			return
		}
		ex, err := p.Explain(r.Context(), id, item, s)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		out.Explanation = scopeExplanation(f, tok, ex)
	}
	writeJSON(w, http.StatusOK, out)
}

// ChangeBody is a change set: operations applied as one transaction
// against a revision.
type ChangeBody struct {
	Revision *int64     `json:"revision"`
	Ops      []ChangeOp `json:"ops"`
}

// ChangeOp puts (creates or replaces) or deletes one entity.
type ChangeOp struct {
	Op   string          `json:"op"`   // put or delete
	Kind string          `json:"kind"` // tenant, computer, person, group, software, task, deployment, schedule
	ID   string          `json:"id,omitempty"`
	Data json.RawMessage `json:"data,omitempty"`
}

// ChangeReply is what a change set did, or (dry_run) would do.
type ChangeReply struct {
	DryRun   bool               `json:"dry_run"`
	Revision int64              `json:"revision"`
	Diff     *resolver.PlanDiff `json:"diff,omitempty"`
}

const maxOps = 1000

func (h *Handler) changes(w http.ResponseWriter, r *http.Request) {
	var b ChangeBody
	if err := decode(r, &b); err != nil {
		h.fail(w, r, err)
		return
	}
	dry := r.URL.Query().Get("dry_run")
	if dry != "" && dry != "true" && dry != "false" {
		h.fail(w, r, errInvalid(FieldError{Field: "dry_run", Message: "true or false"}))
		return
	}
	var fields []FieldError
	if b.Revision == nil {
		fields = append(fields, FieldError{Field: "revision", Message: "required: the revision the change was made against"})
	}
	if len(b.Ops) == 0 || len(b.Ops) > maxOps {
		fields = append(fields, FieldError{Field: "ops", Message: fmt.Sprintf("1 to %d operations", maxOps)})
	}
	var ops []fleetstore.Op
	for i, o := range b.Ops {
		at := fmt.Sprintf("ops[%d]", i)
		k, ok := kindOf(o.Kind)
		if !ok {
			fields = append(fields, FieldError{Field: at + ".kind", Message: fmt.Sprintf("unknown kind %q", o.Kind)})
			continue
		}
		switch o.Op {
		case "delete":
			if o.ID == "" {
				fields = append(fields, FieldError{Field: at + ".id", Message: "required for a delete"})
				continue
			}
			ops = append(ops, fleetstore.Delete(k, o.ID))
		case "put":
			op, _, err := h.entityOp(k, o.Data, o.ID)
			if err != nil {
				for _, fe := range toError(err).Fields {
					fe.Field = at + "." + fe.Field
					fields = append(fields, fe)
				}
				continue
			}
			ops = append(ops, op)
		default:
			fields = append(fields, FieldError{Field: at + ".op", Message: fmt.Sprintf("unknown op %q (want put or delete)", o.Op)})
		}
	}
	if len(fields) > 0 {
		h.fail(w, r, errInvalid(fields...))
		return
	}
	ch := fleetstore.Change{Base: *b.Revision, Actor: token(r).Actor(), Ops: ops}
	if dry == "true" {
		f := h.c.Fleet.Fleet()
		diff, err := h.c.Fleet.Preview(r.Context(), ch, resolver.Config{At: f.At}, resolver.Session{})
		if err != nil {
			h.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, ChangeReply{DryRun: true, Revision: h.c.Fleet.Revision(), Diff: &diff})
		return
	}
	rev, err := h.c.Fleet.Apply(r.Context(), ch)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ChangeReply{Revision: rev})
}

func kindOf(s string) (fleetstore.Kind, bool) {
	for _, k := range kinds {
		if string(k.kind) == s {
			return k.kind, true
		}
	}
	if s == string(fleetstore.KindAgreement) {
		return fleetstore.KindAgreement, true
	}
	return "", false
}

// itemVisible reports whether the token may see a catalogue item: any role
// sees every item but another tenant's private one (a tenant-user is told
// such an item does not exist, as for an unknown one).
func itemVisible(f *immy.Fleet, t auth.Token, item string) bool {
	for i := range f.Software {
		if f.Software[i].ID == item {
			return deploymentVisible(t, f.Software[i].Tenant)
		}
	}
	for i := range f.Tasks {
		if f.Tasks[i].ID == item {
			return deploymentVisible(t, f.Tasks[i].Tenant)
		}
	}
	return true
}

// deploymentVisible reports whether a tenant-user may see a deployment (or
// a private item) of tenant: an MSP-wide one ("") or its own tenant's.
// Other roles see all.
func deploymentVisible(t auth.Token, tenant string) bool {
	return tenant == "" || visible(t, tenant)
}

// scopeExplanation cuts an explanation down to what the token may see: for
// a tenant-user, the deployments of other tenants that take no part are
// left out, and any text that names another tenant is replaced by a
// generic one. The candidates (and the problems, which are about
// candidates) select the computer, which is the tenant's, and stay.
func scopeExplanation(f *immy.Fleet, t auth.Token, ex *resolver.Explanation) *resolver.Explanation {
	if t.Role != auth.TenantUser || ex == nil {
		return ex
	}
	tenantOf := make(map[string]string, len(f.Deployments))
	for i := range f.Deployments {
		tenantOf[f.Deployments[i].ID] = f.Deployments[i].Target.Tenant
	}
	selects := map[string]bool{}
	for _, c := range ex.Candidates {
		selects[c.Deployment] = true
	}
	for _, p := range ex.Problems {
		selects[p.Deployment] = true
	}
	var others []string // other tenants' ids and names, lower case
	for i := range f.Tenants {
		if tn := &f.Tenants[i]; tn.ID != t.Tenant {
			others = append(others, strings.ToLower(tn.ID))
			if tn.Name != "" {
				others = append(others, strings.ToLower(tn.Name))
			}
		}
	}
	out := *ex
	out.NotCandidates = []resolver.NotCandidate{}
	for _, nc := range ex.NotCandidates {
		tenant, known := tenantOf[nc.Deployment]
		if !known || (!selects[nc.Deployment] && !deploymentVisible(t, tenant)) {
			continue
		}
		if namesAny(nc.Why, others) {
			nc.Why = "its target does not select the computer"
		}
		out.NotCandidates = append(out.NotCandidates, nc)
	}
	if len(ex.Problems) > 0 {
		out.Problems = make([]resolver.Problem, len(ex.Problems))
		for i, p := range ex.Problems {
			if namesAny(p.Message, others) {
				p.Message = "a filter failed on the computer"
			}
			out.Problems[i] = p
		}
	}
	return &out
}

// namesAny reports whether text names any of words (lower case) as a whole
// word: not part of a longer id (letters, digits, '-', '_').
func namesAny(text string, words []string) bool {
	lower := strings.ToLower(text)
	for _, w := range words {
		for at := 0; ; {
			i := strings.Index(lower[at:], w)
			if i < 0 {
				break
			}
			i += at
			end := i + len(w)
			if (i == 0 || !idByte(lower[i-1])) && (end == len(lower) || !idByte(lower[end])) {
				return true
			}
			at = i + 1
		}
	}
	return false
}

func idByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '-' || b == '_'
}
