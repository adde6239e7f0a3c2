package targets

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/immyoss/engine/immy"
)

// Rule names one check of a target against a computer.
type Rule string

// The checks Explain makes, in order.
const (
	RuleCategory    Rule = "category"     // the target selects computers, not tenants
	RuleMaintenance Rule = "maintenance"  // the computer is not excluded from maintenance
	RuleTenant      Rule = "tenant"       // single-tenant scope: the computer's tenant, or a descendant when propagated
	RuleCrossTenant Rule = "cross-tenant" // cross-tenant scope: the tenant is not excluded from cross-tenant deployments
	RuleGroupFilter Rule = "group-filter" // the computer's kind passes the group filter
	RuleTarget      Rule = "target"       // the target type's own rule: the tag, the group, the filter...
)

// Check is the outcome of one rule.
type Check struct {
	Rule   Rule
	Passed bool
	Detail string // what was compared, in words
}

// Explanation tells why a deployment's target selects a computer or not:
// every rule that applies, each passed or failed. The computer is selected
// when every check passed.
type Explanation struct {
	Deployment string
	Computer   string
	Selected   bool
	Checks     []Check
}

// Failed returns the first check that failed, or false when the computer is selected.
func (e Explanation) Failed() (Check, bool) {
	for _, c := range e.Checks {
		if !c.Passed {
			return c, true
		}
	}
	return Check{}, false
}

// String renders the explanation, one check a line.
func (e Explanation) String() string {
	var b strings.Builder
	verdict := "selects"
	if !e.Selected {
		verdict = "does not select"
	}
	fmt.Fprintf(&b, "deployment %q %s computer %q\n", e.Deployment, verdict, e.Computer)
	for _, c := range e.Checks {
		mark := "ok  "
		if !c.Passed {
			mark = "FAIL"
		}
		fmt.Fprintf(&b, "  %s %s: %s\n", mark, c.Rule, c.Detail)
	}
	return b.String()
}

// Explain tells why computer c is in or out of deployment i's target. It
// makes every check rather than stopping at the first failure, so that a
// technician sees all that would have to change. It agrees with Match and
// Resolve; it returns an error only when a filter fails to run.
func (m *Matcher) Explain(ctx context.Context, i int, c int) (Explanation, error) {
	t, err := m.check(i)
	if err != nil {
		return Explanation{}, err
	}
	ix := m.ix
	if c < 0 || c >= len(ix.f.Computers) {
		return Explanation{}, fmt.Errorf("targets: no computer #%d: %w", c, immy.ErrNotFound)
	}
	d := &m.deps[i]
	comp := &ix.f.Computers[c]
	e := Explanation{Deployment: d.ID, Computer: comp.ID}
	add := func(r Rule, ok bool, format string, args ...any) {
		e.Checks = append(e.Checks, Check{Rule: r, Passed: ok, Detail: fmt.Sprintf(format, args...)})
	}
	if t.tenants {
		add(RuleCategory, false, "target %s selects tenants, not computers", d.Target.Type)
	}
	if comp.ExcludedFromMaintenance {
		add(RuleMaintenance, false, "computer %q is excluded from maintenance", comp.ID)
	} else {
		add(RuleMaintenance, true, "computer %q is not excluded from maintenance", comp.ID)
	}
	ten := ix.cTenant[c]
	tenantID := comp.Tenant
	switch t.scope {
	case scopeFree:
	case scopeCross:
		switch {
		case ten < 0:
			add(RuleCrossTenant, true, "computer has no known tenant; the target is cross-tenant")
		case ix.f.Tenants[ten].ExcludeFromCrossTenant:
			add(RuleCrossTenant, false, "tenant %q is excluded from cross-tenant deployments", tenantID)
		default:
			add(RuleCrossTenant, true, "tenant %q takes cross-tenant deployments", tenantID)
		}
	default:
		want := d.Target.Tenant
		switch {
		case t.dangling:
			add(RuleTenant, false, "the target's tenant %q does not exist", want)
		case ten == t.scope:
			add(RuleTenant, true, "computer's tenant %q is the target's tenant", tenantID)
		case ten >= 0 && ix.inSubtree(t.scope, ten) && t.propagate:
			add(RuleTenant, true, "computer's tenant %q is a descendant of %q, and the target propagates to child tenants", tenantID, want)
		case ten >= 0 && ix.inSubtree(t.scope, ten):
			add(RuleTenant, false, "computer's tenant %q is a descendant of %q, but the target does not propagate to child tenants", tenantID, want)
		default:
			add(RuleTenant, false, "computer's tenant %q is not %q", tenantID, want)
		}
	}
	if t.kinds&kindBit(comp.Kind) != 0 {
		add(RuleGroupFilter, true, "kind %s passes group filter %s", comp.Kind, d.Target.Filter)
	} else {
		add(RuleGroupFilter, false, "kind %s does not pass group filter %s", comp.Kind, d.Target.Filter)
	}
	if !t.tenants {
		ok, detail, err := m.explainType(ctx, t, d, int32(c))
		if err != nil {
			return Explanation{}, fmt.Errorf("targets: deployment %q: %w", d.ID, err)
		}
		add(RuleTarget, ok, "%s", detail)
	}
	e.Selected = true
	for _, ch := range e.Checks {
		e.Selected = e.Selected && ch.Passed
	}
	return e, nil
}

// explainType checks the target type's own rule.
func (m *Matcher) explainType(ctx context.Context, t *target, d *immy.Deployment, c int32) (bool, string, error) {
	ix := m.ix
	comp := &ix.f.Computers[c]
	tg := d.Target
	primary := ""
	if p := ix.cPrimary[c]; p >= 0 {
		primary = ix.f.Persons[p].ID
	}
	switch tg.Type {
	case immy.TargetAllComputers:
		return true, "all computers", nil
	case immy.TargetComputer:
		if tg.Computer == comp.ID {
			return true, fmt.Sprintf("the target is computer %q", comp.ID), nil
		}
		return false, fmt.Sprintf("the target is computer %q", tg.Computer), nil
	case immy.TargetPerson:
		switch {
		case primary == "":
			return false, fmt.Sprintf("computer has no primary person; the target is person %q", tg.Person), nil
		case primary == tg.Person:
			return true, fmt.Sprintf("person %q is the computer's primary person (affinity)", primary), nil
		}
		return false, fmt.Sprintf("the computer's primary person is %q, not %q", primary, tg.Person), nil
	case immy.TargetTag:
		var on []string
		if slices.Contains(comp.Tags, tg.Tag) {
			on = append(on, "the computer")
		}
		if ten := ix.cTenant[c]; ten >= 0 && slices.Contains(ix.f.Tenants[ten].Tags, tg.Tag) {
			on = append(on, fmt.Sprintf("tenant %q", comp.Tenant))
		}
		if p := ix.cPrimary[c]; p >= 0 && slices.Contains(ix.f.Persons[p].Tags, tg.Tag) {
			on = append(on, fmt.Sprintf("primary person %q", primary))
		}
		if len(on) == 0 {
			return false, fmt.Sprintf("neither the computer, its tenant nor its primary person has tag %q", tg.Tag), nil
		}
		return true, fmt.Sprintf("tag %q is on %s", tg.Tag, strings.Join(on, " and ")), nil
	case immy.TargetGroup:
		if t.key < 0 {
			return false, fmt.Sprintf("group %q does not exist", tg.Group), nil
		}
		if how, ok := m.groupPath(t.key, c, map[int32]bool{}); ok {
			return true, how, nil
		}
		return false, fmt.Sprintf("computer is not in group %q (nor in its nested groups, nor the primary computer of a member)", tg.Group), nil
	case immy.TargetFilter:
		slot := m.filters[t.filter]
		ok, err := m.filterResult(ctx, t.filter, int(c))
		if err != nil {
			return false, "", err
		}
		return ok, fmt.Sprintf("%s filter %q is %t for the computer", slot.f.lang, slot.f.src, ok), nil
	case immy.TargetDeviceGroup:
		if slices.Contains(comp.DeviceGroups, tg.DeviceGroup) {
			return true, fmt.Sprintf("computer is in device group %q", tg.DeviceGroup), nil
		}
		return false, fmt.Sprintf("computer is not in device group %q", tg.DeviceGroup), nil
	case immy.TargetClientGroup:
		for _, a := range ix.f.Agreements {
			if a.Tenant == comp.Tenant && a.ClientGroup == tg.ClientGroup && a.ActiveOn(ix.day) {
				return true, fmt.Sprintf("tenant %q has agreement %q of client group %q, active on %s", comp.Tenant, a.ID, tg.ClientGroup, ix.day), nil
			}
		}
		return false, fmt.Sprintf("tenant %q has no agreement of client group %q active on %s", comp.Tenant, tg.ClientGroup, ix.day), nil
	}
	return false, fmt.Sprintf("target type %q selects no computers", tg.Type.String()), nil
}

// groupPath explains how computer c belongs to group g: directly, through a
// person member's affinity, or through nested groups.
func (m *Matcher) groupPath(g, c int32, seen map[int32]bool) (string, bool) {
	ix := m.ix
	if seen[g] || !slices.Contains(ix.groupComputers[g], c) {
		return "", false
	}
	seen[g] = true
	grp := &ix.f.Groups[g]
	comp := &ix.f.Computers[c]
	for _, mem := range grp.Members {
		if mem == comp.ID {
			return fmt.Sprintf("computer is a member of group %q", grp.ID), true
		}
	}
	if p := ix.cPrimary[c]; p >= 0 && grp.Kind != immy.GroupComputers && slices.Contains(grp.Members, ix.f.Persons[p].ID) {
		return fmt.Sprintf("person %q, a member of group %q, has the computer as primary computer (affinity)", ix.f.Persons[p].ID, grp.ID), true
	}
	for _, n := range grp.Groups {
		if k, ok := ix.groupIDs[n]; ok {
			if how, ok := m.groupPath(k, c, seen); ok {
				return fmt.Sprintf("%s, nested in group %q", how, grp.ID), true
			}
		}
	}
	return "", false
}
