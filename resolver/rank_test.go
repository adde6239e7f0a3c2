package resolver

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
)

// base is a deployment every ranking case starts from: a cross-tenant
// all-computers deployment of latest.
func base(id string) immy.Deployment {
	return immy.Deployment{ID: id, Item: "app", Target: immy.Target{Type: immy.TargetAllComputers}, Desired: immy.DesiredLatest}
}

func TestDefaultRankingRules(t *testing.T) {
	with := func(id string, f func(d *immy.Deployment)) Candidate {
		d := base(id)
		f(&d)
		return Candidate{Deployment: &d}
	}
	same := func(*immy.Deployment) {}
	tests := []struct {
		name         string
		better, wors Candidate // better must win over wors
		rule         Rule
	}{
		{"individual over single tenant", with("z", func(d *immy.Deployment) { d.Target = immy.Target{Type: immy.TargetComputer, Computer: "pc"} }),
			with("a", func(d *immy.Deployment) { d.Target.Tenant = "t" }), RuleScope},
		{"person is individual too", with("z", func(d *immy.Deployment) { d.Target = immy.Target{Type: immy.TargetPerson, Person: "p"} }),
			with("a", func(d *immy.Deployment) { d.Target.Tenant = "t" }), RuleScope},
		{"single tenant over cross tenant", with("z", func(d *immy.Deployment) { d.Target.Tenant = "t" }), with("a", same), RuleScope},
		{"computer over person", with("z", func(d *immy.Deployment) { d.Target = immy.Target{Type: immy.TargetComputer, Computer: "pc"} }),
			with("a", func(d *immy.Deployment) { d.Target = immy.Target{Type: immy.TargetPerson, Person: "p"} }), RuleType},
		{"tag over filter", with("z", func(d *immy.Deployment) { d.Target = immy.Target{Type: immy.TargetTag, Tag: "x"} }),
			with("a", func(d *immy.Deployment) { d.Target = immy.Target{Type: immy.TargetFilter, Expr: "true"} }), RuleType},
		{"group over filter", with("z", func(d *immy.Deployment) { d.Target = immy.Target{Type: immy.TargetGroup, Group: "g"} }),
			with("a", func(d *immy.Deployment) { d.Target = immy.Target{Type: immy.TargetFilter, Expr: "true"} }), RuleType},
		{"filter over client group", with("z", func(d *immy.Deployment) { d.Target = immy.Target{Type: immy.TargetFilter, Expr: "true"} }),
			with("a", func(d *immy.Deployment) { d.Target = immy.Target{Type: immy.TargetClientGroup, ClientGroup: "cg"} }), RuleType},
		{"device group over all computers", with("z", func(d *immy.Deployment) { d.Target = immy.Target{Type: immy.TargetDeviceGroup, DeviceGroup: "dg"} }),
			with("a", same), RuleType},
		{"primary domain controllers over domain controllers", with("z", func(d *immy.Deployment) { d.Target.Filter = immy.FilterPrimaryDomainControllers }),
			with("a", func(d *immy.Deployment) { d.Target.Filter = immy.FilterDomainControllers }), RuleGroupFilter},
		{"domain controllers over servers", with("z", func(d *immy.Deployment) { d.Target.Filter = immy.FilterDomainControllers }),
			with("a", func(d *immy.Deployment) { d.Target.Filter = immy.FilterServers }), RuleGroupFilter},
		{"workstations over workstations and portable", with("z", func(d *immy.Deployment) { d.Target.Filter = immy.FilterWorkstations }),
			with("a", func(d *immy.Deployment) { d.Target.Filter = immy.FilterWorkstationsAndPortable }), RuleGroupFilter},
		{"workstations and portable over all", with("z", func(d *immy.Deployment) { d.Target.Filter = immy.FilterWorkstationsAndPortable }),
			with("a", same), RuleGroupFilter},
		{"own tenant over parent", Candidate{Deployment: ptr(base("z"))}, Candidate{Deployment: ptr(base("a")), TenantDistance: 1}, RuleTenantDistance},
		{"parent over grandparent", Candidate{Deployment: ptr(base("z")), TenantDistance: 1}, Candidate{Deployment: ptr(base("a")), TenantDistance: 2}, RuleTenantDistance},
		{"higher priority", with("z", func(d *immy.Deployment) { d.Priority = 5 }), with("a", same), RulePriority},
		{"ignored over uninstalled", with("z", func(d *immy.Deployment) { d.Desired = immy.DesiredIgnored }),
			with("a", func(d *immy.Deployment) { d.Desired = immy.DesiredUninstalled }), RuleDesiredState},
		{"uninstalled over this version", with("z", func(d *immy.Deployment) { d.Desired = immy.DesiredUninstalled }),
			with("a", func(d *immy.Deployment) { d.Desired = immy.DesiredThisVersion }), RuleDesiredState},
		{"this version over older or equal", with("z", func(d *immy.Deployment) { d.Desired = immy.DesiredThisVersion }),
			with("a", func(d *immy.Deployment) { d.Desired = immy.DesiredOlderOrEqual }), RuleDesiredState},
		{"older or equal over latest", with("z", func(d *immy.Deployment) { d.Desired = immy.DesiredOlderOrEqual }), with("a", same), RuleDesiredState},
		{"latest over newer or equal", with("z", same), with("a", func(d *immy.Deployment) { d.Desired = immy.DesiredNewerOrEqual }), RuleDesiredState},
		{"newer or equal over any version", with("z", func(d *immy.Deployment) { d.Desired = immy.DesiredNewerOrEqual }),
			with("a", func(d *immy.Deployment) { d.Desired = immy.DesiredAnyVersion }), RuleDesiredState},
		{"any version over update if found", with("z", func(d *immy.Deployment) { d.Desired = immy.DesiredAnyVersion }),
			with("a", func(d *immy.Deployment) { d.Desired = immy.DesiredUpdateIfFound }), RuleDesiredState},
		{"task: enforce over audit", with("z", func(d *immy.Deployment) { d.Desired, d.Mode = immy.DesiredUnset, immy.ModeEnforce }),
			with("a", func(d *immy.Deployment) { d.Desired, d.Mode = immy.DesiredUnset, immy.ModeAudit }), RuleDesiredState},
		{"own over recommended", with("z", same), with("a", func(d *immy.Deployment) { d.Recommended = true }), RuleOrigin},
		{"lowest id", with("a", same), with("b", same), RuleID},
		{"scope before priority", with("z", func(d *immy.Deployment) { d.Target.Tenant = "t" }), with("a", func(d *immy.Deployment) { d.Priority = 100 }), RuleScope},
		{"priority before desired state", with("z", func(d *immy.Deployment) { d.Priority = 1 }),
			with("a", func(d *immy.Deployment) { d.Desired = immy.DesiredIgnored }), RulePriority},
		{"group filter before tenant distance", Candidate{Deployment: ptr(withFilter(base("z"), immy.FilterServers)), TenantDistance: 3},
			Candidate{Deployment: ptr(base("a"))}, RuleGroupFilter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, rule := DefaultRanking.Compare(&tt.better, &tt.wors)
			require.Negative(t, c)
			require.Equal(t, tt.rule, rule)
			c, rule = DefaultRanking.Compare(&tt.wors, &tt.better)
			require.Positive(t, c)
			require.Equal(t, tt.rule, rule, "the rule must not depend on the order of the arguments")

			d, ok := Decide("app", []Candidate{tt.wors, tt.better}, nil)
			require.True(t, ok)
			want := Decision{Item: "app", Winner: tt.better.Deployment.ID, Desired: desiredText(tt.better.Deployment),
				Candidates: []Lost{{Deployment: tt.wors.Deployment.ID, LostOn: tt.rule}}, Deployment: tt.better.Deployment}
			require.Empty(t, gocmp.Diff(want, d))
		})
	}
	t.Run("same deployment", func(t *testing.T) {
		a := Candidate{Deployment: ptr(base("a"))}
		c, rule := DefaultRanking.Compare(&a, &a)
		require.Zero(t, c)
		require.Equal(t, RuleNone, rule)
	})
}

func ptr[T any](v T) *T { return &v }

func withFilter(d immy.Deployment, f immy.GroupFilter) immy.Deployment {
	d.Target.Filter = f
	return d
}

func TestDecideKeepsEveryLoserWithItsFirstRule(t *testing.T) {
	mk := func(id string, f func(d *immy.Deployment)) Candidate {
		d := base(id)
		f(&d)
		return Candidate{Deployment: &d}
	}
	cands := []Candidate{
		mk("everyone", func(*immy.Deployment) {}),
		mk("contoso", func(d *immy.Deployment) { d.Target.Tenant = "contoso"; d.Desired = immy.DesiredUninstalled }),
		mk("ceo-laptop", func(d *immy.Deployment) { d.Target = immy.Target{Type: immy.TargetComputer, Computer: "pc"} }),
		mk("recommended", func(d *immy.Deployment) { d.Recommended = true }),
		mk("pinned", func(d *immy.Deployment) { d.Desired, d.Version = immy.DesiredThisVersion, immy.MustParseVersion("1.0") }),
	}
	d, ok := Decide("app", cands, nil)
	require.True(t, ok)
	require.Equal(t, "ceo-laptop", d.Winner)
	require.Empty(t, gocmp.Diff([]Lost{
		{"contoso", RuleScope},
		{"pinned", RuleScope},
		{"everyone", RuleScope},
		{"recommended", RuleScope},
	}, d.Candidates))

	_, ok = Decide("app", nil, nil)
	require.False(t, ok, "no candidate, no decision")
}

func TestReplacedRanking(t *testing.T) {
	// A caller that only cares about priority, then id.
	byPriority := RankingFunc(func(a, b *Candidate) (int, Rule) {
		if a.Deployment.Priority != b.Deployment.Priority {
			if a.Deployment.Priority > b.Deployment.Priority {
				return -1, RulePriority
			}
			return 1, RulePriority
		}
		return cmpString(a.Deployment.ID, b.Deployment.ID), RuleID
	})
	low := base("computer")
	low.Target = immy.Target{Type: immy.TargetComputer, Computer: "pc"}
	high := base("everyone")
	high.Priority = 10
	d, ok := Decide("app", []Candidate{{Deployment: &low}, {Deployment: &high}}, byPriority)
	require.True(t, ok)
	require.Equal(t, "everyone", d.Winner)
	require.Equal(t, []Lost{{"computer", RulePriority}}, d.Candidates)

	d, _ = Decide("app", []Candidate{{Deployment: &low}, {Deployment: &high}}, nil)
	require.Equal(t, "computer", d.Winner, "the default ranking puts scope first")
}

func TestRuleText(t *testing.T) {
	for r := RuleScope; r <= RuleID; r++ {
		b, err := json.Marshal(r)
		require.NoError(t, err)
		var back Rule
		require.NoError(t, json.Unmarshal(b, &back))
		require.Equal(t, r, back)
	}
	require.Equal(t, []string{"scope", "type", "group-filter", "tenant-distance", "priority", "desired-state", "origin", "id"}, ruleNames[1:])
	var r Rule
	require.ErrorIs(t, r.UnmarshalText([]byte("speed")), immy.ErrInvalid)
}

// TestRankKeyAgreesWithDefaultRanking: the planner's precomputed keys order
// candidates exactly as DefaultRanking.Compare does, and name the same rule.
func TestRankKeyAgreesWithDefaultRanking(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	targetsOf := []immy.Target{
		{Type: immy.TargetAllComputers}, {Type: immy.TargetAllComputers, Tenant: "t"},
		{Type: immy.TargetComputer, Computer: "pc"}, {Type: immy.TargetPerson, Person: "p"},
		{Type: immy.TargetTag, Tag: "x"}, {Type: immy.TargetTag, Tag: "x", Tenant: "t"}, {Type: immy.TargetGroup, Group: "g"},
		{Type: immy.TargetFilter, Expr: "true"}, {Type: immy.TargetClientGroup, ClientGroup: "c"}, {Type: immy.TargetDeviceGroup, DeviceGroup: "d"},
	}
	for round := range 200 {
		n := 2 + r.IntN(8)
		table := make([]immy.Deployment, n)
		for i := range table {
			d := immy.Deployment{ID: fmt.Sprintf("d%03d", r.IntN(1000)*10+i), Item: "app", Target: targetsOf[r.IntN(len(targetsOf))],
				Priority: r.IntN(5) - 2, Recommended: r.IntN(3) == 0}
			d.Target.Filter = immy.GroupFilter(r.IntN(7))
			if r.IntN(4) == 0 {
				d.Desired, d.Mode = immy.DesiredUnset, immy.TaskMode(1+r.IntN(4))
			} else {
				d.Desired = immy.DesiredState(1 + r.IntN(8))
			}
			table[i] = d
		}
		slices.SortFunc(table, func(a, b immy.Deployment) int { return cmpString(a.ID, b.ID) })
		p := &Planner{table: table, deps: make([]depInfo, n)}
		p.rankKeys()
		cands := make([]Candidate, n)
		keys := make([]uint64, n)
		for i := range table {
			dist := 0
			if table[i].Target.Tenant != "" {
				dist = r.IntN(4)
			}
			cands[i] = Candidate{Deployment: &table[i], TenantDistance: dist}
			keys[i] = p.deps[i].key | uint64(dist)<<keyDistanceLo
		}
		for i := range n {
			for j := range n {
				c, rule := DefaultRanking.Compare(&cands[i], &cands[j])
				kc := cmp.Compare(keys[i], keys[j])
				require.Equal(t, c, kc, "round %d: %+v vs %+v", round, cands[i], cands[j])
				require.Equal(t, rule, keyRule(keys[i], keys[j]), "round %d: %+v vs %+v", round, *cands[i].Deployment, *cands[j].Deployment)
			}
		}
	}
}
