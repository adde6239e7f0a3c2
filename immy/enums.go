// The enumerations of the vocabulary, each with its fleet-file spelling (see shared/spec/fleet-file.md).

package immy

// ComputerKind is the role of a computer, which decides the group filters it passes.
type ComputerKind uint8

// Values of ComputerKind.
const (
	KindUnknown                 ComputerKind = iota // unknown: not reported; only the group filter all passes it
	KindWorkstation                                 // workstation
	KindPortable                                    // portable: a laptop or other portable device
	KindServer                                      // server
	KindDomainController                            // domain-controller
	KindPrimaryDomainController                     // primary-domain-controller
)

var computerKindNames = enumNames[ComputerKind]{kind: "computer kind", names: []string{"unknown", "workstation", "portable", "server", "domain-controller", "primary-domain-controller"}}

// String returns the fleet file's spelling.
func (v ComputerKind) String() string { return computerKindNames.str(v) }

// Valid reports whether v is a spelt value.
func (v ComputerKind) Valid() bool { return computerKindNames.valid(v) }

// MarshalText implements encoding.TextMarshaler.
func (v ComputerKind) MarshalText() ([]byte, error) { return computerKindNames.marshal(v) }

// UnmarshalText implements encoding.TextUnmarshaler; unknown spellings are an *EnumError.
func (v *ComputerKind) UnmarshalText(b []byte) error { return computerKindNames.unmarshal(v, b) }

// ParseComputerKind parses the fleet file's spelling of a computer kind.
func ParseComputerKind(s string) (ComputerKind, error) { return computerKindNames.parse(s) }

// OnboardingStatus is where a computer stands in onboarding.
type OnboardingStatus uint8

// Values of OnboardingStatus.
const (
	Onboarded       OnboardingStatus = iota // onboarded: the zero value: onboarding is done
	NeedsOnboarding                         // needs-onboarding
	Onboarding                              // onboarding: an onboarding session is under way
)

var onboardingStatusNames = enumNames[OnboardingStatus]{kind: "onboarding status", names: []string{"onboarded", "needs-onboarding", "onboarding"}}

// String returns the fleet file's spelling.
func (v OnboardingStatus) String() string { return onboardingStatusNames.str(v) }

// Valid reports whether v is a spelt value.
func (v OnboardingStatus) Valid() bool { return onboardingStatusNames.valid(v) }

// MarshalText implements encoding.TextMarshaler.
func (v OnboardingStatus) MarshalText() ([]byte, error) { return onboardingStatusNames.marshal(v) }

// UnmarshalText implements encoding.TextUnmarshaler; unknown spellings are an *EnumError.
func (v *OnboardingStatus) UnmarshalText(b []byte) error {
	return onboardingStatusNames.unmarshal(v, b)
}

// ParseOnboardingStatus parses the fleet file's spelling of a onboarding status.
func ParseOnboardingStatus(s string) (OnboardingStatus, error) { return onboardingStatusNames.parse(s) }

// TargetCategory is what a target selects: computers, tenants (cloud tasks) or persons.
type TargetCategory uint8

// Values of TargetCategory.
const (
	CategoryComputer TargetCategory = iota // computer
	CategoryTenant                         // tenant
	CategoryPerson                         // person
)

var targetCategoryNames = enumNames[TargetCategory]{kind: "target category", names: []string{"computer", "tenant", "person"}}

// String returns the fleet file's spelling.
func (v TargetCategory) String() string { return targetCategoryNames.str(v) }

// Valid reports whether v is a spelt value.
func (v TargetCategory) Valid() bool { return targetCategoryNames.valid(v) }

// MarshalText implements encoding.TextMarshaler.
func (v TargetCategory) MarshalText() ([]byte, error) { return targetCategoryNames.marshal(v) }

// UnmarshalText implements encoding.TextUnmarshaler; unknown spellings are an *EnumError.
func (v *TargetCategory) UnmarshalText(b []byte) error { return targetCategoryNames.unmarshal(v, b) }

// ParseTargetCategory parses the fleet file's spelling of a target category.
func ParseTargetCategory(s string) (TargetCategory, error) { return targetCategoryNames.parse(s) }

// TargetScope is how wide a target reaches; derived from its type and tenant by Target.Scope.
type TargetScope uint8

// Values of TargetScope.
const (
	ScopeCrossTenant  TargetScope = iota // cross-tenant
	ScopeSingleTenant                    // single-tenant
	ScopeIndividual                      // individual: one computer or one person
)

var targetScopeNames = enumNames[TargetScope]{kind: "target scope", names: []string{"cross-tenant", "single-tenant", "individual"}}

// String returns the fleet file's spelling.
func (v TargetScope) String() string { return targetScopeNames.str(v) }

// Valid reports whether v is a spelt value.
func (v TargetScope) Valid() bool { return targetScopeNames.valid(v) }

// MarshalText implements encoding.TextMarshaler.
func (v TargetScope) MarshalText() ([]byte, error) { return targetScopeNames.marshal(v) }

// UnmarshalText implements encoding.TextUnmarshaler; unknown spellings are an *EnumError.
func (v *TargetScope) UnmarshalText(b []byte) error { return targetScopeNames.unmarshal(v, b) }

// ParseTargetScope parses the fleet file's spelling of a target scope.
func ParseTargetScope(s string) (TargetScope, error) { return targetScopeNames.parse(s) }

// TargetType is the kind of rule a target uses to select.
type TargetType uint8

// Values of TargetType.
const (
	TargetUnset        TargetType = iota // unset
	TargetAllComputers                   // all-computers
	TargetComputer                       // computer
	TargetPerson                         // person: the computers of a person, through affinity
	TargetTag                            // tag: computers with the tag, computers of tenants with it, primary computers of persons with it
	TargetGroup                          // group: a static computer group or a user group
	TargetFilter                         // filter: an expr or Lua filter
	TargetClientGroup                    // client-group: a PSA agreement type or product
	TargetDeviceGroup                    // device-group: an RMM's device group
	TargetAllTenants                     // all-tenants: cloud tasks
	TargetTenant                         // tenant: cloud tasks
	TargetTenantTag                      // tenant-tag: cloud tasks
)

var targetTypeNames = enumNames[TargetType]{kind: "target type", names: []string{"", "all-computers", "computer", "person", "tag", "group", "filter", "client-group", "device-group", "all-tenants", "tenant", "tenant-tag"}}

// String returns the fleet file's spelling.
func (v TargetType) String() string { return targetTypeNames.str(v) }

// Valid reports whether v is a spelt value.
func (v TargetType) Valid() bool { return targetTypeNames.valid(v) }

// MarshalText implements encoding.TextMarshaler.
func (v TargetType) MarshalText() ([]byte, error) { return targetTypeNames.marshal(v) }

// UnmarshalText implements encoding.TextUnmarshaler; unknown spellings are an *EnumError.
func (v *TargetType) UnmarshalText(b []byte) error { return targetTypeNames.unmarshal(v, b) }

// ParseTargetType parses the fleet file's spelling of a target type.
func ParseTargetType(s string) (TargetType, error) { return targetTypeNames.parse(s) }

// GroupFilter is the kinds of computer a target keeps.
type GroupFilter uint8

// Values of GroupFilter.
const (
	FilterAll                      GroupFilter = iota // all
	FilterServers                                     // servers: servers, domain controllers and primary domain controllers
	FilterWorkstations                                // workstations
	FilterPortable                                    // portable
	FilterWorkstationsAndPortable                     // workstations-and-portable
	FilterDomainControllers                           // domain-controllers: domain controllers and primary domain controllers
	FilterPrimaryDomainControllers                    // primary-domain-controllers
)

var groupFilterNames = enumNames[GroupFilter]{kind: "group filter", names: []string{"all", "servers", "workstations", "portable", "workstations-and-portable", "domain-controllers", "primary-domain-controllers"}}

// String returns the fleet file's spelling.
func (v GroupFilter) String() string { return groupFilterNames.str(v) }

// Valid reports whether v is a spelt value.
func (v GroupFilter) Valid() bool { return groupFilterNames.valid(v) }

// MarshalText implements encoding.TextMarshaler.
func (v GroupFilter) MarshalText() ([]byte, error) { return groupFilterNames.marshal(v) }

// UnmarshalText implements encoding.TextUnmarshaler; unknown spellings are an *EnumError.
func (v *GroupFilter) UnmarshalText(b []byte) error { return groupFilterNames.unmarshal(v, b) }

// ParseGroupFilter parses the fleet file's spelling of a group filter.
func ParseGroupFilter(s string) (GroupFilter, error) { return groupFilterNames.parse(s) }

// DesiredState is the state a deployment gives a software.
type DesiredState uint8

// Values of DesiredState.
const (
	DesiredUnset         DesiredState = iota // unset: a task deployment, which has a mode instead
	DesiredLatest                            // latest
	DesiredThisVersion                       // this-version
	DesiredNewerOrEqual                      // newer-or-equal
	DesiredOlderOrEqual                      // older-or-equal
	DesiredAnyVersion                        // any-version
	DesiredUpdateIfFound                     // update-if-found
	DesiredUninstalled                       // uninstalled
	DesiredIgnored                           // ignored
)

var desiredStateNames = enumNames[DesiredState]{kind: "desired state", names: []string{"", "latest", "this-version", "newer-or-equal", "older-or-equal", "any-version", "update-if-found", "uninstalled", "ignored"}}

// String returns the fleet file's spelling.
func (v DesiredState) String() string { return desiredStateNames.str(v) }

// Valid reports whether v is a spelt value.
func (v DesiredState) Valid() bool { return desiredStateNames.valid(v) }

// MarshalText implements encoding.TextMarshaler.
func (v DesiredState) MarshalText() ([]byte, error) { return desiredStateNames.marshal(v) }

// UnmarshalText implements encoding.TextUnmarshaler; unknown spellings are an *EnumError.
func (v *DesiredState) UnmarshalText(b []byte) error { return desiredStateNames.unmarshal(v, b) }

// ParseDesiredState parses the fleet file's spelling of a desired state.
func ParseDesiredState(s string) (DesiredState, error) { return desiredStateNames.parse(s) }

// TaskMode is how a deployment runs a task.
type TaskMode uint8

// Values of TaskMode.
const (
	ModeUnset   TaskMode = iota // unset: a software deployment
	ModeEnforce                 // enforce: test; if false, set; test again
	ModeAudit                   // audit: test only
	ModeMonitor                 // monitor: get; the output is kept
	ModeIgnored                 // ignored
)

var taskModeNames = enumNames[TaskMode]{kind: "task mode", names: []string{"", "enforce", "audit", "monitor", "ignored"}}

// String returns the fleet file's spelling.
func (v TaskMode) String() string { return taskModeNames.str(v) }

// Valid reports whether v is a spelt value.
func (v TaskMode) Valid() bool { return taskModeNames.valid(v) }

// MarshalText implements encoding.TextMarshaler.
func (v TaskMode) MarshalText() ([]byte, error) { return taskModeNames.marshal(v) }

// UnmarshalText implements encoding.TextUnmarshaler; unknown spellings are an *EnumError.
func (v *TaskMode) UnmarshalText(b []byte) error { return taskModeNames.unmarshal(v, b) }

// ParseTaskMode parses the fleet file's spelling of a task mode.
func ParseTaskMode(s string) (TaskMode, error) { return taskModeNames.parse(s) }

// Enforcement is when a deployment takes part in a session.
type Enforcement uint8

// Values of Enforcement.
const (
	EnforcementRequired       Enforcement = iota // required: always
	EnforcementOptional                          // optional: only where approved for the computer
	EnforcementAdHoc                             // adhoc: only when the session names the deployment or its item
	EnforcementOnboardingOnly                    // onboarding: only in onboarding sessions
)

// The names of Enforcement's values before they took their type's prefix.
//
// Deprecated: use the Enforcement-prefixed names; these go in the next
// release.
const (
	Required       = EnforcementRequired
	Optional       = EnforcementOptional
	AdHoc          = EnforcementAdHoc
	OnboardingOnly = EnforcementOnboardingOnly
)

var enforcementNames = enumNames[Enforcement]{kind: "enforcement", names: []string{"required", "optional", "adhoc", "onboarding"}}

// String returns the fleet file's spelling.
func (v Enforcement) String() string { return enforcementNames.str(v) }

// Valid reports whether v is a spelt value.
func (v Enforcement) Valid() bool { return enforcementNames.valid(v) }

// MarshalText implements encoding.TextMarshaler.
func (v Enforcement) MarshalText() ([]byte, error) { return enforcementNames.marshal(v) }

// UnmarshalText implements encoding.TextUnmarshaler; unknown spellings are an *EnumError.
func (v *Enforcement) UnmarshalText(b []byte) error { return enforcementNames.unmarshal(v, b) }

// ParseEnforcement parses the fleet file's spelling of a enforcement.
func ParseEnforcement(s string) (Enforcement, error) { return enforcementNames.parse(s) }

// Origin is where a maintenance item comes from.
type Origin uint8

// Values of Origin.
const (
	OriginOwn    Origin = iota // own: the MSP's own item
	OriginGlobal               // global: the read-only global catalogue
)

var originNames = enumNames[Origin]{kind: "origin", names: []string{"own", "global"}}

// String returns the fleet file's spelling.
func (v Origin) String() string { return originNames.str(v) }

// Valid reports whether v is a spelt value.
func (v Origin) Valid() bool { return originNames.valid(v) }

// MarshalText implements encoding.TextMarshaler.
func (v Origin) MarshalText() ([]byte, error) { return originNames.marshal(v) }

// UnmarshalText implements encoding.TextUnmarshaler; unknown spellings are an *EnumError.
func (v *Origin) UnmarshalText(b []byte) error { return originNames.unmarshal(v, b) }

// ParseOrigin parses the fleet file's spelling of a origin.
func ParseOrigin(s string) (Origin, error) { return originNames.parse(s) }

// UpgradeStrategy is how a software is updated.
type UpgradeStrategy uint8

// Values of UpgradeStrategy.
const (
	UpgradeUnset            UpgradeStrategy = iota // unset: no strategy: an update fails with a clear reason
	UpgradeUninstallInstall                        // uninstall-install
	UpgradeInstallOver                             // install-over
	UpgradeScript                                  // upgrade-script
)

var upgradeStrategyNames = enumNames[UpgradeStrategy]{kind: "upgrade strategy", names: []string{"", "uninstall-install", "install-over", "upgrade-script"}}

// String returns the fleet file's spelling.
func (v UpgradeStrategy) String() string { return upgradeStrategyNames.str(v) }

// Valid reports whether v is a spelt value.
func (v UpgradeStrategy) Valid() bool { return upgradeStrategyNames.valid(v) }

// MarshalText implements encoding.TextMarshaler.
func (v UpgradeStrategy) MarshalText() ([]byte, error) { return upgradeStrategyNames.marshal(v) }

// UnmarshalText implements encoding.TextUnmarshaler; unknown spellings are an *EnumError.
func (v *UpgradeStrategy) UnmarshalText(b []byte) error { return upgradeStrategyNames.unmarshal(v, b) }

// ParseUpgradeStrategy parses the fleet file's spelling of a upgrade strategy.
func ParseUpgradeStrategy(s string) (UpgradeStrategy, error) { return upgradeStrategyNames.parse(s) }

// RepairStrategy is how a software whose test fails is repaired.
type RepairStrategy uint8

// Values of RepairStrategy.
const (
	RepairUnset            RepairStrategy = iota // unset
	RepairUninstallInstall                       // uninstall-install
	RepairInstallOver                            // install-over
	RepairScript                                 // repair-script
)

var repairStrategyNames = enumNames[RepairStrategy]{kind: "repair strategy", names: []string{"", "uninstall-install", "install-over", "repair-script"}}

// String returns the fleet file's spelling.
func (v RepairStrategy) String() string { return repairStrategyNames.str(v) }

// Valid reports whether v is a spelt value.
func (v RepairStrategy) Valid() bool { return repairStrategyNames.valid(v) }

// MarshalText implements encoding.TextMarshaler.
func (v RepairStrategy) MarshalText() ([]byte, error) { return repairStrategyNames.marshal(v) }

// UnmarshalText implements encoding.TextUnmarshaler; unknown spellings are an *EnumError.
func (v *RepairStrategy) UnmarshalText(b []byte) error { return repairStrategyNames.unmarshal(v, b) }

// ParseRepairStrategy parses the fleet file's spelling of a repair strategy.
func ParseRepairStrategy(s string) (RepairStrategy, error) { return repairStrategyNames.parse(s) }

// Condition is what a prerequisite tests on its subjects.
type Condition uint8

// Values of Condition.
const (
	ConditionUnset        Condition = iota // unset
	ConditionInstalled                     // installed
	ConditionNotInstalled                  // not-installed
)

var conditionNames = enumNames[Condition]{kind: "prerequisite condition", names: []string{"", "installed", "not-installed"}}

// String returns the fleet file's spelling.
func (v Condition) String() string { return conditionNames.str(v) }

// Valid reports whether v is a spelt value.
func (v Condition) Valid() bool { return conditionNames.valid(v) }

// MarshalText implements encoding.TextMarshaler.
func (v Condition) MarshalText() ([]byte, error) { return conditionNames.marshal(v) }

// UnmarshalText implements encoding.TextUnmarshaler; unknown spellings are an *EnumError.
func (v *Condition) UnmarshalText(b []byte) error { return conditionNames.unmarshal(v, b) }

// ParseCondition parses the fleet file's spelling of a prerequisite condition.
func ParseCondition(s string) (Condition, error) { return conditionNames.parse(s) }

// Quantifier is whether any or all of a prerequisite's subjects must meet the condition.
type Quantifier uint8

// Values of Quantifier.
const (
	QuantifierAnyOf Quantifier = iota // any-of
	QuantifierAllOf                   // all-of
)

// The names of Quantifier's values before they took their type's prefix.
//
// Deprecated: use QuantifierAnyOf and QuantifierAllOf; these go in the next
// release.
const (
	AnyOf = QuantifierAnyOf
	AllOf = QuantifierAllOf
)

var quantifierNames = enumNames[Quantifier]{kind: "prerequisite quantifier", names: []string{"any-of", "all-of"}}

// String returns the fleet file's spelling.
func (v Quantifier) String() string { return quantifierNames.str(v) }

// Valid reports whether v is a spelt value.
func (v Quantifier) Valid() bool { return quantifierNames.valid(v) }

// MarshalText implements encoding.TextMarshaler.
func (v Quantifier) MarshalText() ([]byte, error) { return quantifierNames.marshal(v) }

// UnmarshalText implements encoding.TextUnmarshaler; unknown spellings are an *EnumError.
func (v *Quantifier) UnmarshalText(b []byte) error { return quantifierNames.unmarshal(v, b) }

// ParseQuantifier parses the fleet file's spelling of a prerequisite quantifier.
func ParseQuantifier(s string) (Quantifier, error) { return quantifierNames.parse(s) }

// PrereqAction is what a prerequisite does when its condition holds.
type PrereqAction uint8

// Values of PrereqAction.
const (
	PrereqUnset     PrereqAction = iota // unset
	PrereqInstall                       // install
	PrereqUninstall                     // uninstall
	PrereqFail                          // fail: fail the dependent before anything runs
)

var prereqActionNames = enumNames[PrereqAction]{kind: "prerequisite action", names: []string{"", "install", "uninstall", "fail"}}

// String returns the fleet file's spelling.
func (v PrereqAction) String() string { return prereqActionNames.str(v) }

// Valid reports whether v is a spelt value.
func (v PrereqAction) Valid() bool { return prereqActionNames.valid(v) }

// MarshalText implements encoding.TextMarshaler.
func (v PrereqAction) MarshalText() ([]byte, error) { return prereqActionNames.marshal(v) }

// UnmarshalText implements encoding.TextUnmarshaler; unknown spellings are an *EnumError.
func (v *PrereqAction) UnmarshalText(b []byte) error { return prereqActionNames.unmarshal(v, b) }

// ParsePrereqAction parses the fleet file's spelling of a prerequisite action.
func ParsePrereqAction(s string) (PrereqAction, error) { return prereqActionNames.parse(s) }

// OrderLocation is where an item's actions go in a session.
type OrderLocation uint8

// Values of OrderLocation.
const (
	OrderUnordered OrderLocation = iota // unordered: by id, between the two others
	OrderBeginning                      // beginning
	OrderEnd                            // end
)

var orderLocationNames = enumNames[OrderLocation]{kind: "order location", names: []string{"unordered", "beginning", "end"}}

// String returns the fleet file's spelling.
func (v OrderLocation) String() string { return orderLocationNames.str(v) }

// Valid reports whether v is a spelt value.
func (v OrderLocation) Valid() bool { return orderLocationNames.valid(v) }

// MarshalText implements encoding.TextMarshaler.
func (v OrderLocation) MarshalText() ([]byte, error) { return orderLocationNames.marshal(v) }

// UnmarshalText implements encoding.TextUnmarshaler; unknown spellings are an *EnumError.
func (v *OrderLocation) UnmarshalText(b []byte) error { return orderLocationNames.unmarshal(v, b) }

// ParseOrderLocation parses the fleet file's spelling of a order location.
func ParseOrderLocation(s string) (OrderLocation, error) { return orderLocationNames.parse(s) }

// TaskCategory is what a task runs against.
type TaskCategory uint8

// Values of TaskCategory.
const (
	TaskComputer TaskCategory = iota // computer
	TaskTenant                       // tenant: a cloud task
	TaskPerson                       // person
)

var taskCategoryNames = enumNames[TaskCategory]{kind: "task category", names: []string{"computer", "tenant", "person"}}

// String returns the fleet file's spelling.
func (v TaskCategory) String() string { return taskCategoryNames.str(v) }

// Valid reports whether v is a spelt value.
func (v TaskCategory) Valid() bool { return taskCategoryNames.valid(v) }

// MarshalText implements encoding.TextMarshaler.
func (v TaskCategory) MarshalText() ([]byte, error) { return taskCategoryNames.marshal(v) }

// UnmarshalText implements encoding.TextUnmarshaler; unknown spellings are an *EnumError.
func (v *TaskCategory) UnmarshalText(b []byte) error { return taskCategoryNames.unmarshal(v, b) }

// ParseTaskCategory parses the fleet file's spelling of a task category.
func ParseTaskCategory(s string) (TaskCategory, error) { return taskCategoryNames.parse(s) }

// ParamType is the type of a task parameter.
type ParamType uint8

// Values of ParamType.
const (
	ParamText     ParamType = iota // text
	ParamNumber                    // number
	ParamBoolean                   // boolean
	ParamSelect                    // select
	ParamPassword                  // password: a secret: never logged
	ParamURI                       // uri
	ParamKeyValue                  // key-value
	ParamFile                      // file
)

var paramTypeNames = enumNames[ParamType]{kind: "parameter type", names: []string{"text", "number", "boolean", "select", "password", "uri", "key-value", "file"}}

// String returns the fleet file's spelling.
func (v ParamType) String() string { return paramTypeNames.str(v) }

// Valid reports whether v is a spelt value.
func (v ParamType) Valid() bool { return paramTypeNames.valid(v) }

// MarshalText implements encoding.TextMarshaler.
func (v ParamType) MarshalText() ([]byte, error) { return paramTypeNames.marshal(v) }

// UnmarshalText implements encoding.TextUnmarshaler; unknown spellings are an *EnumError.
func (v *ParamType) UnmarshalText(b []byte) error { return paramTypeNames.unmarshal(v, b) }

// ParseParamType parses the fleet file's spelling of a parameter type.
func ParseParamType(s string) (ParamType, error) { return paramTypeNames.parse(s) }

// ScriptLanguage is the language of a script.
type ScriptLanguage uint8

// Values of ScriptLanguage.
const (
	LanguageUnset      ScriptLanguage = iota // unset
	LanguagePowerShell                       // powershell
	LanguageCmd                              // cmd
	LanguageShell                            // sh
	LanguageLua                              // lua
)

// The names of ScriptLanguage's values before they took their type's prefix.
//
// Deprecated: use the Language-prefixed names; these go in the next release.
const (
	PowerShell = LanguagePowerShell
	Cmd        = LanguageCmd
	Shell      = LanguageShell
	Lua        = LanguageLua
)

var scriptLanguageNames = enumNames[ScriptLanguage]{kind: "script language", names: []string{"", "powershell", "cmd", "sh", "lua"}}

// String returns the fleet file's spelling.
func (v ScriptLanguage) String() string { return scriptLanguageNames.str(v) }

// Valid reports whether v is a spelt value.
func (v ScriptLanguage) Valid() bool { return scriptLanguageNames.valid(v) }

// MarshalText implements encoding.TextMarshaler.
func (v ScriptLanguage) MarshalText() ([]byte, error) { return scriptLanguageNames.marshal(v) }

// UnmarshalText implements encoding.TextUnmarshaler; unknown spellings are an *EnumError.
func (v *ScriptLanguage) UnmarshalText(b []byte) error { return scriptLanguageNames.unmarshal(v, b) }

// ParseScriptLanguage parses the fleet file's spelling of a script language.
func ParseScriptLanguage(s string) (ScriptLanguage, error) { return scriptLanguageNames.parse(s) }

// ScriptContext is where and as whom a script runs.
type ScriptContext uint8

// Values of ScriptContext.
const (
	ContextSystem     ScriptContext = iota // system: on the computer, privileged
	ContextUser                            // user: as the logged-on user
	ContextMetascript                      // metascript: Lua on the server, bound to a computer
	ContextCloud                           // cloud: Lua on the server, bound to a tenant
)

var scriptContextNames = enumNames[ScriptContext]{kind: "script context", names: []string{"system", "user", "metascript", "cloud"}}

// String returns the fleet file's spelling.
func (v ScriptContext) String() string { return scriptContextNames.str(v) }

// Valid reports whether v is a spelt value.
func (v ScriptContext) Valid() bool { return scriptContextNames.valid(v) }

// MarshalText implements encoding.TextMarshaler.
func (v ScriptContext) MarshalText() ([]byte, error) { return scriptContextNames.marshal(v) }

// UnmarshalText implements encoding.TextUnmarshaler; unknown spellings are an *EnumError.
func (v *ScriptContext) UnmarshalText(b []byte) error { return scriptContextNames.unmarshal(v, b) }

// ParseScriptContext parses the fleet file's spelling of a script context.
func ParseScriptContext(s string) (ScriptContext, error) { return scriptContextNames.parse(s) }

// GroupKind is what a group holds.
type GroupKind uint8

// Values of GroupKind.
const (
	GroupUnset     GroupKind = iota // unset
	GroupPersons                    // persons: a user group
	GroupComputers                  // computers: a static computer group
)

var groupKindNames = enumNames[GroupKind]{kind: "group kind", names: []string{"", "persons", "computers"}}

// String returns the fleet file's spelling.
func (v GroupKind) String() string { return groupKindNames.str(v) }

// Valid reports whether v is a spelt value.
func (v GroupKind) Valid() bool { return groupKindNames.valid(v) }

// MarshalText implements encoding.TextMarshaler.
func (v GroupKind) MarshalText() ([]byte, error) { return groupKindNames.marshal(v) }

// UnmarshalText implements encoding.TextUnmarshaler; unknown spellings are an *EnumError.
func (v *GroupKind) UnmarshalText(b []byte) error { return groupKindNames.unmarshal(v, b) }

// ParseGroupKind parses the fleet file's spelling of a group kind.
func ParseGroupKind(s string) (GroupKind, error) { return groupKindNames.parse(s) }

// ItemKind is whether a maintenance item is a software or a task.
type ItemKind uint8

// Values of ItemKind.
const (
	ItemSoftware ItemKind = iota // software
	ItemTask                     // task
)

var itemKindNames = enumNames[ItemKind]{kind: "item kind", names: []string{"software", "task"}}

// String returns the fleet file's spelling.
func (v ItemKind) String() string { return itemKindNames.str(v) }

// Valid reports whether v is a spelt value.
func (v ItemKind) Valid() bool { return itemKindNames.valid(v) }

// MarshalText implements encoding.TextMarshaler.
func (v ItemKind) MarshalText() ([]byte, error) { return itemKindNames.marshal(v) }

// UnmarshalText implements encoding.TextUnmarshaler; unknown spellings are an *EnumError.
func (v *ItemKind) UnmarshalText(b []byte) error { return itemKindNames.unmarshal(v, b) }

// ParseItemKind parses the fleet file's spelling of a item kind.
func ParseItemKind(s string) (ItemKind, error) { return itemKindNames.parse(s) }
