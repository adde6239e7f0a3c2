package plugins

import (
	"crypto/sha256"
	"encoding/hex"
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

func newID(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "c-" + hex.EncodeToString(sum[:8])
}

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func agent(integration, id, client string, online bool, seen time.Duration, ident immy.Identity) Agent {
	return Agent{Integration: integration, ID: id, Client: client, Online: online, LastSeen: t0.Add(seen), Identity: ident}
}

func TestNormalizeUUID(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"4c4c4544-0042-3510-8051-b3c04f563432", "4C4C4544-0042-3510-8051-B3C04F563432", true},
		{"{4C4C4544-0042-3510-8051-B3C04F563432}", "4C4C4544-0042-3510-8051-B3C04F563432", true},
		{" 4C4C454400423510-8051B3C04F563432 ", "", false}, // dashes misplaced
		{"4C4C454400423510 8051B3C04F563432", "", false},
		{"4C4C4544004235108051B3C04F563432", "4C4C4544-0042-3510-8051-B3C04F563432", true},
		{"00000000-0000-0000-0000-000000000000", "", false},
		{"ffffffff-ffff-ffff-ffff-ffffffffffff", "", false},
		{"FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF", "", false},
		{"03000200-0400-0500-0006-000700080009", "", false},
		{"not-a-uuid", "", false},
		{"", "", false},
		{"4C4C4544-0042-3510-8051-B3C04F56343G", "", false},
	}
	for _, tt := range tests {
		got, ok := NormalizeUUID(tt.in)
		require.Equal(t, tt.ok, ok, tt.in)
		require.Equal(t, tt.want, got, tt.in)
	}
}

func TestNormalizeManufacturerAndSerial(t *testing.T) {
	for in, want := range map[string]string{
		"Dell Inc.": "dell", "DELL": "dell", "Hewlett-Packard": "hp", "HP": "hp", "LENOVO": "lenovo",
		"Microsoft Corporation": "microsoft", "VMware, Inc.": "vmware", "innotek GmbH": "innotek",
		"System manufacturer": "", "To Be Filled By O.E.M.": "", "": "",
	} {
		require.Equal(t, want, normalizeManufacturer(in), in)
	}
	for in, want := range map[string]string{
		" 5q3vxj3 ": "5Q3VXJ3", "To be filled by O.E.M.": "", "0000000": "", "System Serial Number": "", "Default string": "",
	} {
		require.Equal(t, want, normalizeSerial(in), in)
	}
}

func TestIdentify(t *testing.T) {
	dell := immy.Identity{UUID: "4C4C4544-0042-3510-8051-B3C04F563432", Serial: "5Q3VXJ3", Manufacturer: "Dell Inc.",
		Model: "Latitude 7440", Hostname: "CONTOSO-LT-01", OS: "Windows 11 Pro", OSInstallID: "guid-1", Kind: immy.KindPortable}
	dellOtherSpelling := dell
	dellOtherSpelling.Manufacturer, dellOtherSpelling.Serial, dellOtherSpelling.UUID = "DELL", "5q3vxj3", "4c4c4544-0042-3510-8051-b3c04f563432"
	vm := func(serial string) immy.Identity {
		return immy.Identity{UUID: "564D1F5A-22C1-8E2B-1D0C-5F3A2B9C0D11", Serial: serial, Manufacturer: "VMware, Inc.", Hostname: "VM-" + serial, OSInstallID: "vm-" + serial, Kind: immy.KindServer}
	}
	dellKey := serialKey("dell", "5Q3VXJ3")

	tests := []struct {
		name  string
		idr   Identifier
		obs   Observations
		want  []immy.Computer
		event []Event
	}{
		{
			name: "one machine in two RMMs is one computer",
			idr:  Identifier{Priority: map[string]int{"rmm-b": 10, "rmm-a": 5}, Clients: ClientMap{{"rmm-a", "A1"}: "contoso", {"rmm-b", "B7"}: "contoso"}},
			obs: Observations{Agents: []Agent{
				agent("rmm-a", "a-17", "A1", false, -time.Hour, dell),
				agent("rmm-b", "b-99", "B7", true, 0, dellOtherSpelling),
			}},
			want: []immy.Computer{{
				ID: newID(dellKey), Tenant: "contoso", Name: "CONTOSO-LT-01", UUID: "4C4C4544-0042-3510-8051-B3C04F563432",
				Serial: "5q3vxj3", Manufacturer: "DELL", Model: "Latitude 7440", OSInstallID: "guid-1", OS: "Windows 11 Pro",
				Kind: immy.KindPortable, Online: true, Onboarding: immy.NeedsOnboarding,
				Pathways: []immy.Pathway{
					{Integration: "rmm-b", AgentID: "b-99", Online: true, Priority: 10},
					{Integration: "rmm-a", AgentID: "a-17", Online: false, Priority: 5},
				},
			}},
			event: []Event{
				{Kind: EventMerged, Computer: newID(dellKey), Agents: []AgentRef{{"rmm-a", "a-17"}, {"rmm-b", "b-99"}}, Detail: `reached through "rmm-a", "rmm-b"`},
				{Kind: EventNewComputer, Computer: newID(dellKey), Agents: []AgentRef{{"rmm-a", "a-17"}, {"rmm-b", "b-99"}}, Detail: "needs onboarding"},
			},
		},
		{
			name: "bogus UUIDs do not merge machines",
			idr:  Identifier{TrustedManufacturers: []string{}},
			obs: Observations{Agents: []Agent{
				agent("rmm", "x", "c", true, 0, immy.Identity{UUID: "00000000-0000-0000-0000-000000000000", Serial: "AAA", Manufacturer: "innotek GmbH", Hostname: "X"}),
				agent("rmm", "y", "c", true, 0, immy.Identity{UUID: "03000200-0400-0500-0006-000700080009", Serial: "BBB", Manufacturer: "innotek GmbH", Hostname: "Y"}),
				agent("rmm", "z", "c", false, 0, immy.Identity{UUID: "ffffffffffffffffffffffffffffffff", Hostname: "Z"}),
			}},
			want: []immy.Computer{
				{ID: newID("agent:rmm|x"), Name: "X", Serial: "AAA", Manufacturer: "innotek GmbH", Online: true, Onboarding: immy.NeedsOnboarding, Pathways: []immy.Pathway{{Integration: "rmm", AgentID: "x", Online: true}}},
				{ID: newID("agent:rmm|y"), Name: "Y", Serial: "BBB", Manufacturer: "innotek GmbH", Online: true, Onboarding: immy.NeedsOnboarding, Pathways: []immy.Pathway{{Integration: "rmm", AgentID: "y", Online: true}}},
				{ID: newID("agent:rmm|z"), Name: "Z", Onboarding: immy.NeedsOnboarding, Pathways: []immy.Pathway{{Integration: "rmm", AgentID: "z"}}},
			},
		},
		{
			name: "a trusted manufacturer's serial merges despite a bogus UUID",
			obs: Observations{Agents: []Agent{
				agent("rmm-a", "1", "c", true, 0, immy.Identity{UUID: "00000000-0000-0000-0000-000000000000", Serial: "PF3ABCDE", Manufacturer: "LENOVO", Hostname: "LT"}),
				agent("rmm-b", "2", "c", true, 0, immy.Identity{UUID: "8E1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9", Serial: "PF3ABCDE", Manufacturer: "Lenovo", Hostname: "LT"}),
			}},
			want: []immy.Computer{{
				ID: newID(serialKey("lenovo", "PF3ABCDE")), Name: "LT", UUID: "8E1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9", Serial: "PF3ABCDE", Manufacturer: "LENOVO",
				Online: true, Onboarding: immy.NeedsOnboarding,
				Pathways: []immy.Pathway{{Integration: "rmm-a", AgentID: "1", Online: true}, {Integration: "rmm-b", AgentID: "2", Online: true}},
			}},
		},
		{
			name: "clones sharing a UUID stay apart",
			obs: Observations{Agents: []Agent{
				agent("rmm", "vm1", "c", true, 0, vm("VMW-1")),
				agent("rmm", "vm2", "c", true, 0, vm("VMW-2")),
			}},
			want: []immy.Computer{
				{ID: newID(uuidKey("564D1F5A-22C1-8E2B-1D0C-5F3A2B9C0D11", "VMW-1", "vmware")), Name: "VM-VMW-1", UUID: "564D1F5A-22C1-8E2B-1D0C-5F3A2B9C0D11", Serial: "VMW-1", Manufacturer: "VMware, Inc.", OSInstallID: "vm-VMW-1", Kind: immy.KindServer, Online: true, Onboarding: immy.NeedsOnboarding, Pathways: []immy.Pathway{{Integration: "rmm", AgentID: "vm1", Online: true}}},
				{ID: newID(uuidKey("564D1F5A-22C1-8E2B-1D0C-5F3A2B9C0D11", "VMW-2", "vmware")), Name: "VM-VMW-2", UUID: "564D1F5A-22C1-8E2B-1D0C-5F3A2B9C0D11", Serial: "VMW-2", Manufacturer: "VMware, Inc.", OSInstallID: "vm-VMW-2", Kind: immy.KindServer, Online: true, Onboarding: immy.NeedsOnboarding, Pathways: []immy.Pathway{{Integration: "rmm", AgentID: "vm2", Online: true}}},
			},
		},
		{
			name: "a changed OS installation id means wiped",
			idr:  Identifier{Clients: ClientMap{{"rmm-a", "A1"}: "contoso"}},
			obs: Observations{
				Computers: []immy.Computer{{ID: "contoso-lt-01", Tenant: "contoso", Name: "CONTOSO-LT-01", UUID: dell.UUID, Serial: dell.Serial, Manufacturer: dell.Manufacturer, OSInstallID: "guid-OLD", Tags: []string{"canary"},
					Pathways: []immy.Pathway{{Integration: "rmm-a", AgentID: "a-17", Online: true}}}},
				Agents: []Agent{
					agent("rmm-a", "a-17", "A1", false, -48*time.Hour, func() immy.Identity { i := dell; i.OSInstallID = "guid-OLD"; return i }()),
					agent("rmm-a", "a-18", "A1", true, 0, dell),
				},
			},
			want: []immy.Computer{{
				ID: "contoso-lt-01", Tenant: "contoso", Name: "CONTOSO-LT-01", UUID: dell.UUID, Serial: dell.Serial, Manufacturer: dell.Manufacturer,
				Model: "Latitude 7440", OSInstallID: "guid-1", OS: "Windows 11 Pro", Kind: immy.KindPortable, Tags: []string{"canary"},
				Online: true, Onboarding: immy.NeedsOnboarding,
				Pathways: []immy.Pathway{{Integration: "rmm-a", AgentID: "a-17"}, {Integration: "rmm-a", AgentID: "a-18", Online: true}},
			}},
			event: []Event{{Kind: EventWiped, Computer: "contoso-lt-01", Agents: []AgentRef{{"rmm-a", "a-18"}},
				Detail: `OS installation id changed from "guid-OLD" to "guid-1": needs onboarding again`}},
		},
		{
			name: "a known computer keeps its id and onboarding; an agent without identity keeps its computer",
			obs: Observations{
				Computers: []immy.Computer{
					{ID: "pc-1", UUID: dell.UUID, Serial: dell.Serial, Manufacturer: dell.Manufacturer, OSInstallID: "guid-1", Name: "PC-1"},
					{ID: "kiosk", Name: "KIOSK", Pathways: []immy.Pathway{{Integration: "rmm", AgentID: "k"}}},
					{ID: "gone", Name: "GONE", Online: true, Pathways: []immy.Pathway{{Integration: "rmm", AgentID: "g", Online: true}}},
				},
				Agents: []Agent{
					agent("", "own-1", "", true, 0, dell),
					agent("rmm", "k", "c", true, 0, immy.Identity{Hostname: "KIOSK"}),
				},
				DeviceGroups: []DeviceGroup{{Integration: "rmm", ID: "kiosks", Agents: []string{"k"}}},
			},
			want: []immy.Computer{
				{ID: "gone", Name: "GONE"},
				{ID: "kiosk", Name: "KIOSK", Online: true, DeviceGroups: []string{"rmm:kiosks"}, Pathways: []immy.Pathway{{Integration: "rmm", AgentID: "k", Online: true}}},
				{ID: "pc-1", Name: "PC-1", UUID: dell.UUID, Serial: dell.Serial, Manufacturer: dell.Manufacturer, Model: "Latitude 7440", OSInstallID: "guid-1", OS: "Windows 11 Pro", Kind: immy.KindPortable, Online: true,
					Pathways: []immy.Pathway{{Integration: "", AgentID: "own-1", Online: true}}},
			},
			event: []Event{{Kind: EventUnidentified, Computer: "kiosk", Agents: []AgentRef{{"rmm", "k"}}, Detail: "no usable hardware UUID or trusted serial: the agent is not merged with others"}},
		},
		{
			name: "a UUID without serial joins the one machine it fits",
			idr:  Identifier{TrustedManufacturers: []string{}},
			obs: Observations{Agents: []Agent{
				agent("new", "n1", "c", true, 0, vm("VMW-1")),
				agent("old", "o1", "c", false, -time.Hour, immy.Identity{UUID: "564d1f5a-22c1-8e2b-1d0c-5f3a2b9c0d11"}),
			}},
			want: []immy.Computer{{
				ID: newID(uuidKey("564D1F5A-22C1-8E2B-1D0C-5F3A2B9C0D11", "VMW-1", "vmware")), Name: "VM-VMW-1", UUID: "564D1F5A-22C1-8E2B-1D0C-5F3A2B9C0D11", Serial: "VMW-1", Manufacturer: "VMware, Inc.",
				OSInstallID: "vm-VMW-1", Kind: immy.KindServer, Online: true, Onboarding: immy.NeedsOnboarding,
				Pathways: []immy.Pathway{{Integration: "new", AgentID: "n1", Online: true}, {Integration: "old", AgentID: "o1"}},
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.idr.Identify(tt.obs)
			slices.SortFunc(tt.want, func(a, b immy.Computer) int { return strings.Compare(a.ID, b.ID) })
			if diff := cmp.Diff(tt.want, got.Computers, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("computers (-want +got):\n%s", diff)
			}
			if tt.event != nil {
				// Only the events the case is about; new-computer events are checked where listed.
				var kinds []EventKind
				for _, e := range tt.event {
					kinds = append(kinds, e.Kind)
				}
				var picked []Event
				for _, e := range got.Events {
					if slices.Contains(kinds, e.Kind) {
						picked = append(picked, e)
					}
				}
				if diff := cmp.Diff(tt.event, picked); diff != "" {
					t.Errorf("events (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestIdentifyEvents(t *testing.T) {
	got := Identifier{}.Identify(Observations{Agents: []Agent{
		agent("rmm", "vm1", "c", true, 0, immy.Identity{UUID: "564D1F5A-22C1-8E2B-1D0C-5F3A2B9C0D11", Serial: "S1", Manufacturer: "VMware, Inc."}),
		agent("rmm", "vm2", "c", true, 0, immy.Identity{UUID: "564D1F5A-22C1-8E2B-1D0C-5F3A2B9C0D11", Serial: "S2", Manufacturer: "VMware, Inc."}),
		agent("rmm", "vm3", "c", true, 0, immy.Identity{UUID: "564D1F5A-22C1-8E2B-1D0C-5F3A2B9C0D11"}),
		agent("rmm", "bad", "c", true, 0, immy.Identity{UUID: "00000000-0000-0000-0000-000000000000"}),
	}})
	var kinds []string
	for _, e := range got.Events {
		kinds = append(kinds, string(e.Kind))
	}
	slices.Sort(kinds)
	require.Equal(t, []string{
		"ambiguous", "bogus-uuid", "clone-suspected", "clone-suspected",
		"new-computer", "new-computer", "new-computer", "new-computer", "unidentified",
	}, kinds)
	require.Len(t, got.Computers, 4)
}

// TestIdentifyDeterministic shuffles the input: the output must not change.
func TestIdentifyDeterministic(t *testing.T) {
	var agents []Agent
	for i := range 60 {
		id := immy.Identity{UUID: "4C4C4544-0042-3510-8051-0000000000" + string(rune('A'+i%6)) + "0", Serial: "S" + string(rune('A'+i%6)), Manufacturer: []string{"Dell Inc.", "VMware, Inc.", "QEMU"}[i%3], OSInstallID: "i"}
		agents = append(agents, agent([]string{"a", "b", "c"}[i%3], string(rune('a'+i%26))+string(rune('0'+i/26)), "c", i%2 == 0, time.Duration(i%5)*time.Minute, id))
	}
	idr := Identifier{Priority: map[string]int{"a": 3, "b": 2}}
	want := idr.Identify(Observations{Agents: agents})
	r := rand.New(rand.NewPCG(1, 2))
	for range 5 {
		shuffled := slices.Clone(agents)
		r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		if diff := cmp.Diff(want, idr.Identify(Observations{Agents: shuffled})); diff != "" {
			t.Fatalf("order changed the result (-first +shuffled):\n%s", diff)
		}
	}
}
