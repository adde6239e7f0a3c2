package targets

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/immytest"
)

// The filter set: filters as MSPs write them, each in expr and in Lua, with
// the Go predicate a developer would write for the same test. The benchmark
// measures each against its Go predicate; the test pins every path (the
// compiled one, the VM, with and without the memo) to it.

// realisticFilter is one filter of the set.
type realisticFilter struct {
	name string
	lang Language
	src  string
	gold func(c *immy.Computer, t *immy.Tenant) bool
}

// setDomain is the mail domain of the filters that look at UPNs: the domain
// of a customer of the generated fleet (immytest.FleetScale's seed).
const setDomain = "@contoso40.com"

func ramGB(c *immy.Computer) int {
	n, err := strconv.Atoi(c.Attributes["ram_gb"])
	if err != nil {
		return 0
	}
	return n
}

func anyUPNInDomain(c *immy.Computer) bool {
	for _, u := range c.UPNs {
		if strings.HasSuffix(strings.ToLower(u), setDomain) {
			return true
		}
	}
	return false
}

func serverYear(c *immy.Computer) int {
	rest, ok := strings.CutPrefix(c.OS, "Windows Server ")
	if !ok {
		return 0
	}
	end := 0
	for end < len(rest) && '0' <= rest[end] && rest[end] <= '9' {
		end++
	}
	n, _ := strconv.Atoi(rest[:end])
	return n
}

func isInstalled(c *immy.Computer, prefix string) bool {
	for i := range c.Software {
		if strings.HasPrefix(c.Software[i].Name, prefix) {
			return true
		}
	}
	return false
}

var filterSet = []realisticFilter{
	// expr
	{"windows11-16gb", LanguageExpr, `computer.os startsWith "Windows 11" and int(computer.attributes["ram_gb"]) >= 16`,
		func(c *immy.Computer, _ *immy.Tenant) bool {
			return strings.HasPrefix(c.OS, "Windows 11") && ramGB(c) >= 16
		}},
	{"upn-domain", LanguageExpr, `any(computer.upns, lower(#) endsWith "` + setDomain + `")`,
		func(c *immy.Computer, _ *immy.Tenant) bool { return anyUPNInDomain(c) }},
	{"server-2019", LanguageExpr, `computer.kind == "server" and computer.os contains "2019"`,
		func(c *immy.Computer, _ *immy.Tenant) bool {
			return c.Kind == immy.KindServer && strings.Contains(c.OS, "2019")
		}},
	{"chrome-not-firefox", LanguageExpr, `installed("Google Chrome*") and not installed("Mozilla Firefox*")`,
		func(c *immy.Computer, _ *immy.Tenant) bool {
			return isInstalled(c, "Google Chrome") && !isInstalled(c, "Mozilla Firefox")
		}},
	{"canary-or-branch", LanguageExpr, `"canary" in computer.tags or computer.attributes["site"] == "branch"`,
		func(c *immy.Computer, _ *immy.Tenant) bool {
			return slices.Contains(c.Tags, "canary") || c.Attributes["site"] == "branch"
		}},
	{"dell-latitude", LanguageExpr, `lower(computer.manufacturer) contains "dell" and computer.model startsWith "Latitude"`,
		func(c *immy.Computer, _ *immy.Tenant) bool {
			return strings.Contains(strings.ToLower(c.Manufacturer), "dell") && strings.HasPrefix(c.Model, "Latitude")
		}},
	{"no-kiosk-online", LanguageExpr, `all(computer.tags, # != "kiosk") and computer.online`,
		func(c *immy.Computer, _ *immy.Tenant) bool { return !slices.Contains(c.Tags, "kiosk") && c.Online }},
	{"shared-machine", LanguageExpr, `count(computer.upns, lower(#) endsWith "` + setDomain + `") >= 2`,
		func(c *immy.Computer, _ *immy.Tenant) bool {
			n := 0
			for _, u := range c.UPNs {
				if strings.HasSuffix(strings.ToLower(u), setDomain) {
					n++
				}
			}
			return n >= 2
		}},
	{"customer-departments", LanguageExpr, `computer.name startsWith "CONTOSO40-" and computer.attributes["department"] in ["finance", "hr"]`,
		func(c *immy.Computer, _ *immy.Tenant) bool {
			d := c.Attributes["department"]
			return strings.HasPrefix(c.Name, "CONTOSO40-") && (d == "finance" || d == "hr")
		}},
	{"server-year", LanguageExpr, `computer.os startsWith "Windows Server" and int(split(computer.os, " ")[2]) >= 2019`,
		func(c *immy.Computer, _ *immy.Tenant) bool { return serverYear(c) >= 2019 }},
	{"vip-shared", LanguageExpr, `len(computer.upns) >= 2 and has_tag("vip")`,
		func(c *immy.Computer, t *immy.Tenant) bool {
			return len(c.UPNs) >= 2 && (slices.Contains(c.Tags, "vip") || slices.Contains(t.Tags, "vip"))
		}},
	{"patch-ring", LanguageExpr, `any(computer.device_groups, # startsWith "patch-ring")`,
		func(c *immy.Computer, _ *immy.Tenant) bool {
			return slices.ContainsFunc(c.DeviceGroups, func(g string) bool { return strings.HasPrefix(g, "patch-ring") })
		}},

	// Lua
	{"windows11-16gb", LanguageLua, "local ram = tonumber(computer.attributes.ram_gb) or 0\nreturn computer.os:sub(1, 10) == \"Windows 11\" and ram >= 16",
		func(c *immy.Computer, _ *immy.Tenant) bool {
			return strings.HasPrefix(c.OS, "Windows 11") && ramGB(c) >= 16
		}},
	{"upn-domain", LanguageLua, "local domain = \"" + setDomain + "\"\nfor _, upn in ipairs(computer.upns) do\n  if string.lower(upn):sub(-#domain) == domain then\n    return true\n  end\nend\nreturn false",
		func(c *immy.Computer, _ *immy.Tenant) bool { return anyUPNInDomain(c) }},
	{"server-year", LanguageLua, "local year = tonumber(string.match(computer.os, \"^Windows Server (%d+)\"))\nif year == nil then\n  return false\nend\nreturn year >= 2019",
		func(c *immy.Computer, _ *immy.Tenant) bool { return serverYear(c) >= 2019 }},
	{"site-and-chrome", LanguageLua, "local os = computer.os\nlocal site = computer.attributes.site or \"hq\"\nif not starts_with(os, \"Windows\") then\n  return false\nend\nreturn site ~= \"remote\" and installed(\"Google Chrome*\")",
		func(c *immy.Computer, _ *immy.Tenant) bool {
			site, ok := c.Attributes["site"]
			if !ok {
				site = "hq"
			}
			return strings.HasPrefix(c.OS, "Windows") && site != "remote" && isInstalled(c, "Google Chrome")
		}},
	{"customer-latitude", LanguageLua, "local name = string.upper(computer.name)\nlocal model = computer.model\nreturn name:sub(1, 10) == \"CONTOSO40-\" or model:match(\"^Latitude%s\") ~= nil",
		func(c *immy.Computer, _ *immy.Tenant) bool {
			return strings.HasPrefix(strings.ToUpper(c.Name), "CONTOSO40-") || strings.HasPrefix(c.Model, "Latitude ") ||
				strings.HasPrefix(c.Model, "Latitude\t") // %s: any space
		}},
	{"wanted-tags", LanguageLua, "local wanted = {[\"canary\"] = true, [\"lab\"] = true}\nfor i = 1, #computer.tags do\n  if wanted[computer.tags[i]] then\n    return true\n  end\nend\nreturn false",
		func(c *immy.Computer, _ *immy.Tenant) bool {
			return slices.Contains(c.Tags, "canary") || slices.Contains(c.Tags, "lab")
		}},
	{"departments", LanguageLua, "local departments = {\"finance\", \"hr\", \"sales\"}\nlocal dept = computer.attributes.department\nfor _, d in ipairs(departments) do\n  if d == dept then\n    return true\n  end\nend\nreturn false",
		func(c *immy.Computer, _ *immy.Tenant) bool {
			d := c.Attributes["department"]
			return d == "finance" || d == "hr" || d == "sales"
		}},
	{"dell-not-server", LanguageLua, `return computer.manufacturer:lower():find("dell", 1, true) ~= nil and computer.kind ~= "server"`,
		func(c *immy.Computer, _ *immy.Tenant) bool {
			return strings.Contains(strings.ToLower(c.Manufacturer), "dell") && c.Kind != immy.KindServer
		}},
	{"shared-machine", LanguageLua, "local n = 0\nfor _, upn in ipairs(computer.upns) do\n  if upn:lower():find(\"" + setDomain + "\", 1, true) then\n    n = n + 1\n  end\nend\nreturn n >= 2",
		func(c *immy.Computer, _ *immy.Tenant) bool {
			n := 0
			for _, u := range c.UPNs {
				if strings.Contains(strings.ToLower(u), setDomain) {
					n++
				}
			}
			return n >= 2
		}},
	{"vip-shared", LanguageLua, `return #computer.upns >= 2 and has_tag("vip")`,
		func(c *immy.Computer, t *immy.Tenant) bool {
			return len(c.UPNs) >= 2 && (slices.Contains(c.Tags, "vip") || slices.Contains(t.Tags, "vip"))
		}},
	{"pro-workstations", LanguageLua, "if computer.kind == \"server\" or computer.kind == \"domain-controller\" then\n  return false\nend\nreturn string.find(computer.os, \"Pro\", 1, true) ~= nil",
		func(c *immy.Computer, _ *immy.Tenant) bool {
			return c.Kind != immy.KindServer && c.Kind != immy.KindDomainController && strings.Contains(c.OS, "Pro")
		}},
	{"patch-ring", LanguageLua, "for _, g in ipairs(computer.device_groups) do\n  if g:sub(1, 10) == \"patch-ring\" then\n    return true\n  end\nend\nreturn false",
		func(c *immy.Computer, _ *immy.Tenant) bool {
			return slices.ContainsFunc(c.DeviceGroups, func(g string) bool { return strings.HasPrefix(g, "patch-ring") })
		}},
}

// filterSetFleet is a generated fleet's computers with their tenants, each
// given a ram_gb attribute (filters read one; the generator writes none).
type filterSetFleet struct {
	cs []immy.Computer
	ts []*immy.Tenant
}

func newFilterSetFleet(n int) filterSetFleet {
	f := immytest.Generate(immytest.FleetScale(n))
	tenants := map[string]*immy.Tenant{}
	for i := range f.Tenants {
		tenants[f.Tenants[i].ID] = &f.Tenants[i]
	}
	out := filterSetFleet{cs: f.Computers, ts: make([]*immy.Tenant, len(f.Computers))}
	rams := []string{"4", "8", "8", "16", "16", "16", "32", "64"}
	for i := range out.cs {
		c := &out.cs[i]
		attrs := make(map[string]string, len(c.Attributes)+1)
		for k, v := range c.Attributes {
			attrs[k] = v
		}
		attrs["ram_gb"] = rams[(i*7+len(c.Name))%len(rams)]
		c.Attributes = attrs
		out.ts[i] = tenants[c.Tenant]
	}
	return out
}

// TestFilterSetMatchesGo pins every filter of the set, on every path, to its
// Go predicate over a generated fleet, and checks that each both holds and
// fails somewhere (a filter true or false everywhere measures little).
func TestFilterSetMatchesGo(t *testing.T) {
	fl := newFilterSetFleet(3000)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	for _, rf := range filterSet {
		t.Run(rf.lang.String()+"/"+rf.name, func(t *testing.T) {
			f, err := Compile(rf.lang, rf.src)
			if err != nil {
				t.Fatal(err)
			}
			pass := 0
			for i := range fl.cs {
				c, ten := &fl.cs[i], fl.ts[i]
				want := rf.gold(c, ten)
				if want {
					pass++
				}
				got, err := f.Eval(ctx, Env{Computer: c, Tenant: ten})
				vm, vmErr := f.evalVM(ctx, c, ten)
				if err != nil || vmErr != nil || got != want || vm != want {
					t.Fatalf("computer %s: Go %v, Eval %v %v, VM %v %v", c.Name, want, got, err, vm, vmErr)
				}
			}
			if pass == 0 || pass == len(fl.cs) {
				t.Fatalf("holds on %d of %d computers: the set wants filters that split the fleet", pass, len(fl.cs))
			}
		})
	}
}

var filterSetSink bool

// BenchmarkFilterSet measures each filter of the set against its Go
// predicate over the computers of a generated fleet, in one run: each
// iteration runs the filter over a block of computers, then the predicate
// over the same block, each timed; "x-go" is the median over the blocks of
// the filter's time over the predicate's (a median of ratios taken side by
// side holds on a loaded machine, where one total after the other does
// not). Each filter is compiled fresh for the run. The log gives the median
// ratio of each language over the set, and its worst.
func BenchmarkFilterSet(b *testing.B) {
	fl := newFilterSetFleet(5000)
	ctx := context.Background()
	const block = 128
	ratios := map[string]float64{} // by filter; b.Run may run one several times: the last counts
	for _, rf := range filterSet {
		b.Run(rf.lang.String()+"/"+rf.name, func(b *testing.B) {
			f, err := Compile(rf.lang, rf.src)
			if err != nil {
				b.Fatal(err)
			}
			var (
				blockRatios     []float64
				filterNs, goNs  int64
				i, n, computers = 0, len(fl.cs), 0
			)
			for b.Loop() {
				from := i
				t0 := time.Now()
				for range block {
					filterSetSink, _ = f.Eval(ctx, Env{Computer: &fl.cs[i], Tenant: fl.ts[i]})
					if i++; i == n {
						i = 0
					}
				}
				t1 := time.Now()
				i = from
				for range block {
					filterSetSink = rf.gold(&fl.cs[i], fl.ts[i])
					if i++; i == n {
						i = 0
					}
				}
				t2 := time.Now()
				fd, gd := t1.Sub(t0).Nanoseconds(), t2.Sub(t1).Nanoseconds()
				filterNs, goNs, computers = filterNs+fd, goNs+gd, computers+block
				blockRatios = append(blockRatios, float64(fd)/float64(max(gd, 1)))
			}
			slices.Sort(blockRatios)
			ratio := median(blockRatios)
			b.ReportMetric(float64(filterNs)/float64(computers), "ns/computer")
			b.ReportMetric(float64(goNs)/float64(computers), "go-ns/computer")
			b.ReportMetric(ratio, "x-go")
			ratios[rf.String()] = ratio
		})
	}
	for _, lang := range []Language{LanguageExpr, LanguageLua} {
		var rs []float64
		for _, rf := range filterSet {
			if r, ok := ratios[rf.String()]; ok && rf.lang == lang {
				rs = append(rs, r)
			}
		}
		if len(rs) == 0 {
			continue
		}
		slices.Sort(rs)
		b.Logf("%s: median %.1fx the Go predicate, worst %.1fx, over %d filters", lang, median(rs), rs[len(rs)-1], len(rs))
	}
}

func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

func (rf realisticFilter) String() string { return fmt.Sprintf("%s/%s", rf.lang, rf.name) }

// BenchmarkResolveFilters resolves every filter target of a generated fleet
// of 20,000 computers (the deployments and tenants of 100,000) from a fresh
// Matcher: shape=uniform draws the filters from a dozen sources, as
// FleetScaleUniform does, shape=realistic writes most of them distinct, as
// FleetScale does; memo=off compiles them without the memo. ns/filter-target
// is the cost of one filter target's resolution: with the memo it stays
// about flat from few sources to many.
func BenchmarkResolveFilters(b *testing.B) {
	ctx := context.Background()
	for _, shape := range scaledFleets(b) {
		f, ix := shape.f, shape.ix
		var filtered []int
		distinct := map[string]bool{}
		for i, d := range f.Deployments {
			if d.Target.Type == immy.TargetFilter {
				filtered = append(filtered, i)
				distinct[d.Target.Expr+"\x00"+d.Target.Lua] = true
			}
		}
		for _, off := range []bool{false, true} {
			name := fmt.Sprintf("shape=%s/memo=%s", shape.name, map[bool]string{false: "on", true: "off"}[off])
			b.Run(name, func(b *testing.B) {
				memoOff = off
				defer func() { memoOff = false }()
				selected := 0
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					m, err := ix.Compile(f.Deployments) // compiles the filters afresh
					if err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
					selected = 0
					for _, d := range filtered {
						cs, err := m.Resolve(ctx, d)
						if err != nil {
							b.Fatal(err)
						}
						selected += len(cs)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(filtered)), "ns/filter-target")
				b.ReportMetric(float64(len(filtered)), "filter-targets")
				b.ReportMetric(float64(len(distinct)), "sources")
				b.ReportMetric(float64(selected), "selections")
			})
		}
	}
}
