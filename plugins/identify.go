package plugins

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/immyoss/engine/immy"
)

// BogusUUIDs are hardware UUIDs that firmware reports for many machines at
// once; they identify nothing. NormalizeUUID rejects them.
var BogusUUIDs = []string{
	"00000000-0000-0000-0000-000000000000",
	"FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF",
	"03000200-0400-0500-0006-000700080009",
}

// DefaultTrustedManufacturers are manufacturers whose serial numbers are unique
// across their machines, so that manufacturer and serial identify a machine
// on their own.
var DefaultTrustedManufacturers = []string{"Dell Inc.", "Lenovo", "HP", "Microsoft Corporation", "Apple Inc."}

// NormalizeUUID returns a hardware UUID in canonical form (upper case, dashed)
// and true, or "" and false when s is not a UUID or is a bogus one.
func NormalizeUUID(s string) (string, bool) {
	s = strings.TrimSpace(s)
	s = strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}")
	hexDigits := strings.ReplaceAll(s, "-", "")
	if len(hexDigits) != 32 {
		return "", false
	}
	if len(s) != 32 && (len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-') {
		return "", false
	}
	if _, err := hex.DecodeString(hexDigits); err != nil {
		return "", false
	}
	h := strings.ToUpper(hexDigits)
	u := h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
	if slices.Contains(BogusUUIDs, u) {
		return "", false
	}
	return u, true
}

// placeholder serials that firmware leaves unset.
var bogusSerials = map[string]bool{
	"": true, "0": true, "NONE": true, "N/A": true, "NA": true, "DEFAULT STRING": true,
	"TO BE FILLED BY O.E.M.": true, "SYSTEM SERIAL NUMBER": true, "CHASSIS SERIAL NUMBER": true,
	"NOT SPECIFIED": true, "NOT APPLICABLE": true, "123456789": true, "0123456789": true, "SERIAL": true,
}

// normalizeSerial returns a serial number upper-cased, or "" for a placeholder.
func normalizeSerial(s string) string {
	s = strings.ToUpper(strings.Join(strings.Fields(s), " "))
	if bogusSerials[s] || strings.Trim(s, "0") == "" {
		return ""
	}
	return s
}

// normalizeManufacturer folds spellings of a manufacturer together: "Dell
// Inc." and "DELL" are "dell", "Hewlett-Packard" is "hp".
func normalizeManufacturer(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	m := b.String()
	for changed := true; changed; {
		changed = false
		for _, suffix := range []string{"incorporated", "corporation", "company", "limited", "gmbh", "corp", "inc", "ltd", "llc", "co"} {
			if len(m) > len(suffix) && strings.HasSuffix(m, suffix) {
				m = strings.TrimSuffix(m, suffix)
				changed = true
			}
		}
	}
	switch m {
	case "hewlettpackard", "hpe", "hewlettpackardenterprise":
		return "hp"
	case "systemmanufacturer", "tobefilledbyoem", "defaultstring":
		return ""
	}
	return m
}

// Identifier merges the agents of every integration, and of the engine's own
// agent, into computers: one computer per machine however many agents reach
// it. The zero value is usable: no priorities, the default trusted
// manufacturers, no client mapping.
//
// A machine is known by its hardware: the SMBIOS UUID (bogus ones rejected),
// guarded against clones by the serial number and manufacturer: two agents
// with one UUID but different serials are two machines (a cloned virtual
// machine), not one. Machines of a trusted manufacturer are known by
// manufacturer and serial alone, which survive a replaced mainboard. An agent
// with no usable hardware identity stays a computer of its own, kept across
// runs by its pathway, but for one narrow fallback: agents of one tenant
// that report no hardware at all (no UUID, serial, manufacturer or model,
// not even a bogus one), of one hostname (letter case ignored, "localhost"
// never) and one OS family, one agent per integration, are one computer,
// reported by an EventHostnameMatch. Any hardware reported by any of the
// tenant's agents of that hostname, or two of one integration, keeps them all
// apart: a machine with a UUID is never joined by its hostname.
//
// Identity is what an agent says of itself, so it never crosses tenants: an
// agent enrolled for one tenant (an integration's agent whose client Clients
// maps to it; the engine's own agent, whose Client is the tenant its install
// token enrolled it for) joins only agents and computers of that tenant, or
// of none. When agents or computers of several tenants claim one machine's
// hardware, each tenant's claim is a computer of its own, and the
// newcomers are flagged: Attributes[AttrIdentityConflict] is
// IdentityUnconfirmed and an EventIdentityConflict names the others, for a
// technician to look into. A computer that held the hardware alone before
// (the incumbent) is not flagged; with no incumbent every claimant is. A
// technician who has checked a flagged computer sets its attribute to
// IdentityConfirmed: it stays apart and is not flagged again.
type Identifier struct {
	// Priority ranks integrations (by instance id; "" is the engine's own
	// agent) for running scripts: a computer's pathways are ordered by it,
	// highest first.
	Priority map[string]int
	// TrustedManufacturers are matched by serial; nil means
	// DefaultTrustedManufacturers, an empty slice none.
	TrustedManufacturers []string
	// Clients maps integrations' clients to tenants: an agent's tenant is
	// its client's. The engine's own agents (Integration "") need no entry:
	// their Client is their tenant.
	Clients ClientMap
}

// AttrIdentityConflict is the attribute of a computer whose hardware
// identity is claimed in several tenants; its values are
// IdentityUnconfirmed (set by Identify) and IdentityConfirmed (set by a
// technician).
const (
	AttrIdentityConflict = "identity-conflict"
	IdentityUnconfirmed  = "unconfirmed"
	IdentityConfirmed    = "confirmed"
)

// tenantOf is the tenant an agent is enrolled for, "" when none.
func (idr Identifier) tenantOf(a Agent) string {
	if t := idr.Clients[ClientKey{a.Integration, a.Client}]; t != "" {
		return t
	}
	if a.Integration == "" {
		return a.Client
	}
	return ""
}

// ClientMap maps an integration's client to a tenant id.
type ClientMap map[ClientKey]string

// ClientKey names a client of an integration instance.
type ClientKey struct {
	Integration, Client string
}

// Observations are the input of identification.
type Observations struct {
	// Computers are the computers known so far (from the last run); their ids,
	// tenants and tags are kept.
	Computers []immy.Computer
	// Agents are every agent of every integration, and of the engine's own
	// agent. Pathways are rebuilt from them: pass the last known agents of an
	// integration that is down to keep its pathways.
	Agents []Agent
	// DeviceGroups, when given, fill the computers' DeviceGroups.
	DeviceGroups []DeviceGroup
}

// EventKind is what identification noticed.
type EventKind string

// Kinds of event.
const (
	EventNewComputer      EventKind = "new-computer"      // a machine seen for the first time: it needs onboarding
	EventWiped            EventKind = "wiped"             // its OS installation id changed: it needs onboarding again
	EventMerged           EventKind = "merged"            // agents of several integrations reach one machine
	EventBogusUUID        EventKind = "bogus-uuid"        // an agent reported a UUID that identifies nothing
	EventCloneSuspected   EventKind = "clone-suspected"   // one UUID on machines with different serials or manufacturers
	EventUnidentified     EventKind = "unidentified"      // no usable hardware identity: the agent is a computer alone
	EventAmbiguous        EventKind = "ambiguous"         // an agent could belong to several machines; it was kept apart
	EventIdentityConflict EventKind = "identity-conflict" // the machine's hardware is claimed in another tenant too: kept apart, to be confirmed
	EventHostnameMatch    EventKind = "hostname-match"    // no hardware identity on any side: agents of one tenant joined by hostname and OS family
	// Deprecated: agents of different tenants are no longer merged; see
	// EventIdentityConflict. Identify does not report it.
	EventTenantConflict EventKind = "tenant-conflict"
)

// AgentRef names one agent.
type AgentRef struct {
	Integration, ID string
}

// Event is one thing identification noticed, for the operator.
type Event struct {
	Kind     EventKind
	Computer string     // the computer concerned
	Agents   []AgentRef // sorted
	Detail   string
}

// Identification is the result of Identify.
type Identification struct {
	Computers []immy.Computer // sorted by id
	Events    []Event         // sorted by computer, kind, detail
}

// Identify merges agents into computers. It is deterministic: the same
// observations give the same result, whatever their order.
func (idr Identifier) Identify(obs Observations) Identification {
	trusted := map[string]bool{}
	list := idr.TrustedManufacturers
	if list == nil {
		list = DefaultTrustedManufacturers
	}
	for _, m := range list {
		if n := normalizeManufacturer(m); n != "" {
			trusted[n] = true
		}
	}
	var events []Event

	// The agents, normalized, in a fixed order.
	agents := make([]idAgent, 0, len(obs.Agents))
	for _, a := range obs.Agents {
		ia := idAgent{Agent: a, serial: normalizeSerial(a.Identity.Serial), mfr: normalizeManufacturer(a.Identity.Manufacturer), tenant: idr.tenantOf(a)}
		var ok bool
		ia.uuid, ok = NormalizeUUID(a.Identity.UUID)
		if !ok && strings.TrimSpace(a.Identity.UUID) != "" {
			events = append(events, Event{Kind: EventBogusUUID, Agents: []AgentRef{ia.ref()},
				Detail: fmt.Sprintf("UUID %q identifies nothing", printable(a.Identity.UUID))})
		}
		agents = append(agents, ia)
	}
	slices.SortFunc(agents, func(a, b idAgent) int {
		return cmp.Or(strings.Compare(a.Integration, b.Integration), strings.Compare(a.ID, b.ID))
	})
	agents = slices.CompactFunc(agents, func(a, b idAgent) bool { return a.ref() == b.ref() })

	// Group the agents by machine.
	groups := map[string]*idGroup{}
	var order []string
	group := func(key string) *idGroup {
		g, ok := groups[key]
		if !ok {
			g = &idGroup{key: key}
			groups[key] = g
			order = append(order, key)
		}
		return g
	}
	var partial []int // agents with a UUID but no serial or manufacturer
	byHostname := hostnameKeys(agents)
	for i, a := range agents {
		switch {
		case a.serial != "" && trusted[a.mfr]:
			group(serialKey(a.mfr, a.serial)).add(a)
		case a.uuid != "" && a.serial != "" && a.mfr != "":
			group(uuidKey(a.uuid, a.serial, a.mfr)).add(a)
		case a.uuid != "":
			partial = append(partial, i)
		case byHostname[i] != "":
			group(byHostname[i]).add(a)
		default:
			group(agentKey(a.ref())).add(a)
		}
	}
	// An agent that reports a UUID without serial or manufacturer joins the
	// one machine with that UUID whose known fields agree; with several it is
	// ambiguous and kept apart.
	for _, i := range partial {
		a := agents[i]
		var fits []*idGroup
		for _, key := range order {
			if g := groups[key]; g.uuid() == a.uuid && agrees(g.serial(), a.serial) && agrees(g.mfr(), a.mfr) {
				fits = append(fits, g)
			}
		}
		switch len(fits) {
		case 1:
			fits[0].add(a)
		case 0:
			group(uuidKey(a.uuid, a.serial, a.mfr)).add(a)
		default:
			g := group(agentKey(a.ref()))
			g.add(a)
			g.ambiguous = true
		}
	}
	// A machine's agents of different tenants are as many claims: one group
	// per tenant. Agents of no tenant join the one tenant's group, or keep
	// to themselves when there are several.
	var split []*idGroup
	for _, key := range order {
		split = append(split, groups[key].byTenant()...)
	}
	slices.SortFunc(split, func(a, b *idGroup) int {
		return cmp.Or(strings.Compare(a.key, b.key), strings.Compare(a.tenant, b.tenant))
	})

	// Known computers by hardware key and by pathway.
	known := slices.Clone(obs.Computers)
	slices.SortFunc(known, func(a, b immy.Computer) int { return strings.Compare(a.ID, b.ID) })
	byKey := map[string][]int{}
	byPath := map[AgentRef]int{}
	ids := map[string]bool{}
	for i, c := range known {
		ids[c.ID] = true
		if key := computerKey(c, trusted); key != "" {
			byKey[key] = append(byKey[key], i)
		}
		for _, p := range c.Pathways {
			if _, dup := byPath[AgentRef{p.Integration, p.AgentID}]; !dup {
				byPath[AgentRef{p.Integration, p.AgentID}] = i
			}
		}
	}
	// fits: a group of tenant t may be a known computer of tenant ct. A
	// group of no tenant (its agents' clients not mapped yet) never joins a
	// tenant's computer: its pathway would receive that tenant's scripts and
	// secrets on a claim nobody vouched for. It joins once its client is
	// mapped.
	fits := func(t, ct string) bool { return ct == "" || t == ct }

	memberOf := map[AgentRef][]string{}
	for _, dg := range obs.DeviceGroups {
		for _, a := range dg.Agents {
			ref := AgentRef{dg.Integration, a}
			memberOf[ref] = append(memberOf[ref], DeviceGroupID(dg.Integration, dg.ID))
		}
	}

	claimed := map[int]bool{}
	byUUID := map[string]map[string][]string{} // UUID -> hardware key -> computer ids, for the clone guard
	var out []immy.Computer
	var claims []claim // beside out: what each computer claims
	for _, g := range split {
		key := g.key
		idx, found := -1, false
		if !strings.HasPrefix(key, "agent:") {
			for _, i := range byKey[key] {
				if !claimed[i] && fits(g.tenant, known[i].Tenant) {
					idx, found = i, true
					break
				}
			}
		}
		if !found {
			for _, a := range g.agents {
				if i, ok := byPath[a.ref()]; ok && !claimed[i] && fits(g.tenant, known[i].Tenant) {
					if k := computerKey(known[i], trusted); k == "" || k == key {
						idx, found = i, true
						break
					}
				}
			}
		}
		var c immy.Computer
		if found {
			claimed[idx] = true
			c = known[idx]
			c.Pathways = nil
			c.DeviceGroups = nil
		} else {
			c = immy.Computer{ID: newComputerID(key, g.tenant, ids), Onboarding: immy.NeedsOnboarding}
			ids[c.ID] = true
		}
		refs := g.refs()
		best := g.best(idr.Priority)
		id := best.Identity
		if !found {
			events = append(events, Event{Kind: EventNewComputer, Computer: c.ID, Agents: refs, Detail: "needs onboarding"})
		} else if old := strings.TrimSpace(c.OSInstallID); old != "" && id.OSInstallID != "" && old != id.OSInstallID {
			c.Onboarding = immy.NeedsOnboarding
			events = append(events, Event{Kind: EventWiped, Computer: c.ID, Agents: []AgentRef{best.ref()},
				Detail: fmt.Sprintf("OS installation id changed from %q to %q: needs onboarding again", old, id.OSInstallID)})
		}
		if g.ambiguous {
			events = append(events, Event{Kind: EventAmbiguous, Computer: c.ID, Agents: refs,
				Detail: fmt.Sprintf("UUID %s without serial or manufacturer fits several machines", g.agents[0].uuid)})
		}
		if strings.HasPrefix(key, "agent:") && !g.ambiguous {
			events = append(events, Event{Kind: EventUnidentified, Computer: c.ID, Agents: refs,
				Detail: "no usable hardware UUID or trusted serial: the agent is not merged with others"})
		}
		if strings.HasPrefix(key, "host:") {
			events = append(events, Event{Kind: EventHostnameMatch, Computer: c.ID, Agents: refs,
				Detail: fmt.Sprintf("no hardware identity: agents of tenant %q joined by hostname %q and OS family %s",
					g.tenant, printable(best.Identity.Hostname), osFamily(best.Identity.OS))})
		}
		if integrations := g.integrations(); len(integrations) > 1 {
			events = append(events, Event{Kind: EventMerged, Computer: c.ID, Agents: refs,
				Detail: fmt.Sprintf("reached through %s", strings.Join(quoteAll(integrations), ", "))})
		}
		// The identity of the most recently seen agent.
		c.UUID = cmp.Or(best.uuid, g.uuid(), c.UUID)
		c.Serial = cmp.Or(strings.TrimSpace(id.Serial), c.Serial)
		c.Manufacturer = cmp.Or(strings.TrimSpace(id.Manufacturer), c.Manufacturer)
		c.Model = cmp.Or(strings.TrimSpace(id.Model), c.Model)
		c.OSInstallID = cmp.Or(id.OSInstallID, c.OSInstallID)
		c.OS = cmp.Or(id.OS, c.OS)
		c.Name = cmp.Or(c.Name, id.Hostname, best.Name)
		if id.Kind != immy.KindUnknown {
			c.Kind = id.Kind
		}
		if g.tenant != "" {
			c.Tenant = g.tenant
		}
		c.Online = false
		for _, a := range g.agents {
			c.Pathways = append(c.Pathways, immy.Pathway{Integration: a.Integration, AgentID: a.ID, Online: a.Online, Priority: idr.Priority[a.Integration]})
			c.Online = c.Online || a.Online
			c.DeviceGroups = append(c.DeviceGroups, memberOf[a.ref()]...)
		}
		SortPathways(c.Pathways)
		slices.Sort(c.DeviceGroups)
		c.DeviceGroups = slices.Compact(c.DeviceGroups)
		if u := g.uuid(); u != "" && !g.ambiguous {
			if byUUID[u] == nil {
				byUUID[u] = map[string][]string{}
			}
			byUUID[u][key] = append(byUUID[u][key], c.ID)
		}
		cl := claim{refs: refs}
		if !strings.HasPrefix(key, "agent:") && !strings.HasPrefix(key, "host:") {
			cl.key = key // a hardware key, claimed
		}
		if found {
			cl.incumbent = known[idx].Attributes[AttrIdentityConflict] == ""
		}
		out = append(out, c)
		claims = append(claims, cl)
	}
	// Known computers no agent reaches any more stay, offline.
	for i, c := range known {
		if !claimed[i] {
			c.Pathways, c.Online = nil, false
			out = append(out, c)
			claims = append(claims, claim{key: computerKey(c, trusted), incumbent: c.Attributes[AttrIdentityConflict] == ""})
		}
	}
	events = append(events, flagConflicts(out, claims)...)
	for u, keys := range byUUID {
		if len(keys) < 2 {
			continue // one machine claimed in several tenants is no clone
		}
		var ids []string
		for _, k := range keys {
			ids = append(ids, k...)
		}
		slices.Sort(ids)
		for _, id := range ids {
			events = append(events, Event{Kind: EventCloneSuspected, Computer: id,
				Detail: fmt.Sprintf("UUID %s is shared by computers %s, which differ in serial or manufacturer", u, strings.Join(ids, ", "))})
		}
	}
	slices.SortFunc(out, func(a, b immy.Computer) int { return strings.Compare(a.ID, b.ID) })
	slices.SortFunc(events, func(a, b Event) int {
		return cmp.Or(strings.Compare(a.Computer, b.Computer), strings.Compare(string(a.Kind), string(b.Kind)), strings.Compare(a.Detail, b.Detail))
	})
	return Identification{Computers: out, Events: events}
}

// claim is what one computer of Identify's result claims: its hardware
// key ("" for none), whether it held that hardware unflagged before, and
// the agents behind it.
type claim struct {
	key       string
	incumbent bool
	refs      []AgentRef
}

// flagConflicts flags the computers whose hardware other tenants' computers
// claim too, and clears the flag of those no longer in conflict. The
// incumbent tenant (that of the computers that held the hardware unflagged
// before, when they are of one tenant) keeps its computers unflagged; a
// computer a technician confirmed stays as it is.
func flagConflicts(out []immy.Computer, claims []claim) []Event {
	byKey := map[string][]int{}
	for i, cl := range claims {
		if cl.key != "" {
			byKey[cl.key] = append(byKey[cl.key], i)
		}
	}
	var events []Event
	for i := range out {
		c, cl := &out[i], claims[i]
		tenants := map[string]bool{}
		incumbents := map[string]bool{}
		var others []string // the other tenants' computers: `id (tenant "t")`
		for _, j := range byKey[cl.key] {
			if out[j].Tenant != "" {
				tenants[out[j].Tenant] = true
				if claims[j].incumbent {
					incumbents[out[j].Tenant] = true
				}
			}
			if j != i && out[j].Tenant != c.Tenant {
				others = append(others, fmt.Sprintf("%s (tenant %q)", out[j].ID, out[j].Tenant))
			}
		}
		state := c.Attributes[AttrIdentityConflict]
		switch {
		case cl.key == "" || len(tenants) < 2:
			if state == IdentityUnconfirmed {
				c.Attributes = maps.Clone(c.Attributes)
				delete(c.Attributes, AttrIdentityConflict)
			}
		case state == IdentityConfirmed:
		case cl.incumbent && len(incumbents) == 1 && incumbents[c.Tenant]:
		default:
			if state != IdentityUnconfirmed {
				c.Attributes = maps.Clone(c.Attributes)
				if c.Attributes == nil {
					c.Attributes = map[string]string{}
				}
				c.Attributes[AttrIdentityConflict] = IdentityUnconfirmed
			}
			events = append(events, Event{Kind: EventIdentityConflict, Computer: c.ID, Agents: cl.refs,
				Detail: fmt.Sprintf("its hardware is claimed in another tenant too, by %s: kept apart until a technician confirms (attribute %s)",
					strings.Join(others, ", "), AttrIdentityConflict)})
		}
	}
	return events
}

// newComputerID is the id of a new computer: from its hardware key, or
// with its tenant when that id is taken (by another tenant's claim to the
// machine).
func newComputerID(key, tenant string, taken map[string]bool) string {
	id := func(s string) string {
		sum := sha256.Sum256([]byte(s))
		return "c-" + hex.EncodeToString(sum[:8])
	}
	if c := id(key); !taken[c] {
		return c
	}
	for n := 0; ; n++ {
		s := key + "|tenant:" + tenant
		if n > 0 {
			s += "|" + strconv.Itoa(n)
		}
		if c := id(s); !taken[c] {
			return c
		}
	}
}

// SortPathways orders pathways for running scripts: priority, highest first,
// then integration and agent id.
func SortPathways(ps []immy.Pathway) {
	slices.SortFunc(ps, func(a, b immy.Pathway) int {
		return cmp.Or(cmp.Compare(b.Priority, a.Priority), strings.Compare(a.Integration, b.Integration), strings.Compare(a.AgentID, b.AgentID))
	})
}

// DeviceGroupID is the id a computer's DeviceGroups and a device-group target
// use for a group of an integration instance: "instance:group".
func DeviceGroupID(integration, group string) string { return integration + ":" + group }

func serialKey(mfr, serial string) string     { return "serial:" + mfr + "|" + serial }
func uuidKey(uuid, serial, mfr string) string { return "uuid:" + uuid + "|" + serial + "|" + mfr }
func agentKey(r AgentRef) string              { return "agent:" + r.Integration + "|" + r.ID }
func agrees(known, seen string) bool          { return known == "" || seen == "" || known == seen }
func quoteAll(s []string) []string {
	return mapSlice(s, func(x string) string { return fmt.Sprintf("%q", x) })
}
func mapSlice[T, U any](s []T, f func(T) U) []U {
	out := make([]U, len(s))
	for i, x := range s {
		out[i] = f(x)
	}
	return out
}

// computerKey is the hardware key of a known computer, "" when it has none.
func computerKey(c immy.Computer, trusted map[string]bool) string {
	serial, mfr := normalizeSerial(c.Serial), normalizeManufacturer(c.Manufacturer)
	if serial != "" && trusted[mfr] {
		return serialKey(mfr, serial)
	}
	if u, ok := NormalizeUUID(c.UUID); ok {
		return uuidKey(u, serial, mfr)
	}
	return ""
}

type idAgent struct {
	Agent
	uuid, serial, mfr string
	tenant            string // the tenant the agent is enrolled for, "" when none
}

func (a idAgent) ref() AgentRef { return AgentRef{a.Integration, a.ID} }

type idGroup struct {
	key       string
	tenant    string // set by byTenant
	agents    []idAgent
	ambiguous bool
}

func (g *idGroup) add(a idAgent) { g.agents = append(g.agents, a) }

// byTenant splits the group into one group per tenant of its agents; the
// agents of no tenant (their clients not mapped) form a group of their own.
func (g *idGroup) byTenant() []*idGroup {
	parts := map[string]*idGroup{}
	for _, a := range g.agents {
		p := parts[a.tenant]
		if p == nil {
			p = &idGroup{key: g.key, tenant: a.tenant, ambiguous: g.ambiguous}
			parts[a.tenant] = p
		}
		p.add(a)
	}
	out := make([]*idGroup, 0, len(parts))
	for _, p := range parts {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b *idGroup) int { return strings.Compare(a.tenant, b.tenant) })
	return out
}

func (g *idGroup) first(f func(idAgent) string) string {
	for _, a := range g.agents {
		if v := f(a); v != "" {
			return v
		}
	}
	return ""
}

func (g *idGroup) uuid() string   { return g.first(func(a idAgent) string { return a.uuid }) }
func (g *idGroup) serial() string { return g.first(func(a idAgent) string { return a.serial }) }
func (g *idGroup) mfr() string    { return g.first(func(a idAgent) string { return a.mfr }) }

func (g *idGroup) refs() []AgentRef {
	out := make([]AgentRef, len(g.agents))
	for i, a := range g.agents {
		out[i] = a.ref()
	}
	slices.SortFunc(out, func(a, b AgentRef) int {
		return cmp.Or(strings.Compare(a.Integration, b.Integration), strings.Compare(a.ID, b.ID))
	})
	return out
}

func (g *idGroup) integrations() []string {
	var out []string
	for _, a := range g.agents {
		out = append(out, a.Integration)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// best is the agent whose report of the machine is freshest: the most
// recently seen, then online, then of the highest priority.
func (g *idGroup) best(priority map[string]int) idAgent {
	return slices.MinFunc(g.agents, func(a, b idAgent) int {
		return cmp.Or(
			compareTimeDesc(a.LastSeen, b.LastSeen),
			compareBoolDesc(a.Online, b.Online),
			cmp.Compare(priority[b.Integration], priority[a.Integration]),
			strings.Compare(a.Integration, b.Integration),
			strings.Compare(a.ID, b.ID))
	})
}

func compareTimeDesc(a, b time.Time) int { return b.Compare(a) }

func compareBoolDesc(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return -1
	}
	return 1
}
