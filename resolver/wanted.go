package resolver

import (
	"sync"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/targets"
)

// A filter is most of what a computer's plan costs, and some deployments
// are candidates nowhere in a session: disabled ones, ad hoc ones outside
// an ad hoc session, onboarding ones outside an onboarding session, those
// an ad hoc session does not name, optional ones not approved for the
// computer. Whatever such a deployment's filter gives, the plan is the
// same: a match is not a candidate (candidate), and a failure holds
// nothing (hold). So the planner asks the matcher only for the deployments
// that can be candidates (targets.Matcher.MatchOf), and the filters only
// the others have are not evaluated. TestWantedEqualsPlain pins it to the
// planner that asks for every deployment.

// wantSets is, by session kind, the deployments that can be candidates on
// some computer, optional ones aside; and, by computer, the optional
// deployments approved for it. Built on first use (a planner updated from
// another, update.go, builds its own).
type wantSets struct {
	once       sync.Once
	full, onbo targets.Wanted
	approvals  map[int32][]int32 // computer -> optional deployments approved for it, ascending
}

// wantedOf returns the deployments that can be candidates on some computer
// in session s, optional ones aside (nil: every deployment, for the tests'
// plain path).
func (p *Planner) wantedOf(s *sessionFilter) targets.Wanted {
	if p.wantAll {
		return nil
	}
	p.wants.once.Do(p.buildWants)
	switch s.kind {
	case FullMaintenance:
		return p.wants.full
	case OnboardingSession:
		return p.wants.onbo
	}
	return p.wantSet(s)
}

func (p *Planner) buildWants() {
	p.wants.full = p.wantSet(&sessionFilter{kind: FullMaintenance})
	p.wants.onbo = p.wantSet(&sessionFilter{kind: OnboardingSession})
	p.wants.approvals = map[int32][]int32{}
	for di := range p.deps {
		if p.deps[di].enforcement != immy.EnforcementOptional || p.deps[di].item < 0 {
			continue
		}
		for _, c := range p.deps[di].approved {
			p.wants.approvals[c] = append(p.wants.approvals[c], int32(di))
		}
	}
}

// wantSet returns the deployments that mayTakePart in session s.
func (p *Planner) wantSet(s *sessionFilter) targets.Wanted {
	w := targets.NewWanted(len(p.deps))
	for di := range p.deps {
		if p.mayTakePart(di, s) {
			w.Add(di)
		}
	}
	return w
}

// mayTakePart reports whether deployment di can be a candidate on some
// computer in session s, optional deployments aside (each is a candidate
// where it is approved only): isCandidate on a computer of the item's owner,
// when it has one.
func (p *Planner) mayTakePart(di int, s *sessionFilter) bool {
	info := &p.deps[di]
	if info.enforcement == immy.EnforcementOptional || info.owner == -2 {
		return false
	}
	return p.isCandidate(di, -1, int(info.owner), info.owner >= 0, s)
}

// wantedOn returns the deployments that can be candidates on computer c (of
// tenant ct when hasTenant) in session s: s.want, and the optional
// deployments approved for c that are candidates there. The set is
// w.want's memory when c has approvals, else s.want itself.
func (p *Planner) wantedOn(w *worker, c, ct int, hasTenant bool, s *sessionFilter) targets.Wanted {
	if s.want == nil {
		return nil
	}
	ap := p.wants.approvals[int32(c)]
	if len(ap) == 0 {
		return s.want
	}
	w.want = append(w.want[:0], s.want...)
	for _, di := range ap {
		if p.isCandidate(int(di), c, ct, hasTenant, s) {
			w.want.Add(int(di))
		}
	}
	return w.want
}
