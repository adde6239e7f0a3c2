package plugins

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
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
// runs by its pathway.
type Identifier struct {
	// Priority ranks integrations (by instance id; "" is the engine's own
	// agent) for running scripts: a computer's pathways are ordered by it,
	// highest first.
	Priority map[string]int
	// TrustedManufacturers are matched by serial; nil means
	// DefaultTrustedManufacturers, an empty slice none.
	TrustedManufacturers []string
	// Clients maps integrations' clients to tenants; a computer takes the
	// tenant of its highest-priority agent whose client is mapped.
	Clients ClientMap
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
	EventNewComputer    EventKind = "new-computer"    // a machine seen for the first time: it needs onboarding
	EventWiped          EventKind = "wiped"           // its OS installation id changed: it needs onboarding again
	EventMerged         EventKind = "merged"          // agents of several integrations reach one machine
	EventBogusUUID      EventKind = "bogus-uuid"      // an agent reported a UUID that identifies nothing
	EventCloneSuspected EventKind = "clone-suspected" // one UUID on machines with different serials or manufacturers
	EventUnidentified   EventKind = "unidentified"    // no usable hardware identity: the agent is a computer alone
	EventAmbiguous      EventKind = "ambiguous"       // an agent could belong to several machines; it was kept apart
	EventTenantConflict EventKind = "tenant-conflict" // the agents' clients map to different tenants
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
		ia := idAgent{Agent: a, serial: normalizeSerial(a.Identity.Serial), mfr: normalizeManufacturer(a.Identity.Manufacturer)}
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
	for i, a := range agents {
		switch {
		case a.serial != "" && trusted[a.mfr]:
			group(serialKey(a.mfr, a.serial)).add(a)
		case a.uuid != "" && a.serial != "" && a.mfr != "":
			group(uuidKey(a.uuid, a.serial, a.mfr)).add(a)
		case a.uuid != "":
			partial = append(partial, i)
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
	slices.Sort(order)

	// Known computers by hardware key and by pathway.
	known := slices.Clone(obs.Computers)
	slices.SortFunc(known, func(a, b immy.Computer) int { return strings.Compare(a.ID, b.ID) })
	byKey := map[string]int{}
	byPath := map[AgentRef]int{}
	for i, c := range known {
		if key := computerKey(c, trusted); key != "" {
			if _, dup := byKey[key]; !dup {
				byKey[key] = i
			}
		}
		for _, p := range c.Pathways {
			if _, dup := byPath[AgentRef{p.Integration, p.AgentID}]; !dup {
				byPath[AgentRef{p.Integration, p.AgentID}] = i
			}
		}
	}

	memberOf := map[AgentRef][]string{}
	for _, dg := range obs.DeviceGroups {
		for _, a := range dg.Agents {
			ref := AgentRef{dg.Integration, a}
			memberOf[ref] = append(memberOf[ref], DeviceGroupID(dg.Integration, dg.ID))
		}
	}

	claimed := map[int]bool{}
	byUUID := map[string][]string{} // UUID -> computer ids, for the clone guard
	var out []immy.Computer
	for _, key := range order {
		g := groups[key]
		idx, found := -1, false
		if i, ok := byKey[key]; ok && !claimed[i] && !strings.HasPrefix(key, "agent:") {
			idx, found = i, true
		} else {
			for _, a := range g.agents {
				if i, ok := byPath[a.ref()]; ok && !claimed[i] {
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
			sum := sha256.Sum256([]byte(key))
			c = immy.Computer{ID: "c-" + hex.EncodeToString(sum[:8]), Onboarding: immy.NeedsOnboarding}
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
		if tenant, conflict := g.tenant(idr.Clients, idr.Priority); tenant != "" {
			c.Tenant = tenant
			if conflict != "" {
				events = append(events, Event{Kind: EventTenantConflict, Computer: c.ID, Agents: refs, Detail: conflict})
			}
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
			byUUID[u] = append(byUUID[u], c.ID)
		}
		out = append(out, c)
	}
	// Known computers no agent reaches any more stay, offline.
	for i, c := range known {
		if !claimed[i] {
			c.Pathways, c.Online = nil, false
			out = append(out, c)
		}
	}
	for u, ids := range byUUID {
		if len(ids) > 1 {
			slices.Sort(ids)
			for _, id := range ids {
				events = append(events, Event{Kind: EventCloneSuspected, Computer: id,
					Detail: fmt.Sprintf("UUID %s is shared by computers %s, which differ in serial or manufacturer", u, strings.Join(ids, ", "))})
			}
		}
	}
	slices.SortFunc(out, func(a, b immy.Computer) int { return strings.Compare(a.ID, b.ID) })
	slices.SortFunc(events, func(a, b Event) int {
		return cmp.Or(strings.Compare(a.Computer, b.Computer), strings.Compare(string(a.Kind), string(b.Kind)), strings.Compare(a.Detail, b.Detail))
	})
	return Identification{Computers: out, Events: events}
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
}

func (a idAgent) ref() AgentRef { return AgentRef{a.Integration, a.ID} }

type idGroup struct {
	key       string
	agents    []idAgent
	ambiguous bool
}

func (g *idGroup) add(a idAgent) { g.agents = append(g.agents, a) }

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

// tenant is the tenant of the highest-priority agent with a mapped client, and
// a description of the conflict when other agents map elsewhere.
func (g *idGroup) tenant(clients ClientMap, priority map[string]int) (string, string) {
	ordered := slices.Clone(g.agents)
	slices.SortFunc(ordered, func(a, b idAgent) int {
		return cmp.Or(cmp.Compare(priority[b.Integration], priority[a.Integration]), strings.Compare(a.Integration, b.Integration), strings.Compare(a.ID, b.ID))
	})
	var tenant string
	var others []string
	for _, a := range ordered {
		t, ok := clients[ClientKey{a.Integration, a.Client}]
		if !ok || t == "" {
			continue
		}
		if tenant == "" {
			tenant = t
		} else if t != tenant && !slices.Contains(others, t) {
			others = append(others, t)
		}
	}
	if len(others) == 0 {
		return tenant, ""
	}
	return tenant, fmt.Sprintf("agents map to tenants %q and %s; kept %q", tenant, strings.Join(quoteAll(others), ", "), tenant)
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
