package resolver

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/targets"
)

// Explanation tells why one deployment won an item on one computer: every
// candidate in rank order with the values the ranking compares, and the
// deployments of the item that did not take part, with why.
type Explanation struct {
	Computer string `json:"computer"`
	Item     string `json:"item"`
	// Excluded: the computer is excluded from maintenance.
	Excluded bool `json:"excluded,omitempty"`
	// Winner is "" when no deployment takes part.
	Winner string `json:"winner"`
	// Candidates in rank order, the winner first.
	Candidates []Ranked `json:"candidates"`
	// NotCandidates are the item's other deployments, by id.
	NotCandidates []NotCandidate `json:"not_candidates"`
	// Problems: the item is held on the computer because the filter of a
	// deployment that takes part failed there (ProblemFilterError): no
	// deployment wins, and every candidate is a NotCandidate.
	Problems []Problem `json:"problems,omitempty"`
	// Detection lists, for a software detected from the inventory, every
	// inventory entry its display name or code matched, in inventory order,
	// and what detection made of each (see Catalogue.DetectExplained).
	Detection []EntryMatch `json:"detection,omitempty"`
}

// Ranked is one candidate with the values the default ranking compares.
type Ranked struct {
	Deployment string `json:"deployment"`
	// LostOn is the first rule it lost on against the winner; RuleNone for
	// the winner.
	LostOn         Rule             `json:"lost_on,omitempty"`
	Scope          immy.TargetScope `json:"scope"`
	Type           immy.TargetType  `json:"type"`
	Filter         immy.GroupFilter `json:"group_filter"`
	TenantDistance int              `json:"tenant_distance"`
	Priority       int              `json:"priority"`
	Desired        string           `json:"desired"`
	Recommended    bool             `json:"recommended"`
}

// NotCandidate is a deployment of the item that does not take part.
type NotCandidate struct {
	Deployment string `json:"deployment"`
	Why        string `json:"why"`
}

// Explain explains the decision for one item on one computer in session s.
func (p *Planner) Explain(ctx context.Context, computer, item string, s Session) (*Explanation, error) {
	c, ok := p.ix.Computer(computer)
	if !ok {
		return nil, fmt.Errorf("resolver: unknown computer %q: %w", computer, immy.ErrNotFound)
	}
	if _, ok := p.cat.byID[item]; !ok {
		return nil, fmt.Errorf("resolver: unknown item %q: %w", item, immy.ErrNotFound)
	}
	sf, err := p.compileSession(s)
	if err != nil {
		return nil, err
	}
	comp := &p.fleet.Computers[c]
	e := &Explanation{Computer: comp.ID, Item: item, Candidates: []Ranked{}, NotCandidates: []NotCandidate{}}
	_, e.Detection, _ = p.cat.DetectExplained(item, comp.Software)
	if comp.ExcludedFromMaintenance {
		e.Excluded = true
		return e, nil
	}
	matched, err := p.m.Match(ctx, c, nil)
	failed := map[int]*targets.FilterError{}
	if err != nil {
		es, ok := filterErrors(err)
		if !ok {
			return nil, fmt.Errorf("resolver: computer %q: %w", comp.ID, err)
		}
		for _, fe := range es {
			failed[fe.Deployment] = fe
		}
	}
	var ids []int
	for i := range p.table { // in id order
		if p.table[i].Item == item {
			ids = append(ids, i)
		}
	}
	var cands []Candidate
	for _, di := range ids {
		d := &p.table[di]
		if fe := failed[di]; fe != nil {
			why := "its " + fe.Lang.String() + " filter failed on the computer: " + fe.Message()
			if ok, whyNot := p.takesPart(di, c, sf); !ok {
				why = whyNot
			} else {
				e.Problems = append(e.Problems, p.problem(planProblem{kind: ProblemFilterError, item: p.cat.byID[item], dep: int32(di), about: -1, ferr: fe}, comp.ID))
			}
			e.NotCandidates = append(e.NotCandidates, NotCandidate{Deployment: d.ID, Why: why})
			continue
		}
		if _, hit := slices.BinarySearch(matched, di); !hit {
			e.NotCandidates = append(e.NotCandidates, NotCandidate{Deployment: d.ID, Why: p.whyNotSelected(ctx, di, c)})
			continue
		}
		if ok, why := p.takesPart(di, c, sf); !ok {
			e.NotCandidates = append(e.NotCandidates, NotCandidate{Deployment: d.ID, Why: why})
			continue
		}
		cands = append(cands, Candidate{Deployment: d, TenantDistance: p.distance(di, c)})
	}
	if len(e.Problems) > 0 { // held: no candidate wins
		for _, cd := range cands {
			e.NotCandidates = append(e.NotCandidates, NotCandidate{Deployment: cd.Deployment.ID, Why: "the item is held: a filter failed"})
		}
		slices.SortFunc(e.NotCandidates, func(a, b NotCandidate) int { return strings.Compare(a.Deployment, b.Deployment) })
		return e, nil
	}
	if len(cands) == 0 {
		return e, nil
	}
	sortCandidates(cands, p.cfg.Ranking)
	e.Winner = cands[0].Deployment.ID
	for i := range cands {
		d := cands[i].Deployment
		r := Ranked{Deployment: d.ID, Scope: d.Target.Scope(), Type: d.Target.Type, Filter: d.Target.Filter,
			TenantDistance: cands[i].TenantDistance, Priority: d.Priority, Desired: desiredText(d), Recommended: d.Recommended}
		if i > 0 {
			_, r.LostOn = p.cfg.Ranking.Compare(&cands[0], &cands[i])
		}
		e.Candidates = append(e.Candidates, r)
	}
	return e, nil
}

// whyNotSelected says why deployment di's target leaves computer c out: the
// checks of targets.Matcher.Explain that failed.
func (p *Planner) whyNotSelected(ctx context.Context, di, c int) string {
	const prefix = "its target does not select the computer"
	e, err := p.m.Explain(ctx, di, c)
	if err != nil {
		return prefix + ": " + err.Error()
	}
	var failed []string
	for _, ch := range e.Checks {
		if !ch.Passed {
			failed = append(failed, fmt.Sprintf("%s: %s", ch.Rule, ch.Detail))
		}
	}
	if len(failed) == 0 {
		return prefix
	}
	return prefix + " (" + strings.Join(failed, "; ") + ")"
}
