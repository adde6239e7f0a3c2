package plugins

import (
	"cmp"
	"slices"
	"strings"

	"github.com/immyoss/engine/immy"
)

// ClientGroupID is the id a client-group target uses for a client group of an
// integration instance: "instance:group".
func ClientGroupID(integration, group string) string { return integration + ":" + group }

// Agreements turns PSA client groups into the fleet's agreements, which feed
// client-group targets: each agreement of a client mapped to a tenant becomes
// an immy.Agreement of that tenant, in the client group ClientGroupID(...).
// It returns the agreements sorted by id, and the clients that no tenant maps
// (their agreements are left out), sorted.
func Agreements(groups []ClientGroup, clients ClientMap) ([]immy.Agreement, []ClientKey) {
	var out []immy.Agreement
	var unmapped []ClientKey
	for _, g := range groups {
		for _, a := range g.Agreements {
			key := ClientKey{g.Integration, a.Client}
			tenant := clients[key]
			if tenant == "" {
				unmapped = append(unmapped, key)
				continue
			}
			out = append(out, immy.Agreement{
				ID: g.Integration + ":" + a.ID, Tenant: tenant, ClientGroup: ClientGroupID(g.Integration, g.ID),
				From: a.From, To: a.To,
			})
		}
	}
	slices.SortFunc(out, func(a, b immy.Agreement) int {
		return cmp.Or(strings.Compare(a.ID, b.ID), strings.Compare(a.ClientGroup, b.ClientGroup))
	})
	out = slices.CompactFunc(out, func(a, b immy.Agreement) bool { return a == b })
	slices.SortFunc(unmapped, func(a, b ClientKey) int {
		return cmp.Or(strings.Compare(a.Integration, b.Integration), strings.Compare(a.Client, b.Client))
	})
	return out, slices.Compact(unmapped)
}

// TicketContext is what a ticket points at in the fleet.
type TicketContext struct {
	Ticket   Ticket
	Tenant   string // "" when the ticket's client maps to no tenant
	Person   string // person id, "" when none matches
	Computer string // computer id, "" when none matches
}

// ResolveTicket finds a ticket's tenant (through clients), person (by UPN or
// e-mail, case-insensitively, within the tenant) and computer (the computer
// with a pathway to the ticket's agent in the ticket's integration, else the
// tenant's computer of that name). When the ticket's client maps to a
// tenant, only that tenant's persons and computers are found.
func ResolveTicket(t Ticket, f *immy.Fleet, clients ClientMap) TicketContext {
	tc := TicketContext{Ticket: t, Tenant: clients[ClientKey{t.Integration, t.Client}]}
	if t.Person != nil {
		for _, p := range f.Persons {
			if tc.Tenant != "" && p.Tenant != tc.Tenant {
				continue
			}
			if (t.Person.UPN != "" && strings.EqualFold(p.UPN, t.Person.UPN)) ||
				(t.Person.Email != "" && strings.EqualFold(p.UPN, t.Person.Email)) {
				tc.Person = p.ID
				break
			}
		}
	}
	if t.Agent != "" {
		for _, c := range f.Computers {
			if tc.Tenant != "" && c.Tenant != tc.Tenant {
				continue // another tenant's computer is never the ticket's
			}
			if slices.ContainsFunc(c.Pathways, func(p immy.Pathway) bool { return p.Integration == t.Integration && p.AgentID == t.Agent }) {
				tc.Computer = c.ID
				break
			}
		}
		if tc.Computer == "" {
			for _, c := range f.Computers {
				if (tc.Tenant == "" || c.Tenant == tc.Tenant) && strings.EqualFold(c.Name, t.Agent) {
					tc.Computer = c.ID
					break
				}
			}
		}
	}
	return tc
}

// TargetMatcher tells whether a deployment's target reaches a tenant, a
// person or a computer (an empty argument is not asked about). The targets
// package resolves targets, and *targets.Matcher implements this interface;
// the seam keeps this package from depending on it.
type TargetMatcher interface {
	Reaches(d *immy.Deployment, tenant, person, computer string) bool
}

// TicketDeployments returns the deployments technician tools offer on a
// ticket: enabled, marked visible on tickets, usable by the ticket's tenant
// (an item private to another tenant is not), and whose target reaches the
// ticket's tenant, person or computer. Sorted by id.
func TicketDeployments(tc TicketContext, f *immy.Fleet, m TargetMatcher) []immy.Deployment {
	owner := map[string]string{}
	for _, s := range f.Software {
		owner[s.ID] = s.Tenant
	}
	for _, t := range f.Tasks {
		owner[t.ID] = t.Tenant
	}
	var out []immy.Deployment
	for i := range f.Deployments {
		d := &f.Deployments[i]
		if d.Disabled || !d.Visibility.Ticket {
			continue
		}
		if o := owner[d.Item]; o != "" && o != tc.Tenant {
			continue
		}
		if m.Reaches(d, tc.Tenant, tc.Person, tc.Computer) {
			out = append(out, *d)
		}
	}
	slices.SortFunc(out, func(a, b immy.Deployment) int { return strings.Compare(a.ID, b.ID) })
	return out
}
