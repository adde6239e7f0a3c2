package resolver

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/immytest"
)

// wirePrivate makes a generated fleet leak, as a careless MSP admin would:
// items private to one tenant are named in the prerequisites (as subject and
// acted on, of the software and of its versions) and as configuration task
// of public items and of other tenants' items, and some of the same
// tenant's items. Validation would refuse the fleet: the planner must hold
// on its own. It returns how many references cross tenants.
func wirePrivate(f *immy.Fleet, r *rand.Rand) int {
	owner := map[string]string{}
	for _, s := range f.Software {
		owner[s.ID] = s.Tenant
	}
	var private []int
	for i, s := range f.Software {
		if s.Tenant != "" {
			private = append(private, i)
		}
	}
	// a few computer tasks become private too, each a configuration task
	var privTasks []int
	for i := range f.Tasks {
		if f.Tasks[i].Category == immy.TaskComputer && !f.Tasks[i].OnboardingOnly && r.IntN(2) == 0 {
			f.Tasks[i].Tenant = f.Tenants[1+r.IntN(len(f.Tenants)-1)].ID
			privTasks = append(privTasks, i)
		}
	}
	crossing := 0
	for range 3 * len(f.Software) {
		x := &f.Software[r.IntN(len(f.Software))]
		if len(private) > 0 && r.IntN(4) > 0 {
			p := f.Software[private[r.IntN(len(private))]].ID
			if r.IntN(3) == 0 { // one of the same tenant's, which may name it
				var mates []int
				for j := range f.Software {
					if f.Software[j].Tenant == owner[p] {
						mates = append(mates, j)
					}
				}
				x = &f.Software[mates[r.IntN(len(mates))]]
			}
			if p == x.ID {
				continue
			}
			if x.Tenant != owner[p] {
				crossing++
			}
			rule := immy.Prerequisite{Condition: immy.ConditionNotInstalled, Quantifier: immy.QuantifierAnyOf, Subjects: []string{p}, Then: immy.PrereqInstall, On: []string{p}}
			kind := r.IntN(4)
			if (kind == 0 || kind == 3) && installs(f, p, x.ID) {
				kind = 2 // an install rule that would close a cycle becomes a fail rule
			}
			switch kind {
			case 1:
				rule.Condition, rule.Then = immy.ConditionInstalled, immy.PrereqUninstall
			case 2:
				rule.Condition, rule.Then, rule.On = immy.ConditionInstalled, immy.PrereqFail, nil
			}
			if len(x.Versions) > 0 && r.IntN(3) == 0 {
				x.Versions[0].Prerequisites = append(x.Versions[0].Prerequisites, rule)
			} else {
				x.Prerequisites = append(x.Prerequisites, rule)
			}
			continue
		}
		if len(privTasks) > 0 {
			k := &f.Tasks[privTasks[r.IntN(len(privTasks))]]
			if x.Tenant != k.Tenant {
				crossing++
			}
			x.ConfigurationTask = k.ID
		}
	}
	return crossing
}

// installs reports whether software from installs software to, through
// install rules (of the software and its versions), recursively.
func installs(f *immy.Fleet, from, to string) bool {
	byID := map[string]*immy.Software{}
	for i := range f.Software {
		byID[f.Software[i].ID] = &f.Software[i]
	}
	seen := map[string]bool{}
	var walk func(id string) bool
	walk = func(id string) bool {
		if id == to {
			return true
		}
		s := byID[id]
		if s == nil || seen[id] {
			return false
		}
		seen[id] = true
		rules := slices.Clone(s.Prerequisites)
		for _, v := range s.Versions {
			rules = append(rules, v.Prerequisites...)
		}
		for _, r := range rules {
			if r.Then != immy.PrereqInstall {
				continue
			}
			for _, o := range r.On {
				if walk(o) {
					return true
				}
			}
		}
		return false
	}
	return walk(from)
}

// TestPrivateItemsNeverCrossTenants is the property of issue 16: over
// generated fleets with private items wired into prerequisites and
// configuration tasks, whatever the session (full, onboarding, ad hoc naming
// every private item), and by every path (a whole-fleet plan, one computer,
// a session's decisions handed to ActionsFor), no action of an item private
// to a tenant is ever planned on another tenant's computer.
func TestPrivateItemsNeverCrossTenants(t *testing.T) {
	ctx := context.Background()
	refused, sameTenant := 0, 0
	seeds := 8
	if testing.Short() {
		seeds = 3
	}
	for seed := range seeds {
		f := immytest.Generate(immytest.GenConfig{Seed: int64(seed + 1), Computers: 240, Tenants: 8, Software: 72, Tasks: 10})
		r := rand.New(rand.NewPCG(uint64(seed), 16))
		crossing := wirePrivate(f, r)
		require.Positive(t, crossing, "seed %d: the wiring crosses tenants", seed)
		require.Error(t, f.Validate(), "seed %d: validation refuses the fleet", seed)

		owner := map[string]string{}
		for _, s := range f.Software {
			owner[s.ID] = s.Tenant
		}
		for _, k := range f.Tasks {
			owner[k.ID] = k.Tenant
		}
		tenantOf := map[string]string{}
		for _, c := range f.Computers {
			tenantOf[c.ID] = c.Tenant
		}
		check := func(where, computer string, acts []Action) {
			t.Helper()
			for _, a := range acts {
				if o := owner[a.Item]; o != "" && o != tenantOf[computer] {
					t.Fatalf("seed %d, %s: %s %s (private to %q) planned on %s of tenant %q, reason %s",
						seed, where, a.Action, a.Item, o, computer, tenantOf[computer], a.Reason)
				}
				if o := owner[a.Item]; o != "" && strings.HasPrefix(a.Reason, ReasonPrerequisiteOf+":") {
					sameTenant++
				}
			}
		}
		var named []string
		for id, o := range owner {
			if o != "" {
				named = append(named, id)
			}
		}
		p := newPlanner(t, f, Config{})
		for _, s := range []Session{{}, {Kind: OnboardingSession}, {Kind: AdHocSession, Named: named}} {
			plan, err := p.Plan(ctx, s)
			require.NoError(t, err)
			for i := range plan.Computers {
				cp := &plan.Computers[i]
				check(fmt.Sprintf("Plan(%s)", s.Kind), cp.ID, cp.Actions())
				for _, pr := range cp.Problems() {
					if pr.Kind == ProblemPrivateItem {
						refused++
						require.NotEqual(t, tenantOf[cp.ID], pr.Tenant, "a refusal names another tenant")
						require.Equal(t, owner[pr.Private], pr.Tenant)
					}
				}
			}
			// one computer alone, and the session's path: Decide, then
			// ActionsFor what detection found (here: nothing)
			for i := 0; i < len(f.Computers); i += 7 {
				c := &f.Computers[i]
				cp, err := p.PlanComputer(ctx, c.ID, s, nil)
				require.NoError(t, err)
				check(fmt.Sprintf("PlanComputer(%s)", s.Kind), c.ID, cp.Actions())
				decs, _, err := p.Decide(ctx, c.ID, s)
				require.NoError(t, err)
				acts, _ := p.Catalogue().ActionsFor(c, s, decs, nil)
				check(fmt.Sprintf("ActionsFor(%s)", s.Kind), c.ID, acts)
				for _, a := range p.Catalogue().Actions(s, decs, nil) {
					require.Empty(t, owner[a.Item], "seed %d: Actions knows no computer: no private item", seed)
				}
			}
		}
	}
	require.Positive(t, refused, "the planner refused the crossings")
	require.Positive(t, sameTenant, "a private item is still a prerequisite on its own tenant's computers")
}

// TestPrivatePrerequisiteFailsItsDependent: the rule's dependent fails before
// anything of its rules is planned, a configuration task private to another
// tenant is left out, and on the owner's computers both are planned.
func TestPrivatePrerequisiteFailsItsDependent(t *testing.T) {
	f := &immy.Fleet{
		At:        testAt,
		Tenants:   []immy.Tenant{{ID: "a"}, {ID: "b"}},
		Computers: []immy.Computer{{ID: "pc-a", Tenant: "a"}, {ID: "pc-b", Tenant: "b"}},
		Software: []immy.Software{
			with(software("app", "1.0"), prereqs(needs("vc"), needs("lob")), configured("tune")),
			with(software("lob", "1.0"), func(s *immy.Software) { s.Tenant = "a" }),
			software("vc", "1.0"),
		},
		Tasks: []immy.Task{{ID: "tune", Tenant: "a", Category: immy.TaskComputer}},
		Deployments: []immy.Deployment{
			{ID: "d-app", Item: "app", Target: immy.Target{Type: immy.TargetAllComputers}, Desired: immy.DesiredLatest},
		},
	}
	plan, err := PlanFleet(context.Background(), f, Config{}, Session{})
	require.NoError(t, err)
	a, _ := plan.Computer("pc-a")
	require.Equal(t, []step{
		{"vc", "install", "", "prerequisite-of:app", "1.0"},
		{"lob", "install", "", "prerequisite-of:app", "1.0"},
		{"app", "install", "d-app", "software-missing", "1.0"},
		{"tune", "task-enforce", "", "configuration-of:app", ""},
	}, steps(a.Actions()))
	require.Empty(t, a.Problems())
	b, _ := plan.Computer("pc-b")
	require.Equal(t, []step{{"app", "fail", "d-app", "prerequisite-private:lob", ""}}, steps(b.Actions()))
	ps := b.Problems()
	require.Len(t, ps, 1)
	require.Equal(t, `resolver: computer "pc-b": item "app": deployment "d-app": failed: its prerequisites name "lob", private to tenant "a"`, ps[0].Error())
	require.ErrorIs(t, ps[0], immy.ErrInvalid)

	// Without the private prerequisite, the software installs on pc-b, and
	// its private configuration task is left out.
	f.Software[0].Prerequisites = f.Software[0].Prerequisites[:1]
	plan, err = PlanFleet(context.Background(), f, Config{}, Session{})
	require.NoError(t, err)
	b, _ = plan.Computer("pc-b")
	require.Equal(t, []step{
		{"vc", "install", "", "prerequisite-of:app", "1.0"},
		{"app", "install", "d-app", "software-missing", "1.0"},
	}, steps(b.Actions()))
	require.Equal(t, []string{`resolver: computer "pc-b": item "app": deployment "d-app": configuration task "tune" refused: it is private to tenant "a"`},
		errorsOf(b.Problems()))
}

func errorsOf(ps []Problem) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Error())
	}
	return out
}
