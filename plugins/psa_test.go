package plugins

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/targets"
)

func TestAgreements(t *testing.T) {
	groups := []ClientGroup{
		{Integration: "psa", ID: "managed", Kind: AgreementType, Agreements: []ClientAgreement{
			{ID: "ag-2", Client: "C-2", From: immy.Date{Year: 2026, Month: 1, Day: 1}},
			{ID: "ag-1", Client: "C-1", From: immy.Date{Year: 2026, Month: 1, Day: 1}, To: immy.Date{Year: 2026, Month: 12, Day: 31}},
			{ID: "ag-9", Client: "C-9"},
		}},
	}
	got, unmapped := Agreements(groups, ClientMap{{"psa", "C-1"}: "contoso", {"psa", "C-2"}: "fabrikam"})
	want := []immy.Agreement{
		{ID: "psa:ag-1", Tenant: "contoso", ClientGroup: "psa:managed", From: immy.Date{Year: 2026, Month: 1, Day: 1}, To: immy.Date{Year: 2026, Month: 12, Day: 31}},
		{ID: "psa:ag-2", Tenant: "fabrikam", ClientGroup: "psa:managed", From: immy.Date{Year: 2026, Month: 1, Day: 1}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("agreements (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]ClientKey{{"psa", "C-9"}}, unmapped); diff != "" {
		t.Errorf("unmapped (-want +got):\n%s", diff)
	}
}

// reach is a fake TargetMatcher: a deployment reaches what its target names.
type reach struct{}

func (reach) Reaches(d *immy.Deployment, tenant, person, computer string) bool {
	switch d.Target.Type {
	case immy.TargetComputer:
		return computer != "" && d.Target.Computer == computer
	case immy.TargetPerson:
		return person != "" && d.Target.Person == person
	case immy.TargetAllComputers:
		return d.Target.Tenant == "" || d.Target.Tenant == tenant
	}
	return false
}

func TestTicketTools(t *testing.T) {
	f := &immy.Fleet{
		Tenants: []immy.Tenant{{ID: "contoso", Name: "Contoso"}, {ID: "fabrikam", Name: "Fabrikam"}},
		Persons: []immy.Person{
			{ID: "john-f", Tenant: "fabrikam", UPN: "john@contoso.com"},
			{ID: "john", Tenant: "contoso", UPN: "John@Contoso.com"},
		},
		Computers: []immy.Computer{
			{ID: "lt-1", Tenant: "contoso", Name: "CONTOSO-LT-01"},
			{ID: "lt-2", Tenant: "contoso", Name: "CONTOSO-LT-02", UPNs: []string{"john@contoso.com"}, Pathways: []immy.Pathway{{Integration: "psa", AgentID: "cfg-77"}}},
		},
		Software: []immy.Software{{ID: "private-fab", Tenant: "fabrikam"}, {ID: "reader"}},
		Tasks:    []immy.Task{{ID: "audit-m365", Category: immy.TaskTenant}},
		Deployments: []immy.Deployment{
			{ID: "d-computer", Item: "reader", Visibility: immy.Visibility{Ticket: true}, Target: immy.Target{Type: immy.TargetComputer, Computer: "lt-2"}},
			{ID: "d-person", Item: "reader", Visibility: immy.Visibility{Ticket: true}, Target: immy.Target{Type: immy.TargetPerson, Person: "john"}},
			{ID: "d-tenant", Item: "reader", Visibility: immy.Visibility{Ticket: true}, Target: immy.Target{Type: immy.TargetAllComputers, Tenant: "contoso"}},
			{ID: "d-hidden", Item: "reader", Visibility: immy.Visibility{Computer: true}, Target: immy.Target{Type: immy.TargetComputer, Computer: "lt-2"}},
			{ID: "d-disabled", Item: "reader", Disabled: true, Visibility: immy.Visibility{Ticket: true}, Target: immy.Target{Type: immy.TargetComputer, Computer: "lt-2"}},
			{ID: "d-private", Item: "private-fab", Visibility: immy.Visibility{Ticket: true}, Target: immy.Target{Type: immy.TargetAllComputers}},
			{ID: "d-cloud", Item: "audit-m365", Visibility: immy.Visibility{Ticket: true}, Target: immy.Target{Category: immy.CategoryTenant, Type: immy.TargetTenant, Tenant: "fabrikam"}},
			{ID: "d-other", Item: "reader", Visibility: immy.Visibility{Ticket: true}, Target: immy.Target{Type: immy.TargetComputer, Computer: "lt-1"}},
		},
	}
	clients := ClientMap{{"psa", "C-1"}: "contoso"}
	tc := ResolveTicket(Ticket{Integration: "psa", ID: "T-1", Client: "C-1", Person: &TicketPerson{UPN: "john@contoso.com"}, Agent: "cfg-77"}, f, clients)
	if diff := cmp.Diff(TicketContext{Ticket: tc.Ticket, Tenant: "contoso", Person: "john", Computer: "lt-2"}, tc); diff != "" {
		t.Errorf("context (-want +got):\n%s", diff)
	}
	// The same answer from the fake matcher and from the targets package's.
	ix, err := targets.NewIndex(f, targets.Config{})
	require.NoError(t, err)
	m, err := ix.Compile(f.Deployments)
	require.NoError(t, err)
	for name, matcher := range map[string]TargetMatcher{"fake": reach{}, "targets": m} {
		var ids []string
		for _, d := range TicketDeployments(tc, f, matcher) {
			ids = append(ids, d.ID)
		}
		if diff := cmp.Diff([]string{"d-computer", "d-person", "d-tenant"}, ids); diff != "" {
			t.Errorf("%s: deployments (-want +got):\n%s", name, diff)
		}
	}
	// Another computer of the tenant, nobody: the tenant-wide deployment and
	// the one naming that computer.
	var ids []string
	for _, d := range TicketDeployments(TicketContext{Tenant: "contoso", Computer: "lt-1"}, f, m) {
		ids = append(ids, d.ID)
	}
	if diff := cmp.Diff([]string{"d-other", "d-tenant"}, ids); diff != "" {
		t.Errorf("lt-1: deployments (-want +got):\n%s", diff)
	}
	// A ticket of the tenant a cloud task targets, no computer or person.
	ids = nil
	for _, d := range TicketDeployments(TicketContext{Tenant: "fabrikam"}, f, m) {
		ids = append(ids, d.ID)
	}
	if diff := cmp.Diff([]string{"d-cloud"}, ids); diff != "" {
		t.Errorf("fabrikam: deployments (-want +got):\n%s", diff)
	}

	// A ticket naming a computer by name, and nobody.
	tc = ResolveTicket(Ticket{Integration: "psa", ID: "T-2", Client: "C-1", Agent: "contoso-lt-01"}, f, clients)
	if tc.Computer != "lt-1" || tc.Person != "" {
		t.Errorf("got computer %q person %q, want lt-1 and nobody", tc.Computer, tc.Person)
	}
	// An unmapped client resolves to no tenant.
	tc = ResolveTicket(Ticket{Integration: "psa", ID: "T-3", Client: "C-404"}, f, clients)
	if tc.Tenant != "" {
		t.Errorf("tenant %q for an unmapped client", tc.Tenant)
	}
}

// TestResolveTicketStaysInItsTenant: a ticket of tenant a naming an agent
// that is a pathway of tenant b's computer does not get that computer (its
// deployments and parameters would be offered for it).
func TestResolveTicketStaysInItsTenant(t *testing.T) {
	f := &immy.Fleet{
		Tenants: []immy.Tenant{{ID: "a"}, {ID: "b"}},
		Computers: []immy.Computer{
			{ID: "pc-b", Tenant: "b", Kind: immy.KindWorkstation, Pathways: []immy.Pathway{{Integration: "psa", AgentID: "42"}}},
			{ID: "pc-a", Tenant: "a", Kind: immy.KindWorkstation, Name: "42"},
		},
	}
	clients := ClientMap{{"psa", "client-a"}: "a"}
	tc := ResolveTicket(Ticket{Integration: "psa", ID: "T-1", Client: "client-a", Agent: "42"}, f, clients)
	require.Equal(t, "a", tc.Tenant)
	require.Equal(t, "pc-a", tc.Computer, "a's computer of that name, never b's pathway")
	// a ticket of a client mapped to no tenant keeps the pathway's computer
	tc = ResolveTicket(Ticket{Integration: "psa", ID: "T-2", Client: "unmapped", Agent: "42"}, f, clients)
	require.Equal(t, "pc-b", tc.Computer)
}
