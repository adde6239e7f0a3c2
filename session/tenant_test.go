package session

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
)

func cloud(body string) *immy.Script {
	return &immy.Script{Language: immy.LanguageLua, Context: immy.ContextCloud, Body: body}
}

// cloudFleet: tenants acme (tag gold) and globex, each with a computer;
// cloud tasks deployed to tenants in every way, and a task deployed to
// tenants whose script runs on computers.
func cloudFleet() *immy.Fleet {
	f := smallFleet()
	f.Tenants = []immy.Tenant{{ID: "acme", Name: "Acme", Tags: []string{"gold"}}, {ID: "globex", Name: "Globex"}}
	f.Computers = []immy.Computer{{ID: "pc1", Tenant: "acme", Kind: immy.KindWorkstation, Online: true}}
	f.Software, f.Deployments = nil, nil
	f.Tasks = []immy.Task{
		{ID: "audit-log", Name: "Audit log retention", Test: cloud(`log("audit of " .. tenant.id) return true`)},
		{ID: "mfa", Name: "MFA policy", Test: cloud(`return tenant.id == "acme"`), Set: cloud(`log("set MFA for " .. tenant.id)`)},
		{ID: "licences", Name: "Licences", Get: cloud(`log("counting") return "42 seats of " .. tenant.name`)},
		{ID: "on-computers", Name: "Not a cloud task", Test: &immy.Script{Language: immy.LanguageShell, Body: "true"}},
	}
	dep := func(id, item string, mode immy.TaskMode, t immy.Target, prio int) immy.Deployment {
		t.Category = immy.CategoryTenant
		return immy.Deployment{ID: id, Item: item, Mode: mode, Target: t, Priority: prio}
	}
	f.Deployments = []immy.Deployment{
		dep("d-audit-all", "audit-log", immy.ModeAudit, immy.Target{Type: immy.TargetAllTenants}, 0),
		dep("d-mfa-acme", "mfa", immy.ModeEnforce, immy.Target{Type: immy.TargetTenant, Tenant: "acme"}, 0),
		dep("d-mfa-all", "mfa", immy.ModeEnforce, immy.Target{Type: immy.TargetAllTenants}, 10),
		dep("d-licences-gold", "licences", immy.ModeMonitor, immy.Target{Type: immy.TargetTenantTag, Tag: "gold"}, 0),
		dep("d-on-computers", "on-computers", immy.ModeAudit, immy.Target{Type: immy.TargetAllTenants}, 0),
	}
	return f
}

func TestTenantSession(t *testing.T) {
	h := newHarness(t, cloudFleet(), nil)
	sub := h.engine.Subscribe("")
	defer sub.Close()
	rep := h.run(Request{ID: "acme-cloud", Computer: TenantSession("acme")})
	require.Equal(t, Passed, rep.Status, "%s %s %v", rep.Reason, rep.Message, outcomes(rep.Actions))
	var deps []string
	for _, a := range rep.Actions {
		deps = append(deps, a.Planned.Deployment+":"+a.Planned.Action.String())
	}
	require.Equal(t, []string{"d-audit-all:task-audit", "d-licences-gold:task-monitor", "d-mfa-acme:task-enforce"}, deps,
		"one winner per task: the tenant's own target before all tenants, whatever the priority; the computers' task left out")
	require.Equal(t, "42 seats of Acme", rep.Actions[1].Value)
	for _, a := range rep.Actions {
		require.Equal(t, Success, a.Result, a.Item())
	}
	var logs []string
	for _, ev := range until(t, sub, "acme-cloud") {
		if ev.Kind == EventLog {
			logs = append(logs, ev.Text)
		}
	}
	all := strings.Join(logs, "\n")
	require.Contains(t, all, "audit of acme")
	require.Contains(t, all, `task "on-computers" is deployed to tenants but has scripts that run on computers`)
	require.NotContains(t, all, "set MFA", "compliant: not set")
	require.Empty(t, h.fake.Computer("pc1").Runs(), "nothing ran on the tenant's computers")

	// globex: all tenants' MFA deployment, whose set does not make it compliant
	rep = h.run(Request{ID: "globex-cloud", Computer: TenantSession("globex")})
	require.Equal(t, PartiallyPassed, rep.Status, "%v", outcomes(rep.Actions))
	require.Equal(t, []string{"audit-log:task-audit:complete:success:compliant", "mfa:task-enforce:complete:failed:" + ReasonVerificationFailed}, outcomes(rep.Actions))
	require.Equal(t, "d-mfa-all", rep.Actions[1].Planned.Deployment)
	require.Equal(t, "the test of mfa still returns false after the set script", rep.Actions[1].Message)

	// requests a tenant session cannot be
	_, err := h.engine.Start(context.Background(), Request{Computer: TenantSession("initech")})
	require.ErrorIs(t, err, immy.ErrNotFound)
	_, err = h.engine.Start(context.Background(), Request{Computer: TenantSession("acme"), Kind: SingleItem, Item: "mfa"})
	require.ErrorIs(t, err, immy.ErrInvalid)
}

// A computer whose id names another tenant's session (a store written
// before Validate refused such ids may hold one) is never run as that
// tenant's session.
func TestTenantSessionNotAComputer(t *testing.T) {
	f := cloudFleet()
	f.Computers = append(f.Computers, immy.Computer{ID: TenantSession("globex"), Tenant: "acme", Kind: immy.KindWorkstation, Online: true})
	h := newHarness(t, f, nil)
	_, err := h.engine.Start(context.Background(), Request{Computer: TenantSession("globex")})
	require.ErrorIs(t, err, immy.ErrInvalid)
	require.ErrorContains(t, err, `"tenant:globex" is the id of a computer of tenant "acme"`)
}

// A tenant session stopped at each journal write in turn (the process
// died) is resumed by a new engine over the journal and ends passed.
func TestTenantSessionResumesAfterCrash(t *testing.T) {
	clean := newHarness(t, cloudFleet(), nil)
	rep := clean.run(Request{Computer: TenantSession("acme")})
	require.Equal(t, Passed, rep.Status)
	total := clean.journal.Len()
	for n := 2; n <= total; n++ {
		t.Run(fmt.Sprintf("write-%02d", n), func(t *testing.T) {
			crash := &crashJournal{MemoryJournal: &MemoryJournal{}, n: n}
			h := newHarness(t, cloudFleet(), func(c *Config) { c.Journal = crash })
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			id, err := h.engine.Start(ctx, Request{Computer: TenantSession("acme")})
			require.NoError(t, err)
			_, err = h.engine.Wait(ctx, id)
			require.ErrorIs(t, err, errCrash)

			h.cfg.Journal = crash.MemoryJournal
			e2 := h.newEngine()
			ids, err := e2.Resume(ctx)
			require.NoError(t, err)
			require.Equal(t, []string{id}, ids)
			rep, err := e2.Wait(ctx, id)
			require.NoError(t, err)
			require.Equal(t, Passed, rep.Status, "%s %v", rep.Reason, outcomes(rep.Actions))
			require.Len(t, rep.Actions, 3)
		})
	}
}
