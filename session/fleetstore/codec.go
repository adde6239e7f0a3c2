package fleetstore

import (
	"encoding"
	"encoding/json"
	"fmt"
	"time"

	"github.com/immyoss/engine/immy"
)

// The stored form of each entity: JSON with names of its own, so that a
// renamed Go field never changes what a database holds. Enumerations are kept
// in the fleet file's spelling, versions and dates as text. A computer's row
// holds its admin-owned fields only; its inventory has a row of its own.

type tenantDoc struct {
	ID                     string    `json:"id"`
	Name                   string    `json:"name,omitempty"`
	Parent                 string    `json:"parent,omitempty"`
	Tags                   []string  `json:"tags,omitempty"`
	ExcludeFromCrossTenant bool      `json:"exclude_from_cross_tenant,omitempty"`
	TimeZone               string    `json:"time_zone,omitempty"`
	BusinessHours          *hoursDoc `json:"business_hours,omitempty"`
}

type hoursDoc struct {
	Start    string         `json:"start,omitempty"`
	End      string         `json:"end,omitempty"`
	Weekdays []time.Weekday `json:"weekdays,omitempty"`
}

type personDoc struct {
	ID     string   `json:"id"`
	Tenant string   `json:"tenant,omitempty"`
	Name   string   `json:"name,omitempty"`
	UPN    string   `json:"upn,omitempty"`
	Tags   []string `json:"tags,omitempty"`
}

// computerDoc is a computer's admin-owned fields.
type computerDoc struct {
	ID                      string            `json:"id"`
	Tenant                  string            `json:"tenant,omitempty"`
	Name                    string            `json:"name,omitempty"`
	UUID                    string            `json:"uuid,omitempty"`
	Serial                  string            `json:"serial,omitempty"`
	Manufacturer            string            `json:"manufacturer,omitempty"`
	Model                   string            `json:"model,omitempty"`
	OSInstallID             string            `json:"os_install_id,omitempty"`
	Kind                    string            `json:"kind,omitempty"`
	TimeZone                string            `json:"time_zone,omitempty"`
	Tags                    []string          `json:"tags,omitempty"`
	Attributes              map[string]string `json:"attributes,omitempty"`
	Onboarding              string            `json:"onboarding,omitempty"`
	ExcludedFromMaintenance bool              `json:"excluded_from_maintenance,omitempty"`
	DeviceGroups            []string          `json:"device_groups,omitempty"`
	Pathways                []pathwayDoc      `json:"pathways,omitempty"`
}

type pathwayDoc struct {
	Integration string `json:"integration,omitempty"`
	AgentID     string `json:"agent_id,omitempty"`
	Online      bool   `json:"online,omitempty"`
	Priority    int    `json:"priority,omitempty"`
}

// inventoryDoc is what agents and sessions find on a computer.
type inventoryDoc struct {
	OS       string          `json:"os,omitempty"`
	Online   bool            `json:"online,omitempty"`
	LastSeen string          `json:"last_seen,omitempty"`
	UPNs     []string        `json:"upns,omitempty"`
	Software []detectedDoc   `json:"software,omitempty"`
	Tasks    map[string]bool `json:"tasks,omitempty"`
}

type detectedDoc struct {
	Name        string `json:"name"`
	Version     string `json:"version,omitempty"`
	ProductCode string `json:"product_code,omitempty"`
	UpgradeCode string `json:"upgrade_code,omitempty"`
	Publisher   string `json:"publisher,omitempty"`
}

type groupDoc struct {
	ID      string   `json:"id"`
	Tenant  string   `json:"tenant,omitempty"`
	Name    string   `json:"name,omitempty"`
	Kind    string   `json:"kind,omitempty"`
	Members []string `json:"members,omitempty"`
	Groups  []string `json:"groups,omitempty"`
}

type agreementDoc struct {
	ID          string `json:"id"`
	Tenant      string `json:"tenant,omitempty"`
	ClientGroup string `json:"client_group,omitempty"`
	From        string `json:"from,omitempty"`
	To          string `json:"to,omitempty"`
}

type scriptDoc struct {
	Language string `json:"language,omitempty"`
	Context  string `json:"context,omitempty"`
	Body     string `json:"body,omitempty"`
}

type softwareDoc struct {
	ID                string       `json:"id"`
	Name              string       `json:"name,omitempty"`
	Origin            string       `json:"origin,omitempty"`
	Tenant            string       `json:"tenant,omitempty"`
	Detection         detectionDoc `json:"detection"`
	Versions          []versionDoc `json:"versions,omitempty"`
	UpgradeStrategy   string       `json:"upgrade_strategy,omitempty"`
	RepairStrategy    string       `json:"repair_strategy,omitempty"`
	Install           *scriptDoc   `json:"install,omitempty"`
	Uninstall         *scriptDoc   `json:"uninstall,omitempty"`
	Upgrade           *scriptDoc   `json:"upgrade,omitempty"`
	Repair            *scriptDoc   `json:"repair,omitempty"`
	Test              *scriptDoc   `json:"test,omitempty"`
	Prerequisites     []prereqDoc  `json:"prerequisites,omitempty"`
	ConfigurationTask string       `json:"configuration_task,omitempty"`
	Order             orderDoc     `json:"order"`
	Dynamic           *dynamicDoc  `json:"dynamic,omitempty"`
}

// dynamicDoc and installerDoc: immy.DynamicSource and immy.Installer (issue 22).
type dynamicDoc struct {
	Script      *scriptDoc `json:"script,omitempty"`
	Integration string     `json:"integration,omitempty"`
	Name        string     `json:"name,omitempty"`
}

type installerDoc struct {
	URL      string `json:"url"`
	SHA256   string `json:"sha256"`
	FileName string `json:"file_name,omitempty"`
}

type detectionDoc struct {
	DisplayName  string       `json:"display_name,omitempty"`
	DisplayNames []string     `json:"display_names,omitempty"`
	Regex        string       `json:"regex,omitempty"`
	ProductCode  string       `json:"product_code,omitempty"`
	UpgradeCode  string       `json:"upgrade_code,omitempty"`
	Script       *scriptDoc   `json:"script,omitempty"`
	Publishers   []string     `json:"publishers,omitempty"`
	Versions     string       `json:"versions,omitempty"`
	VersionMap   []mappingDoc `json:"version_map,omitempty"`
}

type mappingDoc struct {
	Match string `json:"match,omitempty"`
	To    string `json:"to,omitempty"`
}

type versionDoc struct {
	Version         string        `json:"version"`
	UpgradeStrategy string        `json:"upgrade_strategy,omitempty"`
	Install         *scriptDoc    `json:"install,omitempty"`
	Uninstall       *scriptDoc    `json:"uninstall,omitempty"`
	Upgrade         *scriptDoc    `json:"upgrade,omitempty"`
	Prerequisites   []prereqDoc   `json:"prerequisites,omitempty"`
	Installer       *installerDoc `json:"installer,omitempty"`
}

type prereqDoc struct {
	Condition  string   `json:"if,omitempty"`
	Quantifier string   `json:"quantifier,omitempty"`
	Subjects   []string `json:"subjects,omitempty"`
	Then       string   `json:"then,omitempty"`
	On         []string `json:"on,omitempty"`
	Version    string   `json:"version,omitempty"`
}

type orderDoc struct {
	Location string `json:"location,omitempty"`
	Position int    `json:"position,omitempty"`
}

type taskDoc struct {
	ID              string     `json:"id"`
	Name            string     `json:"name,omitempty"`
	Origin          string     `json:"origin,omitempty"`
	Tenant          string     `json:"tenant,omitempty"`
	Category        string     `json:"category,omitempty"`
	OnboardingOnly  bool       `json:"onboarding_only,omitempty"`
	ExecuteSerially bool       `json:"execute_serially,omitempty"`
	Parameters      []paramDoc `json:"parameters,omitempty"`
	Script          *scriptDoc `json:"script,omitempty"`
	Get             *scriptDoc `json:"get,omitempty"`
	Set             *scriptDoc `json:"set,omitempty"`
	Test            *scriptDoc `json:"test,omitempty"`
	Order           orderDoc   `json:"order"`
}

type paramDoc struct {
	Name     string          `json:"name"`
	Type     string          `json:"type,omitempty"`
	Required bool            `json:"required,omitempty"`
	Default  json.RawMessage `json:"default,omitempty"`
	Options  []string        `json:"options,omitempty"`
}

type targetDoc struct {
	Category            string `json:"category,omitempty"`
	Type                string `json:"type,omitempty"`
	Tenant              string `json:"tenant,omitempty"`
	Filter              string `json:"filter,omitempty"`
	PropagateToChildren bool   `json:"propagate_to_children,omitempty"`
	Computer            string `json:"computer,omitempty"`
	Person              string `json:"person,omitempty"`
	Tag                 string `json:"tag,omitempty"`
	Group               string `json:"group,omitempty"`
	Expr                string `json:"expr,omitempty"`
	Lua                 string `json:"lua,omitempty"`
	ClientGroup         string `json:"client_group,omitempty"`
	DeviceGroup         string `json:"device_group,omitempty"`
}

type deploymentDoc struct {
	ID          string                     `json:"id"`
	Item        string                     `json:"item,omitempty"`
	Target      targetDoc                  `json:"target"`
	Desired     string                     `json:"desired,omitempty"`
	Version     string                     `json:"version,omitempty"`
	Mode        string                     `json:"mode,omitempty"`
	Enforcement string                     `json:"enforcement,omitempty"`
	Priority    int                        `json:"priority,omitempty"`
	Recommended bool                       `json:"recommended,omitempty"`
	Disabled    bool                       `json:"disabled,omitempty"`
	Parameters  map[string]json.RawMessage `json:"parameters,omitempty"`
	ApprovedFor []string                   `json:"approved_for,omitempty"`
	Visibility  visibilityDoc              `json:"visibility"`
}

type visibilityDoc struct {
	Ticket   bool `json:"ticket,omitempty"`
	Tenant   bool `json:"tenant,omitempty"`
	Person   bool `json:"person,omitempty"`
	Computer bool `json:"computer,omitempty"`
}

type scheduleDoc struct {
	ID                         string    `json:"id"`
	Cron                       string    `json:"cron,omitempty"`
	TimeZone                   string    `json:"time_zone,omitempty"`
	ExecuteAfterMinutes        int       `json:"execute_after_minutes,omitempty"`
	ExecuteRightAfterDetection bool      `json:"execute_right_after_detection,omitempty"`
	Item                       string    `json:"item,omitempty"`
	Target                     targetDoc `json:"target"`
	JitterMinutes              int       `json:"jitter_minutes,omitempty"`
	Disabled                   bool      `json:"disabled,omitempty"`
}

type settingsDoc struct {
	At string `json:"at,omitempty"`
}

// These four are the one place that knows how the vocabulary spells a
// deployment's or a schedule's switch; the stored form keeps "disabled".
func deploymentDisabled(d *immy.Deployment) bool       { return d.Disabled }
func setDeploymentDisabled(d *immy.Deployment, v bool) { d.Disabled = v }
func scheduleDisabled(s *immy.Schedule) bool           { return s.Disabled }
func setScheduleDisabled(s *immy.Schedule, v bool)     { s.Disabled = v }

// decoder collects the problems of decoding stored documents.
type decoder struct{ errs []error }

func (d *decoder) fail(what string, err error) {
	d.errs = append(d.errs, fmt.Errorf("%s: %w", what, err))
}

// text spells an enumeration value; the zero value of an enumeration that
// has no spelling is "".
func text[T encoding.TextMarshaler](v T) string {
	b, err := v.MarshalText()
	if err != nil {
		return ""
	}
	return string(b)
}

// parse reads an enumeration value written by text.
func parse[T any, P interface {
	*T
	encoding.TextUnmarshaler
}](d *decoder, what, s string) T {
	var v T
	if s == "" {
		return v
	}
	if err := P(&v).UnmarshalText([]byte(s)); err != nil {
		d.fail(what, err)
	}
	return v
}

func (d *decoder) version(what, s string) immy.Version {
	var v immy.Version
	if s == "" {
		return v
	}
	if err := v.UnmarshalText([]byte(s)); err != nil {
		d.fail(what, err)
	}
	return v
}

func (d *decoder) date(what, s string) immy.Date {
	var v immy.Date
	if err := v.UnmarshalText([]byte(s)); err != nil {
		d.fail(what, err)
	}
	return v
}

// value encodes a parameter value: text, a number, a boolean or a mapping of text.
func value(v any) json.RawMessage {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return b
}

// unvalue decodes a parameter value written by value: a mapping comes back
// as map[string]string, as the fleet file gives it.
func (d *decoder) unvalue(what string, b json.RawMessage) any {
	if len(b) == 0 {
		return nil
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		d.fail(what, err)
		return nil
	}
	if m, ok := v.(map[string]any); ok {
		out := make(map[string]string, len(m))
		for k, x := range m {
			s, ok := x.(string)
			if !ok {
				d.fail(what, fmt.Errorf("mapping value %q is not text", k))
			}
			out[k] = s
		}
		return out
	}
	return v
}

func scriptOut(s *immy.Script) *scriptDoc {
	if s == nil {
		return nil
	}
	return &scriptDoc{Language: text(s.Language), Context: text(s.Context), Body: s.Body}
}

func (d *decoder) script(what string, s *scriptDoc) *immy.Script {
	if s == nil {
		return nil
	}
	return &immy.Script{
		Language: parse[immy.ScriptLanguage](d, what+".language", s.Language),
		Context:  parse[immy.ScriptContext](d, what+".context", s.Context),
		Body:     s.Body,
	}
}

func tenantOut(t *immy.Tenant) *tenantDoc {
	out := &tenantDoc{ID: t.ID, Name: t.Name, Parent: t.Parent, Tags: t.Tags,
		ExcludeFromCrossTenant: t.ExcludeFromCrossTenant, TimeZone: t.TimeZone}
	if h := t.BusinessHours; h != nil {
		out.BusinessHours = &hoursDoc{Start: h.Start, End: h.End, Weekdays: h.Weekdays}
	}
	return out
}

func (x *tenantDoc) fleet(*decoder) immy.Tenant {
	t := immy.Tenant{ID: x.ID, Name: x.Name, Parent: x.Parent, Tags: x.Tags,
		ExcludeFromCrossTenant: x.ExcludeFromCrossTenant, TimeZone: x.TimeZone}
	if h := x.BusinessHours; h != nil {
		t.BusinessHours = &immy.BusinessHours{Start: h.Start, End: h.End, Weekdays: h.Weekdays}
	}
	return t
}

func personOut(p *immy.Person) *personDoc {
	return &personDoc{ID: p.ID, Tenant: p.Tenant, Name: p.Name, UPN: p.UPN, Tags: p.Tags}
}

func (x *personDoc) fleet(*decoder) immy.Person {
	return immy.Person{ID: x.ID, Tenant: x.Tenant, Name: x.Name, UPN: x.UPN, Tags: x.Tags}
}

func computerOut(c *immy.Computer) *computerDoc {
	out := &computerDoc{ID: c.ID, Tenant: c.Tenant, Name: c.Name, UUID: c.UUID, Serial: c.Serial,
		Manufacturer: c.Manufacturer, Model: c.Model, OSInstallID: c.OSInstallID, Kind: text(c.Kind),
		TimeZone: c.TimeZone, Tags: c.Tags, Attributes: c.Attributes, Onboarding: text(c.Onboarding),
		ExcludedFromMaintenance: c.ExcludedFromMaintenance, DeviceGroups: c.DeviceGroups}
	for _, p := range c.Pathways {
		out.Pathways = append(out.Pathways, pathwayDoc(p))
	}
	return out
}

func (x *computerDoc) fleet(d *decoder) immy.Computer {
	c := immy.Computer{ID: x.ID, Tenant: x.Tenant, Name: x.Name, UUID: x.UUID, Serial: x.Serial,
		Manufacturer: x.Manufacturer, Model: x.Model, OSInstallID: x.OSInstallID,
		Kind:     parse[immy.ComputerKind](d, "kind", x.Kind),
		TimeZone: x.TimeZone, Tags: x.Tags, Attributes: x.Attributes,
		Onboarding:              parse[immy.OnboardingStatus](d, "onboarding", x.Onboarding),
		ExcludedFromMaintenance: x.ExcludedFromMaintenance, DeviceGroups: x.DeviceGroups}
	for _, p := range x.Pathways {
		c.Pathways = append(c.Pathways, immy.Pathway(p))
	}
	return c
}

func inventoryOut(c *immy.Computer, lastSeen time.Time) *inventoryDoc {
	out := &inventoryDoc{OS: c.OS, Online: c.Online, UPNs: c.UPNs, Tasks: c.Tasks}
	if !lastSeen.IsZero() {
		out.LastSeen = lastSeen.UTC().Format(time.RFC3339Nano)
	}
	for _, s := range c.Software {
		out.Software = append(out.Software, detectedDoc{Name: s.Name, Version: s.Version.String(),
			ProductCode: s.ProductCode, UpgradeCode: s.UpgradeCode, Publisher: s.Publisher})
	}
	return out
}

// apply sets c's inventory fields from x and returns the time it was last seen.
func (x *inventoryDoc) apply(d *decoder, c *immy.Computer) time.Time {
	c.OS, c.Online, c.UPNs, c.Tasks = x.OS, x.Online, x.UPNs, x.Tasks
	c.Software = nil
	for i, s := range x.Software {
		c.Software = append(c.Software, immy.DetectedSoftware{Name: s.Name,
			Version:     d.version(fmt.Sprintf("software[%d].version", i), s.Version),
			ProductCode: s.ProductCode, UpgradeCode: s.UpgradeCode, Publisher: s.Publisher})
	}
	var seen time.Time
	if x.LastSeen != "" {
		var err error
		if seen, err = time.Parse(time.RFC3339Nano, x.LastSeen); err != nil {
			d.fail("last_seen", err)
		}
	}
	return seen
}

func groupOut(g *immy.Group) *groupDoc {
	return &groupDoc{ID: g.ID, Tenant: g.Tenant, Name: g.Name, Kind: text(g.Kind), Members: g.Members, Groups: g.Groups}
}

func (x *groupDoc) fleet(d *decoder) immy.Group {
	return immy.Group{ID: x.ID, Tenant: x.Tenant, Name: x.Name, Kind: parse[immy.GroupKind](d, "kind", x.Kind),
		Members: x.Members, Groups: x.Groups}
}

func agreementOut(a *immy.Agreement) *agreementDoc {
	return &agreementDoc{ID: a.ID, Tenant: a.Tenant, ClientGroup: a.ClientGroup, From: a.From.String(), To: a.To.String()}
}

func (x *agreementDoc) fleet(d *decoder) immy.Agreement {
	return immy.Agreement{ID: x.ID, Tenant: x.Tenant, ClientGroup: x.ClientGroup,
		From: d.date("from", x.From), To: d.date("to", x.To)}
}

func prereqsOut(ps []immy.Prerequisite) []prereqDoc {
	var out []prereqDoc
	for _, p := range ps {
		out = append(out, prereqDoc{Condition: text(p.Condition), Quantifier: text(p.Quantifier),
			Subjects: p.Subjects, Then: text(p.Then), On: p.On, Version: p.Version.String()})
	}
	return out
}

func (d *decoder) prereqs(what string, ps []prereqDoc) []immy.Prerequisite {
	var out []immy.Prerequisite
	for i, p := range ps {
		w := fmt.Sprintf("%s[%d]", what, i)
		out = append(out, immy.Prerequisite{
			Condition:  parse[immy.Condition](d, w+".if", p.Condition),
			Quantifier: parse[immy.Quantifier](d, w+".quantifier", p.Quantifier),
			Subjects:   p.Subjects,
			Then:       parse[immy.PrereqAction](d, w+".then", p.Then),
			On:         p.On,
			Version:    d.version(w+".version", p.Version),
		})
	}
	return out
}

func softwareOut(s *immy.Software) *softwareDoc {
	out := &softwareDoc{ID: s.ID, Name: s.Name, Origin: text(s.Origin), Tenant: s.Tenant,
		Detection:       detectionOut(&s.Detection),
		UpgradeStrategy: text(s.UpgradeStrategy), RepairStrategy: text(s.RepairStrategy),
		Install: scriptOut(s.Install), Uninstall: scriptOut(s.Uninstall), Upgrade: scriptOut(s.Upgrade),
		Repair: scriptOut(s.Repair), Test: scriptOut(s.Test), Prerequisites: prereqsOut(s.Prerequisites),
		ConfigurationTask: s.ConfigurationTask, Order: orderDoc{Location: text(s.Order.Location), Position: s.Order.Position}}
	for _, v := range s.Versions {
		out.Versions = append(out.Versions, versionDoc{Version: v.Version.String(), UpgradeStrategy: text(v.UpgradeStrategy),
			Install: scriptOut(v.Install), Uninstall: scriptOut(v.Uninstall), Upgrade: scriptOut(v.Upgrade),
			Prerequisites: prereqsOut(v.Prerequisites), Installer: (*installerDoc)(v.Installer)})
	}
	if s.Dynamic != nil {
		out.Dynamic = &dynamicDoc{Script: scriptOut(s.Dynamic.Script), Integration: s.Dynamic.Integration, Name: s.Dynamic.Name}
	}
	return out
}

func (x *softwareDoc) fleet(d *decoder) immy.Software {
	s := immy.Software{ID: x.ID, Name: x.Name, Origin: parse[immy.Origin](d, "origin", x.Origin), Tenant: x.Tenant,
		Detection:       x.Detection.fleet(d),
		UpgradeStrategy: parse[immy.UpgradeStrategy](d, "upgrade_strategy", x.UpgradeStrategy),
		RepairStrategy:  parse[immy.RepairStrategy](d, "repair_strategy", x.RepairStrategy),
		Install:         d.script("install", x.Install), Uninstall: d.script("uninstall", x.Uninstall),
		Upgrade: d.script("upgrade", x.Upgrade), Repair: d.script("repair", x.Repair), Test: d.script("test", x.Test),
		Prerequisites:     d.prereqs("prerequisites", x.Prerequisites),
		ConfigurationTask: x.ConfigurationTask,
		Order:             immy.Order{Location: parse[immy.OrderLocation](d, "order.location", x.Order.Location), Position: x.Order.Position},
	}
	for i, v := range x.Versions {
		w := fmt.Sprintf("versions[%d]", i)
		s.Versions = append(s.Versions, immy.SoftwareVersion{
			Version:         d.version(w+".version", v.Version),
			UpgradeStrategy: parse[immy.UpgradeStrategy](d, w+".upgrade_strategy", v.UpgradeStrategy),
			Install:         d.script(w+".install", v.Install), Uninstall: d.script(w+".uninstall", v.Uninstall),
			Upgrade: d.script(w+".upgrade", v.Upgrade), Prerequisites: d.prereqs(w+".prerequisites", v.Prerequisites),
			Installer: (*immy.Installer)(v.Installer),
		})
	}
	if x.Dynamic != nil {
		s.Dynamic = &immy.DynamicSource{Script: d.script("dynamic.script", x.Dynamic.Script), Integration: x.Dynamic.Integration, Name: x.Dynamic.Name}
	}
	return s
}

func detectionOut(x *immy.Detection) detectionDoc {
	out := detectionDoc{DisplayName: x.DisplayName, DisplayNames: x.DisplayNames, Regex: x.Regex,
		ProductCode: x.ProductCode, UpgradeCode: x.UpgradeCode, Script: scriptOut(x.Script),
		Publishers: x.Publishers, Versions: x.Versions}
	for _, m := range x.VersionMap {
		out.VersionMap = append(out.VersionMap, mappingDoc(m))
	}
	return out
}

func (x *detectionDoc) fleet(d *decoder) immy.Detection {
	out := immy.Detection{DisplayName: x.DisplayName, DisplayNames: x.DisplayNames, Regex: x.Regex,
		ProductCode: x.ProductCode, UpgradeCode: x.UpgradeCode, Script: d.script("detection.script", x.Script),
		Publishers: x.Publishers, Versions: x.Versions}
	for _, m := range x.VersionMap {
		out.VersionMap = append(out.VersionMap, immy.VersionMapping(m))
	}
	return out
}

func taskOut(t *immy.Task) *taskDoc {
	out := &taskDoc{ID: t.ID, Name: t.Name, Origin: text(t.Origin), Tenant: t.Tenant, Category: text(t.Category),
		OnboardingOnly: t.OnboardingOnly, ExecuteSerially: t.ExecuteSerially, Script: scriptOut(t.Script),
		Get: scriptOut(t.Get), Set: scriptOut(t.Set), Test: scriptOut(t.Test),
		Order: orderDoc{Location: text(t.Order.Location), Position: t.Order.Position}}
	for _, p := range t.Parameters {
		out.Parameters = append(out.Parameters, paramDoc{Name: p.Name, Type: text(p.Type), Required: p.Required,
			Default: value(p.Default), Options: p.Options})
	}
	return out
}

func (x *taskDoc) fleet(d *decoder) immy.Task {
	t := immy.Task{ID: x.ID, Name: x.Name, Origin: parse[immy.Origin](d, "origin", x.Origin), Tenant: x.Tenant,
		Category: parse[immy.TaskCategory](d, "category", x.Category), OnboardingOnly: x.OnboardingOnly,
		ExecuteSerially: x.ExecuteSerially, Script: d.script("script", x.Script), Get: d.script("get", x.Get),
		Set: d.script("set", x.Set), Test: d.script("test", x.Test),
		Order: immy.Order{Location: parse[immy.OrderLocation](d, "order.location", x.Order.Location), Position: x.Order.Position}}
	for i, p := range x.Parameters {
		w := fmt.Sprintf("parameters[%d]", i)
		t.Parameters = append(t.Parameters, immy.Parameter{Name: p.Name, Type: parse[immy.ParamType](d, w+".type", p.Type),
			Required: p.Required, Default: d.unvalue(w+".default", p.Default), Options: p.Options})
	}
	return t
}

func targetOut(t immy.Target) targetDoc {
	return targetDoc{Category: text(t.Category), Type: text(t.Type), Tenant: t.Tenant, Filter: text(t.Filter),
		PropagateToChildren: t.PropagateToChildren, Computer: t.Computer, Person: t.Person, Tag: t.Tag,
		Group: t.Group, Expr: t.Expr, Lua: t.Lua, ClientGroup: t.ClientGroup, DeviceGroup: t.DeviceGroup}
}

func (x targetDoc) fleet(d *decoder) immy.Target {
	return immy.Target{Category: parse[immy.TargetCategory](d, "target.category", x.Category),
		Type: parse[immy.TargetType](d, "target.type", x.Type), Tenant: x.Tenant,
		Filter:              parse[immy.GroupFilter](d, "target.filter", x.Filter),
		PropagateToChildren: x.PropagateToChildren, Computer: x.Computer, Person: x.Person, Tag: x.Tag,
		Group: x.Group, Expr: x.Expr, Lua: x.Lua, ClientGroup: x.ClientGroup, DeviceGroup: x.DeviceGroup}
}

func deploymentOut(dp *immy.Deployment) *deploymentDoc {
	out := &deploymentDoc{ID: dp.ID, Item: dp.Item, Target: targetOut(dp.Target), Desired: text(dp.Desired),
		Version: dp.Version.String(), Mode: text(dp.Mode), Enforcement: text(dp.Enforcement), Priority: dp.Priority,
		Recommended: dp.Recommended, Disabled: deploymentDisabled(dp), ApprovedFor: dp.ApprovedFor,
		Visibility: visibilityDoc(dp.Visibility)}
	if len(dp.Parameters) > 0 {
		out.Parameters = make(map[string]json.RawMessage, len(dp.Parameters))
		for k, v := range dp.Parameters {
			out.Parameters[k] = value(v)
		}
	}
	return out
}

func (x *deploymentDoc) fleet(d *decoder) immy.Deployment {
	dp := immy.Deployment{ID: x.ID, Item: x.Item, Target: x.Target.fleet(d),
		Desired: parse[immy.DesiredState](d, "desired", x.Desired), Version: d.version("version", x.Version),
		Mode: parse[immy.TaskMode](d, "mode", x.Mode), Enforcement: parse[immy.Enforcement](d, "enforcement", x.Enforcement),
		Priority: x.Priority, Recommended: x.Recommended, ApprovedFor: x.ApprovedFor,
		Visibility: immy.Visibility(x.Visibility)}
	setDeploymentDisabled(&dp, x.Disabled)
	if len(x.Parameters) > 0 {
		dp.Parameters = make(map[string]any, len(x.Parameters))
		for k, v := range x.Parameters {
			dp.Parameters[k] = d.unvalue("parameters."+k, v)
		}
	}
	return dp
}

func scheduleOut(s *immy.Schedule) *scheduleDoc {
	return &scheduleDoc{ID: s.ID, Cron: s.Cron, TimeZone: s.TimeZone, ExecuteAfterMinutes: s.ExecuteAfterMinutes,
		ExecuteRightAfterDetection: s.ExecuteRightAfterDetection, Item: s.Item, Target: targetOut(s.Target),
		JitterMinutes: s.JitterMinutes, Disabled: scheduleDisabled(s)}
}

func (x *scheduleDoc) fleet(d *decoder) immy.Schedule {
	s := immy.Schedule{ID: x.ID, Cron: x.Cron, TimeZone: x.TimeZone, ExecuteAfterMinutes: x.ExecuteAfterMinutes,
		ExecuteRightAfterDetection: x.ExecuteRightAfterDetection, Item: x.Item, Target: x.Target.fleet(d),
		JitterMinutes: x.JitterMinutes}
	setScheduleDisabled(&s, x.Disabled)
	return s
}
