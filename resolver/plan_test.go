package resolver

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/immytest"
	"github.com/immyoss/engine/targets"
)

var testAt = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func newPlanner(t testing.TB, f *immy.Fleet, cfg Config) *Planner {
	t.Helper()
	cat, err := NewCatalogue(f)
	require.NoError(t, err)
	ix, err := targets.NewIndex(f, targets.Config{At: f.At})
	require.NoError(t, err)
	p, err := NewPlanner(ix, cat, cfg)
	require.NoError(t, err)
	return p
}

// winners reduces a computer plan to item -> winner.
func winners(cp *ComputerPlan) map[string]string {
	out := map[string]string{}
	for _, d := range cp.Decisions() {
		out[d.Item] = d.Winner
	}
	return out
}

func TestPlanEnforcementAndSession(t *testing.T) {
	f := &immy.Fleet{
		At:      testAt,
		Tenants: []immy.Tenant{{ID: "acme"}},
		Computers: []immy.Computer{
			{ID: "pc1", Tenant: "acme", Kind: immy.KindWorkstation},
			{ID: "pc2", Tenant: "acme", Kind: immy.KindWorkstation},
		},
		Software: []immy.Software{software("required", "1"), software("optional", "1"), software("adhoc", "1"), software("onboard", "1"), software("disabled", "1")},
		Tasks:    []immy.Task{{ID: "rename", OnboardingOnly: true}},
	}
	add := func(d *immy.Deployment, mod func(*immy.Deployment)) {
		mod(d)
		f.Deployments = append(f.Deployments, *d)
	}
	add(dep("d-required", "required", immy.DesiredLatest), func(*immy.Deployment) {})
	add(dep("d-optional", "optional", immy.DesiredLatest), func(d *immy.Deployment) { d.Enforcement, d.ApprovedFor = immy.EnforcementOptional, ids("pc1") })
	add(dep("d-adhoc", "adhoc", immy.DesiredLatest), func(d *immy.Deployment) { d.Enforcement = immy.EnforcementAdHoc })
	add(dep("d-onboard", "onboard", immy.DesiredLatest), func(d *immy.Deployment) { d.Enforcement = immy.EnforcementOnboardingOnly })
	add(dep("d-disabled", "disabled", immy.DesiredLatest), func(d *immy.Deployment) { d.Disabled = true })
	add(taskDep("d-rename", "rename", immy.ModeEnforce), func(*immy.Deployment) {})
	p := newPlanner(t, f, Config{})
	ctx := context.Background()

	tests := []struct {
		name    string
		session Session
		want    map[string]map[string]string
	}{
		{"full maintenance: required, and optional where approved", Session{}, map[string]map[string]string{
			"pc1": {"required": "d-required", "optional": "d-optional"},
			"pc2": {"required": "d-required"},
		}},
		{"onboarding: onboarding deployments and onboarding-only tasks too", Session{Kind: OnboardingSession}, map[string]map[string]string{
			"pc1": {"required": "d-required", "optional": "d-optional", "onboard": "d-onboard", "rename": "d-rename"},
			"pc2": {"required": "d-required", "onboard": "d-onboard", "rename": "d-rename"},
		}},
		{"ad hoc naming a deployment: only its item", Session{Kind: AdHocSession, Named: ids("d-adhoc")}, map[string]map[string]string{
			"pc1": {"adhoc": "d-adhoc"}, "pc2": {"adhoc": "d-adhoc"},
		}},
		{"ad hoc naming items", Session{Kind: AdHocSession, Named: ids("adhoc", "required", "disabled")}, map[string]map[string]string{
			"pc1": {"adhoc": "d-adhoc", "required": "d-required"}, "pc2": {"adhoc": "d-adhoc", "required": "d-required"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := p.Plan(ctx, tt.session)
			require.NoError(t, err)
			got := map[string]map[string]string{}
			for i := range plan.Computers {
				got[plan.Computers[i].ID] = winners(&plan.Computers[i])
			}
			require.Empty(t, cmp.Diff(tt.want, got))
		})
	}

	_, err := p.Plan(ctx, Session{Kind: AdHocSession, Named: ids("nothing-of-that-name")})
	require.ErrorIs(t, err, immy.ErrNotFound)
	require.ErrorContains(t, err, "nothing-of-that-name")

	e, err := p.Explain(ctx, "pc2", "optional", Session{})
	require.NoError(t, err)
	require.Equal(t, []NotCandidate{{"d-optional", "optional and not approved for this computer"}}, e.NotCandidates)
	e, err = p.Explain(ctx, "pc2", "disabled", Session{})
	require.NoError(t, err)
	require.Equal(t, []NotCandidate{{"d-disabled", "disabled"}}, e.NotCandidates)
}

func TestPlanTenantsAndExclusions(t *testing.T) {
	f := &immy.Fleet{
		At: testAt,
		Tenants: []immy.Tenant{
			{ID: "msp"}, {ID: "reseller", Parent: "msp"}, {ID: "shop", Parent: "reseller"}, {ID: "other"},
		},
		Computers: []immy.Computer{
			{ID: "shop-01", Tenant: "shop", Kind: immy.KindWorkstation},
			{ID: "shop-02", Tenant: "shop", Kind: immy.KindWorkstation, ExcludedFromMaintenance: true},
			{ID: "other-01", Tenant: "other", Kind: immy.KindServer},
		},
		Software: []immy.Software{software("app", "1"), with(software("private", "1"), func(s *immy.Software) { s.Tenant = "other" })},
		Tasks:    []immy.Task{{ID: "cloud", Category: immy.TaskTenant}},
		Deployments: []immy.Deployment{
			{ID: "from-msp", Item: "app", Target: immy.Target{Type: immy.TargetAllComputers, Tenant: "msp", PropagateToChildren: true}, Desired: immy.DesiredLatest},
			{ID: "from-reseller", Item: "app", Target: immy.Target{Type: immy.TargetAllComputers, Tenant: "reseller", PropagateToChildren: true}, Desired: immy.DesiredUninstalled},
			{ID: "everyone", Item: "app", Target: immy.Target{Type: immy.TargetAllComputers}, Desired: immy.DesiredLatest},
			{ID: "private-everywhere", Item: "private", Target: immy.Target{Type: immy.TargetAllComputers}, Desired: immy.DesiredLatest},
			{ID: "cloud-all", Item: "cloud", Target: immy.Target{Type: immy.TargetAllTenants}, Mode: immy.ModeEnforce},
		},
	}
	p := newPlanner(t, f, Config{})
	plan, err := p.Plan(context.Background(), Session{})
	require.NoError(t, err)

	shop, ok := plan.Computer("shop-01")
	require.True(t, ok)
	d, ok := shop.Decision("app")
	require.True(t, ok)
	require.Equal(t, "from-reseller", d.Winner)
	require.Equal(t, []Lost{{"from-msp", RuleTenantDistance}, {"everyone", RuleScope}}, d.Candidates)
	_, ok = shop.Decision("private")
	require.False(t, ok, "a private item stays with its tenant")

	other, _ := plan.Computer("other-01")
	require.Equal(t, map[string]string{"app": "everyone", "private": "private-everywhere"}, winners(other))
	_, ok = other.Decision("cloud")
	require.False(t, ok, "cloud tasks are planned per tenant, not per computer")

	excluded, _ := plan.Computer("shop-02")
	require.True(t, excluded.Excluded)
	require.Empty(t, excluded.Decisions())
	require.Empty(t, excluded.Actions())

	var b bytes.Buffer
	require.NoError(t, plan.WriteJSON(&b))
	require.Contains(t, b.String(), `"id": "shop-02",
      "excluded": true,
      "decisions": [],
      "actions": []`)
	require.NotContains(t, b.String(), "null")

	e, err := p.Explain(context.Background(), "shop-01", "app", Session{})
	require.NoError(t, err)
	require.Equal(t, "from-reseller", e.Winner)
	require.Equal(t, []Ranked{
		{Deployment: "from-reseller", Scope: immy.ScopeSingleTenant, Type: immy.TargetAllComputers, TenantDistance: 1, Desired: "uninstalled"},
		{Deployment: "from-msp", LostOn: RuleTenantDistance, Scope: immy.ScopeSingleTenant, Type: immy.TargetAllComputers, TenantDistance: 2, Desired: "latest"},
		{Deployment: "everyone", LostOn: RuleScope, Scope: immy.ScopeCrossTenant, Type: immy.TargetAllComputers, Desired: "latest"},
	}, e.Candidates)
	text := e.String()
	require.Contains(t, text, "app on shop-01: from-reseller wins")
	require.Contains(t, text, "lost on tenant-distance")

	e, err = p.Explain(context.Background(), "other-01", "app", Session{})
	require.NoError(t, err)
	require.Len(t, e.NotCandidates, 2)
	require.Equal(t, "from-msp", e.NotCandidates[0].Deployment)
	require.Contains(t, e.NotCandidates[0].Why, "its target does not select the computer (tenant:")

	_, err = p.Explain(context.Background(), "nope", "app", Session{})
	require.ErrorIs(t, err, immy.ErrNotFound)
	_, err = p.Explain(context.Background(), "shop-01", "nope", Session{})
	require.ErrorIs(t, err, immy.ErrNotFound)
}

// bigFleet builds a fleet of n computers over a few tenants, with
// deployments of every target scope and some prerequisites, for the tests
// that compare runs.
func bigFleet(n int) *immy.Fleet {
	f := &immy.Fleet{At: testAt}
	for t := range 10 {
		f.Tenants = append(f.Tenants, immy.Tenant{ID: fmt.Sprintf("t%02d", t)})
	}
	for i := range 20 {
		s := software(fmt.Sprintf("app%02d", i), "1.0", "2.0")
		if i > 0 && i%3 != 0 {
			s.Prerequisites = []immy.Prerequisite{needs(fmt.Sprintf("app%02d", i-1))}
		}
		f.Software = append(f.Software, s)
	}
	for i := range n {
		c := immy.Computer{ID: fmt.Sprintf("pc%05d", i), Tenant: fmt.Sprintf("t%02d", i%10), Kind: immy.ComputerKind(1 + i%5)}
		for j := range i % 7 {
			c.Software = append(c.Software, immy.DetectedSoftware{Name: fmt.Sprintf("app%02d", (i+j)%20), Version: immy.MustParseVersion("1.0")})
		}
		f.Computers = append(f.Computers, c)
	}
	for i := range 20 {
		item := fmt.Sprintf("app%02d", i)
		f.Deployments = append(f.Deployments,
			immy.Deployment{ID: "all-" + item, Item: item, Target: immy.Target{Type: immy.TargetAllComputers}, Desired: immy.DesiredLatest},
			immy.Deployment{ID: "tenant-" + item, Item: item, Target: immy.Target{Type: immy.TargetAllComputers, Tenant: fmt.Sprintf("t%02d", i%10), Filter: immy.FilterServers}, Desired: immy.DesiredUninstalled},
			immy.Deployment{ID: "one-" + item, Item: item, Target: immy.Target{Type: immy.TargetComputer, Computer: fmt.Sprintf("pc%05d", i*7%n)}, Desired: immy.DesiredIgnored},
		)
	}
	return f
}

func TestPlanIsDeterministic(t *testing.T) {
	f := bigFleet(640)
	render := func(workers int) string {
		p := newPlanner(t, f, Config{Workers: workers})
		plan, err := p.Plan(context.Background(), Session{})
		require.NoError(t, err)
		var b bytes.Buffer
		require.NoError(t, plan.WriteJSON(&b))
		require.NoError(t, plan.WriteText(&b))
		return b.String()
	}
	one := render(1)
	require.Equal(t, one, render(8), "the number of workers must not change the plan")
	require.Equal(t, one, render(0))

	// The default ranking wrapped, so that the planner cannot compare keys:
	// the comparator path gives the same plan.
	p := newPlanner(t, f, Config{Ranking: RankingFunc(DefaultRanking.Compare)})
	require.False(t, p.keyed)
	plan, err := p.Plan(context.Background(), Session{})
	require.NoError(t, err)
	var b bytes.Buffer
	require.NoError(t, plan.WriteJSON(&b))
	require.NoError(t, plan.WriteText(&b))
	require.Equal(t, one, b.String())

	// Every computer planned alone gives its block of the whole plan.
	p = newPlanner(t, f, Config{})
	plan, err = p.Plan(context.Background(), Session{})
	require.NoError(t, err)
	for _, id := range ids("pc00000", "pc00007", "pc00321", "pc00639") {
		alone, err := p.PlanComputer(context.Background(), id, Session{}, nil)
		require.NoError(t, err)
		in, ok := plan.Computer(id)
		require.True(t, ok)
		samePtr := cmp.Comparer(func(a, b *immy.Deployment) bool { return a == b })
		require.Equal(t, in.ID, alone.ID)
		require.Empty(t, cmp.Diff(in.Decisions(), alone.Decisions(), samePtr))
		require.Empty(t, cmp.Diff(in.Actions(), alone.Actions()))
		decisions, _, err := p.Decide(context.Background(), id, Session{})
		require.NoError(t, err)
		require.Empty(t, cmp.Diff(in.Decisions(), decisions, samePtr))
	}
	// Computers come sorted by id.
	for i := 1; i < len(plan.Computers); i++ {
		require.Less(t, plan.Computers[i-1].ID, plan.Computers[i].ID)
	}
}

func TestPlanComputerWithState(t *testing.T) {
	f := &immy.Fleet{
		At:          testAt,
		Tenants:     []immy.Tenant{{ID: "acme"}},
		Computers:   []immy.Computer{{ID: "pc", Tenant: "acme", Kind: immy.KindWorkstation, Software: []immy.DetectedSoftware{{Name: "app", Version: immy.MustParseVersion("2")}}}},
		Software:    []immy.Software{software("app", "2")},
		Deployments: []immy.Deployment{*dep("d", "app", immy.DesiredLatest)},
	}
	p := newPlanner(t, f, Config{})
	cp, err := p.PlanComputer(context.Background(), "pc", Session{}, nil)
	require.NoError(t, err)
	require.Equal(t, []step{{"app", "none", "d", "up-to-date", ""}}, steps(cp.Actions()))
	// Detection of a real session found the test script failing.
	st := fakeState{sw: map[string]SoftwareState{"app": {Present: true, Version: immy.MustParseVersion("2"), Test: TestFailed}}}
	cp, err = p.PlanComputer(context.Background(), "pc", Session{}, st)
	require.NoError(t, err)
	require.Equal(t, []step{{"app", "reinstall", "d", "test-failed", "2"}}, steps(cp.Actions()))

	_, err = p.PlanComputer(context.Background(), "ghost", Session{}, nil)
	require.ErrorIs(t, err, immy.ErrNotFound)
}

func TestPlanWithReplacedRanking(t *testing.T) {
	f := &immy.Fleet{
		At:        testAt,
		Tenants:   []immy.Tenant{{ID: "acme"}},
		Computers: []immy.Computer{{ID: "pc", Tenant: "acme", Kind: immy.KindWorkstation}},
		Software:  []immy.Software{software("app", "1")},
		Deployments: []immy.Deployment{
			{ID: "pinned-to-pc", Item: "app", Target: immy.Target{Type: immy.TargetComputer, Computer: "pc"}, Desired: immy.DesiredIgnored},
			{ID: "urgent", Item: "app", Target: immy.Target{Type: immy.TargetAllComputers}, Desired: immy.DesiredLatest, Priority: 9},
		},
	}
	// An MSP that lets priority override everything else.
	priorityFirst := RankingFunc(func(a, b *Candidate) (int, Rule) {
		if c := cmpInt(b.Deployment.Priority, a.Deployment.Priority); c != 0 {
			return c, RulePriority
		}
		return DefaultRanking.Compare(a, b)
	})
	p := newPlanner(t, f, Config{Ranking: priorityFirst})
	cp, err := p.PlanComputer(context.Background(), "pc", Session{}, nil)
	require.NoError(t, err)
	require.Equal(t, []Decision{{Item: "app", Winner: "urgent", Desired: "latest", Candidates: []Lost{{"pinned-to-pc", RulePriority}},
		Deployment: cp.Decisions()[0].Deployment}}, cp.Decisions())
	cp, err = newPlanner(t, f, Config{}).PlanComputer(context.Background(), "pc", Session{}, nil)
	require.NoError(t, err)
	require.Equal(t, "pinned-to-pc", cp.Decisions()[0].Winner)
}

func TestPlanCancelled(t *testing.T) {
	p := newPlanner(t, bigFleet(500), Config{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := p.Plan(ctx, Session{})
	require.ErrorIs(t, err, context.Canceled)
}

func TestPlanNeverShowsPasswords(t *testing.T) {
	const secret = "hunter2-do-not-print"
	f := &immy.Fleet{
		At:        testAt,
		Tenants:   []immy.Tenant{{ID: "acme"}},
		Computers: []immy.Computer{{ID: "pc", Tenant: "acme", Kind: immy.KindWorkstation}},
		Tasks: []immy.Task{{ID: "join-domain", Parameters: []immy.Parameter{
			{Name: "user", Type: immy.ParamText}, {Name: "password", Type: immy.ParamPassword, Default: secret},
		}}},
		Deployments: []immy.Deployment{{ID: "join", Item: "join-domain", Target: immy.Target{Type: immy.TargetAllComputers}, Mode: immy.ModeEnforce,
			Parameters: map[string]any{"user": "admin", "password": secret}}},
	}
	p := newPlanner(t, f, Config{})
	plan, err := p.Plan(context.Background(), Session{})
	require.NoError(t, err)
	e, err := p.Explain(context.Background(), "pc", "join-domain", Session{})
	require.NoError(t, err)
	var b bytes.Buffer
	require.NoError(t, plan.WriteJSON(&b))
	require.NoError(t, plan.WriteText(&b))
	require.NoError(t, e.WriteText(&b))
	ej, err := json.Marshal(e)
	require.NoError(t, err)
	b.Write(ej)
	require.Contains(t, b.String(), "join-domain")
	require.NotContains(t, b.String(), secret)
}

func TestNewPlannerErrors(t *testing.T) {
	f := &immy.Fleet{
		Tenants:   []immy.Tenant{{ID: "acme"}},
		Computers: []immy.Computer{{ID: "pc", Tenant: "acme"}},
		Software:  []immy.Software{software("app", "1")},
		Deployments: []immy.Deployment{
			{ID: "bad-filter", Item: "app", Target: immy.Target{Type: immy.TargetFilter, Expr: "computer.os startsWith"}, Desired: immy.DesiredLatest},
			{ID: "bad-too", Item: "app", Target: immy.Target{Type: immy.TargetFilter, Expr: "computer.kind +"}, Desired: immy.DesiredLatest},
		},
	}
	cat, err := NewCatalogue(f)
	require.NoError(t, err)
	ix, err := targets.NewIndex(f, targets.Config{})
	require.NoError(t, err)
	_, err = NewPlanner(ix, cat, Config{})
	require.Error(t, err)
	require.Contains(t, err.Error(), `"bad-filter"`)
	require.Contains(t, err.Error(), `"bad-too"`)
	require.True(t, strings.HasPrefix(err.Error(), "resolver: "))

	// The problems name the deployments' places in the fleet, though the
	// planner compiles them sorted by item and id.
	var ps immy.Problems
	require.True(t, errors.As(err, &ps))
	require.Len(t, ps, 2)
	require.Equal(t, "bad-filter", ps[0].ID)
	require.Equal(t, 0, ps[0].Index)
	require.Equal(t, "bad-too", ps[1].ID)
	require.Equal(t, 1, ps[1].Index)
	f.Deployments[0], f.Deployments[1] = f.Deployments[1], f.Deployments[0]
	_, err = NewPlanner(ix, cat, Config{})
	require.True(t, errors.As(err, &ps))
	require.Equal(t, map[string]int{ps[0].ID: ps[0].Index, ps[1].ID: ps[1].Index}, map[string]int{"bad-too": 0, "bad-filter": 1})

	other, err := NewCatalogue(&immy.Fleet{})
	require.NoError(t, err)
	_, err = NewPlanner(ix, other, Config{})
	require.ErrorIs(t, err, immy.ErrInvalid)
}

// TestPlanSharesDecisionsExactly checks that Plan, which decides the shared
// matches once per tenant and kind and keeps their losers once per group,
// plans every computer exactly as the computer planned alone (decided
// afresh) does, over generated fleets and every kind of session: the same
// actions, decisions and candidates, and the same record of actions.
func TestPlanSharesDecisionsExactly(t *testing.T) {
	for _, seed := range []int64{1, 2} {
		f := immytest.Generate(immytest.GenConfig{Seed: seed, Tenants: 12, Computers: 300, Software: 30, Tasks: 6, Deployments: 300})
		p := newPlanner(t, f, Config{})
		require.True(t, p.keyed)
		adhoc := Session{Kind: AdHocSession}
		for i, it := range p.cat.items {
			if i%3 == 0 {
				adhoc.Named = append(adhoc.Named, it.id)
			}
		}
		for i := range f.Deployments {
			if f.Deployments[i].Enforcement == immy.EnforcementAdHoc {
				adhoc.Named = append(adhoc.Named, f.Deployments[i].ID)
			}
		}
		for _, s := range []Session{{}, {Kind: OnboardingSession}, adhoc} {
			plan, err := p.Plan(context.Background(), s)
			require.NoError(t, err)
			decided, shared := 0, 0
			for i := range plan.Computers {
				in := &plan.Computers[i]
				alone, err := p.PlanComputer(context.Background(), in.ID, s, nil)
				require.NoError(t, err)
				require.Equal(t, alone.Excluded, in.Excluded, in.ID)
				require.Equal(t, alone.nact, in.nact, in.ID)
				require.Equal(t, alone.nlost, in.nlost, in.ID)
				require.Nil(t, alone.shared)
				what := fmt.Sprintf("seed %d, %s session, computer %s", seed, s.Kind, in.ID)
				aa, al := alone.decode(nil, nil)
				ia, il := in.decode(nil, nil)
				require.Equal(t, aa, ia, what)
				require.Equal(t, al, il, what)
				require.Equal(t, int(in.nlost), len(il), what)
				if in.nact > 0 { // the actions' part of the record is the same
					d := decoder{c: in, buf: in.rec}
					for range in.nact {
						d.action()
					}
					n := len(in.rec) - len(d.buf)
					require.True(t, bytes.Equal(alone.rec[:n], in.rec[:n]), what)
				}
				decided += int(in.nlost)
				if in.shared != nil && len(*in.shared) > 0 {
					shared++
				}
			}
			require.Positive(t, decided, "the fleet must make decisions with losers")
			require.Positive(t, shared, "computers must share their group's losers")
		}
	}
}

// The encoder's short forms write what binary.AppendUvarint writes.
func TestEncoderUvarint(t *testing.T) {
	for _, v := range []uint64{0, 1, 127, 128, 129, 255, 1<<14 - 1, 1 << 14, 1<<14 + 1, 1 << 21, 1<<63 + 5} {
		var e encoder
		e.uvarint(v)
		require.Equal(t, binary.AppendUvarint(nil, v), e.buf, "%d", v)
	}
}

// A slab hands out what was appended to its free part in place while it
// fits, and a caller that outgrew it copies into a new block: either way the
// handed-out records keep their bytes.
func TestSlabTail(t *testing.T) {
	var s slab[byte]
	var got [][]byte
	var want [][]byte
	inPlace := 0
	for i := range 3000 { // about 3 blocks of records of up to 255 bytes
		rec := bytes.Repeat([]byte{byte(i)}, i%256)
		b := append(s.tail(), rec...)
		var out []byte
		if s.holds(b) {
			out = s.take(len(b))
			require.Equal(t, &b[0], &out[0], "record %d: handed out where it was written", i)
			inPlace++
		} else {
			out = s.take(len(b))
			copy(out, b)
		}
		got, want = append(got, out), append(want, rec)
	}
	for i := range got {
		require.Equal(t, string(want[i]), string(got[i]), "record %d", i)
	}
	require.Greater(t, inPlace, 2900, "most records fit in place")
	require.False(t, s.holds(nil), "an empty append holds nothing")
}

// TestPlanLosersOfWideItems: the losers a plan reads back, with their
// rules, are those the planner decided (Decide, computer by computer) and
// those of the comparator's path, which ranks without keys, also for items of
// many deployments (over 16), whose decisions have the most losers.
func TestPlanLosersOfWideItems(t *testing.T) {
	cfg := immytest.FleetScale(20_000)
	cfg.Computers = 400
	f := immytest.Generate(cfg)
	p := newPlanner(t, f, Config{})
	perItem := map[string]int{}
	for i := range f.Deployments {
		perItem[f.Deployments[i].Item]++
	}
	wide := 0
	for _, n := range perItem {
		if n > 16 {
			wide++
		}
	}
	require.NotZero(t, wide, "the fleet must have items of over 16 deployments")
	slow := newPlanner(t, f, Config{Ranking: RankingFunc(DefaultRanking.Compare)})
	require.False(t, slow.keyed)
	ctx := context.Background()
	plan, err := p.Plan(ctx, Session{})
	require.NoError(t, err)
	other, err := slow.Plan(ctx, Session{})
	require.NoError(t, err)
	samePtr := cmp.Comparer(func(a, b *immy.Deployment) bool { return a.ID == b.ID })
	losers, keyedLosers := 0, 0
	for i := range plan.Computers {
		in := &plan.Computers[i]
		decided, _, err := p.Decide(ctx, in.ID, Session{})
		require.NoError(t, err)
		got := in.Decisions()
		require.Empty(t, cmp.Diff(decided, got, samePtr), in.ID)
		require.Empty(t, cmp.Diff(other.Computers[i].Decisions(), got, samePtr), in.ID)
		for _, d := range got {
			losers += len(d.Candidates)
			if perItem[d.Item] > 16 {
				keyedLosers += len(d.Candidates)
			}
		}
	}
	require.NotZero(t, keyedLosers, "some losers must be of wide items")
	t.Logf("%d losers, %d of wide items", losers, keyedLosers)
}

// TestPlanActionCodesAsFields: the second bytes of common forms the planner
// knows beforehand (action.code) are those the encoder writes from the
// action's fields.
func TestPlanActionCodesAsFields(t *testing.T) {
	cfg := immytest.FleetScale(20_000)
	cfg.Computers = 400
	f := immytest.Generate(cfg)
	p := newPlanner(t, f, Config{})
	require.NotEmpty(t, p.codes)
	plan, err := p.Plan(context.Background(), Session{})
	require.NoError(t, err)
	coded := 0
	for i := range plan.Computers {
		c := &plan.Computers[i]
		if c.nact == 0 {
			continue
		}
		d := decoder{c: c, buf: c.rec}
		acts := make([]action, c.nact)
		for k := range acts {
			acts[k] = d.action()
			require.Zero(t, acts[k].code)
		}
		var e encoder
		e.actions(p.pc, acts)
		require.Equal(t, c.rec[:len(c.rec)-len(d.buf)], e.buf, c.ID)
	}
	for _, c := range p.codes {
		if c != 0 {
			coded++
		}
	}
	require.NotZero(t, coded)
}

// invAsState reads a computer's inventory as detection would report it: the
// State of the inventory, for the general path of the sequencer.
type invAsState struct {
	cat *Catalogue
	inv *invState
}

func (s invAsState) Software(id string) (SoftwareState, bool) {
	present, v, _, test, known := s.inv.software(s.cat.byID[id])
	st := SoftwareState{Present: present, Test: test}
	if v != nil {
		st.Version = *v
	}
	return st, known
}

func (s invAsState) Task(id string) Test { return s.inv.task(s.cat.byID[id]) }

// TestPlanInventoryAsState: a computer planned from its inventory (the
// what-if's fast paths) gets the actions of the same computer planned from a
// State that reports what the inventory holds (the general path).
func TestPlanInventoryAsState(t *testing.T) {
	cfg := immytest.FleetScale(20_000)
	cfg.Computers = 300
	f := immytest.Generate(cfg)
	p := newPlanner(t, f, Config{})
	ctx := context.Background()
	hot := newSequencer(p.cat, p.table, p.aims, nil).hot
	for _, kind := range []SessionKind{FullMaintenance, OnboardingSession} {
		plain := 0
		for i := range f.Computers {
			c := &f.Computers[i]
			fast, err := p.PlanComputer(ctx, c.ID, Session{Kind: kind}, nil)
			require.NoError(t, err)
			inv := newInvState(p.cat)
			inv.load(c, &p.names, new([]nameHit))
			general, err := p.PlanComputer(ctx, c.ID, Session{Kind: kind}, invAsState{p.cat, &inv})
			require.NoError(t, err)
			require.Empty(t, cmp.Diff(general.Actions(), fast.Actions()), "%s, %s", kind, c.ID)
			for _, a := range fast.Actions() {
				if k, ok := p.cat.byID[a.Item]; ok && hot[k].plain && a.Reason == ReasonSoftwareMissing {
					plain++
				}
			}
		}
		require.Positive(t, plain, "the fleet must have plain software that is missing")
	}
}
