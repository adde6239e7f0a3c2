package resolver

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
)

func cycleErrors(t *testing.T, err error) [][]string {
	t.Helper()
	var ps immy.Problems
	require.True(t, errors.As(err, &ps), "want immy.Problems, got %T: %v", err, err)
	var out [][]string
	for _, p := range ps {
		var ce *immy.CycleError
		if errors.As(p, &ce) {
			out = append(out, ce.Path)
		}
	}
	return out
}

func TestCatalogueCycles(t *testing.T) {
	tests := []struct {
		name     string
		software []immy.Software
		want     [][]string
	}{
		{"three, reported from the smallest id", []immy.Software{
			with(software("app-b", "1"), prereqs(needs("app-c"))),
			with(software("app-c", "1"), prereqs(needs("app-a"))),
			with(software("app-a", "1"), prereqs(needs("app-b"))),
		}, [][]string{{"app-a", "app-b", "app-c", "app-a"}}},
		{"self", []immy.Software{with(software("x", "1"), prereqs(needs("x")))}, [][]string{{"x", "x"}}},
		{"two separate cycles, both reported", []immy.Software{
			with(software("a", "1"), prereqs(needs("b"))),
			with(software("b", "1"), prereqs(needs("a"))),
			with(software("c", "1"), prereqs(needs("d"))),
			with(software("d", "1"), prereqs(needs("c"))),
		}, [][]string{{"a", "b", "a"}, {"c", "d", "c"}}},
		{"two cycles through one node", []immy.Software{
			with(software("a", "1"), prereqs(needs("b"), needs("c"))),
			with(software("b", "1"), prereqs(needs("a"))),
			with(software("c", "1"), prereqs(needs("a"))),
		}, [][]string{{"a", "b", "a"}, {"a", "c", "a"}}},
		{"through a version-level prerequisite", []immy.Software{
			with(software("a", "1"), prereqs(needs("b"))),
			{ID: "b", Name: "b", Detection: immy.Detection{DisplayName: "b"}, Versions: []immy.SoftwareVersion{
				{Version: immy.MustParseVersion("2"), Prerequisites: []immy.Prerequisite{
					{Condition: immy.ConditionNotInstalled, Subjects: ids("a"), Then: immy.PrereqInstall, On: ids("a"), Version: immy.MustParseVersion("1")}}}}},
		}, [][]string{{"a", "b", "a"}}},
		{"mutual uninstalls are not a cycle", []immy.Software{
			with(software("av-new", "1"), prereqs(immy.Prerequisite{Condition: immy.ConditionInstalled, Subjects: ids("av-old"), Then: immy.PrereqUninstall, On: ids("av-old")})),
			with(software("av-old", "1"), prereqs(immy.Prerequisite{Condition: immy.ConditionInstalled, Subjects: ids("av-new"), Then: immy.PrereqUninstall, On: ids("av-new")})),
		}, nil},
		{"a diamond is not a cycle", []immy.Software{
			with(software("top", "1"), prereqs(needs("left"), needs("right"))),
			with(software("left", "1"), prereqs(needs("base"))),
			with(software("right", "1"), prereqs(needs("base"))),
			software("base", "1"),
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &immy.Fleet{Software: tt.software}
			cat, err := NewCatalogue(f)
			if tt.want == nil {
				require.NoError(t, err)
				require.NotNil(t, cat)
				require.Empty(t, Check(f))
				return
			}
			require.Error(t, err)
			require.ErrorIs(t, err, immy.ErrCycle)
			require.Empty(t, cmp.Diff(tt.want, cycleErrors(t, err)))
			require.Empty(t, cmp.Diff(tt.want, cycleErrors(t, Check(f))))
			for _, path := range tt.want {
				require.Contains(t, err.Error(), strings.Join(path, " -> "))
			}
		})
	}
}

func TestCatalogueCycleProblemIsLocated(t *testing.T) {
	f := &immy.Fleet{Software: []immy.Software{
		software("zz", "1"),
		with(software("app-a", "1"), prereqs(needs("zz"), needs("app-b"))),
		with(software("app-b", "1"), prereqs(needs("app-a"))),
	}}
	ps := Check(f)
	require.Len(t, ps, 1)
	require.Equal(t, "software", ps[0].Section)
	require.Equal(t, 1, ps[0].Index)
	require.Equal(t, "app-a", ps[0].ID)
	require.Equal(t, "prerequisites[1].on", ps[0].Field, "the rule that starts the cycle")
	require.Equal(t, `software "app-a": prerequisites[1].on: prerequisite cycle: app-a -> app-b -> app-a`, ps[0].Error())
}

func TestCatalogueManyCyclesAreCapped(t *testing.T) {
	// A complete graph on 8 nodes has far more elementary cycles than a
	// report should list.
	var sws []immy.Software
	names := ids("a", "b", "c", "d", "e", "f", "g", "h")
	for _, n := range names {
		s := software(n, "1")
		for _, m := range names {
			if m != n {
				s.Prerequisites = append(s.Prerequisites, needs(m))
			}
		}
		sws = append(sws, s)
	}
	ps := Check(&immy.Fleet{Software: sws})
	require.Len(t, ps, maxCycles+1)
	require.Contains(t, ps.Error(), "more prerequisite cycles than the 64 listed")
}

func TestCatalogueBadReferencesAndPatterns(t *testing.T) {
	f := &immy.Fleet{Software: []immy.Software{
		{ID: "a", Detection: immy.Detection{Regex: "("}, Prerequisites: []immy.Prerequisite{ifNot(ids("ghost"), "ghost")}},
		{ID: "b", Detection: immy.Detection{DisplayName: "b"}, ConfigurationTask: "nope"},
	}}
	_, err := NewCatalogue(f)
	require.Error(t, err)
	msg := err.Error()
	require.Contains(t, msg, `software "a": detection.regex: regex "(":`)
	require.Contains(t, msg, `software "a": prerequisites[0]: unknown software "ghost"`)
	require.Contains(t, msg, `software "a": prerequisites[0].on: unknown software "ghost"`)
	require.Contains(t, msg, `software "b": configuration_task: unknown task "nope"`)
	// Check leaves the broken references to immy.Fleet.Validate.
	ps := Check(f)
	require.Len(t, ps, 1)
	require.Equal(t, "detection.regex", ps[0].Field)
}

func TestCatalogueSelfUninstall(t *testing.T) {
	f := &immy.Fleet{Software: []immy.Software{
		with(software("app", "1"), prereqs(immy.Prerequisite{Condition: immy.ConditionInstalled, Subjects: ids("app"), Then: immy.PrereqUninstall, On: ids("app")})),
	}}
	ps := Check(f)
	require.Len(t, ps, 1)
	require.Equal(t, `software "app": prerequisites[0].on: a prerequisite cannot uninstall the software it belongs to`, ps[0].Error())
	require.ErrorIs(t, ps[0], immy.ErrInvalid)
}

func TestCatalogueOrder(t *testing.T) {
	f := &immy.Fleet{
		Software: []immy.Software{
			with(software("z-first", "1"), ordered(immy.OrderBeginning, 1)),
			with(software("a-second", "1"), ordered(immy.OrderBeginning, 2)),
			software("m-middle", "1"),
			software("b-middle", "1"),
			with(software("a-last", "1"), ordered(immy.OrderEnd, 9)),
			with(software("y-end", "1"), ordered(immy.OrderEnd, 1)),
		},
		Tasks: []immy.Task{{ID: "welcome", OnboardingOnly: true, Order: immy.Order{Location: immy.OrderEnd, Position: 50}}},
	}
	cat, err := NewCatalogue(f)
	require.NoError(t, err)
	require.Equal(t, ids("welcome", "z-first", "a-second", "b-middle", "m-middle", "y-end", "a-last"), cat.Order())
}

func TestDetect(t *testing.T) {
	v := immy.MustParseVersion
	f := &immy.Fleet{Software: []immy.Software{
		{ID: "reader", Detection: immy.Detection{DisplayName: "Adobe Acrobat Reader*"}},
		{ID: "exact", Detection: immy.Detection{DisplayName: "Google Chrome"}},
		{ID: "suffix", Detection: immy.Detection{DisplayName: "*(x64)"}},
		{ID: "contains", Detection: immy.Detection{DisplayName: "*Visual C++*"}},
		{ID: "question", Detection: immy.Detection{DisplayName: "7-Zip ??.??"}},
		{ID: "named", Detection: immy.Detection{Regex: `^Zoom \((?P<version>[\d.]+)\)$`}},
		{ID: "first", Detection: immy.Detection{Regex: `^Notepad\+\+ v([\d.]+)`}},
		{ID: "nogroup", Detection: immy.Detection{Regex: `(?i)^python 3`}},
		{ID: "code", Detection: immy.Detection{ProductCode: "{AC76BA86-7AD7-1033-7B44-AC0F074E4100}"}},
		{ID: "upgrade", Detection: immy.Detection{UpgradeCode: "5E1D2F3A-0000-0000-0000-000000000001"}},
		{ID: "script", Detection: immy.Detection{Script: &immy.Script{Body: "x"}}},
	}}
	cat, err := NewCatalogue(f)
	require.NoError(t, err)
	inv := []immy.DetectedSoftware{
		{Name: "ADOBE ACROBAT READER DC (64-bit)", Version: v("23.006.20320")},
		{Name: "Adobe Acrobat Reader DC", Version: v("24.001.20604")},
		{Name: "google chrome", Version: v("131.0.6778.86")},
		{Name: "Google Chrome Beta", Version: v("132.0")},
		{Name: "Microsoft Visual C++ 2015-2022 Redistributable (x64)", Version: v("14.38.33130.0")},
		{Name: "7-Zip 23.01", Version: v("23.01")},
		{Name: "Zoom (5.17.11)", Version: v("1.0")},
		{Name: "Notepad++ v8.6.2 (64-bit)", Version: v("1.0")},
		{Name: "Notepad++ v1..2 (64-bit)", Version: v("7.0")},
		{Name: "Python 3.12.1 (64-bit)", Version: v("3.12.1150.0")},
		{Name: "Acrobat", Version: v("20.1"), ProductCode: "ac76ba86-7ad7-1033-7b44-ac0f074e4100"},
		{Name: "Some tool", Version: v("3.3"), UpgradeCode: "{5e1d2f3a-0000-0000-0000-000000000001}"},
	}
	tests := []struct {
		id    string
		want  SoftwareState
		known bool
	}{
		{"reader", SoftwareState{Present: true, Version: v("24.001.20604")}, true}, // two entries: the highest
		{"exact", SoftwareState{Present: true, Version: v("131.0.6778.86")}, true}, // case-insensitive, whole name
		{"suffix", SoftwareState{Present: true, Version: v("14.38.33130.0")}, true},
		{"contains", SoftwareState{Present: true, Version: v("14.38.33130.0")}, true},
		{"question", SoftwareState{Present: true, Version: v("23.01")}, true},
		{"named", SoftwareState{Present: true, Version: v("5.17.11")}, true},       // the "version" group
		{"first", SoftwareState{Present: true, Version: v("8.6.2")}, true},         // the first group; "1..2" does not parse: that entry counts 7.0
		{"nogroup", SoftwareState{Present: true, Version: v("3.12.1150.0")}, true}, // the entry's version
		{"code", SoftwareState{Present: true, Version: v("20.1")}, true},
		{"upgrade", SoftwareState{Present: true, Version: v("3.3")}, true},
		{"script", SoftwareState{}, false},
		{"ghost", SoftwareState{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			st, known := cat.Detect(tt.id, inv)
			require.Equal(t, tt.known, known)
			require.Equal(t, tt.want.Present, st.Present)
			require.Equal(t, tt.want.Version.String(), st.Version.String())
			if known {
				// the planner's indexed path agrees with Detect
				s := newInvState(cat)
				var scratch []nameHit
				s.load(&immy.Computer{Software: inv}, &nameCache{}, &scratch)
				k, _ := cat.software(tt.id)
				present, ver, _, _, ok := s.software(k)
				require.True(t, ok)
				require.Equal(t, tt.want.Present, present)
				require.Equal(t, tt.want.Version.String(), ver.String())
			}
		})
	}
	st, _ := cat.Detect("exact", []immy.DetectedSoftware{{Name: "Google Chrome Beta"}})
	require.False(t, st.Present, "a glob without a star matches the whole name only")
}
