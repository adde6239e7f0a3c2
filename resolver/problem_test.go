package resolver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/targets"
)

// filterErrorFleet: on pc-two (two tags) the filter of d-uninstall fails,
// which must hold app there, not let d-latest (ranked lower) install it.
func filterErrorFleet() *immy.Fleet {
	app := software("app", "2.0")
	other := software("other", "1.0")
	third := software("third", "1.0")
	inv := []immy.DetectedSoftware{{Name: "app", Version: immy.MustParseVersion("1.0")}}
	filter := func(expr string) immy.Target { return immy.Target{Type: immy.TargetFilter, Expr: expr} }
	return &immy.Fleet{
		At:      testAt,
		Tenants: []immy.Tenant{{ID: "t"}},
		Computers: []immy.Computer{
			{ID: "pc-four", Tenant: "t", Kind: immy.KindWorkstation, Tags: []string{"a", "b", "c", "d"}, Software: inv},
			{ID: "pc-two", Tenant: "t", Kind: immy.KindWorkstation, Tags: []string{"a", "b"}, Software: inv},
		},
		Software: []immy.Software{app, other, third},
		Deployments: []immy.Deployment{
			{ID: "d-latest", Item: "app", Target: immy.Target{Type: immy.TargetAllComputers}, Desired: immy.DesiredLatest},
			{ID: "d-uninstall", Item: "app", Target: filter(`computer.tags[3] == "d"`), Desired: immy.DesiredUninstalled},
			{ID: "d-other", Item: "other", Target: immy.Target{Type: immy.TargetAllComputers}, Desired: immy.DesiredLatest},
			// a disabled deployment's failing filter holds nothing
			{ID: "d-third-off", Item: "third", Target: filter(`computer.tags[5] == "x"`), Desired: immy.DesiredUninstalled, Disabled: true},
			{ID: "d-third", Item: "third", Target: immy.Target{Type: immy.TargetTag, Tag: "a"}, Desired: immy.DesiredLatest},
		},
	}
}

// locateStub stands for fleetfile.File.Locate: line 100 + the deployment's index.
func locateStub(p immy.Problem) immy.Problem {
	p.File, p.Line = "fleet.yaml", 100+p.Index
	return p
}

func TestFilterErrorHoldsItsItemOnThatComputerOnly(t *testing.T) {
	f := filterErrorFleet()
	ctx := context.Background()
	plan, err := PlanFleet(ctx, f, Config{Locate: locateStub}, Session{})
	require.NoError(t, err, "one failing filter does not fail the fleet")

	two, ok := plan.Computer("pc-two")
	require.True(t, ok)
	require.Equal(t, map[string]string{"other": "d-other", "third": "d-third"}, winners(two), "app is held: no deployment of it wins")
	for _, a := range two.Actions() {
		require.NotEqual(t, "app", a.Item, "nothing is done to a held item")
	}
	probs := two.Problems()
	require.Len(t, probs, 1)
	got := probs[0]
	var fe *targets.FilterError
	require.True(t, errors.As(got, &fe), "the cause is the filter's error")
	got.Err = nil
	want := Problem{Kind: ProblemFilterError, Computer: "pc-two", Item: "app", Deployment: "d-uninstall", File: "fleet.yaml", Line: 101,
		Message: "held: its expr filter failed: " + fe.Message()}
	require.Empty(t, cmp.Diff(want, got))
	require.Contains(t, got.Message, "out of range")
	require.Equal(t, `resolver: fleet.yaml:101: computer "pc-two": item "app": deployment "d-uninstall": `+want.Message, probs[0].Error())

	four, _ := plan.Computer("pc-four")
	require.Equal(t, "d-uninstall", winners(four)["app"], "where the filter works, it decides")
	require.Empty(t, four.Problems())
	require.Len(t, plan.Problems(), 1)

	// One computer alone, and its decisions alone, say the same.
	p := newPlanner(t, f, Config{Locate: locateStub})
	alone, err := p.PlanComputer(ctx, "pc-two", Session{}, nil)
	require.NoError(t, err)
	require.Empty(t, cmp.Diff(two.Actions(), alone.Actions()))
	require.Empty(t, cmp.Diff(probs, alone.Problems(), cmp.Comparer(func(a, b error) bool { return (a == nil) == (b == nil) })))
	decs, dprobs, err := p.Decide(ctx, "pc-two", Session{})
	require.NoError(t, err)
	require.Len(t, decs, 2)
	require.Len(t, dprobs, 1)
	require.Equal(t, probs[0].Error(), dprobs[0].Error())

	// Explain says the item is held and why.
	e, err := p.Explain(ctx, "pc-two", "app", Session{})
	require.NoError(t, err)
	require.Equal(t, "", e.Winner)
	require.Len(t, e.Problems, 1)
	require.Contains(t, e.String(), "held, no deployment wins")
	require.Contains(t, e.String(), "d-uninstall  its expr filter failed on the computer")
	require.Contains(t, e.String(), "  problems:\n    fleet.yaml:101: computer \"pc-two\": item \"app\": deployment \"d-uninstall\": held: ")

	// The plan's JSON lists the problem in the computer's block, the same
	// whether streamed or marshalled; a computer without problems has none.
	var js bytes.Buffer
	require.NoError(t, plan.WriteJSON(&js))
	indented, err := json.MarshalIndent(plan, "", "  ")
	require.NoError(t, err)
	require.Equal(t, string(indented)+"\n", js.String())
	var doc struct {
		Computers []struct {
			ID       string           `json:"id"`
			Problems []map[string]any `json:"problems"`
		} `json:"computers"`
	}
	require.NoError(t, json.Unmarshal(js.Bytes(), &doc))
	require.Nil(t, doc.Computers[0].Problems)
	require.Equal(t, map[string]any{"kind": "filter-error", "computer": "pc-two", "item": "app", "deployment": "d-uninstall",
		"file": "fleet.yaml", "line": 101.0, "message": want.Message}, doc.Computers[1].Problems[0])

	text := plan.String()
	require.Contains(t, text, "  problems:\n    filter-error  app  d-uninstall  fleet.yaml:101: held: its expr filter failed: ")
}

func TestLuaFilterErrorHoldsToo(t *testing.T) {
	f := filterErrorFleet()
	f.Deployments[1].Target = immy.Target{Type: immy.TargetFilter, Lua: `return computer.tags[4]:upper() == "D"`}
	plan, err := PlanFleet(context.Background(), f, Config{}, Session{})
	require.NoError(t, err)
	two, _ := plan.Computer("pc-two")
	require.NotContains(t, winners(two), "app")
	ps := two.Problems()
	require.Len(t, ps, 1)
	require.Equal(t, 0, ps[0].Line, "no Locate: no line")
	require.True(t, strings.HasPrefix(ps[0].Message, "held: its lua filter failed: "), ps[0].Message)

	// A computer whose only item is held has nothing planned, and says why.
	f.Deployments = f.Deployments[:2]
	plan, err = PlanFleet(context.Background(), f, Config{}, Session{})
	require.NoError(t, err)
	two, _ = plan.Computer("pc-two")
	require.Empty(t, two.Actions())
	require.True(t, strings.HasPrefix(two.String(), "pc-two\n  nothing planned\n  problems:\n    filter-error  app  d-uninstall  held: its lua filter failed: "), two.String())
}

// TestCancelledPlanIsNoFilterError: a cancelled context still fails the plan.
func TestCancelledPlanIsNoFilterError(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := PlanFleet(ctx, filterErrorFleet(), Config{}, Session{})
	require.ErrorIs(t, err, context.Canceled)
}
