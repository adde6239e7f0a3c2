package sdktest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/plugins"
	"github.com/immyoss/engine/plugins/sdk"
)

// Suite is the conformance suite an author runs against their plugin: it
// serves the plugin with a Harness and checks, for every capability the plugin
// has, what the engine relies on. Fields left zero skip the checks that need them.
type Suite struct {
	// Options start the plugin (configuration, secrets).
	Options Options

	// For a ScriptRunner: an online agent to run scripts on, and scripts in
	// the plugin's language that print a line, end with an exit code, and
	// wait. OfflineAgent, when set, must fail with sdk.ErrOffline.
	Agent        string
	Echo         func(text string) immy.Script
	Exit         func(code int) immy.Script
	Sleep        func(d time.Duration) immy.Script
	OfflineAgent string

	// For a TicketFinder: a ticket that exists.
	Ticket string
	// For a DynamicVersionLister: a software with at least one version.
	Software string
	// For a MaintenanceModeSetter: an agent to turn maintenance mode on and off for.
	MaintenanceAgent string

	// Timeout bounds each check; default 30s.
	Timeout time.Duration
}

// Run runs the suite as subtests of t.
func (s Suite) Run(t *testing.T, impl sdk.Integration) {
	t.Helper()
	if s.Timeout == 0 {
		s.Timeout = 30 * time.Second
	}
	h := Start(t, impl, s.Options)
	in := h.Instance
	info := in.Info()
	ctx := func(t *testing.T) context.Context {
		c, cancel := context.WithTimeout(context.Background(), s.Timeout)
		t.Cleanup(cancel)
		return c
	}

	t.Run("Describe", func(t *testing.T) {
		if info.Name == "" || info.Version == "" {
			t.Errorf("Info must name the plugin and its version, got name %q version %q", info.Name, info.Version)
		}
		if info.Protocol != 2 {
			t.Errorf("negotiated protocol %d, want 2", info.Protocol)
		}
		for _, f := range info.ConfigFields {
			if f.Required {
				if _, ok := s.Options.Config[f.Key]; !ok {
					t.Errorf("required config key %q absent from Options.Config, yet the plugin started", f.Key)
				}
			}
		}
	})

	t.Run("Health", func(t *testing.T) {
		if err := in.Health(ctx(t)); err != nil {
			t.Errorf("Health: %v", err)
		}
	})

	var clients []plugins.Client
	t.Run("Clients", func(t *testing.T) {
		if !info.Has(plugins.CapClients) {
			t.Skip("not a ClientLister")
		}
		var err error
		clients, err = in.Clients(ctx(t))
		if err != nil {
			t.Fatalf("ListClients: %v", err)
		}
		again, err := in.Clients(ctx(t))
		if err != nil {
			t.Fatalf("ListClients again: %v", err)
		}
		if diff := cmp.Diff(byID(clients, clientID), byID(again, clientID)); diff != "" {
			t.Errorf("two listings differ (-first +second):\n%s", diff)
		}
	})
	clientSet := map[string]bool{}
	for _, c := range clients {
		clientSet[c.ID] = true
	}

	var agents []plugins.Agent
	t.Run("Agents", func(t *testing.T) {
		if !info.Has(plugins.CapAgents) {
			t.Skip("not an AgentLister")
		}
		var err error
		agents, err = in.Agents(ctx(t))
		if err != nil {
			t.Fatalf("ListAgents: %v", err)
		}
		again, err := in.Agents(ctx(t))
		if err != nil {
			t.Fatalf("ListAgents again: %v", err)
		}
		// The same agents, whatever the order; when they were last seen may move.
		if diff := cmp.Diff(byID(agents, agentID), byID(again, agentID), cmpopts.IgnoreFields(plugins.Agent{}, "LastSeen", "Online")); diff != "" {
			t.Errorf("two listings differ (-first +second):\n%s", diff)
		}
		for _, a := range agents {
			if len(clientSet) > 0 && !clientSet[a.Client] {
				t.Errorf("agent %q: client %q is not among the listed clients", a.ID, a.Client)
			}
		}
		if s.Agent != "" && !slices.ContainsFunc(agents, func(a plugins.Agent) bool { return a.ID == s.Agent }) {
			t.Errorf("Suite.Agent %q is not among the listed agents", s.Agent)
		}
	})
	agentSet := map[string]bool{}
	for _, a := range agents {
		agentSet[a.ID] = true
	}

	t.Run("RunScript", func(t *testing.T) {
		if !info.Has(plugins.CapRunScript) {
			t.Skip("not a ScriptRunner")
		}
		if s.Agent == "" || s.Echo == nil {
			t.Skip("Suite.Agent and Suite.Echo are needed")
		}
		s.runScript(t, ctx, in)
	})

	t.Run("DeviceGroups", func(t *testing.T) {
		if !info.Has(plugins.CapDeviceGroups) {
			t.Skip("not a DeviceGroupLister")
		}
		groups, err := in.DeviceGroups(ctx(t))
		if err != nil {
			t.Fatalf("ListDeviceGroups: %v", err)
		}
		for _, g := range groups {
			for _, a := range g.Agents {
				if len(agentSet) > 0 && !agentSet[a] {
					t.Errorf("device group %q: agent %q is not among the listed agents", g.ID, a)
				}
			}
		}
	})

	t.Run("ClientGroups", func(t *testing.T) {
		if !info.Has(plugins.CapClientGroups) {
			t.Skip("not a ClientGroupLister")
		}
		groups, err := in.ClientGroups(ctx(t))
		if err != nil {
			t.Fatalf("ListClientGroups: %v", err)
		}
		for _, g := range groups {
			for _, a := range g.Agreements {
				if len(clientSet) > 0 && !clientSet[a.Client] {
					t.Errorf("client group %q: agreement %q names client %q, which is not listed", g.ID, a.ID, a.Client)
				}
			}
		}
	})

	t.Run("Tickets", func(t *testing.T) {
		if !info.Has(plugins.CapTickets) {
			t.Skip("not a TicketFinder")
		}
		_, err := in.Ticket(ctx(t), "sdktest-no-such-ticket")
		if !errors.Is(err, immy.ErrNotFound) {
			t.Errorf("an unknown ticket gave %v, want an error wrapping sdk.ErrNotFound", err)
		}
		if s.Ticket == "" {
			t.Skip("Suite.Ticket is needed for the rest")
		}
		tk, err := in.Ticket(ctx(t), s.Ticket)
		if err != nil {
			t.Fatalf("Ticket(%q): %v", s.Ticket, err)
		}
		if tk.ID != s.Ticket {
			t.Errorf("Ticket(%q) returned ticket %q", s.Ticket, tk.ID)
		}
		if len(clientSet) > 0 && !clientSet[tk.Client] {
			t.Errorf("ticket %q names client %q, which is not listed", tk.ID, tk.Client)
		}
	})

	t.Run("InstallToken", func(t *testing.T) {
		if !info.Has(plugins.CapInstallToken) {
			t.Skip("not an InstallTokenIssuer")
		}
		if len(clients) == 0 {
			t.Skip("no client listed")
		}
		tok, err := in.InstallToken(ctx(t), clients[0].ID)
		if err != nil {
			t.Fatalf("InstallToken: %v", err)
		}
		if strings.Contains(h.Logs(), tok.Token) {
			t.Errorf("the install token appears in the logs")
		}
	})

	t.Run("DynamicVersions", func(t *testing.T) {
		if !info.Has(plugins.CapDynamicVersions) {
			t.Skip("not a DynamicVersionLister")
		}
		if s.Software == "" {
			t.Skip("Suite.Software is needed")
		}
		vs, err := in.DynamicVersions(ctx(t), s.Software)
		if err != nil {
			t.Fatalf("DynamicVersions: %v", err)
		}
		if len(vs) == 0 {
			t.Errorf("no version of %q", s.Software)
		}
	})

	t.Run("MaintenanceMode", func(t *testing.T) {
		if !info.Has(plugins.CapMaintenanceMode) {
			t.Skip("not a MaintenanceModeSetter")
		}
		if s.MaintenanceAgent == "" {
			t.Skip("Suite.MaintenanceAgent is needed")
		}
		if err := in.SetMaintenanceMode(ctx(t), s.MaintenanceAgent, true, time.Hour); err != nil {
			t.Fatalf("on: %v", err)
		}
		if err := in.SetMaintenanceMode(ctx(t), s.MaintenanceAgent, false, 0); err != nil {
			t.Fatalf("off: %v", err)
		}
	})

	t.Run("AgentLinks", func(t *testing.T) {
		if !info.Has(plugins.CapAgentLinks) {
			t.Skip("not an AgentLinker")
		}
		if len(agents) == 0 {
			t.Skip("no agent listed")
		}
		if _, err := in.AgentLink(ctx(t), agents[0].ID, plugins.LinkPage); err != nil {
			t.Errorf("AgentLink: %v", err)
		}
	})

	t.Run("SecretsStayOutOfLogs", func(t *testing.T) {
		for _, k := range s.Options.Secrets {
			if v := s.Options.Config[k]; v != "" && strings.Contains(h.Logs(), v) {
				t.Errorf("the value of secret config key %q appears in the logs", k)
			}
		}
	})
}

func (s Suite) runScript(t *testing.T, ctx func(*testing.T) context.Context, in *plugins.Instance) {
	t.Run("Output", func(t *testing.T) {
		var streamed strings.Builder
		const text = "sdktest: hello from the conformance suite"
		res, err := in.RunScript(ctx(t), immy.ScriptRequest{Computer: s.Agent, Script: s.Echo(text), Output: func(b []byte) { streamed.Write(b) }})
		if err != nil {
			t.Fatalf("RunScript: %v", err)
		}
		if res.ExitCode != 0 || !strings.Contains(res.Output, text) || res.Value != text {
			t.Errorf("echo script gave exit %d, output %q, value %q; want exit 0 and the text", res.ExitCode, res.Output, res.Value)
		}
		if streamed.String() != res.Output {
			t.Errorf("streamed output %q differs from the result's %q", streamed.String(), res.Output)
		}
	})
	t.Run("ExitCode", func(t *testing.T) {
		if s.Exit == nil {
			t.Skip("Suite.Exit is needed")
		}
		res, err := in.RunScript(ctx(t), immy.ScriptRequest{Computer: s.Agent, Script: s.Exit(3)})
		if err != nil {
			t.Fatalf("a failing script is a result, not an error: %v", err)
		}
		if res.ExitCode != 3 {
			t.Errorf("exit code %d, want 3", res.ExitCode)
		}
	})
	t.Run("Deadline", func(t *testing.T) {
		if s.Sleep == nil {
			t.Skip("Suite.Sleep is needed")
		}
		start := time.Now()
		_, err := in.RunScript(ctx(t), immy.ScriptRequest{Computer: s.Agent, Script: s.Sleep(time.Minute), Timeout: 200 * time.Millisecond})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("a script past its timeout gave %v, want context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d > 20*time.Second {
			t.Errorf("the script ran %v past a 200ms timeout", d)
		}
	})
	t.Run("Offline", func(t *testing.T) {
		if s.OfflineAgent == "" {
			t.Skip("Suite.OfflineAgent is needed")
		}
		_, err := in.RunScript(ctx(t), immy.ScriptRequest{Computer: s.OfflineAgent, Script: s.Echo("x")})
		if !errors.Is(err, immy.ErrOffline) {
			t.Errorf("an offline agent gave %v, want an error wrapping sdk.ErrOffline", err)
		}
	})
	t.Run("UnknownAgent", func(t *testing.T) {
		_, err := in.RunScript(ctx(t), immy.ScriptRequest{Computer: "sdktest-no-such-agent", Script: s.Echo("x")})
		if err == nil {
			t.Errorf("a script on an unknown agent succeeded")
		}
	})
}

func clientID(c plugins.Client) string { return c.ID }
func agentID(a plugins.Agent) string   { return a.ID }

// byID sorts a copy by id, so that listings in different orders compare equal.
func byID[T any](in []T, id func(T) string) []T {
	out := slices.Clone(in)
	slices.SortFunc(out, func(a, b T) int { return strings.Compare(id(a), id(b)) })
	return out
}
