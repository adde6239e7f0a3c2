package immytest

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/immyoss/engine/immy"
)

// GenConfig sizes a generated fleet. A zero count takes the default written
// beside it; a negative count means none (except Tenants: a fleet has at least
// the MSP's own tenant). The counts are exact where the fleet can hold them:
// groups need persons or computers to hold, and are fewer when there are none.
type GenConfig struct {
	// Seed picks the fleet: the same GenConfig always gives the same fleet.
	Seed int64
	// At is the fleet's evaluation time; zero means 2026-11-23T10:00:00Z
	// (never the clock, so that fleets do not change from day to day).
	At time.Time

	Tenants     int // default 20; tenant 0 is the MSP's own, "msp"
	Computers   int // default 1000
	Persons     int // default Computers/4
	Groups      int // default 2 per tenant
	Agreements  int // default 1 per tenant
	Software    int // default 40; the first 48 are well-known products, the rest line-of-business apps
	Tasks       int // default 8; the first 12 are well-known tasks
	Deployments int // default 3 per item (software and task)
	Schedules   int // default 3
	// PrereqDepth bounds the prerequisite chains: the longest path from a
	// software through its prerequisites (of the software or of a version).
	// Default 3; negative means no prerequisites.
	PrereqDepth int

	// Mix weighs the target types of computer deployments; the zero Mix is
	// [DefaultMix].
	Mix TargetMix
	// Filters says how filter targets are written; the zero value is
	// FiltersFew.
	Filters FilterStyle
}

// TargetMix weighs the target types of generated deployments of software and
// computer tasks; a weight is relative to the others. A type the fleet cannot
// serve (a person target without persons) falls back to all computers of a tenant.
// Deployments of tenant (cloud) tasks always use tenant targets.
type TargetMix struct {
	AllComputers    int // all computers, cross tenant, sometimes with a group filter
	TenantComputers int // all computers of a tenant, sometimes propagated to its children
	Computer        int
	Person          int
	Tag             int // "canary", "vip", ...; cross tenant or within a tenant
	Group           int // a static computer group or a user group
	Expr            int // an expr filter
	Lua             int // a Lua filter
	ClientGroup     int
	DeviceGroup     int
}

// DefaultMix is the target mix of an MSP's deployments: mostly whole tenants,
// then individual computers, tags, groups and filters.
var DefaultMix = TargetMix{
	AllComputers: 8, TenantComputers: 34, Computer: 10, Person: 5, Tag: 10,
	Group: 10, Expr: 10, Lua: 3, ClientGroup: 6, DeviceGroup: 4,
}

// FilteredMix is the target mix of an MSP that targets by filter, as MSPs
// that run many customers come to: two in five of the computer deployments
// are filters, one in four of them Lua.
var FilteredMix = TargetMix{
	AllComputers: 6, TenantComputers: 24, Computer: 8, Person: 4, Tag: 8,
	Group: 8, Expr: 33, Lua: 11, ClientGroup: 5, DeviceGroup: 3,
}

// FleetScale is the preset of the engine's benchmarks: computers computers and
// the rest in proportion to them, as an MSP of that size has, with filters as
// MSPs write them. FleetScale(100_000) is 2,000 tenants, 20,000 persons, 2,000
// groups, 5,000 deployments over 500 items (475 software, 25 tasks) with
// prerequisite chains up to 4 deep; over a third of the deployments target
// by filter (FilteredMix), most filters distinct (FiltersDistinct).
func FleetScale(computers int) GenConfig {
	cfg := FleetScaleUniform(computers)
	cfg.Mix, cfg.Filters = FilteredMix, FiltersDistinct
	return cfg
}

// FleetScaleUniform is FleetScale with the DefaultMix of targets and filters
// drawn from a dozen sources (FiltersFew): the shape the engine's benchmarks
// had first, when a fleet of 100,000 computers had some 600 filter targets
// of 16 distinct sources.
func FleetScaleUniform(computers int) GenConfig {
	items := max(20, computers/200)
	tasks := max(4, items/20)
	return GenConfig{
		Seed:        1,
		Tenants:     max(2, computers/50),
		Computers:   computers,
		Persons:     max(1, computers/5),
		Groups:      max(2, computers/50),
		Agreements:  max(2, computers/50),
		Software:    items - tasks,
		Tasks:       tasks,
		Deployments: max(50, computers/20),
		Schedules:   5,
		PrereqDepth: 4,
	}
}

// withDefaults resolves the zero and negative counts.
func (c GenConfig) withDefaults() GenConfig {
	count := func(n, def int) int {
		switch {
		case n == 0:
			return def
		case n < 0:
			return 0
		}
		return n
	}
	if c.At.IsZero() {
		c.At = time.Date(2026, time.November, 23, 10, 0, 0, 0, time.UTC)
	}
	c.Tenants = max(1, count(c.Tenants, 20))
	c.Computers = count(c.Computers, 1000)
	c.Persons = count(c.Persons, c.Computers/4)
	c.Groups = count(c.Groups, 2*c.Tenants)
	c.Agreements = count(c.Agreements, c.Tenants)
	c.Software = count(c.Software, 40)
	c.Tasks = count(c.Tasks, 8)
	c.Deployments = count(c.Deployments, 3*(c.Software+c.Tasks))
	c.Schedules = count(c.Schedules, 3)
	c.PrereqDepth = count(c.PrereqDepth, 3)
	if c.Mix == (TargetMix{}) {
		c.Mix = DefaultMix
	}
	return c
}

// Generate returns a synthetic fleet as GenConfig sizes it. It is deterministic
// (the same config gives the same fleet, with a given release of Go, whose
// math/rand/v2 may change how it draws between releases), valid ([immy.Fleet.Validate] finds no
// problem), and drawn to look like an MSP's:
//
//   - tenants: "msp" (the MSP's own) and customers, some the children of others
//     (at most three levels), a few tagged ("vip", "healthcare", "legal",
//     "pilot"), a few excluded from cross-tenant deployments; their sizes
//     vary as customers' do (a log-normal spread), some use an RMM integration;
//   - computers: spread over the tenants by those sizes; mostly workstations
//     and portables, some servers, few domain controllers; Windows 10 and 11
//     editions, Windows Server 2016 to 2025, a few macOS and Ubuntu; tags
//     ("canary", "finance", "kiosk", ...); attributes "site" (hq, branch,
//     remote, datacenter) and "department"; mostly online and onboarded; up to
//     ten UPNs of their tenant's persons, newest first, mostly their main user
//     (now and then in upper case); detected software of the catalogue with
//     Windows-style versions (current, older, older than the catalogue knows,
//     or newer), plus software the catalogue does not know; pathways (the
//     engine's agent, the tenant's RMM) and device groups;
//   - persons in proportion to their tenant's computers, with unique UPNs;
//   - user and computer groups of one tenant (a few cross tenant), some
//     nesting earlier groups of their tenant and kind, so never in a cycle;
//   - agreements for client groups, most active at At, some expired or future;
//   - software: well-known products first (runtimes such as the Visual C++
//     redistributable at the start), then line-of-business apps, some private
//     to a tenant; one to five versions, newest first; detection by glob,
//     regex or upgrade code; prerequisites (install, uninstall or fail) that
//     only point to earlier software, chains up to PrereqDepth long;
//   - tasks: computer tasks with typed parameters (passwords among them),
//     onboarding-only ones, tenant (cloud) tasks;
//   - deployments: items weighted by how common they are, targets by Mix,
//     desired states and modes in realistic proportions, priorities, a few
//     optional (approved for some computers), ad hoc, onboarding, disabled or
//     recommended; a private item is only deployed within its tenant;
//   - schedules.
//
// Each section is drawn from its own random stream, so changing the count of
// one section (say Deployments) leaves the sections drawn before it unchanged.
// Generate is fast enough to run in a benchmark's setup: FleetScale(100_000)
// takes well under a second.
func Generate(cfg GenConfig) *immy.Fleet {
	cfg = cfg.withDefaults()
	g := &generator{cfg: cfg, f: &immy.Fleet{At: cfg.At}}
	g.tenants()
	g.persons()
	g.tasks()
	g.software()
	g.computers()
	g.groups()
	g.agreements()
	g.deployments()
	g.schedules()
	return g.f
}

type generator struct {
	cfg GenConfig
	f   *immy.Fleet

	// tenants
	prefix      []string // computer name prefix
	domain      []string // UPN domain
	rmm         []string // integration of the tenant's RMM, "" for none
	hasChildren []bool
	compStart   []int // computers of tenant t are compStart[t]:compStart[t+1]
	personStart []int // persons likewise
	byComputers picker
	byPersons   picker
	withPersons int // tenants with persons

	// catalogue
	swDetected []string
	swVersions [][]immy.Version // ascending
	swLegacy   []immy.Version   // older than every version
	swNewer    []immy.Version   // newer than every version
	swOwner    []int            // owner tenant index, -1 for none
	swDepth    []int
	swPick     picker // by how common
	compTasks  []int  // indices of computer tasks

	filters *filterComposer // of FiltersDistinct, made when first needed
}

// Streams of the sections.
const (
	streamTenants = iota + 1
	streamPersons
	streamTasks
	streamSoftware
	streamComputers
	streamGroups
	streamAgreements
	streamDeployments
	streamSchedules
	streamFilters
)

type rnd struct{ *rand.Rand }

func (g *generator) rand(stream uint64) rnd {
	return rnd{rand.New(rand.NewPCG(uint64(g.cfg.Seed), stream*0x9E3779B97F4A7C15))}
}

// pct reports true p times in a hundred.
func (r rnd) pct(p int) bool { return r.IntN(100) < p }

// between returns an int in [lo, hi].
func (r rnd) between(lo, hi int) int { return lo + r.IntN(hi-lo+1) }

func pick[T any](r rnd, s []T) T { return s[r.IntN(len(s))] }

// picker draws indices in proportion to weights.
type picker struct {
	cum []float64
}

func newPicker(weights []float64) picker {
	p := picker{cum: make([]float64, len(weights))}
	total := 0.0
	for i, w := range weights {
		total += w
		p.cum[i] = total
	}
	return p
}

func (p picker) total() float64 {
	if len(p.cum) == 0 {
		return 0
	}
	return p.cum[len(p.cum)-1]
}

// pick returns an index, or -1 when every weight is zero.
func (p picker) pick(r rnd) int {
	t := p.total()
	if t <= 0 {
		return -1
	}
	x := r.Float64() * t
	// The first cumulative weight above x: its own weight is not zero.
	i := sort.Search(len(p.cum), func(i int) bool { return p.cum[i] > x })
	return min(i, len(p.cum)-1)
}

// apportion splits total over weights by largest remainders, deterministically.
func apportion(total int, weights []float64) []int {
	out := make([]int, len(weights))
	sum := 0.0
	for _, w := range weights {
		sum += w
	}
	if sum == 0 || total == 0 {
		return out
	}
	type rem struct {
		i    int
		frac float64
	}
	rems := make([]rem, len(weights))
	given := 0
	for i, w := range weights {
		exact := float64(total) * w / sum
		out[i] = int(exact)
		given += out[i]
		rems[i] = rem{i, exact - float64(out[i])}
	}
	slices.SortStableFunc(rems, func(a, b rem) int { return cmp.Compare(b.frac, a.frac) })
	for k := 0; given < total; k++ {
		out[rems[k%len(rems)].i]++
		given++
	}
	return out
}

// width is the number of digits of n-1, at least 1.
func width(n int) int { return len(strconv.Itoa(max(n-1, 0))) }

// appendPad appends n in decimal, zero-padded to w digits.
func appendPad(b []byte, n, w int) []byte {
	var d [20]byte
	s := strconv.AppendInt(d[:0], int64(n), 10)
	for i := len(s); i < w; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}

func padID(prefix string, n, w int) string {
	b := make([]byte, 0, len(prefix)+w+2)
	return string(appendPad(append(b, prefix...), n, w))
}

func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
		} else {
			dash = true
		}
	}
	return b.String()
}

const hexDigits = "0123456789ABCDEF"

// appendGUID appends a random GUID, in upper or lower case hex.
func appendGUID(b []byte, r rnd, lower bool) []byte {
	hi, lo := r.Uint64(), r.Uint64()
	for i := range 32 {
		if i == 8 || i == 12 || i == 16 || i == 20 {
			b = append(b, '-')
		}
		var nib uint64
		if i < 16 {
			nib = hi >> (60 - 4*i) & 0xF
		} else {
			nib = lo >> (60 - 4*(i-16)) & 0xF
		}
		c := hexDigits[nib]
		if lower && c >= 'A' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}

func (g *generator) tenants() {
	r := g.rand(streamTenants)
	n := g.cfg.Tenants
	w := width(n)
	f := g.f
	f.Tenants = make([]immy.Tenant, n)
	g.prefix = make([]string, n)
	g.domain = make([]string, n)
	g.rmm = make([]string, n)
	g.hasChildren = make([]bool, n)
	depth := make([]int, n)
	weights := make([]float64, n)
	for i := range n {
		t := &f.Tenants[i]
		if i == 0 {
			*t = immy.Tenant{ID: "msp", Name: "Example MSP", TimeZone: "America/New_York"}
			g.prefix[0], g.domain[0], g.rmm[0] = "MSP", "example-msp.com", ""
			weights[0] = 0.3
			continue
		}
		company := pick(r, genCompanies)
		s := slug(company)
		t.ID = padID(s+"-", i, w)
		t.Name = company + pick(r, genCompanySuffixes)
		if i >= 2 && r.pct(15) {
			p := r.between(1, i-1)
			if depth[p] < 2 {
				t.Parent = f.Tenants[p].ID
				t.Name = f.Tenants[p].Name + " " + pick(r, genBranches)
				depth[i] = depth[p] + 1
				g.hasChildren[p] = true
			}
		}
		for _, tg := range genTenantTags {
			if r.pct(tg.pct) {
				t.Tags = append(t.Tags, tg.tag)
			}
		}
		t.ExcludeFromCrossTenant = r.pct(3)
		t.TimeZone = pick(r, genTimeZones)
		if r.pct(30) {
			t.BusinessHours = &immy.BusinessHours{Start: "08:00", End: "18:00",
				Weekdays: []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}}
		}
		word, _, _ := strings.Cut(s, "-")
		g.prefix[i] = strings.ToUpper(word[:min(len(word), 8)]) + strconv.Itoa(i)
		g.domain[i] = padID(strings.ReplaceAll(s, "-", ""), i, w) + ".com"
		if r.pct(60) {
			g.rmm[i] = pick(r, genIntegrations)
		}
		weights[i] = math.Exp(1.1 * r.NormFloat64())
	}
	counts := apportion(g.cfg.Computers, weights)
	g.compStart = starts(counts)
	cw := make([]float64, n)
	for i, c := range counts {
		cw[i] = float64(c)
	}
	g.byComputers = newPicker(cw)
	pw := make([]float64, n)
	for i, c := range counts {
		pw[i] = float64(c) + 0.3
	}
	pcounts := apportion(g.cfg.Persons, pw)
	g.personStart = starts(pcounts)
	for i := range pw {
		pw[i] = float64(pcounts[i])
		if pcounts[i] > 0 {
			g.withPersons++
		}
	}
	g.byPersons = newPicker(pw)
}

func starts(counts []int) []int {
	s := make([]int, len(counts)+1)
	for i, c := range counts {
		s[i+1] = s[i] + c
	}
	return s
}

func (g *generator) persons() {
	r := g.rand(streamPersons)
	n := g.personStart[len(g.personStart)-1]
	w := width(n)
	g.f.Persons = make([]immy.Person, n)
	for t := range g.f.Tenants {
		seen := map[string]int{}
		for i := g.personStart[t]; i < g.personStart[t+1]; i++ {
			first, last := pick(r, genFirstNames), pick(r, genLastNames)
			local := first + "." + last
			if k := seen[local]; k > 0 {
				seen[local] = k + 1
				local += strconv.Itoa(k + 1)
			} else {
				seen[local] = 1
			}
			p := &g.f.Persons[i]
			*p = immy.Person{
				ID:     padID("p-", i, w),
				Tenant: g.f.Tenants[t].ID,
				Name:   strings.ToUpper(first[:1]) + first[1:] + " " + strings.ToUpper(last[:1]) + last[1:],
				UPN:    local + "@" + g.domain[t],
			}
			for _, tg := range genPersonTags {
				if r.pct(tg.pct) {
					p.Tags = append(p.Tags, tg.tag)
				}
			}
		}
	}
}
