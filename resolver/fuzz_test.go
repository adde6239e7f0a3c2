package resolver

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/targets"
)

// bytesReader hands out small numbers from fuzz input, 0 when it runs out.
type bytesReader struct {
	b []byte
}

func (r *bytesReader) next(n int) int {
	if len(r.b) == 0 || n <= 0 {
		return 0
	}
	v := int(r.b[0]) % n
	r.b = r.b[1:]
	return v
}

// randomCatalogue builds a fleet of up to 8 software and 2 tasks with random
// prerequisites (software and version level), decisions and a detected state.
func randomCatalogue(data []byte) (*immy.Fleet, []Decision, fakeState) {
	r := &bytesReader{b: data}
	n := 1 + r.next(8)
	id := func(i int) string { return fmt.Sprintf("s%d", i) }
	f := &immy.Fleet{Tasks: []immy.Task{{ID: "t0"}, {ID: "t1", OnboardingOnly: true}}}
	for i := range n {
		s := software(id(i), "1.0", "2.0")
		s.Order = immy.Order{Location: immy.OrderLocation(r.next(3)), Position: r.next(3)}
		if r.next(4) == 0 {
			s.ConfigurationTask = fmt.Sprintf("t%d", r.next(2))
		}
		rule := func() immy.Prerequisite {
			p := immy.Prerequisite{
				Condition:  immy.Condition(1 + r.next(2)),
				Quantifier: immy.Quantifier(r.next(2)),
				Then:       immy.PrereqAction(1 + r.next(3)),
			}
			for range 1 + r.next(2) {
				p.Subjects = append(p.Subjects, id(r.next(n)))
			}
			if p.Then != immy.PrereqFail {
				for range 1 + r.next(2) {
					p.On = append(p.On, id(r.next(n)))
				}
				if r.next(3) == 0 {
					p.Version = immy.MustParseVersion("2.0")
				}
			}
			return p
		}
		for range r.next(3) {
			s.Prerequisites = append(s.Prerequisites, rule())
		}
		if r.next(3) == 0 {
			s.Versions[1].Prerequisites = append(s.Versions[1].Prerequisites, rule())
		}
		f.Software = append(f.Software, s)
	}
	desired := []immy.DesiredState{immy.DesiredLatest, immy.DesiredThisVersion, immy.DesiredNewerOrEqual, immy.DesiredOlderOrEqual,
		immy.DesiredAnyVersion, immy.DesiredUpdateIfFound, immy.DesiredUninstalled, immy.DesiredIgnored}
	var decisions []Decision
	for i := range n {
		if r.next(2) == 0 {
			continue
		}
		d := dep("d-"+id(i), id(i), desired[r.next(len(desired))])
		d.Version = immy.MustParseVersion([]string{"1.0", "2.0", "1.5"}[r.next(3)])
		decisions = append(decisions, decided(d)...)
	}
	for i := range 2 {
		if r.next(2) == 0 {
			decisions = append(decisions, decided(taskDep(fmt.Sprintf("d-t%d", i), fmt.Sprintf("t%d", i), immy.TaskMode(1+r.next(4))))...)
		}
	}
	st := fakeState{sw: map[string]SoftwareState{}, tasks: map[string]Test{}, unknown: map[string]bool{}}
	for i := range n {
		switch r.next(5) {
		case 1:
			st.sw[id(i)] = SoftwareState{Present: true, Version: immy.MustParseVersion("1.0")}
		case 2:
			st.sw[id(i)] = SoftwareState{Present: true, Version: immy.MustParseVersion("2.0"), Test: TestFailed}
		case 3:
			st.unknown[id(i)] = true
		}
	}
	st.tasks["t0"] = Test(r.next(3))
	return f, decisions, st
}

func FuzzCatalogue(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{3, 0, 0, 1, 1, 0, 0, 0, 1, 1, 1, 0, 2, 0, 1, 1, 0, 0, 1, 2, 1, 1, 1})
	f.Add([]byte{7, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25})
	f.Add([]byte{2, 0, 0, 3, 2, 0, 1, 0, 1, 1, 0, 0, 0, 2, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		fleet, decisions, st := randomCatalogue(data)
		cat, err := NewCatalogue(fleet)
		if err != nil {
			// The only ways to fail are a cycle, each with a closed path of
			// install edges from its smallest id, and a software that
			// uninstalls itself.
			var ps immy.Problems
			require.True(t, errors.As(err, &ps))
			for _, p := range ps {
				var ce *immy.CycleError
				if p.Message == "a prerequisite cannot uninstall the software it belongs to" {
					continue
				}
				require.True(t, errors.As(p, &ce), "unexpected problem: %v", p)
				path := ce.Path
				require.GreaterOrEqual(t, len(path), 2)
				require.Equal(t, path[0], path[len(path)-1])
				require.Equal(t, path[0], slices.Min(path))
				for i := 0; i+1 < len(path); i++ {
					require.True(t, installsFirst(fleet, path[i], path[i+1]), "%s -> %s is no install edge", path[i], path[i+1])
				}
			}
			return
		}
		for _, onboarding := range []bool{false, true} {
			s := Session{}
			if onboarding {
				s.Kind = OnboardingSession
			}
			acts := cat.Actions(s, decisions, st)
			checkActions(t, decisions, acts)
			// The same input gives the same plan.
			require.Equal(t, acts, cat.Actions(s, decisions, st))
		}
	})
}

// installsFirst reports whether software a has a rule installing b.
func installsFirst(f *immy.Fleet, a, b string) bool {
	for _, s := range f.Software {
		if s.ID != a {
			continue
		}
		rules := slices.Clone(s.Prerequisites)
		for _, v := range s.Versions {
			rules = append(rules, v.Prerequisites...)
		}
		for _, r := range rules {
			if r.Then == immy.PrereqInstall && slices.Contains(r.On, b) {
				return true
			}
		}
	}
	return false
}

// checkActions asserts what holds of every plan: each item once; every
// decided item planned; a prerequisite action before its dependent, which
// does not fail; a configuration task right after its software.
func checkActions(t *testing.T, decisions []Decision, acts []Action) {
	t.Helper()
	at := map[string]int{}
	for i, a := range acts {
		_, dup := at[a.Item]
		require.False(t, dup, "item %s planned twice: %v", a.Item, acts)
		at[a.Item] = i
	}
	for _, d := range decisions {
		i, ok := at[d.Item]
		require.True(t, ok || d.Item == "t1", "decided item %s has no action: %v", d.Item, acts)
		if ok {
			require.Equal(t, d.Winner, acts[i].Deployment, "a decided item's action runs under its winner")
		}
	}
	for i, a := range acts {
		if a.RequiredBy == "" {
			continue
		}
		j, ok := at[a.RequiredBy]
		require.True(t, ok, "%s is required by %s, which is not planned", a.Item, a.RequiredBy)
		if a.Reason == ReasonPrerequisiteOf+":"+a.RequiredBy {
			require.Greater(t, j, i, "prerequisite %s after its dependent %s", a.Item, a.RequiredBy)
			require.NotEqual(t, ActionFail, acts[j].Action, "%s planned for a dependent that fails", a.Item)
		} else {
			require.Equal(t, j, i-1, "configuration task %s not right after %s", a.Item, a.RequiredBy)
		}
	}
}

func FuzzDetectionGlob(f *testing.F) {
	for _, seed := range [][2]string{
		{"Adobe Acrobat Reader*", "Adobe Acrobat Reader DC"},
		{"*(x64)", "Microsoft Visual C++ 2015-2022 Redistributable (x64)"},
		{"*visual c++*", "MICROSOFT VISUAL C++"},
		{"Google Chrome", "google chrome"},
		{"Kit*", "\u212Ait"},
		{"s?p", "\u017F\u00e9p"},
		{"**", ""},
		{"[x]", "[x]"},
		{`Foo\*`, "Foo*"},
		{`What\?`, "What?"},
		{`a\\b*`, `a\bc`},
		{`trailing\`, `trailing\`},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, pattern, name string) {
		m, err := compileGlob(pattern)
		if err != nil {
			require.ErrorIs(t, err, errPattern)
			return
		}
		got, v := m.match(name, lowerASCII(name))
		require.True(t, v.IsZero())
		if !strings.Contains(pattern, `\`) {
			require.Equal(t, targets.MatchGlob(pattern, name), got, "glob %q on %q (kind %d)", pattern, name, m.kind)
		} else if utf8.ValidString(name) {
			// an escaped glob means what the regular expression of its tokens means
			var re strings.Builder
			re.WriteString("(?is)^")
			for _, tk := range parseGlob(pattern) {
				switch tk.kind {
				case tokStar:
					re.WriteString(".*")
				case tokAny:
					re.WriteString(".")
				default:
					re.WriteString(regexp.QuoteMeta(string(tk.r)))
				}
			}
			re.WriteString("$")
			require.Equal(t, regexp.MustCompile(re.String()).MatchString(name), got, "glob %q on %q", pattern, name)
		}
		// The first-byte index never hides a match.
		if b, ok := m.firstByte(); ok && got {
			require.NotEmpty(t, name)
			require.Equal(t, b, toLowerByte(name[0]))
		}
		// A regex detection compiles or fails cleanly, whatever the text.
		if rm, err := compileRegex(pattern); err == nil {
			ok, _ := rm.match(name, lowerASCII(name))
			if b, indexed := rm.firstByte(); indexed && ok {
				require.Equal(t, b, toLowerByte(name[0]), "regex %q on %q", pattern, name)
			}
		} else {
			require.ErrorIs(t, err, errPattern)
		}
	})
}
