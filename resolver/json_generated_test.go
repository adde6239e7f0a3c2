package resolver

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/fleetfile"
	"github.com/immyoss/engine/immy/immytest"
)

// oddIDs renames some of f's software, tasks and deployments (and every
// reference to them) to ids that JSON escapes: quotes, backslashes, <, >
// and &, control characters, U+2028, invalid UTF-8, and non-ASCII letters.
func oddIDs(f *immy.Fleet) {
	suffixes := []string{"", ` "q" \ <&>`, "\u2028\x01\t\xff é"}
	items := map[string]string{}
	for i := range f.Software {
		s := &f.Software[i]
		items[s.ID] = s.ID + suffixes[i%len(suffixes)]
		s.ID = items[s.ID]
	}
	for i := range f.Tasks {
		t := &f.Tasks[i]
		items[t.ID] = t.ID + suffixes[(i+1)%len(suffixes)]
		t.ID = items[t.ID]
	}
	rename := func(ids []string) {
		for j, id := range ids {
			if n, ok := items[id]; ok {
				ids[j] = n
			}
		}
	}
	renamePrereqs := func(ps []immy.Prerequisite) {
		for j := range ps {
			rename(ps[j].Subjects)
			rename(ps[j].On)
		}
	}
	for i := range f.Software {
		s := &f.Software[i]
		renamePrereqs(s.Prerequisites)
		for j := range s.Versions {
			renamePrereqs(s.Versions[j].Prerequisites)
		}
		if n, ok := items[s.ConfigurationTask]; ok {
			s.ConfigurationTask = n
		}
	}
	for i := range f.Deployments {
		d := &f.Deployments[i]
		if n, ok := items[d.Item]; ok {
			d.Item = n
		}
		d.ID += suffixes[(i+2)%len(suffixes)]
	}
}

// TestWriteJSONGeneratedIsMarshalIndent pins the JSON writer's fast path
// (the pieces of jsonCache, written from the encoded record) to the plain
// one (json.MarshalIndent of the public values) on generated fleets of both
// shapes, in every kind of session, with ids JSON escapes, with computers
// planned from a State, and with the computers of two planners (two
// planContexts, so two caches) interleaved in one plan, and on issue 17's
// fleet, whose detection has choices to tell.
func TestWriteJSONGeneratedIsMarshalIndent(t *testing.T) {
	ctx := context.Background()
	gen := func(cfg immytest.GenConfig, seed int64, odd bool) *Planner {
		cfg.Computers, cfg.Seed = 300, seed
		f := immytest.Generate(cfg)
		if odd {
			oddIDs(f)
			// a filter that fails on the computers with fewer than two
			// tags: their plans have problems
			f.Deployments = append(f.Deployments, immy.Deployment{ID: "fails <sometimes>", Item: f.Software[1].ID,
				Target: immy.Target{Type: immy.TargetFilter, Lua: `return computer.tags[2]:upper() == "X"`}, Desired: immy.DesiredLatest})
		}
		return newPlanner(t, f, Config{})
	}
	realistic := gen(immytest.FleetScale(20_000), 1, false)
	odd := gen(immytest.FleetScale(20_000), 2, true)
	uniform := gen(immytest.FleetScaleUniform(20_000), 3, true)
	var all bytes.Buffer // what the plans below wrote, for the coverage check at the end
	check := func(name string, plan *Plan) {
		t.Helper()
		var b bytes.Buffer
		require.NoError(t, plan.WriteJSON(&b))
		require.Equal(t, marshalIndent(t, plan), b.String(), name)
		all.Write(b.Bytes())
	}
	for name, p := range map[string]*Planner{"realistic": realistic, "odd": odd, "uniform": uniform} {
		adhoc := Session{Kind: AdHocSession}
		for i, it := range p.cat.items {
			if i%5 == 0 {
				adhoc.Named = append(adhoc.Named, it.id)
			}
		}
		for _, s := range []Session{{}, {Kind: OnboardingSession}, adhoc} {
			plan, err := p.Plan(ctx, s)
			require.NoError(t, err)
			check(fmt.Sprintf("%s, %s session", name, s.Kind), plan)
		}
	}

	// Computers planned from a State: their detected versions are the
	// State's (planExtra), every software present at a version of its own.
	st := fakeState{sw: map[string]SoftwareState{}, tasks: map[string]Test{}}
	for i, it := range odd.cat.items {
		switch {
		case it.sw != nil && i%3 == 0:
			st.sw[it.id] = SoftwareState{Present: true, Version: immy.MustParseVersion(fmt.Sprintf("%d.%d-beta", i%7, i))}
		case it.sw != nil && i%3 == 1:
			st.sw[it.id] = SoftwareState{Present: true, Test: TestFailed}
		case it.task != nil:
			st.tasks[it.id] = Test(i % 3)
		}
	}
	withState := &Plan{At: testAt}
	for _, c := range odd.fleet.Computers[:40] {
		cp, err := odd.PlanComputer(ctx, c.ID, Session{}, st)
		require.NoError(t, err)
		withState.Computers = append(withState.Computers, *cp)
	}
	check("state", withState)

	// Two planners' computers interleaved: each computer is written from
	// its own planContext's pieces.
	a, err := realistic.Plan(ctx, Session{})
	require.NoError(t, err)
	b, err := odd.Plan(ctx, Session{})
	require.NoError(t, err)
	mixed := &Plan{At: testAt}
	for i := range 120 {
		mixed.Computers = append(mixed.Computers, a.Computers[i], b.Computers[i], b.Computers[i+1])
	}
	check("two planners", mixed)

	// Issue 17's workstations, whose detection has choices to tell
	// (detected_from).
	ff, err := fleetfile.LoadFile("testdata/detection/fleet.yaml")
	require.NoError(t, err)
	detection, err := PlanFleet(ctx, ff.Fleet, Config{}, Session{})
	require.NoError(t, err)
	check("detection", detection)

	// What the plans above hold, so that the comparisons cover it.
	out := all.String()
	for _, want := range []string{`"candidates": [` + "\n", `"lost_on": "`, `"required_by": "`, `"detected_from": "`,
		`"excluded": true`, `"problems": [`, `\"q\" \\ \u003c\u0026\u003e`, `\u2028\u0001\t\ufffd é`, `"detected": "1.`,
		`"action": "reinstall"`, `"action": "fail"`, `"action": "none"`, `"action": "install"`} {
		require.True(t, strings.Contains(out, want), "no plan above writes %s", want)
	}
}
