package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/immyoss/engine/examples/immy-server/internal/auth"
	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/session/fleetstore"
)

// kinds are the fleet's entities the API serves, by path.
var kinds = []struct {
	path string
	kind fleetstore.Kind
	// tenantRead: a tenant-user reads its tenant's entities of this kind
	tenantRead bool
}{
	{"tenants", fleetstore.KindTenant, true},
	{"computers", fleetstore.KindComputer, true},
	{"persons", fleetstore.KindPerson, true},
	{"groups", fleetstore.KindGroup, false},
	{"software", fleetstore.KindSoftware, false},
	{"tasks", fleetstore.KindTask, false},
	{"deployments", fleetstore.KindDeployment, false},
	{"schedules", fleetstore.KindSchedule, false},
}

// Envelope is one entity with the revision it was read at: send the
// revision back with an update, which is refused (409) if the entity changed
// since.
type Envelope struct {
	Revision int64           `json:"revision"`
	Data     json.RawMessage `json:"data"`
	// Inventory is a computer's: what agents and sessions found on it.
	Inventory *Inventory `json:"inventory,omitempty"`
}

// Inventory is what agents and sessions found on a computer.
type Inventory struct {
	OS       string            `json:"os,omitempty"`
	Online   bool              `json:"online"`
	LastSeen time.Time         `json:"last_seen,omitzero"`
	UPNs     []string          `json:"upns,omitempty"`
	Software []DetectedSW      `json:"software,omitempty"`
	Tasks    map[string]bool   `json:"tasks,omitempty"`
	Agent    map[string]string `json:"agent,omitempty"`
}

// DetectedSW is one entry of a computer's software inventory.
type DetectedSW struct {
	Name      string `json:"name"`
	Version   string `json:"version,omitempty"`
	Publisher string `json:"publisher,omitempty"`
}

// List is a page of entities.
type List struct {
	Revision int64      `json:"revision"`
	Total    int        `json:"total"`
	Offset   int        `json:"offset"`
	Limit    int        `json:"limit"`
	Items    []Envelope `json:"items"`
}

func paging(r *http.Request) (offset, limit int, err error) {
	var fields []FieldError
	limit = 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, e := strconv.Atoi(v)
		if e != nil || n < 1 || n > 1000 {
			fields = append(fields, FieldError{Field: "limit", Message: "a number from 1 to 1000"})
		}
		limit = n
	}
	if v := r.URL.Query().Get("offset"); v != "" {
		n, e := strconv.Atoi(v)
		if e != nil || n < 0 {
			fields = append(fields, FieldError{Field: "offset", Message: "a number, 0 or more"})
		}
		offset = n
	}
	if len(fields) > 0 {
		return 0, 0, errInvalid(fields...)
	}
	return offset, limit, nil
}

// visible reports whether the token may see an entity of tenant.
func visible(t auth.Token, tenant string) bool {
	return t.Role != auth.TenantUser || tenant == t.Tenant
}

func (h *Handler) inventoryOf(f *immy.Fleet, id string) *Inventory {
	for i := range f.Computers {
		c := &f.Computers[i]
		if c.ID != id {
			continue
		}
		inv := &Inventory{OS: c.OS, Online: c.Online, UPNs: c.UPNs, Tasks: c.Tasks}
		if t, ok := h.c.Fleet.LastSeen(id); ok {
			inv.LastSeen = t
		}
		for _, s := range c.Software {
			inv.Software = append(inv.Software, DetectedSW{Name: s.Name, Version: s.Version.String(), Publisher: s.Publisher})
		}
		if st, ok := h.c.Agents.Status(id); ok {
			inv.Online = st.Online
			inv.Agent = map[string]string{"version": st.Version, "os": st.OS, "arch": st.Arch}
		}
		return inv
	}
	return nil
}

func (h *Handler) listEntities(k fleetstore.Kind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		offset, limit, err := paging(r)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		tok := token(r)
		f, rev := h.c.Fleet.Snapshot()
		ents, err := fleetstore.Entities(f, k)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		q := strings.ToLower(r.URL.Query().Get("q"))
		tenant := r.URL.Query().Get("tenant")
		out := List{Revision: rev, Offset: offset, Limit: limit, Items: []Envelope{}}
		for _, e := range ents {
			if !visible(tok, e.Tenant) || (tenant != "" && e.Tenant != tenant) {
				continue
			}
			if q != "" && !matches(e, q) {
				continue
			}
			out.Total++
			if out.Total <= offset || len(out.Items) >= limit {
				continue
			}
			env := Envelope{Revision: rev, Data: e.JSON}
			if k == fleetstore.KindComputer {
				env.Inventory = h.inventoryOf(f, e.ID)
				env.Inventory.Software, env.Inventory.UPNs, env.Inventory.Tasks = nil, nil, nil // in the computer's own GET
			}
			out.Items = append(out.Items, env)
		}
		writeJSON(w, http.StatusOK, out)
	}
}

// matches reports whether q is in the entity's id or name.
func matches(e fleetstore.Entity, q string) bool {
	if strings.Contains(strings.ToLower(e.ID), q) {
		return true
	}
	var n struct {
		Name string `json:"name"`
	}
	_ = json.Unmarshal(e.JSON, &n)
	return strings.Contains(strings.ToLower(n.Name), q)
}

// find returns one entity the token may see.
func (h *Handler) find(r *http.Request, k fleetstore.Kind, id string) (fleetstore.Entity, *immy.Fleet, int64, error) {
	f, rev := h.c.Fleet.Snapshot()
	ents, err := fleetstore.Entities(f, k)
	if err != nil {
		return fleetstore.Entity{}, nil, 0, err
	}
	for _, e := range ents {
		if e.ID == id && visible(token(r), e.Tenant) {
			return e, f, rev, nil
		}
	}
	return fleetstore.Entity{}, nil, 0, errNotFound(fmt.Sprintf("%s %q", k, id))
}

func (h *Handler) getEntity(k fleetstore.Kind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		e, f, rev, err := h.find(r, k, r.PathValue("id"))
		if err != nil {
			h.fail(w, r, err)
			return
		}
		env := Envelope{Revision: rev, Data: e.JSON}
		if k == fleetstore.KindComputer {
			env.Inventory = h.inventoryOf(f, e.ID)
		}
		writeJSON(w, http.StatusOK, env)
	}
}

// putBody is the body of a create or an update.
type putBody struct {
	Revision *int64          `json:"revision"`
	Data     json.RawMessage `json:"data"`
}

func (h *Handler) createEntity(k fleetstore.Kind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var b putBody
		if err := decode(r, &b); err != nil {
			h.fail(w, r, err)
			return
		}
		op, id, err := h.entityOp(k, b.Data, "")
		if err != nil {
			h.fail(w, r, err)
			return
		}
		f, rev := h.c.Fleet.Snapshot()
		if ents, _ := fleetstore.Entities(f, k); hasID(ents, id) {
			writeJSON(w, http.StatusConflict, &Error{Code: "exists", Message: fmt.Sprintf("%s %q exists: update it with PUT", k, id),
				Fields: []FieldError{{Field: "data.id", ID: id, Message: "already exists"}}})
			return
		}
		h.apply(w, r, rev, op, k, id, http.StatusCreated)
	}
}

func hasID(ents []fleetstore.Entity, id string) bool {
	for _, e := range ents {
		if e.ID == id {
			return true
		}
	}
	return false
}

func (h *Handler) updateEntity(k fleetstore.Kind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if _, _, _, err := h.find(r, k, id); err != nil {
			h.fail(w, r, err)
			return
		}
		var b putBody
		if err := decode(r, &b); err != nil {
			h.fail(w, r, err)
			return
		}
		op, _, err := h.entityOp(k, b.Data, id)
		var fields []FieldError
		if b.Revision == nil {
			fields = append(fields, FieldError{Field: "revision", Message: "required: the revision the entity was read at"})
		}
		if err != nil {
			if ae := toError(err); ae.Code == CodeInvalid && len(fields) > 0 {
				ae.Fields = append(fields, ae.Fields...)
				h.fail(w, r, errInvalid(ae.Fields...))
				return
			}
			h.fail(w, r, err)
			return
		}
		if len(fields) > 0 {
			h.fail(w, r, errInvalid(fields...))
			return
		}
		h.apply(w, r, *b.Revision, op, k, id, http.StatusOK)
	}
}

func (h *Handler) deleteEntity(k fleetstore.Kind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if _, _, _, err := h.find(r, k, id); err != nil {
			h.fail(w, r, err)
			return
		}
		base := h.c.Fleet.Revision()
		if v := r.URL.Query().Get("revision"); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				h.fail(w, r, errInvalid(FieldError{Field: "revision", Message: "a revision number"}))
				return
			}
			base = n
		}
		rev, err := h.c.Fleet.Apply(r.Context(), fleetstore.Change{Base: base, Actor: token(r).Actor(),
			Ops: []fleetstore.Op{fleetstore.Delete(k, id)}})
		if err != nil {
			h.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"revision": rev, "deleted": id})
	}
}

// apply applies one put and answers with the entity as stored.
func (h *Handler) apply(w http.ResponseWriter, r *http.Request, base int64, op fleetstore.Op, k fleetstore.Kind, id string, status int) {
	if _, err := h.c.Fleet.Apply(r.Context(), fleetstore.Change{Base: base, Actor: token(r).Actor(), Ops: []fleetstore.Op{op}}); err != nil {
		h.fail(w, r, err)
		return
	}
	e, f, rev, err := h.find(r, k, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	env := Envelope{Revision: rev, Data: e.JSON}
	if k == fleetstore.KindComputer {
		env.Inventory = h.inventoryOf(f, id)
	}
	writeJSON(w, status, env)
}

// entityOp decodes an entity and makes its put; pathID, when set, must be
// its id. A password the client sent back as it was shown (redacted) keeps
// its stored value.
func (h *Handler) entityOp(k fleetstore.Kind, data json.RawMessage, pathID string) (fleetstore.Op, string, error) {
	if len(data) == 0 {
		return fleetstore.Op{}, "", errInvalid(FieldError{Field: "data", Message: "required: the entity"})
	}
	v, err := fleetstore.DecodeEntity(k, data)
	if err != nil {
		return fleetstore.Op{}, "", errInvalid(FieldError{Field: "data", Message: trimPrefix(err.Error())})
	}
	f := h.c.Fleet.Fleet()
	var op fleetstore.Op
	switch x := v.(type) {
	case *immy.Tenant:
		op = fleetstore.PutTenant(*x)
	case *immy.Computer:
		op = fleetstore.PutComputer(*x)
	case *immy.Person:
		op = fleetstore.PutPerson(*x)
	case *immy.Group:
		op = fleetstore.PutGroup(*x)
	case *immy.Software:
		op = fleetstore.PutSoftware(*x)
	case *immy.Task:
		if fields := passwordsKept(f, x); len(fields) > 0 {
			return fleetstore.Op{}, "", errInvalid(fields...)
		}
		keepTaskSecrets(f, x)
		op = fleetstore.PutTask(*x)
	case *immy.Deployment:
		keepDeploymentSecrets(f, x)
		op = fleetstore.PutDeployment(*x)
	case *immy.Schedule:
		op = fleetstore.PutSchedule(*x)
	case *immy.Agreement:
		op = fleetstore.PutAgreement(*x)
	default:
		return fleetstore.Op{}, "", errBad("unsupported kind %q", k)
	}
	var fields []FieldError
	if op.ID() == "" {
		fields = append(fields, FieldError{Field: "data.id", Message: "required"})
	}
	if pathID != "" && op.ID() != pathID {
		fields = append(fields, FieldError{Field: "data.id", ID: op.ID(), Message: fmt.Sprintf("must be the id of the path, %q", pathID)})
	}
	if len(fields) > 0 {
		return fleetstore.Op{}, "", errInvalid(fields...)
	}
	return op, op.ID(), nil
}

func keepDeploymentSecrets(f *immy.Fleet, d *immy.Deployment) {
	var old *immy.Deployment
	for i := range f.Deployments {
		if f.Deployments[i].ID == d.ID {
			old = &f.Deployments[i]
		}
	}
	if old == nil {
		return
	}
	for name, v := range d.Parameters {
		if s, ok := v.(string); ok && s == fleetstore.Redacted {
			if ov, ok := old.Parameters[name]; ok {
				d.Parameters[name] = ov
			}
		}
	}
}

func keepTaskSecrets(f *immy.Fleet, t *immy.Task) {
	for i := range f.Tasks {
		if f.Tasks[i].ID != t.ID {
			continue
		}
		for j, p := range t.Parameters {
			if s, ok := p.Default.(string); ok && s == fleetstore.Redacted && p.Type == immy.ParamPassword {
				for _, op := range f.Tasks[i].Parameters {
					if op.Name == p.Name {
						t.Parameters[j].Default = op.Default
					}
				}
			}
		}
	}
}

// passwordsKept refuses a task put that would turn a stored secret into
// clear text: one that changes the type of a password parameter, or removes
// or renames it, while the stored task has a default for it or a deployment
// sets a value for it (values are masked by the parameter's current type).
// The values must be cleared first.
func passwordsKept(f *immy.Fleet, t *immy.Task) []FieldError {
	var old *immy.Task
	for i := range f.Tasks {
		if f.Tasks[i].ID == t.ID {
			old = &f.Tasks[i]
		}
	}
	if old == nil {
		return nil
	}
	var fields []FieldError
	for _, op := range old.Parameters {
		if op.Type != immy.ParamPassword {
			continue
		}
		var holders []string
		if op.Default != nil {
			holders = append(holders, "the task's default")
		}
		for i := range f.Deployments {
			if d := &f.Deployments[i]; d.Item == t.ID {
				if _, ok := d.Parameters[op.Name]; ok {
					holders = append(holders, fmt.Sprintf("deployment %q", d.ID))
				}
			}
		}
		if len(holders) == 0 {
			continue
		}
		at, field := -1, "data.parameters"
		for j := range t.Parameters {
			if t.Parameters[j].Name == op.Name {
				at, field = j, fmt.Sprintf("data.parameters[%d].type", j)
			}
		}
		if at >= 0 && t.Parameters[at].Type == immy.ParamPassword {
			continue
		}
		what := "removed or renamed"
		if at >= 0 {
			name, _ := t.Parameters[at].Type.MarshalText()
			what = fmt.Sprintf("changed to %q", name)
		}
		fields = append(fields, FieldError{Field: field, ID: op.Name, Message: fmt.Sprintf(
			"password parameter %q may not be %s while a value is set for it (%s): clear the values first",
			op.Name, what, strings.Join(holders, ", "))})
	}
	return fields
}
