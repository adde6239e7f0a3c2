package immytest

import (
	"cmp"
	"maps"
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

func (g *generator) tasks() {
	r := g.rand(streamTasks)
	n := g.cfg.Tasks
	w := width(n)
	g.f.Tasks = make([]immy.Task, n)
	for i := range n {
		t := &g.f.Tasks[i]
		if i < len(genTasks) {
			gt := genTasks[i]
			*t = immy.Task{
				ID: gt.id, Name: gt.name, Category: gt.category, OnboardingOnly: gt.onboarding,
				ExecuteSerially: gt.serial, Parameters: cloneParams(gt.params),
			}
			if r.pct(50) {
				t.Origin = immy.OriginGlobal
			}
		} else {
			t.ID = padID("task-", i, w)
			t.Name = "Custom script " + strconv.Itoa(i)
			t.OnboardingOnly = r.pct(8)
			t.ExecuteSerially = r.pct(5)
			if r.pct(40) {
				t.Parameters = []immy.Parameter{{Name: "value", Type: immy.ParamText, Required: r.pct(50)}}
			}
			if r.pct(10) {
				t.Category = immy.TaskTenant
			}
		}
		if t.Category == immy.TaskTenant {
			t.Script = &immy.Script{Language: immy.Lua, Context: immy.ContextCloud,
				Body: "-- method is get, set or test\nreturn method ~= \"test\" or tenant_ok()"}
		} else {
			t.Script = &immy.Script{Language: immy.PowerShell, Context: immy.ContextSystem,
				Body: "param($Method)\nswitch ($Method) { 'test' { Test-Setting } 'set' { Set-Setting } 'get' { Get-Setting } }"}
			g.compTasks = append(g.compTasks, i)
		}
		switch {
		case t.OnboardingOnly:
		case r.pct(4):
			t.Order = immy.Order{Location: immy.OrderBeginning, Position: r.between(1, 5)}
		case r.pct(4):
			t.Order = immy.Order{Location: immy.OrderEnd, Position: r.between(1, 5)}
		}
	}
}

func cloneParams(ps []immy.Parameter) []immy.Parameter {
	ps = slices.Clone(ps)
	for i := range ps {
		ps[i].Options = slices.Clone(ps[i].Options)
		if m, ok := ps[i].Default.(map[string]string); ok {
			ps[i].Default = maps.Clone(m)
		}
	}
	return ps
}

// versions returns k ascending version texts of a style.
func versions(r rnd, st genVersionStyle, k int) []string {
	var seg [4]int
	for i := range st.segs {
		seg[i] = r.between(st.base[i][0], st.base[i][1])
	}
	out := make([]string, 0, k+2)
	// One before the first: a version older than the catalogue knows.
	older := seg
	older[0]--
	out = append(out, formatVersion(st, older))
	for range k + 1 {
		out = append(out, formatVersion(st, seg))
		// Bump one segment, mostly a low one, and draw the ones below it anew.
		pos := st.segs - 1
		switch x := r.IntN(10); {
		case x < 3 && st.segs > 1:
			pos = st.segs - 2
		case x < 4:
			pos = 0
		}
		for pos > 0 && st.step[pos] == 0 {
			pos--
		}
		seg[pos] += 1 + r.IntN(max(st.step[pos], 1))
		for i := pos + 1; i < st.segs; i++ {
			seg[i] = r.between(st.base[i][0], st.base[i][0]+st.step[i])
		}
	}
	return out // older, v1 ... vk, newer
}

func formatVersion(st genVersionStyle, seg [4]int) string {
	var b []byte
	for i := range st.segs {
		if i > 0 {
			b = append(b, '.')
		}
		w := 0
		if i == 1 {
			w = st.width
		}
		b = appendPad(b, max(seg[i], 0), w)
	}
	return string(b)
}

func (g *generator) software() {
	r := g.rand(streamSoftware)
	n := g.cfg.Software
	w := width(n)
	f := g.f
	f.Software = make([]immy.Software, n)
	g.swDetected = make([]string, n)
	g.swVersions = make([][]immy.Version, n)
	g.swLegacy = make([]immy.Version, n)
	g.swNewer = make([]immy.Version, n)
	g.swOwner = make([]int, n)
	g.swDepth = make([]int, n)
	weights := make([]float64, n)
	runtimes := 0
	maxDepth := g.cfg.PrereqDepth
	for i := range n {
		s := &f.Software[i]
		g.swOwner[i] = -1
		var style genVersionStyle
		var real *genSoftware
		if i < len(genCatalogue) {
			real = &genCatalogue[i]
			s.ID, s.Name, style = real.id, real.name, real.style
			g.swDetected[i] = cmp.Or(real.detected, real.name)
			switch {
			case real.upgradeID != "":
				s.Detection.UpgradeCode = real.upgradeID
			case real.regex != "":
				s.Detection.Regex = real.regex
			default:
				s.Detection.DisplayName = cmp.Or(real.glob, g.swDetected[i])
			}
			if r.pct(70) {
				s.Origin = immy.OriginGlobal
			}
			weights[i] = float64(real.pct)
			if real.runtime {
				runtimes = i + 1
			}
		} else {
			name := pick(r, genVendors) + " " + pick(r, genProducts) + " " + strconv.Itoa(i)
			s.ID, s.Name, style = padID(slug(name[:strings.LastIndexByte(name, ' ')])+"-", i, w), name, pick(r, genSyntheticStyles)
			g.swDetected[i] = name
			if r.pct(8) {
				b := append([]byte("{"), appendGUID(nil, r, false)...)
				s.Detection.UpgradeCode = string(append(b, '}'))
			} else {
				s.Detection.DisplayName = name
			}
			weights[i] = 0.5 + 3*r.Float64()
			if r.pct(12) && g.byComputers.total() > 0 {
				if t := g.byComputers.pick(r); t > 0 {
					g.swOwner[i] = t
					s.Tenant = f.Tenants[t].ID
					weights[i] = 0 // found only on its tenant's computers
				}
			}
		}

		k := 1
		switch x := r.IntN(100); {
		case x >= 90:
			k = 5
		case x >= 75:
			k = 4
		case x >= 45:
			k = 3
		case x >= 15:
			k = 2
		}
		texts := versions(r, style, k)
		vs := make([]immy.Version, len(texts))
		for j, t := range texts {
			vs[j] = immy.MustParseVersion(t)
		}
		g.swLegacy[i], g.swNewer[i] = vs[0], vs[len(vs)-1]
		g.swVersions[i] = vs[1 : len(vs)-1]
		s.Versions = make([]immy.SoftwareVersion, k)
		for j := range k {
			s.Versions[j].Version = g.swVersions[i][k-1-j] // newest first
		}

		switch x := r.IntN(100); {
		case x < 60:
			s.UpgradeStrategy = immy.UpgradeInstallOver
		case x < 85:
			s.UpgradeStrategy = immy.UpgradeUninstallInstall
		case x < 95:
			s.UpgradeStrategy = immy.UpgradeScript
			s.Upgrade = &immy.Script{Language: immy.PowerShell, Body: "Start-Process -Wait $InstallerFile -ArgumentList '/upgrade', '/quiet'"}
		}
		if r.pct(50) {
			s.RepairStrategy = immy.RepairInstallOver
		}
		s.Install = &immy.Script{Language: immy.PowerShell, Body: "Start-Process -Wait msiexec.exe -ArgumentList '/i', $InstallerFile, '/qn', '/norestart'"}
		s.Uninstall = &immy.Script{Language: immy.PowerShell, Body: "Start-Process -Wait msiexec.exe -ArgumentList '/x', $ProductCode, '/qn', '/norestart'"}
		if r.pct(10) {
			s.Test = &immy.Script{Language: immy.PowerShell, Body: "Test-Path \"$env:ProgramFiles\\" + s.Name + "\""}
		}

		if maxDepth > 0 && i > 0 && (real == nil || !real.runtime) {
			g.prerequisites(r, i, runtimes)
		}
		if len(g.compTasks) > 0 && r.pct(8) {
			s.ConfigurationTask = f.Tasks[pick(r, g.compTasks)].ID
		}
		switch {
		case r.pct(4):
			s.Order = immy.Order{Location: immy.OrderBeginning, Position: r.between(1, 5)}
		case r.pct(4):
			s.Order = immy.Order{Location: immy.OrderEnd, Position: r.between(1, 5)}
		}
	}
	g.swPick = newPicker(weights)
}

// prerequisites gives software i prerequisites on earlier, public software
// whose chains leave room under PrereqDepth. Every tenth software extends the
// deepest chain, so that chains of the full depth exist.
func (g *generator) prerequisites(r rnd, i, runtimes int) {
	s := &g.f.Software[i]
	maxDepth := g.cfg.PrereqDepth
	usable := func(j int) bool { return g.swOwner[j] < 0 && g.swDepth[j] < maxDepth }
	deepest := func() int {
		best := -1
		for j := i - 1; j >= 0; j-- {
			if usable(j) && (best < 0 || g.swDepth[j] > g.swDepth[best]) {
				best = j
			}
		}
		return best
	}
	var chosen []int
	choose := func() int {
		for range 8 {
			var j int
			switch x := r.IntN(100); {
			case x < 45 && runtimes > 0 && i > runtimes:
				j = r.IntN(runtimes)
			case x < 65:
				j = deepest()
			default:
				j = r.IntN(i)
			}
			if j >= 0 && usable(j) && !slices.Contains(chosen, j) {
				return j
			}
		}
		return -1
	}
	count := 0
	switch {
	case i%10 == 9:
		if j := deepest(); j >= 0 {
			chosen = append(chosen, j)
			s.Prerequisites = append(s.Prerequisites, requires(g.f.Software[j].ID))
		}
	case r.pct(35):
		count = 1
		if r.pct(20) {
			count = 2
		}
	}
	for range count {
		j := choose()
		if j < 0 {
			break
		}
		chosen = append(chosen, j)
		id := g.f.Software[j].ID
		var p immy.Prerequisite
		switch x := r.IntN(100); {
		case x < 78 || j < runtimes: // runtimes are only ever installed
			p = requires(id)
		case x < 90:
			p = immy.Prerequisite{Condition: immy.ConditionInstalled, Quantifier: immy.AnyOf, Subjects: []string{id}, Then: immy.PrereqUninstall, On: []string{id}}
		default:
			p = immy.Prerequisite{Condition: immy.ConditionInstalled, Quantifier: immy.AnyOf, Subjects: []string{id}, Then: immy.PrereqFail}
		}
		s.Prerequisites = append(s.Prerequisites, p)
	}
	// A version that needs a version of another software.
	if len(s.Versions) >= 2 && r.pct(10) {
		if j := choose(); j >= 0 {
			chosen = append(chosen, j)
			p := requires(g.f.Software[j].ID)
			p.Version = g.f.Software[j].Versions[0].Version
			s.Versions[0].Prerequisites = append(s.Versions[0].Prerequisites, p)
		}
	}
	for _, j := range chosen {
		g.swDepth[i] = max(g.swDepth[i], g.swDepth[j]+1)
	}
}

func requires(id string) immy.Prerequisite {
	return immy.Prerequisite{Condition: immy.ConditionNotInstalled, Quantifier: immy.AnyOf,
		Subjects: []string{id}, Then: immy.PrereqInstall, On: []string{id}}
}

var (
	kindCodes = [...]string{immy.KindWorkstation: "-WS-", immy.KindPortable: "-LT-", immy.KindServer: "-SRV-",
		immy.KindDomainController: "-DC-", immy.KindPrimaryDomainController: "-DC-"}
	serialChars = "0123456789BCDFGHJKLMNPQRSTVWXYZ"
)

func (g *generator) computers() {
	r := g.rand(streamComputers)
	f := g.f
	n := g.cfg.Computers
	w := width(n)
	f.Computers = make([]immy.Computer, n)
	var buf []byte
	var picked [16]int
	// Small slices are cut from shared blocks, each with its capacity at its
	// length, so that appending to one never writes into its neighbour.
	var (
		strs     arena[string]
		detected arena[immy.DetectedSoftware]
		pathways arena[immy.Pathway]
	)
	private := make([][]int, len(f.Tenants))
	for j, t := range g.swOwner {
		if t >= 0 {
			private[t] = append(private[t], j)
		}
	}
	for t := range f.Tenants {
		tenant := f.Tenants[t].ID
		p0, p1 := g.personStart[t], g.personStart[t+1]
		for i := g.compStart[t]; i < g.compStart[t+1]; i++ {
			c := &f.Computers[i]
			c.Tenant = tenant

			var hw []genHardware
			switch x := r.IntN(1000); {
			case x < 580:
				c.Kind, hw = immy.KindWorkstation, genDesktopHardware
			case x < 900:
				c.Kind, hw = immy.KindPortable, genPortableHardware
			case x < 975:
				c.Kind, hw = immy.KindServer, genServerHardware
			case x < 995:
				c.Kind, hw = immy.KindDomainController, genServerHardware
			default:
				c.Kind, hw = immy.KindPrimaryDomainController, genServerHardware
			}
			server := c.Kind >= immy.KindServer
			// The computer's texts share one string: one allocation, not seven.
			var end [7]int
			buf = appendPad(append(buf[:0], "c-"...), i, w)
			end[0] = len(buf)
			buf = appendPad(append(append(buf, g.prefix[t]...), kindCodes[c.Kind]...), i-g.compStart[t]+1, 3)
			end[1] = len(buf)
			buf = appendGUID(buf, r, false)
			end[2] = len(buf)
			for range 7 {
				buf = append(buf, serialChars[r.IntN(len(serialChars))])
			}
			end[3] = len(buf)
			buf = appendGUID(buf, r, true)
			end[4] = len(buf)
			buf = appendHex(buf, r)
			end[5] = len(buf)
			buf = appendHex(buf, r)
			end[6] = len(buf)
			text := string(buf)
			c.ID, c.Name, c.UUID, c.Serial = text[:end[0]], text[end[0]:end[1]], text[end[1]:end[2]], text[end[2]:end[3]]
			c.OSInstallID = text[end[3]:end[4]]
			agents := [2]string{text[end[4]:end[5]], text[end[5]:end[6]]}
			h := pick(r, hw)
			c.Manufacturer, c.Model = h.manufacturer, pick(r, h.models)
			if server {
				c.OS = pickOS(r, genServerOS)
			} else {
				c.OS = pickOS(r, genDesktopOS)
			}
			for _, tg := range genComputerTags {
				if r.pct(tg.pct) {
					c.Tags = append(c.Tags, tg.tag)
				}
			}
			site := "hq"
			if !server || r.pct(40) {
				x, acc := r.IntN(100), 0
				for _, s := range genSites {
					if acc += s.weight; x < acc {
						site = s.name
						break
					}
				}
			}
			if server && site != "hq" {
				site = "datacenter"
			}
			if !server && r.pct(60) {
				c.Attributes = map[string]string{"site": site, "department": pick(r, genDepartments)}
			} else {
				c.Attributes = map[string]string{"site": site}
			}
			c.Online = r.pct(85) || server && r.pct(80)
			switch x := r.IntN(100); {
			case x < 3:
				c.Onboarding = immy.NeedsOnboarding
			case x < 5:
				c.Onboarding = immy.Onboarding
			}
			c.ExcludedFromMaintenance = r.pct(1)

			// UPNs: mostly the main user, newest first.
			if np := p1 - p0; np > 0 {
				main := p0 + r.IntN(np)
				k := 0
				switch {
				case server:
					k = r.IntN(3)
				default:
					k = 1 + min(r.IntN(4)*r.IntN(4), immy.MaxUPNs-1)
				}
				if k > 0 {
					c.UPNs = strs.take(k)
					for j := range k {
						who := main
						if r.pct(25) || server {
							who = p0 + r.IntN(np)
						}
						upn := f.Persons[who].UPN
						if r.pct(3) {
							upn = strings.ToUpper(upn)
						}
						c.UPNs[j] = upn
					}
				}
			}

			// Detected software: some of the catalogue, by how common, and some it does not know.
			nsw := 0
			if g.swPick.total() > 0 {
				want := r.between(2, 10)
				if server {
					want = r.between(1, 5)
				}
				for range want + 4 {
					j := g.swPick.pick(r)
					if nsw < want && !slices.Contains(picked[:nsw], j) {
						picked[nsw] = j
						nsw++
					}
				}
			}
			// Private line-of-business software sits on most of its tenant's computers.
			for _, j := range private[t] {
				if nsw < len(picked) && r.pct(60) {
					picked[nsw] = j
					nsw++
				}
			}
			noise := r.IntN(3)
			c.Software = detected.take(nsw + noise)
			for k, j := range picked[:nsw] {
				d := &c.Software[k]
				d.Name = g.swDetected[j]
				d.UpgradeCode = f.Software[j].Detection.UpgradeCode
				vs := g.swVersions[j]
				switch x := r.IntN(100); {
				case x < 45:
					d.Version = vs[len(vs)-1]
				case x < 70:
					d.Version = vs[max(len(vs)-2, 0)]
				case x < 85:
					d.Version = vs[r.IntN(len(vs))]
				case x < 95:
					d.Version = g.swLegacy[j]
				default:
					d.Version = g.swNewer[j]
				}
			}
			for k := nsw; k < len(c.Software); k++ {
				c.Software[k].Name = pick(r, genNoiseSoftware)
				c.Software[k].Version = noiseVersions[r.IntN(len(noiseVersions))]
			}

			if len(g.compTasks) > 0 && r.pct(8) {
				c.Tasks = map[string]bool{f.Tasks[pick(r, g.compTasks)].ID: r.pct(70)}
			}

			// Pathways: the engine's agent and the tenant's RMM.
			own := r.pct(70) || g.rmm[t] == ""
			np := 0
			if own {
				np++
			}
			if g.rmm[t] != "" {
				np++
			}
			c.Pathways = pathways.take(np)[:0]
			if g.rmm[t] != "" {
				c.Pathways = append(c.Pathways, immy.Pathway{Integration: g.rmm[t], AgentID: agents[0], Online: c.Online, Priority: 1})
				ring := ""
				switch x := r.IntN(100); {
				case x < 15:
					ring = "patch-ring-1"
				case x < 25:
					ring = "patch-ring-2"
				}
				ndg := 1
				if ring != "" {
					ndg = 2
				}
				c.DeviceGroups = strs.take(ndg)
				switch c.Kind {
				case immy.KindWorkstation:
					c.DeviceGroups[0] = "rmm-workstations"
				case immy.KindPortable:
					c.DeviceGroups[0] = "rmm-laptops"
				default:
					c.DeviceGroups[0] = "rmm-servers"
				}
				if ring != "" {
					c.DeviceGroups[1] = ring
				}
			}
			if own {
				online := c.Online && (len(c.Pathways) == 0 || r.pct(85))
				c.Pathways = append(c.Pathways, immy.Pathway{AgentID: agents[1], Online: online, Priority: 2})
			}
		}
	}
}

// arena hands out small slices cut from larger blocks.
type arena[T any] struct{ block []T }

// take returns a slice of n zero values whose capacity is n, or nil for 0.
func (a *arena[T]) take(n int) []T {
	if n == 0 {
		return nil
	}
	if len(a.block) < n {
		a.block = make([]T, max(n, 2048))
	}
	s := a.block[:n:n]
	a.block = a.block[n:]
	return s
}

var noiseVersions = []immy.Version{
	immy.MustParseVersion("5.72.0.0"), immy.MustParseVersion("3.1.0.0"),
	immy.MustParseVersion("2406.5.0.0"), immy.MustParseVersion("6.0.9600.17041"),
}

// appendHex appends 16 random lower-case hex digits.
func appendHex(b []byte, r rnd) []byte {
	const digits = "0123456789abcdef"
	x := r.Uint64()
	for i := range 16 {
		b = append(b, digits[x>>(60-4*i)&0xF])
	}
	return b
}

func pickOS(r rnd, list []genOS) string {
	total := 0
	for _, o := range list {
		total += o.weight
	}
	x := r.IntN(total)
	for _, o := range list {
		if x < o.weight {
			return o.name
		}
		x -= o.weight
	}
	return list[len(list)-1].name
}

func (g *generator) groups() {
	r := g.rand(streamGroups)
	f := g.f
	n := g.cfg.Groups
	w := width(n)
	type key struct {
		tenant int
		kind   immy.GroupKind
	}
	earlier := map[key][]int{}
	nComputers := len(f.Computers)
	for range n {
		kind := immy.GroupComputers
		if g.withPersons > 0 && (r.pct(55) || nComputers == 0) {
			kind = immy.GroupPersons
		}
		if kind == immy.GroupComputers && nComputers == 0 {
			break // nothing to hold
		}
		tenant := -1
		var lo, hi int // members are drawn from [lo, hi)
		switch {
		case kind == immy.GroupPersons:
			tenant = g.byPersons.pick(r)
			lo, hi = g.personStart[tenant], g.personStart[tenant+1]
		case r.pct(5):
			lo, hi = 0, nComputers // cross tenant
		default:
			tenant = g.byComputers.pick(r)
			lo, hi = g.compStart[tenant], g.compStart[tenant+1]
		}
		grp := immy.Group{ID: padID("g-", len(f.Groups), w), Kind: kind}
		if tenant >= 0 {
			grp.Tenant = f.Tenants[tenant].ID
		}
		if kind == immy.GroupPersons {
			grp.Name = pick(r, genUserGroupNames)
		} else {
			grp.Name = pick(r, genComputerGroupNames)
		}
		k := 1 + r.IntN(min(hi-lo, 20))
		members := make([]int, 0, k)
		for range 2 * k {
			if m := lo + r.IntN(hi-lo); !slices.Contains(members, m) {
				members = append(members, m)
				if len(members) == k {
					break
				}
			}
		}
		for _, m := range members {
			if kind == immy.GroupPersons {
				grp.Members = append(grp.Members, f.Persons[m].ID)
			} else {
				grp.Members = append(grp.Members, f.Computers[m].ID)
			}
		}
		// A user group may hold a device of its tenant too.
		if kind == immy.GroupPersons && g.compStart[tenant+1] > g.compStart[tenant] && r.pct(10) {
			grp.Members = append(grp.Members, f.Computers[r.between(g.compStart[tenant], g.compStart[tenant+1]-1)].ID)
		}
		kk := key{tenant, kind}
		if prev := earlier[kk]; len(prev) > 0 && r.pct(25) {
			a := pick(r, prev)
			grp.Groups = append(grp.Groups, f.Groups[a].ID)
			if b := pick(r, prev); b != a && r.pct(30) {
				grp.Groups = append(grp.Groups, f.Groups[b].ID)
			}
		}
		earlier[kk] = append(earlier[kk], len(f.Groups))
		f.Groups = append(f.Groups, grp)
	}
}

func (g *generator) agreements() {
	r := g.rand(streamAgreements)
	f := g.f
	n := g.cfg.Agreements
	w := width(n)
	at := f.At
	day := func(days int) immy.Date { return immy.DateOf(at.AddDate(0, 0, days)) }
	f.Agreements = make([]immy.Agreement, n)
	for i := range n {
		t := g.byComputers.pick(r)
		if t < 0 {
			t = r.IntN(len(f.Tenants))
		}
		a := &f.Agreements[i]
		a.ID = padID("ag-", i, w)
		a.Tenant = f.Tenants[t].ID
		a.ClientGroup = pick(r, genClientGroups)
		switch x := r.IntN(100); {
		case x < 60: // active
			a.From, a.To = day(-r.between(30, 700)), day(r.between(10, 400))
		case x < 75: // active, open-ended
			a.From = day(-r.between(30, 1500))
		case x < 90: // expired
			end := r.between(1, 200)
			a.From, a.To = day(-end-r.between(30, 365)), day(-end)
		default: // starts later
			start := r.between(1, 90)
			a.From, a.To = day(start), day(start+365)
		}
	}
}

// Desired states of software deployments, in percent.
var genDesired = []struct {
	state immy.DesiredState
	pct   int
}{
	{immy.DesiredLatest, 45}, {immy.DesiredUpdateIfFound, 12}, {immy.DesiredThisVersion, 8},
	{immy.DesiredNewerOrEqual, 6}, {immy.DesiredOlderOrEqual, 3}, {immy.DesiredAnyVersion, 10},
	{immy.DesiredUninstalled, 10}, {immy.DesiredIgnored, 6},
}

var genTagTargets = []string{"canary", "canary", "vip", "finance", "kiosk", "remote", "healthcare"}

func (g *generator) deployments() {
	r := g.rand(streamDeployments)
	f := g.f
	n := g.cfg.Deployments
	if len(f.Software)+len(f.Tasks) == 0 {
		return
	}
	w := width(n)
	mix := g.cfg.Mix
	mixPick := newPicker([]float64{
		float64(mix.AllComputers), float64(mix.TenantComputers), float64(mix.Computer), float64(mix.Person),
		float64(mix.Tag), float64(mix.Group), float64(mix.Expr), float64(mix.Lua),
		float64(mix.ClientGroup), float64(mix.DeviceGroup),
	})
	// Items: software by how common (private ones as an average one), tasks uniformly.
	sw := make([]float64, len(f.Software))
	for i := range sw {
		sw[i] = g.swPick.cum[i]
		if i > 0 {
			sw[i] -= g.swPick.cum[i-1]
		}
		if g.swOwner[i] >= 0 {
			sw[i] = 3
		}
	}
	itemPick := newPicker(sw)
	f.Deployments = make([]immy.Deployment, n)
	for i := range n {
		d := &f.Deployments[i]
		d.ID = padID("d-", i, w)
		d.Disabled = !r.pct(96)
		owner, global := -1, false
		var task *immy.Task
		if len(f.Tasks) > 0 && (len(f.Software) == 0 || r.pct(15)) {
			task = &f.Tasks[r.IntN(len(f.Tasks))]
			d.Item, global = task.ID, task.Origin == immy.OriginGlobal
			if task.Tenant != "" {
				owner = slices.IndexFunc(f.Tenants, func(t immy.Tenant) bool { return t.ID == task.Tenant })
			}
			switch x := r.IntN(100); {
			case x < 60:
				d.Mode = immy.ModeEnforce
			case x < 80:
				d.Mode = immy.ModeAudit
			case x < 95:
				d.Mode = immy.ModeMonitor
			default:
				d.Mode = immy.ModeIgnored
			}
			d.Parameters = g.paramValues(r, task, i)
		} else {
			j := itemPick.pick(r)
			s := &f.Software[j]
			d.Item, owner, global = s.ID, g.swOwner[j], s.Origin == immy.OriginGlobal
			x, acc := r.IntN(100), 0
			for _, ds := range genDesired {
				if acc += ds.pct; x < acc {
					d.Desired = ds.state
					break
				}
			}
			switch d.Desired {
			case immy.DesiredThisVersion, immy.DesiredNewerOrEqual, immy.DesiredOlderOrEqual:
				d.Version = pick(r, s.Versions).Version
			}
		}
		switch {
		case task != nil && task.Category == immy.TaskTenant:
			d.Target = g.tenantTarget(r, owner)
		case owner >= 0:
			d.Target = g.privateTarget(r, owner)
		default:
			d.Target = g.computerTarget(r, mixPick.pick(r))
		}
		if r.pct(25) {
			d.Priority = r.between(1, 10)
		}
		switch x := r.IntN(100); {
		case x < 86 || d.Target.Category == immy.CategoryTenant && x < 96:
		case x < 92:
			d.Enforcement = immy.Optional
			for range r.between(1, 5) {
				if len(f.Computers) > 0 {
					d.ApprovedFor = append(d.ApprovedFor, f.Computers[r.IntN(len(f.Computers))].ID)
				}
			}
		case x < 96:
			d.Enforcement = immy.AdHoc
		default:
			d.Enforcement = immy.OnboardingOnly
		}
		d.Recommended = global && d.Target.Tenant == "" && r.pct(40)
		if r.pct(20) {
			d.Visibility = immy.Visibility{Ticket: r.pct(50), Tenant: true, Person: r.pct(50), Computer: r.pct(70)}
		}
	}
}

// paramValues gives a task deployment values for the task's required parameters
// and some of its optional ones.
func (g *generator) paramValues(r rnd, t *immy.Task, i int) map[string]any {
	var m map[string]any
	for _, p := range t.Parameters {
		if !p.Required && !r.pct(40) {
			continue
		}
		var v any
		switch p.Type {
		case immy.ParamNumber:
			v = float64(r.between(1, 90))
		case immy.ParamBoolean:
			v = r.pct(50)
		case immy.ParamSelect:
			v = pick(r, p.Options)
		case immy.ParamPassword:
			v = "Gen-secret-" + strconv.Itoa(i) + "!"
		case immy.ParamURI:
			v = "https://files.example-msp.com/wallpaper-" + strconv.Itoa(i) + ".jpg"
		case immy.ParamKeyValue:
			v = map[string]string{"AUOptions": strconv.Itoa(r.between(2, 5))}
		case immy.ParamFile:
			v = `\\files\share\setup-` + strconv.Itoa(i) + ".msi"
		default:
			v = "value-" + strconv.Itoa(i)
		}
		if m == nil {
			m = map[string]any{}
		}
		m[p.Name] = v
	}
	return m
}

func (g *generator) groupFilter(r rnd) immy.GroupFilter {
	switch x := r.IntN(100); {
	case x < 60:
		return immy.FilterAll
	case x < 80:
		return immy.FilterWorkstationsAndPortable
	case x < 90:
		return immy.FilterServers
	case x < 95:
		return immy.FilterWorkstations
	case x < 98:
		return immy.FilterDomainControllers
	}
	return immy.FilterPrimaryDomainControllers
}

// someTenant returns a tenant with computers, or -1.
func (g *generator) someTenant(r rnd) int { return g.byComputers.pick(r) }

// computerTarget draws a target of the given mix index (see TargetMix's fields).
func (g *generator) computerTarget(r rnd, kind int) immy.Target {
	f := g.f
	fallback := func() immy.Target {
		t := immy.Target{Type: immy.TargetAllComputers, Filter: g.groupFilter(r)}
		if tn := g.someTenant(r); tn >= 0 {
			t.Tenant = f.Tenants[tn].ID
			t.PropagateToChildren = g.hasChildren[tn] && r.pct(30)
		}
		return t
	}
	maybeTenant := func(t immy.Target, p int) immy.Target {
		if tn := g.someTenant(r); tn >= 0 && r.pct(p) {
			t.Tenant = f.Tenants[tn].ID
		}
		return t
	}
	switch kind {
	case 0:
		return immy.Target{Type: immy.TargetAllComputers, Filter: g.groupFilter(r)}
	case 1:
		return fallback()
	case 2:
		if len(f.Computers) > 0 {
			return immy.Target{Type: immy.TargetComputer, Computer: f.Computers[r.IntN(len(f.Computers))].ID}
		}
	case 3:
		if len(f.Persons) > 0 {
			return immy.Target{Type: immy.TargetPerson, Person: f.Persons[r.IntN(len(f.Persons))].ID}
		}
	case 4:
		return maybeTenant(immy.Target{Type: immy.TargetTag, Tag: pick(r, genTagTargets)}, 40)
	case 5:
		if len(f.Groups) > 0 {
			k := r.IntN(len(f.Groups))
			t := immy.Target{Type: immy.TargetGroup, Group: f.Groups[k].ID}
			if f.Groups[k].Kind == immy.GroupComputers {
				t.Filter = g.groupFilter(r)
			}
			t.Tenant = f.Groups[k].Tenant
			return t
		}
	case 6:
		if g.cfg.Filters == FiltersDistinct {
			return g.filterTarget(r, maybeTenant, false)
		}
		return maybeTenant(immy.Target{Type: immy.TargetFilter, Expr: pick(r, genExprFilters)}, 50)
	case 7:
		if g.cfg.Filters == FiltersDistinct {
			return g.filterTarget(r, maybeTenant, true)
		}
		return maybeTenant(immy.Target{Type: immy.TargetFilter, Lua: pick(r, genLuaFilters)}, 50)
	case 8:
		return immy.Target{Type: immy.TargetClientGroup, ClientGroup: pick(r, genClientGroups), Filter: g.groupFilter(r)}
	case 9:
		return maybeTenant(immy.Target{Type: immy.TargetDeviceGroup, DeviceGroup: pick(r, genDeviceGroups)}, 30)
	}
	return fallback()
}

// privateTarget draws a target within the owner tenant, never propagated.
func (g *generator) privateTarget(r rnd, owner int) immy.Target {
	f := g.f
	tenant := f.Tenants[owner].ID
	c0, c1 := g.compStart[owner], g.compStart[owner+1]
	p0, p1 := g.personStart[owner], g.personStart[owner+1]
	switch x := r.IntN(100); {
	case x < 15 && c1 > c0:
		return immy.Target{Type: immy.TargetComputer, Computer: f.Computers[r.between(c0, c1-1)].ID}
	case x < 25 && p1 > p0:
		return immy.Target{Type: immy.TargetPerson, Person: f.Persons[r.between(p0, p1-1)].ID}
	case x < 35:
		return immy.Target{Type: immy.TargetTag, Tag: pick(r, genTagTargets), Tenant: tenant}
	case x < 45:
		if g.cfg.Filters == FiltersDistinct {
			return immy.Target{Type: immy.TargetFilter, Expr: g.exprFilter(owner), Tenant: tenant}
		}
		return immy.Target{Type: immy.TargetFilter, Expr: pick(r, genExprFilters), Tenant: tenant}
	}
	return immy.Target{Type: immy.TargetAllComputers, Tenant: tenant, Filter: g.groupFilter(r)}
}

// tenantTarget draws a target of tenants, for a tenant (cloud) task.
func (g *generator) tenantTarget(r rnd, owner int) immy.Target {
	f := g.f
	t := immy.Target{Category: immy.CategoryTenant}
	if owner >= 0 {
		t.Type, t.Tenant = immy.TargetTenant, f.Tenants[owner].ID
		return t
	}
	switch x := r.IntN(100); {
	case x < 40:
		t.Type = immy.TargetAllTenants
	case x < 70:
		t.Type = immy.TargetTenant
		tn := g.someTenant(r)
		if tn < 0 {
			tn = r.IntN(len(f.Tenants))
		}
		t.Tenant = f.Tenants[tn].ID
	case x < 85:
		t.Type, t.Tag = immy.TargetTenantTag, pick(r, genTenantTags).tag
	default:
		t.Type, t.ClientGroup = immy.TargetClientGroup, pick(r, genClientGroups)
	}
	return t
}

var genCrons = []string{"0 2 * * *", "0 3 * * 6", "30 1 * * 1-5", "0 22 * * 0", "0 12 * * 3"}

func (g *generator) schedules() {
	r := g.rand(streamSchedules)
	f := g.f
	n := g.cfg.Schedules
	w := width(n)
	f.Schedules = make([]immy.Schedule, n)
	for i := range n {
		s := &f.Schedules[i]
		s.ID = padID("sched-", i, w)
		s.Cron = pick(r, genCrons)
		s.Disabled = !r.pct(90)
		s.JitterMinutes = pick(r, []int{0, 15, 30})
		if r.pct(50) {
			s.ExecuteAfterMinutes = pick(r, []int{60, 120, 240})
		} else {
			s.ExecuteRightAfterDetection = true
		}
		if r.pct(30) {
			s.TimeZone = pick(r, genTimeZones)
		}
		s.Target = immy.Target{Type: immy.TargetAllComputers}
		if tn := g.someTenant(r); tn >= 0 && r.pct(60) {
			s.Target.Tenant = f.Tenants[tn].ID
		}
		if len(f.Software) > 0 && r.pct(20) {
			s.Item = f.Software[r.IntN(len(f.Software))].ID
		}
	}
}
