package session

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/resolver"
)

// tenancyFleet: App (shared) requires Lob, private to tenant a and found by a
// detection script; its configuration task Tune is private to a too. On
// pc-b, of tenant b, nothing of Lob or Tune may run, not even detection.
func tenancyFleet() *immy.Fleet {
	lob := immy.Software{ID: "lob", Name: "Lob", Tenant: "a", Detection: immy.Detection{Script: &immy.Script{Language: immy.LanguageLua}},
		Versions: versions("1.0")}
	return &immy.Fleet{
		Tenants:   []immy.Tenant{{ID: "a"}, {ID: "b"}},
		Computers: []immy.Computer{{ID: "pc-a", Tenant: "a", Kind: immy.KindWorkstation}, {ID: "pc-b", Tenant: "b", Kind: immy.KindWorkstation}},
		Software: []immy.Software{
			{ID: "app", Name: "App", Detection: immy.Detection{DisplayName: "App"}, Versions: versions("1.0"), ConfigurationTask: "tune",
				Prerequisites: []immy.Prerequisite{{Condition: immy.ConditionNotInstalled, Subjects: []string{"lob"}, Then: immy.PrereqInstall, On: []string{"lob"}}}},
			lob,
			{ID: "tool", Name: "Tool", Detection: immy.Detection{DisplayName: "Tool"}, Versions: versions("1.0"), ConfigurationTask: "tune"},
		},
		Tasks: []immy.Task{{ID: "tune", Name: "Tune", Tenant: "a", Category: immy.TaskComputer}},
		Deployments: []immy.Deployment{
			{ID: "d-app", Item: "app", Target: immy.Target{Type: immy.TargetAllComputers}, Desired: immy.DesiredLatest},
			{ID: "d-tool", Item: "tool", Target: immy.Target{Type: immy.TargetAllComputers}, Desired: immy.DesiredLatest},
			{ID: "d-lob", Item: "lob", Target: immy.Target{Type: immy.TargetAllComputers, Tenant: "a"}, Desired: immy.DesiredLatest, Visibility: immy.Visibility{Ticket: true}},
		},
	}
}

// TestSessionNeverRunsAnotherTenantsPrivateItem: by prerequisite,
// configuration task, detection, single-item run or rerun.
func TestSessionNeverRunsAnotherTenantsPrivateItem(t *testing.T) {
	h := newHarness(t, tenancyFleet(), nil)

	rep := h.run(Request{Computer: "pc-b"})
	require.Equal(t, []string{
		"app:fail:skipped:failed:prerequisite-private:lob",
		"tool:install:complete:success:verified",
	}, outcomes(rep.Actions))
	for _, r := range h.fake.Computer("pc-b").Runs() {
		require.NotContains(t, strings.ToLower(r.Script.Body), "lob", "no script of Lob runs on pc-b, not even its detection")
		require.NotContains(t, strings.ToLower(r.Script.Body), "task:tune", "nor Tune's")
	}
	var kinds []string
	for _, p := range rep.Problems {
		require.Equal(t, resolver.ProblemPrivateItem, p.Kind)
		require.Equal(t, "pc-b", p.Computer)
		kinds = append(kinds, p.Item+"/"+p.Private)
	}
	require.Equal(t, []string{"app/lob", "tool/tune"}, kinds)

	// On the owner's computer everything runs.
	rep = h.run(Request{Computer: "pc-a"})
	require.Empty(t, rep.Problems)
	require.Equal(t, []string{"lob:install", "app:install", "tune:task-enforce", "tool:install"}, changes(rep.Actions))

	// Single-item and rerun requests for it on pc-b are refused, by item
	// or by deployment, before anything is queued.
	for _, req := range []Request{
		{Computer: "pc-b", Kind: SingleItem, Item: "lob"},
		{Computer: "pc-b", Kind: SingleItem, Item: "app", Named: []string{"d-lob"}},
		{Computer: "pc-b", Kind: SingleItem, Item: "tune"},
		{Computer: "pc-b", Kind: RerunAction, Rerun: &resolver.Action{Item: "lob", Action: resolver.ActionInstall, Version: "1.0"}},
	} {
		_, err := h.engine.Start(context.Background(), req)
		require.ErrorIs(t, err, immy.ErrInvalid, "%+v", req)
		require.ErrorContains(t, err, `is private to tenant "a" and cannot run on computer "pc-b" of tenant "b"`)
	}
	id, err := h.engine.Start(context.Background(), Request{Computer: "pc-a", Kind: SingleItem, Item: "lob"})
	require.NoError(t, err, "its own tenant's computer may")
	h.wait(id)
}

// TestSessionGoesOnPastAFailingFilter: a deployment whose filter fails on the
// computer holds its item there (the lower-ranked "latest" does not install
// it); the session runs everything else, passes, and reports the problem in
// its report and as an event.
func TestSessionGoesOnPastAFailingFilter(t *testing.T) {
	f := &immy.Fleet{
		Tenants:   []immy.Tenant{{ID: "t"}},
		Computers: []immy.Computer{{ID: "pc1", Tenant: "t", Kind: immy.KindWorkstation, Tags: []string{"a", "b"}}},
		Software: []immy.Software{
			{ID: "app", Name: "App", Detection: immy.Detection{DisplayName: "App"}, Versions: versions("1.0")},
			{ID: "tool", Name: "Tool", Detection: immy.Detection{DisplayName: "Tool"}, Versions: versions("1.0")},
		},
		Deployments: []immy.Deployment{
			{ID: "latest", Item: "app", Target: immy.Target{Type: immy.TargetAllComputers}, Desired: immy.DesiredLatest},
			{ID: "remove", Item: "app", Target: immy.Target{Type: immy.TargetFilter, Expr: `computer.tags[3] == "d"`}, Desired: immy.DesiredUninstalled},
			{ID: "tool", Item: "tool", Target: immy.Target{Type: immy.TargetAllComputers}, Desired: immy.DesiredLatest},
		},
	}
	h := newHarness(t, f, nil)
	sub := h.engine.Subscribe("")
	defer sub.Close()
	rep := h.run(Request{Computer: "pc1"})
	require.Equal(t, Passed, rep.Status, rep.Message)
	require.Equal(t, []string{"tool:install:complete:success:verified"}, outcomes(rep.Actions))
	require.Len(t, rep.Decisions, 1)
	require.Len(t, rep.Problems, 1)
	p := rep.Problems[0]
	require.Equal(t, []string{"filter-error", "pc1", "app", "remove"}, []string{p.Kind.String(), p.Computer, p.Item, p.Deployment})
	require.Contains(t, p.Message, "index out of range")

	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev := <-sub.C:
			if ev.Kind != EventProblem {
				continue
			}
			require.NotNil(t, ev.Problem)
			require.Equal(t, "remove", ev.Problem.Deployment)
			require.Equal(t, p.Error(), ev.Text)
			// the journal keeps it: a report folded from the records has it
			var recs []Record
			require.NoError(t, h.journal.ReplaySession(context.Background(), rep.ID, func(r Record) error {
				recs = append(recs, r)
				return nil
			}))
			require.Len(t, Fold(recs).Problems, 1)
			return
		case <-deadline:
			t.Fatal("no problem event")
		}
	}
}

// TestRerunKeepsADeploymentsSecretsWhereItReaches: a rerun that names a
// deployment of tenant a (a public task with a's password) on b's computer
// is refused; so is one naming a deployment of another item; the rerun of
// b's own deployment runs.
func TestRerunKeepsADeploymentsSecretsWhereItReaches(t *testing.T) {
	f := &immy.Fleet{
		Tenants:   []immy.Tenant{{ID: "a"}, {ID: "b"}},
		Computers: []immy.Computer{{ID: "pc-a", Tenant: "a", Kind: immy.KindWorkstation}, {ID: "pc-b", Tenant: "b", Kind: immy.KindWorkstation}},
		Tasks:     []immy.Task{{ID: "setpw", Name: "Set password", Parameters: []immy.Parameter{{Name: "pw", Type: immy.ParamPassword}}}},
		Software:  []immy.Software{{ID: "app", Name: "App", Detection: immy.Detection{DisplayName: "App"}, Versions: versions("1.0")}},
		Deployments: []immy.Deployment{
			{ID: "d-a", Item: "setpw", Target: immy.Target{Type: immy.TargetAllComputers, Tenant: "a"}, Mode: immy.ModeEnforce,
				Parameters: map[string]any{"pw": "A-TENANT-SECRET"}},
			{ID: "d-b", Item: "setpw", Target: immy.Target{Type: immy.TargetAllComputers, Tenant: "b"}, Mode: immy.ModeEnforce,
				Parameters: map[string]any{"pw": "B-TENANT-SECRET"}},
			{ID: "d-app", Item: "app", Target: immy.Target{Type: immy.TargetAllComputers}, Desired: immy.DesiredLatest},
		},
	}
	h := newHarness(t, f, nil)
	ctx := context.Background()
	rerun := func(dep, item string) error {
		_, err := h.engine.Start(ctx, Request{Computer: "pc-b", Kind: RerunAction, Source: AdHoc,
			Rerun: &resolver.Action{Item: item, Action: resolver.ActionTaskEnforce, Deployment: dep}})
		return err
	}
	err := rerun("d-a", "setpw")
	require.ErrorIs(t, err, immy.ErrInvalid)
	require.ErrorContains(t, err, `deployment "d-a" does not target computer "pc-b" of tenant "b"`)
	require.ErrorContains(t, rerun("d-app", "setpw"), `deployment "d-app" is of item "app", not "setpw"`)
	require.ErrorContains(t, rerun("nope", "setpw"), `unknown deployment "nope"`)
	require.Empty(t, h.fake.Computer("pc-b").Runs(), "nothing ran on pc-b")
	rep := h.run(Request{Computer: "pc-b", Kind: RerunAction, Source: AdHoc,
		Rerun: &resolver.Action{Item: "setpw", Action: resolver.ActionTaskEnforce, Deployment: "d-b"}})
	require.NotEqual(t, Failed, rep.Status, rep.Reason)
	var got []any
	for _, r := range h.fake.Computer("pc-b").Runs() {
		if v, ok := r.Parameters["pw"]; ok {
			got = append(got, v)
		}
	}
	require.NotEmpty(t, got)
	for _, v := range got {
		require.Equal(t, "B-TENANT-SECRET", v, "only b's own secret reaches pc-b")
	}
}
