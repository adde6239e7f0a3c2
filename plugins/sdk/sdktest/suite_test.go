package sdktest_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/plugins"
	"github.com/immyoss/engine/plugins/sdk"
	"github.com/immyoss/engine/plugins/sdk/sdktest"
)

// full is a plugin with every capability, over data in memory.
type full struct {
	host   *sdk.Host
	agents int
}

func (p *full) Info() sdk.Info {
	return sdk.Info{Name: "full", Version: "2.0.0", ConfigFields: []sdk.ConfigField{{Key: "api_key", Required: true, Secret: true}}}
}

func (p *full) Configure(_ context.Context, cfg sdk.Config, host *sdk.Host) error {
	p.host = host
	p.agents = 2500
	host.Logger().Info("configured with key "+cfg.Get("api_key"), "cfg", cfg, slog.Group("group", "inner", "x"))
	return nil
}

func (p *full) Health(context.Context) error { return nil }

func (p *full) ListClients(_ context.Context, emit func(sdk.Client) error) error {
	return emit(sdk.Client{ID: "c1", Name: "Contoso"})
}

func (p *full) ListAgents(_ context.Context, emit func(sdk.Agent) error) error {
	for i := range p.agents {
		if err := emit(sdk.Agent{ID: fmt.Sprintf("a%04d", i), ClientID: "c1", Online: true}); err != nil {
			return err
		}
	}
	return nil
}

func (p *full) RunScript(ctx context.Context, req sdk.ScriptRequest, out io.Writer) (sdk.ScriptResult, error) {
	switch {
	case req.AgentID == "down":
		return sdk.ScriptResult{}, sdk.ErrOffline
	case req.AgentID != "a0000":
		return sdk.ScriptResult{}, fmt.Errorf("agent %q: %w", req.AgentID, sdk.ErrNotFound)
	}
	cmd, arg, _ := strings.Cut(req.Script.Body, " ")
	switch cmd {
	case "echo":
		fmt.Fprintln(out, arg)
	case "exit":
		var n int
		fmt.Sscan(arg, &n)
		return sdk.ScriptResult{ExitCode: n}, nil
	case "sleep":
		<-ctx.Done()
		return sdk.ScriptResult{}, ctx.Err()
	}
	return sdk.ScriptResult{}, nil
}

func (p *full) ListDeviceGroups(context.Context) ([]sdk.DeviceGroup, error) {
	return []sdk.DeviceGroup{{ID: "g", Name: "G", AgentIDs: []string{"a0001", "a0000"}}}, nil
}

func (p *full) ListClientGroups(context.Context) ([]sdk.ClientGroup, error) {
	return []sdk.ClientGroup{{ID: "p", Name: "Product", Kind: sdk.Product, Agreements: []sdk.Agreement{{ID: "ag", ClientID: "c1", From: immy.Date{Year: 2026, Month: 1, Day: 1}}}}}, nil
}

func (p *full) Ticket(_ context.Context, id string) (sdk.Ticket, error) {
	if id != "T-1" {
		return sdk.Ticket{}, sdk.ErrNotFound
	}
	return sdk.Ticket{ID: "T-1", ClientID: "c1", Person: &sdk.Person{Email: "jo@contoso.com"}}, nil
}

func (p *full) InstallToken(_ context.Context, client string) (sdk.InstallToken, error) {
	return sdk.InstallToken{Token: "tok-" + client + "-very-secret", Expires: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}, nil
}

func (p *full) DynamicVersions(context.Context, string) ([]sdk.DynamicVersion, error) {
	return []sdk.DynamicVersion{
		{Version: "1.9.0", URL: "https://dl.example.com/1.9.0.msi"},
		{Version: "1.10.0", URL: "https://dl.example.com/1.10.0.msi", SHA256: strings.Repeat("A1", 32)},
	}, nil
}

func (p *full) SetMaintenanceMode(ctx context.Context, agent string, on bool, d time.Duration) error {
	if on {
		return p.host.Set(ctx, "mm/"+agent, []byte(d.String()))
	}
	return p.host.Delete(ctx, "mm/"+agent)
}

func (p *full) AgentLink(_ context.Context, agent string, kind sdk.LinkKind) (string, error) {
	if kind == sdk.LinkRemoteSession {
		return "https://rmm.example.com/remote/" + agent, nil
	}
	return "https://rmm.example.com/agents/" + agent, nil
}

func TestSuiteOnFullPlugin(t *testing.T) {
	sdktest.Suite{
		Options: sdktest.Options{Config: map[string]string{"api_key": "k-123456789"}, Secrets: []string{"api_key"}},
		Agent:   "a0000",
		Echo: func(text string) immy.Script {
			return immy.Script{Language: immy.LanguagePowerShell, Body: "echo " + text}
		},
		Exit: func(code int) immy.Script {
			return immy.Script{Language: immy.LanguagePowerShell, Body: fmt.Sprint("exit ", code)}
		},
		Sleep:            func(time.Duration) immy.Script { return immy.Script{Language: immy.LanguagePowerShell, Body: "sleep"} },
		OfflineAgent:     "down",
		Ticket:           "T-1",
		Software:         "app",
		MaintenanceAgent: "a0000",
	}.Run(t, &full{})
}

func TestHarnessOverTheWire(t *testing.T) {
	h := sdktest.Start(t, &full{}, sdktest.Options{ID: "full", Config: map[string]string{"api_key": "k-123456789"}, Secrets: []string{"api_key"}})
	in := h.Instance
	ctx := context.Background()

	// 2500 agents arrive in batches of at most 1000.
	var sizes []int
	require.NoError(t, in.ListAgents(ctx, func(b []plugins.Agent) error { sizes = append(sizes, len(b)); return nil }))
	require.Equal(t, []int{1000, 1000, 500}, sizes)

	groups, err := in.DeviceGroups(ctx)
	require.NoError(t, err)
	require.Equal(t, []plugins.DeviceGroup{{Integration: "full", ID: "g", Name: "G", Agents: []string{"a0000", "a0001"}}}, groups)

	tok, err := in.InstallToken(ctx, "c1")
	require.NoError(t, err)
	require.Equal(t, "tok-c1-very-secret", tok.Token)
	require.Equal(t, "install token [redacted]", fmt.Sprint(tok))

	vs, err := in.DynamicVersions(ctx, "app")
	require.NoError(t, err)
	require.Equal(t, []string{"1.10.0", "1.9.0"}, []string{vs[0].Version.String(), vs[1].Version.String()})
	require.Equal(t, strings.Repeat("a1", 32), vs[0].SHA256)

	link, err := in.AgentLink(ctx, "a0000", plugins.LinkRemoteSession)
	require.NoError(t, err)
	require.Equal(t, "https://rmm.example.com/remote/a0000", link)

	require.NoError(t, in.SetMaintenanceMode(ctx, "a0000", true, time.Hour))
	v, ok, err := h.Store.Get(ctx, "full", "mm/a0000")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "1h0m0s", string(v))

	cgs, err := in.ClientGroups(ctx)
	require.NoError(t, err)
	if diff := cmp.Diff([]plugins.ClientGroup{{Integration: "full", ID: "p", Name: "Product", Kind: plugins.Product,
		Agreements: []plugins.ClientAgreement{{ID: "ag", Client: "c1", From: immy.Date{Year: 2026, Month: 1, Day: 1}}}}}, cgs); diff != "" {
		t.Errorf("client groups (-want +got):\n%s", diff)
	}

	// The plugin's log came through the host services: secret hidden, groups flattened.
	logs := h.Logs()
	require.Contains(t, logs, `"msg":"configured with key [redacted]"`)
	require.Contains(t, logs, `"cfg.api_key":"[redacted]"`)
	require.Contains(t, logs, `"group.inner":"x"`)
	require.NotContains(t, logs, "k-123456789")
}
