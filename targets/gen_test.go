package targets

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/immyoss/engine/immy"
)

// genConfig sizes a generated fleet. The generator is local to these tests
// and deterministic: the same config gives the same fleet.
type genConfig struct {
	Seed             uint64
	Tenants          int
	Computers        int
	PersonsPerTenant int
	GroupsPerTenant  int
	Deployments      int
}

var (
	genTags         = []string{"vip", "canary", "pilot", "finance", "legal", "kiosk"}
	genOS           = []string{"Windows 11 Pro", "Windows 11 Enterprise", "Windows 10 Pro", "Windows Server 2022", "Ubuntu 22.04", ""}
	genSites        = []string{"hq", "branch", "remote", "HQ"}
	genDeviceGroups = []string{"rmm-servers", "rmm-laptops", "rmm-lab"}
	genClientGroups = []string{"managed-security", "backup", "m365"}
	genSoftware     = []string{"Adobe Acrobat Reader DC", "7-Zip 23.01 (x64)", "Google Chrome", "Microsoft Edge", "Mozilla Firefox (x64 en-US)"}
)

// genFilters are the filter sources generated deployments draw from, so that
// several deployments share each filter.
var genFilters = []struct {
	lang Language
	src  string
}{
	{LanguageExpr, `computer.os startsWith "Windows 11" and "canary" in computer.tags and computer.attributes["site"] == "hq"`},
	{LanguageExpr, `computer.kind == "server" or has_tag("vip")`},
	{LanguageExpr, `installed("Adobe*") and not computer.online`},
	{LanguageExpr, `len(computer.tags) > 1`},
	{LanguageLua, `return starts_with(computer.os, "Windows") and computer.attributes.site ~= "remote"`},
	{LanguageLua, `local n = 0 for _, t in ipairs(computer.tags) do n = n + 1 end return n == 0`},
}

var genAt = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func pick[T any](r *rand.Rand, s []T) T { return s[r.IntN(len(s))] }

func some(r *rand.Rand, pool []string, p float64) []string {
	var out []string
	for _, s := range pool {
		if r.Float64() < p {
			out = append(out, s)
		}
	}
	return out
}

func genFleet(cfg genConfig) *immy.Fleet {
	r := rand.New(rand.NewPCG(cfg.Seed, 0x5eed))
	f := &immy.Fleet{At: genAt}
	for i := range cfg.Tenants {
		t := immy.Tenant{ID: fmt.Sprintf("t%04d", i), Name: fmt.Sprintf("Tenant %d", i), Tags: some(r, genTags, 0.15)}
		if i > 0 && r.Float64() < 0.5 {
			t.Parent = f.Tenants[r.IntN(i)].ID
		}
		t.ExcludeFromCrossTenant = r.Float64() < 0.08
		f.Tenants = append(f.Tenants, t)
	}
	for _, t := range f.Tenants {
		for j := range cfg.PersonsPerTenant {
			f.Persons = append(f.Persons, immy.Person{
				ID: fmt.Sprintf("%s-p%02d", t.ID, j), Tenant: t.ID,
				UPN:  fmt.Sprintf("user%d@%s.example", j, t.ID),
				Tags: some(r, genTags, 0.1),
			})
		}
	}
	for i := range cfg.Computers {
		t := pick(r, f.Tenants)
		c := immy.Computer{
			ID: fmt.Sprintf("c%06d", i), Tenant: t.ID, Name: fmt.Sprintf("PC-%d", i),
			Kind:   immy.ComputerKind(r.IntN(6)),
			OS:     pick(r, genOS),
			Tags:   some(r, genTags, 0.12),
			Online: r.IntN(2) == 0,
		}
		if r.Float64() < 0.8 {
			c.Attributes = map[string]string{"site": pick(r, genSites)}
		}
		c.ExcludedFromMaintenance = r.Float64() < 0.03
		c.DeviceGroups = some(r, genDeviceGroups, 0.2)
		for _, s := range some(r, genSoftware, 0.3) {
			c.Software = append(c.Software, immy.DetectedSoftware{Name: s})
		}
		for range r.IntN(immy.MaxUPNs + 3) {
			var upn string
			switch {
			case cfg.PersonsPerTenant > 0 && r.Float64() < 0.85:
				upn = fmt.Sprintf("user%d@%s.example", r.IntN(cfg.PersonsPerTenant), t.ID)
			default:
				upn = fmt.Sprintf("user%d@%s.example", r.IntN(3), pick(r, f.Tenants).ID)
			}
			if r.IntN(3) == 0 {
				upn = strings.ToUpper(upn)
			}
			c.UPNs = append(c.UPNs, upn)
		}
		f.Computers = append(f.Computers, c)
	}
	for _, t := range f.Tenants {
		for j := range cfg.GroupsPerTenant {
			g := immy.Group{ID: fmt.Sprintf("%s-g%d", t.ID, j), Tenant: t.ID, Kind: immy.GroupComputers}
			if r.IntN(2) == 0 {
				g.Kind = immy.GroupPersons
			}
			for range 1 + r.IntN(4) {
				if g.Kind == immy.GroupPersons && cfg.PersonsPerTenant > 0 && r.IntN(4) != 0 {
					g.Members = append(g.Members, pick(r, f.Persons).ID)
				} else if len(f.Computers) > 0 {
					g.Members = append(g.Members, pick(r, f.Computers).ID)
				}
			}
			// Sometimes nest an earlier group of the same kind: a DAG.
			if n := len(f.Groups); n > 0 && r.IntN(4) == 0 {
				// Mostly a group of the same tenant, sometimes any.
				prev := f.Groups[n-1-r.IntN(min(n, cfg.GroupsPerTenant))]
				if r.IntN(5) == 0 {
					prev = pick(r, f.Groups)
				}
				if prev.Kind == g.Kind {
					g.Groups = append(g.Groups, prev.ID)
				}
			}
			f.Groups = append(f.Groups, g)
		}
	}
	for _, t := range f.Tenants {
		for range r.IntN(3) {
			from := genAt.AddDate(0, 0, r.IntN(60)-45)
			to := from.AddDate(0, 0, r.IntN(60))
			a := immy.Agreement{ID: fmt.Sprintf("ag-%d", len(f.Agreements)), Tenant: t.ID, ClientGroup: pick(r, genClientGroups),
				From: immy.DateOf(from), To: immy.DateOf(to)}
			if r.IntN(5) == 0 {
				a.To = immy.Date{}
			}
			f.Agreements = append(f.Agreements, a)
		}
	}
	f.Software = []immy.Software{{ID: "item", Name: "Item", Detection: immy.Detection{DisplayName: "Item*"}}}
	f.Tasks = []immy.Task{{ID: "cloud", Name: "Cloud task", Category: immy.TaskTenant}}
	for i := range cfg.Deployments {
		d := immy.Deployment{ID: fmt.Sprintf("d%05d", i), Item: "item", Desired: immy.DesiredLatest, Target: genTarget(r, f)}
		if selectsTenants(d.Target) {
			d.Item, d.Desired, d.Mode = "cloud", immy.DesiredUnset, immy.ModeEnforce
		}
		f.Deployments = append(f.Deployments, d)
	}
	return f
}

func genTarget(r *rand.Rand, f *immy.Fleet) immy.Target {
	t := immy.Target{Filter: immy.GroupFilter(r.IntN(7))}
	if r.IntN(3) == 0 {
		t.Filter = immy.FilterAll
	}
	if r.IntN(2) == 0 {
		t.Tenant = pick(r, f.Tenants).ID
		t.PropagateToChildren = r.IntN(2) == 0
	}
	switch r.IntN(12) {
	case 0, 1:
		t.Type = immy.TargetAllComputers
	case 2:
		t.Type = immy.TargetComputer
		t.Computer = pick(r, f.Computers).ID
	case 3:
		t.Type = immy.TargetPerson
		if len(f.Persons) > 0 {
			t.Person = pick(r, f.Persons).ID
		}
	case 4:
		t.Type = immy.TargetTag
		t.Tag = pick(r, genTags)
	case 5:
		t.Type = immy.TargetGroup
		if len(f.Groups) > 0 {
			t.Group = pick(r, f.Groups).ID
		}
	case 6, 7:
		t.Type = immy.TargetFilter
		g := pick(r, genFilters)
		if g.lang == LanguageExpr {
			t.Expr = g.src
		} else {
			t.Lua = g.src
		}
	case 8:
		t.Type = immy.TargetDeviceGroup
		t.DeviceGroup = pick(r, genDeviceGroups)
	case 9:
		t.Type = immy.TargetClientGroup
		t.ClientGroup = pick(r, genClientGroups)
	case 10:
		t.Type = pick(r, []immy.TargetType{immy.TargetAllTenants, immy.TargetTenantTag, immy.TargetTenant})
		t.Category = immy.CategoryTenant
		t.Tag = pick(r, genTags)
		if t.Type == immy.TargetTenant && t.Tenant == "" {
			t.Tenant = pick(r, f.Tenants).ID
		}
	default:
		t.Type = immy.TargetTag
		t.Tag = "no-such-tag"
	}
	return t
}
