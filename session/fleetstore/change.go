package fleetstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/targets"
)

// Kind names a kind of entity of the fleet.
type Kind string

// The kinds of entity a store keeps.
const (
	KindTenant     Kind = "tenant"
	KindPerson     Kind = "person"
	KindComputer   Kind = "computer"
	KindGroup      Kind = "group"
	KindAgreement  Kind = "agreement"
	KindSoftware   Kind = "software"
	KindTask       Kind = "task"
	KindDeployment Kind = "deployment"
	KindSchedule   Kind = "schedule"
	KindSettings   Kind = "settings"
)

// SettingsID is the id of the one entity of KindSettings.
const SettingsID = "fleet"

// Settings are the fleet-level settings.
type Settings struct {
	// At is the evaluation time for date ranges (agreements); zero means now.
	At time.Time
}

// Op is one typed operation of a change: the put (create or replace) or the
// delete of one entity. Make it with the Put and Delete functions.
type Op struct {
	kind Kind
	id   string
	put  any // *immy.Tenant, *immy.Computer, ..., *Settings; nil for a delete
}

// Kind returns the kind of entity the operation touches.
func (o Op) Kind() Kind { return o.kind }

// ID returns the id of the entity the operation touches.
func (o Op) ID() string { return o.id }

// IsDelete reports whether the operation deletes its entity.
func (o Op) IsDelete() bool { return o.put == nil }

func (o Op) String() string {
	verb := "put"
	if o.IsDelete() {
		verb = "delete"
	}
	return fmt.Sprintf("%s %s %q", verb, o.kind, o.id)
}

// PutTenant creates or replaces a tenant.
func PutTenant(t immy.Tenant) Op { return Op{KindTenant, t.ID, &t} }

// PutPerson creates or replaces a person.
func PutPerson(p immy.Person) Op { return Op{KindPerson, p.ID, &p} }

// PutComputer creates or replaces a computer's admin-owned fields. Its
// inventory and presence fields (OS, Online, UPNs, Software, Tasks) are not
// an admin's: they are ignored here, kept as the store has them (empty for a
// new computer), and written with [Store.PutInventory].
func PutComputer(c immy.Computer) Op { return Op{KindComputer, c.ID, &c} }

// PutGroup creates or replaces a group.
func PutGroup(g immy.Group) Op { return Op{KindGroup, g.ID, &g} }

// PutAgreement creates or replaces an agreement.
func PutAgreement(a immy.Agreement) Op { return Op{KindAgreement, a.ID, &a} }

// PutSoftware creates or replaces a software.
func PutSoftware(s immy.Software) Op { return Op{KindSoftware, s.ID, &s} }

// PutTask creates or replaces a task.
func PutTask(t immy.Task) Op { return Op{KindTask, t.ID, &t} }

// PutDeployment creates or replaces a deployment.
func PutDeployment(d immy.Deployment) Op { return Op{KindDeployment, d.ID, &d} }

// PutSchedule creates or replaces a schedule.
func PutSchedule(s immy.Schedule) Op { return Op{KindSchedule, s.ID, &s} }

// PutSettings replaces the fleet-level settings.
func PutSettings(s Settings) Op { return Op{KindSettings, SettingsID, &s} }

// Delete deletes the entity of kind k with id. The settings cannot be deleted.
func Delete(k Kind, id string) Op { return Op{kind: k, id: id} }

// Change is a set of operations applied as one transaction by [Store.Apply].
type Change struct {
	// Base is the revision the change was made against (usually
	// [Store.Revision] when the admin began). The change is refused with a
	// *ConflictError if an entity it touches was changed by an admin after Base.
	Base int64
	// Actor names who makes the change, for the audit log; required.
	Actor string
	// Source, when set, names what the change comes from, such as a fleet
	// file: the entities the change creates remember it, so that a later
	// change from the same source may delete what it no longer holds and
	// nothing else (see [Store.SourceChange]).
	Source string
	// Ops are applied in order; an entity appears at most once.
	Ops []Op
	// Inventory, when set, is written after Ops in the same transaction, as
	// [Store.PutInventory] writes it: what a source declares found on the
	// computers it creates (a fleet file's starting inventory, see
	// [Store.SourceChange]). It never conflicts, and it stays out of the
	// audit log; a report naming a computer the change leaves absent, or a
	// task it leaves absent, refuses the whole change.
	Inventory []Inventory
}

// ConflictError refuses a change that touches an entity an admin changed (or
// deleted) after the revision the change was made against. errors.As finds
// the first; a change with several conflicts returns them all, joined.
type ConflictError struct {
	Kind     Kind
	ID       string
	Base     int64 // the revision the change was made against
	Revision int64 // the revision of the entity's last change
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("fleetstore: conflict: %s %q was changed at revision %d, after revision %d the change was made against",
		e.Kind, e.ID, e.Revision, e.Base)
}

// ErrConflict is what errors.Is finds in a *ConflictError.
var ErrConflict = errors.New("fleetstore: conflict")

// Is makes errors.Is(err, ErrConflict) hold.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// section is what the store knows of one kind of entity: where it lives in
// an immy.Fleet and how it is stored.
type section interface {
	kind() Kind
	// ids lists the ids of f's entities of the kind, in order.
	ids(f *immy.Fleet) []string
	// get returns the entity with id as stored (its document) and its tenant.
	doc(f *immy.Fleet, i int) (doc any, tenant string)
	// decode reads a stored document.
	decode(b []byte) (any, error)
	// rebuild returns the kind's slice of f with puts (by id) replaced or
	// appended (in the order of added) and dels removed.
	rebuild(f *immy.Fleet, puts map[string]any, added []string, dels map[string]bool)
	// fill appends decoded entities, in order, to f.
	fill(f *immy.Fleet, vals []any)
}

type sect[T any, D any] struct {
	k      Kind
	slice  func(*immy.Fleet) *[]T
	id     func(*T) string
	tenant func(*T) string
	out    func(*T) *D
	in     func(*D, *decoder) T
}

func (s sect[T, D]) kind() Kind { return s.k }

func (s sect[T, D]) ids(f *immy.Fleet) []string {
	xs := *s.slice(f)
	out := make([]string, len(xs))
	for i := range xs {
		out[i] = s.id(&xs[i])
	}
	return out
}

func (s sect[T, D]) doc(f *immy.Fleet, i int) (any, string) {
	x := &(*s.slice(f))[i]
	return s.out(x), s.tenant(x)
}

func (s sect[T, D]) decode(b []byte) (any, error) {
	var d D
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, err
	}
	var dec decoder
	v := s.in(&d, &dec)
	if err := errors.Join(dec.errs...); err != nil {
		return nil, err
	}
	return &v, nil
}

func (s sect[T, D]) rebuild(f *immy.Fleet, puts map[string]any, added []string, dels map[string]bool) {
	old := *s.slice(f)
	out := make([]T, 0, len(old)+len(added))
	for i := range old {
		id := s.id(&old[i])
		switch {
		case dels[id]:
		case puts[id] != nil:
			out = append(out, *puts[id].(*T))
		default:
			out = append(out, old[i])
		}
	}
	for _, id := range added {
		out = append(out, *puts[id].(*T))
	}
	*s.slice(f) = out
}

func (s sect[T, D]) fill(f *immy.Fleet, vals []any) {
	xs := s.slice(f)
	for _, v := range vals {
		*xs = append(*xs, *v.(*T))
	}
}

func none[T any](*T) string { return "" }

// sections lists the kinds in the order a fleet is loaded and validated.
var sections = []section{
	sect[immy.Tenant, tenantDoc]{KindTenant, func(f *immy.Fleet) *[]immy.Tenant { return &f.Tenants },
		func(t *immy.Tenant) string { return t.ID }, func(t *immy.Tenant) string { return t.ID }, tenantOut, (*tenantDoc).fleet},
	sect[immy.Person, personDoc]{KindPerson, func(f *immy.Fleet) *[]immy.Person { return &f.Persons },
		func(p *immy.Person) string { return p.ID }, func(p *immy.Person) string { return p.Tenant }, personOut, (*personDoc).fleet},
	sect[immy.Computer, computerDoc]{KindComputer, func(f *immy.Fleet) *[]immy.Computer { return &f.Computers },
		func(c *immy.Computer) string { return c.ID }, func(c *immy.Computer) string { return c.Tenant }, computerOut, (*computerDoc).fleet},
	sect[immy.Group, groupDoc]{KindGroup, func(f *immy.Fleet) *[]immy.Group { return &f.Groups },
		func(g *immy.Group) string { return g.ID }, func(g *immy.Group) string { return g.Tenant }, groupOut, (*groupDoc).fleet},
	sect[immy.Agreement, agreementDoc]{KindAgreement, func(f *immy.Fleet) *[]immy.Agreement { return &f.Agreements },
		func(a *immy.Agreement) string { return a.ID }, func(a *immy.Agreement) string { return a.Tenant }, agreementOut, (*agreementDoc).fleet},
	sect[immy.Software, softwareDoc]{KindSoftware, func(f *immy.Fleet) *[]immy.Software { return &f.Software },
		func(s *immy.Software) string { return s.ID }, func(s *immy.Software) string { return s.Tenant }, softwareOut, (*softwareDoc).fleet},
	sect[immy.Task, taskDoc]{KindTask, func(f *immy.Fleet) *[]immy.Task { return &f.Tasks },
		func(t *immy.Task) string { return t.ID }, func(t *immy.Task) string { return t.Tenant }, taskOut, (*taskDoc).fleet},
	sect[immy.Deployment, deploymentDoc]{KindDeployment, func(f *immy.Fleet) *[]immy.Deployment { return &f.Deployments },
		func(d *immy.Deployment) string { return d.ID }, func(d *immy.Deployment) string { return d.Target.Tenant }, deploymentOut, (*deploymentDoc).fleet},
	sect[immy.Schedule, scheduleDoc]{KindSchedule, func(f *immy.Fleet) *[]immy.Schedule { return &f.Schedules },
		func(s *immy.Schedule) string { return s.ID }, func(s *immy.Schedule) string { return s.Target.Tenant }, scheduleOut, (*scheduleDoc).fleet},
	settingsSection{},
}

var sectionOf = func() map[Kind]section {
	m := map[Kind]section{}
	for _, s := range sections {
		m[s.kind()] = s
	}
	return m
}()

// settingsSection keeps the fleet-level settings as one entity.
type settingsSection struct{}

func (settingsSection) kind() Kind               { return KindSettings }
func (settingsSection) ids(*immy.Fleet) []string { return []string{SettingsID} }
func (settingsSection) doc(f *immy.Fleet, _ int) (any, string) {
	return settingsOut(&Settings{At: f.At}), ""
}

func settingsOut(s *Settings) *settingsDoc {
	d := &settingsDoc{}
	if !s.At.IsZero() {
		d.At = s.At.Format(time.RFC3339Nano)
	}
	return d
}

func (settingsSection) decode(b []byte) (any, error) {
	var d settingsDoc
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, err
	}
	s := &Settings{}
	if d.At != "" {
		t, err := time.Parse(time.RFC3339Nano, d.At)
		if err != nil {
			return nil, fmt.Errorf("at: %w", err)
		}
		s.At = t
	}
	return s, nil
}

func (settingsSection) rebuild(f *immy.Fleet, puts map[string]any, _ []string, _ map[string]bool) {
	if s, ok := puts[SettingsID].(*Settings); ok {
		f.At = s.At
	}
}

func (settingsSection) fill(f *immy.Fleet, vals []any) {
	for _, v := range vals {
		f.At = v.(*Settings).At
	}
}

// docOf returns the stored document of an operation's entity and its tenant.
func docOf(o Op) (any, string) {
	f := &immy.Fleet{}
	s := sectionOf[o.kind]
	s.rebuild(f, map[string]any{o.id: o.put}, []string{o.id}, nil)
	return s.doc(f, 0)
}

// Ops returns the change that puts every entity of f, in f's order: how a
// fleet (from a fleet file, say) is brought into an empty store. The
// computers' inventories are not in it: write them with [InventoryOf] and
// [Store.PutInventory].
func Ops(f *immy.Fleet) []Op {
	var ops []Op
	if !f.At.IsZero() {
		ops = append(ops, PutSettings(Settings{At: f.At}))
	}
	for _, x := range f.Tenants {
		ops = append(ops, PutTenant(x))
	}
	for _, x := range f.Persons {
		ops = append(ops, PutPerson(x))
	}
	for _, x := range f.Computers {
		ops = append(ops, PutComputer(x))
	}
	for _, x := range f.Groups {
		ops = append(ops, PutGroup(x))
	}
	for _, x := range f.Agreements {
		ops = append(ops, PutAgreement(x))
	}
	for _, x := range f.Software {
		ops = append(ops, PutSoftware(x))
	}
	for _, x := range f.Tasks {
		ops = append(ops, PutTask(x))
	}
	for _, x := range f.Deployments {
		ops = append(ops, PutDeployment(x))
	}
	for _, x := range f.Schedules {
		ops = append(ops, PutSchedule(x))
	}
	return ops
}

// Changes names what the change puts or deletes, by id, section by section,
// and the computers its Inventory writes: what an incremental
// [targets.Index] or planner is updated with, from the fleet before the
// change to the fleet after it. A put that changes nothing is listed too,
// which costs an update some work and changes none of its results.
func (ch Change) Changes() targets.Changes {
	var c targets.Changes
	for _, o := range ch.Ops {
		switch o.kind {
		case KindTenant:
			c.Tenants = append(c.Tenants, o.id)
		case KindPerson:
			c.Persons = append(c.Persons, o.id)
		case KindComputer:
			c.Computers = append(c.Computers, o.id)
		case KindGroup:
			c.Groups = append(c.Groups, o.id)
		case KindAgreement:
			c.Agreements = append(c.Agreements, o.id)
		case KindSoftware:
			c.Software = append(c.Software, o.id)
		case KindTask:
			c.Tasks = append(c.Tasks, o.id)
		case KindDeployment:
			c.Deployments = append(c.Deployments, o.id)
		case KindSchedule:
			c.Schedules = append(c.Schedules, o.id)
		case KindSettings:
			c.Settings = true
		}
	}
	for _, r := range ch.Inventory {
		c.Computers = append(c.Computers, r.Computer)
	}
	return c
}
