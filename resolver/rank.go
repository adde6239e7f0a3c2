package resolver

import (
	"fmt"
	"slices"

	"github.com/immyoss/engine/immy"
)

// Rule is one rule of the ranking of deployments, in the order the rules are
// applied. A Decision records, for every candidate that did not win, the first
// rule it lost on against the winner. Its text form is the `lost_on` of the plan.
type Rule uint8

// The rules of DefaultRanking, in order.
const (
	RuleNone           Rule = iota // no rule separates the two candidates (the same deployment)
	RuleScope                      // scope: individual > single tenant > cross tenant
	RuleType                       // type: computer > person > group or tag > filter > integration group > all computers
	RuleGroupFilter                // group-filter: primary domain controllers > domain controllers > one kind > workstations and portable > all
	RuleTenantDistance             // tenant-distance: the computer's own tenant, then the nearest ancestor
	RulePriority                   // priority: higher first
	RuleDesiredState               // desired-state: ignored > uninstalled > this version > older or equal > latest > newer or equal > any version > update if found
	RuleOrigin                     // origin: the MSP's own deployments before recommended ones
	RuleID                         // id: the lowest deployment id
)

var ruleNames = [...]string{"", "scope", "type", "group-filter", "tenant-distance", "priority", "desired-state", "origin", "id"}

// String returns the rule's name in the plan ("scope", "group-filter", ...).
func (r Rule) String() string {
	if int(r) < len(ruleNames) {
		return ruleNames[r]
	}
	return fmt.Sprintf("rule(%d)", uint8(r))
}

// MarshalText implements encoding.TextMarshaler.
func (r Rule) MarshalText() ([]byte, error) {
	if int(r) >= len(ruleNames) {
		return nil, fmt.Errorf("resolver: invalid rule %d: %w", uint8(r), immy.ErrInvalid)
	}
	return []byte(ruleNames[r]), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (r *Rule) UnmarshalText(b []byte) error {
	i := slices.Index(ruleNames[:], string(b))
	if i < 0 {
		return fmt.Errorf("resolver: unknown rule %q: %w", b, immy.ErrInvalid)
	}
	*r = Rule(i)
	return nil
}

// Candidate is one deployment that takes part in the decision for an item on
// one computer: its target selects the computer, it is enabled, and its
// enforcement fits the session.
type Candidate struct {
	Deployment *immy.Deployment
	// TenantDistance is how far the deployment's tenant is from the computer's:
	// 0 for the computer's own tenant (and for targets that name no tenant), 1
	// for its parent, and so on up the tree.
	TenantDistance int
}

// Ranking orders the candidates of one decision. Compare returns a negative
// number when a ranks before (wins over) b, a positive one when b ranks before
// a, and 0 only when they are the same deployment; with the sign it returns the
// first rule that separates them. A Ranking must be a strict total order over
// distinct deployments and safe for concurrent use.
type Ranking interface {
	Compare(a, b *Candidate) (int, Rule)
}

// RankingFunc adapts a function to Ranking.
type RankingFunc func(a, b *Candidate) (int, Rule)

// Compare calls f.
func (f RankingFunc) Compare(a, b *Candidate) (int, Rule) { return f(a, b) }

// DefaultRanking is the ranking of the design ("The winning deployment"). Each
// rule breaks the ties of the one before; the last, the deployment id, makes
// the order total:
//
//  1. scope: individual (computer, person) > single tenant > cross tenant;
//  2. type within the scope: computer > person > static group, tag and user
//     group > filter expression > integration client or device group > all
//     computers (for cloud tasks: tenant > tenant tag > all tenants);
//  3. group filter: primary domain controllers > domain controllers > servers
//     = workstations = portable > workstations and portable > all;
//  4. tenant distance: a deployment on the computer's own tenant beats one
//     propagated from an ancestor, the nearer ancestor first;
//  5. priority, higher first;
//  6. desired state: ignored > uninstalled > this version > older or equal >
//     latest > newer or equal > any version > update if found; for tasks, whose
//     deployments have a mode instead: ignored > enforce > audit > monitor (the
//     stronger claim on the computer first, as for software);
//  7. origin: the MSP's own deployments before recommended ones;
//  8. the lowest deployment id.
var DefaultRanking Ranking = defaultRanking{}

type defaultRanking struct{}

func (defaultRanking) Compare(a, b *Candidate) (int, Rule) {
	da, db := a.Deployment, b.Deployment
	if c := cmpInt(scopeRank(da.Target), scopeRank(db.Target)); c != 0 {
		return c, RuleScope
	}
	if c := cmpInt(typeRank(da.Target.Type), typeRank(db.Target.Type)); c != 0 {
		return c, RuleType
	}
	if c := cmpInt(filterRank(da.Target.Filter), filterRank(db.Target.Filter)); c != 0 {
		return c, RuleGroupFilter
	}
	if c := cmpInt(a.TenantDistance, b.TenantDistance); c != 0 {
		return c, RuleTenantDistance
	}
	if c := cmpInt(db.Priority, da.Priority); c != 0 { // higher first
		return c, RulePriority
	}
	if c := cmpInt(desiredRank(da), desiredRank(db)); c != 0 {
		return c, RuleDesiredState
	}
	if da.Recommended != db.Recommended {
		if db.Recommended {
			return -1, RuleOrigin
		}
		return 1, RuleOrigin
	}
	switch {
	case da.ID < db.ID:
		return -1, RuleID
	case da.ID > db.ID:
		return 1, RuleID
	}
	return 0, RuleNone
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// scopeRank: lower ranks first.
func scopeRank(t immy.Target) int {
	switch t.Scope() {
	case immy.ScopeIndividual:
		return 0
	case immy.ScopeSingleTenant:
		return 1
	}
	return 2
}

func typeRank(t immy.TargetType) int {
	switch t {
	case immy.TargetComputer, immy.TargetTenant:
		return 0
	case immy.TargetPerson:
		return 1
	case immy.TargetGroup, immy.TargetTag, immy.TargetTenantTag:
		return 2
	case immy.TargetFilter:
		return 3
	case immy.TargetClientGroup, immy.TargetDeviceGroup:
		return 4
	case immy.TargetAllComputers, immy.TargetAllTenants:
		return 5
	}
	return 6
}

func filterRank(f immy.GroupFilter) int {
	switch f {
	case immy.FilterPrimaryDomainControllers:
		return 0
	case immy.FilterDomainControllers:
		return 1
	case immy.FilterServers, immy.FilterWorkstations, immy.FilterPortable:
		return 2
	case immy.FilterWorkstationsAndPortable:
		return 3
	}
	return 4
}

func desiredRank(d *immy.Deployment) int {
	switch d.Desired {
	case immy.DesiredIgnored:
		return 0
	case immy.DesiredUninstalled:
		return 1
	case immy.DesiredThisVersion:
		return 2
	case immy.DesiredOlderOrEqual:
		return 3
	case immy.DesiredLatest:
		return 4
	case immy.DesiredNewerOrEqual:
		return 5
	case immy.DesiredAnyVersion:
		return 6
	case immy.DesiredUpdateIfFound:
		return 7
	}
	switch d.Mode { // a task deployment
	case immy.ModeIgnored:
		return 0
	case immy.ModeEnforce:
		return 1
	case immy.ModeAudit:
		return 2
	case immy.ModeMonitor:
		return 3
	}
	return 8
}

// Lost is a candidate that did not win, with the first rule it lost on against
// the winner.
type Lost struct {
	Deployment string `json:"deployment"`
	LostOn     Rule   `json:"lost_on"`
}

// Decision is the outcome of the ranking for one item on one computer.
type Decision struct {
	Item   string `json:"item"`
	Winner string `json:"winner"`
	// Desired is the winner's desired state (software) or mode (task), as the
	// fleet file spells it.
	Desired string `json:"desired"`
	// Candidates are the other candidates, best first, each with the first rule
	// it lost on against the winner.
	Candidates []Lost `json:"candidates"`
	// Deployment is the winning deployment.
	Deployment *immy.Deployment `json:"-"`
}

// Decide ranks the candidates of one item with r (nil means DefaultRanking)
// and returns the decision: the winner, and every other candidate, best first,
// with the first rule it lost on against the winner. It reorders cands into
// rank order. With no candidate there is no decision: ok is false.
func Decide(item string, cands []Candidate, r Ranking) (d Decision, ok bool) {
	if len(cands) == 0 {
		return Decision{}, false
	}
	if r == nil {
		r = DefaultRanking
	}
	sortCandidates(cands, r)
	w := cands[0].Deployment
	d = Decision{Item: item, Winner: w.ID, Desired: desiredText(w), Deployment: w}
	if len(cands) > 1 {
		d.Candidates = make([]Lost, 0, len(cands)-1)
		for i := 1; i < len(cands); i++ {
			_, rule := r.Compare(&cands[0], &cands[i])
			d.Candidates = append(d.Candidates, Lost{Deployment: cands[i].Deployment.ID, LostOn: rule})
		}
	}
	return d, true
}

// sortCandidates puts cands in rank order. Ties (a ranking that returns 0 for
// two distinct deployments) fall back to the deployment id, so the order is
// deterministic whatever the ranking.
func sortCandidates(cands []Candidate, r Ranking) {
	if len(cands) < 2 {
		return
	}
	if len(cands) == 2 { // the common case, without the sort machinery
		if c, _ := r.Compare(&cands[0], &cands[1]); c > 0 || (c == 0 && cands[1].Deployment.ID < cands[0].Deployment.ID) {
			cands[0], cands[1] = cands[1], cands[0]
		}
		return
	}
	slices.SortStableFunc(cands, func(a, b Candidate) int {
		if c, _ := r.Compare(&a, &b); c != 0 {
			return c
		}
		return cmpString(a.Deployment.ID, b.Deployment.ID)
	})
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// desiredText spells the deployment's desired state, or its mode for a task.
func desiredText(d *immy.Deployment) string {
	if d.Desired != immy.DesiredUnset {
		return d.Desired.String()
	}
	if d.Mode != immy.ModeUnset {
		return d.Mode.String()
	}
	return ""
}
