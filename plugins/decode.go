package plugins

import (
	"encoding/hex"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/immyoss/engine/immy"
	pluginv1 "github.com/immyoss/engine/plugins/proto/immy/plugin/v1"
	pluginv2 "github.com/immyoss/engine/plugins/proto/immy/plugin/v2"
)

// Limits on what a plugin may send, so that a broken or hostile plugin cannot
// flood the engine's memory or logs through one record.
const (
	maxIDLen   = 256
	maxTextLen = 4096
)

// decoder turns a plugin's answers into engine types, collecting every
// problem; a record with a problem is skipped, the others kept.
type decoder struct {
	section  string
	problems immy.Problems
	seen     map[string]bool // ids already decoded, for duplicates
	index    int             // position of the next record across batches
}

func newDecoder(section string) *decoder {
	return &decoder{section: section, seen: map[string]bool{}}
}

func (d *decoder) add(index int, id, field, format string, args ...any) {
	d.problems = append(d.problems, immy.Problem{
		Section: d.section, Index: index, ID: printable(id), Field: field,
		Message: fmt.Sprintf(format, args...), Err: immy.ErrInvalid,
	})
}

// err returns the problems as a *ResponseError, or nil.
func (d *decoder) err(instance, call string) error {
	if len(d.problems) == 0 {
		return nil
	}
	return &ResponseError{Instance: instance, Call: call, Problems: d.problems}
}

// id checks a required identifier and its uniqueness within the answer.
func (d *decoder) id(index int, id, field string) bool {
	switch {
	case id == "":
		d.add(index, "", field, "is empty")
		return false
	case len(id) > maxIDLen:
		d.add(index, "", field, "is %d bytes long, at most %d allowed", len(id), maxIDLen)
		return false
	case !utf8.ValidString(id):
		d.add(index, "", field, "is not valid UTF-8")
		return false
	case strings.TrimSpace(id) != id || strings.ContainsFunc(id, isControl):
		d.add(index, id, field, "has surrounding spaces or control characters")
		return false
	}
	if field == "id" {
		if d.seen[id] {
			d.add(index, id, field, "duplicate: already listed")
			return false
		}
		d.seen[id] = true
	}
	return true
}

// text checks an optional free text field.
func (d *decoder) text(index int, id, field, s string) bool {
	switch {
	case len(s) > maxTextLen:
		d.add(index, id, field, "is %d bytes long, at most %d allowed", len(s), maxTextLen)
		return false
	case !utf8.ValidString(s):
		d.add(index, id, field, "is not valid UTF-8")
		return false
	}
	return true
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// printable shortens and sanitizes an id for an error message.
func printable(s string) string {
	if len(s) > maxIDLen {
		s = s[:maxIDLen]
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

var capabilityOfV2 = map[pluginv2.Capability]Capability{
	pluginv2.Capability_CAPABILITY_CLIENTS:          CapClients,
	pluginv2.Capability_CAPABILITY_AGENTS:           CapAgents,
	pluginv2.Capability_CAPABILITY_RUN_SCRIPT:       CapRunScript,
	pluginv2.Capability_CAPABILITY_DEVICE_GROUPS:    CapDeviceGroups,
	pluginv2.Capability_CAPABILITY_CLIENT_GROUPS:    CapClientGroups,
	pluginv2.Capability_CAPABILITY_TICKETS:          CapTickets,
	pluginv2.Capability_CAPABILITY_INSTALL_TOKEN:    CapInstallToken,
	pluginv2.Capability_CAPABILITY_DYNAMIC_VERSIONS: CapDynamicVersions,
	pluginv2.Capability_CAPABILITY_MAINTENANCE_MODE: CapMaintenanceMode,
	pluginv2.Capability_CAPABILITY_AGENT_LINKS:      CapAgentLinks,
	pluginv2.Capability_CAPABILITY_INVENTORY:        CapInventory,
}

// v1 capabilities are names; version 1 had only these three.
var capabilityOfV1 = map[string]Capability{
	"clients":    CapClients,
	"agents":     CapAgents,
	"run-script": CapRunScript,
}

// decodeDescribeV2 checks a Describe answer. Capabilities unknown to this host
// (from a newer plugin) are ignored.
func decodeDescribeV2(r *pluginv2.DescribeResponse) (Info, error) {
	info := Info{Name: r.GetName(), Version: r.GetVersion(), Description: r.GetDescription(), Protocol: 2}
	for _, c := range r.GetCapabilities() {
		if cap, ok := capabilityOfV2[c]; ok {
			info.Capabilities = append(info.Capabilities, cap)
		}
	}
	d := newDecoder("config_fields")
	keys := map[string]bool{}
	for i, f := range r.GetConfigFields() {
		if !d.id(i, f.GetKey(), "key") || !d.text(i, f.GetKey(), "description", f.GetDescription()) {
			continue
		}
		if keys[f.GetKey()] {
			d.add(i, f.GetKey(), "key", "duplicate")
			continue
		}
		keys[f.GetKey()] = true
		info.ConfigFields = append(info.ConfigFields, ConfigField{Key: f.GetKey(), Description: f.GetDescription(), Required: f.GetRequired(), Secret: f.GetSecret()})
	}
	return finishInfo(info, d)
}

func decodeDescribeV1(r *pluginv1.DescribeResponse) (Info, error) {
	info := Info{Name: r.GetName(), Version: r.GetVersion(), Protocol: 1}
	for _, c := range r.GetCapabilities() {
		if cap, ok := capabilityOfV1[c]; ok {
			info.Capabilities = append(info.Capabilities, cap)
		}
	}
	return finishInfo(info, newDecoder("config_fields"))
}

func finishInfo(info Info, d *decoder) (Info, error) {
	if info.Name == "" {
		d.add(0, "", "name", "is empty")
	}
	d.text(0, "", "name", info.Name)
	d.text(0, "", "version", info.Version)
	d.text(0, "", "description", info.Description)
	if len(d.problems) > 0 {
		return Info{}, &ResponseError{Call: "Describe", Problems: d.problems}
	}
	slices.Sort(info.Capabilities)
	info.Capabilities = slices.Compact(info.Capabilities)
	slices.SortFunc(info.ConfigFields, func(a, b ConfigField) int { return strings.Compare(a.Key, b.Key) })
	return info, nil
}

func (d *decoder) client(instance string, index int, id, name string) (Client, bool) {
	if !d.id(index, id, "id") || !d.text(index, id, "name", name) {
		return Client{}, false
	}
	return Client{Integration: instance, ID: id, Name: name}, true
}

var kindOfV2 = map[pluginv2.ComputerKind]immy.ComputerKind{
	pluginv2.ComputerKind_COMPUTER_KIND_UNSPECIFIED:               immy.KindUnknown,
	pluginv2.ComputerKind_COMPUTER_KIND_WORKSTATION:               immy.KindWorkstation,
	pluginv2.ComputerKind_COMPUTER_KIND_PORTABLE:                  immy.KindPortable,
	pluginv2.ComputerKind_COMPUTER_KIND_SERVER:                    immy.KindServer,
	pluginv2.ComputerKind_COMPUTER_KIND_DOMAIN_CONTROLLER:         immy.KindDomainController,
	pluginv2.ComputerKind_COMPUTER_KIND_PRIMARY_DOMAIN_CONTROLLER: immy.KindPrimaryDomainController,
}

// agentV2 decodes one agent. A kind unknown to this host is a problem rather
// than KindUnknown: a server taken for a workstation would get the wrong deployments.
func (d *decoder) agentV2(instance string, a *pluginv2.Agent) (Agent, bool) {
	i := d.index
	d.index++
	id := a.GetId()
	if !d.id(i, id, "id") || !d.id(i, a.GetClientId(), "client_id") {
		return Agent{}, false
	}
	out := Agent{Integration: instance, ID: id, Client: a.GetClientId(), Name: a.GetName(), Online: a.GetOnline()}
	ok := d.text(i, id, "name", out.Name)
	if ts := a.GetLastSeen(); ts != nil {
		if err := ts.CheckValid(); err != nil {
			d.add(i, id, "last_seen", "invalid timestamp")
			ok = false
		} else {
			out.LastSeen = ts.AsTime().UTC()
		}
	}
	p := a.GetIdentity()
	kind, known := kindOfV2[p.GetKind()]
	if !known {
		d.add(i, id, "identity.kind", "unknown value %d", int32(p.GetKind()))
		ok = false
	}
	out.Identity = immy.Identity{
		UUID: strings.TrimSpace(p.GetUuid()), Serial: strings.TrimSpace(p.GetSerial()),
		Manufacturer: strings.TrimSpace(p.GetManufacturer()), Model: strings.TrimSpace(p.GetModel()),
		Hostname: p.GetHostname(), OS: p.GetOs(), OSVersion: p.GetOsVersion(),
		OSInstallID: strings.TrimSpace(p.GetOsInstallId()), Kind: kind, Domain: p.GetDomain(),
	}
	for _, f := range []struct{ name, value string }{
		{"identity.uuid", out.Identity.UUID}, {"identity.serial", out.Identity.Serial},
		{"identity.manufacturer", out.Identity.Manufacturer}, {"identity.model", out.Identity.Model},
		{"identity.hostname", out.Identity.Hostname}, {"identity.os", out.Identity.OS},
		{"identity.os_version", out.Identity.OSVersion}, {"identity.os_install_id", out.Identity.OSInstallID},
		{"identity.domain", out.Identity.Domain},
	} {
		ok = d.text(i, id, f.name, f.value) && ok
	}
	return out, ok
}

func (d *decoder) agentV1(instance string, a *pluginv1.Agent) (Agent, bool) {
	i := d.index
	d.index++
	id := a.GetId()
	if !d.id(i, id, "id") || !d.id(i, a.GetClientId(), "client_id") {
		return Agent{}, false
	}
	out := Agent{Integration: instance, ID: id, Client: a.GetClientId(), Name: a.GetName(), Online: a.GetOnline(),
		Identity: immy.Identity{
			UUID: strings.TrimSpace(a.GetUuid()), Serial: strings.TrimSpace(a.GetSerial()),
			Manufacturer: strings.TrimSpace(a.GetManufacturer()), Hostname: a.GetHostname(), OS: a.GetOs(),
			OSInstallID: strings.TrimSpace(a.GetOsInstallId()),
		}}
	ok := true
	for _, f := range []struct{ name, value string }{
		{"name", out.Name}, {"uuid", out.Identity.UUID}, {"serial", out.Identity.Serial},
		{"manufacturer", out.Identity.Manufacturer}, {"hostname", out.Identity.Hostname},
		{"os", out.Identity.OS}, {"os_install_id", out.Identity.OSInstallID},
	} {
		ok = d.text(i, id, f.name, f.value) && ok
	}
	return out, ok
}

func (d *decoder) deviceGroup(instance string, i int, g *pluginv2.DeviceGroup) (DeviceGroup, bool) {
	if !d.id(i, g.GetId(), "id") || !d.text(i, g.GetId(), "name", g.GetName()) {
		return DeviceGroup{}, false
	}
	out := DeviceGroup{Integration: instance, ID: g.GetId(), Name: g.GetName()}
	for j, a := range g.GetAgentIds() {
		if !d.id(i, a, fmt.Sprintf("agent_ids[%d]", j)) {
			return DeviceGroup{}, false
		}
		out.Agents = append(out.Agents, a)
	}
	slices.Sort(out.Agents)
	out.Agents = slices.Compact(out.Agents)
	return out, true
}

var clientGroupKindOfV2 = map[pluginv2.ClientGroupKind]ClientGroupKind{
	pluginv2.ClientGroupKind_CLIENT_GROUP_KIND_AGREEMENT_TYPE: AgreementType,
	pluginv2.ClientGroupKind_CLIENT_GROUP_KIND_PRODUCT:        Product,
}

func (d *decoder) clientGroup(instance string, i int, g *pluginv2.ClientGroup) (ClientGroup, bool) {
	id := g.GetId()
	if !d.id(i, id, "id") || !d.text(i, id, "name", g.GetName()) {
		return ClientGroup{}, false
	}
	kind, ok := clientGroupKindOfV2[g.GetKind()]
	if !ok {
		d.add(i, id, "kind", "unknown value %d", int32(g.GetKind()))
		return ClientGroup{}, false
	}
	out := ClientGroup{Integration: instance, ID: id, Name: g.GetName(), Kind: kind}
	seen := map[string]bool{}
	for j, a := range g.GetAgreements() {
		field := fmt.Sprintf("agreements[%d]", j)
		if !d.id(i, a.GetId(), field+".id") || !d.id(i, a.GetClientId(), field+".client_id") {
			return ClientGroup{}, false
		}
		if seen[a.GetId()] {
			d.add(i, id, field+".id", "duplicate agreement %q", printable(a.GetId()))
			return ClientGroup{}, false
		}
		seen[a.GetId()] = true
		ag := ClientAgreement{ID: a.GetId(), Client: a.GetClientId()}
		var err error
		if ag.From, err = parseOptionalDate(a.GetFrom()); err != nil {
			d.add(i, id, field+".from", "%q is not a date YYYY-MM-DD", printable(a.GetFrom()))
			return ClientGroup{}, false
		}
		if ag.To, err = parseOptionalDate(a.GetTo()); err != nil {
			d.add(i, id, field+".to", "%q is not a date YYYY-MM-DD", printable(a.GetTo()))
			return ClientGroup{}, false
		}
		if !ag.From.IsZero() && !ag.To.IsZero() && ag.To.Before(ag.From) {
			d.add(i, id, field, "ends (%s) before it starts (%s)", ag.To, ag.From)
			return ClientGroup{}, false
		}
		out.Agreements = append(out.Agreements, ag)
	}
	slices.SortFunc(out.Agreements, func(a, b ClientAgreement) int { return strings.Compare(a.ID, b.ID) })
	return out, true
}

func parseOptionalDate(s string) (immy.Date, error) {
	if s == "" {
		return immy.Date{}, nil
	}
	return immy.ParseDate(s)
}

func decodeTicket(instance string, r *pluginv2.GetTicketResponse) (Ticket, error) {
	d := newDecoder("tickets")
	id := r.GetId()
	ok := d.id(0, id, "id") && d.id(0, r.GetClientId(), "client_id") && d.text(0, id, "subject", r.GetSubject())
	t := Ticket{Integration: instance, ID: id, Subject: r.GetSubject(), Client: r.GetClientId()}
	if ok && r.GetAgentId() != "" {
		ok = d.id(0, r.GetAgentId(), "agent_id")
		t.Agent = r.GetAgentId()
	}
	if p := r.GetPerson(); ok && p != nil {
		ok = d.text(0, id, "person.upn", p.GetUpn()) && d.text(0, id, "person.name", p.GetName()) && d.text(0, id, "person.email", p.GetEmail())
		if p.GetUpn() == "" && p.GetEmail() == "" && ok {
			d.add(0, id, "person", "has neither upn nor email")
			ok = false
		}
		t.Person = &TicketPerson{UPN: p.GetUpn(), Name: p.GetName(), Email: p.GetEmail()}
	}
	if !ok {
		return Ticket{}, d.err(instance, "GetTicket")
	}
	return t, nil
}

func decodeInstallToken(instance string, r *pluginv2.GetInstallTokenResponse) (InstallToken, error) {
	d := newDecoder("install_tokens")
	// The token is a secret: a problem names the field, never the value.
	if r.GetToken() == "" {
		d.add(0, "", "token", "is empty")
	} else if len(r.GetToken()) > maxTextLen {
		d.add(0, "", "token", "is %d bytes long, at most %d allowed", len(r.GetToken()), maxTextLen)
	}
	var expires time.Time
	if ts := r.GetExpires(); ts != nil {
		if ts.CheckValid() != nil {
			d.add(0, "", "expires", "invalid timestamp")
		} else {
			expires = ts.AsTime().UTC()
		}
	}
	if err := d.err(instance, "GetInstallToken"); err != nil {
		return InstallToken{}, err
	}
	return InstallToken{Token: r.GetToken(), Expires: expires}, nil
}

func (d *decoder) dynamicVersion(i int, v *pluginv2.DynamicVersion) (DynamicVersion, bool) {
	ver, err := immy.ParseVersion(v.GetVersion())
	if err != nil {
		d.add(i, "", "version", "%q is not a version", printable(v.GetVersion()))
		return DynamicVersion{}, false
	}
	u, err := url.Parse(v.GetUrl())
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(v.GetUrl()) > maxTextLen {
		d.add(i, v.GetVersion(), "url", "%q is not an http(s) URL", printable(v.GetUrl()))
		return DynamicVersion{}, false
	}
	sum := strings.ToLower(v.GetSha256())
	if sum != "" {
		if b, err := hex.DecodeString(sum); err != nil || len(b) != 32 {
			d.add(i, v.GetVersion(), "sha256", "is not 64 hexadecimal digits")
			return DynamicVersion{}, false
		}
	}
	if !d.text(i, v.GetVersion(), "file_name", v.GetFileName()) {
		return DynamicVersion{}, false
	}
	return DynamicVersion{Version: ver, URL: v.GetUrl(), FileName: v.GetFileName(), SHA256: sum}, true
}

func decodeLink(instance, raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Scheme == "" || len(raw) > maxTextLen || strings.EqualFold(u.Scheme, "javascript") {
		d := newDecoder("agent_links")
		d.add(0, "", "url", "%q is not an absolute URL", printable(raw))
		return "", d.err(instance, "GetAgentLink")
	}
	return raw, nil
}
