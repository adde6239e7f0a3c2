package immytest_test

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/immytest"
)

var versionText = cmp.Comparer(func(a, b immy.Version) bool { return a.String() == b.String() })

// requireSame fails unless a and b are deeply equal, showing how they differ.
// reflect.DeepEqual decides (cmp.Diff is slow on thousands of computers);
// cmp.Diff explains.
func requireSame(t *testing.T, what string, a, b any) {
	t.Helper()
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("%s differ (-first +second):\n%s", what, cmp.Diff(a, b, versionText))
	}
}

func TestGenerateDeterministic(t *testing.T) {
	cfg := immytest.FleetScale(2000)
	a, b := immytest.Generate(cfg), immytest.Generate(cfg)
	requireSame(t, "fleets of the same config", a, b)

	cfg.Seed++
	c := immytest.Generate(cfg)
	require.False(t, reflect.DeepEqual(a.Computers, c.Computers), "another seed gave the same computers")
	require.False(t, reflect.DeepEqual(a.Deployments, c.Deployments), "another seed gave the same deployments")
}

// Each section has its own random stream: more deployments leave the rest alone.
func TestGenerateSectionsIndependent(t *testing.T) {
	cfg := immytest.GenConfig{Seed: 7, Computers: 300}
	a := immytest.Generate(cfg)
	cfg.Deployments = 999
	cfg.Schedules = 9
	b := immytest.Generate(cfg)
	require.Len(t, b.Deployments, 999)
	for name, sections := range map[string][2]any{
		"tenants":    {a.Tenants, b.Tenants},
		"persons":    {a.Persons, b.Persons},
		"computers":  {a.Computers, b.Computers},
		"groups":     {a.Groups, b.Groups},
		"agreements": {a.Agreements, b.Agreements},
		"software":   {a.Software, b.Software},
		"tasks":      {a.Tasks, b.Tasks},
	} {
		requireSame(t, name+" with more deployments", sections[0], sections[1])
	}
	// The first deployments are the same: each deployment is drawn in turn.
	requireSame(t, "the first deployments", a.Deployments, b.Deployments[:len(a.Deployments)])
}

func TestGenerateValid(t *testing.T) {
	tests := map[string]immytest.GenConfig{
		"defaults":             {},
		"seed 2":               {Seed: 2},
		"seed -3":              {Seed: -3},
		"one of each":          {Tenants: 1, Computers: 1, Persons: 1, Groups: 1, Agreements: 1, Software: 1, Tasks: 1, Deployments: 1, Schedules: 1},
		"nothing but a tenant": {Tenants: -1, Computers: -1, Persons: -1, Groups: -1, Agreements: -1, Software: -1, Tasks: -1, Deployments: -1, Schedules: -1, PrereqDepth: -1},
		"no computers":         {Computers: -1, Persons: 50},
		"no persons":           {Persons: -1},
		"no software":          {Software: -1},
		"no tasks":             {Tasks: -1},
		"no prerequisites":     {PrereqDepth: -1, Software: 100},
		"deep prerequisites":   {PrereqDepth: 8, Software: 300},
		"many tenants":         {Tenants: 500, Computers: 300},
		"only lua filters":     {Mix: immytest.TargetMix{Lua: 1}},
		"only individual":      {Mix: immytest.TargetMix{Computer: 1, Person: 1}},
		"only groups":          {Mix: immytest.TargetMix{Group: 1}, Groups: 3},
		"synthetic catalogue":  {Software: 200, Tasks: 40},
		"fleet scale 5000":     immytest.FleetScale(5000),
	}
	for name, cfg := range tests {
		t.Run(name, func(t *testing.T) {
			f := immytest.Generate(cfg)
			require.NoError(t, f.Validate())
		})
	}
}

func TestGenerateDefaults(t *testing.T) {
	f := immytest.Generate(immytest.GenConfig{})
	got := map[string]int{
		"tenants": len(f.Tenants), "computers": len(f.Computers), "persons": len(f.Persons),
		"groups": len(f.Groups), "agreements": len(f.Agreements), "software": len(f.Software),
		"tasks": len(f.Tasks), "deployments": len(f.Deployments), "schedules": len(f.Schedules),
	}
	want := map[string]int{
		"tenants": 20, "computers": 1000, "persons": 250, "groups": 40, "agreements": 20,
		"software": 40, "tasks": 8, "deployments": 144, "schedules": 3,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("default counts (-want +got):\n%s", diff)
	}
	require.Equal(t, "2026-11-23T10:00:00Z", f.At.Format("2006-01-02T15:04:05Z07:00"))
	require.Equal(t, "msp", f.Tenants[0].ID)

	none := immytest.Generate(immytest.GenConfig{Tenants: -1, Computers: -1, Persons: -1, Groups: -1,
		Agreements: -1, Software: -1, Tasks: -1, Deployments: -1, Schedules: -1})
	require.Len(t, none.Tenants, 1, "a fleet keeps the MSP's own tenant")
	require.Empty(t, none.Computers)
	require.Empty(t, none.Persons)
	require.Empty(t, none.Groups)
	require.Empty(t, none.Software)
	require.Empty(t, none.Deployments)
}

func TestFleetScale(t *testing.T) {
	got := immytest.FleetScale(100_000)
	want := immytest.GenConfig{
		Seed: 1, Tenants: 2000, Computers: 100_000, Persons: 20_000, Groups: 2000, Agreements: 2000,
		Software: 475, Tasks: 25, Deployments: 5000, Schedules: 5, PrereqDepth: 4,
	}
	if diff := cmp.Diff(want, immytest.FleetScaleUniform(100_000)); diff != "" {
		t.Errorf("FleetScaleUniform(100_000) (-want +got):\n%s", diff)
	}
	want.Mix, want.Filters = immytest.FilteredMix, immytest.FiltersDistinct
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("FleetScale(100_000) (-want +got):\n%s", diff)
	}
	small := immytest.FleetScale(10)
	require.Equal(t, 10, small.Computers)
	require.GreaterOrEqual(t, small.Tenants, 2)
	require.Positive(t, small.Software)
	require.Positive(t, small.Tasks)
}

func TestGenerateCounts(t *testing.T) {
	cfg := immytest.GenConfig{Seed: 4, Tenants: 33, Computers: 777, Persons: 123, Groups: 21,
		Agreements: 17, Software: 61, Tasks: 13, Deployments: 222, Schedules: 4}
	f := immytest.Generate(cfg)
	got := []int{len(f.Tenants), len(f.Computers), len(f.Persons), len(f.Groups), len(f.Agreements),
		len(f.Software), len(f.Tasks), len(f.Deployments), len(f.Schedules)}
	want := []int{33, 777, 123, 21, 17, 61, 13, 222, 4}
	require.Equal(t, want, got)
}

// TestGenerateShape checks that a generated fleet looks like an MSP's, as
// Generate's documentation says.
func TestGenerateShape(t *testing.T) {
	cfg := immytest.FleetScale(20_000)
	f := immytest.Generate(cfg)

	tenantIndex := map[string]int{}
	for i, tn := range f.Tenants {
		tenantIndex[tn.ID] = i
	}
	t.Run("tenants", func(t *testing.T) {
		children, tagged, excluded := 0, 0, 0
		depth := make([]int, len(f.Tenants))
		for i, tn := range f.Tenants {
			if tn.Parent != "" {
				p, ok := tenantIndex[tn.Parent]
				require.True(t, ok && p < i, "tenant %s: parent %s must come before it", tn.ID, tn.Parent)
				depth[i] = depth[p] + 1
				require.LessOrEqual(t, depth[i], 2, "tenant %s is too deep", tn.ID)
				children++
			}
			if len(tn.Tags) > 0 {
				tagged++
			}
			if tn.ExcludeFromCrossTenant {
				excluded++
			}
		}
		n := len(f.Tenants)
		requireShare(t, "tenants with a parent", children, n, 0.05, 0.25)
		requireShare(t, "tagged tenants", tagged, n, 0.15, 0.45)
		requireShare(t, "tenants excluded from cross tenant", excluded, n, 0.005, 0.08)
	})

	t.Run("computers", func(t *testing.T) {
		kinds := map[immy.ComputerKind]int{}
		oses := map[string]int{}
		canary, online := 0, 0
		// Tenants' sizes vary: the biggest tenant holds many more computers than the median.
		perTenant := make([]int, len(f.Tenants))
		upnsOf := map[string]string{} // lower-case UPN -> tenant
		for _, p := range f.Persons {
			upnsOf[strings.ToLower(p.UPN)] = p.Tenant
		}
		withUPNs := 0
		for _, c := range f.Computers {
			kinds[c.Kind]++
			oses[c.OS]++
			perTenant[tenantIndex[c.Tenant]]++
			if slices.Contains(c.Tags, "canary") {
				canary++
			}
			if c.Online {
				online++
			}
			// Plain checks: require's reflection is slow over thousands of computers.
			switch c.Attributes["site"] {
			case "hq", "branch", "remote", "datacenter":
			default:
				t.Fatalf("computer %s: site %q", c.ID, c.Attributes["site"])
			}
			if len(c.UPNs) > immy.MaxUPNs {
				t.Fatalf("computer %s has %d UPNs", c.ID, len(c.UPNs))
			}
			if len(c.UPNs) > 0 {
				withUPNs++
			}
			for _, u := range c.UPNs {
				if upnsOf[strings.ToLower(u)] != c.Tenant {
					t.Fatalf("computer %s: UPN %s is not a person of its tenant", c.ID, u)
				}
			}
			if len(c.Pathways) == 0 || len(c.UUID) != 36 || len(c.Software) == 0 {
				t.Fatalf("computer %s lacks pathways, UUID or software: %+v", c.ID, c)
			}
			for _, s := range c.Software {
				if s.Name == "" || s.Version.IsZero() {
					t.Fatalf("computer %s: detected software %+v lacks a name or version", c.ID, s)
				}
			}
		}
		n := len(f.Computers)
		requireShare(t, "workstations and portables", kinds[immy.KindWorkstation]+kinds[immy.KindPortable], n, 0.85, 0.95)
		requireShare(t, "servers", kinds[immy.KindServer], n, 0.04, 0.12)
		requireShare(t, "domain controllers", kinds[immy.KindDomainController]+kinds[immy.KindPrimaryDomainController], n, 0.005, 0.05)
		requireShare(t, "canary computers", canary, n, 0.02, 0.10)
		requireShare(t, "online computers", online, n, 0.75, 0.95)
		requireShare(t, "computers with UPNs", withUPNs, n, 0.7, 1)
		for _, os := range []string{"Windows 11 Pro", "Windows 10 Pro", "Windows Server 2022 Standard"} {
			require.Positive(t, oses[os], "no computer runs %s", os)
		}
		sorted := slices.Sorted(slices.Values(perTenant))
		require.Greater(t, sorted[len(sorted)-1], 4*sorted[len(sorted)/2], "tenant sizes do not vary")
	})

	t.Run("persons", func(t *testing.T) {
		seen := map[string]bool{}
		for _, p := range f.Persons {
			u := strings.ToLower(p.UPN)
			require.False(t, seen[u], "UPN %s is not unique", p.UPN)
			seen[u] = true
			require.Contains(t, p.UPN, "@")
		}
	})

	t.Run("groups", func(t *testing.T) {
		index := map[string]int{}
		kinds := map[immy.GroupKind]int{}
		nested, cross := 0, 0
		personTenant := map[string]string{}
		for _, p := range f.Persons {
			personTenant[p.ID] = p.Tenant
		}
		computerTenant := map[string]string{}
		for _, c := range f.Computers {
			computerTenant[c.ID] = c.Tenant
		}
		for i, g := range f.Groups {
			index[g.ID] = i
			kinds[g.Kind]++
			if g.Tenant == "" {
				cross++
			}
			require.NotEmpty(t, g.Members, "group %s", g.ID)
			for _, m := range g.Members {
				if g.Tenant == "" {
					continue
				}
				tn, ok := personTenant[m]
				if !ok {
					tn = computerTenant[m]
				}
				require.Equal(t, g.Tenant, tn, "group %s: member %s of another tenant", g.ID, m)
			}
			for _, sub := range g.Groups {
				j, ok := index[sub]
				require.True(t, ok, "group %s nests %s, which does not come before it", g.ID, sub)
				require.Equal(t, g.Kind, f.Groups[j].Kind)
				require.Equal(t, g.Tenant, f.Groups[j].Tenant)
				nested++
			}
		}
		require.Positive(t, kinds[immy.GroupPersons])
		require.Positive(t, kinds[immy.GroupComputers])
		require.Positive(t, nested, "no nested group")
		require.Positive(t, cross, "no cross-tenant group")
	})

	t.Run("agreements", func(t *testing.T) {
		today := immy.DateOf(f.At)
		active := 0
		for _, a := range f.Agreements {
			if a.ActiveOn(today) {
				active++
			}
		}
		requireShare(t, "active agreements", active, len(f.Agreements), 0.6, 0.85)
	})

	t.Run("software", func(t *testing.T) {
		index := map[string]int{}
		depth := make([]int, len(f.Software))
		private, withPrereqs, versionPrereqs := 0, 0, 0
		privateIDs := map[string]bool{}
		for i, s := range f.Software {
			index[s.ID] = i
			if s.Tenant != "" {
				private++
				privateIDs[s.ID] = true
			}
			require.True(t, slices.IsSortedFunc(s.Versions, func(a, b immy.SoftwareVersion) int {
				return b.Version.Compare(a.Version)
			}), "software %s: versions are not newest first", s.ID)
			var refs []string
			for _, p := range s.Prerequisites {
				refs = append(append(refs, p.Subjects...), p.On...)
			}
			if len(s.Prerequisites) > 0 {
				withPrereqs++
			}
			for _, v := range s.Versions {
				for _, p := range v.Prerequisites {
					versionPrereqs++
					refs = append(append(refs, p.Subjects...), p.On...)
				}
			}
			for _, r := range refs {
				j, ok := index[r]
				require.True(t, ok, "software %s: prerequisite %s does not come before it", s.ID, r)
				require.False(t, privateIDs[r], "software %s: prerequisite %s is private", s.ID, r)
				depth[i] = max(depth[i], depth[j]+1)
			}
		}
		require.Equal(t, cfg.PrereqDepth, slices.Max(depth), "the longest prerequisite chain")
		requireShare(t, "software with prerequisites", withPrereqs, len(f.Software), 0.2, 0.6)
		require.Positive(t, versionPrereqs, "no version prerequisite")
		require.Positive(t, private, "no private software")
		require.Equal(t, "vcredist", f.Software[0].ID)
	})

	t.Run("detection", func(t *testing.T) {
		// Every detected entry is found by exactly one software of the
		// catalogue, or by none (software the catalogue does not know).
		match := make([]func(immy.DetectedSoftware) bool, len(f.Software))
		for i, s := range f.Software {
			switch d := s.Detection; {
			case d.UpgradeCode != "":
				match[i] = func(e immy.DetectedSoftware) bool { return e.UpgradeCode == d.UpgradeCode }
			case d.Regex != "":
				re := regexp.MustCompile(d.Regex)
				match[i] = func(e immy.DetectedSoftware) bool { return re.MatchString(e.Name) }
			default:
				prefix, wild := strings.CutSuffix(d.DisplayName, "*")
				require.NotContains(t, prefix, "*", "software %s: a glob the test does not know", s.ID)
				match[i] = func(e immy.DetectedSoftware) bool {
					return e.Name == prefix || wild && strings.HasPrefix(e.Name, prefix)
				}
			}
		}
		found := make([]int, len(f.Software))
		unknown := map[string]bool{}
		for _, c := range f.Computers[:3000] {
			for _, e := range c.Software {
				n := 0
				for i, m := range match {
					if m(e) {
						n++
						found[i]++
					}
				}
				if n > 1 {
					t.Fatalf("computer %s: %q is found by %d software", c.ID, e.Name, n)
				}
				if n == 0 {
					unknown[e.Name] = true
				}
			}
		}
		require.LessOrEqual(t, len(unknown), 10, "software the catalogue does not know: %v", unknown)
		missed := 0
		for _, n := range found {
			if n == 0 {
				missed++
			}
		}
		requireShare(t, "software never detected", missed, len(found), 0, 0.2)
	})

	t.Run("deployments", func(t *testing.T) {
		targets := map[string]int{}
		desired := map[immy.DesiredState]int{}
		modes := map[immy.TaskMode]int{}
		disabled, prioritised := 0, 0
		for _, d := range f.Deployments {
			key := d.Target.Type.String()
			switch {
			case d.Target.Type == immy.TargetFilter && d.Target.Lua != "":
				key = "lua"
			case d.Target.Type == immy.TargetFilter:
				key = "expr"
			}
			if d.Target.Scope() == immy.ScopeSingleTenant && d.Target.Type != immy.TargetTenant {
				key += " in a tenant"
			}
			targets[key]++
			desired[d.Desired]++
			modes[d.Mode]++
			if d.Disabled {
				disabled++
			}
			if d.Priority != 0 {
				prioritised++
			}
		}
		for _, k := range []string{
			"all-computers", "all-computers in a tenant", "computer", "person", "tag", "tag in a tenant",
			"group", "group in a tenant", "expr", "expr in a tenant", "lua", "client-group", "device-group",
			"all-tenants", "tenant", "tenant-tag",
		} {
			require.Positive(t, targets[k], "no deployment targets %s (have %v)", k, targets)
		}
		for _, ds := range []immy.DesiredState{immy.DesiredLatest, immy.DesiredThisVersion, immy.DesiredNewerOrEqual,
			immy.DesiredOlderOrEqual, immy.DesiredAnyVersion, immy.DesiredUpdateIfFound, immy.DesiredUninstalled, immy.DesiredIgnored} {
			require.Positive(t, desired[ds], "no deployment desires %s", ds)
		}
		for _, m := range []immy.TaskMode{immy.ModeEnforce, immy.ModeAudit, immy.ModeMonitor} {
			require.Positive(t, modes[m], "no deployment in mode %s", m)
		}
		n := len(f.Deployments)
		requireShare(t, "all computers of a tenant", targets["all-computers in a tenant"], n, 0.2, 0.5)
		requireShare(t, "disabled deployments", disabled, n, 0.01, 0.08)
		requireShare(t, "deployments with a priority", prioritised, n, 0.15, 0.35)
	})
}

func requireShare(t *testing.T, what string, n, total int, lo, hi float64) {
	t.Helper()
	share := float64(n) / float64(total)
	require.True(t, share >= lo && share <= hi, "%s: %d of %d (%.3f), want between %.3f and %.3f", what, n, total, share, lo, hi)
}

// BenchmarkGenerate generates the fleet of the engine's benchmarks.
func BenchmarkGenerate(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("computers=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			cfg := immytest.FleetScale(n)
			for b.Loop() {
				immytest.Generate(cfg)
			}
		})
	}
}
