package fleetfile_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/fleetfile"
)

// versionCmp compares versions by their text, as the file writes them.
var versionCmp = cmp.Comparer(func(a, b immy.Version) bool { return a.String() == b.String() })

// problems loads src and returns every problem rendered, one a line.
func problems(t *testing.T, src string) []string {
	t.Helper()
	f, err := fleetfile.Load("fleet.yaml", strings.NewReader(src))
	require.Error(t, err)
	require.Nil(t, f, "a file with problems must not give a fleet")
	var ps immy.Problems
	require.ErrorAs(t, err, &ps)
	require.NotEmpty(t, ps)
	return strings.Split(err.Error(), "\n")
}

const base = `version: 1
tenants:
  - {id: contoso, name: Contoso}
`

func TestLoadProblems(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{
			name: "misspelt key",
			src: base + `computers:
  - id: pc1
    tenant: contoso
    kidn: workstation
`,
			want: []string{`fleet.yaml:7: computer "pc1": unknown key "kidn" (did you mean "kind"?)`},
		},
		{
			name: "misspelt nested key",
			src: base + `software:
  - {id: s, name: S, detection: {display_name: S}}
deployments:
  - id: d1
    item: s
    target: {tpye: all-computers}
    desired: latest
`,
			want: []string{
				`fleet.yaml:9: deployment "d1": target: unknown key "tpye" (did you mean "type"?)`,
				`fleet.yaml:9: deployment "d1": target.type: missing target type`,
			},
		},
		{
			name: "misspelt section",
			src: base + `computer:
  - {id: pc1, tenant: contoso}
`,
			want: []string{`fleet.yaml:4: unknown key "computer" (did you mean "computers"?)`},
		},
		{
			name: "unknown key without a near name",
			src:  base + "colour: blue\n",
			want: []string{`fleet.yaml:4: unknown key "colour"`},
		},
		{
			name: "duplicate key",
			src: base + `persons:
  - id: john
    tenant: contoso
    tenant: contoso
`,
			want: []string{`fleet.yaml:7: person "john": duplicate key "tenant" (first at line 6)`},
		},
		{
			name: "duplicate id",
			src: base + `  - {id: contoso, name: Contoso again}
`,
			want: []string{`fleet.yaml:4: tenant "contoso": id: duplicate id (first at tenants #1)`},
		},
		{
			name: "unknown reference",
			src: base + `computers:
  - id: pc1
    tenant: fabrikam
`,
			want: []string{`fleet.yaml:6: computer "pc1": tenant: unknown tenant "fabrikam"`},
		},
		{
			name: "tenant cycle",
			src: `tenants:
  - {id: a, parent: c}
  - {id: b, parent: a}
  - {id: c, parent: b}
`,
			want: []string{`fleet.yaml:2: tenant "a": parent: tenant cycle: a -> c -> b -> a`},
		},
		{
			name: "bad enum",
			src: base + `computers:
  - {id: pc1, tenant: contoso, kind: laptop}
`,
			want: []string{`fleet.yaml:5: computer "pc1": kind: invalid computer kind "laptop" (want one of unknown, workstation, portable, server, domain-controller, primary-domain-controller)`},
		},
		{
			name: "bad version",
			src: base + `software:
  - id: s
    name: S
    detection: {display_name: S}
    versions:
      - {version: 1.2.x}
`,
			want: []string{`fleet.yaml:9: software "s": versions[0].version: version "1.2.x": ".x" is a wildcard, not a version`},
		},
		{
			name: "bad desired version is reported once",
			src: base + `software:
  - {id: s, name: S, detection: {display_name: S}, versions: [{version: 1.0.0}]}
deployments:
  - id: d1
    item: s
    target: {type: all-computers}
    desired: this-version
    version: latest
`,
			want: []string{`fleet.yaml:11: deployment "d1": version: version "latest": no version: a version starts with a number`},
		},
		{
			name: "missing required field",
			src: base + `computers:
  - id: pc1
    kind: workstation
`,
			want: []string{`fleet.yaml:5: computer "pc1": tenant: missing tenant`},
		},
		{
			name: "missing id",
			src: base + `persons:
  - {tenant: contoso}
`,
			want: []string{`fleet.yaml:5: person #1: id: missing id`},
		},
		{
			name: "bad date",
			src: base + `agreements:
  - {id: ag, tenant: contoso, client_group: x, from: 2026-13-01}
`,
			want: []string{`fleet.yaml:5: agreement "ag": from: date "2026-13-01": want YYYY-MM-DD`},
		},
		{
			name: "bad evaluation time",
			src:  "version: 1\nat: tomorrow\n" + strings.TrimPrefix(base, "version: 1\n"),
			want: []string{`fleet.yaml:2: at: invalid time "tomorrow": want RFC 3339 (2026-11-23T10:00:00Z) or a date (2026-11-23)`},
		},
		{
			name: "unsupported file version",
			src:  "version: 2\n" + strings.TrimPrefix(base, "version: 1\n"),
			want: []string{`fleet.yaml:1: version: unsupported fleet file version 2 (this engine reads version 1)`},
		},
		{
			name: "wrong shape",
			src: base + `computers:
  - id: pc1
    tenant: contoso
    tags: canary
    online: yes
    upns: {a: b}
`,
			want: []string{
				`fleet.yaml:7: computer "pc1": tags: want a list, got "canary"`,
				`fleet.yaml:8: computer "pc1": online: want true or false, got "yes"`,
				`fleet.yaml:9: computer "pc1": upns: want a list, got a mapping`,
			},
		},
		{
			name: "entry of the wrong shape keeps later entries in place",
			src: base + `computers:
  - just-a-name
  - {id: pc2, tenant: contoso, kind: tower}
`,
			want: []string{
				`fleet.yaml:5: computer #1: want a mapping, got "just-a-name"`,
				`fleet.yaml:6: computer "pc2": kind: invalid computer kind "tower" (want one of unknown, workstation, portable, server, domain-controller, primary-domain-controller)`,
			},
		},
		{
			name: "any_of and all_of together",
			src: base + `software:
  - {id: a, name: A, detection: {display_name: A}}
  - id: b
    name: B
    detection: {display_name: B}
    prerequisites:
      - if: installed
        any_of: [a]
        all_of: [a]
        then: fail
`,
			want: []string{`fleet.yaml:12: software "b": prerequisites[0].all_of: give one of any_of and all_of, not both`},
		},
		{
			name: "parameter values of the wrong type",
			src: base + `tasks:
  - id: t
    parameters:
      - {name: pw, type: password}
      - {name: n, type: number}
      - {name: mode, type: select, options: [fast, slow]}
deployments:
  - id: d1
    item: t
    target: {type: all-computers}
    mode: enforce
    parameters:
      pw: {value: TopSecret-42}
      n: many
      mode: medium
`,
			want: []string{
				`fleet.yaml:16: deployment "d1": parameters.pw: a password parameter takes text`,
				`fleet.yaml:17: deployment "d1": parameters.n: a number parameter takes a number`,
				`fleet.yaml:18: deployment "d1": parameters.mode: not one of the select's options (fast, slow)`,
			},
		},
		{
			name: "yaml syntax",
			src:  base + "computers:\n  - {id: pc1, tenant: contoso\n",
			want: []string{`fleet.yaml:5: invalid YAML: did not find expected ',' or '}'`}, // where the mapping opens
		},
		{
			name: "empty file",
			src:  "# nothing yet\n",
			want: []string{`fleet.yaml: empty file: want a fleet (version, tenants, computers, ...)`},
		},
		{
			name: "not a mapping",
			src:  "- tenants\n",
			want: []string{`fleet.yaml:1: want a mapping of sections (version, tenants, computers, ...), got a list`},
		},
		{
			name: "two documents",
			src:  base + "---\n" + base,
			want: []string{`fleet.yaml:4: a fleet file holds one YAML document; found a second`},
		},
		{
			name: "scanner error",
			src:  base + "computers:\n  - id: pc1\n    tenant: contoso\n     kind: workstation\n",
			want: []string{`fleet.yaml:7: invalid YAML: mapping values are not allowed in this context`},
		},
		{
			name: "parser error on the first line",
			src:  "]\n",
			want: []string{`fleet.yaml:1: invalid YAML: did not find expected node content`},
		},
		{
			name: "several problems at once, sorted by line",
			src: `version: 1
tenants:
  - {id: contoso, name: Contoso, parent: msp}
  - {id: contoso, name: Contoso again}
computers:
  - {id: pc1, tenant: contoso, kind: desktop, onboarding: done}
  - {id: pc2, tenant: nowhere, os: Windows 11, osversion: 23H2}
software:
  - {id: s, name: S, detection: {display_name: S}, versions: [{version: 1.0.0}]}
deployments:
  - {id: d1, item: s, target: {type: all-computers, filter: laptops}, desired: newest}
  - {id: d2, item: nothing, target: {type: computer}, desired: latest}
`,
			want: []string{
				`fleet.yaml:3: tenant "contoso": parent: unknown tenant "msp"`,
				`fleet.yaml:4: tenant "contoso": id: duplicate id (first at tenants #1)`,
				`fleet.yaml:6: computer "pc1": kind: invalid computer kind "desktop" (want one of unknown, workstation, portable, server, domain-controller, primary-domain-controller)`,
				`fleet.yaml:6: computer "pc1": onboarding: invalid onboarding status "done" (want one of onboarded, needs-onboarding, onboarding)`,
				`fleet.yaml:7: computer "pc2": unknown key "osversion"`,
				`fleet.yaml:7: computer "pc2": tenant: unknown tenant "nowhere"`,
				`fleet.yaml:11: deployment "d1": desired: invalid desired state "newest" (want one of latest, this-version, newer-or-equal, older-or-equal, any-version, update-if-found, uninstalled, ignored)`,
				`fleet.yaml:11: deployment "d1": target.filter: invalid group filter "laptops" (want one of all, servers, workstations, portable, workstations-and-portable, domain-controllers, primary-domain-controllers)`,
				`fleet.yaml:12: deployment "d2": item: unknown software or task "nothing"`,
				`fleet.yaml:12: deployment "d2": target.computer: target computer needs computer`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := problems(t, tt.src)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadProblemDetails(t *testing.T) {
	t.Run("enum error carries the allowed values", func(t *testing.T) {
		_, err := fleetfile.Load("f.yaml", strings.NewReader(base+"computers:\n  - {id: pc1, tenant: contoso, kind: laptop}\n"))
		var ee *immy.EnumError
		require.ErrorAs(t, err, &ee)
		require.Equal(t, "laptop", ee.Value)
		require.Contains(t, ee.Allowed, "portable")
	})
	t.Run("cycle error carries the path", func(t *testing.T) {
		_, err := fleetfile.Load("f.yaml", strings.NewReader("tenants:\n  - {id: a, parent: b}\n  - {id: b, parent: a}\n"))
		var ce *immy.CycleError
		require.ErrorAs(t, err, &ce)
		require.Equal(t, []string{"a", "b", "a"}, ce.Path)
		require.ErrorIs(t, err, immy.ErrCycle)
	})
	t.Run("unknown reference is not found", func(t *testing.T) {
		_, err := fleetfile.Load("f.yaml", strings.NewReader(base+"persons:\n  - {id: p, tenant: x}\n"))
		require.ErrorIs(t, err, immy.ErrNotFound)
	})
	t.Run("a password never appears in a problem", func(t *testing.T) {
		src := base + `tasks:
  - id: t
    parameters: [{name: pw, type: password}]
deployments:
  - {id: d, item: t, target: {type: all-computers}, mode: enforce, parameters: {pw: [TopSecret-42], other: TopSecret-43}}
`
		_, err := fleetfile.Load("f.yaml", strings.NewReader(src))
		require.Error(t, err)
		require.NotContains(t, err.Error(), "TopSecret")
		require.Contains(t, err.Error(), `parameters.pw: a password parameter takes text`)
	})
	t.Run("alias bomb", func(t *testing.T) {
		// Each list holds twenty aliases of the level below: a few hundred bytes
		// that would read as 20*20*20*20 subjects.
		aliases := func(name string, n int) string {
			return strings.TrimSuffix(strings.Repeat("*"+name+", ", n), ", ")
		}
		src := "tenants: [{id: t}]\nsoftware:\n" +
			"  - &s\n    id: s\n    name: S\n    detection: {display_name: S}\n    versions:\n" +
			"      - &v {version: 1.0.0, prerequisites: [&p {if: installed, then: fail, any_of: &subj [s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s]}, " + aliases("p", 19) + "]}\n" +
			strings.Repeat("      - *v\n", 19) +
			strings.Repeat("  - *s\n", 19)
		require.Less(t, len(src), 1000)
		_, err := fleetfile.Load("f.yaml", strings.NewReader(src))
		require.ErrorContains(t, err, "aliases expand the document beyond any fleet's size; stopped reading")
		var ps immy.Problems
		require.ErrorAs(t, err, &ps)
		require.Len(t, ps, 1)
	})
	t.Run("problems name their file", func(t *testing.T) {
		_, err := fleetfile.Load("site/fleet.yaml", strings.NewReader("tenants: 3\n"))
		require.EqualError(t, err, `site/fleet.yaml:1: tenants: want a list, got "3"`)
	})
	t.Run("missing file", func(t *testing.T) {
		_, err := fleetfile.LoadFile("testdata/no-such-file.yaml")
		require.ErrorContains(t, err, "fleetfile: open testdata/no-such-file.yaml")
	})
}

func TestLoadConverts(t *testing.T) {
	src := `version: 1
at: 2026-11-23T10:00:00Z
tenants:
  - {id: msp, name: MSP}
  - {id: contoso, name: Contoso, parent: msp, tags: [vip]}
persons:
  - {id: john, tenant: contoso, upn: John@Contoso.com}
computers:
  - id: pc1
    tenant: contoso
    kind: portable
    attributes: {site: hq, floor: 3}
    upns: [u1, u2, u3, u4, u5, u6, u7, u8, u9, u10, u11]
    software:
      - {name: Adobe Acrobat Reader DC, version: 23.006.20320}
software:
  - &soft
    id: app
    name: App
    detection: {display_name: "App*"}
    versions: [{version: "14.40"}]
  - {<<: *soft, id: app2, name: App 2}
  - id: other
    name: Other
    detection: {regex: "^Other"}
    prerequisites:
      - {if: not-installed, all_of: [app], then: install, on: [app], version: "14.40"}
tasks:
  - id: cloud
    category: tenant
    parameters:
      - {name: n, type: number, default: 3}
      - {name: kv, type: key-value, default: {a: 1}}
deployments:
  - {id: d1, item: app, target: {type: all-computers}, desired: latest}
  - {id: d2, item: cloud, target: {type: all-tenants}, mode: audit, enabled: false, parameters: {n: 2.5, kv: {b: c}}}
`
	f, err := fleetfile.Load("f.yaml", strings.NewReader(src))
	require.NoError(t, err)

	app := immy.Software{
		ID: "app", Name: "App",
		Detection: immy.Detection{DisplayName: "App*"},
		Versions:  []immy.SoftwareVersion{{Version: immy.MustParseVersion("14.40")}},
	}
	app2 := app
	app2.ID, app2.Name = "app2", "App 2"
	want := &immy.Fleet{
		At: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC),
		Tenants: []immy.Tenant{
			{ID: "msp", Name: "MSP"},
			{ID: "contoso", Name: "Contoso", Parent: "msp", Tags: []string{"vip"}},
		},
		Persons: []immy.Person{{ID: "john", Tenant: "contoso", UPN: "John@Contoso.com"}},
		Computers: []immy.Computer{{
			ID: "pc1", Tenant: "contoso", Kind: immy.KindPortable,
			Attributes: map[string]string{"site": "hq", "floor": "3"},
			UPNs:       []string{"u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8", "u9", "u10"},
			Software:   []immy.DetectedSoftware{{Name: "Adobe Acrobat Reader DC", Version: immy.MustParseVersion("23.006.20320")}},
		}},
		Software: []immy.Software{app, app2, {
			ID: "other", Name: "Other",
			Detection: immy.Detection{Regex: "^Other"},
			Prerequisites: []immy.Prerequisite{{
				Condition: immy.ConditionNotInstalled, Quantifier: immy.QuantifierAllOf, Subjects: []string{"app"},
				Then: immy.PrereqInstall, On: []string{"app"}, Version: immy.MustParseVersion("14.40"),
			}},
		}},
		Tasks: []immy.Task{{
			ID: "cloud", Category: immy.TaskTenant,
			Parameters: []immy.Parameter{
				{Name: "n", Type: immy.ParamNumber, Default: 3.0},
				{Name: "kv", Type: immy.ParamKeyValue, Default: map[string]string{"a": "1"}},
			},
		}},
		Deployments: []immy.Deployment{
			{ID: "d1", Item: "app", Target: immy.Target{Type: immy.TargetAllComputers}, Desired: immy.DesiredLatest},
			{
				ID: "d2", Item: "cloud", Target: immy.Target{Category: immy.CategoryTenant, Type: immy.TargetAllTenants},
				Mode: immy.ModeAudit, Disabled: true,
				Parameters: map[string]any{"n": 2.5, "kv": map[string]string{"b": "c"}},
			},
		},
	}
	if diff := cmp.Diff(want, f.Fleet, versionCmp); diff != "" {
		t.Errorf("fleet (-want +got):\n%s", diff)
	}
	// The version keeps its text: 14.40 is not the number 14.4.
	require.Equal(t, "14.40", f.Fleet.Software[0].Versions[0].Version.String())
}

func TestLoadVersionDefaults(t *testing.T) {
	f, err := fleetfile.Load("f.yaml", strings.NewReader("tenants: [{id: t}]\n"))
	require.NoError(t, err)
	require.True(t, f.Fleet.At.IsZero(), "no at means now, which is the zero time")
	require.Len(t, f.Fleet.Tenants, 1)
}

func TestLoadChecks(t *testing.T) {
	seen := 0
	cfg := fleetfile.Config{Checks: []fleetfile.Check{func(f *fleetfile.File) immy.Problems {
		seen++
		return immy.Problems{{Section: "software", Index: 1, ID: "b", Field: "prerequisites[0]", Message: "prerequisite cycle: a -> b -> a", Err: immy.ErrCycle}}
	}}}
	src := `tenants: [{id: t}]
software:
  - {id: a, name: A, detection: {display_name: A}}
  - id: b
    name: B
    detection: {display_name: B}
    prerequisites:
      - {if: installed, any_of: [a], then: fail}
computers:
  - {id: pc1, tenant: nowhere}
`
	_, err := cfg.Load("f.yaml", strings.NewReader(src))
	require.Equal(t, 1, seen)
	require.EqualError(t, err, `f.yaml:8: software "b": prerequisites[0]: prerequisite cycle: a -> b -> a
f.yaml:10: computer "pc1": tenant: unknown tenant "nowhere"`)
	require.ErrorIs(t, err, immy.ErrCycle)

	// A fleet whose values do not all parse is checked too, in the same pass:
	// the typo does not hide the cycle.
	_, err = cfg.Load("f.yaml", strings.NewReader(src+"  - {id: pc2, tenant: t, kind: tower}\n"))
	require.Equal(t, 2, seen)
	require.EqualError(t, err, `f.yaml:8: software "b": prerequisites[0]: prerequisite cycle: a -> b -> a
f.yaml:10: computer "pc1": tenant: unknown tenant "nowhere"
f.yaml:11: computer "pc2": kind: invalid computer kind "tower" (want one of unknown, workstation, portable, server, domain-controller, primary-domain-controller)`)

	// YAML that cannot be read is not handed to the checks: there is no fleet.
	_, err = cfg.Load("f.yaml", strings.NewReader(src+"  - {id: pc3\n"))
	require.Error(t, err)
	require.Equal(t, 2, seen)
}

// TestLoadChecksEchoes: a check's problem at a field that failed to parse, or
// inside a value of the wrong shape, is the echo of the first and left out;
// one elsewhere in the same entity is kept.
func TestLoadChecksEchoes(t *testing.T) {
	cfg := fleetfile.Config{Checks: []fleetfile.Check{func(f *fleetfile.File) immy.Problems {
		var ps immy.Problems
		for i, d := range f.Fleet.Deployments {
			for _, field := range []string{"desired", "target.expr", "target"} {
				ps = append(ps, immy.Problem{Section: "deployments", Index: i, ID: d.ID, Field: field, Message: "checked " + field, Err: immy.ErrInvalid})
			}
		}
		return ps
	}}}
	src := `tenants: [{id: t}]
software: [{id: s, name: S, detection: {display_name: S}}]
deployments:
  - id: d1
    item: s
    desired: newest
    target: {type: filter, expr: [not, text]}
  - id: d2
    item: s
    desired: latest
    target: all
`
	_, err := cfg.Load("f.yaml", strings.NewReader(src))
	require.EqualError(t, err, `f.yaml:6: deployment "d1": desired: invalid desired state "newest" (want one of latest, this-version, newer-or-equal, older-or-equal, any-version, update-if-found, uninstalled, ignored)
f.yaml:7: deployment "d1": target: checked target
f.yaml:7: deployment "d1": target.expr: want text, got a list
f.yaml:10: deployment "d2": desired: checked desired
f.yaml:11: deployment "d2": target: want a mapping, got "all"`)
}

func TestLocate(t *testing.T) {
	src := `version: 1
tenants:
  - id: t
computers:
  - id: pc1
    tenant: t
    software:
      - name: A
        version: 1.0.0
  - id: pc2
    tenant: t
software:
  - id: s
    name: S
    detection: {display_name: S}
    versions:
      - {version: 1.0.0}
      - version: 2.0.0
        prerequisites:
          - {if: installed, any_of: [s], then: fail}
deployments:
  - id: d
    item: s
    target:
      type: all-computers
    desired: latest
`
	f, err := fleetfile.Load("f.yaml", strings.NewReader(src))
	require.NoError(t, err)
	tests := []struct {
		p    immy.Problem
		line int
	}{
		{immy.Problem{Section: "computers", Index: 0, Field: "software[0].version"}, 9},
		{immy.Problem{Section: "computers", Index: 1, Field: "tenant"}, 11},
		{immy.Problem{Section: "computers", Index: 1, Field: "kind"}, 10},              // absent field: the entity
		{immy.Problem{Section: "computers", Index: 0, ID: "pc2", Field: "tenant"}, 11}, // the id wins over a wrong index
		{immy.Problem{Section: "software", Index: 0, Field: "versions[1].prerequisites[0].then"}, 20},
		{immy.Problem{Section: "software", Index: 0, Field: "versions[7].version"}, 16}, // out of range: the list
		{immy.Problem{Section: "deployments", Index: 0, Field: "target.type"}, 25},
		{immy.Problem{Section: "groups", Index: 0}, 0}, // no such section
		{immy.Problem{Field: "version"}, 1},
		{immy.Problem{Section: "tenants", Index: 3}, 2}, // no such entity: the section
	}
	for _, tt := range tests {
		got := f.Locate(tt.p)
		require.Equal(t, "f.yaml", got.File)
		require.Equal(t, tt.line, got.Line, "%+v", tt.p)
	}
	// A problem already located, or of another file, is left alone.
	require.Equal(t, 99, f.Locate(immy.Problem{Line: 99}).Line)
	require.Equal(t, immy.Problem{File: "other.yaml", Section: "computers"}, f.Locate(immy.Problem{File: "other.yaml", Section: "computers"}))
}

func TestEveryProblemHasALine(t *testing.T) {
	// Problems of Validate are located even where the field is absent from the file.
	_, err := fleetfile.Load("f.yaml", strings.NewReader(`groups:
  - id: g
    members: [x]
deployments:
  - id: d
`))
	var ps immy.Problems
	require.ErrorAs(t, err, &ps)
	for _, p := range ps {
		require.Positive(t, p.Line, "%v", p)
		require.Equal(t, "f.yaml", p.File)
	}
	require.True(t, errors.Is(err, immy.ErrInvalid))
}

func TestParseTime(t *testing.T) {
	paris := time.FixedZone("", 3600)
	tests := []struct {
		in   string
		want time.Time
		err  bool
	}{
		{"2026-11-23T10:00:00Z", time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC), false},
		{"2026-11-23T11:00:00+01:00", time.Date(2026, 11, 23, 11, 0, 0, 0, paris), false},
		{"2026-11-23T10:00:00.5Z", time.Date(2026, 11, 23, 10, 0, 0, 5e8, time.UTC), false},
		{"2026-12-07", time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC), false},
		{"2026-12-7", time.Time{}, true},
		{"07/12/2026", time.Time{}, true},
		{"2026-11-23 10:00", time.Time{}, true},
		{"yesterday", time.Time{}, true},
		{"", time.Time{}, true},
	}
	for _, tt := range tests {
		got, err := fleetfile.ParseTime(tt.in)
		if tt.err {
			require.Error(t, err, tt.in)
			require.Contains(t, err.Error(), "want RFC 3339")
			continue
		}
		require.NoError(t, err, tt.in)
		require.True(t, tt.want.Equal(got), "%s: got %v, want %v", tt.in, got, tt.want)
	}
	// The file's at reads the same forms.
	f, err := fleetfile.Load("f.yaml", strings.NewReader("at: 2026-12-07\n"))
	require.NoError(t, err)
	require.Equal(t, time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC), f.Fleet.At)
}
