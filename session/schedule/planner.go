package schedule

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/session"
	"github.com/immyoss/engine/targets"
)

// DefaultBatchSize is Config.BatchSize's default.
const DefaultBatchSize = 500

// DefaultLateAfter is Config.LateAfter's default.
const DefaultLateAfter = 5 * time.Minute

// Config tunes a Planner. The zero value is ready to use.
type Config struct {
	// Now is the clock; nil means time.Now. Poll reads it.
	Now func() time.Time
	// BatchSize is how many sessions Batches puts in one batch; 0 means
	// DefaultBatchSize.
	BatchSize int
	// LateAfter is how long after its time a fire may be found and still
	// start on time; a fire found later was missed (the engine was away) and
	// starts from the time it is found. 0 means DefaultLateAfter.
	LateAfter time.Duration
	// OnFilterError, when set, is told of each computer a schedule's target
	// filter failed on at run time (an index out of range, a Lua error):
	// that computer is left out of the schedule's fires, the others start.
	OnFilterError func(schedule string, err *targets.FilterError)
}

// Fire is one fire of a schedule in one time zone: the sessions it starts are
// those of the schedule's computers in that zone (every computer of the
// target when the schedule has a zone of its own).
type Fire struct {
	Schedule string
	Zone     string    // the IANA name the fire was computed in; "UTC" for computers without one
	At       time.Time // the fire time, in UTC: the fire's identity
	// Start is when the fire's sessions start, before their jitter: At, or
	// for a missed fire the time it was found (to the second, in UTC).
	Start  time.Time
	Missed bool
}

// Key returns the fire's unique key (FireKey).
func (f Fire) Key() string { return FireKey(f.Schedule, f.At, f.Zone) }

// Session is one maintenance session a fire starts on one computer, or,
// for a schedule whose target selects tenants, one tenant session (the
// tenant's cloud tasks).
type Session struct {
	Key      string // SessionKey(Schedule, Fire, Computer): unique per (schedule, fire, computer)
	Schedule string
	Fire     time.Time // the fire's time, in UTC
	Zone     string
	// Computer is the session's Request.Computer: a computer's id, or
	// session.TenantSession(tenant) for a tenant schedule.
	Computer string
	Item     string        // the one item to maintain; "" for full maintenance
	Jitter   time.Duration // in [0, JitterMinutes)
	// DetectAt is when detection starts (the fire's start plus the jitter);
	// ExecuteAt when execution starts: equal with "execute right after
	// detection", otherwise at least an hour later.
	DetectAt, ExecuteAt time.Time
}

// FullMaintenance reports whether the session maintains every item of the
// computer rather than one.
func (s Session) FullMaintenance() bool { return s.Item == "" }

// Planner holds the compiled schedules of one fleet with their targets. It
// is immutable and safe for concurrent use.
type Planner struct {
	cfg       Config
	ix        *targets.Index
	m         *targets.Matcher
	schedules []*Schedule
	byID      map[string]int
	zones     []string // computer index -> zone name
	tzones    []string // tenant index -> zone name
	tenant    []bool   // schedule index -> its target selects tenants
	locs      map[string]*time.Location
}

// New compiles every schedule of the index's fleet against it and returns
// every problem at once as immy.Problems: a schedule's cron, zone and minutes
// (as Compile), its item (one-item schedules: the software or task must exist,
// run on computers, not be onboarding-only, and, when private to a tenant,
// target only that tenant), its target (filters compiled; a target that
// selects tenants makes a tenant schedule, which has no item), and the time
// zones of the computers and tenants of a schedule that fires in each
// computer's or tenant's own zone. References the fleet leaves
// dangling are immy.Fleet.Validate's to report: they select nothing here.
func New(ix *targets.Index, cfg Config) (*Planner, error) {
	if ix == nil {
		return nil, fmt.Errorf("schedule: no index: %w", immy.ErrInvalid)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.LateAfter <= 0 {
		cfg.LateAfter = DefaultLateAfter
	}
	f := ix.Fleet()
	p := &Planner{cfg: cfg, ix: ix, byID: map[string]int{}, locs: map[string]*time.Location{}}
	var ps immy.Problems
	soft := map[string]*immy.Software{}
	for i := range f.Software {
		soft[f.Software[i].ID] = &f.Software[i]
	}
	tasks := map[string]*immy.Task{}
	for i := range f.Tasks {
		tasks[f.Tasks[i].ID] = &f.Tasks[i]
	}
	deps := make([]immy.Deployment, len(f.Schedules))
	ownZones := false
	for i, s := range f.Schedules {
		c, sps := compile(i, s)
		ps = append(ps, sps...)
		if j, dup := p.byID[s.ID]; dup {
			if s.ID != "" {
				ps = append(ps, immy.Problem{Section: "schedules", Index: i, ID: s.ID, Field: "id", Message: fmt.Sprintf("duplicate id (first at schedules #%d)", j+1), Err: immy.ErrInvalid})
			}
		} else {
			p.byID[s.ID] = i
		}
		p.schedules = append(p.schedules, c)
		deps[i] = immy.Deployment{ID: s.ID, Item: s.Item, Target: scheduleTarget(s.Target)}
		tenant := selectsTenants(deps[i].Target)
		p.tenant = append(p.tenant, tenant)
		if tenant && s.Item != "" {
			ps = append(ps, immy.Problem{Section: "schedules", Index: i, ID: s.ID, Field: "item", Err: immy.ErrInvalid,
				Message: fmt.Sprintf("target %s selects tenants: a tenant schedule runs each tenant's cloud tasks, leave item (%q) unset", deps[i].Target.Type, s.Item)})
		} else if !tenant {
			ps = append(ps, checkItem(f, i, s, soft, tasks)...)
		}
		if s.TimeZone == "" {
			ownZones = true
		}
	}
	m, err := ix.Compile(deps)
	if err != nil {
		cps, ok := err.(immy.Problems)
		if !ok {
			return nil, fmt.Errorf("schedule: %w", err)
		}
		for _, q := range cps {
			q.Section = "schedules"
			ps = append(ps, q)
		}
	}
	p.m = m
	if ownZones {
		ps = append(ps, p.loadZones(f)...)
	}
	if len(ps) > 0 {
		ps.Sort()
		return nil, ps
	}
	return p, nil
}

// scheduleTarget returns the target a schedule's sessions go to: an unset
// target means every computer.
func scheduleTarget(t immy.Target) immy.Target {
	if t.Type == immy.TargetUnset {
		t.Type = immy.TargetAllComputers
	}
	return t
}

// selectsTenants reports whether a schedule's target selects tenants (as a
// cloud task deployment's does) rather than computers.
func selectsTenants(t immy.Target) bool {
	switch t.Type {
	case immy.TargetAllTenants, immy.TargetTenant, immy.TargetTenantTag:
		return true
	}
	return t.Category == immy.CategoryTenant
}

// checkItem checks a one-item schedule's item.
func checkItem(f *immy.Fleet, i int, s immy.Schedule, soft map[string]*immy.Software, tasks map[string]*immy.Task) immy.Problems {
	if s.Item == "" {
		return nil
	}
	p := func(err error, format string, args ...any) immy.Problems {
		return immy.Problems{{Section: "schedules", Index: i, ID: s.ID, Field: "item", Message: fmt.Sprintf(format, args...), Err: err}}
	}
	owner := ""
	switch {
	case soft[s.Item] != nil:
		owner = soft[s.Item].Tenant
	case tasks[s.Item] != nil:
		t := tasks[s.Item]
		if t.Category != immy.TaskComputer {
			return p(immy.ErrInvalid, "task %q runs against %ss; a schedule starts sessions on computers", s.Item, t.Category)
		}
		if t.OnboardingOnly {
			return p(immy.ErrInvalid, "task %q runs only in onboarding sessions, never in a scheduled one", s.Item)
		}
		owner = t.Tenant
	default:
		return p(immy.ErrNotFound, "unknown software or task %q", s.Item)
	}
	if owner == "" {
		return nil
	}
	// A private item reaches only its tenant, as for deployments.
	t := s.Target
	tenant := t.Tenant
	switch t.Type {
	case immy.TargetComputer:
		tenant = ""
		for _, c := range f.Computers {
			if c.ID == t.Computer {
				tenant = c.Tenant
			}
		}
	case immy.TargetPerson:
		tenant = ""
		for _, q := range f.Persons {
			if q.ID == t.Person {
				tenant = q.Tenant
			}
		}
	}
	propagates := t.PropagateToChildren && t.Type != immy.TargetComputer && t.Type != immy.TargetPerson
	if tenant != owner || propagates {
		return immy.Problems{{Section: "schedules", Index: i, ID: s.ID, Field: "target", Err: immy.ErrInvalid,
			Message: fmt.Sprintf("item %q is private to tenant %q: the target must stay within that tenant", s.Item, owner)}}
	}
	return nil
}

// loadZones loads every computer's zone (its own, else its tenant's, else
// UTC) and every tenant's (its own, else UTC), reporting those that do not
// load.
func (p *Planner) loadZones(f *immy.Fleet) immy.Problems {
	var ps immy.Problems
	tenantZone := map[string]string{}
	p.tzones = make([]string, len(f.Tenants))
	for i, t := range f.Tenants {
		tenantZone[t.ID] = t.TimeZone
		p.tzones[i] = "UTC"
		if t.TimeZone == "" {
			_, _ = p.load("UTC") // always loads
			continue
		}
		if _, err := p.load(t.TimeZone); err != nil {
			p.tzones[i] = ""
			ps = append(ps, immy.Problem{Section: "tenants", Index: i, ID: t.ID, Field: "time_zone", Message: err.Error(), Err: immy.ErrInvalid})
			continue
		}
		p.tzones[i] = t.TimeZone
	}
	p.zones = make([]string, len(f.Computers))
	for i, c := range f.Computers {
		name := c.TimeZone
		if name == "" {
			name = tenantZone[c.Tenant]
		}
		if name == "" {
			name = "UTC"
		}
		if _, err := p.load(name); err != nil {
			if c.TimeZone != "" {
				ps = append(ps, immy.Problem{Section: "computers", Index: i, ID: c.ID, Field: "time_zone", Message: err.Error(), Err: immy.ErrInvalid})
			}
			continue
		}
		p.zones[i] = name
	}
	return ps
}

func (p *Planner) load(name string) (*time.Location, error) {
	if loc, ok := p.locs[name]; ok {
		return loc, nil
	}
	loc, err := LoadZone(name)
	if err != nil {
		return nil, err
	}
	p.locs[name] = loc
	return loc, nil
}

// Schedules returns the compiled schedules in the fleet's order.
func (p *Planner) Schedules() []*Schedule { return slices.Clone(p.schedules) }

// Schedule returns the compiled schedule with the id.
func (p *Planner) Schedule(id string) (*Schedule, bool) {
	i, ok := p.byID[id]
	if !ok {
		return nil, false
	}
	return p.schedules[i], true
}

func (p *Planner) lookup(id string) (int, *Schedule, error) {
	i, ok := p.byID[id]
	if !ok {
		return 0, nil, fmt.Errorf("schedule: no schedule %q: %w", id, immy.ErrNotFound)
	}
	return i, p.schedules[i], nil
}

// Computers returns the ids of the computers a schedule's target selects,
// sorted by id. A tenant schedule has none: see Tenants.
func (p *Planner) Computers(ctx context.Context, id string) ([]string, error) {
	if i, _, err := p.lookup(id); err == nil && p.tenant[i] {
		return nil, nil
	}
	cs, err := p.computers(ctx, id)
	if err != nil {
		return nil, err
	}
	f := p.ix.Fleet()
	out := make([]string, len(cs))
	for k, c := range cs {
		out[k] = f.Computers[c].ID
	}
	return out, nil
}

// Tenants returns the ids of the tenants a tenant schedule's target selects
// (as a cloud task deployment's, tenants excluded from cross-tenant
// deployments left out of cross-tenant targets), sorted by id. A schedule of
// computers has none.
func (p *Planner) Tenants(ctx context.Context, id string) ([]string, error) {
	ts, err := p.tenants(ctx, id)
	if err != nil {
		return nil, err
	}
	f := p.ix.Fleet()
	out := make([]string, len(ts))
	for k, t := range ts {
		out[k] = f.Tenants[t].ID
	}
	return out, nil
}

func (p *Planner) tenants(ctx context.Context, id string) ([]int, error) {
	i, _, err := p.lookup(id)
	if err != nil {
		return nil, err
	}
	if !p.tenant[i] {
		return nil, nil
	}
	ts, err := p.m.ResolveTenants(ctx, i)
	if err != nil {
		return nil, fmt.Errorf("schedule %q: %w", id, err)
	}
	return ts, nil // sorted by tenant id
}

// member is one session target of a schedule: a computer, or a tenant's
// session.
type member struct {
	id   string // the session's Request.Computer
	zone string // its own zone's name
}

// members returns the sessions' targets of a schedule, sorted by id.
func (p *Planner) members(ctx context.Context, id string) ([]member, error) {
	i, _, err := p.lookup(id)
	if err != nil {
		return nil, err
	}
	f := p.ix.Fleet()
	if p.tenant[i] {
		ts, err := p.tenants(ctx, id)
		if err != nil {
			return nil, err
		}
		out := make([]member, 0, len(ts))
		for _, t := range ts {
			m := member{id: session.TenantSession(f.Tenants[t].ID)}
			if p.tzones != nil {
				m.zone = p.tzones[t]
			}
			out = append(out, m)
		}
		return out, nil
	}
	cs, err := p.computers(ctx, id)
	if err != nil {
		return nil, err
	}
	out := make([]member, 0, len(cs))
	for _, c := range cs {
		m := member{id: f.Computers[c].ID}
		if p.zones != nil {
			m.zone = p.zones[c]
		}
		out = append(out, m)
	}
	return out, nil
}

func (p *Planner) computers(ctx context.Context, id string) ([]int, error) {
	i, _, err := p.lookup(id)
	if err != nil {
		return nil, err
	}
	cs, err := p.m.Resolve(ctx, i)
	if fes, partial := err.(targets.FilterErrors); partial {
		// the computers the filter failed on sit this fire out; the others
		// start
		if p.cfg.OnFilterError != nil {
			for _, fe := range fes {
				p.cfg.OnFilterError(id, fe)
			}
		}
	} else if err != nil {
		return nil, fmt.Errorf("schedule %q: %w", id, err)
	}
	f := p.ix.Fleet()
	slices.SortFunc(cs, func(a, b int) int {
		if f.Computers[a].ID < f.Computers[b].ID {
			return -1
		}
		if f.Computers[a].ID > f.Computers[b].ID {
			return 1
		}
		return 0
	})
	return cs, nil
}

// Zones returns the time zones a schedule fires in, by name, sorted: its own,
// or the distinct zones of the computers (or, for a tenant schedule, the
// tenants) its target selects.
func (p *Planner) Zones(ctx context.Context, id string) ([]string, error) {
	_, s, err := p.lookup(id)
	if err != nil {
		return nil, err
	}
	if s.loc != nil {
		return []string{s.src.TimeZone}, nil
	}
	ms, err := p.members(ctx, id)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range ms {
		if m.zone != "" { // "": a zone that did not load; New refused it
			out = append(out, m.zone)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// Due returns the fires of a schedule to start now: in each zone it fires in
// (see Zones), the latest fire in (last, now]. When the engine was away over
// several fires, only the latest starts, once; one found more than
// Config.LateAfter after its time is Missed and starts at now. last is when
// the caller last asked (the now it passed then, persisted): a zero last
// means the schedule was never watched, and nothing is due, so that a new
// schedule does not start at once for a fire before it existed. A disabled
// schedule has no fires. Fires come sorted by time, then zone.
func (p *Planner) Due(ctx context.Context, id string, last, now time.Time) ([]Fire, error) {
	_, s, err := p.lookup(id)
	if err != nil {
		return nil, err
	}
	if s.src.Disabled || last.IsZero() {
		return nil, nil
	}
	zones, err := p.Zones(ctx, id)
	if err != nil {
		return nil, err
	}
	now = now.UTC()
	var out []Fire
	for _, z := range zones {
		loc := s.loc
		if loc == nil {
			loc = p.locs[z]
		}
		at, ok := s.Latest(last, now, loc)
		if !ok {
			continue
		}
		f := Fire{Schedule: id, Zone: z, At: at, Start: at}
		if now.Sub(at) > p.cfg.LateAfter {
			f.Missed, f.Start = true, now.Truncate(time.Second)
		}
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b Fire) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		if a.Zone < b.Zone {
			return -1
		}
		if a.Zone > b.Zone {
			return 1
		}
		return 0
	})
	return out, nil
}

// Poll returns the fires due now (Config.Now) for every enabled schedule,
// sorted by schedule id then as Due; last gives each schedule's last poll,
// and a schedule missing from it has nothing due (see Due).
func (p *Planner) Poll(ctx context.Context, last map[string]time.Time) ([]Fire, error) {
	now := p.cfg.Now()
	ids := make([]string, 0, len(p.schedules))
	for _, s := range p.schedules {
		ids = append(ids, s.src.ID)
	}
	slices.Sort(ids)
	var out []Fire
	for _, id := range ids {
		fs, err := p.Due(ctx, id, last[id], now)
		if err != nil {
			return nil, err
		}
		out = append(out, fs...)
	}
	return out, nil
}

// Sessions returns the sessions a fire starts, one for each computer of the
// schedule's target in the fire's zone, sorted by computer id; for a tenant
// schedule, one tenant session (Computer session.TenantSession(tenant),
// full maintenance of the tenant's cloud tasks) for each tenant of the
// target in the fire's zone, sorted by tenant id. The fire must be one of
// the schedule's (a time its cron gives in that zone).
func (p *Planner) Sessions(ctx context.Context, f Fire) ([]Session, error) {
	_, s, err := p.lookup(f.Schedule)
	if err != nil {
		return nil, err
	}
	loc := s.loc
	if loc == nil {
		loc = p.locs[f.Zone]
	} else if f.Zone != s.src.TimeZone {
		loc = nil
	}
	if loc == nil {
		return nil, fmt.Errorf("schedule %q: fire in zone %q, which it does not fire in: %w", f.Schedule, f.Zone, immy.ErrInvalid)
	}
	at := f.At.UTC()
	if got := s.Next(at.Add(-time.Nanosecond), loc); !got.Equal(at) {
		return nil, fmt.Errorf("schedule %q: %s is not one of its fires in %s: %w", f.Schedule, at.Format(time.RFC3339), f.Zone, immy.ErrInvalid)
	}
	start := f.Start.UTC()
	if start.Before(at) {
		start = at // zero, or a start before the fire: the fire's time
	}
	ms, err := p.members(ctx, f.Schedule)
	if err != nil {
		return nil, err
	}
	out := make([]Session, 0, len(ms))
	for _, m := range ms {
		if s.loc == nil && m.zone != f.Zone {
			continue
		}
		id := m.id
		detect, execute := s.Times(id, at, start)
		out = append(out, Session{
			Key: SessionKey(f.Schedule, at, id), Schedule: f.Schedule, Fire: at, Zone: f.Zone, Computer: id,
			Item: s.src.Item, Jitter: detect.Sub(start), DetectAt: detect, ExecuteAt: execute,
		})
	}
	return out, nil
}

// Batches returns a fire's sessions (as Sessions) in batches of at most
// Config.BatchSize, for the caller to create one batch at a time.
func (p *Planner) Batches(ctx context.Context, f Fire) ([][]Session, error) {
	ss, err := p.Sessions(ctx, f)
	if err != nil {
		return nil, err
	}
	var out [][]Session
	for chunk := range slices.Chunk(ss, p.cfg.BatchSize) {
		out = append(out, chunk)
	}
	return out, nil
}
