package immytest

import (
	"slices"
	"strconv"

	"github.com/immyoss/engine/immy"
)

// Desired states of software deployments, in percent.
var genDesired = []struct {
	state immy.DesiredState
	pct   int
}{
	{immy.DesiredLatest, 45}, {immy.DesiredUpdateIfFound, 12}, {immy.DesiredThisVersion, 8},
	{immy.DesiredNewerOrEqual, 6}, {immy.DesiredOlderOrEqual, 3}, {immy.DesiredAnyVersion, 10},
	{immy.DesiredUninstalled, 10}, {immy.DesiredIgnored, 6},
}

var genTagTargets = []string{"canary", "canary", "vip", "finance", "kiosk", "remote", "healthcare"}

func (g *generator) deployments() {
	r := g.rand(streamDeployments)
	f := g.f
	n := g.cfg.Deployments
	if len(f.Software)+len(f.Tasks) == 0 {
		return
	}
	w := width(n)
	mix := g.cfg.Mix
	mixPick := newPicker([]float64{
		float64(mix.AllComputers), float64(mix.TenantComputers), float64(mix.Computer), float64(mix.Person),
		float64(mix.Tag), float64(mix.Group), float64(mix.Expr), float64(mix.Lua),
		float64(mix.ClientGroup), float64(mix.DeviceGroup),
	})
	// Items: software by how common (private ones as an average one), tasks uniformly.
	sw := make([]float64, len(f.Software))
	for i := range sw {
		sw[i] = g.swPick.cum[i]
		if i > 0 {
			sw[i] -= g.swPick.cum[i-1]
		}
		if g.swOwner[i] >= 0 {
			sw[i] = 3
		}
	}
	itemPick := newPicker(sw)
	f.Deployments = make([]immy.Deployment, n)
	for i := range n {
		d := &f.Deployments[i]
		d.ID = padID("d-", i, w)
		d.Disabled = !r.pct(96)
		owner, global := -1, false
		var task *immy.Task
		if len(f.Tasks) > 0 && (len(f.Software) == 0 || r.pct(15)) {
			task = &f.Tasks[r.IntN(len(f.Tasks))]
			d.Item, global = task.ID, task.Origin == immy.OriginGlobal
			if task.Tenant != "" {
				owner = slices.IndexFunc(f.Tenants, func(t immy.Tenant) bool { return t.ID == task.Tenant })
			}
			switch x := r.IntN(100); {
			case x < 60:
				d.Mode = immy.ModeEnforce
			case x < 80:
				d.Mode = immy.ModeAudit
			case x < 95:
				d.Mode = immy.ModeMonitor
			default:
				d.Mode = immy.ModeIgnored
			}
			d.Parameters = g.paramValues(r, task, i)
		} else {
			j := itemPick.pick(r)
			s := &f.Software[j]
			d.Item, owner, global = s.ID, g.swOwner[j], s.Origin == immy.OriginGlobal
			x, acc := r.IntN(100), 0
			for _, ds := range genDesired {
				if acc += ds.pct; x < acc {
					d.Desired = ds.state
					break
				}
			}
			switch d.Desired {
			case immy.DesiredThisVersion, immy.DesiredNewerOrEqual, immy.DesiredOlderOrEqual:
				d.Version = pick(r, s.Versions).Version
			}
		}
		switch {
		case task != nil && task.Category == immy.TaskTenant:
			d.Target = g.tenantTarget(r, owner)
		case owner >= 0:
			d.Target = g.privateTarget(r, owner)
		default:
			d.Target = g.computerTarget(r, mixPick.pick(r))
		}
		if r.pct(25) {
			d.Priority = r.between(1, 10)
		}
		switch x := r.IntN(100); {
		case x < 86 || d.Target.Category == immy.CategoryTenant && x < 96:
		case x < 92:
			d.Enforcement = immy.EnforcementOptional
			for range r.between(1, 5) {
				if len(f.Computers) > 0 {
					d.ApprovedFor = append(d.ApprovedFor, f.Computers[r.IntN(len(f.Computers))].ID)
				}
			}
		case x < 96:
			d.Enforcement = immy.EnforcementAdHoc
		default:
			d.Enforcement = immy.EnforcementOnboardingOnly
		}
		d.Recommended = global && d.Target.Tenant == "" && r.pct(40)
		if r.pct(20) {
			d.Visibility = immy.Visibility{Ticket: r.pct(50), Tenant: true, Person: r.pct(50), Computer: r.pct(70)}
		}
	}
}

// paramValues gives a task deployment values for the task's required parameters
// and some of its optional ones.
func (g *generator) paramValues(r rnd, t *immy.Task, i int) map[string]any {
	var m map[string]any
	for _, p := range t.Parameters {
		if !p.Required && !r.pct(40) {
			continue
		}
		var v any
		switch p.Type {
		case immy.ParamNumber:
			v = float64(r.between(1, 90))
		case immy.ParamBoolean:
			v = r.pct(50)
		case immy.ParamSelect:
			v = pick(r, p.Options)
		case immy.ParamPassword:
			v = "Gen-secret-" + strconv.Itoa(i) + "!"
		case immy.ParamURI:
			v = "https://files.example-msp.com/wallpaper-" + strconv.Itoa(i) + ".jpg"
		case immy.ParamKeyValue:
			v = map[string]string{"AUOptions": strconv.Itoa(r.between(2, 5))}
		case immy.ParamFile:
			v = `\\files\share\setup-` + strconv.Itoa(i) + ".msi"
		default:
			v = "value-" + strconv.Itoa(i)
		}
		if m == nil {
			m = map[string]any{}
		}
		m[p.Name] = v
	}
	return m
}

func (g *generator) groupFilter(r rnd) immy.GroupFilter {
	switch x := r.IntN(100); {
	case x < 60:
		return immy.FilterAll
	case x < 80:
		return immy.FilterWorkstationsAndPortable
	case x < 90:
		return immy.FilterServers
	case x < 95:
		return immy.FilterWorkstations
	case x < 98:
		return immy.FilterDomainControllers
	}
	return immy.FilterPrimaryDomainControllers
}

// someTenant returns a tenant with computers, or -1.
func (g *generator) someTenant(r rnd) int { return g.byComputers.pick(r) }

// computerTarget draws a target of the given mix index (see TargetMix's fields).
func (g *generator) computerTarget(r rnd, kind int) immy.Target {
	f := g.f
	fallback := func() immy.Target {
		t := immy.Target{Type: immy.TargetAllComputers, Filter: g.groupFilter(r)}
		if tn := g.someTenant(r); tn >= 0 {
			t.Tenant = f.Tenants[tn].ID
			t.PropagateToChildren = g.hasChildren[tn] && r.pct(30)
		}
		return t
	}
	maybeTenant := func(t immy.Target, p int) immy.Target {
		if tn := g.someTenant(r); tn >= 0 && r.pct(p) {
			t.Tenant = f.Tenants[tn].ID
		}
		return t
	}
	switch kind {
	case 0:
		return immy.Target{Type: immy.TargetAllComputers, Filter: g.groupFilter(r)}
	case 1:
		return fallback()
	case 2:
		if len(f.Computers) > 0 {
			return immy.Target{Type: immy.TargetComputer, Computer: f.Computers[r.IntN(len(f.Computers))].ID}
		}
	case 3:
		if len(f.Persons) > 0 {
			return immy.Target{Type: immy.TargetPerson, Person: f.Persons[r.IntN(len(f.Persons))].ID}
		}
	case 4:
		return maybeTenant(immy.Target{Type: immy.TargetTag, Tag: pick(r, genTagTargets)}, 40)
	case 5:
		if len(f.Groups) > 0 {
			k := r.IntN(len(f.Groups))
			t := immy.Target{Type: immy.TargetGroup, Group: f.Groups[k].ID}
			if f.Groups[k].Kind == immy.GroupComputers {
				t.Filter = g.groupFilter(r)
			}
			t.Tenant = f.Groups[k].Tenant
			return t
		}
	case 6:
		if g.cfg.Filters == FiltersDistinct {
			return g.filterTarget(r, maybeTenant, false)
		}
		return maybeTenant(immy.Target{Type: immy.TargetFilter, Expr: pick(r, genExprFilters)}, 50)
	case 7:
		if g.cfg.Filters == FiltersDistinct {
			return g.filterTarget(r, maybeTenant, true)
		}
		return maybeTenant(immy.Target{Type: immy.TargetFilter, Lua: pick(r, genLuaFilters)}, 50)
	case 8:
		return immy.Target{Type: immy.TargetClientGroup, ClientGroup: pick(r, genClientGroups), Filter: g.groupFilter(r)}
	case 9:
		return maybeTenant(immy.Target{Type: immy.TargetDeviceGroup, DeviceGroup: pick(r, genDeviceGroups)}, 30)
	}
	return fallback()
}

// privateTarget draws a target within the owner tenant, never propagated.
func (g *generator) privateTarget(r rnd, owner int) immy.Target {
	f := g.f
	tenant := f.Tenants[owner].ID
	c0, c1 := g.compStart[owner], g.compStart[owner+1]
	p0, p1 := g.personStart[owner], g.personStart[owner+1]
	switch x := r.IntN(100); {
	case x < 15 && c1 > c0:
		return immy.Target{Type: immy.TargetComputer, Computer: f.Computers[r.between(c0, c1-1)].ID}
	case x < 25 && p1 > p0:
		return immy.Target{Type: immy.TargetPerson, Person: f.Persons[r.between(p0, p1-1)].ID}
	case x < 35:
		return immy.Target{Type: immy.TargetTag, Tag: pick(r, genTagTargets), Tenant: tenant}
	case x < 45:
		if g.cfg.Filters == FiltersDistinct {
			return immy.Target{Type: immy.TargetFilter, Expr: g.exprFilter(owner), Tenant: tenant}
		}
		return immy.Target{Type: immy.TargetFilter, Expr: pick(r, genExprFilters), Tenant: tenant}
	}
	return immy.Target{Type: immy.TargetAllComputers, Tenant: tenant, Filter: g.groupFilter(r)}
}

// tenantTarget draws a target of tenants, for a tenant (cloud) task.
func (g *generator) tenantTarget(r rnd, owner int) immy.Target {
	f := g.f
	t := immy.Target{Category: immy.CategoryTenant}
	if owner >= 0 {
		t.Type, t.Tenant = immy.TargetTenant, f.Tenants[owner].ID
		return t
	}
	switch x := r.IntN(100); {
	case x < 40:
		t.Type = immy.TargetAllTenants
	case x < 70:
		t.Type = immy.TargetTenant
		tn := g.someTenant(r)
		if tn < 0 {
			tn = r.IntN(len(f.Tenants))
		}
		t.Tenant = f.Tenants[tn].ID
	case x < 85:
		t.Type, t.Tag = immy.TargetTenantTag, pick(r, genTenantTags).tag
	default:
		t.Type, t.ClientGroup = immy.TargetClientGroup, pick(r, genClientGroups)
	}
	return t
}

var genCrons = []string{"0 2 * * *", "0 3 * * 6", "30 1 * * 1-5", "0 22 * * 0", "0 12 * * 3"}

func (g *generator) schedules() {
	r := g.rand(streamSchedules)
	f := g.f
	n := g.cfg.Schedules
	w := width(n)
	f.Schedules = make([]immy.Schedule, n)
	for i := range n {
		s := &f.Schedules[i]
		s.ID = padID("sched-", i, w)
		s.Cron = pick(r, genCrons)
		s.Disabled = !r.pct(90)
		s.JitterMinutes = pick(r, []int{0, 15, 30})
		if r.pct(50) {
			s.ExecuteAfterMinutes = pick(r, []int{60, 120, 240})
		} else {
			s.ExecuteRightAfterDetection = true
		}
		if r.pct(30) {
			s.TimeZone = pick(r, genTimeZones)
		}
		s.Target = immy.Target{Type: immy.TargetAllComputers}
		if tn := g.someTenant(r); tn >= 0 && r.pct(60) {
			s.Target.Tenant = f.Tenants[tn].ID
		}
		if len(f.Software) > 0 && r.pct(20) {
			s.Item = f.Software[r.IntN(len(f.Software))].ID
		}
	}
}
