package resolver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"sync"
	"time"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/targets"
)

// SessionKind is the kind of maintenance session a plan is for; it decides
// which deployments take part.
type SessionKind uint8

// Values of SessionKind.
const (
	// FullMaintenance: required deployments, and optional ones approved for
	// the computer.
	FullMaintenance SessionKind = iota
	// OnboardingSession: as full maintenance, plus onboarding deployments and
	// onboarding-only tasks, which run first.
	OnboardingSession
	// AdHocSession: only the items the session names (by item id, or by the id
	// of one of their deployments); their ad hoc deployments take part when
	// named, by themselves or by their item.
	AdHocSession
)

var sessionKindNames = [...]string{"full maintenance", "onboarding", "ad hoc"}

// String returns the kind in words.
func (k SessionKind) String() string {
	if int(k) < len(sessionKindNames) {
		return sessionKindNames[k]
	}
	return fmt.Sprintf("session(%d)", uint8(k))
}

// Session says which session a plan is for.
type Session struct {
	Kind SessionKind
	// Named are the deployment or item ids an ad hoc session runs.
	Named []string
}

// Config configures a Planner. The zero Config is ready to use.
type Config struct {
	// Ranking orders the candidates of each decision; nil means DefaultRanking.
	Ranking Ranking
	// Workers bounds how many computers are planned at once; 0 means
	// runtime.GOMAXPROCS(0).
	Workers int
	// At is the evaluation time a plan reports; zero means the index's
	// (targets.Index.At), which decides which agreements count for client
	// groups.
	At time.Time
	// Locate, when set, places a problem in the fleet's source: the
	// resolver hands it the deployment (section "deployments", its index in
	// the fleet, id and field) or software a Problem is about, and reads
	// back File and Line. fleetfile.File.Locate does it for a fleet file.
	Locate func(immy.Problem) immy.Problem
}

// Planner plans maintenance sessions over one fleet. NewPlanner compiles
// everything once (the target matcher over every deployment, the catalogue,
// each deployment's item and rank key); each computer is then planned
// cheaply, and Plan plans the whole fleet concurrently with a deterministic
// result. A Planner is safe for concurrent use.
type Planner struct {
	cfg     Config
	at      time.Time
	ix      *targets.Index
	m       *targets.Matcher
	cat     *Catalogue
	fleet   *immy.Fleet
	pc      *planContext
	aims    []aim             // of each deployment of table
	table   []immy.Deployment // the fleet's deployments sorted by item, then id: indices below are into it
	deps    []depInfo
	hot     []depHot         // what decide reads of each deployment, packed
	byID    map[string]int32 // deployment id -> index in table
	sorted  []int            // computer indices by id
	byGroup []int32          // indices into sorted, by matcher group (stable): Plan's order of work
	depth   []int32          // depth of each tenant in the tree
	keyed   bool             // the ranking is DefaultRanking, compared by key
	codes   []uint8          // by deployment: action.code where its software is absent
	names   nameCache
	workers sync.Pool
	edit    *deploymentEdit // how Update made it, when only deployments changed (update_edit.go)
	wants   wantSets        // the deployments the matcher is asked for (wanted.go)
	wantAll bool            // ask the matcher for every deployment (the tests' plain path)
}

// depHot is what decide reads of every deployment a computer matches: the
// rank key (its top bit set when the deployment needs takesPart's checks), the
// item (-1 when it never takes part) and the target's tenant (-1 for none).
type depHot struct {
	key    uint64
	item   int32
	tenant int32
}

const keyChecked = 1 << 63 // in depHot.key: not plain, ask takesPart

// depInfo is what the planner precomputes of one deployment.
type depInfo struct {
	key    uint64 // DefaultRanking's key without the tenant distance
	item   int32  // catalogue item, -1 when the deployment can never take part
	tenant int32  // the target's tenant, -1 when the target names none
	// plain: enabled, required, of an item that is neither private nor an
	// onboarding-only task: a candidate in every session but ad hoc ones
	plain bool
	// approved: for an optional deployment, the computers it is approved for
	// (fleet indices, sorted)
	approved    []int32
	owner       int32 // the tenant its item is private to, -1 for none, -2 for an unknown one
	enforcement immy.Enforcement
	onboarding  bool // its item is an onboarding-only task
}

// The rank key orders candidates like DefaultRanking: fields from the most
// significant, in the order of the rules, lower first. Ranks of priorities
// and ids are positions among all deployments, so they fit 20 bits each for
// fleets of up to a million deployments.
const (
	keyIDBits     = 20
	keyOriginBit  = keyIDBits          // 1 bit
	keyDesiredLo  = keyOriginBit + 1   // 4 bits
	keyPriorityLo = keyDesiredLo + 4   // 20 bits
	keyDistanceLo = keyPriorityLo + 20 // 10 bits
	keyFilterLo   = keyDistanceLo + 10 // 3 bits
	keyTypeLo     = keyFilterLo + 3    // 3 bits
	keyScopeLo    = keyTypeLo + 3      // 2 bits
	maxKeyed      = 1<<keyIDBits - 1   // deployments
	maxDistance   = 1<<(keyFilterLo-keyDistanceLo) - 1
)

// keyRule is the rule that the highest differing bit of two keys belongs to.
func keyRule(a, b uint64) Rule {
	x := a ^ b
	if x == 0 {
		return RuleNone
	}
	hb := 63 - bits.LeadingZeros64(x)
	switch {
	case hb >= keyScopeLo:
		return RuleScope
	case hb >= keyTypeLo:
		return RuleType
	case hb >= keyFilterLo:
		return RuleGroupFilter
	case hb >= keyDistanceLo:
		return RuleTenantDistance
	case hb >= keyPriorityLo:
		return RulePriority
	case hb >= keyDesiredLo:
		return RuleDesiredState
	case hb >= keyOriginBit:
		return RuleOrigin
	}
	return RuleID
}

// NewPlanner compiles a planner for the fleet of ix with catalogue cat (built
// from the same fleet). Targets that do not compile are reported as
// immy.Problems, every one at once.
func NewPlanner(ix *targets.Index, cat *Catalogue, cfg Config) (*Planner, error) {
	return buildPlanner(ix, cat, cfg, nil)
}

// buildPlanner is NewPlanner; prev, when not nil, is the planner being
// updated, whose compiled filters are reused, and its orders of the table
// and of the computers by group where they still hold (update.go).
func buildPlanner(ix *targets.Index, cat *Catalogue, cfg Config, prev *Planner) (*Planner, error) {
	if ix == nil || cat == nil {
		return nil, fmt.Errorf("resolver: NewPlanner needs an index and a catalogue: %w", immy.ErrInvalid)
	}
	f := ix.Fleet()
	if f != cat.fleet {
		return nil, fmt.Errorf("resolver: the index and the catalogue are of different fleets: %w", immy.ErrInvalid)
	}
	// Sorted by item, the deployments a computer matches come grouped by
	// item, the items in id order, each group in id order.
	order := prev.tableOrder(f, cat)
	if order == nil {
		order = make([]int, len(f.Deployments))
		for i := range order {
			order[i] = i
		}
		itemOf := func(i int) int {
			if k, ok := cat.byID[f.Deployments[i].Item]; ok {
				return int(k)
			}
			return len(cat.items)
		}
		slices.SortStableFunc(order, func(a, b int) int {
			if c := cmpInt(itemOf(a), itemOf(b)); c != 0 {
				return c
			}
			return cmpString(f.Deployments[a].ID, f.Deployments[b].ID)
		})
	}
	table := make([]immy.Deployment, len(order))
	for r, i := range order {
		table[r] = f.Deployments[i]
	}
	var pm *targets.Matcher
	if prev != nil {
		pm = prev.m
	}
	m, err := compileTable(ix, table, pm)
	if err != nil {
		var ps immy.Problems
		if errors.As(err, &ps) { // report the fleet's own indices
			ps = slices.Clone(ps)
			for i := range ps {
				if ps[i].Section == "deployments" && ps[i].Index >= 0 && ps[i].Index < len(order) {
					ps[i].Index = order[ps[i].Index]
				}
			}
			ps.Sort()
			err = ps
		}
		return nil, fmt.Errorf("resolver: %w", err)
	}
	p := &Planner{cfg: cfg, ix: ix, m: m, cat: cat, fleet: f, table: table, byID: make(map[string]int32, len(table))}
	p.pc = newPlanContext(cat, f, table, &p.names)
	p.pc.locate = cfg.Locate
	p.pc.fleetIndex = make([]int32, len(order))
	for r, i := range order {
		p.pc.fleetIndex[r] = int32(i)
	}
	p.aims = cat.aims(table)
	if p.cfg.Ranking == nil {
		p.cfg.Ranking = DefaultRanking
	}
	p.keyed = p.cfg.Ranking == DefaultRanking && len(table) <= maxKeyed
	p.at = cfg.At
	if p.at.IsZero() {
		p.at = ix.At()
	}
	p.at = p.at.UTC()
	p.depth = tenantDepths(f)
	p.deps = make([]depInfo, len(table))
	for i := range table {
		d := &table[i]
		p.byID[d.ID] = int32(i)
		p.deps[i] = depInfo{item: -1, tenant: -1, owner: -1, enforcement: d.Enforcement}
		if d.Target.Tenant != "" && d.Target.Scope() != immy.ScopeIndividual {
			if t, ok := ix.Tenant(d.Target.Tenant); ok {
				p.deps[i].tenant = int32(t)
			}
		}
		k, ok := cat.byID[d.Item]
		if !ok || d.Disabled {
			continue
		}
		it := &cat.items[k]
		if it.tenantTask || d.Target.Category == immy.CategoryTenant {
			continue
		}
		switch d.Target.Type {
		case immy.TargetAllTenants, immy.TargetTenant, immy.TargetTenantTag:
			continue
		}
		p.deps[i].item = k
		p.deps[i].onboarding = it.onboardingOnly
		p.deps[i].plain = d.Enforcement == immy.EnforcementRequired && it.owner == "" && !it.onboardingOnly
		if it.owner != "" {
			p.deps[i].owner = -2
			if t, ok := ix.Tenant(it.owner); ok {
				p.deps[i].owner = int32(t)
			}
		}
		if d.Enforcement == immy.EnforcementOptional {
			for _, id := range d.ApprovedFor {
				if c, ok := ix.Computer(id); ok {
					p.deps[i].approved = append(p.deps[i].approved, int32(c))
				}
			}
			slices.Sort(p.deps[i].approved)
		}
	}
	if p.keyed {
		p.rankKeys()
	}
	p.hot = make([]depHot, len(p.deps))
	for i, d := range p.deps {
		p.hot[i] = depHot{key: d.key, item: d.item, tenant: d.tenant}
		if !d.plain {
			p.hot[i].key |= keyChecked
		}
	}
	items := make([]int32, len(p.deps))
	for i := range p.deps {
		items[i] = p.deps[i].item
	}
	p.codes = p.pc.absentCodes(absentOutcomes(table, p.aims), items)
	p.sorted = ix.ComputersByID()
	if p.byGroup = prev.groupOrder(ix, m); p.byGroup == nil {
		p.byGroup = groupOrder(m, p.sorted)
	}
	p.workers.New = func() any { return p.newWorker() }
	return p, nil
}

// groupOrder returns the positions of sorted (computer indices) ordered by
// matcher group, stably (a counting sort): a worker planning computers in
// that order decides each group's shared matches once.
func groupOrder(m *targets.Matcher, sorted []int) []int32 {
	count := make([]int32, m.Groups()+2) // group -1 first
	for _, c := range sorted {
		count[m.Group(c)+2]++
	}
	for g := 1; g < len(count); g++ {
		count[g] += count[g-1]
	}
	out := make([]int32, len(sorted))
	for i, c := range sorted {
		g := m.Group(c) + 1
		out[count[g]] = int32(i)
		count[g]++
	}
	return out
}

// rankKeys computes each deployment's key, the tenant distance left at zero.
// Keys are only compared between deployments of one item, which the table
// holds in id order: the table index serves as the id's rank.
func (p *Planner) rankKeys() {
	prios := make([]int, 0, len(p.table))
	for i := range p.table {
		prios = append(prios, p.table[i].Priority)
	}
	slices.Sort(prios)
	prios = slices.Compact(prios)
	for i := range p.table {
		d := &p.table[i]
		pr, _ := slices.BinarySearch(prios, d.Priority)
		prioRank := uint64(len(prios) - 1 - pr) // higher priority first
		var origin uint64
		if d.Recommended {
			origin = 1
		}
		p.deps[i].key = uint64(scopeRank(d.Target))<<keyScopeLo |
			uint64(typeRank(d.Target.Type))<<keyTypeLo |
			uint64(filterRank(d.Target.Filter))<<keyFilterLo |
			prioRank<<keyPriorityLo |
			uint64(desiredRank(d))<<keyDesiredLo |
			origin<<keyOriginBit |
			uint64(i)
	}
}

// tenantDepths returns each tenant's depth in the tree (0 for a root). A
// parent that does not resolve makes a root; a cycle (which targets.NewIndex
// rejects) cannot loop.
func tenantDepths(f *immy.Fleet) []int32 {
	idx := make(map[string]int, len(f.Tenants))
	for i, t := range f.Tenants {
		if _, dup := idx[t.ID]; !dup {
			idx[t.ID] = i
		}
	}
	depth := make([]int32, len(f.Tenants))
	for i := range depth {
		depth[i] = -1
	}
	var chain []int
	for i := range f.Tenants {
		chain = chain[:0]
		j := i
		for depth[j] < 0 && len(chain) <= len(f.Tenants) {
			chain = append(chain, j)
			p, ok := idx[f.Tenants[j].Parent]
			if !ok || f.Tenants[j].Parent == "" {
				depth[j] = 0
				chain = chain[:len(chain)-1]
				break
			}
			j = p
		}
		for k := len(chain) - 1; k >= 0; k-- {
			c := chain[k]
			if depth[c] >= 0 {
				continue
			}
			p := idx[f.Tenants[c].Parent]
			depth[c] = max(depth[p], 0) + 1
		}
	}
	return depth
}

// PlanFleet is the what-if in one call: it indexes f's targets at the fleet's
// time, compiles the catalogue and a planner, and plans every computer.
func PlanFleet(ctx context.Context, f *immy.Fleet, cfg Config, s Session) (*Plan, error) {
	at := cfg.At
	if at.IsZero() {
		at = f.At
	}
	if at.IsZero() {
		at = time.Now()
	}
	cfg.At = at
	// The catalogue and the index are independent: built at once.
	var (
		cat    *Catalogue
		catErr error
		wg     sync.WaitGroup
	)
	wg.Go(func() { cat, catErr = NewCatalogue(f) })
	ix, err := targets.NewIndex(f, targets.Config{At: at})
	wg.Wait()
	if catErr != nil {
		return nil, catErr
	}
	if err != nil {
		return nil, fmt.Errorf("resolver: %w", err)
	}
	p, err := NewPlanner(ix, cat, cfg)
	if err != nil {
		return nil, err
	}
	return p.Plan(ctx, s)
}

// Catalogue returns the planner's catalogue.
func (p *Planner) Catalogue() *Catalogue { return p.cat }

// At returns the evaluation time the planner's plans report.
func (p *Planner) At() time.Time { return p.at }

// Plan is a what-if over a fleet: per computer, the winner of each item and the
// actions of a session, in order.
type Plan struct {
	At        time.Time      // the evaluation time
	Session   SessionKind    // the kind of session planned
	Computers []ComputerPlan // sorted by id
}

// ComputerPlan is the plan of one computer. Its decisions and actions are
// kept encoded (a whole-fleet plan holds millions of them) and spelt out by
// Decisions and Actions, which read them back without deciding anything
// again (see read.go).
type ComputerPlan struct {
	ID string
	// Excluded: the computer is excluded from maintenance; nothing is planned.
	Excluded bool

	pc          *planContext
	comp        int32  // the computer's index in the fleet
	tenant      int32  // its tenant's index, -1 for none: the tenant distances of its candidates
	nact, nlost uint32 // actions in rec; losers of all its decisions
	rec         []byte
	shared      *[]loserRec // the losers of its group's shared decisions (see encode.go), nil for none
	extra       *planExtra  // nil for none
	splice      *spliceNote // how Replan spliced rec from an older record, for Diff (update_splice.go); nil for none
}

// planExtra is what few computers' plans have.
type planExtra struct {
	state bool           // planned from a State: detected versions are in vals
	vals  []immy.Version // versions a State reported
	probs []planProblem  // what held or refused part of the plan, sorted
}

// decision is a decision while a computer is planned.
type decision struct {
	item, winner int32
	lost0, nlost int32 // the losers, best first, in worker.loss
	// own: decideShared records its losers in the computer's record (it
	// has some, or they mask the group's decision of the item)
	own bool
}

type lost struct {
	dep  int32
	rule Rule
}

// MarshalJSON writes the computer as the plan output specifies: id, excluded
// (when true), decisions and actions, empty lists as [].
func (c ComputerPlan) MarshalJSON() ([]byte, error) {
	type plain struct {
		ID        string     `json:"id"`
		Excluded  bool       `json:"excluded,omitempty"`
		Decisions []Decision `json:"decisions"`
		Actions   []Action   `json:"actions"`
		Problems  []Problem  `json:"problems,omitempty"`
	}
	v := plain{ID: c.ID, Excluded: c.Excluded, Decisions: []Decision{}, Actions: []Action{}}
	if c.pc != nil {
		v.Decisions, v.Actions, v.Problems = c.Decisions(), c.Actions(), c.Problems()
	}
	return json.Marshal(v)
}

// MarshalJSON writes an empty candidate list as [], never null.
func (d Decision) MarshalJSON() ([]byte, error) {
	type plain Decision
	v := plain(d)
	if v.Candidates == nil {
		v.Candidates = []Lost{}
	}
	return json.Marshal(v)
}

// Computer returns the plan of one computer, if the plan holds it.
func (p *Plan) Computer(id string) (*ComputerPlan, bool) {
	i, ok := slices.BinarySearchFunc(p.Computers, id, func(c ComputerPlan, id string) int { return cmpString(c.ID, id) })
	if !ok {
		return nil, false
	}
	return &p.Computers[i], true
}
