package plugins

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
)

// The hostname fallback: agents of one tenant with no hardware identity at
// all, one hostname and one OS family, one per integration, are one computer;
// anything else keeps them apart.
func TestIdentifyHostnameFallback(t *testing.T) {
	bare := func(host, os string) immy.Identity { return immy.Identity{Hostname: host, OS: os} }
	debian, bookworm := bare("build-01", "Debian GNU/Linux 12"), bare("BUILD-01", "Debian GNU/Linux 12 (bookworm)")
	with := func(id immy.Identity, f func(*immy.Identity)) immy.Identity { f(&id); return id }
	own := func(id, tenant string, ident immy.Identity) Agent { return agent("", id, tenant, true, 0, ident) }
	mesh := func(id, client string, ident immy.Identity) Agent { return agent("mesh", id, client, true, 0, ident) }
	idr := Identifier{Clients: ClientMap{{"mesh", "g-acme"}: "acme", {"mesh", "g-fab"}: "fabrikam", {"tac", "t-acme"}: "acme"}}
	joined := newID(hostKey("acme", "build-01", "linux"))

	tests := []struct {
		name  string
		known []immy.Computer
		obs   []Agent
		want  []string // the computers' pathways, "integration/agent" joined by spaces, sorted
		ids   map[string]string
	}{
		{
			name: "one machine without SMBIOS, two pathways",
			obs:  []Agent{own("e1", "acme", debian), mesh("m1", "g-acme", bookworm)},
			want: []string{"/e1 mesh/m1"},
			ids:  map[string]string{"/e1 mesh/m1": joined},
		},
		{
			name: "three integrations, one agent each",
			obs:  []Agent{own("e1", "acme", debian), mesh("m1", "g-acme", bookworm), agent("tac", "t1", "t-acme", false, 0, bare("Build-01", "Ubuntu 24.04 LTS"))},
			want: []string{"/e1 mesh/m1 tac/t1"},
		},
		{
			name: "another tenant's same hostname never joins",
			obs:  []Agent{own("e1", "acme", debian), mesh("m1", "g-fab", bookworm)},
			want: []string{"/e1", "mesh/m1"},
		},
		{
			name: "an agent whose client is not mapped stays apart",
			obs:  []Agent{own("e1", "acme", debian), mesh("m1", "unmapped", bookworm)},
			want: []string{"/e1", "mesh/m1"},
		},
		{
			name: "an engine agent of no tenant stays apart",
			obs:  []Agent{own("e1", "", debian), mesh("m1", "g-acme", bookworm)},
			want: []string{"/e1", "mesh/m1"},
		},
		{
			name: "two candidates of one integration: all stay apart",
			obs:  []Agent{own("e1", "acme", debian), mesh("m1", "g-acme", bookworm), mesh("m2", "g-acme", bookworm)},
			want: []string{"/e1", "mesh/m1", "mesh/m2"},
		},
		{
			name: "two engine agents of one hostname stay apart",
			obs:  []Agent{own("e1", "acme", debian), own("e2", "acme", debian)},
			want: []string{"/e1", "/e2"},
		},
		{
			name: "another tenant's duplicates do not disturb the match",
			obs:  []Agent{own("e1", "acme", debian), mesh("m1", "g-acme", bookworm), mesh("m2", "g-fab", bookworm), mesh("m3", "g-fab", bookworm)},
			want: []string{"/e1 mesh/m1", "mesh/m2", "mesh/m3"},
			ids:  map[string]string{"/e1 mesh/m1": joined},
		},
		{
			name: "an agent claiming the hostname with a UUID is not joined by it",
			obs:  []Agent{own("e1", "acme", debian), mesh("m1", "g-acme", with(bookworm, func(i *immy.Identity) { i.UUID = "4C4C4544-0042-3510-8051-B3C04F563432" }))},
			want: []string{"/e1", "mesh/m1"},
		},
		{
			name: "two agents of one hostname whose UUIDs differ",
			obs: []Agent{
				own("e1", "acme", with(debian, func(i *immy.Identity) { i.UUID = "8E1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9" })),
				mesh("m1", "g-acme", with(bookworm, func(i *immy.Identity) { i.UUID = "4C4C4544-0042-3510-8051-B3C04F563432" })),
			},
			want: []string{"/e1", "mesh/m1"},
		},
		{
			name: "a third agent of the hostname with hardware keeps the bare ones apart",
			obs: []Agent{own("e1", "acme", debian), mesh("m1", "g-acme", bookworm),
				agent("tac", "t1", "t-acme", true, 0, with(debian, func(i *immy.Identity) { i.Serial, i.Manufacturer = "PF3ABCDE", "LENOVO" }))},
			want: []string{"/e1", "mesh/m1", "tac/t1"},
		},
		{
			name: "a bogus UUID is hardware reported: no fallback",
			obs:  []Agent{own("e1", "acme", debian), mesh("m1", "g-acme", with(bookworm, func(i *immy.Identity) { i.UUID = "00000000-0000-0000-0000-000000000000" }))},
			want: []string{"/e1", "mesh/m1"},
		},
		{
			name: "a placeholder serial or a model is hardware reported: no fallback",
			obs: []Agent{own("e1", "acme", with(debian, func(i *immy.Identity) { i.Serial = "To be filled by O.E.M." })), mesh("m1", "g-acme", bookworm),
				own("e2", "acme", with(bare("other", "Windows 11 Pro"), func(i *immy.Identity) { i.Model = "Virtual Machine" })), mesh("m2", "g-acme", bare("OTHER", "Windows 11 Pro"))},
			want: []string{"/e1", "/e2", "mesh/m1", "mesh/m2"},
		},
		{
			name: "OS families that differ stay apart",
			obs:  []Agent{own("e1", "acme", debian), mesh("m1", "g-acme", bare("build-01", "Windows Server 2022"))},
			want: []string{"/e1", "mesh/m1"},
		},
		{
			name: "an unknown OS stays apart",
			obs:  []Agent{own("e1", "acme", bare("build-01", "")), mesh("m1", "g-acme", bare("build-01", ""))},
			want: []string{"/e1", "mesh/m1"},
		},
		{
			name: "a placeholder hostname stays apart",
			obs:  []Agent{own("e1", "acme", bare("localhost", "Debian GNU/Linux 12")), mesh("m1", "g-acme", bare("LOCALHOST", "Debian GNU/Linux 12"))},
			want: []string{"/e1", "mesh/m1"},
		},
		{
			name: "hostnames that differ stay apart",
			obs:  []Agent{own("e1", "acme", debian), mesh("m1", "g-acme", bare("build-01.acme.local", "Debian GNU/Linux 12"))},
			want: []string{"/e1", "mesh/m1"},
		},
		{
			name:  "a known computer of one of the agents keeps its id",
			known: []immy.Computer{{ID: "pc-e1", Tenant: "acme", Name: "build-01", Tags: []string{"ci"}, Pathways: []immy.Pathway{{AgentID: "e1"}}}},
			obs:   []Agent{own("e1", "acme", debian), mesh("m1", "g-acme", bookworm)},
			want:  []string{"/e1 mesh/m1"},
			ids:   map[string]string{"/e1 mesh/m1": "pc-e1"},
		},
		{
			name:  "a known computer with a UUID is never joined by hostname",
			known: []immy.Computer{{ID: "pc-e1", Tenant: "acme", Name: "build-01", UUID: "4C4C4544-0042-3510-8051-B3C04F563432", Pathways: []immy.Pathway{{AgentID: "e1"}}}},
			obs:   []Agent{own("e1", "acme", debian), mesh("m1", "g-acme", bookworm)},
			want:  []string{"", "/e1 mesh/m1"}, // pc-e1 stays, no agent reaching it
			ids:   map[string]string{"": "pc-e1", "/e1 mesh/m1": joined},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := idr.Identify(Observations{Computers: tt.known, Agents: tt.obs})
			paths := map[string]string{} // pathways -> computer id
			var listed []string
			for _, c := range got.Computers {
				var ps []string
				for _, p := range c.Pathways {
					ps = append(ps, p.Integration+"/"+p.AgentID)
				}
				slices.Sort(ps)
				k := strings.Join(ps, " ")
				listed = append(listed, k)
				paths[k] = c.ID
			}
			slices.Sort(listed)
			require.Equal(t, tt.want, listed)
			for k, id := range tt.ids {
				require.Equal(t, id, paths[k], "computer of %q", k)
			}
			requireTenantsKept(t, idr, tt.obs, got.Computers)
			var matched int
			for _, e := range got.Events {
				if e.Kind == EventHostnameMatch {
					matched++
					require.Contains(t, tt.want, strings.Join(mapSlice(e.Agents, func(r AgentRef) string { return r.Integration + "/" + r.ID }), " "))
				}
			}
			var joins int
			for _, k := range tt.want {
				if strings.Contains(k, " ") {
					joins++
				}
			}
			require.Equal(t, joins, matched, "one hostname-match event per joined computer")

			// The next run keeps the computers; any order gives the same.
			again := idr.Identify(Observations{Computers: got.Computers, Agents: tt.obs})
			if diff := cmp.Diff(got.Computers, again.Computers, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("second run (-first +second):\n%s", diff)
			}
			shuffled := slices.Clone(tt.obs)
			rand.New(rand.NewPCG(2, 3)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			if diff := cmp.Diff(got, idr.Identify(Observations{Computers: tt.known, Agents: shuffled})); diff != "" {
				t.Errorf("order changed the result (-first +shuffled):\n%s", diff)
			}
		})
	}
}

// The joined computer in full, and its event.
func TestIdentifyHostnameFallbackComputer(t *testing.T) {
	idr := Identifier{Priority: map[string]int{"mesh": 5}, Clients: ClientMap{{"mesh", "g-acme"}: "acme"}}
	got := idr.Identify(Observations{Agents: []Agent{
		agent("", "e1", "acme", true, 0, immy.Identity{Hostname: "build-01", OS: "Debian GNU/Linux 12", OSInstallID: "mid-1", Kind: immy.KindServer}),
		agent("mesh", "m1", "g-acme", false, -1, immy.Identity{Hostname: "BUILD-01", OS: "Debian GNU/Linux 12 (bookworm)"}),
	}})
	id := newID(hostKey("acme", "build-01", "linux"))
	want := []immy.Computer{{
		ID: id, Tenant: "acme", Name: "build-01", OS: "Debian GNU/Linux 12", OSInstallID: "mid-1", Kind: immy.KindServer,
		Online: true, Onboarding: immy.NeedsOnboarding,
		Pathways: []immy.Pathway{{Integration: "mesh", AgentID: "m1", Priority: 5}, {Integration: "", AgentID: "e1", Online: true}},
	}}
	if diff := cmp.Diff(want, got.Computers, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("computers (-want +got):\n%s", diff)
	}
	refs := []AgentRef{{"", "e1"}, {"mesh", "m1"}}
	wantEvents := []Event{
		{Kind: EventHostnameMatch, Computer: id, Agents: refs, Detail: `no hardware identity: agents of tenant "acme" joined by hostname "build-01" and OS family linux`},
		{Kind: EventMerged, Computer: id, Agents: refs, Detail: `reached through "", "mesh"`},
		{Kind: EventNewComputer, Computer: id, Agents: refs, Detail: "needs onboarding"},
	}
	if diff := cmp.Diff(wantEvents, got.Events); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestOSFamily(t *testing.T) {
	for os, want := range map[string]string{
		"Windows 11 Pro": "windows", "Microsoft Windows Server 2022 Standard": "windows",
		"Debian GNU/Linux 12 (bookworm)": "linux", "Ubuntu 24.04 LTS": "linux", "Red Hat Enterprise Linux 9.4": "linux", "CentOS Stream 9": "linux",
		"macOS 14 Sonoma": "macos", "Mac OS X 10.15": "macos", "Darwin 23.1": "macos",
		"FreeBSD 14.0": "bsd", "": "", "Unknown": "", "  ": "",
	} {
		require.Equal(t, want, osFamily(os), os)
	}
}
