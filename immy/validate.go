package immy

import (
	"fmt"
	"slices"
	"strings"
)

// Validate checks the fleet as a whole and returns every problem at once, in a
// deterministic order, or nil. It checks required fields, unique ids, references
// between entities, tenant and group cycles, enumeration values, versions that
// deployments need, and that private items stay with their tenant. Checks that
// need a compiler (filters) or the item graph (prerequisite cycles) belong to the
// targets and resolver packages.
func (f *Fleet) Validate() error {
	v := validator{f: f}
	v.run()
	v.ps.Sort()
	return v.ps.Err()
}

type validator struct {
	f       *Fleet
	ps      Problems
	tenants map[string]int
	persons map[string]int
	comps   map[string]int
	groups  map[string]int
	soft    map[string]int
	tasks   map[string]int
}

func (v *validator) add(section string, i int, id, field, format string, args ...any) {
	v.addErr(ErrInvalid, section, i, id, field, format, args...)
}

func (v *validator) addErr(err error, section string, i int, id, field, format string, args ...any) {
	v.ps = append(v.ps, Problem{Section: section, Index: i, ID: id, Field: field, Message: fmt.Sprintf(format, args...), Err: err})
}

// ids indexes one section, reporting empty and duplicate ids.
func (v *validator) ids(section string, n int, id func(int) string) map[string]int {
	m := make(map[string]int, n)
	for i := range n {
		s := id(i)
		if s == "" {
			v.add(section, i, "", "id", "missing id")
			continue
		}
		if j, dup := m[s]; dup {
			v.add(section, i, s, "id", "duplicate id (first at %s #%d)", section, j+1)
			continue
		}
		m[s] = i
	}
	return m
}

// ref reports a reference that does not resolve; empty references are the caller's concern.
func (v *validator) ref(section string, i int, id, field, what, to string, in map[string]int) bool {
	if to == "" {
		return true
	}
	if _, ok := in[to]; !ok {
		v.addErr(ErrNotFound, section, i, id, field, "unknown %s %q", what, to)
		return false
	}
	return true
}

func (v *validator) required(section string, i int, id, field, val string) {
	if val == "" {
		v.add(section, i, id, field, "missing %s", field)
	}
}

func (v *validator) run() {
	f := v.f
	v.tenants = v.ids("tenants", len(f.Tenants), func(i int) string { return f.Tenants[i].ID })
	v.persons = v.ids("persons", len(f.Persons), func(i int) string { return f.Persons[i].ID })
	v.comps = v.ids("computers", len(f.Computers), func(i int) string { return f.Computers[i].ID })
	v.groups = v.ids("groups", len(f.Groups), func(i int) string { return f.Groups[i].ID })
	v.ids("agreements", len(f.Agreements), func(i int) string { return f.Agreements[i].ID })
	v.soft = v.ids("software", len(f.Software), func(i int) string { return f.Software[i].ID })
	v.tasks = v.ids("tasks", len(f.Tasks), func(i int) string { return f.Tasks[i].ID })
	v.ids("deployments", len(f.Deployments), func(i int) string { return f.Deployments[i].ID })
	v.ids("schedules", len(f.Schedules), func(i int) string { return f.Schedules[i].ID })
	for i, t := range f.Tasks {
		if j, clash := v.soft[t.ID]; clash && t.ID != "" {
			v.add("tasks", i, t.ID, "id", "id also names software #%d: item ids are shared by software and tasks", j+1)
		}
	}
	v.tenantTree()
	v.people()
	v.computers()
	v.groupTree()
	v.agreements()
	v.catalogue()
	v.tenancy() // validate_tenancy.go
	v.deployments()
	v.schedules()
}

func (v *validator) tenantTree() {
	for i, t := range v.f.Tenants {
		v.ref("tenants", i, t.ID, "parent", "tenant", t.Parent, v.tenants)
	}
	// Walk each tenant up; report each cycle once, from its smallest id.
	seen := map[string]bool{}
	for i, t := range v.f.Tenants {
		path := []string{t.ID}
		at := map[string]int{t.ID: 0}
		cur := t.Parent
		for cur != "" {
			if k, loop := at[cur]; loop {
				cycle := append(slices.Clone(path[k:]), cur)
				key := minOf(cycle[:len(cycle)-1])
				if !seen[key] && key == t.ID {
					seen[key] = true
					v.addErr(&CycleError{Kind: "tenant", Path: cycle}, "tenants", i, t.ID, "parent", "tenant cycle: %s", joinPath(cycle))
				}
				break
			}
			j, ok := v.tenants[cur]
			if !ok {
				break
			}
			at[cur] = len(path)
			path = append(path, cur)
			cur = v.f.Tenants[j].Parent
		}
	}
}

func minOf(ids []string) string {
	return slices.Min(ids)
}

func joinPath(p []string) string {
	out := ""
	for i, s := range p {
		if i > 0 {
			out += " -> "
		}
		out += s
	}
	return out
}

func (v *validator) people() {
	for i, p := range v.f.Persons {
		v.required("persons", i, p.ID, "tenant", p.Tenant)
		v.ref("persons", i, p.ID, "tenant", "tenant", p.Tenant, v.tenants)
	}
}

func (v *validator) computers() {
	for i, c := range v.f.Computers {
		if strings.HasPrefix(c.ID, TenantSessionPrefix) {
			v.add("computers", i, c.ID, "id", "id starts with %q, which names a tenant's session, not a computer", TenantSessionPrefix)
		}
		v.required("computers", i, c.ID, "tenant", c.Tenant)
		v.ref("computers", i, c.ID, "tenant", "tenant", c.Tenant, v.tenants)
		if !c.Kind.Valid() {
			v.add("computers", i, c.ID, "kind", "invalid computer kind %d", c.Kind)
		}
		if !c.Onboarding.Valid() {
			v.add("computers", i, c.ID, "onboarding", "invalid onboarding status %d", c.Onboarding)
		}
		for j, s := range c.Software {
			if s.Name == "" {
				v.add("computers", i, c.ID, fmt.Sprintf("software[%d].name", j), "missing name")
			}
		}
		for id := range c.Tasks {
			v.ref("computers", i, c.ID, "tasks", "task", id, v.tasks)
		}
	}
}

func (v *validator) groupTree() {
	for i, g := range v.f.Groups {
		v.ref("groups", i, g.ID, "tenant", "tenant", g.Tenant, v.tenants)
		switch g.Kind {
		case GroupPersons:
			for _, m := range g.Members {
				_, isPerson := v.persons[m]
				_, isComputer := v.comps[m]
				if !isPerson && !isComputer {
					v.addErr(ErrNotFound, "groups", i, g.ID, "members", "unknown person or computer %q", m)
				}
			}
		case GroupComputers:
			for _, m := range g.Members {
				v.ref("groups", i, g.ID, "members", "computer", m, v.comps)
			}
		default:
			v.add("groups", i, g.ID, "kind", "missing kind (persons or computers)")
		}
		for _, n := range g.Groups {
			if !v.ref("groups", i, g.ID, "groups", "group", n, v.groups) {
				continue
			}
			if k := v.f.Groups[v.groups[n]].Kind; k != g.Kind {
				v.add("groups", i, g.ID, "groups", "nested group %q holds %s, not %s", n, k, g.Kind)
			}
		}
	}
	// Nested groups must form a DAG; report each cycle once, from its smallest id.
	for i, g := range v.f.Groups {
		if cycle := v.groupCycle(g.ID); cycle != nil && slices.Min(cycle[:len(cycle)-1]) == g.ID {
			v.addErr(&CycleError{Kind: "group", Path: cycle}, "groups", i, g.ID, "groups", "nested group cycle: %s", joinPath(cycle))
		}
	}
}

// groupCycle returns a cycle through start, rotated to begin at start, or nil.
func (v *validator) groupCycle(start string) []string {
	var path []string
	onPath := map[string]bool{}
	done := map[string]bool{}
	var walk func(id string) []string
	walk = func(id string) []string {
		if id == start && len(path) > 0 {
			return append(slices.Clone(path), start)
		}
		if onPath[id] || done[id] {
			return nil
		}
		j, ok := v.groups[id]
		if !ok {
			return nil
		}
		onPath[id] = true
		path = append(path, id)
		for _, n := range v.f.Groups[j].Groups {
			if c := walk(n); c != nil {
				return c
			}
		}
		path = path[:len(path)-1]
		onPath[id] = false
		done[id] = true
		return nil
	}
	return walk(start)
}

func (v *validator) agreements() {
	for i, a := range v.f.Agreements {
		v.required("agreements", i, a.ID, "tenant", a.Tenant)
		v.ref("agreements", i, a.ID, "tenant", "tenant", a.Tenant, v.tenants)
		v.required("agreements", i, a.ID, "client_group", a.ClientGroup)
		if !a.From.IsZero() && !a.To.IsZero() && a.To.Before(a.From) {
			v.add("agreements", i, a.ID, "to", "ends (%s) before it starts (%s)", a.To, a.From)
		}
	}
}

func (v *validator) catalogue() {
	for i, s := range v.f.Software {
		v.required("software", i, s.ID, "name", s.Name)
		v.ref("software", i, s.ID, "tenant", "tenant", s.Tenant, v.tenants)
		if s.Origin == OriginGlobal && s.Tenant != "" {
			v.add("software", i, s.ID, "tenant", "a global catalogue item cannot belong to a tenant")
		}
		d := s.Detection
		if d.DisplayName == "" && len(d.DisplayNames) == 0 && d.Regex == "" && d.ProductCode == "" && d.UpgradeCode == "" && d.Script == nil {
			v.add("software", i, s.ID, "detection", "missing detection (display_name, regex, product_code, upgrade_code or script)")
		}
		seen := map[string]bool{}
		for j, ver := range s.Versions {
			if ver.Version.IsZero() {
				v.add("software", i, s.ID, fmt.Sprintf("versions[%d].version", j), "missing version")
				continue
			}
			key := ver.Version.Canonical()
			if seen[key] {
				v.add("software", i, s.ID, fmt.Sprintf("versions[%d].version", j), "duplicate version %s", ver.Version)
			}
			seen[key] = true
			v.prerequisites(i, s.ID, fmt.Sprintf("versions[%d].prerequisites", j), ver.Prerequisites)
		}
		v.prerequisites(i, s.ID, "prerequisites", s.Prerequisites)
		v.ref("software", i, s.ID, "configuration_task", "task", s.ConfigurationTask, v.tasks)
	}
	for i, t := range v.f.Tasks {
		v.ref("tasks", i, t.ID, "tenant", "tenant", t.Tenant, v.tenants)
		if t.Origin == OriginGlobal && t.Tenant != "" {
			v.add("tasks", i, t.ID, "tenant", "a global catalogue item cannot belong to a tenant")
		}
		names := map[string]bool{}
		for j, p := range t.Parameters {
			field := fmt.Sprintf("parameters[%d]", j)
			if p.Name == "" {
				v.add("tasks", i, t.ID, field+".name", "missing name")
			} else if names[p.Name] {
				v.add("tasks", i, t.ID, field+".name", "duplicate parameter %q", p.Name)
			}
			names[p.Name] = true
			if p.Type == ParamSelect && len(p.Options) == 0 {
				v.add("tasks", i, t.ID, field+".options", "a select parameter needs options")
			}
		}
	}
}

func (v *validator) prerequisites(i int, id, field string, ps []Prerequisite) {
	for j, p := range ps {
		f := fmt.Sprintf("%s[%d]", field, j)
		if !p.Condition.Valid() {
			v.add("software", i, id, f+".if", "missing condition (installed or not-installed)")
		}
		if len(p.Subjects) == 0 {
			v.add("software", i, id, f+".any_of", "missing subjects (any_of or all_of)")
		}
		for _, s := range p.Subjects {
			v.ref("software", i, id, f, "software", s, v.soft)
		}
		switch p.Then {
		case PrereqInstall, PrereqUninstall:
			if len(p.On) == 0 {
				v.add("software", i, id, f+".on", "missing the software to %s", p.Then)
			}
		case PrereqFail:
			if len(p.On) > 0 {
				v.add("software", i, id, f+".on", "fail acts on nothing; remove on")
			}
		default:
			v.add("software", i, id, f+".then", "missing action (install, uninstall or fail)")
		}
		for _, s := range p.On {
			v.ref("software", i, id, f+".on", "software", s, v.soft)
		}
		if !p.Version.IsZero() && len(p.On) == 1 {
			if k, ok := v.soft[p.On[0]]; ok {
				if _, has := v.f.Software[k].Version(p.Version); !has {
					v.addErr(ErrNotFound, "software", i, id, f+".version", "software %q has no version %s", p.On[0], p.Version)
				}
			}
		}
	}
}

func (v *validator) deployments() {
	for i, d := range v.f.Deployments {
		v.required("deployments", i, d.ID, "item", d.Item)
		si, isSoft := v.soft[d.Item]
		ti, isTask := v.tasks[d.Item]
		owner := ""
		switch {
		case d.Item == "":
		case isSoft:
			s := &v.f.Software[si]
			owner = s.Tenant
			v.softwareDeployment(i, d, s)
		case isTask:
			t := &v.f.Tasks[ti]
			owner = t.Tenant
			v.taskDeployment(i, d, t)
		default:
			v.addErr(ErrNotFound, "deployments", i, d.ID, "item", "unknown software or task %q", d.Item)
		}
		v.target("deployments", i, d.ID, d.Target)
		if _, known := v.tenants[owner]; known {
			// An unknown owner is reported with the item; checking against it would only add noise.
			v.private(i, d, owner)
		}
		if !d.Enforcement.Valid() {
			v.add("deployments", i, d.ID, "enforcement", "invalid enforcement %d", d.Enforcement)
		}
		for _, c := range d.ApprovedFor {
			v.ref("deployments", i, d.ID, "approved_for", "computer", c, v.comps)
		}
	}
}

func (v *validator) softwareDeployment(i int, d Deployment, s *Software) {
	if d.Mode != ModeUnset {
		v.add("deployments", i, d.ID, "mode", "a software deployment has a desired state, not a mode")
	}
	switch d.Desired {
	case DesiredUnset:
		v.add("deployments", i, d.ID, "desired", "missing desired state")
	case DesiredThisVersion, DesiredNewerOrEqual, DesiredOlderOrEqual:
		if d.Version.IsZero() {
			v.add("deployments", i, d.ID, "version", "desired %s needs a version", d.Desired)
		} else if _, ok := s.Version(d.Version); !ok && d.Desired == DesiredThisVersion {
			v.addErr(ErrNotFound, "deployments", i, d.ID, "version", "software %q has no version %s", s.ID, d.Version)
		}
	default:
		if !d.Desired.Valid() {
			v.add("deployments", i, d.ID, "desired", "invalid desired state %d", d.Desired)
		}
	}
	if len(d.Parameters) > 0 {
		v.add("deployments", i, d.ID, "parameters", "parameters belong to task deployments")
	}
}

func (v *validator) taskDeployment(i int, d Deployment, t *Task) {
	if d.Desired != DesiredUnset {
		v.add("deployments", i, d.ID, "desired", "a task deployment has a mode, not a desired state")
	}
	if d.Mode == ModeUnset {
		v.add("deployments", i, d.ID, "mode", "missing mode (enforce, audit, monitor or ignored)")
	} else if !d.Mode.Valid() {
		v.add("deployments", i, d.ID, "mode", "invalid task mode %d", d.Mode)
	}
	declared := map[string]Parameter{}
	for _, p := range t.Parameters {
		declared[p.Name] = p
	}
	for _, name := range sortedKeys(d.Parameters) {
		if _, ok := declared[name]; !ok {
			v.addErr(ErrNotFound, "deployments", i, d.ID, "parameters."+name, "task %q has no parameter %q", t.ID, name)
		}
	}
	for _, p := range t.Parameters {
		if _, given := d.Parameters[p.Name]; p.Required && !given && p.Default == nil {
			v.add("deployments", i, d.ID, "parameters."+p.Name, "missing required parameter of task %q", t.ID)
		}
	}
	tenantTarget := d.Target.Type == TargetAllTenants || d.Target.Type == TargetTenant || d.Target.Type == TargetTenantTag
	if tenantTarget && t.Category != TaskTenant {
		v.add("deployments", i, d.ID, "target.type", "target %s is for tenant (cloud) tasks; task %q is a %s task", d.Target.Type, t.ID, t.Category)
	}
	if t.Category == TaskTenant && !tenantTarget && d.Target.Type != TargetClientGroup && d.Target.Type != TargetUnset {
		v.add("deployments", i, d.ID, "target.type", "task %q is a tenant (cloud) task: use all-tenants, tenant, tenant-tag or client-group", t.ID)
	}
}

// private checks that a deployment of an item owned by a tenant reaches only that tenant.
// A computer or person target that does not resolve to a tenant is left alone:
// the unknown reference or the missing tenant is reported where it is.
func (v *validator) private(i int, d Deployment, owner string) {
	t := d.Target
	tenant := t.Tenant
	switch t.Type {
	case TargetComputer:
		k, ok := v.comps[t.Computer]
		if !ok || v.f.Computers[k].Tenant == "" {
			return
		}
		tenant = v.f.Computers[k].Tenant
	case TargetPerson:
		k, ok := v.persons[t.Person]
		if !ok || v.f.Persons[k].Tenant == "" {
			return
		}
		tenant = v.f.Persons[k].Tenant
	}
	if tenant != owner || (t.PropagateToChildren && t.Type != TargetComputer && t.Type != TargetPerson) {
		v.add("deployments", i, d.ID, "target", "item %q is private to tenant %q: the target must stay within that tenant", d.Item, owner)
	}
}

// target checks one target's type and the fields its type needs.
func (v *validator) target(section string, i int, id string, t Target) {
	need := func(field, val, what string, in map[string]int) {
		if val == "" {
			v.add(section, i, id, "target."+field, "target %s needs %s", t.Type, field)
			return
		}
		if in != nil {
			v.ref(section, i, id, "target."+field, what, val, in)
		}
	}
	v.ref(section, i, id, "target.tenant", "tenant", t.Tenant, v.tenants)
	if !t.Filter.Valid() {
		v.add(section, i, id, "target.filter", "invalid group filter %d", t.Filter)
	}
	switch t.Type {
	case TargetUnset:
		v.add(section, i, id, "target.type", "missing target type")
	case TargetAllComputers, TargetAllTenants:
	case TargetComputer:
		need("computer", t.Computer, "computer", v.comps)
	case TargetPerson:
		need("person", t.Person, "person", v.persons)
	case TargetTag, TargetTenantTag:
		need("tag", t.Tag, "", nil)
	case TargetGroup:
		need("group", t.Group, "group", v.groups)
	case TargetFilter:
		if (t.Expr == "") == (t.Lua == "") {
			v.add(section, i, id, "target.expr", "a filter target needs exactly one of expr and lua")
		}
	case TargetClientGroup:
		need("client_group", t.ClientGroup, "", nil)
	case TargetDeviceGroup:
		need("device_group", t.DeviceGroup, "", nil)
	case TargetTenant:
		need("tenant", t.Tenant, "tenant", v.tenants)
	default:
		v.add(section, i, id, "target.type", "invalid target type %d", t.Type)
	}
}

func (v *validator) schedules() {
	for i, s := range v.f.Schedules {
		v.required("schedules", i, s.ID, "cron", s.Cron)
		if s.Item != "" {
			_, isSoft := v.soft[s.Item]
			_, isTask := v.tasks[s.Item]
			if !isSoft && !isTask {
				v.addErr(ErrNotFound, "schedules", i, s.ID, "item", "unknown software or task %q", s.Item)
			}
		}
		if s.Target.Type != TargetUnset {
			v.target("schedules", i, s.ID, s.Target)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
