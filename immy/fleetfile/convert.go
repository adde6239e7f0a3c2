package fleetfile

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/immyoss/engine/immy"
)

// FormatVersion is the version of the fleet file format this package reads and
// writes. A file without a version is read as this version.
const FormatVersion = 1

// converter turns the DTOs into an immy.Fleet, reporting every value that does
// not parse (enumerations, versions, dates, times, parameter values) as a
// problem naming its section, entity and field; Locate adds the line later.
type converter struct {
	ps    immy.Problems
	tasks map[string]*taskDTO // for default target categories and parameter types
}

// at names one entity of a section.
type at struct {
	section string
	index   int
	id      string
}

func (c *converter) add(w at, field string, err error, format string, args ...any) {
	if err == nil {
		err = immy.ErrInvalid
	}
	c.ps = append(c.ps, immy.Problem{Section: w.section, Index: w.index, ID: w.id, Field: field, Message: fmt.Sprintf(format, args...), Err: err})
}

// reason renders an error of immy's parsers without their package prefix and
// category suffix: the problem already says where, and wraps the category.
func reason(err error) string {
	var ee *immy.EnumError
	if errors.As(err, &ee) {
		return fmt.Sprintf("invalid %s %q (want one of %s)", ee.Kind, ee.Value, strings.Join(ee.Allowed, ", "))
	}
	s := strings.TrimPrefix(err.Error(), "immy: ")
	return strings.TrimSuffix(s, ": "+immy.ErrInvalid.Error())
}

func parseEnum[T any](c *converter, w at, field, s string, parse func(string) (T, error)) T {
	var zero T
	if s == "" {
		return zero
	}
	v, err := parse(s)
	if err != nil {
		c.add(w, field, err, "%s", reason(err))
		return zero
	}
	return v
}

func (c *converter) version(w at, field, s string) immy.Version {
	if s == "" {
		return immy.Version{}
	}
	v, err := immy.ParseVersion(s)
	if err != nil {
		c.add(w, field, err, "%s", reason(err))
	}
	return v
}

func (c *converter) date(w at, field, s string) immy.Date {
	if s == "" {
		return immy.Date{}
	}
	d, err := immy.ParseDate(s)
	if err != nil {
		c.add(w, field, err, "%s", reason(err))
	}
	return d
}

func (c *converter) script(w at, field string, s *scriptDTO) *immy.Script {
	if s == nil {
		return nil
	}
	if s.Body == "" {
		c.add(w, field+".body", nil, "missing body")
	}
	return &immy.Script{
		Language: parseEnum(c, w, field+".language", s.Language, immy.ParseScriptLanguage),
		Context:  parseEnum(c, w, field+".context", s.Context, immy.ParseScriptContext),
		Body:     s.Body,
	}
}

func (c *converter) order(w at, field string, o *orderDTO) immy.Order {
	if o == nil {
		return immy.Order{}
	}
	return immy.Order{Location: parseEnum(c, w, field+".location", o.Location, immy.ParseOrderLocation), Position: o.Position}
}

func clone[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return slices.Clone(s)
}

func (c *converter) fleet(d *fileDTO) *immy.Fleet {
	f := &immy.Fleet{}
	if d.Version != nil && *d.Version != FormatVersion {
		c.add(at{}, "version", nil, "unsupported fleet file version %d (this engine reads version %d)", *d.Version, FormatVersion)
	}
	if d.At != "" {
		t, err := ParseTime(d.At)
		if err != nil {
			c.add(at{}, "at", nil, "%v", err)
		}
		f.At = t
	}
	c.tasks = map[string]*taskDTO{}
	for i := range d.Tasks {
		if _, dup := c.tasks[d.Tasks[i].ID]; !dup {
			c.tasks[d.Tasks[i].ID] = &d.Tasks[i]
		}
	}
	for i, t := range d.Tenants {
		f.Tenants = append(f.Tenants, c.tenant(at{"tenants", i, t.ID}, t))
	}
	for _, p := range d.Persons {
		f.Persons = append(f.Persons, immy.Person{ID: p.ID, Tenant: p.Tenant, Name: p.Name, UPN: p.UPN, Tags: clone(p.Tags)})
	}
	for i, x := range d.Computers {
		f.Computers = append(f.Computers, c.computer(at{"computers", i, x.ID}, x))
	}
	for i, g := range d.Groups {
		w := at{"groups", i, g.ID}
		f.Groups = append(f.Groups, immy.Group{
			ID: g.ID, Tenant: g.Tenant, Name: g.Name,
			Kind:    parseEnum(c, w, "kind", g.Kind, immy.ParseGroupKind),
			Members: clone(g.Members), Groups: clone(g.Groups),
		})
	}
	for i, a := range d.Agreements {
		w := at{"agreements", i, a.ID}
		f.Agreements = append(f.Agreements, immy.Agreement{
			ID: a.ID, Tenant: a.Tenant, ClientGroup: a.ClientGroup,
			From: c.date(w, "from", a.From), To: c.date(w, "to", a.To),
		})
	}
	for i, s := range d.Software {
		f.Software = append(f.Software, c.software(at{"software", i, s.ID}, s))
	}
	for i, t := range d.Tasks {
		f.Tasks = append(f.Tasks, c.task(at{"tasks", i, t.ID}, t))
	}
	for i, x := range d.Deployments {
		f.Deployments = append(f.Deployments, c.deployment(at{"deployments", i, x.ID}, x))
	}
	for i, s := range d.Schedules {
		f.Schedules = append(f.Schedules, c.schedule(at{"schedules", i, s.ID}, s))
	}
	return f
}

// ParseTime reads a time as the fleet file's at does: an RFC 3339 time
// (2026-11-23T10:00:00Z, 2026-11-23T11:00:00+01:00, with or without
// fractions of a second), or a date (2026-11-23), which is midnight UTC.
// Programs that take an evaluation time beside a fleet file (immyctl's --at)
// read it with ParseTime so that both accept the same forms.
func ParseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("invalid time %q: want RFC 3339 (2026-11-23T10:00:00Z) or a date (2026-11-23)", s)
}

var weekdays = map[string]time.Weekday{
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
	"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
}

func (c *converter) tenant(w at, t tenantDTO) immy.Tenant {
	out := immy.Tenant{
		ID: t.ID, Name: t.Name, Parent: t.Parent, Tags: clone(t.Tags),
		ExcludeFromCrossTenant: t.ExcludeFromCrossTenant, TimeZone: t.TimeZone,
	}
	if t.TimeZone != "" {
		if _, err := time.LoadLocation(t.TimeZone); err != nil {
			c.add(w, "time_zone", nil, "unknown time zone %q (want an IANA name such as Europe/Paris)", t.TimeZone)
		}
	}
	if h := t.BusinessHours; h != nil {
		bh := &immy.BusinessHours{Start: h.Start, End: h.End}
		for _, f := range []struct{ name, v string }{{"start", h.Start}, {"end", h.End}} {
			if _, err := time.Parse("15:04", f.v); err != nil {
				c.add(w, "business_hours."+f.name, nil, "invalid time of day %q (want HH:MM, such as 08:00)", f.v)
			}
		}
		for j, d := range h.Weekdays {
			wd, ok := weekdays[strings.ToLower(d)]
			if !ok {
				c.add(w, fmt.Sprintf("business_hours.weekdays[%d]", j), nil, "invalid weekday %q (want monday ... sunday)", d)
				continue
			}
			bh.Weekdays = append(bh.Weekdays, wd)
		}
		out.BusinessHours = bh
	}
	return out
}

func (c *converter) computer(w at, x computerDTO) immy.Computer {
	out := immy.Computer{
		ID: x.ID, Tenant: x.Tenant, Name: x.Name, UUID: x.UUID, Serial: x.Serial,
		Manufacturer: x.Manufacturer, Model: x.Model, OSInstallID: x.OSInstallID,
		Kind: parseEnum(c, w, "kind", x.Kind, immy.ParseComputerKind),
		OS:   x.OS, TimeZone: x.TimeZone, Tags: clone(x.Tags), Online: x.Online,
		Onboarding:              parseEnum(c, w, "onboarding", x.Onboarding, immy.ParseOnboardingStatus),
		ExcludedFromMaintenance: x.ExcludedFromMaintenance,
		UPNs:                    clone(x.UPNs),
		DeviceGroups:            clone(x.DeviceGroups),
	}
	if x.TimeZone != "" {
		if _, err := time.LoadLocation(x.TimeZone); err != nil {
			c.add(w, "time_zone", nil, "unknown time zone %q (want an IANA name such as Europe/Paris)", x.TimeZone)
		}
	}
	// A computer keeps its newest MaxUPNs user principal names; older ones are dropped.
	if len(out.UPNs) > immy.MaxUPNs {
		out.UPNs = out.UPNs[:immy.MaxUPNs]
	}
	if len(x.Attributes) > 0 {
		out.Attributes = make(map[string]string, len(x.Attributes))
		for k, v := range x.Attributes {
			out.Attributes[k] = v
		}
	}
	if len(x.Tasks) > 0 {
		out.Tasks = make(map[string]bool, len(x.Tasks))
		for k, v := range x.Tasks {
			out.Tasks[k] = v
		}
	}
	for _, s := range x.Software {
		out.Software = append(out.Software, immy.DetectedSoftware{
			Name: s.Name, Publisher: s.Publisher,
			Version:     immy.ParseInventoryVersion(s.Version), // as an inventory: no version is present, version unknown
			ProductCode: s.ProductCode, UpgradeCode: s.UpgradeCode,
		})
	}
	for _, p := range x.Pathways {
		out.Pathways = append(out.Pathways, immy.Pathway{Integration: p.Integration, AgentID: p.AgentID, Online: p.Online, Priority: p.Priority})
	}
	return out
}

func (c *converter) software(w at, s softwareDTO) immy.Software {
	out := immy.Software{
		ID: s.ID, Name: s.Name,
		Origin: parseEnum(c, w, "origin", s.Origin, immy.ParseOrigin),
		Tenant: s.Tenant,
		Detection: immy.Detection{
			Regex:       s.Detection.Regex,
			ProductCode: s.Detection.ProductCode, UpgradeCode: s.Detection.UpgradeCode,
			Script:   c.script(w, "detection.script", s.Detection.Script),
			Versions: s.Detection.Versions,
		},
		UpgradeStrategy:   parseEnum(c, w, "upgrade_strategy", s.UpgradeStrategy, immy.ParseUpgradeStrategy),
		RepairStrategy:    parseEnum(c, w, "repair_strategy", s.RepairStrategy, immy.ParseRepairStrategy),
		Install:           c.script(w, "install", s.Install),
		Uninstall:         c.script(w, "uninstall", s.Uninstall),
		Upgrade:           c.script(w, "upgrade", s.Upgrade),
		Repair:            c.script(w, "repair", s.Repair),
		Test:              c.script(w, "test", s.Test),
		Prerequisites:     c.prerequisites(w, "prerequisites", s.Prerequisites),
		ConfigurationTask: s.ConfigurationTask,
		Order:             c.order(w, "order", s.Order),
	}
	if names := c.globs(w, "detection.display_name", s.Detection.DisplayName); len(names) == 1 && s.Detection.DisplayName.Kind == yaml.ScalarNode {
		out.Detection.DisplayName = names[0]
	} else {
		out.Detection.DisplayNames = names
	}
	out.Detection.Publishers = c.globs(w, "detection.publisher", s.Detection.Publisher)
	if v := s.Detection.Versions; v != "" {
		if _, err := immy.ParseConstraint(v); err != nil {
			c.add(w, "detection.versions", err, "%s", reason(err))
		}
	}
	for j, m := range s.Detection.VersionMap {
		f := fmt.Sprintf("detection.version_map[%d]", j)
		if m.Match == "" {
			c.add(w, f+".match", nil, "missing match (a regular expression over the detected version)")
		} else if err := checkRegex(m.Match); err != nil {
			c.add(w, f+".match", nil, "%v", err)
		}
		if m.To == "" {
			c.add(w, f+".to", nil, "missing to (the release version, with ${group} references)")
		}
		out.Detection.VersionMap = append(out.Detection.VersionMap, immy.VersionMapping{Match: m.Match, To: m.To})
	}
	if d := s.Detection; d.Regex != "" {
		if err := checkRegex(d.Regex); err != nil {
			c.add(w, "detection.regex", nil, "%v", err)
		}
	}
	for j, v := range s.Versions {
		f := fmt.Sprintf("versions[%d]", j)
		out.Versions = append(out.Versions, immy.SoftwareVersion{
			Version:         c.version(w, f+".version", v.Version),
			UpgradeStrategy: parseEnum(c, w, f+".upgrade_strategy", v.UpgradeStrategy, immy.ParseUpgradeStrategy),
			Install:         c.script(w, f+".install", v.Install),
			Uninstall:       c.script(w, f+".uninstall", v.Uninstall),
			Upgrade:         c.script(w, f+".upgrade", v.Upgrade),
			Prerequisites:   c.prerequisites(w, f+".prerequisites", v.Prerequisites),
		})
	}
	return out
}

func (c *converter) prerequisites(w at, field string, ps []prerequisiteDTO) []immy.Prerequisite {
	var out []immy.Prerequisite
	for j, p := range ps {
		f := fmt.Sprintf("%s[%d]", field, j)
		q, subjects := immy.QuantifierAnyOf, p.AnyOf
		switch {
		case len(p.AnyOf) > 0 && len(p.AllOf) > 0:
			c.add(w, f+".all_of", nil, "give one of any_of and all_of, not both")
		case len(p.AllOf) > 0:
			q, subjects = immy.QuantifierAllOf, p.AllOf
		}
		out = append(out, immy.Prerequisite{
			Condition:  parseEnum(c, w, f+".if", p.If, immy.ParseCondition),
			Quantifier: q,
			Subjects:   clone(subjects),
			Then:       parseEnum(c, w, f+".then", p.Then, immy.ParsePrereqAction),
			On:         clone(p.On),
			Version:    c.version(w, f+".version", p.Version),
		})
	}
	return out
}

func (c *converter) task(w at, t taskDTO) immy.Task {
	out := immy.Task{
		ID: t.ID, Name: t.Name,
		Origin:          parseEnum(c, w, "origin", t.Origin, immy.ParseOrigin),
		Tenant:          t.Tenant,
		Category:        parseEnum(c, w, "category", t.Category, immy.ParseTaskCategory),
		OnboardingOnly:  t.OnboardingOnly,
		ExecuteSerially: t.ExecuteSerially,
		Script:          c.script(w, "script", t.Script),
		Get:             c.script(w, "get", t.Get),
		Set:             c.script(w, "set", t.Set),
		Test:            c.script(w, "test", t.Test),
		Order:           c.order(w, "order", t.Order),
	}
	for j, p := range t.Parameters {
		f := fmt.Sprintf("parameters[%d]", j)
		param := immy.Parameter{
			Name:     p.Name,
			Type:     parseEnum(c, w, f+".type", p.Type, immy.ParseParamType),
			Required: p.Required,
			Options:  clone(p.Options),
		}
		if p.Default != nil && !isNull(p.Default) {
			_, err := immy.ParseParamType(p.Type)
			known := p.Type == "" || err == nil // a bad type is reported above; take the default as it is
			param.Default = c.paramValue(w, f+".default", p.Default, param.Type, known, param.Options)
		}
		out.Parameters = append(out.Parameters, param)
	}
	return out
}

// paramValue converts a parameter's value (a deployment's value or a default).
// With a known type, the value must fit it; a text-like type takes any scalar as
// text. Values are never quoted in problems: a password must not leak into a
// report.
func (c *converter) paramValue(w at, field string, n *yaml.Node, typ immy.ParamType, known bool, options []string) any {
	n = deref(n)
	bad := func(want string) any {
		c.add(w, field, nil, "a %s parameter takes %s", typ, want)
		return nil
	}
	if isNull(n) {
		c.add(w, field, nil, "missing value")
		return nil
	}
	if !known {
		v := untypedValue(n)
		if v == nil {
			c.add(w, field, nil, "a parameter takes text, a number, true or false, or a mapping of names to text")
		}
		return v
	}
	switch typ {
	case immy.ParamNumber:
		var f float64
		if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!int" && n.ShortTag() != "!!float") || n.Decode(&f) != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return bad("a number")
		}
		return f
	case immy.ParamBoolean:
		var b bool
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
			return bad("true or false")
		}
		return b
	case immy.ParamKeyValue:
		if n.Kind != yaml.MappingNode {
			return bad("a mapping of names to text")
		}
		m, ok := stringMap(n)
		if !ok {
			return bad("a mapping of names to text")
		}
		return m
	}
	if n.Kind != yaml.ScalarNode {
		return bad("text")
	}
	switch typ {
	case immy.ParamSelect:
		if len(options) > 0 && !slices.Contains(options, n.Value) {
			c.add(w, field, nil, "not one of the select's options (%s)", strings.Join(options, ", "))
		}
	case immy.ParamURI:
		if u, err := url.Parse(n.Value); err != nil || u.Scheme == "" {
			return bad("an absolute URI, such as https://example.com/setup.exe")
		}
	}
	return n.Value
}

// untypedValue converts a value whose parameter is not declared (Validate
// reports that): a number, a boolean, text, or a mapping of text.
func untypedValue(n *yaml.Node) any {
	switch n.Kind {
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!bool":
			var b bool
			if n.Decode(&b) == nil {
				return b
			}
		case "!!int", "!!float":
			var f float64
			if n.Decode(&f) == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
				return f
			}
		}
		return n.Value
	case yaml.MappingNode:
		if m, ok := stringMap(n); ok {
			return m
		}
	}
	return nil
}

func stringMap(n *yaml.Node) (map[string]string, bool) {
	m := make(map[string]string, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), deref(n.Content[i+1])
		if k.Kind != yaml.ScalarNode || v.Kind != yaml.ScalarNode {
			return nil, false
		}
		m[k.Value] = v.Value
	}
	return m, true
}

func (c *converter) target(w at, field string, t targetDTO, item string) immy.Target {
	out := immy.Target{
		Type:                parseEnum(c, w, field+".type", t.Type, immy.ParseTargetType),
		Tenant:              t.Tenant,
		Filter:              parseEnum(c, w, field+".filter", t.Filter, immy.ParseGroupFilter),
		PropagateToChildren: t.PropagateToChildren,
		Computer:            t.Computer, Person: t.Person, Tag: t.Tag, Group: t.Group,
		Expr: t.Expr, Lua: t.Lua, ClientGroup: t.ClientGroup, DeviceGroup: t.DeviceGroup,
	}
	if t.Category != "" {
		out.Category = parseEnum(c, w, field+".category", t.Category, immy.ParseTargetCategory)
	} else {
		out.Category = c.defaultCategory(item)
	}
	return out
}

// defaultCategory is the target category an item's deployments select by
// default: tenants for tenant (cloud) tasks, persons for person tasks, else computers.
func (c *converter) defaultCategory(item string) immy.TargetCategory {
	if t, ok := c.tasks[item]; ok {
		switch cat, _ := immy.ParseTaskCategory(t.Category); cat {
		case immy.TaskTenant:
			return immy.CategoryTenant
		case immy.TaskPerson:
			return immy.CategoryPerson
		}
	}
	return immy.CategoryComputer
}

func (c *converter) deployment(w at, d deploymentDTO) immy.Deployment {
	out := immy.Deployment{
		ID: d.ID, Item: d.Item,
		Target:      c.target(w, "target", d.Target, d.Item),
		Desired:     parseEnum(c, w, "desired", d.Desired, immy.ParseDesiredState),
		Version:     c.version(w, "version", d.Version),
		Mode:        parseEnum(c, w, "mode", d.Mode, immy.ParseTaskMode),
		Enforcement: parseEnum(c, w, "enforcement", d.Enforcement, immy.ParseEnforcement),
		Priority:    d.Priority,
		Recommended: d.Recommended,
		Disabled:    d.Enabled != nil && !*d.Enabled,
		ApprovedFor: clone(d.ApprovedFor),
	}
	if v := d.Visibility; v != nil {
		out.Visibility = immy.Visibility{Ticket: v.Ticket, Tenant: v.Tenant, Person: v.Person, Computer: v.Computer}
	}
	if len(d.Parameters) > 0 {
		declared := map[string]parameterDTO{}
		if t, ok := c.tasks[d.Item]; ok {
			for _, p := range t.Parameters {
				declared[p.Name] = p
			}
		}
		out.Parameters = make(map[string]any, len(d.Parameters))
		for _, name := range sortedKeys(d.Parameters) {
			p, known := declared[name]
			typ, err := immy.ParseParamType(p.Type)
			if p.Type == "" {
				typ, err = immy.ParamText, nil
			}
			out.Parameters[name] = c.paramValue(w, "parameters."+name, d.Parameters[name], typ, known && err == nil, p.Options)
		}
	}
	return out
}

func (c *converter) schedule(w at, s scheduleDTO) immy.Schedule {
	out := immy.Schedule{
		ID: s.ID, Cron: s.Cron, TimeZone: s.TimeZone,
		ExecuteAfterMinutes:        s.ExecuteAfterMinutes,
		ExecuteRightAfterDetection: s.ExecuteRightAfterDetection,
		Item:                       s.Item,
		JitterMinutes:              s.JitterMinutes,
		Disabled:                   s.Enabled != nil && !*s.Enabled,
	}
	if s.Target != nil {
		out.Target = c.target(w, "target", *s.Target, s.Item)
	}
	if s.TimeZone != "" {
		if _, err := time.LoadLocation(s.TimeZone); err != nil {
			c.add(w, "time_zone", nil, "unknown time zone %q (want an IANA name such as Europe/Paris)", s.TimeZone)
		}
	}
	if s.Cron != "" && len(strings.Fields(s.Cron)) != 5 {
		c.add(w, "cron", nil, "cron %q has %d fields, want 5 (minute hour day-of-month month day-of-week)", s.Cron, len(strings.Fields(s.Cron)))
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func checkRegex(expr string) error {
	if _, err := regexp.Compile(expr); err != nil {
		return fmt.Errorf("invalid regular expression: %s", strings.TrimPrefix(err.Error(), "error parsing regexp: "))
	}
	return nil
}

// globs reads a glob or a list of globs (display_name, publisher).
func (c *converter) globs(w at, field string, n *yaml.Node) []string {
	if n == nil || isNull(n) {
		return nil
	}
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Value == "" {
			return nil
		}
		return []string{n.Value}
	case yaml.SequenceNode:
		out := make([]string, 0, len(n.Content))
		for i, e := range n.Content {
			if e.Kind != yaml.ScalarNode || e.Value == "" {
				c.add(w, fmt.Sprintf("%s[%d]", field, i), nil, "want a glob (text), got %s", describe(e))
				continue
			}
			out = append(out, e.Value)
		}
		return out
	}
	c.add(w, field, nil, "want a glob or a list of globs, got %s", describe(n))
	return nil
}
