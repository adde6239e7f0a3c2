package immy

import (
	"fmt"
	"time"
)

// Fleet is everything the engine knows of an MSP at one time: its tenants and
// their computers and persons, groups, agreements, the catalogue of software and
// tasks, the deployments and the schedules. A Fleet is plain data; the packages
// above build immutable indexes over it. The slices are in the order they were
// given; ids are unique within a section (Validate checks).
type Fleet struct {
	At          time.Time // evaluation time for date ranges; zero means now
	Tenants     []Tenant
	Persons     []Person
	Computers   []Computer
	Groups      []Group
	Agreements  []Agreement
	Software    []Software
	Tasks       []Task
	Deployments []Deployment
	Schedules   []Schedule
}

// Tenant is a customer of the MSP (or the MSP itself). Tenants form a tree by Parent.
type Tenant struct {
	ID                     string
	Name                   string
	Parent                 string // id of the parent tenant, "" for a root
	Tags                   []string
	ExcludeFromCrossTenant bool   // cross-tenant deployments do not reach it
	TimeZone               string // IANA name, "" for UTC
	BusinessHours          *BusinessHours
}

// BusinessHours is the daily window in which a tenant's reboots may be suppressed.
type BusinessHours struct {
	Start, End string // "08:00", "18:00" in the tenant's time zone
	Weekdays   []time.Weekday
}

// Person is a user of a tenant, known by a user principal name.
type Person struct {
	ID     string
	Tenant string
	Name   string
	UPN    string // matched case-insensitively against computers' UPNs
	Tags   []string
}

// MaxUPNs is how many recent user principal names a computer keeps.
const MaxUPNs = 10

// TenantSessionPrefix starts the session target that names a tenant rather
// than a computer (a tenant's cloud tasks run in such a session), so no
// computer's id may start with it: Validate refuses one that does, which
// keeps a computer of one tenant from standing for another tenant's session.
const TenantSessionPrefix = "tenant:"

// Computer is one machine, however many agents reach it.
type Computer struct {
	ID           string
	Tenant       string
	Name         string
	UUID         string // hardware UUID
	Serial       string
	Manufacturer string
	Model        string
	OSInstallID  string // changes when the machine is wiped
	Kind         ComputerKind
	OS           string
	TimeZone     string // IANA name, "" for the tenant's
	Tags         []string
	Attributes   map[string]string // free-form, visible to filters
	Online       bool
	Onboarding   OnboardingStatus
	// ExcludedFromMaintenance keeps the computer out of every session; it is still inventoried.
	ExcludedFromMaintenance bool
	UPNs                    []string // newest first, at most MaxUPNs
	Software                []DetectedSoftware
	Tasks                   map[string]bool // known test results of tasks, by task id (for the what-if)
	DeviceGroups            []string        // integration device groups it belongs to
	Pathways                []Pathway       // the agents that reach it
}

// DetectedSoftware is one entry of a computer's software inventory.
type DetectedSoftware struct {
	Name        string // display name
	Version     Version
	ProductCode string
	UpgradeCode string
	Publisher   string // "" when the inventory does not say
}

// Pathway is one agent that reaches a computer: our own agent or an integration's.
type Pathway struct {
	Integration string // integration instance id; "" for the engine's own agent
	AgentID     string
	Online      bool
	Priority    int // higher is tried first for running scripts
}

// Group is a static computer group or a user group; groups nest within their kind.
type Group struct {
	ID      string
	Tenant  string // "" for a cross-tenant group
	Name    string
	Kind    GroupKind
	Members []string // computer ids or person ids, by Kind; user groups may also hold computers
	Groups  []string // nested groups of the same kind
}

// Agreement is a tenant's PSA agreement for a client group (agreement type or product).
type Agreement struct {
	ID          string
	Tenant      string
	ClientGroup string
	From, To    Date // whole days, both inclusive; a zero bound is open
}

// ActiveOn reports whether the agreement covers the day d.
func (a Agreement) ActiveOn(d Date) bool {
	if !a.From.IsZero() && d.Before(a.From) {
		return false
	}
	if !a.To.IsZero() && a.To.Before(d) {
		return false
	}
	return true
}

// Date is a civil date without a time zone.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns the date of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// ParseDate parses "2006-01-02".
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("immy: date %q: want YYYY-MM-DD: %w", s, ErrInvalid)
	}
	return DateOf(t), nil
}

// IsZero reports whether d is the zero Date.
func (d Date) IsZero() bool { return d == Date{} }

// Before reports whether d is an earlier day than e.
func (d Date) Before(e Date) bool {
	if d.Year != e.Year {
		return d.Year < e.Year
	}
	if d.Month != e.Month {
		return d.Month < e.Month
	}
	return d.Day < e.Day
}

// String returns "2006-01-02", or "" for the zero Date.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// MarshalText implements encoding.TextMarshaler.
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Date) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = Date{}
		return nil
	}
	p, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = p
	return nil
}
