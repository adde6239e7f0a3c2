package plugins

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
)

// An identity claim from an agent enrolled for one tenant never attaches to
// a computer of another: it is a computer of its own, flagged.
func TestIdentifyTenantRule(t *testing.T) {
	dell := immy.Identity{UUID: "4C4C4544-0042-3510-8051-B3C04F563432", Serial: "X1", Manufacturer: "Dell Inc.", Hostname: "FAB-PC"}
	key := serialKey("dell", "X1")
	conflictID := func(tenant string) string { return newID(key + "|tenant:" + tenant) }
	pcB := immy.Computer{ID: "pc-b", Tenant: "fabrikam", Name: "FAB-PC", UUID: dell.UUID, Serial: dell.Serial, Manufacturer: dell.Manufacturer}
	flagged := map[string]string{AttrIdentityConflict: IdentityUnconfirmed}
	own := func(id, tenant string) Agent { return agent("", id, tenant, true, 0, dell) }
	path := func(ids ...string) []immy.Pathway {
		var ps []immy.Pathway
		for _, id := range ids {
			ps = append(ps, immy.Pathway{AgentID: id, Online: true})
		}
		return ps
	}
	conflict := func(computer string, agents []AgentRef, others string) Event {
		return Event{Kind: EventIdentityConflict, Computer: computer, Agents: agents,
			Detail: "its hardware is claimed in another tenant too, by " + others + ": kept apart until a technician confirms (attribute identity-conflict)"}
	}
	withPaths := func(c immy.Computer, online bool, ids ...string) immy.Computer {
		c.Pathways, c.Online = path(ids...), online
		return c
	}
	newComputer := func(id, tenant string, attrs map[string]string, agents ...string) immy.Computer {
		return immy.Computer{ID: id, Tenant: tenant, Name: "FAB-PC", UUID: dell.UUID, Serial: dell.Serial, Manufacturer: dell.Manufacturer,
			Online: true, Onboarding: immy.NeedsOnboarding, Attributes: attrs, Pathways: path(agents...)}
	}

	tests := []struct {
		name   string
		idr    Identifier
		obs    Observations
		want   []immy.Computer
		events []Event
	}{
		{
			name: "an agent of tenant A reports a computer of tenant B",
			obs:  Observations{Computers: []immy.Computer{pcB}, Agents: []Agent{own("b-1", "fabrikam"), own("a-1", "contoso")}},
			want: []immy.Computer{
				newComputer(newID(key), "contoso", flagged, "a-1"),
				withPaths(pcB, true, "b-1"),
			},
			events: []Event{conflict(newID(key), []AgentRef{{"", "a-1"}}, `pc-b (tenant "fabrikam")`)},
		},
		{
			name: "while tenant B's own agent is away",
			obs:  Observations{Computers: []immy.Computer{pcB}, Agents: []Agent{own("a-1", "contoso")}},
			want: []immy.Computer{
				newComputer(newID(key), "contoso", flagged, "a-1"),
				pcB,
			},
			events: []Event{conflict(newID(key), []AgentRef{{"", "a-1"}}, `pc-b (tenant "fabrikam")`)},
		},
		{
			name: "a pathway merged across tenants before is not followed",
			obs: Observations{
				Computers: []immy.Computer{withPaths(pcB, true, "a-1", "b-1")},
				Agents:    []Agent{own("b-1", "fabrikam"), own("a-1", "contoso")},
			},
			want: []immy.Computer{
				newComputer(newID(key), "contoso", flagged, "a-1"),
				withPaths(pcB, true, "b-1"),
			},
			events: []Event{conflict(newID(key), []AgentRef{{"", "a-1"}}, `pc-b (tenant "fabrikam")`)},
		},
		{
			name: "an integration's agent whose client maps to tenant A",
			idr:  Identifier{Clients: ClientMap{{"rmm", "c-contoso"}: "contoso"}},
			obs:  Observations{Computers: []immy.Computer{pcB}, Agents: []Agent{agent("rmm", "r-9", "c-contoso", true, 0, dell)}},
			want: []immy.Computer{
				func() immy.Computer {
					c := newComputer(newID(key), "contoso", flagged)
					c.Pathways = []immy.Pathway{{Integration: "rmm", AgentID: "r-9", Online: true}}
					return c
				}(),
				pcB,
			},
			events: []Event{conflict(newID(key), []AgentRef{{"rmm", "r-9"}}, `pc-b (tenant "fabrikam")`)},
		},
		{
			name: "new agents of two tenants claim one machine: both flagged",
			idr:  Identifier{Clients: ClientMap{{"rmm", "r1"}: "fabrikam", {"psa-like-rmm", "p1"}: "contoso"}},
			obs:  Observations{Agents: []Agent{agent("rmm", "a", "r1", true, 0, dell), agent("psa-like-rmm", "b", "p1", true, 0, dell)}},
			want: func() []immy.Computer {
				a := newComputer(conflictID("fabrikam"), "fabrikam", flagged)
				a.Pathways = []immy.Pathway{{Integration: "rmm", AgentID: "a", Online: true}}
				b := newComputer(newID(key), "contoso", flagged)
				b.Pathways = []immy.Pathway{{Integration: "psa-like-rmm", AgentID: "b", Online: true}}
				return []immy.Computer{a, b}
			}(),
			events: func() []Event {
				es := []Event{
					conflict(newID(key), []AgentRef{{"psa-like-rmm", "b"}}, fmt.Sprintf(`%s (tenant "fabrikam")`, conflictID("fabrikam"))),
					conflict(conflictID("fabrikam"), []AgentRef{{"rmm", "a"}}, fmt.Sprintf(`%s (tenant "contoso")`, newID(key))),
				}
				slices.SortFunc(es, func(a, b Event) int { return strings.Compare(a.Computer, b.Computer) })
				return es
			}(),
		},
		{
			name: "a conflict a technician confirmed is not flagged again",
			obs: Observations{
				Computers: []immy.Computer{pcB, {ID: "pc-a", Tenant: "contoso", UUID: dell.UUID, Serial: dell.Serial, Manufacturer: dell.Manufacturer,
					Attributes: map[string]string{AttrIdentityConflict: IdentityConfirmed}, Pathways: path("a-1")}},
				Agents: []Agent{own("b-1", "fabrikam"), own("a-1", "contoso")},
			},
			want: []immy.Computer{
				{ID: "pc-a", Tenant: "contoso", Name: "FAB-PC", UUID: dell.UUID, Serial: dell.Serial, Manufacturer: dell.Manufacturer,
					Attributes: map[string]string{AttrIdentityConflict: IdentityConfirmed}, Pathways: path("a-1"), Online: true},
				withPaths(pcB, true, "b-1"),
			},
			events: []Event{},
		},
		{
			name: "a conflict that is over clears its flag",
			obs: Observations{
				Computers: []immy.Computer{{ID: "pc-a", Tenant: "contoso", UUID: dell.UUID, Serial: dell.Serial, Manufacturer: dell.Manufacturer,
					Attributes: map[string]string{AttrIdentityConflict: IdentityUnconfirmed, "rack": "4"}, Pathways: path("a-1")}},
				Agents: []Agent{own("a-1", "contoso")},
			},
			want: []immy.Computer{{ID: "pc-a", Tenant: "contoso", Name: "FAB-PC", UUID: dell.UUID, Serial: dell.Serial, Manufacturer: dell.Manufacturer,
				Attributes: map[string]string{"rack": "4"}, Pathways: path("a-1"), Online: true}},
			events: []Event{},
		},
		{
			// An outside review's: the agent of an RMM client not mapped yet
			// reporting b's hardware joined b's computer, and its pathway,
			// ranked first, received b's scripts and secrets. It stays apart,
			// of no tenant, until its client is mapped.
			name: "an agent of no tenant stays apart from a tenant's computer",
			obs:  Observations{Computers: []immy.Computer{pcB}, Agents: []Agent{own("b-1", "fabrikam"), agent("rmm", "r-1", "unmapped", true, 0, dell)}},
			want: []immy.Computer{
				{ID: "c-d105696783c7bd6a", Name: "FAB-PC", UUID: pcB.UUID, Serial: pcB.Serial, Manufacturer: pcB.Manufacturer,
					Online: true, Onboarding: immy.NeedsOnboarding, Pathways: []immy.Pathway{{Integration: "rmm", AgentID: "r-1", Online: true}}},
				withPaths(pcB, true, "b-1"),
			},
			events: []Event{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := cloneComputers(tt.obs.Computers)
			got := tt.idr.Identify(tt.obs)
			if diff := cmp.Diff(tt.want, got.Computers, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("computers (-want +got):\n%s", diff)
			}
			var picked []Event
			for _, e := range got.Events {
				if e.Kind == EventIdentityConflict || e.Kind == EventTenantConflict || e.Kind == EventCloneSuspected {
					picked = append(picked, e)
				}
			}
			if diff := cmp.Diff(tt.events, picked, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			require.Empty(t, cmp.Diff(before, tt.obs.Computers, cmpopts.EquateEmpty()), "the known computers passed in are not changed")
			requireTenantsKept(t, tt.idr, tt.obs.Agents, got.Computers)

			// The next run, from this one's result, keeps the computers
			// and the flags.
			again := tt.idr.Identify(Observations{Computers: got.Computers, Agents: tt.obs.Agents})
			if diff := cmp.Diff(got.Computers, again.Computers, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("second run (-first +second):\n%s", diff)
			}
		})
	}
}

func cloneComputers(cs []immy.Computer) []immy.Computer {
	out := slices.Clone(cs)
	for i := range out {
		out[i].Attributes = maps.Clone(out[i].Attributes)
		out[i].Pathways = slices.Clone(out[i].Pathways)
	}
	return out
}

// requireTenantsKept fails unless every pathway of every computer is an
// agent of the computer's tenant, or of none.
func requireTenantsKept(t *testing.T, idr Identifier, agents []Agent, computers []immy.Computer) {
	t.Helper()
	tenant := map[AgentRef]string{}
	for _, a := range agents {
		tenant[AgentRef{a.Integration, a.ID}] = idr.tenantOf(a)
	}
	for _, c := range computers {
		for _, p := range c.Pathways {
			if at := tenant[AgentRef{p.Integration, p.AgentID}]; at != "" && at != c.Tenant {
				t.Fatalf("agent %s/%s of tenant %q reaches computer %s of tenant %q", p.Integration, p.AgentID, at, c.ID, c.Tenant)
			}
		}
	}
}

// Whatever agents of whatever tenants claim, run after run, no agent ever
// reaches a computer of another tenant, and a computer keeps its tenant.
func TestIdentifyTenantProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(16, 6))
	idents := []immy.Identity{
		{UUID: "4C4C4544-0042-3510-8051-B3C04F563432", Serial: "X1", Manufacturer: "Dell Inc."},
		{UUID: "564D1F5A-22C1-8E2B-1D0C-5F3A2B9C0D11", Serial: "VMW-1", Manufacturer: "VMware, Inc."},
		{UUID: "564D1F5A-22C1-8E2B-1D0C-5F3A2B9C0D11", Serial: "VMW-2", Manufacturer: "VMware, Inc."},
		{UUID: "564D1F5A-22C1-8E2B-1D0C-5F3A2B9C0D11"},
		{Serial: "PF3ABCDE", Manufacturer: "LENOVO"},
		{Hostname: "no identity"},
	}
	tenants := []string{"", "acme", "contoso", "fabrikam"}
	clients := ClientMap{}
	for i, tn := range tenants[1:] {
		clients[ClientKey{"rmm", fmt.Sprintf("c%d", i)}] = tn
	}
	idr := Identifier{Clients: clients, Priority: map[string]int{"rmm": 1}}
	for trial := range 200 {
		var known []immy.Computer
		tenantOf := map[string]string{} // computer id -> tenant, once it has one
		for run := range 4 {
			var agents []Agent
			for i := range 2 + r.IntN(8) {
				a := Agent{ID: fmt.Sprintf("a%d", i), Online: r.IntN(2) == 0, LastSeen: t0.Add(time.Duration(r.IntN(5)) * time.Minute), Identity: idents[r.IntN(len(idents))]}
				if r.IntN(2) == 0 {
					a.Integration, a.Client = "rmm", fmt.Sprintf("c%d", r.IntN(4)) // c3 is mapped to no tenant
				} else {
					a.Client = tenants[r.IntN(len(tenants))]
				}
				agents = append(agents, a)
			}
			got := idr.Identify(Observations{Computers: known, Agents: agents})
			requireTenantsKept(t, idr, agents, got.Computers)
			for _, c := range got.Computers {
				if was, ok := tenantOf[c.ID]; ok && was != c.Tenant {
					t.Fatalf("trial %d run %d: computer %s moved from tenant %q to %q", trial, run, c.ID, was, c.Tenant)
				}
				if c.Tenant != "" {
					tenantOf[c.ID] = c.Tenant
				}
			}
			require.Len(t, got.Computers, len(slices.CompactFunc(slices.Clone(got.Computers), func(a, b immy.Computer) bool { return a.ID == b.ID })), "computer ids are unique")
			known = got.Computers
		}
	}
}
