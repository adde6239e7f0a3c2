package targets

import (
	"time"

	"github.com/immyoss/engine/immy"
)

// tableFleet is a small fleet with one computer of every kind, a tenant tree,
// affinity, nested groups and agreements around the evaluation day.
//
//	msp
//	├── contoso (tag vip)
//	│   └── contoso-east
//	└── fabrikam (excluded from cross-tenant deployments)
//	northwind
func tableFleet() *immy.Fleet {
	date := func(s string) immy.Date {
		d, err := immy.ParseDate(s)
		if err != nil {
			panic(err)
		}
		return d
	}
	return &immy.Fleet{
		// 02:00 on the 24th at +05:00 is still the 23rd in UTC.
		At: time.Date(2026, 11, 24, 2, 0, 0, 0, time.FixedZone("+05", 5*3600)),
		Tenants: []immy.Tenant{
			{ID: "msp"},
			{ID: "contoso", Parent: "msp", Tags: []string{"vip"}},
			{ID: "contoso-east", Parent: "contoso"},
			{ID: "fabrikam", Parent: "msp", ExcludeFromCrossTenant: true},
			{ID: "northwind"},
		},
		Persons: []immy.Person{
			{ID: "john", Tenant: "contoso", UPN: "John@Contoso.com", Tags: []string{"exec"}},
			{ID: "jane", Tenant: "contoso", UPN: "jane@contoso.com"},
			{ID: "ext", Tenant: "fabrikam", UPN: "john@contoso.com"},
		},
		Computers: []immy.Computer{
			{ID: "c-lt", Tenant: "contoso", Kind: immy.KindPortable, OS: "Windows 11 Pro",
				UPNs: []string{"john@contoso.com", "JANE@contoso.com", "john@CONTOSO.com"}, Tags: []string{"canary"},
				DeviceGroups: []string{"rmm-laptops"}, Attributes: map[string]string{"site": "hq"},
				Software: []immy.DetectedSoftware{{Name: "Adobe Acrobat Reader DC"}}},
			{ID: "c-ws", Tenant: "contoso", Kind: immy.KindWorkstation, OS: "Windows 10 Pro", UPNs: []string{"jane@contoso.com"}},
			{ID: "c-srv", Tenant: "contoso", Kind: immy.KindServer, OS: "Windows Server 2022"},
			{ID: "c-dc", Tenant: "contoso", Kind: immy.KindDomainController},
			{ID: "c-pdc", Tenant: "contoso", Kind: immy.KindPrimaryDomainController},
			{ID: "e-ws", Tenant: "contoso-east", Kind: immy.KindWorkstation},
			{ID: "f-ws", Tenant: "fabrikam", Kind: immy.KindWorkstation, UPNs: []string{"john@contoso.com"}},
			{ID: "n-unk", Tenant: "northwind"},
			{ID: "n-excl", Tenant: "northwind", Kind: immy.KindWorkstation, ExcludedFromMaintenance: true},
		},
		Groups: []immy.Group{
			{ID: "sales", Tenant: "contoso", Kind: immy.GroupPersons, Members: []string{"jane"}, Groups: []string{"execs"}},
			{ID: "execs", Kind: immy.GroupPersons, Members: []string{"john", "n-unk"}},
			{ID: "servers", Kind: immy.GroupComputers, Members: []string{"c-srv"}, Groups: []string{"dcs"}},
			{ID: "dcs", Kind: immy.GroupComputers, Members: []string{"c-dc", "c-pdc"}},
		},
		Agreements: []immy.Agreement{
			{ID: "ag-1", Tenant: "contoso", ClientGroup: "managed-security", From: date("2026-01-01"), To: date("2026-11-23")},
			{ID: "ag-2", Tenant: "northwind", ClientGroup: "managed-security", From: date("2026-11-24")},
			{ID: "ag-3", Tenant: "fabrikam", ClientGroup: "backup", From: date("2025-01-01"), To: date("2025-12-31")},
			{ID: "ag-4", Tenant: "contoso-east", ClientGroup: "backup", From: date("2026-11-23")},
		},
	}
}
