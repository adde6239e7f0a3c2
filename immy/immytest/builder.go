package immytest

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/immyoss/engine/immy"
)

// FleetBuilder builds an [immy.Fleet] for a test, one entity a call:
//
//	f := immytest.NewFleet().
//		Tenant("contoso").
//		Person("john", "contoso", "john@contoso.com").
//		Computer("pc1", "contoso", immy.KindWorkstation,
//			immytest.OS("Windows 11 Pro"), immytest.UPNs("john@contoso.com"),
//			immytest.Installed("Google Chrome", "118.0")).
//		Software("chrome", immytest.Name("Google Chrome"), immytest.Versions("119.0", "118.0")).
//		Deploy("d1", "chrome", immytest.OnTenantComputers("contoso")).
//		Build()
//
// Entities are kept in the order they are added. The builder checks nothing:
// a test of validation builds a broken fleet as easily as a sound one; use
// [FleetBuilder.BuildValid] where the fleet must be sound. Options that take
// versions, dates or times panic on malformed text, as [immy.MustParseVersion]
// does: they are for constants written in tests.
//
// The zero FleetBuilder is ready to use; NewFleet returns a new one.
type FleetBuilder struct {
	f immy.Fleet
}

// NewFleet returns an empty FleetBuilder.
func NewFleet() *FleetBuilder { return &FleetBuilder{} }

// At sets the fleet's evaluation time, in RFC 3339 ("2026-11-23T10:00:00Z").
func (b *FleetBuilder) At(rfc3339 string) *FleetBuilder {
	t, err := time.Parse(time.RFC3339, rfc3339)
	if err != nil {
		panic("immytest: At: " + err.Error())
	}
	b.f.At = t
	return b
}

// Tenant adds a tenant named after its id.
func (b *FleetBuilder) Tenant(id string, opts ...TenantOption) *FleetBuilder {
	t := immy.Tenant{ID: id, Name: id}
	for _, o := range opts {
		o.applyTenant(&t)
	}
	b.f.Tenants = append(b.f.Tenants, t)
	return b
}

// Person adds a person of tenant with a user principal name, named after its id.
func (b *FleetBuilder) Person(id, tenant, upn string, opts ...PersonOption) *FleetBuilder {
	p := immy.Person{ID: id, Tenant: tenant, Name: id, UPN: upn}
	for _, o := range opts {
		o.applyPerson(&p)
	}
	b.f.Persons = append(b.f.Persons, p)
	return b
}

// Computer adds an online, onboarded computer of tenant, named after its id in
// upper case.
func (b *FleetBuilder) Computer(id, tenant string, kind immy.ComputerKind, opts ...ComputerOption) *FleetBuilder {
	c := immy.Computer{ID: id, Tenant: tenant, Name: strings.ToUpper(id), Kind: kind, Online: true}
	for _, o := range opts {
		o.applyComputer(&c)
	}
	b.f.Computers = append(b.f.Computers, c)
	return b
}

// Group adds a group of tenant ("" for a cross-tenant group) holding persons
// (immy.GroupPersons, a user group) or computers (immy.GroupComputers); give
// it members with [Members] and nested groups with [Nested].
func (b *FleetBuilder) Group(id, tenant string, kind immy.GroupKind, opts ...GroupOption) *FleetBuilder {
	g := immy.Group{ID: id, Tenant: tenant, Name: id, Kind: kind}
	for _, o := range opts {
		o.applyGroup(&g)
	}
	b.f.Groups = append(b.f.Groups, g)
	return b
}

// Agreement adds tenant's agreement for a client group, from and to being
// whole days ("2026-01-01", both inclusive) or "" for an open bound.
func (b *FleetBuilder) Agreement(id, tenant, clientGroup, from, to string) *FleetBuilder {
	b.f.Agreements = append(b.f.Agreements, immy.Agreement{
		ID: id, Tenant: tenant, ClientGroup: clientGroup, From: mustDate(from), To: mustDate(to),
	})
	return b
}

// Software adds a software of the MSP's own, named after its id unless [Name]
// says otherwise. Without a detection option it is detected by its name,
// exactly (a display-name glob without wildcards).
func (b *FleetBuilder) Software(id string, opts ...SoftwareOption) *FleetBuilder {
	s := immy.Software{ID: id}
	for _, o := range opts {
		o.applySoftware(&s)
	}
	if s.Name == "" {
		s.Name = id
	}
	if d := s.Detection; d.DisplayName == "" && d.Regex == "" && d.ProductCode == "" && d.UpgradeCode == "" && d.Script == nil {
		s.Detection.DisplayName = s.Name
	}
	b.f.Software = append(b.f.Software, s)
	return b
}

// Task adds a computer task of the MSP's own, named after its id.
func (b *FleetBuilder) Task(id string, opts ...TaskOption) *FleetBuilder {
	t := immy.Task{ID: id, Name: id}
	for _, o := range opts {
		o.applyTask(&t)
	}
	b.f.Tasks = append(b.f.Tasks, t)
	return b
}

// Deploy adds an enabled, required deployment of item (a software or task id)
// on target. When no option sets its desired state or mode, Build gives a
// software deployment the desired state latest and a task deployment the mode
// enforce.
func (b *FleetBuilder) Deploy(id, item string, target immy.Target, opts ...DeploymentOption) *FleetBuilder {
	d := immy.Deployment{ID: id, Item: item, Target: target}
	for _, o := range opts {
		o.applyDeployment(&d)
	}
	b.f.Deployments = append(b.f.Deployments, d)
	return b
}

// Schedule adds a schedule as given.
func (b *FleetBuilder) Schedule(s immy.Schedule) *FleetBuilder {
	b.f.Schedules = append(b.f.Schedules, s)
	return b
}

// Edit runs fn on the fleet being built, for what the options do not cover.
func (b *FleetBuilder) Edit(fn func(f *immy.Fleet)) *FleetBuilder {
	fn(&b.f)
	return b
}

// Build returns the fleet. Each call returns a new copy: changing it does not
// change the builder, and building on does not change fleets already built.
func (b *FleetBuilder) Build() *immy.Fleet {
	f := cloneFleet(&b.f)
	kinds := make(map[string]immy.ItemKind, len(f.Software)+len(f.Tasks))
	for _, t := range f.Tasks {
		kinds[t.ID] = immy.ItemTask
	}
	for _, s := range f.Software {
		kinds[s.ID] = immy.ItemSoftware
	}
	for i := range f.Deployments {
		d := &f.Deployments[i]
		if d.Desired != immy.DesiredUnset || d.Mode != immy.ModeUnset {
			continue
		}
		switch k, ok := kinds[d.Item]; {
		case ok && k == immy.ItemSoftware:
			d.Desired = immy.DesiredLatest
		case ok && k == immy.ItemTask:
			d.Mode = immy.ModeEnforce
		}
	}
	return f
}

// BuildValid returns the fleet after checking it with [immy.Fleet.Validate],
// failing the test with every problem when it is not valid.
func (b *FleetBuilder) BuildValid(tb testing.TB) *immy.Fleet {
	tb.Helper()
	f := b.Build()
	if err := f.Validate(); err != nil {
		tb.Fatalf("immytest: the fleet built is not valid:\n%v", err)
	}
	return f
}

func mustDate(s string) immy.Date {
	if s == "" {
		return immy.Date{}
	}
	d, err := immy.ParseDate(s)
	if err != nil {
		panic("immytest: " + err.Error())
	}
	return d
}

func mustVersion(s string) immy.Version {
	if s == "" {
		return immy.Version{}
	}
	v, err := immy.ParseVersion(s)
	if err != nil {
		panic("immytest: " + err.Error())
	}
	return v
}

// cloneFleet copies f deeply enough that no slice or map of the copy is shared
// with f. Scripts are shared: they are values nobody changes in place.
func cloneFleet(f *immy.Fleet) *immy.Fleet {
	c := *f
	c.Tenants = slices.Clone(f.Tenants)
	for i := range c.Tenants {
		t := &c.Tenants[i]
		t.Tags = slices.Clone(t.Tags)
		if t.BusinessHours != nil {
			bh := *t.BusinessHours
			bh.Weekdays = slices.Clone(bh.Weekdays)
			t.BusinessHours = &bh
		}
	}
	c.Persons = slices.Clone(f.Persons)
	for i := range c.Persons {
		c.Persons[i].Tags = slices.Clone(c.Persons[i].Tags)
	}
	c.Computers = slices.Clone(f.Computers)
	for i := range c.Computers {
		m := &c.Computers[i]
		m.Tags = slices.Clone(m.Tags)
		m.Attributes = maps.Clone(m.Attributes)
		m.UPNs = slices.Clone(m.UPNs)
		m.Software = slices.Clone(m.Software)
		m.Tasks = maps.Clone(m.Tasks)
		m.DeviceGroups = slices.Clone(m.DeviceGroups)
		m.Pathways = slices.Clone(m.Pathways)
	}
	c.Groups = slices.Clone(f.Groups)
	for i := range c.Groups {
		g := &c.Groups[i]
		g.Members = slices.Clone(g.Members)
		g.Groups = slices.Clone(g.Groups)
	}
	c.Agreements = slices.Clone(f.Agreements)
	c.Software = slices.Clone(f.Software)
	for i := range c.Software {
		s := &c.Software[i]
		s.Prerequisites = clonePrereqs(s.Prerequisites)
		s.Versions = slices.Clone(s.Versions)
		for j := range s.Versions {
			s.Versions[j].Prerequisites = clonePrereqs(s.Versions[j].Prerequisites)
		}
	}
	c.Tasks = slices.Clone(f.Tasks)
	for i := range c.Tasks {
		t := &c.Tasks[i]
		t.Parameters = slices.Clone(t.Parameters)
		for j := range t.Parameters {
			t.Parameters[j].Options = slices.Clone(t.Parameters[j].Options)
		}
	}
	c.Deployments = slices.Clone(f.Deployments)
	for i := range c.Deployments {
		d := &c.Deployments[i]
		d.Parameters = maps.Clone(d.Parameters)
		d.ApprovedFor = slices.Clone(d.ApprovedFor)
	}
	c.Schedules = slices.Clone(f.Schedules)
	return &c
}

func clonePrereqs(ps []immy.Prerequisite) []immy.Prerequisite {
	ps = slices.Clone(ps)
	for i := range ps {
		ps[i].Subjects = slices.Clone(ps[i].Subjects)
		ps[i].On = slices.Clone(ps[i].On)
	}
	return ps
}
