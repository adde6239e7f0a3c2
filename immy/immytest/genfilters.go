package immytest

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/immyoss/engine/immy"
)

// FilterStyle says how a generated fleet writes its filter targets.
type FilterStyle int

const (
	// FiltersFew draws every filter target from a dozen common filters, so
	// that a fleet of thousands of filter targets has few distinct sources
	// (the shape of FleetScaleUniform).
	FiltersFew FilterStyle = iota
	// FiltersDistinct composes each filter target as an MSP writes one for a
	// customer and a purpose: expr filters of one to three clauses over
	// different fields, functions and constants (the tenant's naming prefix
	// and mail domain, sites, departments, makers, models, tags, software),
	// with any, all, count, int and split among them; Lua filters as people
	// write Lua, a single return, or locals, string functions (find, match,
	// sub, lower, upper, method calls), tonumber, # and numeric and generic
	// for loops. Most sources are distinct; some repeat, as MSPs copy a
	// filter from one customer to the next.
	FiltersDistinct
)

// filterComposer draws the filters of FiltersDistinct from its own random
// stream, so that the deployments' stream draws the same whatever the
// filters are.
type filterComposer struct {
	g     *generator
	r     rnd
	seen  map[string]bool
	drawn [2][]string // expr's and Lua's, in the order drawn
}

func (g *generator) composer() *filterComposer {
	if g.filters == nil {
		g.filters = &filterComposer{g: g, r: g.rand(streamFilters), seen: map[string]bool{}}
	}
	return g.filters
}

// filterTarget draws a filter target of FiltersDistinct: four in five
// within one tenant, its filter written for that customer (its naming
// prefix, its mail domain...), the others cross-tenant. maybeTenant still
// draws from the deployments' stream, so that the deployments after this one
// are drawn as with FiltersFew; the composer's stream decides.
func (g *generator) filterTarget(r rnd, maybeTenant func(immy.Target, int) immy.Target, lua bool) immy.Target {
	t := maybeTenant(immy.Target{Type: immy.TargetFilter}, 50)
	t.Tenant = ""
	c := g.composer()
	tn := -1
	if c.r.pct(80) {
		if tn = g.someTenant(c.r); tn >= 0 {
			t.Tenant = g.f.Tenants[tn].ID
		}
	}
	if lua {
		t.Lua = g.luaFilter(tn)
	} else {
		t.Expr = g.exprFilter(tn)
	}
	return t
}

// exprFilter composes an expr filter for a target within tenant t (-1:
// cross-tenant).
func (g *generator) exprFilter(t int) string {
	c := g.composer()
	return c.distinct(false, func() string { return c.expr(t) })
}

// luaFilter is exprFilter's Lua twin.
func (g *generator) luaFilter(t int) string {
	c := g.composer()
	return c.distinct(true, func() string { return c.lua(t) })
}

// distinct draws a filter until it is one not drawn before, a few times at
// most; one in twelve is a copy of an earlier one, as MSPs copy a filter
// from one customer to the next.
func (c *filterComposer) distinct(lua bool, draw func() string) string {
	pool := &c.drawn[0]
	if lua {
		pool = &c.drawn[1]
	}
	if len(*pool) > 0 && c.r.pct(8) {
		return pick(c.r, *pool)
	}
	s := draw()
	for try := 0; c.seen[s] && try < 8; try++ {
		s = draw()
	}
	if !c.seen[s] {
		c.seen[s] = true
		*pool = append(*pool, s)
	}
	return s
}

// clause is one condition, written in both languages.
type clause struct{ expr, lua string }

// tenant returns t, or a customer tenant when t is -1 (a cross-tenant
// filter that names one customer's machines, as MSPs write for one-offs).
func (c *filterComposer) tenant(t int) int {
	if t >= 0 {
		return t
	}
	n := len(c.g.f.Tenants)
	if n == 1 {
		return 0
	}
	return 1 + c.r.IntN(n-1)
}

var (
	genOSPrefixes  = []string{"Windows 11", "Windows 10", "Windows Server 2022", "Windows Server 2019", "Windows Server", "macOS", "Ubuntu"}
	genOSWords     = []string{"Enterprise", "Pro", "Server", "LTS", "Home", "Datacenter", "Standard"}
	genKinds       = []string{"workstation", "portable", "server", "domain-controller"}
	genMakers      = []string{"Dell Inc.", "HP", "LENOVO", "Microsoft Corporation", "VMware, Inc.", "Apple Inc."}
	genMakerWords  = []string{"dell", "hp", "lenovo", "microsoft", "vmware", "apple"}
	genModelStarts = []string{"OptiPlex", "Latitude", "Precision", "ThinkPad", "ThinkCentre", "HP EliteBook", "HP ProBook", "Surface", "PowerEdge", "VMware", "MacBook"}
	genSiteNames   = []string{"hq", "branch", "remote", "datacenter"}
	genCompTags    = []string{"canary", "finance", "kiosk", "lab", "byod"}
	genTenTags     = []string{"vip", "healthcare", "legal", "pilot"}
)

// software returns the detection glob of a well-known product.
func (c *filterComposer) software() string {
	s := pick(c.r, genCatalogue)
	if s.glob != "" {
		return s.glob
	}
	return s.name + "*"
}

// clause draws one condition over the computer of tenant t.
func (c *filterComposer) clause(t int) clause {
	r, g := c.r, c.g
	q := strconv.Quote
	switch r.IntN(22) {
	case 0:
		p := pick(r, genOSPrefixes)
		return clause{"computer.os startsWith " + q(p), "starts_with(computer.os, " + q(p) + ")"}
	case 1:
		w := pick(r, genOSWords)
		return clause{"computer.os contains " + q(w), "string.find(computer.os, " + q(w) + ", 1, true) ~= nil"}
	case 2:
		k := pick(r, genKinds)
		return clause{"computer.kind == " + q(k), "computer.kind == " + q(k)}
	case 3:
		k := pick(r, genKinds)
		return clause{"computer.kind != " + q(k), "computer.kind ~= " + q(k)}
	case 4:
		m := pick(r, genMakers)
		return clause{"computer.manufacturer == " + q(m), "computer.manufacturer == " + q(m)}
	case 5:
		m := pick(r, genMakerWords)
		return clause{"lower(computer.manufacturer) contains " + q(m), "computer.manufacturer:lower():find(" + q(m) + ", 1, true) ~= nil"}
	case 6:
		m := pick(r, genModelStarts)
		return clause{"computer.model startsWith " + q(m), fmt.Sprintf("computer.model:sub(1, %d) == %s", len(m), q(m))}
	case 7:
		s := pick(r, genSiteNames)
		return clause{`computer.attributes["site"] == ` + q(s), "computer.attributes.site == " + q(s)}
	case 8:
		a, b := pick(r, genDepartments), pick(r, genDepartments)
		return clause{fmt.Sprintf(`computer.attributes["department"] in [%s, %s]`, q(a), q(b)),
			fmt.Sprintf("(computer.attributes.department == %s or computer.attributes.department == %s)", q(a), q(b))}
	case 9:
		tg := pick(r, genCompTags)
		return clause{q(tg) + " in computer.tags", "contains(computer.tags, " + q(tg) + ")"}
	case 10:
		tg := pick(r, genCompTags)
		return clause{"has_tag(" + q(tg) + ")", "has_tag(" + q(tg) + ")"}
	case 11:
		tg := pick(r, genCompTags)
		return clause{"not has_tag(" + q(tg) + ")", "not has_tag(" + q(tg) + ")"}
	case 12:
		s := c.software()
		return clause{"installed(" + q(s) + ")", "installed(" + q(s) + ")"}
	case 13:
		s := c.software()
		return clause{"not installed(" + q(s) + ")", "not installed(" + q(s) + ")"}
	case 14:
		p := g.prefix[c.tenant(t)] + "-"
		return clause{"computer.name startsWith " + q(p), "starts_with(computer.name, " + q(p) + ")"}
	case 15:
		d := "@" + g.domain[c.tenant(t)]
		return clause{"any(computer.upns, lower(#) endsWith " + q(d) + ")",
			"string.lower(computer.upns[1] or \"\"):sub(-" + strconv.Itoa(len(d)) + ") == " + q(d)}
	case 16:
		tg := pick(r, genCompTags)
		return clause{"all(computer.tags, # != " + q(tg) + ")", "not contains(computer.tags, " + q(tg) + ")"}
	case 17:
		y := pick(r, []int{2016, 2019, 2022})
		op := pick(r, []string{">=", "<", "<="})
		return clause{fmt.Sprintf(`computer.os startsWith "Windows Server" and int(split(computer.os, " ")[2]) %s %d`, op, y),
			fmt.Sprintf(`(tonumber(string.match(computer.os, "^Windows Server (%%d+)")) or 0) %s %d`, op, y)}
	case 18:
		n := r.between(1, 4)
		return clause{fmt.Sprintf("len(computer.upns) >= %d", n), fmt.Sprintf("#computer.upns >= %d", n)}
	case 19:
		dg := pick(r, genDeviceGroups)
		return clause{"any(computer.device_groups, # startsWith " + q(dg[:len(dg)-2]) + ")", "contains(computer.device_groups, " + q(dg) + ")"}
	case 20:
		tg := pick(r, genTenTags)
		return clause{q(tg) + " in tenant.tags", "contains(tenant.tags, " + q(tg) + ")"}
	default:
		d := "@" + g.domain[c.tenant(t)]
		n := r.between(1, 3)
		return clause{fmt.Sprintf("count(computer.upns, lower(#) endsWith %s) >= %d", q(d), n),
			fmt.Sprintf("computer.online and #computer.upns >= %d", n)}
	}
}

// expr draws an expr filter of one to three clauses.
func (c *filterComposer) expr(t int) string {
	r := c.r
	a := c.clause(t).expr
	switch x := r.IntN(100); {
	case x < 25:
		return a
	case x < 70:
		return a + " and " + c.clause(t).expr
	case x < 85:
		return "(" + a + " or " + c.clause(t).expr + ") and " + c.clause(t).expr
	default:
		return a + " and " + c.clause(t).expr + " and not (" + c.clause(t).expr + ")"
	}
}

// lua draws a Lua filter in one of the shapes people write.
func (c *filterComposer) lua(t int) string {
	r, g := c.r, c.g
	q := strconv.Quote
	var b strings.Builder
	switch x := r.IntN(100); {
	case x < 25: // one return
		b.WriteString("return " + c.clause(t).lua)
		if r.pct(60) {
			b.WriteString(" and " + c.clause(t).lua)
		}
	case x < 45: // locals and an early return
		p, s := pick(r, genOSPrefixes), pick(r, genSiteNames)
		fmt.Fprintf(&b, "local os = computer.os\nlocal site = computer.attributes.site or %s\n", q(pick(r, genSiteNames)))
		fmt.Fprintf(&b, "if not starts_with(os, %s) then\n  return false\nend\n", q(p))
		fmt.Fprintf(&b, "return site ~= %s and %s", q(s), c.clause(t).lua)
	case x < 60: // string functions on the name and the model
		p := g.prefix[c.tenant(t)] + "-"
		m := pick(r, genModelStarts)
		fmt.Fprintf(&b, "local name = string.upper(computer.name)\nlocal model = computer.model\n")
		fmt.Fprintf(&b, "return name:sub(1, %d) == %s and (model:match(%s) ~= nil or %s)",
			len(p), q(p), q("^"+strings.ReplaceAll(m, " ", "%s")), c.clause(t).lua)
	case x < 70: // a number read from a string
		y := pick(r, []int{2016, 2019, 2022})
		fmt.Fprintf(&b, "local year = tonumber(string.match(computer.os, \"Server (%%d+)\"))\n")
		fmt.Fprintf(&b, "if year == nil then\n  return %s\nend\nreturn year %s %d", c.clause(t).lua, pick(r, []string{"<", ">=", "<="}), y)
	case x < 82: // a generic for over the UPNs
		d := "@" + g.domain[c.tenant(t)]
		fmt.Fprintf(&b, "local domain = %s\nfor _, upn in ipairs(computer.upns) do\n", q(d))
		fmt.Fprintf(&b, "  if string.lower(upn):sub(-#domain) == domain then\n    return %s\n  end\nend\nreturn false", c.clause(t).lua)
	case x < 92: // a numeric for over the tags, against a set
		a, z := pick(r, genCompTags), pick(r, genCompTags)
		fmt.Fprintf(&b, "local wanted = {[%s] = true, [%s] = true}\nfor i = 1, #computer.tags do\n", q(a), q(z))
		fmt.Fprintf(&b, "  if wanted[computer.tags[i]] then\n    return true\n  end\nend\nreturn %s", c.clause(t).lua)
	default: // a list of departments
		n := r.between(2, 4)
		deps := make([]string, n)
		for i := range deps {
			deps[i] = q(pick(r, genDepartments))
		}
		fmt.Fprintf(&b, "local departments = {%s}\nlocal dept = computer.attributes.department\n", strings.Join(deps, ", "))
		fmt.Fprintf(&b, "for _, d in ipairs(departments) do\n  if d == dept then\n    return %s\n  end\nend\nreturn false", c.clause(t).lua)
	}
	return b.String()
}
