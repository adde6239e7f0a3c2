package immy_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/immytest"
)

// validFleet is a small fleet that uses every section, and passes Validate.
// Each case of TestValidate breaks it in one way.
func validFleet() *immy.Fleet {
	return immytest.NewFleet().
		At("2026-11-23T10:00:00Z").
		Tenant("msp").
		Tenant("contoso", immytest.Parent("msp"), immytest.Tags("vip")).
		Tenant("fabrikam", immytest.Parent("msp")).
		Person("john", "contoso", "john@contoso.com").
		Person("jane", "fabrikam", "jane@fabrikam.com").
		Computer("pc1", "contoso", immy.KindWorkstation, immytest.UPNs("john@contoso.com"),
			immytest.Installed("Google Chrome", "118.0"), immytest.TaskResult("bitlocker", true)).
		Computer("srv1", "contoso", immy.KindServer).
		Computer("fab1", "fabrikam", immy.KindPortable, immytest.UPNs("jane@fabrikam.com")).
		Group("sales", "contoso", immy.GroupPersons, immytest.Members("john", "pc1")).
		Group("everyone", "contoso", immy.GroupPersons, immytest.Nested("sales")).
		Group("servers", "", immy.GroupComputers, immytest.Members("srv1", "fab1")).
		Agreement("ag1", "contoso", "managed-security", "2026-01-01", "2026-12-31").
		Software("vcredist", immytest.Global(), immytest.Versions("14.40.33810.0")).
		Software("chrome", immytest.Name("Google Chrome"), immytest.Versions("119.0", "118.0"),
			immytest.Requires("vcredist"), immytest.ConfigTask("bitlocker")).
		Software("lob", immytest.Owner("contoso"), immytest.Versions("1.0")).
		Task("bitlocker",
			immytest.Param(immy.Parameter{Name: "escrow", Type: immy.ParamBoolean, Default: true}),
			immytest.Param(immy.Parameter{Name: "pin", Type: immy.ParamPassword, Required: true})).
		Task("report", immytest.Cloud()).
		Deploy("d-chrome", "chrome", immytest.OnAllComputers()).
		Deploy("d-bitlocker", "bitlocker", immytest.OnGroup("sales"), immytest.InTenant("contoso"), immytest.Value("pin", "1234")).
		Deploy("d-report", "report", immytest.OnAllTenants(), immytest.Mode(immy.ModeMonitor)).
		Deploy("d-lob", "lob", immytest.OnTenantComputers("contoso")).
		Deploy("d-lob-pc", "lob", immytest.OnComputer("pc1")).
		Deploy("d-lob-john", "lob", immytest.OnPerson("john")).
		Schedule(immy.Schedule{ID: "nightly", Cron: "0 2 * * *", Target: immytest.OnTenantComputers("contoso")}).
		Build()
}

func TestValidateValid(t *testing.T) {
	require.NoError(t, validFleet().Validate())
	require.NoError(t, (&immy.Fleet{}).Validate(), "an empty fleet is valid")
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(f *immy.Fleet)
		want   []string         // every problem, rendered, in order
		is     error            // every problem wraps it
		cycle  *immy.CycleError // the cycle of the first problem, if any
	}{
		{
			name: "duplicate ids",
			change: func(f *immy.Fleet) {
				f.Tenants = append(f.Tenants, immy.Tenant{ID: "contoso"})
				f.Persons = append(f.Persons, immy.Person{ID: "john", Tenant: "contoso"})
				f.Computers = append(f.Computers, immy.Computer{ID: "pc1", Tenant: "contoso", Kind: immy.KindWorkstation})
				f.Groups = append(f.Groups, immy.Group{ID: "sales", Tenant: "contoso", Kind: immy.GroupPersons})
				f.Agreements = append(f.Agreements, f.Agreements[0])
				f.Software = append(f.Software, f.Software[0])
				f.Tasks = append(f.Tasks, f.Tasks[1])
				f.Deployments = append(f.Deployments, f.Deployments[0])
				f.Schedules = append(f.Schedules, f.Schedules[0])
			},
			want: []string{
				`agreement "ag1": id: duplicate id (first at agreements #1)`,
				`computer "pc1": id: duplicate id (first at computers #1)`,
				`deployment "d-chrome": id: duplicate id (first at deployments #1)`,
				`group "sales": id: duplicate id (first at groups #1)`,
				`person "john": id: duplicate id (first at persons #1)`,
				`schedule "nightly": id: duplicate id (first at schedules #1)`,
				`software "vcredist": id: duplicate id (first at software #1)`,
				`task "report": id: duplicate id (first at tasks #2)`,
				`tenant "contoso": id: duplicate id (first at tenants #2)`,
			},
			is: immy.ErrInvalid,
		},
		{
			name: "a task and a software share an id",
			change: func(f *immy.Fleet) {
				f.Tasks = append(f.Tasks, immy.Task{ID: "chrome"})
			},
			want: []string{`task "chrome": id: id also names software #2: item ids are shared by software and tasks`},
			is:   immy.ErrInvalid,
		},
		{
			name: "a computer id that names a tenant's session",
			change: func(f *immy.Fleet) {
				f.Computers = append(f.Computers, immy.Computer{ID: "tenant:fabrikam", Tenant: "contoso", Kind: immy.KindWorkstation})
			},
			want: []string{`computer "tenant:fabrikam": id: id starts with "tenant:", which names a tenant's session, not a computer`},
			is:   immy.ErrInvalid,
		},
		{
			name: "missing ids",
			change: func(f *immy.Fleet) {
				f.Tenants = append(f.Tenants, immy.Tenant{})
				f.Deployments[1].ID = ""
			},
			want: []string{
				`deployment #2: id: missing id`,
				`tenant #4: id: missing id`,
			},
			is: immy.ErrInvalid,
		},
		{
			name: "unknown tenants",
			change: func(f *immy.Fleet) {
				f.Tenants[2].Parent = "nowhere"
				f.Persons[1].Tenant = "gone"
				f.Computers[2].Tenant = "gone"
				f.Groups[2].Tenant = "gone"
				f.Agreements[0].Tenant = "gone"
				f.Software[0].Origin = immy.OriginOwn
				f.Software[0].Tenant = "gone" // vcredist: not deployed
				f.Tasks[1].Tenant = "gone"    // report: deployed to all tenants
				f.Deployments[0].Target.Tenant = "gone"
				f.Schedules[0].Target.Tenant = "gone"
			},
			want: []string{
				`agreement "ag1": tenant: unknown tenant "gone"`,
				`computer "fab1": tenant: unknown tenant "gone"`,
				`deployment "d-chrome": target.tenant: unknown tenant "gone"`,
				`group "servers": tenant: unknown tenant "gone"`,
				`person "jane": tenant: unknown tenant "gone"`,
				`schedule "nightly": target.tenant: unknown tenant "gone"`,
				`software "vcredist": tenant: unknown tenant "gone"`,
				`task "report": tenant: unknown tenant "gone"`,
				`tenant "fabrikam": parent: unknown tenant "nowhere"`,
			},
			is: immy.ErrNotFound,
		},
		{
			name: "unknown references of computers, groups and the catalogue",
			change: func(f *immy.Fleet) {
				f.Computers[0].Tasks["no-task"] = false
				f.Groups[0].Members = append(f.Groups[0].Members, "nobody")
				f.Groups[1].Groups = append(f.Groups[1].Groups, "no-group")
				f.Groups[2].Members = append(f.Groups[2].Members, "john") // a person in a computer group
				f.Software[1].Prerequisites[0].Subjects = []string{"no-subject"}
				f.Software[1].Prerequisites[0].On = []string{"no-target"}
				f.Software[1].ConfigurationTask = "no-task"
			},
			want: []string{
				`computer "pc1": tasks: unknown task "no-task"`,
				`group "sales": members: unknown person or computer "nobody"`,
				`group "everyone": groups: unknown group "no-group"`,
				`group "servers": members: unknown computer "john"`,
				`software "chrome": configuration_task: unknown task "no-task"`,
				`software "chrome": prerequisites[0]: unknown software "no-subject"`,
				`software "chrome": prerequisites[0].on: unknown software "no-target"`,
			},
			is: immy.ErrNotFound,
		},
		{
			name: "unknown references of deployments and schedules",
			change: func(f *immy.Fleet) {
				f.Deployments[0].Item = "no-item"
				f.Deployments[1].Target = immytest.OnGroup("no-group")
				f.Deployments[1].ApprovedFor = []string{"no-computer"}
				f.Deployments[3].Target = immytest.OnTenantComputers("contoso")
				f.Deployments[4].Target = immytest.OnComputer("no-computer")
				f.Deployments[5].Target = immytest.OnPerson("no-person")
				f.Schedules[0].Item = "no-item"
			},
			want: []string{
				`deployment "d-chrome": item: unknown software or task "no-item"`,
				`deployment "d-bitlocker": approved_for: unknown computer "no-computer"`,
				`deployment "d-bitlocker": target.group: unknown group "no-group"`,
				`deployment "d-lob-pc": target.computer: unknown computer "no-computer"`,
				`deployment "d-lob-john": target.person: unknown person "no-person"`,
				`schedule "nightly": item: unknown software or task "no-item"`,
			},
			is: immy.ErrNotFound,
		},
		{
			name: "tenant cycle",
			change: func(f *immy.Fleet) {
				// b -> c -> d -> b, and a hangs from the cycle without being in it.
				f.Tenants = append(f.Tenants,
					immy.Tenant{ID: "a", Parent: "c"},
					immy.Tenant{ID: "c", Parent: "d"},
					immy.Tenant{ID: "d", Parent: "b"},
					immy.Tenant{ID: "b", Parent: "c"},
				)
			},
			want:  []string{`tenant "b": parent: tenant cycle: b -> c -> d -> b`},
			is:    immy.ErrCycle,
			cycle: &immy.CycleError{Kind: "tenant", Path: []string{"b", "c", "d", "b"}},
		},
		{
			name: "tenant that is its own parent",
			change: func(f *immy.Fleet) {
				f.Tenants[1].Parent = "contoso"
			},
			want:  []string{`tenant "contoso": parent: tenant cycle: contoso -> contoso`},
			is:    immy.ErrCycle,
			cycle: &immy.CycleError{Kind: "tenant", Path: []string{"contoso", "contoso"}},
		},
		{
			name: "group nesting cycle",
			change: func(f *immy.Fleet) {
				f.Groups[0].Groups = []string{"everyone"} // sales -> everyone -> sales
			},
			want:  []string{`group "everyone": groups: nested group cycle: everyone -> sales -> everyone`},
			is:    immy.ErrCycle,
			cycle: &immy.CycleError{Kind: "group", Path: []string{"everyone", "sales", "everyone"}},
		},
		{
			name: "nested group of another kind",
			change: func(f *immy.Fleet) {
				f.Groups[1].Groups = append(f.Groups[1].Groups, "servers")
			},
			want: []string{`group "everyone": groups: nested group "servers" holds computers, not persons`},
			is:   immy.ErrInvalid,
		},
		{
			name: "missing required fields",
			change: func(f *immy.Fleet) {
				f.Persons[0].Tenant = ""
				f.Computers[1].Tenant = ""
				f.Groups[2].Kind = immy.GroupUnset
				f.Agreements[0].ClientGroup = ""
				f.Software[0].Name = ""
				f.Software[0].Detection = immy.Detection{}
				f.Software[2].Versions[0].Version = immy.Version{}
				f.Deployments[0].Item = ""
				f.Deployments[1].Target.Type = immy.TargetUnset
				f.Deployments[3].Target = immy.Target{Type: immy.TargetTag, Tenant: "contoso"}
				f.Deployments[4].Target = immy.Target{Type: immy.TargetFilter}
				f.Schedules[0].Cron = ""
			},
			want: []string{
				`agreement "ag1": client_group: missing client_group`,
				`computer "srv1": tenant: missing tenant`,
				`deployment "d-chrome": item: missing item`,
				`deployment "d-bitlocker": target.type: missing target type`,
				`deployment "d-lob": target.tag: target tag needs tag`,
				`deployment "d-lob-pc": target: item "lob" is private to tenant "contoso": the target must stay within that tenant`,
				`deployment "d-lob-pc": target.expr: a filter target needs exactly one of expr and lua`,
				`group "servers": kind: missing kind (persons or computers)`,
				`person "john": tenant: missing tenant`,
				`schedule "nightly": cron: missing cron`,
				`software "vcredist": detection: missing detection (display_name, regex, product_code, upgrade_code or script)`,
				`software "vcredist": name: missing name`,
				`software "lob": versions[0].version: missing version`,
			},
			is: immy.ErrInvalid,
		},
		{
			name: "desired state and mode in the wrong places",
			change: func(f *immy.Fleet) {
				f.Deployments[1].Desired = immy.DesiredLatest // a task
				f.Deployments[2].Mode = immy.ModeUnset        // a task
				f.Deployments[0].Mode = immy.ModeEnforce      // a software
				f.Deployments[3].Desired = immy.DesiredUnset  // a software
				f.Deployments[4].Parameters = map[string]any{"x": 1}
			},
			want: []string{
				`deployment "d-chrome": mode: a software deployment has a desired state, not a mode`,
				`deployment "d-bitlocker": desired: a task deployment has a mode, not a desired state`,
				`deployment "d-report": mode: missing mode (enforce, audit, monitor or ignored)`,
				`deployment "d-lob": desired: missing desired state`,
				`deployment "d-lob-pc": parameters: parameters belong to task deployments`,
			},
			is: immy.ErrInvalid,
		},
		{
			name: "versions that desired states need",
			change: func(f *immy.Fleet) {
				f.Deployments[0].Desired = immy.DesiredThisVersion // no version
				f.Deployments[3].Desired = immy.DesiredNewerOrEqual
				f.Deployments[4].Desired = immy.DesiredOlderOrEqual
				f.Deployments[4].Version = immy.MustParseVersion("0.9") // need not be a version of the software
				f.Deployments[5].Desired = immy.DesiredThisVersion
				f.Deployments[5].Version = immy.MustParseVersion("2.0")
			},
			want: []string{
				`deployment "d-chrome": version: desired this-version needs a version`,
				`deployment "d-lob": version: desired newer-or-equal needs a version`,
				`deployment "d-lob-john": version: software "lob" has no version 2.0`,
			},
		},
		{
			name: "a this-version equal to a listed version is found",
			change: func(f *immy.Fleet) {
				f.Deployments[0].Desired = immy.DesiredThisVersion
				f.Deployments[0].Version = immy.MustParseVersion("118.0.0.0")
			},
		},
		{
			name: "private item deployed beyond its tenant",
			change: func(f *immy.Fleet) {
				f.Deployments[3].Target.Tenant = "fabrikam"
				f.Deployments[4].Target = immytest.OnComputer("fab1")
				f.Deployments[5].Target = immytest.OnPerson("jane")
				f.Deployments = append(f.Deployments,
					immy.Deployment{ID: "d-lob-all", Item: "lob", Target: immytest.OnAllComputers(), Desired: immy.DesiredLatest},
					immy.Deployment{ID: "d-lob-children", Item: "lob", Target: immy.Target{Type: immy.TargetAllComputers, Tenant: "contoso", PropagateToChildren: true}, Desired: immy.DesiredLatest},
				)
				f.Tasks[0].Tenant = "fabrikam" // bitlocker, deployed in contoso
			},
			want: []string{
				`deployment "d-bitlocker": target: item "bitlocker" is private to tenant "fabrikam": the target must stay within that tenant`,
				`deployment "d-lob": target: item "lob" is private to tenant "contoso": the target must stay within that tenant`,
				`deployment "d-lob-pc": target: item "lob" is private to tenant "contoso": the target must stay within that tenant`,
				`deployment "d-lob-john": target: item "lob" is private to tenant "contoso": the target must stay within that tenant`,
				`deployment "d-lob-all": target: item "lob" is private to tenant "contoso": the target must stay within that tenant`,
				`deployment "d-lob-children": target: item "lob" is private to tenant "contoso": the target must stay within that tenant`,
				// validate_tenancy.go: the shared chrome's configuration task is now private
				`software "chrome": configuration_task: configuration task "bitlocker" is private to tenant "fabrikam"; "chrome" is shared by every tenant and cannot name it (make "chrome" private to "fabrikam", or share the other)`,
			},
			is: immy.ErrInvalid,
		},
		{
			name: "private item deployed within its tenant",
			change: func(f *immy.Fleet) {
				f.Deployments = append(f.Deployments,
					immy.Deployment{ID: "d-lob-tag", Item: "lob", Target: immy.Target{Type: immy.TargetTag, Tag: "canary", Tenant: "contoso"}, Desired: immy.DesiredLatest},
					immy.Deployment{ID: "d-lob-expr", Item: "lob", Target: immy.Target{Type: immy.TargetFilter, Expr: "computer.online", Tenant: "contoso"}, Desired: immy.DesiredLatest},
					immy.Deployment{ID: "d-lob-group", Item: "lob", Target: immy.Target{Type: immy.TargetGroup, Group: "sales", Tenant: "contoso"}, Desired: immy.DesiredUninstalled},
				)
			},
		},
		{
			name: "a global item cannot be private",
			change: func(f *immy.Fleet) {
				f.Software[0].Tenant = "contoso"
				f.Tasks[1].Origin = immy.OriginGlobal
				f.Tasks[1].Tenant = "contoso"
				f.Deployments[2].Target = immytest.OnTenant("contoso")
			},
			want: []string{
				`software "vcredist": tenant: a global catalogue item cannot belong to a tenant`,
				`task "report": tenant: a global catalogue item cannot belong to a tenant`,
			},
			is: immy.ErrInvalid,
		},
		{
			name: "prerequisite shapes",
			change: func(f *immy.Fleet) {
				f.Software[1].Prerequisites = []immy.Prerequisite{
					{Subjects: []string{"vcredist"}, Then: immy.PrereqInstall, On: []string{"vcredist"}},                                          // no condition
					{Condition: immy.ConditionInstalled, Then: immy.PrereqFail},                                                                   // no subjects
					{Condition: immy.ConditionInstalled, Quantifier: immy.QuantifierAllOf, Subjects: []string{"lob"}, Then: immy.PrereqUninstall}, // uninstall nothing
					{Condition: immy.ConditionInstalled, Subjects: []string{"lob"}, Then: immy.PrereqFail, On: []string{"lob"}},                   // fail on something
					{Condition: immy.ConditionNotInstalled, Subjects: []string{"lob"}},                                                            // no action
				}
				f.Software[2].Versions[0].Prerequisites = []immy.Prerequisite{
					{Condition: immy.ConditionNotInstalled, Subjects: []string{"vcredist"}, Then: immy.PrereqInstall,
						On: []string{"vcredist"}, Version: immy.MustParseVersion("14.0")}, // not a version of vcredist
				}
			},
			want: []string{
				`software "chrome": prerequisites[0].if: missing condition (installed or not-installed)`,
				`software "chrome": prerequisites[1].any_of: missing subjects (any_of or all_of)`,
				// validate_tenancy.go: the shared chrome names the private lob
				`software "chrome": prerequisites[2]: prerequisite subject "lob" is private to tenant "contoso"; "chrome" is shared by every tenant and cannot name it (make "chrome" private to "contoso", or share the other)`,
				`software "chrome": prerequisites[2].on: missing the software to uninstall`,
				`software "chrome": prerequisites[3]: prerequisite subject "lob" is private to tenant "contoso"; "chrome" is shared by every tenant and cannot name it (make "chrome" private to "contoso", or share the other)`,
				`software "chrome": prerequisites[3].on: fail acts on nothing; remove on`,
				`software "chrome": prerequisites[3].on: prerequisite "lob" is private to tenant "contoso"; "chrome" is shared by every tenant and cannot name it (make "chrome" private to "contoso", or share the other)`,
				`software "chrome": prerequisites[4]: prerequisite subject "lob" is private to tenant "contoso"; "chrome" is shared by every tenant and cannot name it (make "chrome" private to "contoso", or share the other)`,
				`software "chrome": prerequisites[4].then: missing action (install, uninstall or fail)`,
				`software "lob": versions[0].prerequisites[0].version: software "vcredist" has no version 14.0`,
			},
		},
		{
			name: "task parameters",
			change: func(f *immy.Fleet) {
				f.Tasks[0].Parameters = append(f.Tasks[0].Parameters,
					immy.Parameter{Name: "escrow", Type: immy.ParamText},
					immy.Parameter{Name: "mode", Type: immy.ParamSelect},
					immy.Parameter{Type: immy.ParamText},
				)
				f.Deployments[1].Parameters = map[string]any{"colour": "blue"} // and no pin
			},
			want: []string{
				`deployment "d-bitlocker": parameters.colour: task "bitlocker" has no parameter "colour"`,
				`deployment "d-bitlocker": parameters.pin: missing required parameter of task "bitlocker"`,
				`task "bitlocker": parameters[2].name: duplicate parameter "escrow"`,
				`task "bitlocker": parameters[3].options: a select parameter needs options`,
				`task "bitlocker": parameters[4].name: missing name`,
			},
		},
		{
			name: "tenant targets and tenant tasks",
			change: func(f *immy.Fleet) {
				f.Deployments[1].Target = immytest.OnTenantTag("vip") // bitlocker is a computer task
				f.Deployments[2].Target = immytest.OnAllComputers()   // report is a tenant task
			},
			want: []string{
				`deployment "d-bitlocker": target.type: target tenant-tag is for tenant (cloud) tasks; task "bitlocker" is a computer task`,
				`deployment "d-report": target.type: task "report" is a tenant (cloud) task: use all-tenants, tenant, tenant-tag or client-group`,
			},
			is: immy.ErrInvalid,
		},
		{
			name: "values outside their enumerations",
			change: func(f *immy.Fleet) {
				f.Computers[0].Kind = 99
				f.Computers[0].Onboarding = 98
				f.Deployments[0].Desired = 97
				f.Deployments[0].Enforcement = 96
				f.Deployments[0].Target.Filter = 95
				f.Deployments[2].Mode = 94
				f.Deployments[3].Target.Type = 93
			},
			want: []string{
				`computer "pc1": kind: invalid computer kind 99`,
				`computer "pc1": onboarding: invalid onboarding status 98`,
				`deployment "d-chrome": desired: invalid desired state 97`,
				`deployment "d-chrome": enforcement: invalid enforcement 96`,
				`deployment "d-chrome": target.filter: invalid group filter 95`,
				`deployment "d-report": mode: invalid task mode 94`,
				`deployment "d-lob": target.type: invalid target type 93`,
			},
			is: immy.ErrInvalid,
		},
		{
			name: "dates, versions and inventories",
			change: func(f *immy.Fleet) {
				f.Agreements[0].From, f.Agreements[0].To = f.Agreements[0].To, f.Agreements[0].From
				f.Software[1].Versions = append(f.Software[1].Versions, immy.SoftwareVersion{Version: immy.MustParseVersion("118.0.0")})
				f.Computers[2].Software = []immy.DetectedSoftware{{Version: immy.MustParseVersion("1.0")}}
			},
			want: []string{
				`agreement "ag1": to: ends (2026-01-01) before it starts (2026-12-31)`,
				`computer "fab1": software[0].name: missing name`,
				`software "chrome": versions[2].version: duplicate version 118.0.0`,
			},
			is: immy.ErrInvalid,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := validFleet()
			tt.change(f)
			err := f.Validate()
			if len(tt.want) == 0 {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			var ps immy.Problems
			require.True(t, errors.As(err, &ps), "Validate returned %T, not immy.Problems", err)
			got := make([]string, len(ps))
			for i, p := range ps {
				got[i] = p.Error()
				if tt.is != nil {
					require.ErrorIs(t, p, tt.is, "problem %q", got[i])
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
			require.True(t, slices.IsSortedFunc(ps, compareProblems), "problems are not sorted")
			if tt.cycle != nil {
				var ce *immy.CycleError
				require.ErrorAs(t, err, &ce)
				if diff := cmp.Diff(tt.cycle, ce); diff != "" {
					t.Errorf("cycle (-want +got):\n%s", diff)
				}
				require.ErrorIs(t, err, immy.ErrCycle)
			}
		})
	}
}

func compareProblems(a, b immy.Problem) int {
	switch {
	case a.Section != b.Section:
		return cmpString(a.Section, b.Section)
	case a.Index != b.Index:
		return a.Index - b.Index
	case a.Field != b.Field:
		return cmpString(a.Field, b.Field)
	}
	return cmpString(a.Message, b.Message)
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Every problem comes at once, in the same order every time, however maps iterate.
func TestValidateAllAtOnceDeterministic(t *testing.T) {
	f := validFleet()
	f.Tenants[1].Parent = "nowhere"
	f.Persons[0].Tenant = ""
	f.Computers[0].Tasks = map[string]bool{"t1": true, "t2": false, "t3": true, "t4": true, "t5": false}
	f.Deployments[1].Parameters = map[string]any{"a": 1, "b": 2, "c": 3, "d": 4}
	f.Deployments[2].Target = immytest.OnAllComputers()
	f.Software[1].Prerequisites[0].On = nil
	f.Groups[0].Groups = []string{"everyone"}

	first := f.Validate()
	require.Error(t, first)
	var ps immy.Problems
	require.ErrorAs(t, first, &ps)
	// 1 parent + 1 person's tenant + 5 tasks + 5 parameters (4 unknown, pin
	// missing) + 1 target + 1 prerequisite + 1 cycle; d-lob-john, deployed to
	// john, who has no tenant now, is not reported for that as well.
	require.Len(t, ps, 15, "problems:\n%v", first)
	sections := map[string]bool{}
	for _, p := range ps {
		sections[p.Section] = true
	}
	require.Len(t, sections, 6, "problems of every section come together: %v", sections)
	for range 20 {
		require.Equal(t, first.Error(), f.Validate().Error())
	}
	require.ErrorIs(t, first, immy.ErrCycle)
	require.ErrorIs(t, first, immy.ErrNotFound)
	require.ErrorIs(t, first, immy.ErrInvalid)
}

// Validate reports; it does not change the fleet.
func TestValidateLeavesFleetAlone(t *testing.T) {
	f := validFleet()
	f.Groups[0].Groups = []string{"everyone"}
	f.Tenants[1].Parent = "contoso"
	before := validFleet()
	before.Groups[0].Groups = []string{"everyone"}
	before.Tenants[1].Parent = "contoso"
	require.Error(t, f.Validate())
	if diff := cmp.Diff(before, f, cmp.Comparer(func(a, b immy.Version) bool { return a.String() == b.String() })); diff != "" {
		t.Errorf("Validate changed the fleet (-before +after):\n%s", diff)
	}
}
