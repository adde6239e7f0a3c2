package plugins

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/internal/redact"
	pluginv2 "github.com/immyoss/engine/plugins/proto/immy/plugin/v2"
)

func mustMarshal(t testing.TB, m proto.Message) []byte {
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzDecodeAgentBatch feeds arbitrary bytes as a plugin's batch of agents:
// decoding never panics, every agent is either delivered valid or reported,
// never both, and delivered agents hold what the engine relies on.
func FuzzDecodeAgentBatch(f *testing.F) {
	f.Add(mustMarshal(f, &pluginv2.AgentBatch{Agents: []*pluginv2.Agent{
		{Id: "a1", ClientId: "c1", Name: "PC", Online: true, LastSeen: timestamppb.Now(),
			Identity: &pluginv2.Identity{Uuid: "4C4C4544-0042-3510-8051-B3C04F563432", Serial: "X", Kind: pluginv2.ComputerKind_COMPUTER_KIND_SERVER}},
		{Id: "a1", ClientId: "c1"},
		{Id: "", ClientId: "c1"},
		{Id: "k", ClientId: "c", Identity: &pluginv2.Identity{Kind: 99}},
		{Id: "t", ClientId: "c", LastSeen: &timestamppb.Timestamp{Seconds: -1 << 40}},
	}}))
	f.Add([]byte{0x0a, 0x03, 0x0a, 0x01, 0x20})
	f.Fuzz(func(t *testing.T, data []byte) {
		var batch pluginv2.AgentBatch
		if proto.Unmarshal(data, &batch) != nil {
			return
		}
		d := newDecoder("agents")
		seen := map[string]bool{}
		delivered := 0
		for _, a := range batch.GetAgents() {
			before := len(d.problems)
			got, ok := d.agentV2("rmm", a)
			if ok != (len(d.problems) == before) {
				t.Fatalf("agent %q: ok=%v with %d new problems", a.GetId(), ok, len(d.problems)-before)
			}
			if !ok {
				continue
			}
			delivered++
			switch {
			case got.ID == "" || len(got.ID) > maxIDLen || got.Client == "":
				t.Fatalf("delivered an agent with id %q client %q", got.ID, got.Client)
			case seen[got.ID]:
				t.Fatalf("delivered agent %q twice", got.ID)
			case !got.Identity.Kind.Valid():
				t.Fatalf("delivered an invalid kind %d", got.Identity.Kind)
			case got.Integration != "rmm":
				t.Fatalf("integration %q", got.Integration)
			}
			for _, s := range []string{got.Name, got.Identity.UUID, got.Identity.Serial, got.Identity.Hostname, got.Identity.OSInstallID} {
				if len(s) > maxTextLen || !utf8.ValidString(s) {
					t.Fatalf("delivered an oversized or invalid field")
				}
			}
			seen[got.ID] = true
		}
		if delivered+len(d.problems) < len(batch.GetAgents()) {
			t.Fatalf("%d agents, %d delivered, %d problems", len(batch.GetAgents()), delivered, len(d.problems))
		}
		if err := d.err("rmm", "ListAgents"); err != nil {
			if !errors.Is(err, immy.ErrInvalid) || !utf8.ValidString(err.Error()) {
				t.Fatalf("bad error %q", err)
			}
		}
	})
}

// FuzzDecodeClientGroups: agreements delivered have valid, ordered dates.
func FuzzDecodeClientGroups(f *testing.F) {
	f.Add(mustMarshal(f, &pluginv2.ListClientGroupsResponse{Groups: []*pluginv2.ClientGroup{
		{Id: "g", Name: "Managed", Kind: pluginv2.ClientGroupKind_CLIENT_GROUP_KIND_AGREEMENT_TYPE, Agreements: []*pluginv2.Agreement{
			{Id: "a", ClientId: "c", From: "2026-01-01", To: "2026-12-31"},
			{Id: "b", ClientId: "c", From: "2026-13-01"},
		}},
		{Id: "p", Kind: pluginv2.ClientGroupKind_CLIENT_GROUP_KIND_PRODUCT, Agreements: []*pluginv2.Agreement{{Id: "x", ClientId: "c", From: "2026-05-01", To: "2026-04-01"}}},
		{Id: "u", Kind: 7},
	}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		var r pluginv2.ListClientGroupsResponse
		if proto.Unmarshal(data, &r) != nil {
			return
		}
		groups, err := decodeClientGroups("psa", &r)
		if err != nil && !errors.Is(err, immy.ErrInvalid) {
			t.Fatalf("error %v is not ErrInvalid", err)
		}
		for _, g := range groups {
			if g.ID == "" || (g.Kind != AgreementType && g.Kind != Product) {
				t.Fatalf("delivered group %+v", g)
			}
			for _, a := range g.Agreements {
				if a.ID == "" || a.Client == "" {
					t.Fatalf("agreement without id or client: %+v", a)
				}
				if !a.From.IsZero() && !a.To.IsZero() && a.To.Before(a.From) {
					t.Fatalf("agreement ends before it starts: %+v", a)
				}
				for _, d := range []immy.Date{a.From, a.To} {
					if _, err := parseOptionalDate(d.String()); err != nil {
						t.Fatalf("invalid date delivered: %v", d)
					}
				}
			}
		}
	})
}

// FuzzDecodeDynamicVersions: versions delivered parse, URLs are http(s),
// checksums are lower-case hex, newest first.
func FuzzDecodeDynamicVersions(f *testing.F) {
	f.Add(mustMarshal(f, &pluginv2.ListDynamicVersionsResponse{Versions: []*pluginv2.DynamicVersion{
		{Version: "24.001.20604", Url: "https://example.com/r.exe", Sha256: strings.Repeat("AB", 32)},
		{Version: "1.2.3.4.5", Url: "https://example.com"},
		{Version: "2", Url: "javascript:alert(1)"},
		{Version: "3", Url: "https://x/y", Sha256: "zz"},
	}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		var r pluginv2.ListDynamicVersionsResponse
		if proto.Unmarshal(data, &r) != nil {
			return
		}
		vs, _ := decodeDynamicVersions("rmm", &r)
		for i, v := range vs {
			if v.Version.IsZero() || !(strings.HasPrefix(v.URL, "http://") || strings.HasPrefix(v.URL, "https://")) {
				t.Fatalf("delivered %+v", v)
			}
			if v.SHA256 != "" && (len(v.SHA256) != 64 || strings.ToLower(v.SHA256) != v.SHA256) {
				t.Fatalf("checksum %q", v.SHA256)
			}
			if i > 0 && vs[i-1].Version.Less(v.Version) {
				t.Fatalf("not newest first")
			}
		}
	})
}

// FuzzDecodeTicketAndDescribe: the other single answers never panic and never
// deliver a record without its ids.
func FuzzDecodeTicketAndDescribe(f *testing.F) {
	f.Add(mustMarshal(f, &pluginv2.GetTicketResponse{Id: "T-1", ClientId: "C", Person: &pluginv2.Person{Upn: "a@b"}, AgentId: "x"}),
		mustMarshal(f, &pluginv2.DescribeResponse{Name: "rmm", Capabilities: []pluginv2.Capability{1, 2, 3, 42}, ConfigFields: []*pluginv2.ConfigField{{Key: "k"}, {Key: "k"}}}))
	f.Fuzz(func(t *testing.T, ticket, describe []byte) {
		var tr pluginv2.GetTicketResponse
		if proto.Unmarshal(ticket, &tr) == nil {
			tk, err := decodeTicket("psa", &tr)
			if err == nil && (tk.ID == "" || tk.Client == "") {
				t.Fatalf("delivered ticket %+v", tk)
			}
		}
		var dr pluginv2.DescribeResponse
		if proto.Unmarshal(describe, &dr) == nil {
			info, err := decodeDescribeV2(&dr)
			if err == nil {
				if info.Name == "" {
					t.Fatalf("delivered an unnamed plugin")
				}
				for i, c := range info.Capabilities {
					if c == "" || (i > 0 && info.Capabilities[i-1] >= c) {
						t.Fatalf("capabilities %v not sorted and known", info.Capabilities)
					}
				}
			}
		}
	})
}

// FuzzOutputCollector: the kept output never exceeds the cap, is a prefix of
// what was sent (masked), and Truncated says whether anything was dropped;
// no secret nor a transform of one is kept, streamed or taken as the value.
func FuzzOutputCollector(f *testing.F) {
	f.Add([]byte("hello\n"), []byte("world\n"), 8, "")
	f.Add([]byte{0xff, 0xfe}, []byte(""), 0, "")
	f.Add([]byte("pass=hun"), []byte("ter2 HUNTER2\naHVudGVyMg==\n"), 0, "hunter2")
	f.Add([]byte("huntQ\x80\x80\x80"), []byte("er2abc"), 7, "hunter2")
	f.Fuzz(func(t *testing.T, a, b []byte, max int, secret string) {
		if max < 0 || max > 1<<16 || strings.ContainsAny(secret, "\x00") {
			return
		}
		var streamed []byte
		red := newRedactor(secret)
		o := newOutputCollector(max, func(p []byte) { streamed = append(streamed, p...) }, red)
		o.write(a)
		o.write(b)
		res := o.result(0, "")
		all := []byte(red.str(string(a) + string(b)))
		limit := max
		if limit == 0 {
			limit = DefaultMaxOutput
		}
		if len(o.buf) > limit || string(streamed) != string(all) || !strings.HasPrefix(string(all), string(o.buf)) {
			t.Fatalf("kept %d of %d bytes with cap %d", len(o.buf), len(all), limit)
		}
		if res.Truncated != (len(all) > limit) {
			t.Fatalf("truncated=%v for %d bytes, cap %d", res.Truncated, len(all), limit)
		}
		if !utf8.ValidString(res.Output) || strings.Contains(res.Value, "\n") {
			t.Fatalf("output or value malformed")
		}
		if secret == "" {
			return
		}
		for _, text := range []string{res.Output, res.Value, string(streamed)} {
			text = strings.ReplaceAll(text, redactedText, "\x00") // a secret may be part of the token
			for _, v := range redact.Variants(secret) {
				if strings.Contains(text, v) {
					t.Fatalf("secret %q shows as %q in %q", secret, v, text)
				}
			}
		}
	})
}
