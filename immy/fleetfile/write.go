package fleetfile

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/immyoss/engine/immy"
)

// Write writes f as a fleet file in canonical form: the spec's names and
// section order, defaults left out (kind unknown, origin own, enforcement
// required, enabled true, group filter all, the item's own target category),
// maps sorted by key, two-space indentation, short entries on one line. Loading
// what Write wrote gives back the same fleet. Values that have no spelling (an
// enumeration out of range) are an error, and nothing is written.
func Write(w io.Writer, f *immy.Fleet) error {
	wr := writer{f: f}
	dto := wr.file()
	if len(wr.ps) > 0 {
		return fmt.Errorf("fleetfile: cannot write: %w", wr.ps)
	}
	// Each entity is encoded and emitted on its own, under its section's key,
	// and the key line dropped after the first: yaml.v3's emitter keeps every
	// event of a document until the end, which for a fleet of thousands of
	// computers costs far more memory than the text it writes.
	var b bytes.Buffer
	v := reflect.ValueOf(dto).Elem()
	for i := range v.NumField() {
		key, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("yaml"), ",")
		fv := v.Field(i)
		switch {
		case fv.Kind() == reflect.Slice:
			for j := range fv.Len() {
				one := reflect.MakeSlice(fv.Type(), 1, 1)
				one.Index(0).Set(fv.Index(j))
				if err := emit(&b, key, one.Interface(), j > 0); err != nil {
					return err
				}
			}
		case !fv.IsZero():
			if err := emit(&b, key, fv.Interface(), false); err != nil {
				return err
			}
		}
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("fleetfile: write: %w", err)
	}
	return nil
}

// emit appends "key: value" to b in canonical style, without the "key:" line
// when continuing a list begun by an earlier emit.
func emit(b *bytes.Buffer, key string, value any, continued bool) error {
	n := toNode(reflect.ValueOf(value))
	flowStyle(n, key)
	doc := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{strNode(key), n}}
	start := b.Len()
	enc := yaml.NewEncoder(b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("fleetfile: encode %s: %w", key, err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("fleetfile: encode %s: %w", key, err)
	}
	if continued {
		header := key + ":\n"
		if !bytes.HasPrefix(b.Bytes()[start:], []byte(header)) {
			return fmt.Errorf("fleetfile: encode %s: unexpected layout", key) // unreachable: entities are block lists
		}
		rest := slices.Clone(b.Bytes()[start+len(header):])
		b.Truncate(start)
		b.Write(rest)
	}
	return nil
}

// flowEntries are the places (keys from the top, list indexes left out) whose
// mappings are written on one line when nothing in them spans lines.
var flowEntries = map[string]bool{
	"computers.software":              true,
	"computers.pathways":              true,
	"agreements":                      true,
	"software.detection":              true,
	"software.versions":               true,
	"software.prerequisites":          true,
	"software.versions.prerequisites": true,
	"tasks.parameters":                true,
	"software.order":                  true,
	"tasks.order":                     true,
}

// scriptKeys are the keys that hold a script; a one-line script reads best on one line.
var scriptKeys = map[string]bool{
	"install": true, "uninstall": true, "upgrade": true, "repair": true, "test": true,
	"script": true, "get": true, "set": true,
}

// flowStyle sets the flow style on the mappings that read best on one line.
// (One styling pass over the encoded tree: a MarshalYAML per entry would run a
// whole encoder per entry.)
func flowStyle(n *yaml.Node, at string) {
	switch n.Kind {
	case yaml.SequenceNode:
		for _, c := range n.Content {
			flowStyle(c, at)
		}
	case yaml.MappingNode:
		_, last, _ := cutLast(at)
		flow := flowEntries[at] || (scriptKeys[last] && (strings.HasPrefix(at, "software.") || strings.HasPrefix(at, "tasks.")))
		if at == "software.versions" && (hasKey(n, "install", "uninstall", "upgrade", "prerequisites")) {
			flow = false
		}
		if flow && !multiline(n) {
			n.Style = yaml.FlowStyle
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			flowStyle(n.Content[i+1], at+"."+n.Content[i].Value)
		}
	}
}

func cutLast(at string) (string, string, bool) {
	if i := strings.LastIndexByte(at, '.'); i >= 0 {
		return at[:i], at[i+1:], true
	}
	return "", at, false
}

func hasKey(n *yaml.Node, keys ...string) bool {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if slices.Contains(keys, n.Content[i].Value) {
			return true
		}
	}
	return false
}

func multiline(n *yaml.Node) bool {
	if n.Kind == yaml.ScalarNode {
		return strings.Contains(n.Value, "\n")
	}
	return slices.ContainsFunc(n.Content, multiline)
}

// toNode builds the node of a DTO value as yaml.v3 would encode it (yaml tags,
// omitempty, flow), in one pass and without the encoder's text round trip.
func toNode(v reflect.Value) *yaml.Node {
	if v.Type() == nodePtrType {
		return v.Interface().(*yaml.Node)
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		return toNode(v.Elem())
	case reflect.Struct:
		m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		t := v.Type()
		for i := range t.NumField() {
			name, opts, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
			fv := v.Field(i)
			if strings.Contains(opts, "omitempty") && isEmpty(fv) {
				continue
			}
			n := toNode(fv)
			if strings.Contains(opts, "flow") {
				n.Style = yaml.FlowStyle
			}
			// The spec's keys go plain, "on" included: YAML 1.2 reads it as text.
			m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: name}, n)
		}
		return m
	case reflect.Slice:
		s := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for i := range v.Len() {
			s.Content = append(s.Content, toNode(v.Index(i)))
		}
		return s
	case reflect.Map:
		m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		keys := make([]string, 0, v.Len())
		for _, k := range v.MapKeys() {
			keys = append(keys, k.String())
		}
		slices.Sort(keys)
		for _, k := range keys {
			m.Content = append(m.Content, strNode(k), toNode(v.MapIndex(reflect.ValueOf(k))))
		}
		return m
	case reflect.String:
		return strNode(v.String())
	case reflect.Bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(v.Bool())}
	case reflect.Int:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatInt(v.Int(), 10)}
	}
	panic(fmt.Sprintf("fleetfile: no encoding for %s", v.Type())) // unreachable: the DTOs use only the kinds above
}

func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Slice, reflect.Map:
		return v.Len() == 0
	}
	return v.IsZero()
}

// base60 is what YAML 1.1 read as a sexagesimal number (08:30).
var base60 = regexp.MustCompile(`^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`)

// strNode is a text scalar. The emitter quotes it where a plain scalar would
// read as something else; we also quote what YAML 1.1 readers would take for a
// boolean or a sexagesimal number, but leave plain what reads as a timestamp:
// this package reads such a scalar as its text (at, agreement dates).
func strNode(s string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
	plain := yaml.Node{Kind: yaml.ScalarNode, Value: s}
	switch {
	case plain.ShortTag() == "!!timestamp":
		n.Tag = "!!timestamp"
	case oldBool(s) || base60.MatchString(s):
		n.Style = yaml.DoubleQuotedStyle
	}
	return n
}

func oldBool(s string) bool {
	switch s {
	case "y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "n", "N", "no", "No", "NO", "off", "Off", "OFF":
		return true
	}
	return false
}

type writer struct {
	f  *immy.Fleet
	ps immy.Problems
}

// spelling is what every enumeration of immy has.
type spelling interface {
	comparable
	String() string
	Valid() bool
}

// enum spells v, leaving out the default def; an unspelt value is a problem.
func enum[T spelling](wr *writer, w at, field string, v, def T) string {
	if v == def {
		return ""
	}
	if !v.Valid() {
		wr.ps = append(wr.ps, immy.Problem{Section: w.section, Index: w.index, ID: w.id, Field: field, Message: fmt.Sprintf("%s has no spelling", v), Err: immy.ErrInvalid})
		return ""
	}
	return v.String()
}

func boolPtr(b bool) *bool { return &b }

// enabledPtr writes enabled only when it is not the default true.
func enabledPtr(enabled bool) *bool {
	if enabled {
		return nil
	}
	return boolPtr(false)
}

func (wr *writer) file() *fileDTO {
	f := wr.f
	version := FormatVersion
	out := &fileDTO{Version: &version}
	if !f.At.IsZero() {
		out.At = f.At.Format(time.RFC3339Nano)
	}
	for _, t := range f.Tenants {
		d := tenantDTO{ID: t.ID, Name: t.Name, Parent: t.Parent, Tags: clone(t.Tags), ExcludeFromCrossTenant: t.ExcludeFromCrossTenant, TimeZone: t.TimeZone}
		if h := t.BusinessHours; h != nil {
			bh := &businessHoursDTO{Start: h.Start, End: h.End}
			for _, wd := range h.Weekdays {
				bh.Weekdays = append(bh.Weekdays, strings.ToLower(wd.String()))
			}
			d.BusinessHours = bh
		}
		out.Tenants = append(out.Tenants, d)
	}
	for _, p := range f.Persons {
		out.Persons = append(out.Persons, personDTO{ID: p.ID, Tenant: p.Tenant, Name: p.Name, UPN: p.UPN, Tags: clone(p.Tags)})
	}
	for i, c := range f.Computers {
		out.Computers = append(out.Computers, wr.computer(at{"computers", i, c.ID}, c))
	}
	for i, g := range f.Groups {
		out.Groups = append(out.Groups, groupDTO{
			ID: g.ID, Tenant: g.Tenant, Name: g.Name,
			Kind:    enum(wr, at{"groups", i, g.ID}, "kind", g.Kind, immy.GroupUnset),
			Members: clone(g.Members), Groups: clone(g.Groups),
		})
	}
	for _, a := range f.Agreements {
		out.Agreements = append(out.Agreements, agreementDTO{ID: a.ID, Tenant: a.Tenant, ClientGroup: a.ClientGroup, From: a.From.String(), To: a.To.String()})
	}
	for i, s := range f.Software {
		out.Software = append(out.Software, wr.software(at{"software", i, s.ID}, s))
	}
	for i, t := range f.Tasks {
		out.Tasks = append(out.Tasks, wr.task(at{"tasks", i, t.ID}, t))
	}
	for i, d := range f.Deployments {
		out.Deployments = append(out.Deployments, wr.deployment(at{"deployments", i, d.ID}, d))
	}
	for i, s := range f.Schedules {
		w := at{"schedules", i, s.ID}
		d := scheduleDTO{
			ID: s.ID, Cron: s.Cron, TimeZone: s.TimeZone,
			ExecuteAfterMinutes: s.ExecuteAfterMinutes, ExecuteRightAfterDetection: s.ExecuteRightAfterDetection,
			Item: s.Item, JitterMinutes: s.JitterMinutes, Enabled: enabledPtr(!s.Disabled),
		}
		if s.Target != (immy.Target{}) {
			t := wr.target(w, s.Target, s.Item)
			d.Target = &t
		}
		out.Schedules = append(out.Schedules, d)
	}
	return out
}

func (wr *writer) computer(w at, c immy.Computer) computerDTO {
	d := computerDTO{
		ID: c.ID, Tenant: c.Tenant, Name: c.Name, UUID: c.UUID, Serial: c.Serial,
		Manufacturer: c.Manufacturer, Model: c.Model, OSInstallID: c.OSInstallID,
		Kind: enum(wr, w, "kind", c.Kind, immy.KindUnknown),
		OS:   c.OS, TimeZone: c.TimeZone, Tags: clone(c.Tags), Online: c.Online,
		Onboarding:              enum(wr, w, "onboarding", c.Onboarding, immy.Onboarded),
		ExcludedFromMaintenance: c.ExcludedFromMaintenance,
		UPNs:                    clone(c.UPNs),
		DeviceGroups:            clone(c.DeviceGroups),
	}
	if len(c.Attributes) > 0 {
		d.Attributes = make(map[string]string, len(c.Attributes))
		for k, v := range c.Attributes {
			d.Attributes[k] = v
		}
	}
	if len(c.Tasks) > 0 {
		d.Tasks = make(map[string]bool, len(c.Tasks))
		for k, v := range c.Tasks {
			d.Tasks[k] = v
		}
	}
	for _, s := range c.Software {
		d.Software = append(d.Software, detectedDTO{Name: s.Name, Version: s.Version.String(), Publisher: s.Publisher, ProductCode: s.ProductCode, UpgradeCode: s.UpgradeCode})
	}
	for _, p := range c.Pathways {
		d.Pathways = append(d.Pathways, pathwayDTO{Integration: p.Integration, AgentID: p.AgentID, Online: p.Online, Priority: p.Priority})
	}
	return d
}

func (wr *writer) script(w at, field string, s *immy.Script) *scriptDTO {
	if s == nil {
		return nil
	}
	return &scriptDTO{
		Language: enum(wr, w, field+".language", s.Language, immy.LanguageUnset),
		Context:  enum(wr, w, field+".context", s.Context, immy.ContextSystem),
		Body:     s.Body,
	}
}

func (wr *writer) order(w at, o immy.Order) *orderDTO {
	if o == (immy.Order{}) {
		return nil
	}
	return &orderDTO{Location: enum(wr, w, "order.location", o.Location, immy.OrderUnordered), Position: o.Position}
}

func (wr *writer) software(w at, s immy.Software) softwareDTO {
	d := softwareDTO{
		ID: s.ID, Name: s.Name,
		Origin: enum(wr, w, "origin", s.Origin, immy.OriginOwn),
		Tenant: s.Tenant,
		Detection: detectionDTO{
			DisplayName: globsNode(s.Detection.DisplayName, s.Detection.DisplayNames),
			Regex:       s.Detection.Regex,
			ProductCode: s.Detection.ProductCode, UpgradeCode: s.Detection.UpgradeCode,
			Script:    wr.script(w, "detection.script", s.Detection.Script),
			Publisher: globsNode("", s.Detection.Publishers),
			Versions:  s.Detection.Versions,
		},
		UpgradeStrategy:   enum(wr, w, "upgrade_strategy", s.UpgradeStrategy, immy.UpgradeUnset),
		RepairStrategy:    enum(wr, w, "repair_strategy", s.RepairStrategy, immy.RepairUnset),
		Install:           wr.script(w, "install", s.Install),
		Uninstall:         wr.script(w, "uninstall", s.Uninstall),
		Upgrade:           wr.script(w, "upgrade", s.Upgrade),
		Repair:            wr.script(w, "repair", s.Repair),
		Test:              wr.script(w, "test", s.Test),
		Prerequisites:     wr.prerequisites(w, "prerequisites", s.Prerequisites),
		ConfigurationTask: s.ConfigurationTask,
		Order:             wr.order(w, s.Order),
	}
	for _, m := range s.Detection.VersionMap {
		d.Detection.VersionMap = append(d.Detection.VersionMap, versionMapDTO{Match: m.Match, To: m.To})
	}
	for j, v := range s.Versions {
		f := fmt.Sprintf("versions[%d]", j)
		d.Versions = append(d.Versions, versionDTO{
			Version:         v.Version.String(),
			UpgradeStrategy: enum(wr, w, f+".upgrade_strategy", v.UpgradeStrategy, immy.UpgradeUnset),
			Install:         wr.script(w, f+".install", v.Install),
			Uninstall:       wr.script(w, f+".uninstall", v.Uninstall),
			Upgrade:         wr.script(w, f+".upgrade", v.Upgrade),
			Prerequisites:   wr.prerequisites(w, f+".prerequisites", v.Prerequisites),
		})
	}
	return d
}

func (wr *writer) prerequisites(w at, field string, ps []immy.Prerequisite) []prerequisiteDTO {
	var out []prerequisiteDTO
	for j, p := range ps {
		f := fmt.Sprintf("%s[%d]", field, j)
		d := prerequisiteDTO{
			If:      enum(wr, w, f+".if", p.Condition, immy.ConditionUnset),
			Then:    enum(wr, w, f+".then", p.Then, immy.PrereqUnset),
			On:      clone(p.On),
			Version: p.Version.String(),
		}
		switch p.Quantifier {
		case immy.QuantifierAnyOf:
			d.AnyOf = clone(p.Subjects)
		case immy.QuantifierAllOf:
			d.AllOf = clone(p.Subjects)
		default:
			enum(wr, w, f+".any_of", p.Quantifier, immy.QuantifierAnyOf)
		}
		out = append(out, d)
	}
	return out
}

func (wr *writer) task(w at, t immy.Task) taskDTO {
	d := taskDTO{
		ID: t.ID, Name: t.Name,
		Origin:          enum(wr, w, "origin", t.Origin, immy.OriginOwn),
		Tenant:          t.Tenant,
		Category:        enum(wr, w, "category", t.Category, immy.TaskComputer),
		OnboardingOnly:  t.OnboardingOnly,
		ExecuteSerially: t.ExecuteSerially,
		Script:          wr.script(w, "script", t.Script),
		Get:             wr.script(w, "get", t.Get),
		Set:             wr.script(w, "set", t.Set),
		Test:            wr.script(w, "test", t.Test),
		Order:           wr.order(w, t.Order),
	}
	for j, p := range t.Parameters {
		f := fmt.Sprintf("parameters[%d]", j)
		pd := parameterDTO{
			Name:     p.Name,
			Type:     enum(wr, w, f+".type", p.Type, immy.ParamText),
			Required: p.Required,
			Options:  clone(p.Options),
		}
		if p.Default != nil {
			pd.Default = wr.value(w, f+".default", p.Default)
		}
		d.Parameters = append(d.Parameters, pd)
	}
	return d
}

// value encodes a parameter value: text, a number, a boolean or a mapping of text.
func (wr *writer) value(w at, field string, v any) *yaml.Node {
	scalar := func(tag, s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: s} }
	switch v := v.(type) {
	case string:
		return strNode(v)
	case bool:
		return scalar("!!bool", strconv.FormatBool(v))
	case int:
		return scalar("!!int", strconv.Itoa(v))
	case int64:
		return scalar("!!int", strconv.FormatInt(v, 10))
	case float64:
		if math.IsInf(v, 0) || math.IsNaN(v) {
			break
		}
		if v == math.Trunc(v) && math.Abs(v) < 1e15 {
			return scalar("!!int", strconv.FormatInt(int64(v), 10))
		}
		return scalar("!!float", strconv.FormatFloat(v, 'g', -1, 64))
	case map[string]string:
		m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Style: yaml.FlowStyle}
		for _, k := range sortedKeys(v) {
			m.Content = append(m.Content, strNode(k), strNode(v[k]))
		}
		return m
	}
	wr.ps = append(wr.ps, immy.Problem{Section: w.section, Index: w.index, ID: w.id, Field: field, Message: fmt.Sprintf("a parameter value cannot be a %T", v), Err: immy.ErrInvalid})
	return nil
}

func (wr *writer) target(w at, t immy.Target, item string) targetDTO {
	d := targetDTO{
		Type:                enum(wr, w, "target.type", t.Type, immy.TargetUnset),
		Tenant:              t.Tenant,
		Filter:              enum(wr, w, "target.filter", t.Filter, immy.FilterAll),
		PropagateToChildren: t.PropagateToChildren,
		Computer:            t.Computer, Person: t.Person, Tag: t.Tag, Group: t.Group,
		Expr: t.Expr, Lua: t.Lua, ClientGroup: t.ClientGroup, DeviceGroup: t.DeviceGroup,
	}
	def := immy.CategoryComputer
	if i := slices.IndexFunc(wr.f.Tasks, func(x immy.Task) bool { return x.ID == item }); i >= 0 {
		switch wr.f.Tasks[i].Category {
		case immy.TaskTenant:
			def = immy.CategoryTenant
		case immy.TaskPerson:
			def = immy.CategoryPerson
		}
	}
	if t.Category != def {
		if !t.Category.Valid() {
			enum(wr, w, "target.category", t.Category, def)
		} else {
			d.Category = t.Category.String()
		}
	}
	return d
}

func (wr *writer) deployment(w at, x immy.Deployment) deploymentDTO {
	d := deploymentDTO{
		ID: x.ID, Item: x.Item,
		Target:      wr.target(w, x.Target, x.Item),
		Desired:     enum(wr, w, "desired", x.Desired, immy.DesiredUnset),
		Version:     x.Version.String(),
		Mode:        enum(wr, w, "mode", x.Mode, immy.ModeUnset),
		Enforcement: enum(wr, w, "enforcement", x.Enforcement, immy.EnforcementRequired),
		Priority:    x.Priority,
		Recommended: x.Recommended,
		Enabled:     enabledPtr(!x.Disabled),
		ApprovedFor: clone(x.ApprovedFor),
	}
	if v := x.Visibility; v != (immy.Visibility{}) {
		d.Visibility = &visibilityDTO{Ticket: v.Ticket, Tenant: v.Tenant, Person: v.Person, Computer: v.Computer}
	}
	if len(x.Parameters) > 0 {
		d.Parameters = make(map[string]*yaml.Node, len(x.Parameters))
		for _, k := range sortedKeys(x.Parameters) {
			d.Parameters[k] = wr.value(w, "parameters."+k, x.Parameters[k])
		}
	}
	return d
}

// globsNode writes one glob as text, several as a list; nil for none.
func globsNode(one string, more []string) *yaml.Node {
	all := more
	if one != "" {
		all = append([]string{one}, more...)
	}
	switch len(all) {
	case 0:
		return nil
	case 1:
		if one != "" {
			return strNode(one)
		}
	}
	n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle}
	for _, g := range all {
		n.Content = append(n.Content, strNode(g))
	}
	return n
}
