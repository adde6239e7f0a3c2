package fleetfile

import "go.yaml.in/yaml/v3"

// The types below mirror the YAML of a fleet file, key for key. They are decoded
// from the parsed node tree by decode.go (which knows every key from the yaml
// tags, so a key missing here is an "unknown key" in a file) and encoded by
// yaml.v3 in Write. Enumerations, versions and dates stay strings here; the
// conversion to immy types (convert.go) parses them and reports bad ones with
// their field.

type fileDTO struct {
	Version     *int            `yaml:"version,omitempty"`
	At          string          `yaml:"at,omitempty"`
	Tenants     []tenantDTO     `yaml:"tenants,omitempty"`
	Persons     []personDTO     `yaml:"persons,omitempty"`
	Computers   []computerDTO   `yaml:"computers,omitempty"`
	Groups      []groupDTO      `yaml:"groups,omitempty"`
	Agreements  []agreementDTO  `yaml:"agreements,omitempty"`
	Software    []softwareDTO   `yaml:"software,omitempty"`
	Tasks       []taskDTO       `yaml:"tasks,omitempty"`
	Deployments []deploymentDTO `yaml:"deployments,omitempty"`
	Schedules   []scheduleDTO   `yaml:"schedules,omitempty"`
}

type tenantDTO struct {
	ID                     string            `yaml:"id"`
	Name                   string            `yaml:"name,omitempty"`
	Parent                 string            `yaml:"parent,omitempty"`
	Tags                   []string          `yaml:"tags,omitempty,flow"`
	ExcludeFromCrossTenant bool              `yaml:"exclude_from_cross_tenant,omitempty"`
	TimeZone               string            `yaml:"time_zone,omitempty"`
	BusinessHours          *businessHoursDTO `yaml:"business_hours,omitempty"`
}

type businessHoursDTO struct {
	Start    string   `yaml:"start"`
	End      string   `yaml:"end"`
	Weekdays []string `yaml:"weekdays,omitempty,flow"`
}

type personDTO struct {
	ID     string   `yaml:"id"`
	Tenant string   `yaml:"tenant"`
	Name   string   `yaml:"name,omitempty"`
	UPN    string   `yaml:"upn,omitempty"`
	Tags   []string `yaml:"tags,omitempty,flow"`
}

type computerDTO struct {
	ID                      string            `yaml:"id"`
	Tenant                  string            `yaml:"tenant"`
	Name                    string            `yaml:"name,omitempty"`
	UUID                    string            `yaml:"uuid,omitempty"`
	Serial                  string            `yaml:"serial,omitempty"`
	Manufacturer            string            `yaml:"manufacturer,omitempty"`
	Model                   string            `yaml:"model,omitempty"`
	OSInstallID             string            `yaml:"os_install_id,omitempty"`
	Kind                    string            `yaml:"kind,omitempty"`
	OS                      string            `yaml:"os,omitempty"`
	TimeZone                string            `yaml:"time_zone,omitempty"`
	Tags                    []string          `yaml:"tags,omitempty,flow"`
	Online                  bool              `yaml:"online,omitempty"`
	Onboarding              string            `yaml:"onboarding,omitempty"`
	ExcludedFromMaintenance bool              `yaml:"excluded_from_maintenance,omitempty"`
	UPNs                    []string          `yaml:"upns,omitempty,flow"`
	Attributes              map[string]string `yaml:"attributes,omitempty,flow"`
	Software                []detectedDTO     `yaml:"software,omitempty"`
	Tasks                   map[string]bool   `yaml:"tasks,omitempty,flow"`
	DeviceGroups            []string          `yaml:"device_groups,omitempty,flow"`
	Pathways                []pathwayDTO      `yaml:"pathways,omitempty"`
}

type detectedDTO struct {
	Name        string `yaml:"name"`
	Version     string `yaml:"version,omitempty"`
	Publisher   string `yaml:"publisher,omitempty"`
	ProductCode string `yaml:"product_code,omitempty"`
	UpgradeCode string `yaml:"upgrade_code,omitempty"`
}

type pathwayDTO struct {
	Integration string `yaml:"integration,omitempty"`
	AgentID     string `yaml:"agent_id"`
	Online      bool   `yaml:"online,omitempty"`
	Priority    int    `yaml:"priority,omitempty"`
}

type groupDTO struct {
	ID      string   `yaml:"id"`
	Tenant  string   `yaml:"tenant,omitempty"`
	Name    string   `yaml:"name,omitempty"`
	Kind    string   `yaml:"kind"`
	Members []string `yaml:"members,omitempty,flow"`
	Groups  []string `yaml:"groups,omitempty,flow"`
}

type agreementDTO struct {
	ID          string `yaml:"id"`
	Tenant      string `yaml:"tenant"`
	ClientGroup string `yaml:"client_group"`
	From        string `yaml:"from,omitempty"`
	To          string `yaml:"to,omitempty"`
}

type softwareDTO struct {
	ID                string            `yaml:"id"`
	Name              string            `yaml:"name"`
	Origin            string            `yaml:"origin,omitempty"`
	Tenant            string            `yaml:"tenant,omitempty"`
	Detection         detectionDTO      `yaml:"detection"`
	Versions          []versionDTO      `yaml:"versions,omitempty"`
	UpgradeStrategy   string            `yaml:"upgrade_strategy,omitempty"`
	RepairStrategy    string            `yaml:"repair_strategy,omitempty"`
	Install           *scriptDTO        `yaml:"install,omitempty"`
	Uninstall         *scriptDTO        `yaml:"uninstall,omitempty"`
	Upgrade           *scriptDTO        `yaml:"upgrade,omitempty"`
	Repair            *scriptDTO        `yaml:"repair,omitempty"`
	Test              *scriptDTO        `yaml:"test,omitempty"`
	Prerequisites     []prerequisiteDTO `yaml:"prerequisites,omitempty"`
	ConfigurationTask string            `yaml:"configuration_task,omitempty"`
	Order             *orderDTO         `yaml:"order,omitempty,flow"`
}

type detectionDTO struct {
	// DisplayName and Publisher are a glob or a list of globs: read as
	// nodes, converted by globs
	DisplayName *yaml.Node      `yaml:"display_name,omitempty"`
	Regex       string          `yaml:"regex,omitempty"`
	ProductCode string          `yaml:"product_code,omitempty"`
	UpgradeCode string          `yaml:"upgrade_code,omitempty"`
	Script      *scriptDTO      `yaml:"script,omitempty"`
	Publisher   *yaml.Node      `yaml:"publisher,omitempty"`
	Versions    string          `yaml:"versions,omitempty"`
	VersionMap  []versionMapDTO `yaml:"version_map,omitempty"`
}

type versionMapDTO struct {
	Match string `yaml:"match"`
	To    string `yaml:"to"`
}

type versionDTO struct {
	Version         string            `yaml:"version"`
	UpgradeStrategy string            `yaml:"upgrade_strategy,omitempty"`
	Install         *scriptDTO        `yaml:"install,omitempty"`
	Uninstall       *scriptDTO        `yaml:"uninstall,omitempty"`
	Upgrade         *scriptDTO        `yaml:"upgrade,omitempty"`
	Prerequisites   []prerequisiteDTO `yaml:"prerequisites,omitempty"`
}

type prerequisiteDTO struct {
	If      string   `yaml:"if"`
	AnyOf   []string `yaml:"any_of,omitempty"`
	AllOf   []string `yaml:"all_of,omitempty"`
	Then    string   `yaml:"then"`
	On      []string `yaml:"on,omitempty"`
	Version string   `yaml:"version,omitempty"`
}

type orderDTO struct {
	Location string `yaml:"location,omitempty"`
	Position int    `yaml:"position,omitempty"`
}

type scriptDTO struct {
	Language string `yaml:"language,omitempty"`
	Context  string `yaml:"context,omitempty"`
	Body     string `yaml:"body"`
}

type taskDTO struct {
	ID              string         `yaml:"id"`
	Name            string         `yaml:"name,omitempty"`
	Origin          string         `yaml:"origin,omitempty"`
	Tenant          string         `yaml:"tenant,omitempty"`
	Category        string         `yaml:"category,omitempty"`
	OnboardingOnly  bool           `yaml:"onboarding_only,omitempty"`
	ExecuteSerially bool           `yaml:"execute_serially,omitempty"`
	Parameters      []parameterDTO `yaml:"parameters,omitempty"`
	Script          *scriptDTO     `yaml:"script,omitempty"`
	Get             *scriptDTO     `yaml:"get,omitempty"`
	Set             *scriptDTO     `yaml:"set,omitempty"`
	Test            *scriptDTO     `yaml:"test,omitempty"`
	Order           *orderDTO      `yaml:"order,omitempty,flow"`
}

type parameterDTO struct {
	Name     string     `yaml:"name"`
	Type     string     `yaml:"type,omitempty"`
	Required bool       `yaml:"required,omitempty"`
	Default  *yaml.Node `yaml:"default,omitempty"`
	Options  []string   `yaml:"options,omitempty"`
}

type deploymentDTO struct {
	ID          string                `yaml:"id"`
	Item        string                `yaml:"item"`
	Target      targetDTO             `yaml:"target"`
	Desired     string                `yaml:"desired,omitempty"`
	Version     string                `yaml:"version,omitempty"`
	Mode        string                `yaml:"mode,omitempty"`
	Enforcement string                `yaml:"enforcement,omitempty"`
	Priority    int                   `yaml:"priority,omitempty"`
	Recommended bool                  `yaml:"recommended,omitempty"`
	Enabled     *bool                 `yaml:"enabled,omitempty"`
	Parameters  map[string]*yaml.Node `yaml:"parameters,omitempty,flow"`
	ApprovedFor []string              `yaml:"approved_for,omitempty,flow"`
	Visibility  *visibilityDTO        `yaml:"visibility,omitempty,flow"`
}

type targetDTO struct {
	Category            string `yaml:"category,omitempty"`
	Type                string `yaml:"type"`
	Tenant              string `yaml:"tenant,omitempty"`
	Filter              string `yaml:"filter,omitempty"`
	PropagateToChildren bool   `yaml:"propagate_to_children,omitempty"`
	Computer            string `yaml:"computer,omitempty"`
	Person              string `yaml:"person,omitempty"`
	Tag                 string `yaml:"tag,omitempty"`
	Group               string `yaml:"group,omitempty"`
	Expr                string `yaml:"expr,omitempty"`
	Lua                 string `yaml:"lua,omitempty"`
	ClientGroup         string `yaml:"client_group,omitempty"`
	DeviceGroup         string `yaml:"device_group,omitempty"`
}

type visibilityDTO struct {
	Ticket   bool `yaml:"ticket,omitempty"`
	Tenant   bool `yaml:"tenant,omitempty"`
	Person   bool `yaml:"person,omitempty"`
	Computer bool `yaml:"computer,omitempty"`
}

type scheduleDTO struct {
	ID                         string     `yaml:"id"`
	Cron                       string     `yaml:"cron"`
	TimeZone                   string     `yaml:"time_zone,omitempty"`
	ExecuteAfterMinutes        int        `yaml:"execute_after_minutes,omitempty"`
	ExecuteRightAfterDetection bool       `yaml:"execute_right_after_detection,omitempty"`
	Item                       string     `yaml:"item,omitempty"`
	Target                     *targetDTO `yaml:"target,omitempty"`
	JitterMinutes              int        `yaml:"jitter_minutes,omitempty"`
	Enabled                    *bool      `yaml:"enabled,omitempty"`
}
