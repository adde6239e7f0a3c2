package resolver

import (
	"context"
	"testing"

	"github.com/immyoss/engine/immy/immytest"
	"github.com/stretchr/testify/require"
)

// TestIsCandidateAgreesWithTakesPart checks decide's fast test against
// takesPart, which explain uses, for every deployment each computer of a
// generated fleet matches, in every kind of session.
func TestIsCandidateAgreesWithTakesPart(t *testing.T) {
	f := immytest.Generate(immytest.FleetScale(2_000))
	p := newPlanner(t, f, Config{})
	named := []string{f.Deployments[0].ID, f.Deployments[7].ID, f.Deployments[0].Item, f.Deployments[40].Item}
	sessions := []Session{{Kind: FullMaintenance}, {Kind: OnboardingSession}, {Kind: AdHocSession, Named: named}}
	for _, s := range sessions {
		sf, err := p.compileSession(s)
		require.NoError(t, err)
		yes, no := 0, 0
		var match []int
		for c := range f.Computers {
			match, err = p.m.Match(context.Background(), c, match[:0])
			require.NoError(t, err)
			ct, hasTenant := p.ix.ComputerTenant(c)
			for _, di := range match {
				if p.deps[di].item < 0 {
					continue
				}
				want, _ := p.takesPart(di, c, sf)
				if got := p.isCandidate(di, c, ct, hasTenant, sf); got != want {
					t.Fatalf("%v session, deployment %s on computer %s: isCandidate %v, takesPart %v",
						s.Kind, p.table[di].ID, f.Computers[c].ID, got, want)
				}
				if want {
					yes++
				} else {
					no++
				}
			}
		}
		require.Positive(t, yes, "%v session: no candidate at all", s.Kind)
		require.Positive(t, no, "%v session: no deployment left out", s.Kind)
	}
}
