package immytest_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/immytest"
)

func TestBuilder(t *testing.T) {
	got := immytest.NewFleet().
		At("2026-11-23T10:00:00Z").
		Tenant("msp", immytest.Name("Example MSP")).
		Tenant("contoso", immytest.Parent("msp"), immytest.Tags("vip"), immytest.ExcludeFromCrossTenant()).
		Person("john", "contoso", "john@contoso.com", immytest.Tags("remote")).
		Computer("pc1", "contoso", immy.KindPortable,
			immytest.OS("Windows 11 Pro"), immytest.Tags("canary"), immytest.Attr("site", "hq"),
			immytest.UPNs("john@contoso.com"), immytest.Installed("Google Chrome", "118.0"),
			immytest.Installed("Notepad", ""), immytest.DeviceGroups("rmm-laptops"),
			immytest.TaskResult("bitlocker", false), immytest.Identity("4C4C4544-0042", "5Q3VXJ3", "Dell Inc.")).
		Computer("srv1", "contoso", immy.KindServer, immytest.Offline(), immytest.ExcludedFromMaintenance(),
			immytest.Onboarding(immy.NeedsOnboarding)).
		Group("sales", "contoso", immy.GroupPersons, immytest.Members("john")).
		Group("staff", "contoso", immy.GroupPersons, immytest.Nested("sales"), immytest.Name("All staff")).
		Agreement("ag1", "contoso", "managed-security", "2026-01-01", "").
		Software("vcredist", immytest.DetectRegex(`^Microsoft Visual C\+\+`), immytest.Versions("14.40.33810.0")).
		Software("chrome", immytest.Name("Google Chrome"), immytest.Global(), immytest.Versions("119.0", "118.0"),
			immytest.Requires("vcredist"), immytest.Upgrade(immy.UpgradeInstallOver),
			immytest.ConfigTask("bitlocker"), immytest.Ordered(immy.OrderEnd, 2),
			immytest.VersionPrereq("119.0", immy.Prerequisite{Condition: immy.ConditionInstalled, Subjects: []string{"vcredist"}, Then: immy.PrereqFail})).
		Software("lob", immytest.Owner("contoso"), immytest.Detect("LOB*"), immytest.Versions("1.0"),
			immytest.Removes("chrome"), immytest.ConflictsWith("vcredist")).
		Task("bitlocker", immytest.Param(immy.Parameter{Name: "escrow", Type: immy.ParamBoolean, Default: true}), immytest.Serially()).
		Task("report", immytest.Cloud(), immytest.OnboardingTask()).
		Deploy("d1", "chrome", immytest.OnAllComputers(), immytest.Filter(immy.FilterWorkstationsAndPortable), immytest.Recommended()).
		Deploy("d2", "chrome", immytest.OnTenantComputers("contoso"), immytest.DesiredVersion(immy.DesiredThisVersion, "118.0"), immytest.Priority(5), immytest.Propagate()).
		Deploy("d3", "bitlocker", immytest.OnComputer("pc1"), immytest.Value("escrow", false), immytest.Enforce(immy.EnforcementOptional), immytest.ApprovedFor("pc1")).
		Deploy("d4", "report", immytest.OnAllTenants(), immytest.Mode(immy.ModeMonitor), immytest.Disabled()).
		Deploy("d5", "lob", immytest.OnTag("canary"), immytest.InTenant("contoso"), immytest.Desired(immy.DesiredUninstalled)).
		Deploy("d6", "nothing", immytest.OnPerson("john")).
		Schedule(immy.Schedule{ID: "nightly", Cron: "0 2 * * *"}).
		Build()

	notInstalled := immy.Prerequisite{Condition: immy.ConditionNotInstalled, Quantifier: immy.QuantifierAnyOf,
		Subjects: []string{"vcredist"}, Then: immy.PrereqInstall, On: []string{"vcredist"}}
	want := &immy.Fleet{
		At: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC),
		Tenants: []immy.Tenant{
			{ID: "msp", Name: "Example MSP"},
			{ID: "contoso", Name: "contoso", Parent: "msp", Tags: []string{"vip"}, ExcludeFromCrossTenant: true},
		},
		Persons: []immy.Person{{ID: "john", Tenant: "contoso", Name: "john", UPN: "john@contoso.com", Tags: []string{"remote"}}},
		Computers: []immy.Computer{
			{
				ID: "pc1", Tenant: "contoso", Name: "PC1", Kind: immy.KindPortable, Online: true,
				UUID: "4C4C4544-0042", Serial: "5Q3VXJ3", Manufacturer: "Dell Inc.",
				OS: "Windows 11 Pro", Tags: []string{"canary"}, Attributes: map[string]string{"site": "hq"},
				UPNs: []string{"john@contoso.com"},
				Software: []immy.DetectedSoftware{
					{Name: "Google Chrome", Version: immy.MustParseVersion("118.0")},
					{Name: "Notepad"},
				},
				DeviceGroups: []string{"rmm-laptops"},
				Tasks:        map[string]bool{"bitlocker": false},
			},
			{ID: "srv1", Tenant: "contoso", Name: "SRV1", Kind: immy.KindServer, ExcludedFromMaintenance: true, Onboarding: immy.NeedsOnboarding},
		},
		Groups: []immy.Group{
			{ID: "sales", Tenant: "contoso", Name: "sales", Kind: immy.GroupPersons, Members: []string{"john"}},
			{ID: "staff", Tenant: "contoso", Name: "All staff", Kind: immy.GroupPersons, Groups: []string{"sales"}},
		},
		Agreements: []immy.Agreement{{ID: "ag1", Tenant: "contoso", ClientGroup: "managed-security", From: immy.Date{Year: 2026, Month: 1, Day: 1}}},
		Software: []immy.Software{
			{ID: "vcredist", Name: "vcredist", Detection: immy.Detection{Regex: `^Microsoft Visual C\+\+`},
				Versions: []immy.SoftwareVersion{{Version: immy.MustParseVersion("14.40.33810.0")}}},
			{ID: "chrome", Name: "Google Chrome", Origin: immy.OriginGlobal, Detection: immy.Detection{DisplayName: "Google Chrome"},
				Versions: []immy.SoftwareVersion{
					{Version: immy.MustParseVersion("119.0"), Prerequisites: []immy.Prerequisite{{Condition: immy.ConditionInstalled, Subjects: []string{"vcredist"}, Then: immy.PrereqFail}}},
					{Version: immy.MustParseVersion("118.0")},
				},
				Prerequisites:     []immy.Prerequisite{notInstalled},
				UpgradeStrategy:   immy.UpgradeInstallOver,
				ConfigurationTask: "bitlocker",
				Order:             immy.Order{Location: immy.OrderEnd, Position: 2},
			},
			{ID: "lob", Name: "lob", Tenant: "contoso", Detection: immy.Detection{DisplayName: "LOB*"},
				Versions: []immy.SoftwareVersion{{Version: immy.MustParseVersion("1.0")}},
				Prerequisites: []immy.Prerequisite{
					{Condition: immy.ConditionInstalled, Quantifier: immy.QuantifierAnyOf, Subjects: []string{"chrome"}, Then: immy.PrereqUninstall, On: []string{"chrome"}},
					{Condition: immy.ConditionInstalled, Quantifier: immy.QuantifierAnyOf, Subjects: []string{"vcredist"}, Then: immy.PrereqFail},
				}},
		},
		Tasks: []immy.Task{
			{ID: "bitlocker", Name: "bitlocker", ExecuteSerially: true, Parameters: []immy.Parameter{{Name: "escrow", Type: immy.ParamBoolean, Default: true}}},
			{ID: "report", Name: "report", Category: immy.TaskTenant, OnboardingOnly: true},
		},
		Deployments: []immy.Deployment{
			{ID: "d1", Item: "chrome", Target: immy.Target{Type: immy.TargetAllComputers, Filter: immy.FilterWorkstationsAndPortable},
				Desired: immy.DesiredLatest, Recommended: true},
			{ID: "d2", Item: "chrome", Target: immy.Target{Type: immy.TargetAllComputers, Tenant: "contoso", PropagateToChildren: true},
				Desired: immy.DesiredThisVersion, Version: immy.MustParseVersion("118.0"), Priority: 5},
			{ID: "d3", Item: "bitlocker", Target: immy.Target{Type: immy.TargetComputer, Computer: "pc1"}, Mode: immy.ModeEnforce,
				Enforcement: immy.EnforcementOptional, Parameters: map[string]any{"escrow": false}, ApprovedFor: []string{"pc1"}},
			{ID: "d4", Item: "report", Target: immy.Target{Category: immy.CategoryTenant, Type: immy.TargetAllTenants}, Mode: immy.ModeMonitor, Disabled: true},
			{ID: "d5", Item: "lob", Target: immy.Target{Type: immy.TargetTag, Tag: "canary", Tenant: "contoso"}, Desired: immy.DesiredUninstalled},
			// An unknown item gets no default: Validate reports it.
			{ID: "d6", Item: "nothing", Target: immy.Target{Type: immy.TargetPerson, Person: "john"}},
		},
		Schedules: []immy.Schedule{{ID: "nightly", Cron: "0 2 * * *"}},
	}
	if diff := cmp.Diff(want, got, versionText); diff != "" {
		t.Errorf("Build() mismatch (-want +got):\n%s", diff)
	}
}

func TestBuilderTargets(t *testing.T) {
	tests := []struct {
		got, want immy.Target
	}{
		{immytest.OnAllComputers(), immy.Target{Type: immy.TargetAllComputers}},
		{immytest.OnTenantComputers("c"), immy.Target{Type: immy.TargetAllComputers, Tenant: "c"}},
		{immytest.OnComputer("pc"), immy.Target{Type: immy.TargetComputer, Computer: "pc"}},
		{immytest.OnPerson("p"), immy.Target{Type: immy.TargetPerson, Person: "p"}},
		{immytest.OnTag("canary"), immy.Target{Type: immy.TargetTag, Tag: "canary"}},
		{immytest.OnGroup("g"), immy.Target{Type: immy.TargetGroup, Group: "g"}},
		{immytest.OnExpr(`computer.online`), immy.Target{Type: immy.TargetFilter, Expr: `computer.online`}},
		{immytest.OnLua(`return true`), immy.Target{Type: immy.TargetFilter, Lua: `return true`}},
		{immytest.OnClientGroup("cg"), immy.Target{Type: immy.TargetClientGroup, ClientGroup: "cg"}},
		{immytest.OnDeviceGroup("dg"), immy.Target{Type: immy.TargetDeviceGroup, DeviceGroup: "dg"}},
		{immytest.OnAllTenants(), immy.Target{Category: immy.CategoryTenant, Type: immy.TargetAllTenants}},
		{immytest.OnTenant("c"), immy.Target{Category: immy.CategoryTenant, Type: immy.TargetTenant, Tenant: "c"}},
		{immytest.OnTenantTag("vip"), immy.Target{Category: immy.CategoryTenant, Type: immy.TargetTenantTag, Tag: "vip"}},
	}
	for _, tt := range tests {
		t.Run(tt.want.Type.String(), func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// Build returns a new fleet each time: changing one changes neither the
// builder nor other fleets.
func TestBuildCopies(t *testing.T) {
	b := immytest.NewFleet().
		Tenant("t", immytest.Tags("a")).
		Computer("pc", "t", immy.KindWorkstation, immytest.Attr("site", "hq"), immytest.UPNs("x@t"), immytest.Installed("A", "1")).
		Software("s", immytest.Versions("1"), immytest.Requires("s2")).
		Software("s2", immytest.Versions("1")).
		Deploy("d", "s", immytest.OnAllComputers(), immytest.Value("k", 1), immytest.ApprovedFor("pc"))
	f1 := b.Build()
	f1.Tenants[0].Tags[0] = "changed"
	f1.Computers[0].Attributes["site"] = "changed"
	f1.Computers[0].UPNs[0] = "changed"
	f1.Computers[0].Software[0].Name = "changed"
	f1.Software[0].Prerequisites[0].On[0] = "changed"
	f1.Deployments[0].Parameters["k"] = "changed"
	f1.Deployments[0].ApprovedFor[0] = "changed"

	f2 := b.Build()
	require.Equal(t, "a", f2.Tenants[0].Tags[0])
	require.Equal(t, "hq", f2.Computers[0].Attributes["site"])
	require.Equal(t, "x@t", f2.Computers[0].UPNs[0])
	require.Equal(t, "A", f2.Computers[0].Software[0].Name)
	require.Equal(t, "s2", f2.Software[0].Prerequisites[0].On[0])
	require.Equal(t, 1, f2.Deployments[0].Parameters["k"])
	require.Equal(t, "pc", f2.Deployments[0].ApprovedFor[0])

	b.Tenant("u")
	require.Len(t, f2.Tenants, 1, "building on changed a fleet already built")
	require.Len(t, b.Build().Tenants, 2)
}

func TestBuilderPanicsOnBadConstants(t *testing.T) {
	tests := map[string]func(){
		"version":           func() { immytest.Installed("A", "1..2") },
		"versions":          func() { immytest.Versions("1", "x") },
		"empty version":     func() { immytest.Versions("") },
		"desired version":   func() { immytest.DesiredVersion(immy.DesiredThisVersion, "-1") },
		"date":              func() { immytest.NewFleet().Agreement("a", "t", "cg", "2026-13-01", "") },
		"time":              func() { immytest.NewFleet().At("yesterday") },
		"undeclared prereq": func() { immytest.NewFleet().Software("s", immytest.VersionPrereq("2.0", immy.Prerequisite{})) },
	}
	for name, fn := range tests {
		t.Run(name, func(t *testing.T) { require.Panics(t, fn) })
	}
}

// fatalRecorder is a testing.TB that records Fatalf instead of stopping.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (r *fatalRecorder) Helper() {}
func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
}

func TestBuildValid(t *testing.T) {
	b := immytest.NewFleet().
		Tenant("t").
		Computer("pc", "t", immy.KindWorkstation).
		Software("s", immytest.Versions("1.0")).
		Deploy("d", "s", immytest.OnComputer("pc"))
	f := b.BuildValid(t)
	require.Len(t, f.Deployments, 1)

	rec := &fatalRecorder{TB: t}
	b.Deploy("bad", "missing", immytest.OnComputer("nobody")).BuildValid(rec)
	require.Contains(t, rec.msg, `deployment "bad": item: unknown software or task "missing"`)
	require.Contains(t, rec.msg, `deployment "bad": target.computer: unknown computer "nobody"`)
}

// Edit changes what the options do not reach.
func TestBuilderEdit(t *testing.T) {
	f := immytest.NewFleet().
		Tenant("t").
		Edit(func(f *immy.Fleet) { f.Tenants[0].TimeZone = "Europe/London" }).
		Build()
	require.Equal(t, "Europe/London", f.Tenants[0].TimeZone)

	var zero immytest.FleetBuilder
	require.Len(t, zero.Tenant("x").Build().Tenants, 1, "the zero FleetBuilder is ready to use")
}
