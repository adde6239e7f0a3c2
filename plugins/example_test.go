package plugins_test

import (
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/plugins"
)

// Two RMMs reach the same laptop; a third agent reports a bogus UUID.
func ExampleIdentifier_Identify() {
	laptop := immy.Identity{UUID: "4c4c4544-0042-3510-8051-b3c04f563432", Serial: "5Q3VXJ3", Manufacturer: "Dell Inc.", Hostname: "CONTOSO-LT-01", OSInstallID: "a1"}
	seen := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	idn := plugins.Identifier{
		Priority: map[string]int{"ninja": 10, "datto": 5},
		Clients: plugins.ClientMap{{Integration: "ninja", Client: "org-7"}: "contoso",
			{Integration: "datto", Client: "site-3"}: "contoso"}, // an agent merges only once its client is mapped
	}.Identify(plugins.Observations{Agents: []plugins.Agent{
		{Integration: "datto", ID: "d-1", Client: "site-3", Online: false, LastSeen: seen.Add(-time.Hour), Identity: laptop},
		{Integration: "ninja", ID: "n-1", Client: "org-7", Online: true, LastSeen: seen, Identity: laptop},
		{Integration: "ninja", ID: "n-2", Client: "org-7", Online: true, LastSeen: seen,
			Identity: immy.Identity{UUID: "03000200-0400-0500-0006-000700080009", Hostname: "WHITEBOX"}},
	}})
	for _, c := range idn.Computers {
		fmt.Printf("%s tenant=%s online=%v onboarding=%s\n", c.Name, c.Tenant, c.Online, c.Onboarding)
		for _, p := range c.Pathways {
			fmt.Printf("  %s/%s online=%v priority=%d\n", p.Integration, p.AgentID, p.Online, p.Priority)
		}
	}
	for _, e := range idn.Events {
		if e.Kind != plugins.EventNewComputer {
			fmt.Println(e.Kind, e.Detail)
		}
	}
	// Output:
	// WHITEBOX tenant=contoso online=true onboarding=needs-onboarding
	//   ninja/n-2 online=true priority=10
	// CONTOSO-LT-01 tenant=contoso online=true onboarding=needs-onboarding
	//   ninja/n-1 online=true priority=10
	//   datto/d-1 online=false priority=5
	// bogus-uuid UUID "03000200-0400-0500-0006-000700080009" identifies nothing
	// unidentified no usable hardware UUID or trusted serial: the agent is not merged with others
	// merged reached through "datto", "ninja"
}

func ExampleNormalizeUUID() {
	for _, s := range []string{"{4c4c4544-0042-3510-8051-b3c04f563432}", "00000000-0000-0000-0000-000000000000", "n/a"} {
		u, ok := plugins.NormalizeUUID(s)
		fmt.Printf("%q %v\n", u, ok)
	}
	// Output:
	// "4C4C4544-0042-3510-8051-B3C04F563432" true
	// "" false
	// "" false
}

func ExampleAgreements() {
	groups := []plugins.ClientGroup{{Integration: "psa", ID: "managed-security", Kind: plugins.AgreementType,
		Agreements: []plugins.ClientAgreement{
			{ID: "AG-1", Client: "C-100", From: immy.Date{Year: 2026, Month: 1, Day: 1}, To: immy.Date{Year: 2026, Month: 12, Day: 31}},
			{ID: "AG-2", Client: "C-999"},
		}}}
	agreements, unmapped := plugins.Agreements(groups, plugins.ClientMap{{Integration: "psa", Client: "C-100"}: "contoso"})
	for _, a := range agreements {
		fmt.Println(a.ID, a.Tenant, a.ClientGroup, a.From, a.To, a.ActiveOn(immy.Date{Year: 2026, Month: 11, Day: 23}))
	}
	fmt.Println("unmapped:", unmapped)
	// Output:
	// psa:AG-1 contoso psa:managed-security 2026-01-01 2026-12-31 true
	// unmapped: [{psa C-999}]
}

func ExampleSpec_LogValue() {
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	logger.Info("starting", "spec", plugins.Spec{ID: "psa", Path: "/opt/psa-plugin",
		Config: map[string]string{"url": "https://psa.example.com", "api_key": "k-42"}, Secrets: []string{"api_key"}})
	// Output:
	// level=INFO msg=starting spec.id=psa spec.path=/opt/psa-plugin spec.config.api_key=[redacted] spec.config.url=https://psa.example.com
}
