package immytest

import (
	"slices"
	"strings"

	"github.com/immyoss/engine/immy"
)

var (
	kindCodes = [...]string{immy.KindWorkstation: "-WS-", immy.KindPortable: "-LT-", immy.KindServer: "-SRV-",
		immy.KindDomainController: "-DC-", immy.KindPrimaryDomainController: "-DC-"}
	serialChars = "0123456789BCDFGHJKLMNPQRSTVWXYZ"
)

func (g *generator) computers() {
	r := g.rand(streamComputers)
	f := g.f
	n := g.cfg.Computers
	w := width(n)
	f.Computers = make([]immy.Computer, n)
	var buf []byte
	var picked [16]int
	// Small slices are cut from shared blocks, each with its capacity at its
	// length, so that appending to one never writes into its neighbour.
	var (
		strs     arena[string]
		detected arena[immy.DetectedSoftware]
		pathways arena[immy.Pathway]
	)
	private := make([][]int, len(f.Tenants))
	for j, t := range g.swOwner {
		if t >= 0 {
			private[t] = append(private[t], j)
		}
	}
	for t := range f.Tenants {
		tenant := f.Tenants[t].ID
		p0, p1 := g.personStart[t], g.personStart[t+1]
		for i := g.compStart[t]; i < g.compStart[t+1]; i++ {
			c := &f.Computers[i]
			c.Tenant = tenant

			var hw []genHardware
			switch x := r.IntN(1000); {
			case x < 580:
				c.Kind, hw = immy.KindWorkstation, genDesktopHardware
			case x < 900:
				c.Kind, hw = immy.KindPortable, genPortableHardware
			case x < 975:
				c.Kind, hw = immy.KindServer, genServerHardware
			case x < 995:
				c.Kind, hw = immy.KindDomainController, genServerHardware
			default:
				c.Kind, hw = immy.KindPrimaryDomainController, genServerHardware
			}
			server := c.Kind >= immy.KindServer
			// The computer's texts share one string: one allocation, not seven.
			var end [7]int
			buf = appendPad(append(buf[:0], "c-"...), i, w)
			end[0] = len(buf)
			buf = appendPad(append(append(buf, g.prefix[t]...), kindCodes[c.Kind]...), i-g.compStart[t]+1, 3)
			end[1] = len(buf)
			buf = appendGUID(buf, r, false)
			end[2] = len(buf)
			for range 7 {
				buf = append(buf, serialChars[r.IntN(len(serialChars))])
			}
			end[3] = len(buf)
			buf = appendGUID(buf, r, true)
			end[4] = len(buf)
			buf = appendHex(buf, r)
			end[5] = len(buf)
			buf = appendHex(buf, r)
			end[6] = len(buf)
			text := string(buf)
			c.ID, c.Name, c.UUID, c.Serial = text[:end[0]], text[end[0]:end[1]], text[end[1]:end[2]], text[end[2]:end[3]]
			c.OSInstallID = text[end[3]:end[4]]
			agents := [2]string{text[end[4]:end[5]], text[end[5]:end[6]]}
			h := pick(r, hw)
			c.Manufacturer, c.Model = h.manufacturer, pick(r, h.models)
			if server {
				c.OS = pickOS(r, genServerOS)
			} else {
				c.OS = pickOS(r, genDesktopOS)
			}
			for _, tg := range genComputerTags {
				if r.pct(tg.pct) {
					c.Tags = append(c.Tags, tg.tag)
				}
			}
			site := "hq"
			if !server || r.pct(40) {
				x, acc := r.IntN(100), 0
				for _, s := range genSites {
					if acc += s.weight; x < acc {
						site = s.name
						break
					}
				}
			}
			if server && site != "hq" {
				site = "datacenter"
			}
			if !server && r.pct(60) {
				c.Attributes = map[string]string{"site": site, "department": pick(r, genDepartments)}
			} else {
				c.Attributes = map[string]string{"site": site}
			}
			c.Online = r.pct(85) || server && r.pct(80)
			switch x := r.IntN(100); {
			case x < 3:
				c.Onboarding = immy.NeedsOnboarding
			case x < 5:
				c.Onboarding = immy.Onboarding
			}
			c.ExcludedFromMaintenance = r.pct(1)

			// UPNs: mostly the main user, newest first.
			if np := p1 - p0; np > 0 {
				main := p0 + r.IntN(np)
				k := 0
				switch {
				case server:
					k = r.IntN(3)
				default:
					k = 1 + min(r.IntN(4)*r.IntN(4), immy.MaxUPNs-1)
				}
				if k > 0 {
					c.UPNs = strs.take(k)
					for j := range k {
						who := main
						if r.pct(25) || server {
							who = p0 + r.IntN(np)
						}
						upn := f.Persons[who].UPN
						if r.pct(3) {
							upn = strings.ToUpper(upn)
						}
						c.UPNs[j] = upn
					}
				}
			}

			// Detected software: some of the catalogue, by how common, and some it does not know.
			nsw := 0
			if g.swPick.total() > 0 {
				want := r.between(2, 10)
				if server {
					want = r.between(1, 5)
				}
				for range want + 4 {
					j := g.swPick.pick(r)
					if nsw < want && !slices.Contains(picked[:nsw], j) {
						picked[nsw] = j
						nsw++
					}
				}
			}
			// Private line-of-business software sits on most of its tenant's computers.
			for _, j := range private[t] {
				if nsw < len(picked) && r.pct(60) {
					picked[nsw] = j
					nsw++
				}
			}
			noise := r.IntN(3)
			c.Software = detected.take(nsw + noise)
			for k, j := range picked[:nsw] {
				d := &c.Software[k]
				d.Name = g.swDetected[j]
				d.UpgradeCode = f.Software[j].Detection.UpgradeCode
				vs := g.swVersions[j]
				switch x := r.IntN(100); {
				case x < 45:
					d.Version = vs[len(vs)-1]
				case x < 70:
					d.Version = vs[max(len(vs)-2, 0)]
				case x < 85:
					d.Version = vs[r.IntN(len(vs))]
				case x < 95:
					d.Version = g.swLegacy[j]
				default:
					d.Version = g.swNewer[j]
				}
			}
			for k := nsw; k < len(c.Software); k++ {
				c.Software[k].Name = pick(r, genNoiseSoftware)
				c.Software[k].Version = noiseVersions[r.IntN(len(noiseVersions))]
			}

			if len(g.compTasks) > 0 && r.pct(8) {
				c.Tasks = map[string]bool{f.Tasks[pick(r, g.compTasks)].ID: r.pct(70)}
			}

			// Pathways: the engine's agent and the tenant's RMM.
			own := r.pct(70) || g.rmm[t] == ""
			np := 0
			if own {
				np++
			}
			if g.rmm[t] != "" {
				np++
			}
			c.Pathways = pathways.take(np)[:0]
			if g.rmm[t] != "" {
				c.Pathways = append(c.Pathways, immy.Pathway{Integration: g.rmm[t], AgentID: agents[0], Online: c.Online, Priority: 1})
				ring := ""
				switch x := r.IntN(100); {
				case x < 15:
					ring = "patch-ring-1"
				case x < 25:
					ring = "patch-ring-2"
				}
				ndg := 1
				if ring != "" {
					ndg = 2
				}
				c.DeviceGroups = strs.take(ndg)
				switch c.Kind {
				case immy.KindWorkstation:
					c.DeviceGroups[0] = "rmm-workstations"
				case immy.KindPortable:
					c.DeviceGroups[0] = "rmm-laptops"
				default:
					c.DeviceGroups[0] = "rmm-servers"
				}
				if ring != "" {
					c.DeviceGroups[1] = ring
				}
			}
			if own {
				online := c.Online && (len(c.Pathways) == 0 || r.pct(85))
				c.Pathways = append(c.Pathways, immy.Pathway{AgentID: agents[1], Online: online, Priority: 2})
			}
		}
	}
}

// arena hands out small slices cut from larger blocks.
type arena[T any] struct{ block []T }

// take returns a slice of n zero values whose capacity is n, or nil for 0.
func (a *arena[T]) take(n int) []T {
	if n == 0 {
		return nil
	}
	if len(a.block) < n {
		a.block = make([]T, max(n, 2048))
	}
	s := a.block[:n:n]
	a.block = a.block[n:]
	return s
}

var noiseVersions = []immy.Version{
	immy.MustParseVersion("5.72.0.0"), immy.MustParseVersion("3.1.0.0"),
	immy.MustParseVersion("2406.5.0.0"), immy.MustParseVersion("6.0.9600.17041"),
}

// appendHex appends 16 random lower-case hex digits.
func appendHex(b []byte, r rnd) []byte {
	const digits = "0123456789abcdef"
	x := r.Uint64()
	for i := range 16 {
		b = append(b, digits[x>>(60-4*i)&0xF])
	}
	return b
}

func pickOS(r rnd, list []genOS) string {
	total := 0
	for _, o := range list {
		total += o.weight
	}
	x := r.IntN(total)
	for _, o := range list {
		if x < o.weight {
			return o.name
		}
		x -= o.weight
	}
	return list[len(list)-1].name
}

func (g *generator) groups() {
	r := g.rand(streamGroups)
	f := g.f
	n := g.cfg.Groups
	w := width(n)
	type key struct {
		tenant int
		kind   immy.GroupKind
	}
	earlier := map[key][]int{}
	nComputers := len(f.Computers)
	for range n {
		kind := immy.GroupComputers
		if g.withPersons > 0 && (r.pct(55) || nComputers == 0) {
			kind = immy.GroupPersons
		}
		if kind == immy.GroupComputers && nComputers == 0 {
			break // nothing to hold
		}
		tenant := -1
		var lo, hi int // members are drawn from [lo, hi)
		switch {
		case kind == immy.GroupPersons:
			tenant = g.byPersons.pick(r)
			lo, hi = g.personStart[tenant], g.personStart[tenant+1]
		case r.pct(5):
			lo, hi = 0, nComputers // cross tenant
		default:
			tenant = g.byComputers.pick(r)
			lo, hi = g.compStart[tenant], g.compStart[tenant+1]
		}
		grp := immy.Group{ID: padID("g-", len(f.Groups), w), Kind: kind}
		if tenant >= 0 {
			grp.Tenant = f.Tenants[tenant].ID
		}
		if kind == immy.GroupPersons {
			grp.Name = pick(r, genUserGroupNames)
		} else {
			grp.Name = pick(r, genComputerGroupNames)
		}
		k := 1 + r.IntN(min(hi-lo, 20))
		members := make([]int, 0, k)
		for range 2 * k {
			if m := lo + r.IntN(hi-lo); !slices.Contains(members, m) {
				members = append(members, m)
				if len(members) == k {
					break
				}
			}
		}
		for _, m := range members {
			if kind == immy.GroupPersons {
				grp.Members = append(grp.Members, f.Persons[m].ID)
			} else {
				grp.Members = append(grp.Members, f.Computers[m].ID)
			}
		}
		// A user group may hold a device of its tenant too.
		if kind == immy.GroupPersons && g.compStart[tenant+1] > g.compStart[tenant] && r.pct(10) {
			grp.Members = append(grp.Members, f.Computers[r.between(g.compStart[tenant], g.compStart[tenant+1]-1)].ID)
		}
		kk := key{tenant, kind}
		if prev := earlier[kk]; len(prev) > 0 && r.pct(25) {
			a := pick(r, prev)
			grp.Groups = append(grp.Groups, f.Groups[a].ID)
			if b := pick(r, prev); b != a && r.pct(30) {
				grp.Groups = append(grp.Groups, f.Groups[b].ID)
			}
		}
		earlier[kk] = append(earlier[kk], len(f.Groups))
		f.Groups = append(f.Groups, grp)
	}
}

func (g *generator) agreements() {
	r := g.rand(streamAgreements)
	f := g.f
	n := g.cfg.Agreements
	w := width(n)
	at := f.At
	day := func(days int) immy.Date { return immy.DateOf(at.AddDate(0, 0, days)) }
	f.Agreements = make([]immy.Agreement, n)
	for i := range n {
		t := g.byComputers.pick(r)
		if t < 0 {
			t = r.IntN(len(f.Tenants))
		}
		a := &f.Agreements[i]
		a.ID = padID("ag-", i, w)
		a.Tenant = f.Tenants[t].ID
		a.ClientGroup = pick(r, genClientGroups)
		switch x := r.IntN(100); {
		case x < 60: // active
			a.From, a.To = day(-r.between(30, 700)), day(r.between(10, 400))
		case x < 75: // active, open-ended
			a.From = day(-r.between(30, 1500))
		case x < 90: // expired
			end := r.between(1, 200)
			a.From, a.To = day(-end-r.between(30, 365)), day(-end)
		default: // starts later
			start := r.between(1, 90)
			a.From, a.To = day(start), day(start+365)
		}
	}
}
