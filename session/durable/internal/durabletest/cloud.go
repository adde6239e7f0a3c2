package durabletest

import (
	"context"
	"fmt"
	"strings"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/session"
)

// Tenant names the i-th tenant of CloudFleet.
func Tenant(i int) string { return fmt.Sprintf("t%03d", i) }

// CloudSchedule is the schedule of CloudFleet: every tenant at 02:00 UTC,
// executed right after detection.
const CloudSchedule = "cloud-nightly"

// CloudFleet returns n tenants without computers, each to get a cloud task
// enforced (MFA on, through the tenant's integration: a test that reads it,
// a set that changes it) and a monitored one (the licences, read only), by
// CloudSchedule. A Logged is their integration (session.Integrations).
func CloudFleet(n int) *immy.Fleet {
	cloud := func(body string) *immy.Script {
		return &immy.Script{Language: immy.LanguageLua, Context: immy.ContextCloud, Body: body}
	}
	all := immy.Target{Type: immy.TargetAllTenants, Category: immy.CategoryTenant}
	f := &immy.Fleet{
		At: At,
		Tasks: []immy.Task{
			{ID: "mfa", Name: "MFA", Category: immy.TaskTenant,
				Test: cloud(`return integration("get", {key = "mfa"}) == "on"`),
				Set:  cloud(`integration("set", {key = "mfa", value = "on"})`)},
			{ID: "licences", Name: "Licences", Category: immy.TaskTenant,
				Get: cloud(`return integration("get", {key = "licences"}) or "none"`)},
		},
		Deployments: []immy.Deployment{
			{ID: "d-mfa", Item: "mfa", Mode: immy.ModeEnforce, Target: all},
			{ID: "d-licences", Item: "licences", Mode: immy.ModeMonitor, Target: all},
		},
		Schedules: []immy.Schedule{{ID: CloudSchedule, Cron: "0 2 * * *", ExecuteRightAfterDetection: true,
			Target: immy.Target{Type: immy.TargetAllTenants}}},
	}
	for i := range n {
		f.Tenants = append(f.Tenants, immy.Tenant{ID: Tenant(i), Name: strings.ToUpper(Tenant(i))})
	}
	return f
}

var _ session.Integrations = (*Logged)(nil)

// CallIntegration implements session.Integrations over the action log: the
// tenant's integration is a key-value store; "get" is logged as a detection
// of the tenant (computer "tenant:<id>", body "get(<key>)"), "set" as a
// change (body "set(<key>,<value>)"), synced before it returns, and replayed
// by the processes that share the log.
func (l *Logged) CallIntegration(ctx context.Context, tenant, method string, args map[string]any) (any, error) {
	if err := l.wait(ctx); err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.sync(ctx); err != nil {
		return nil, err
	}
	key, _ := args["key"].(string)
	if key == "" || strings.ContainsAny(key, ",()") {
		return nil, fmt.Errorf("durabletest: %s: want a key: %w", method, immy.ErrInvalid)
	}
	who := session.TenantSession(tenant)
	switch method {
	case "get":
		if err := l.append(Entry{Computer: who, Kind: "detect", Body: "get(" + key + ")"}, false); err != nil {
			return nil, err
		}
		if v, ok := l.tenantState[tenant][key]; ok {
			return v, nil
		}
		return nil, nil
	case "set":
		v := fmt.Sprint(args["value"])
		l.setTenant(tenant, key, v)
		if err := l.append(Entry{Computer: who, Kind: "run", Body: "set(" + key + "," + v + ")"}, true); err != nil {
			return nil, err
		}
		return nil, nil
	}
	return nil, fmt.Errorf("durabletest: no method %q: %w", method, immy.ErrNotFound)
}

func (l *Logged) setTenant(tenant, key, value string) {
	if l.tenantState == nil {
		l.tenantState = map[string]map[string]string{}
	}
	if l.tenantState[tenant] == nil {
		l.tenantState[tenant] = map[string]string{}
	}
	l.tenantState[tenant][key] = value
}

// replayTenant replays a change of a tenant's integration another process
// logged; it reports false for an entry of a computer.
func (l *Logged) replayTenant(e Entry) (bool, error) {
	tenant, ok := strings.CutPrefix(e.Computer, session.TenantPrefix)
	if !ok {
		return false, nil
	}
	kv, ok := strings.CutPrefix(e.Body, "set(")
	k, v, ok2 := strings.Cut(strings.TrimSuffix(kv, ")"), ",")
	if !ok || !ok2 {
		return true, fmt.Errorf("durabletest: replay %q of %s: not a set", e.Body, e.Computer)
	}
	l.setTenant(tenant, k, v)
	return true, nil
}

// TenantState returns a tenant's integration's value of key, as the log
// has it.
func (l *Logged) TenantState(tenant, key string) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	v, ok := l.tenantState[tenant][key]
	return v, ok
}
