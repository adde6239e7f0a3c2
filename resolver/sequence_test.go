package resolver

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
)

func TestSequence(t *testing.T) {
	v := immy.MustParseVersion
	runtime := func() immy.Software { return software("runtime", "5.0", "6.0") }
	app2 := func(rule immy.Prerequisite) immy.Software {
		return immy.Software{ID: "app", Name: "app", Detection: immy.Detection{DisplayName: "app"}, Versions: []immy.SoftwareVersion{
			{Version: v("1.0")},
			{Version: v("2.0"), Prerequisites: []immy.Prerequisite{rule}},
		}}
	}
	pinned := dep("app-1", "app", immy.DesiredThisVersion)
	pinned.Version = v("1.0")
	ifInstalled := func(subjects []string, then immy.PrereqAction, on ...string) immy.Prerequisite {
		return immy.Prerequisite{Condition: immy.ConditionInstalled, Subjects: subjects, Then: then, On: on}
	}
	allNot := func(subjects []string, on ...string) immy.Prerequisite {
		p := ifNot(subjects, on...)
		p.Quantifier = immy.QuantifierAllOf
		return p
	}
	failIf := func(cond immy.Condition, subjects ...string) immy.Prerequisite {
		return immy.Prerequisite{Condition: cond, Subjects: subjects, Then: immy.PrereqFail}
	}
	tests := []struct {
		name       string
		software   []immy.Software
		tasks      []immy.Task
		decisions  []Decision
		state      fakeState
		onboarding bool
		want       []step
	}{
		{
			name:      "an absent prerequisite is installed right before its dependent, without a deployment",
			software:  []immy.Software{software("vcredist", "14.40"), with(software("3cx", "18.13"), prereqs(needs("vcredist")))},
			decisions: decided(dep("3cx-all", "3cx", immy.DesiredLatest)),
			want: []step{
				{"vcredist", "install", "", "prerequisite-of:3cx", "14.40"},
				{"3cx", "install", "3cx-all", "software-missing", "18.13"},
			},
		},
		{
			name:      "a present prerequisite plans nothing",
			software:  []immy.Software{software("vcredist", "14.40"), with(software("3cx", "18.13"), prereqs(needs("vcredist")))},
			decisions: decided(dep("3cx-all", "3cx", immy.DesiredLatest)),
			state:     installed("vcredist", "14.38"),
			want:      []step{{"3cx", "install", "3cx-all", "software-missing", "18.13"}},
		},
		{
			name:      "prerequisites of an item that needs no install are not planned",
			software:  []immy.Software{software("vcredist", "14.40"), with(software("3cx", "18.13"), prereqs(needs("vcredist")))},
			decisions: decided(dep("3cx-all", "3cx", immy.DesiredLatest)),
			state:     installed("3cx", "18.13"),
			want:      []step{{"3cx", "none", "3cx-all", "up-to-date", ""}},
		},
		{
			name: "any of: one absent subject is enough",
			software: []immy.Software{software("a", "1"), software("b", "1"), software("c", "1"),
				with(software("app", "1"), prereqs(ifNot(ids("a", "b"), "c")))},
			decisions: decided(dep("d", "app", immy.DesiredLatest)),
			state:     installed("a", "1"),
			want:      []step{{"c", "install", "", "prerequisite-of:app", "1"}, {"app", "install", "d", "software-missing", "1"}},
		},
		{
			name: "all of: every subject must be absent",
			software: []immy.Software{software("a", "1"), software("b", "1"), software("c", "1"),
				with(software("app", "1"), prereqs(allNot(ids("a", "b"), "c")))},
			decisions: decided(dep("d", "app", immy.DesiredLatest)),
			state:     installed("a", "1"),
			want:      []step{{"app", "install", "d", "software-missing", "1"}},
		},
		{
			name: "all of, all absent: install every software named",
			software: []immy.Software{software("a", "1"), software("b", "1"),
				with(software("app", "1"), prereqs(allNot(ids("a", "b"), "a", "b")))},
			decisions: decided(dep("d", "app", immy.DesiredLatest)),
			want: []step{
				{"a", "install", "", "prerequisite-of:app", "1"},
				{"b", "install", "", "prerequisite-of:app", "1"},
				{"app", "install", "d", "software-missing", "1"},
			},
		},
		{
			name: "installed: uninstall, planned once with the item's own deployment, before the dependent",
			software: []immy.Software{software("adobe-reader", "24"),
				with(software("adobe-acrobat", "24"), prereqs(ifInstalled(ids("adobe-reader"), immy.PrereqUninstall, "adobe-reader")))},
			decisions: decided(dep("reader-not-contoso", "adobe-reader", immy.DesiredUninstalled), dep("acrobat-contoso", "adobe-acrobat", immy.DesiredLatest)),
			state:     installed("adobe-reader", "23.006.20320"),
			want: []step{
				{"adobe-reader", "uninstall", "reader-not-contoso", "prerequisite-of:adobe-acrobat", ""},
				{"adobe-acrobat", "install", "acrobat-contoso", "software-missing", "24"},
			},
		},
		{
			name: "a holding FAIL stops the dependent before anything runs",
			software: []immy.Software{software("old-av", "1"), software("other-av", "1"),
				with(software("new-av", "1"), prereqs(
					ifInstalled(ids("other-av"), immy.PrereqUninstall, "other-av"),
					failIf(immy.ConditionInstalled, "old-av"),
				))},
			decisions: decided(dep("av", "new-av", immy.DesiredLatest)),
			state:     installed("old-av", "1", "other-av", "1"),
			want:      []step{{"new-av", "fail", "av", "prerequisite-fail:old-av", ""}},
		},
		{
			name: "a FAIL that does not hold lets the rest run",
			software: []immy.Software{software("old-av", "1"), software("other-av", "1"),
				with(software("new-av", "1"), prereqs(
					ifInstalled(ids("other-av"), immy.PrereqUninstall, "other-av"),
					failIf(immy.ConditionInstalled, "old-av"),
				))},
			decisions: decided(dep("av", "new-av", immy.DesiredLatest)),
			state:     installed("other-av", "1"),
			want: []step{
				{"other-av", "uninstall", "", "prerequisite-of:new-av", ""},
				{"new-av", "install", "av", "software-missing", "1"},
			},
		},
		{
			name: "recursive: a prerequisite's own prerequisites come first",
			software: []immy.Software{software("c", "3"), with(software("b", "2"), prereqs(needs("c"))),
				with(software("a", "1"), prereqs(needs("b")))},
			decisions: decided(dep("d", "a", immy.DesiredLatest)),
			want: []step{
				{"c", "install", "", "prerequisite-of:b", "3"},
				{"b", "install", "", "prerequisite-of:a", "2"},
				{"a", "install", "d", "software-missing", "1"},
			},
		},
		{
			name:      "a version depends on a version of another software",
			software:  []immy.Software{runtime(), app2(immy.Prerequisite{Condition: immy.ConditionNotInstalled, Subjects: ids("runtime"), Then: immy.PrereqInstall, On: ids("runtime"), Version: v("5.0")})},
			decisions: decided(dep("app-latest", "app", immy.DesiredLatest)),
			want: []step{
				{"runtime", "install", "", "prerequisite-of:app", "5.0"},
				{"app", "install", "app-latest", "software-missing", "2.0"},
			},
		},
		{
			name:      "another version of the dependent does not have that prerequisite",
			software:  []immy.Software{runtime(), app2(immy.Prerequisite{Condition: immy.ConditionNotInstalled, Subjects: ids("runtime"), Then: immy.PrereqInstall, On: ids("runtime"), Version: v("5.0")})},
			decisions: decided(pinned),
			want:      []step{{"app", "install", "app-1", "software-missing", "1.0"}},
		},
		{
			name:      "installed at any version satisfies a prerequisite that names no version",
			software:  []immy.Software{runtime(), app2(ifInstalled(ids("runtime"), immy.PrereqInstall, "runtime"))},
			decisions: decided(dep("app-latest", "app", immy.DesiredLatest)),
			state:     installed("runtime", "4.0"),
			want: []step{
				{"app", "install", "app-latest", "software-missing", "2.0"},
			},
		},
		{
			name: "with a version: present below it is updated, at or above it is kept",
			software: []immy.Software{runtime(), app2(immy.Prerequisite{Condition: immy.ConditionInstalled, Subjects: ids("runtime"),
				Then: immy.PrereqInstall, On: ids("runtime"), Version: v("5.0")})},
			decisions: decided(dep("app-latest", "app", immy.DesiredLatest)),
			state:     installed("runtime", "4.0"),
			want: []step{
				{"runtime", "update", "", "prerequisite-of:app", "5.0"},
				{"app", "install", "app-latest", "software-missing", "2.0"},
			},
		},
		{
			name:      "an absent prerequisite is installed even where its own winner is update if found",
			software:  []immy.Software{software("vcredist", "14.40"), with(software("3cx", "18.13"), prereqs(needs("vcredist")))},
			decisions: decided(dep("vc-if-found", "vcredist", immy.DesiredUpdateIfFound), dep("3cx-all", "3cx", immy.DesiredLatest)),
			want: []step{
				{"vcredist", "install", "vc-if-found", "prerequisite-of:3cx", "14.40"},
				{"3cx", "install", "3cx-all", "software-missing", "18.13"},
			},
		},
		{
			name:      "a prerequisite installs the version its own winner asks for",
			software:  []immy.Software{software("vcredist", "14.30", "14.40"), with(software("3cx", "18.13"), prereqs(needs("vcredist")))},
			decisions: decided(&immy.Deployment{ID: "vc-pin", Item: "vcredist", Desired: immy.DesiredThisVersion, Version: v("14.30")}, dep("3cx-all", "3cx", immy.DesiredLatest)),
			want: []step{
				{"vcredist", "install", "vc-pin", "prerequisite-of:3cx", "14.30"},
				{"3cx", "install", "3cx-all", "software-missing", "18.13"},
			},
		},
		{
			name: "an action several items need is planned once, at the earliest place",
			software: []immy.Software{software("vcredist", "14.40"),
				with(software("zoom", "5"), prereqs(needs("vcredist")), ordered(immy.OrderBeginning, 1)),
				with(software("3cx", "18"), prereqs(needs("vcredist")))},
			decisions: decided(dep("d-3cx", "3cx", immy.DesiredLatest), dep("d-zoom", "zoom", immy.DesiredLatest), dep("d-vc", "vcredist", immy.DesiredLatest)),
			want: []step{
				{"vcredist", "install", "d-vc", "prerequisite-of:zoom", "14.40"},
				{"zoom", "install", "d-zoom", "software-missing", "5"},
				{"3cx", "install", "d-3cx", "software-missing", "18"},
			},
		},
		{
			name: "an install planned earlier counts as installed for later conditions",
			software: []immy.Software{with(software("runtime", "6"), ordered(immy.OrderBeginning, 1)),
				with(software("app", "1"), prereqs(failIf(immy.ConditionNotInstalled, "runtime")))},
			decisions: decided(dep("d-app", "app", immy.DesiredLatest), dep("d-rt", "runtime", immy.DesiredLatest)),
			want: []step{
				{"runtime", "install", "d-rt", "software-missing", "6"},
				{"app", "install", "d-app", "software-missing", "1"},
			},
		},
		{
			name: "an install planned later does not count",
			software: []immy.Software{with(software("runtime", "6"), ordered(immy.OrderEnd, 1)),
				with(software("app", "1"), prereqs(failIf(immy.ConditionNotInstalled, "runtime")))},
			decisions: decided(dep("d-app", "app", immy.DesiredLatest), dep("d-rt", "runtime", immy.DesiredLatest)),
			want: []step{
				{"app", "fail", "d-app", "prerequisite-fail:runtime", ""},
				{"runtime", "install", "d-rt", "software-missing", "6"},
			},
		},
		{
			name:      "installing a prerequisite whose own winner says uninstalled is a conflict",
			software:  []immy.Software{software("java", "8"), with(software("app", "1"), prereqs(needs("java")))},
			decisions: decided(dep("no-java", "java", immy.DesiredUninstalled), dep("d-app", "app", immy.DesiredLatest)),
			want: []step{
				{"app", "fail", "d-app", "prerequisite-conflict:java", ""},
				{"java", "none", "no-java", "not-detected", ""},
			},
		},
		{
			name: "removing a prerequisite whose own winner keeps it is a conflict",
			software: []immy.Software{software("adobe-reader", "24"),
				with(software("adobe-acrobat", "24"), prereqs(ifInstalled(ids("adobe-reader"), immy.PrereqUninstall, "adobe-reader")))},
			decisions: decided(dep("reader", "adobe-reader", immy.DesiredLatest), dep("acrobat", "adobe-acrobat", immy.DesiredLatest)),
			state:     installed("adobe-reader", "24"),
			want: []step{
				{"adobe-acrobat", "fail", "acrobat", "prerequisite-conflict:adobe-reader", ""},
				{"adobe-reader", "none", "reader", "up-to-date", ""},
			},
		},
		{
			name: "an ignored prerequisite that is present satisfies; an absent one is a conflict",
			software: []immy.Software{software("java", "8"), software("dotnet", "8"),
				with(software("app", "1"), prereqs(needs("java"), needs("dotnet")))},
			decisions: decided(dep("java-ignored", "java", immy.DesiredIgnored), dep("dotnet-ignored", "dotnet", immy.DesiredIgnored), dep("d-app", "app", immy.DesiredLatest)),
			state:     installed("java", "8"),
			want: []step{
				{"app", "fail", "d-app", "prerequisite-conflict:dotnet", ""},
				{"dotnet", "none", "dotnet-ignored", "ignored", ""},
				{"java", "none", "java-ignored", "ignored", ""},
			},
		},
		{
			name: "a failed prerequisite fails its dependent, and what was planned for it is taken back",
			software: []immy.Software{software("b", "1"), software("blocker", "1"),
				with(software("c", "1"), prereqs(failIf(immy.ConditionInstalled, "blocker"))),
				with(software("a", "1"), prereqs(needs("b"), needs("c")))},
			decisions: decided(dep("d-a", "a", immy.DesiredLatest), dep("d-b", "b", immy.DesiredLatest)),
			state:     installed("blocker", "1"),
			want: []step{
				{"a", "fail", "d-a", "prerequisite-failed:c", ""},
				{"b", "install", "d-b", "software-missing", "1"},
			},
		},
		{
			name: "a prerequisite with its own winner fails there too, by its own reason",
			software: []immy.Software{software("blocker", "1"),
				with(software("c", "1"), prereqs(failIf(immy.ConditionInstalled, "blocker"))),
				with(software("a", "1"), prereqs(needs("c")))},
			decisions: decided(dep("d-a", "a", immy.DesiredLatest), dep("d-c", "c", immy.DesiredLatest)),
			state:     installed("blocker", "1"),
			want: []step{
				{"a", "fail", "d-a", "prerequisite-failed:c", ""},
				{"c", "fail", "d-c", "prerequisite-fail:blocker", ""},
			},
		},
		{
			name: "a prerequisite may not remove the software it is installed for",
			software: []immy.Software{
				with(software("b", "1"), prereqs(ifInstalled(ids("a"), immy.PrereqUninstall, "a"))),
				with(software("a", "1", "2"), prereqs(needs("b"))),
			},
			decisions: decided(dep("d-a", "a", immy.DesiredUpdateIfFound)),
			state:     installed("a", "1"),
			want:      []step{{"a", "fail", "d-a", "prerequisite-failed:b", ""}},
		},
		{
			name: "order: beginning by position, unordered by id, end by position",
			software: []immy.Software{
				with(software("z-begin-1", "1"), ordered(immy.OrderBeginning, 1)),
				with(software("a-begin-2", "1"), ordered(immy.OrderBeginning, 2)),
				software("m"), software("b"),
				with(software("a-end-9", "1"), ordered(immy.OrderEnd, 9)),
				with(software("y-end-1", "1"), ordered(immy.OrderEnd, 1)),
			},
			decisions: decided(dep("1", "m", immy.DesiredIgnored), dep("2", "a-end-9", immy.DesiredIgnored), dep("3", "b", immy.DesiredIgnored),
				dep("4", "y-end-1", immy.DesiredIgnored), dep("5", "a-begin-2", immy.DesiredIgnored), dep("6", "z-begin-1", immy.DesiredIgnored)),
			want: []step{
				{"z-begin-1", "none", "6", "ignored", ""},
				{"a-begin-2", "none", "5", "ignored", ""},
				{"b", "none", "3", "ignored", ""},
				{"m", "none", "1", "ignored", ""},
				{"y-end-1", "none", "4", "ignored", ""},
				{"a-end-9", "none", "2", "ignored", ""},
			},
		},
		{
			name:       "onboarding-only tasks first",
			software:   []immy.Software{with(software("agent", "1"), ordered(immy.OrderBeginning, 1))},
			tasks:      []immy.Task{{ID: "rename", OnboardingOnly: true, Order: immy.Order{Location: immy.OrderEnd}}, {ID: "bitlocker"}},
			decisions:  decided(dep("d-agent", "agent", immy.DesiredLatest), taskDep("d-bl", "bitlocker", immy.ModeEnforce), taskDep("d-rename", "rename", immy.ModeEnforce)),
			state:      fakeState{tasks: map[string]Test{"bitlocker": TestFailed}},
			onboarding: true,
			want: []step{
				{"rename", "task-enforce", "d-rename", "decided-at-detection", ""},
				{"agent", "install", "d-agent", "software-missing", "1"},
				{"bitlocker", "task-enforce", "d-bl", "test-failed", ""},
			},
		},
		{
			name: "a software's configuration task right after it",
			software: []immy.Software{with(software("reader", "24"), configured("reader-settings")),
				with(software("zoom", "5"), configured("zoom-settings"))},
			tasks: []immy.Task{{ID: "reader-settings"}, {ID: "zoom-settings"}, {ID: "a-task"}},
			decisions: decided(taskDep("d-task", "a-task", immy.ModeAudit), dep("d-zoom", "zoom", immy.DesiredLatest), dep("d-reader", "reader", immy.DesiredLatest),
				taskDep("d-rs", "reader-settings", immy.ModeMonitor)),
			state: fakeState{sw: map[string]SoftwareState{"zoom": {Present: true, Version: v("5")}}, tasks: map[string]Test{"zoom-settings": TestPassed}},
			want: []step{
				{"a-task", "task-audit", "d-task", "audit", ""},
				{"reader", "install", "d-reader", "software-missing", "24"},
				{"reader-settings", "task-monitor", "d-rs", "monitor", ""},
				{"zoom", "none", "d-zoom", "up-to-date", ""},
				{"zoom-settings", "none", "", "configuration-of:zoom", ""},
			},
		},
		{
			name:      "no configuration for a software that is removed or ignored",
			software:  []immy.Software{with(software("reader", "24"), configured("settings")), with(software("zoom", "5"), configured("settings"))},
			tasks:     []immy.Task{{ID: "settings"}},
			decisions: decided(dep("d-reader", "reader", immy.DesiredUninstalled), dep("d-zoom", "zoom", immy.DesiredIgnored)),
			state:     installed("reader", "23", "zoom", "5"),
			want: []step{
				{"reader", "uninstall", "d-reader", "software-detected", ""},
				{"zoom", "none", "d-zoom", "ignored", ""},
			},
		},
		{
			name:      "detection that the inventory cannot tell is left to detection",
			software:  []immy.Software{software("vcredist", "14.40"), with(software("app", "1"), prereqs(needs("vcredist")))},
			decisions: decided(dep("d-app", "app", immy.DesiredLatest)),
			state:     fakeState{unknown: map[string]bool{"app": true}},
			want:      []step{{"app", "none", "d-app", "decided-at-detection", ""}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cat, err := NewCatalogue(&immy.Fleet{Software: tt.software, Tasks: tt.tasks})
			require.NoError(t, err)
			s := Session{}
			if tt.onboarding {
				s.Kind = OnboardingSession
			}
			var st State
			if tt.state.sw != nil || tt.state.tasks != nil || tt.state.unknown != nil {
				st = tt.state
			}
			got := cat.Actions(s, tt.decisions, st)
			require.Empty(t, cmp.Diff(tt.want, steps(got)))
			// A prerequisite runs under its own winning deployment or none,
			// never under its dependent's: the parent's parameters are not
			// passed to it.
			own := map[string]string{}
			for _, d := range tt.decisions {
				own[d.Item] = d.Winner
			}
			for _, a := range got {
				if a.RequiredBy != "" {
					require.Equal(t, own[a.Item], a.Deployment, "action %+v", a)
				}
			}
		})
	}
}

func TestSequencerReuse(t *testing.T) {
	// The planner reuses one sequencer for many computers: nothing may leak
	// from one run into the next.
	cat, err := NewCatalogue(&immy.Fleet{Software: []immy.Software{software("vcredist", "14.40"), with(software("3cx", "18"), prereqs(needs("vcredist")))}})
	require.NoError(t, err)
	deps := []immy.Deployment{*dep("d", "3cx", immy.DesiredLatest)}
	q := newSequencer(cat, deps, cat.aims(deps), nil)
	k := cat.byID["3cx"]
	run := func(st State) []step {
		acts := q.run([]seqItem{{k, 0}}, newPublicState(cat, st), false)
		out := make([]Action, len(acts))
		for i := range acts {
			out[i] = cat.publicAction(deps, &acts[i])
		}
		return steps(out)
	}
	first := run(nil)
	second := run(installed("vcredist", "14.40"))
	third := run(nil)
	require.Len(t, first, 2)
	require.Len(t, second, 1)
	require.Equal(t, first, third)
	q.gen = ^uint32(0) // the generation counter wraps
	require.Equal(t, first, run(nil))
}
