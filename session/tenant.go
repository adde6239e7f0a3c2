package session

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/resolver"
	"github.com/immyoss/engine/targets"
)

// Tenant sessions
//
// Cloud tasks (tasks deployed to tenants: all tenants, a tenant, tenants
// with a tag, a client group) run in a tenant session: a session whose
// Request.Computer is TenantSession(tenant). It has the journal, events,
// statuses, cancellation and resume of a computer session, and one active
// session per tenant. Its stages: resolution (the cloud task deployments
// whose target selects the tenant, one winner per task: a single-tenant
// target before a tenant tag or a client group before all tenants, then
// the higher priority, then the lower deployment id; required deployments
// only, and never a task private to another tenant), then the plan (one
// action per task, by the deployment's mode: enforce, audit, monitor;
// ignored is left out), then execution, each task's scripts run as cloud
// scripts on the server, bound to the tenant (the tenant table, the
// deployment's parameters, log, progress). A task with a script of another
// context is left out of a tenant session (logged). DetectionOnly stops
// after the plan; other kinds are refused by Start. No reboot, no
// notification, no inventory: a tenant is no computer.

// TenantPrefix starts the Request.Computer of a tenant session. The fleet's
// validation refuses computer ids that start with it.
const TenantPrefix = immy.TenantSessionPrefix

// TenantSession is the Request.Computer of a tenant's session.
func TenantSession(tenant string) string { return TenantPrefix + tenant }

// ReasonCloudTask is the planned reason of a tenant session's actions.
const ReasonCloudTask = "cloud-task"

// tenantOf returns the tenant of a tenant session's Request.Computer.
func tenantOf(computer string) (string, bool) {
	t, ok := strings.CutPrefix(computer, TenantPrefix)
	return t, ok && t != ""
}

// validateTenant checks a tenant session's request.
func (e *Engine) validateTenant(req *Request, tenant string) error {
	var errs []error
	if e.tenants[tenant] == nil {
		errs = append(errs, fmt.Errorf("computer: %q: unknown tenant %q: %w", req.Computer, tenant, immy.ErrNotFound))
	}
	if c := e.computer(req.Computer); c != nil {
		// Validate refuses such ids, but a store written before it did may
		// still hold one: it is that computer's tenant's, never this one's.
		errs = append(errs, fmt.Errorf("computer: %q is the id of a computer of tenant %q, not a tenant's session; rename the computer: %w", req.Computer, c.Tenant, immy.ErrInvalid))
	}
	if req.Kind != FullMaintenance && req.Kind != DetectionOnly {
		errs = append(errs, fmt.Errorf("kind: a tenant session is full maintenance or detection only, not %s: %w", req.Kind, immy.ErrInvalid))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("session: %w", err)
	}
	return nil
}

// tenantTargets resolves the tenant targets of one revision of the fleet,
// once.
type tenantTargets struct {
	once sync.Once
	ix   *targets.Index
	m    *targets.Matcher
	err  error
}

var tenantTargetsOf sync.Map // *fleetView -> *tenantTargets

func (e *Engine) tenantTargets() (*targets.Index, *targets.Matcher, error) {
	v, _ := tenantTargetsOf.LoadOrStore(e.fleetView, &tenantTargets{})
	tt := v.(*tenantTargets)
	tt.once.Do(func() {
		tt.ix, tt.err = targets.NewIndex(e.fleet, targets.Config{At: e.planner.At()})
		if tt.err == nil {
			tt.m, tt.err = tt.ix.Compile(e.fleet.Deployments)
		}
	})
	return tt.ix, tt.m, tt.err
}

// isTenantTarget reports whether a target selects tenants.
func isTenantTarget(t immy.Target) bool {
	switch t.Type {
	case immy.TargetAllTenants, immy.TargetTenant, immy.TargetTenantTag:
		return true
	}
	return t.Category == immy.CategoryTenant
}

// tenantScope ranks a tenant target: lower wins.
func tenantScope(t immy.Target) int {
	switch t.Type {
	case immy.TargetTenant:
		return 0
	case immy.TargetTenantTag, immy.TargetClientGroup:
		return 1
	}
	return 2
}

// cloudOnly reports whether every script of a task runs on the server,
// bound to a tenant.
func cloudOnly(t *immy.Task) bool {
	n := 0
	for _, s := range []*immy.Script{t.Script, t.Get, t.Set, t.Test} {
		if s == nil {
			continue
		}
		n++
		if s.Context != immy.ContextCloud {
			return false
		}
	}
	return n > 0
}

// cloudDeployments returns the winning cloud task deployment of each task
// for a tenant, by task id.
func (x *runCtx) cloudDeployments(tenant string) ([]*immy.Deployment, error) {
	e := x.e
	ix, m, err := e.tenantTargets()
	if err != nil {
		return nil, err
	}
	ti, ok := ix.Tenant(tenant)
	if !ok {
		return nil, fmt.Errorf("tenant %q: %w", tenant, immy.ErrNotFound)
	}
	win := map[string]*immy.Deployment{}
	for i := range e.fleet.Deployments {
		d := &e.fleet.Deployments[i]
		t := e.tasks[d.Item]
		if d.Disabled || t == nil || !isTenantTarget(d.Target) || d.Enforcement != immy.EnforcementRequired || d.Mode == immy.ModeIgnored {
			continue
		}
		if t.Tenant != "" && t.Tenant != tenant {
			continue // private to another tenant
		}
		sel, err := m.ResolveTenants(x.ctx, i)
		if err != nil {
			if stop := x.checkStop(); stop != nil {
				return nil, stop
			}
			return nil, err
		}
		if !slices.Contains(sel, ti) {
			continue
		}
		if !cloudOnly(t) {
			e.log(x.s, -1, fmt.Sprintf("task %q is deployed to tenants but has scripts that run on computers: left out of the tenant session", t.ID))
			continue
		}
		if w := win[d.Item]; w == nil || better(d, w) {
			win[d.Item] = d
		}
	}
	out := make([]*immy.Deployment, 0, len(win))
	for _, d := range win {
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b *immy.Deployment) int { return strings.Compare(a.Item, b.Item) })
	return out, nil
}

// better reports whether deployment a beats b for the same cloud task.
func better(a, b *immy.Deployment) bool {
	if sa, sb := tenantScope(a.Target), tenantScope(b.Target); sa != sb {
		return sa < sb
	}
	if a.Priority != b.Priority {
		return a.Priority > b.Priority
	}
	return a.ID < b.ID
}

// tenantMain runs a tenant session's stages from where it stands.
func (x *runCtx) tenantMain(tenant string) error {
	x.comp = &immy.Computer{ID: x.s.req.Computer, Tenant: tenant, Name: tenant}
	if err := x.checkStop(); err != nil {
		return err
	}
	if err := x.setStatus(Running, ""); err != nil {
		return err
	}
	if !x.s.report().mainPlanned {
		if err := x.setStage(StageResolution); err != nil {
			return err
		}
		deps, err := x.cloudDeployments(tenant)
		if err != nil {
			if isStop(err) {
				return err
			}
			return &stageFailure{reason: ReasonResolutionFailed, err: fmt.Errorf("resolution: %w", err)}
		}
		if err := x.setStage(StageDetection); err != nil {
			return err
		}
		acts := make([]Action, 0, len(deps))
		for _, d := range deps {
			kind := resolver.ActionTaskEnforce
			switch d.Mode {
			case immy.ModeAudit:
				kind = resolver.ActionTaskAudit
			case immy.ModeMonitor:
				kind = resolver.ActionTaskMonitor
			}
			acts = append(acts, Action{Planned: resolver.Action{Item: d.Item, Deployment: d.ID, Action: kind, Reason: ReasonCloudTask},
				ItemKind: immy.ItemTask})
		}
		if err := x.recordPlan(acts, nil, segMain); err != nil {
			return err
		}
	}
	if x.s.req.Kind == DetectionOnly {
		return x.finish(Passed, ReasonDetectionOnly)
	}
	if err := x.execute(false); err != nil {
		return err
	}
	st, reason := finalStatus(x.actions())
	return x.finish(st, reason)
}
