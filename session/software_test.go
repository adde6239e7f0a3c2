package session

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/resolver"
)

// appFleet is one computer with App at version detected ("" for absent) and
// a deployment of App with the desired state and version.
func appFleet(detected string, desired immy.DesiredState, version string) *immy.Fleet {
	f := &immy.Fleet{
		Tenants:   []immy.Tenant{{ID: "t1"}},
		Computers: []immy.Computer{{ID: "pc1", Tenant: "t1", Kind: immy.KindWorkstation}},
		Software: []immy.Software{{ID: "app", Name: "App", Detection: immy.Detection{DisplayName: "App"},
			Versions: versions("1.0", "2.0")}},
		Deployments: []immy.Deployment{{ID: "d-app", Item: "app", Target: immy.Target{Type: immy.TargetAllComputers},
			Desired: desired}},
	}
	if version != "" {
		f.Deployments[0].Version = v(version)
	}
	if detected != "" {
		f.Computers[0].Software = []immy.DetectedSoftware{{Name: "App", Version: v(detected)}}
	}
	return f
}

// bodies lists the scripts run on pc1 that change it, in order.
func bodies(h *harness) []string {
	var out []string
	for _, r := range h.fake.Computer("pc1").Runs() {
		if !r.Inventory && (strings.Contains(r.Script.Body, "install(") || strings.Contains(r.Script.Body, "set(")) {
			out = append(out, r.Script.Body)
		}
	}
	return out
}

func TestSoftwareActions(t *testing.T) {
	tests := []struct {
		name    string
		fleet   *immy.Fleet
		prep    func(f *immy.Fleet)
		want    string // item:action:status:result:reason
		scripts []string
		after   string // version detected afterwards; "" absent
		message string // part of the action's message
	}{
		{
			name:    "install",
			fleet:   appFleet("", immy.DesiredLatest, ""),
			want:    "app:install:complete:success:verified",
			scripts: []string{`install("App", version)`},
			after:   "2.0",
		},
		{
			name:    "uninstall",
			fleet:   appFleet("1.0", immy.DesiredUninstalled, ""),
			want:    "app:uninstall:complete:success:verified",
			scripts: []string{`uninstall("App")`},
		},
		{
			name:    "update, install over",
			fleet:   appFleet("1.0", immy.DesiredLatest, ""),
			want:    "app:update:complete:success:verified",
			scripts: []string{`install("App", version)`},
			after:   "2.0",
		},
		{
			name:    "update, uninstall then install",
			fleet:   appFleet("1.0", immy.DesiredLatest, ""),
			prep:    func(f *immy.Fleet) { f.Software[0].UpgradeStrategy = immy.UpgradeUninstallInstall },
			want:    "app:update:complete:success:verified",
			scripts: []string{`uninstall("App")`, `install("App", version)`},
			after:   "2.0",
		},
		{
			name:  "update, upgrade script",
			fleet: appFleet("1.0", immy.DesiredLatest, ""),
			prep: func(f *immy.Fleet) {
				f.Software[0].UpgradeStrategy = immy.UpgradeScript
				f.Software[0].Upgrade = luaScript(`install("App", version) set("upgraded", "yes")`)
			},
			want:    "app:update:complete:success:verified",
			scripts: []string{`install("App", version) set("upgraded", "yes")`},
			after:   "2.0",
		},
		{
			name:  "the version's strategy and script override the software's",
			fleet: appFleet("1.0", immy.DesiredLatest, ""),
			prep: func(f *immy.Fleet) {
				f.Software[0].UpgradeStrategy = immy.UpgradeInstallOver
				f.Software[0].Versions[1].UpgradeStrategy = immy.UpgradeScript
				f.Software[0].Versions[1].Upgrade = luaScript(`install("App", "2.0") -- version 2.0's own`)
			},
			want:    "app:update:complete:success:verified",
			scripts: []string{`install("App", "2.0") -- version 2.0's own`},
			after:   "2.0",
		},
		{
			name:  "the version's install script overrides the software's",
			fleet: appFleet("", immy.DesiredThisVersion, "1.0"),
			prep: func(f *immy.Fleet) {
				f.Software[0].Versions[0].Install = luaScript(`install("App", "1.0") -- 1.0's installer`)
			},
			want:    "app:install:complete:success:verified",
			scripts: []string{`install("App", "1.0") -- 1.0's installer`},
			after:   "1.0",
		},
		{
			name:    "update without an upgrade strategy",
			fleet:   appFleet("1.0", immy.DesiredLatest, ""),
			prep:    func(f *immy.Fleet) { f.Software[0].UpgradeStrategy = immy.UpgradeUnset },
			want:    "app:update:complete:failed:no-upgrade-strategy",
			after:   "1.0",
			message: `software "app" has no upgrade strategy for the update to 2.0`,
		},
		{
			name:    "upgrade script missing",
			fleet:   appFleet("1.0", immy.DesiredLatest, ""),
			prep:    func(f *immy.Fleet) { f.Software[0].UpgradeStrategy = immy.UpgradeScript },
			want:    "app:update:complete:failed:no-script:upgrade",
			after:   "1.0",
			message: "no upgrade script",
		},
		{
			name:    "install script missing",
			fleet:   appFleet("", immy.DesiredLatest, ""),
			prep:    func(f *immy.Fleet) { f.Software[0].Install = nil },
			want:    "app:install:complete:failed:no-script:install",
			message: "neither for version 2.0 nor its own",
		},
		{
			name:    "downgrade",
			fleet:   appFleet("2.0", immy.DesiredThisVersion, "1.0"),
			want:    "app:downgrade:complete:success:verified",
			scripts: []string{`uninstall("App")`, `install("App", version)`},
			after:   "1.0",
		},
		{
			name:    "a newer version than asked is not a failure",
			fleet:   appFleet("", immy.DesiredThisVersion, "1.0"),
			prep:    func(f *immy.Fleet) { f.Software[0].Install = luaScript(`install("App", "2.5")`) },
			want:    "app:install:complete:success:verified",
			scripts: []string{`install("App", "2.5")`},
			after:   "2.5",
		},
		{
			name:    "an older version than asked fails verification",
			fleet:   appFleet("", immy.DesiredLatest, ""),
			prep:    func(f *immy.Fleet) { f.Software[0].Install = luaScript(`install("App", "1.5")`) },
			want:    "app:install:complete:failed:verification-failed",
			scripts: []string{`install("App", "1.5")`},
			after:   "1.5",
			message: "detected at 1.5 after the install, want 2.0 or newer",
		},
		{
			name:    "a downgrade that leaves a newer version fails verification",
			fleet:   appFleet("2.0", immy.DesiredThisVersion, "1.0"),
			prep:    func(f *immy.Fleet) { f.Software[0].Install = luaScript(`install("App", "3.0")`) },
			want:    "app:downgrade:complete:failed:verification-failed",
			scripts: []string{`uninstall("App")`, `install("App", "3.0")`},
			after:   "3.0",
			message: "want 1.0 or older",
		},
		{
			name:  "repair after a failed test",
			fleet: appFleet("2.0", immy.DesiredLatest, ""),
			prep: func(f *immy.Fleet) {
				f.Software[0].Test = luaScript(`return get("app-healthy") == "yes"`)
				f.Software[0].RepairStrategy = immy.RepairScript
				f.Software[0].Repair = luaScript(`set("app-healthy", "yes")`)
			},
			want:    "app:reinstall:complete:success:verified",
			scripts: []string{`set("app-healthy", "yes")`},
			after:   "2.0",
		},
		{
			name:  "repair by reinstalling",
			fleet: appFleet("2.0", immy.DesiredLatest, ""),
			prep: func(f *immy.Fleet) {
				f.Software[0].Test = luaScript(`return get("app-healthy") == "yes"`)
				f.Software[0].RepairStrategy = immy.RepairUninstallInstall
				f.Software[0].Install = luaScript(`install("App", version) set("app-healthy", "yes")`)
			},
			want:    "app:reinstall:complete:success:verified",
			scripts: []string{`uninstall("App")`, `install("App", version) set("app-healthy", "yes")`},
			after:   "2.0",
		},
		{
			name:  "repair that does not fix the test",
			fleet: appFleet("2.0", immy.DesiredLatest, ""),
			prep: func(f *immy.Fleet) {
				f.Software[0].Test = luaScript(`return false`)
				f.Software[0].RepairStrategy = immy.RepairInstallOver
			},
			want:    "app:reinstall:complete:failed:verification-failed",
			scripts: []string{`install("App", version)`},
			after:   "2.0",
			message: "still fails after the repair",
		},
		{
			name:  "repair without a strategy",
			fleet: appFleet("2.0", immy.DesiredLatest, ""),
			prep: func(f *immy.Fleet) {
				f.Software[0].Test = luaScript(`return "False"`)
			},
			want:    "app:reinstall:complete:failed:no-repair-strategy",
			after:   "2.0",
			message: "no repair strategy",
		},
		{
			name:  "detection by script",
			fleet: appFleet("", immy.DesiredLatest, ""),
			prep: func(f *immy.Fleet) {
				f.Software[0].Detection = immy.Detection{Script: luaScript(`local v = query("App") if v then print("App version " .. v) end`)}
			},
			want:    "app:install:complete:success:verified",
			scripts: []string{`install("App", version)`},
			after:   "2.0",
		},
		{
			name:  "a detection script that fails",
			fleet: appFleet("", immy.DesiredLatest, ""),
			prep: func(f *immy.Fleet) {
				f.Software[0].Detection = immy.Detection{Script: luaScript(`error("registry unreadable")`)}
			},
			want:    "app:fail:skipped:failed:detection-failed",
			message: "registry unreadable",
		},
		{
			name:  "detection by product code",
			fleet: appFleet("", immy.DesiredLatest, ""),
			prep: func(f *immy.Fleet) {
				f.Software[0].Detection = immy.Detection{ProductCode: "{1111-2222}"}
				f.Software[0].Install = luaScript(`install("Renamed App", version, "{1111-2222}")`)
			},
			want:    "app:install:complete:success:verified",
			scripts: []string{`install("Renamed App", version, "{1111-2222}")`},
			after:   "2.0",
		},
		{
			name:  "a metascript installs through invoke_command",
			fleet: appFleet("", immy.DesiredLatest, ""),
			prep: func(f *immy.Fleet) {
				f.Software[0].Install = &immy.Script{Language: immy.LanguageLua, Context: immy.ContextMetascript,
					Body: `log("installing " .. software_name .. " " .. version .. " on " .. computer.id)
local value, code = invoke_command('install("App", "' .. version .. '")', {context = "system", language = "lua"})
if code ~= 0 then error("install failed") end`}
			},
			want:    "app:install:complete:success:verified",
			scripts: []string{`install("App", "2.0")`},
			after:   "2.0",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarnessPrep(t, tt.fleet, tt.prep, nil)
			rep := h.run(Request{Computer: "pc1"})
			require.Len(t, rep.Actions, 1)
			a := rep.Actions[0]
			require.Equal(t, tt.want, outcomes(rep.Actions)[0], a.Message)
			if diff := cmp.Diff(tt.scripts, bodies(h)); diff != "" {
				t.Errorf("scripts run (-want +got):\n%s", diff)
			}
			var after string
			for _, s := range h.fake.Computer("pc1").Software() {
				after = s.Version.String()
			}
			require.Equal(t, tt.after, after, "version on the computer")
			if a.Result == Success {
				require.Equal(t, tt.after, a.After)
				require.Equal(t, Passed, rep.Status)
			} else {
				require.Equal(t, Failed, rep.Status)
				require.Contains(t, a.Message, tt.message)
			}
		})
	}
}

// rebooter is a fake computer's runner that can reboot.
type rebooter struct {
	*harness
	prompts []bool
	answer  error
}

func (r *rebooter) RunScript(ctx context.Context, req immy.ScriptRequest) (immy.ScriptResult, error) {
	return r.fake.RunScript(ctx, req)
}

func (r *rebooter) Reboot(ctx context.Context, computer string, prompt bool) error {
	r.prompts = append(r.prompts, prompt)
	return r.answer
}

func TestReboots(t *testing.T) {
	business := &immy.BusinessHours{Start: "08:00", End: "18:00"}
	tests := []struct {
		name      string
		hours     bool
		req       Request
		exit      bool // the installer asks for a reboot
		answer    error
		canReboot bool
		want      RebootOutcome
		prompts   []bool
	}{
		{name: "no reboot needed", canReboot: true},
		{name: "normal", exit: true, canReboot: true, want: RebootOutcome{Required: true, Rebooted: true}, prompts: []bool{false}},
		{name: "normal without reboot support", exit: true, want: RebootOutcome{Required: true, Pending: true, Reason: RebootUnsupported}},
		{name: "suppress", exit: true, canReboot: true, req: Request{Reboot: RebootSuppress}, want: RebootOutcome{Required: true, Pending: true, Reason: RebootSuppressed}},
		{name: "prompt", exit: true, canReboot: true, req: Request{Reboot: RebootPrompt}, want: RebootOutcome{Required: true, Rebooted: true}, prompts: []bool{true}},
		{name: "prompt declined", exit: true, canReboot: true, answer: ErrRebootDeclined, req: Request{Reboot: RebootPrompt},
			want: RebootOutcome{Required: true, Pending: true, Reason: RebootDeclined}, prompts: []bool{true}},
		{name: "business hours", hours: true, exit: true, canReboot: true, req: Request{SuppressRebootsDuringBusinessHours: true},
			want: RebootOutcome{Required: true, Pending: true, Reason: RebootBusinessHours}},
		{name: "business hours not asked", hours: true, exit: true, canReboot: true,
			want: RebootOutcome{Required: true, Rebooted: true}, prompts: []bool{false}},
		{name: "force during business hours", hours: true, canReboot: true, req: Request{Reboot: RebootForce, SuppressRebootsDuringBusinessHours: true},
			want: RebootOutcome{Required: true, Rebooted: true}, prompts: []bool{false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := appFleet("", immy.DesiredLatest, "")
			if tt.hours {
				f.Tenants[0].BusinessHours = business
				f.Tenants[0].TimeZone = "Europe/Paris" // 10:00 UTC is 11:00 there, a Monday
			}
			var rb *rebooter
			h := newHarnessPrep(t, f, func(f *immy.Fleet) {
				if tt.exit {
					f.Software[0].Install = luaScript(`install("App", version) exit(3010)`)
				}
			}, func(c *Config) {
				if tt.canReboot {
					rb = &rebooter{answer: tt.answer}
					c.Runner = rb
				}
			})
			if rb != nil {
				rb.harness = h
			}
			req := tt.req
			req.Computer = "pc1"
			rep := h.run(req)
			require.Equal(t, Passed, rep.Status, rep.Reason)
			require.Equal(t, tt.exit, rep.Actions[0].RebootRequired)
			require.Equal(t, tt.want, rep.Reboot)
			if rb != nil {
				require.Equal(t, tt.prompts, rb.prompts)
			}
		})
	}
}

func TestInBusinessHours(t *testing.T) {
	day := &immy.BusinessHours{Start: "08:00", End: "18:00"}
	night := &immy.BusinessHours{Start: "22:00", End: "06:00", Weekdays: []time.Weekday{time.Saturday}}
	at := func(s string) time.Time {
		tm, err := time.Parse("2006-01-02 15:04", s)
		require.NoError(t, err)
		return tm
	}
	tests := []struct {
		bh   *immy.BusinessHours
		at   string
		want bool
	}{
		{day, "2026-11-23 08:00", true}, // Monday
		{day, "2026-11-23 07:59", false},
		{day, "2026-11-23 17:59", true},
		{day, "2026-11-23 18:00", false},
		{day, "2026-11-28 12:00", false}, // Saturday
		{night, "2026-11-28 23:00", true},
		{night, "2026-11-29 05:00", true}, // Sunday morning, after Saturday's night
		{night, "2026-11-29 23:00", false},
		{night, "2026-11-28 05:00", false}, // Saturday morning belongs to Friday's night
	}
	for _, tt := range tests {
		got, err := InBusinessHours(tt.bh, at(tt.at))
		require.NoError(t, err)
		require.Equal(t, tt.want, got, "%s %s-%s", tt.at, tt.bh.Start, tt.bh.End)
	}
	_, err := InBusinessHours(&immy.BusinessHours{Start: "8am", End: "18:00"}, at("2026-11-23 08:00"))
	require.ErrorIs(t, err, immy.ErrInvalid)
}

func TestRerunAction(t *testing.T) {
	h := newHarness(t, appFleet("", immy.DesiredLatest, ""), nil)
	rep := h.run(Request{Computer: "pc1"})
	require.Equal(t, Passed, rep.Status)
	again := h.run(Request{Computer: "pc1", Kind: RerunAction, Rerun: &rep.Actions[0].Planned, Source: AdHoc})
	require.Equal(t, Passed, again.Status, again.Reason)
	require.Equal(t, []string{"app:install:complete:success:verified"}, outcomes(again.Actions))
	require.Equal(t, "2.0", again.Actions[0].Planned.Detected, "the rerun detects again")
	require.Equal(t, 2, scriptRuns(h.fake.Computer("pc1"), `install("App"`))
	require.Empty(t, again.Decisions, "a rerun resolves nothing")
}

func TestConfigurationTaskAfterSoftware(t *testing.T) {
	f := appFleet("", immy.DesiredLatest, "")
	f.Software[0].ConfigurationTask = "app-settings"
	f.Tasks = []immy.Task{{ID: "app-settings", Name: "App settings"}}
	h := newHarness(t, f, nil)

	// The what-if: the task's test cannot be known before App is installed.
	what := h.run(Request{Computer: "pc1", Kind: DetectionOnly})
	require.Equal(t, Passed, what.Status)
	require.Equal(t, ReasonDetectionOnly, what.Reason)
	require.Equal(t, []string{"app:install", "app-settings:task-enforce"}, changes(what.Actions))
	require.Equal(t, "app", what.Actions[1].DecidedAfter)
	require.Equal(t, "decided-after:app", what.Actions[1].Planned.Reason)
	require.Equal(t, NotStarted, what.Actions[0].Status)
	require.Equal(t, WaitingForPrerequisite, what.Actions[1].Status)
	require.Empty(t, bodies(h), "a detection-only session changed the computer")

	rep := h.run(Request{Computer: "pc1"})
	require.Equal(t, []string{
		"app:install:complete:success:verified",
		"app-settings:task-enforce:complete:success:verified",
	}, outcomes(rep.Actions))

	// The software fails: its configuration task does not run.
	f2 := appFleet("", immy.DesiredLatest, "")
	f2.Software[0].ConfigurationTask = "app-settings"
	f2.Tasks = []immy.Task{{ID: "app-settings"}}
	h2 := newHarnessPrep(t, f2, func(f *immy.Fleet) { f.Software[0].Install = luaScript(`exit(1603)`) }, nil)
	rep = h2.run(Request{Computer: "pc1"})
	require.Equal(t, []string{
		"app:install:complete:failed:script-failed",
		"app-settings:task-enforce:skipped:failed:software-failed:app",
	}, outcomes(rep.Actions))
	require.Equal(t, Failed, rep.Status)
}

func TestResolutionOnly(t *testing.T) {
	h := newHarness(t, appFleet("", immy.DesiredLatest, ""), nil)
	rep := h.run(Request{Computer: "pc1", Kind: ResolutionOnly})
	require.Equal(t, Passed, rep.Status)
	require.Empty(t, rep.Actions)
	require.Len(t, rep.Decisions, 1)
	require.Equal(t, "d-app", rep.Decisions[0].Winner)
	for _, r := range h.fake.Computer("pc1").Runs() {
		require.True(t, r.Inventory, "resolution ran a script: %s", r.Script.Body)
	}
}

func TestSingleItemSession(t *testing.T) {
	f := smallFleet()
	f.Deployments = append(f.Deployments, immy.Deployment{ID: "d-tool", Item: "vcredist", Target: immy.Target{Type: immy.TargetAllComputers},
		Desired: immy.DesiredLatest, Enforcement: immy.EnforcementAdHoc})
	h := newHarness(t, f, nil)
	rep := h.run(Request{Computer: "pc1", Kind: SingleItem, Item: "phone", Source: AdHoc})
	require.Equal(t, []string{"vcredist:install", "phone:install"}, changes(rep.Actions))
	require.Equal(t, 0, scriptRuns(h.fake.Computer("pc1"), `install("App"`))
	require.Equal(t, resolver.ReasonPrerequisiteOf+":phone", rep.Actions[0].Planned.Reason)
}

// TestDetectionScriptVersionMapped: a detection script reports what the
// computer writes (a build number), and the software's version map turns it
// into the release the catalogue knows, so an installed release is up to
// date and a session does not reinstall it every time.
func TestDetectionScriptVersionMapped(t *testing.T) {
	f := appFleet("2.0", immy.DesiredLatest, "")
	f.Computers[0].Software = []immy.DetectedSoftware{{Name: "App", Version: v("2.0")}}
	h := newHarnessPrep(t, f, func(f *immy.Fleet) {
		f.Software[0].Detection = immy.Detection{
			Script:     luaScript(`local v = query("App") if v then print("900." .. v) end`),
			VersionMap: []immy.VersionMapping{{Match: `^900\.(?P<release>.+)$`, To: "${release}"}},
		}
	}, nil)
	rep := h.run(Request{Computer: "pc1"})
	require.Equal(t, Passed, rep.Status, rep.Reason)
	require.Equal(t, []string{"app:none:complete:success:up-to-date"}, outcomes(rep.Actions))
	require.Equal(t, "2.0", rep.Actions[0].Planned.Detected)
	require.Empty(t, bodies(h), "nothing was reinstalled")
}
