package plugins

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/immyoss/engine/immy"
	pluginv1 "github.com/immyoss/engine/plugins/proto/immy/plugin/v1"
	pluginv2 "github.com/immyoss/engine/plugins/proto/immy/plugin/v2"
)

// conn is one connection to a plugin process in one protocol version. Its
// methods return the transport's errors as they are: the Instance classifies
// them. Errors of the callbacks are wrapped in callbackError.
type conn interface {
	describe(ctx context.Context) (Info, error)
	configure(ctx context.Context, instance string, entries []configEntry, host *hostServer) error
	health(ctx context.Context) (bool, string, error)
	listClients(ctx context.Context, instance string, fn func([]Client) error) error
	listAgents(ctx context.Context, instance string, fn func([]Agent) error) error
	runScript(ctx context.Context, req scriptCall) (immy.ScriptResult, error)
	deviceGroups(ctx context.Context, instance string) ([]DeviceGroup, error)
	clientGroups(ctx context.Context, instance string) ([]ClientGroup, error)
	ticket(ctx context.Context, instance, id string) (Ticket, error)
	installToken(ctx context.Context, instance, client string) (InstallToken, error)
	dynamicVersions(ctx context.Context, instance, software string) ([]DynamicVersion, error)
	maintenanceMode(ctx context.Context, agent string, on bool, d time.Duration) error
	agentLink(ctx context.Context, instance, agent string, kind LinkKind) (string, error)
	inventory(ctx context.Context, instance, agent string) ([]immy.DetectedSoftware, error)
	// exited is closed when the plugin process has exited.
	exited() <-chan struct{}
}

type configEntry struct {
	key, value string
	secret     bool
}

// callbackError carries an error returned by the caller's callback, which is
// handed back unchanged.
type callbackError struct{ err error }

func (e callbackError) Error() string { return e.err.Error() }
func (e callbackError) Unwrap() error { return e.err }

// scriptCall is a validated script request bound for one agent.
type scriptCall struct {
	agent     string
	language  immy.ScriptLanguage
	context   immy.ScriptContext
	body      string
	params    map[string]any
	secrets   []string
	timeout   time.Duration
	out       *outputCollector
	operation string
}

// hostPlugin is the host's side of the go-plugin plugin for one protocol version.
type hostPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	version int
}

func (p *hostPlugin) GRPCServer(*plugin.GRPCBroker, *grpc.Server) error {
	return errors.New("plugins: the host does not serve integrations")
}

func (p *hostPlugin) GRPCClient(done context.Context, broker *plugin.GRPCBroker, cc *grpc.ClientConn) (any, error) {
	switch p.version {
	case 1:
		return &v1Conn{client: pluginv1.NewIntegrationClient(cc), done: done}, nil
	case 2:
		return &v2Conn{client: pluginv2.NewIntegrationClient(cc), broker: broker, done: done}, nil
	}
	return nil, fmt.Errorf("plugins: protocol version %d not supported", p.version)
}

// hostPluginSets are the plugin sets of every supported protocol version.
func hostPluginSets() map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{
		1: {pluginName: &hostPlugin{version: 1}},
		2: {pluginName: &hostPlugin{version: 2}},
	}
}

// --- protocol version 2 ---

type v2Conn struct {
	client pluginv2.IntegrationClient
	broker *plugin.GRPCBroker
	done   context.Context
}

func (c *v2Conn) exited() <-chan struct{} { return c.done.Done() }

func (c *v2Conn) describe(ctx context.Context) (Info, error) {
	r, err := c.client.Describe(ctx, &pluginv2.DescribeRequest{})
	if err != nil {
		return Info{}, err
	}
	return decodeDescribeV2(r)
}

func (c *v2Conn) configure(ctx context.Context, instance string, entries []configEntry, host *hostServer) error {
	req := &pluginv2.ConfigureRequest{InstanceId: instance}
	for _, e := range entries {
		req.Config = append(req.Config, &pluginv2.ConfigEntry{Key: e.key, Value: e.value, Secret: e.secret})
	}
	if host != nil && c.broker != nil {
		id := c.broker.NextId()
		go c.broker.AcceptAndServe(id, func(opts []grpc.ServerOption) *grpc.Server {
			s := grpc.NewServer(opts...)
			pluginv2.RegisterHostServer(s, host)
			return s
		})
		req.HostBrokerId = id
		req.LogLevel = minLogLevel(host.log.Handler())
	}
	_, err := c.client.Configure(ctx, req)
	return err
}

func (c *v2Conn) health(ctx context.Context) (bool, string, error) {
	r, err := c.client.Health(ctx, &pluginv2.HealthRequest{})
	if err != nil {
		return false, "", err
	}
	return r.GetHealthy(), r.GetMessage(), nil
}

func (c *v2Conn) listClients(ctx context.Context, instance string, fn func([]Client) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.client.ListClients(ctx, &pluginv2.ListClientsRequest{})
	if err != nil {
		return err
	}
	d := newDecoder("clients")
	for {
		batch, err := stream.Recv()
		if err == io.EOF {
			return d.err(instance, "ListClients")
		}
		if err != nil {
			return err
		}
		out := make([]Client, 0, len(batch.GetClients()))
		for _, cl := range batch.GetClients() {
			i := d.index
			d.index++
			if v, ok := d.client(instance, i, cl.GetId(), cl.GetName()); ok {
				out = append(out, v)
			}
		}
		if len(out) > 0 {
			if err := fn(out); err != nil {
				return callbackError{err}
			}
		}
	}
}

func (c *v2Conn) listAgents(ctx context.Context, instance string, fn func([]Agent) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.client.ListAgents(ctx, &pluginv2.ListAgentsRequest{})
	if err != nil {
		return err
	}
	d := newDecoder("agents")
	for {
		batch, err := stream.Recv()
		if err == io.EOF {
			return d.err(instance, "ListAgents")
		}
		if err != nil {
			return err
		}
		out := make([]Agent, 0, len(batch.GetAgents()))
		for _, a := range batch.GetAgents() {
			if v, ok := d.agentV2(instance, a); ok {
				out = append(out, v)
			}
		}
		if len(out) > 0 {
			if err := fn(out); err != nil {
				return callbackError{err}
			}
		}
	}
}

var languageToV2 = map[immy.ScriptLanguage]pluginv2.ScriptLanguage{
	immy.LanguagePowerShell: pluginv2.ScriptLanguage_SCRIPT_LANGUAGE_POWERSHELL,
	immy.LanguageCmd:        pluginv2.ScriptLanguage_SCRIPT_LANGUAGE_CMD,
	immy.LanguageShell:      pluginv2.ScriptLanguage_SCRIPT_LANGUAGE_SHELL,
}

var contextToV2 = map[immy.ScriptContext]pluginv2.ScriptContext{
	immy.ContextSystem: pluginv2.ScriptContext_SCRIPT_CONTEXT_SYSTEM,
	immy.ContextUser:   pluginv2.ScriptContext_SCRIPT_CONTEXT_USER,
}

// scriptEvents is the receiving side of a RunScript stream.
type scriptEvents interface {
	Recv() (*pluginv2.RunScriptEvent, error)
}

func (c *v2Conn) runScript(ctx context.Context, s scriptCall) (immy.ScriptResult, error) {
	params := make(map[string]*structpb.Value, len(s.params))
	for k, v := range s.params {
		pv, err := paramValue(v)
		if err != nil {
			// Never the value: it may be a secret.
			return immy.ScriptResult{}, fmt.Errorf("parameter %q: %w", k, err)
		}
		params[k] = pv
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.client.RunScript(ctx, &pluginv2.RunScriptRequest{
		AgentId: s.agent, Language: languageToV2[s.language], Context: contextToV2[s.context],
		Body: s.body, Parameters: params, SecretParameters: s.secrets,
		TimeoutMs: s.timeout.Milliseconds(), MaxOutput: int64(s.out.max), OperationId: s.operation,
	})
	if err != nil {
		return immy.ScriptResult{}, err
	}
	return collectScript(stream, s.out)
}

// collectScript reads a RunScript stream to its result.
func collectScript(stream scriptEvents, out *outputCollector) (immy.ScriptResult, error) {
	for {
		ev, err := stream.Recv()
		if err == io.EOF {
			return immy.ScriptResult{}, errNoResult
		}
		if err != nil {
			return immy.ScriptResult{}, err
		}
		switch e := ev.GetEvent().(type) {
		case *pluginv2.RunScriptEvent_Output:
			out.write(e.Output)
		case *pluginv2.RunScriptEvent_Result:
			r := e.Result
			out.close() // what the masking held back is kept before the plugin's word on the cap
			if r.GetTruncated() {
				out.truncated = true
			}
			return out.result(int(r.GetExitCode()), r.GetValue()), nil
		}
	}
}

// errNoResult: the plugin ended a RunScript stream without a result.
var errNoResult = errors.New("the plugin ended the script's output without a result")

// paramValue converts a task parameter value (string, number, boolean,
// key-value map) for the wire.
func paramValue(v any) (*structpb.Value, error) {
	switch x := v.(type) {
	case map[string]string:
		m := make(map[string]any, len(x))
		for k, s := range x {
			m[k] = s
		}
		v = m
	case []string:
		l := make([]any, len(x))
		for i, s := range x {
			l[i] = s
		}
		v = l
	}
	pv, err := structpb.NewValue(v)
	if err != nil {
		return nil, fmt.Errorf("unsupported value of type %T: %w", v, immy.ErrInvalid)
	}
	return pv, nil
}

func (c *v2Conn) deviceGroups(ctx context.Context, instance string) ([]DeviceGroup, error) {
	r, err := c.client.ListDeviceGroups(ctx, &pluginv2.ListDeviceGroupsRequest{})
	if err != nil {
		return nil, err
	}
	return decodeDeviceGroups(instance, r)
}

func decodeDeviceGroups(instance string, r *pluginv2.ListDeviceGroupsResponse) ([]DeviceGroup, error) {
	d := newDecoder("device_groups")
	var out []DeviceGroup
	for i, g := range r.GetGroups() {
		if v, ok := d.deviceGroup(instance, i, g); ok {
			out = append(out, v)
		}
	}
	slices.SortFunc(out, func(a, b DeviceGroup) int { return strings.Compare(a.ID, b.ID) })
	return out, d.err(instance, "ListDeviceGroups")
}

func (c *v2Conn) clientGroups(ctx context.Context, instance string) ([]ClientGroup, error) {
	r, err := c.client.ListClientGroups(ctx, &pluginv2.ListClientGroupsRequest{})
	if err != nil {
		return nil, err
	}
	return decodeClientGroups(instance, r)
}

func decodeClientGroups(instance string, r *pluginv2.ListClientGroupsResponse) ([]ClientGroup, error) {
	d := newDecoder("client_groups")
	var out []ClientGroup
	for i, g := range r.GetGroups() {
		if v, ok := d.clientGroup(instance, i, g); ok {
			out = append(out, v)
		}
	}
	slices.SortFunc(out, func(a, b ClientGroup) int { return strings.Compare(a.ID, b.ID) })
	return out, d.err(instance, "ListClientGroups")
}

func (c *v2Conn) ticket(ctx context.Context, instance, id string) (Ticket, error) {
	r, err := c.client.GetTicket(ctx, &pluginv2.GetTicketRequest{TicketId: id})
	if err != nil {
		return Ticket{}, err
	}
	return decodeTicket(instance, r)
}

func (c *v2Conn) installToken(ctx context.Context, instance, client string) (InstallToken, error) {
	r, err := c.client.GetInstallToken(ctx, &pluginv2.GetInstallTokenRequest{ClientId: client})
	if err != nil {
		return InstallToken{}, err
	}
	return decodeInstallToken(instance, r)
}

func (c *v2Conn) dynamicVersions(ctx context.Context, instance, software string) ([]DynamicVersion, error) {
	r, err := c.client.ListDynamicVersions(ctx, &pluginv2.ListDynamicVersionsRequest{Software: software})
	if err != nil {
		return nil, err
	}
	return decodeDynamicVersions(instance, r)
}

func decodeDynamicVersions(instance string, r *pluginv2.ListDynamicVersionsResponse) ([]DynamicVersion, error) {
	d := newDecoder("dynamic_versions")
	var out []DynamicVersion
	for i, v := range r.GetVersions() {
		if dv, ok := d.dynamicVersion(i, v); ok {
			out = append(out, dv)
		}
	}
	// Newest first; equal versions keep the plugin's order.
	slices.SortStableFunc(out, func(a, b DynamicVersion) int { return b.Version.Compare(a.Version) })
	return out, d.err(instance, "ListDynamicVersions")
}

func (c *v2Conn) maintenanceMode(ctx context.Context, agent string, on bool, d time.Duration) error {
	_, err := c.client.SetMaintenanceMode(ctx, &pluginv2.SetMaintenanceModeRequest{
		AgentId: agent, Enabled: on, DurationSeconds: int64(d / time.Second),
	})
	return err
}

func (c *v2Conn) agentLink(ctx context.Context, instance, agent string, kind LinkKind) (string, error) {
	k := pluginv2.LinkKind_LINK_KIND_PAGE
	if kind == LinkRemoteSession {
		k = pluginv2.LinkKind_LINK_KIND_REMOTE_SESSION
	}
	r, err := c.client.GetAgentLink(ctx, &pluginv2.GetAgentLinkRequest{AgentId: agent, Kind: k})
	if err != nil {
		return "", err
	}
	return decodeLink(instance, r.GetUrl())
}

// --- protocol version 1 ---

// v1Conn speaks the first protocol: unary calls, no host services, and only
// the capabilities clients, agents and run-script.
type v1Conn struct {
	client pluginv1.IntegrationClient
	done   context.Context
}

func (c *v1Conn) exited() <-chan struct{} { return c.done.Done() }

func (c *v1Conn) describe(ctx context.Context) (Info, error) {
	r, err := c.client.Describe(ctx, &pluginv1.DescribeRequest{})
	if err != nil {
		return Info{}, err
	}
	return decodeDescribeV1(r)
}

func (c *v1Conn) configure(ctx context.Context, _ string, entries []configEntry, _ *hostServer) error {
	cfg := make(map[string]string, len(entries))
	for _, e := range entries {
		cfg[e.key] = e.value
	}
	_, err := c.client.Configure(ctx, &pluginv1.ConfigureRequest{Config: cfg})
	return err
}

func (c *v1Conn) health(ctx context.Context) (bool, string, error) {
	r, err := c.client.Health(ctx, &pluginv1.HealthRequest{})
	if err != nil {
		return false, "", err
	}
	return r.GetHealthy(), r.GetMessage(), nil
}

func (c *v1Conn) listClients(ctx context.Context, instance string, fn func([]Client) error) error {
	r, err := c.client.ListClients(ctx, &pluginv1.ListClientsRequest{})
	if err != nil {
		return err
	}
	d := newDecoder("clients")
	var out []Client
	for i, cl := range r.GetClients() {
		if v, ok := d.client(instance, i, cl.GetId(), cl.GetName()); ok {
			out = append(out, v)
		}
	}
	if len(out) > 0 {
		if err := fn(out); err != nil {
			return callbackError{err}
		}
	}
	return d.err(instance, "ListClients")
}

func (c *v1Conn) listAgents(ctx context.Context, instance string, fn func([]Agent) error) error {
	r, err := c.client.ListAgents(ctx, &pluginv1.ListAgentsRequest{})
	if err != nil {
		return err
	}
	d := newDecoder("agents")
	var out []Agent
	for _, a := range r.GetAgents() {
		if v, ok := d.agentV1(instance, a); ok {
			out = append(out, v)
		}
	}
	if len(out) > 0 {
		if err := fn(out); err != nil {
			return callbackError{err}
		}
	}
	return d.err(instance, "ListAgents")
}

func (c *v1Conn) runScript(ctx context.Context, s scriptCall) (immy.ScriptResult, error) {
	if s.context != immy.ContextSystem {
		return immy.ScriptResult{}, fmt.Errorf("protocol version 1 runs system-context scripts only: %w", ErrUnsupported)
	}
	params := make(map[string]string, len(s.params))
	for k, v := range s.params {
		t, err := paramText(v)
		if err != nil {
			return immy.ScriptResult{}, fmt.Errorf("parameter %q: %w", k, err)
		}
		params[k] = t
	}
	r, err := c.client.RunScript(ctx, &pluginv1.RunScriptRequest{
		AgentId: s.agent, Language: s.language.String(), Body: s.body, Parameters: params,
		TimeoutMs: s.timeout.Milliseconds(),
	})
	if err != nil {
		return immy.ScriptResult{}, err
	}
	// Version 1 sends the output at the end, in one piece.
	s.out.write([]byte(r.GetOutput()))
	return s.out.result(int(r.GetExitCode()), ""), nil
}

// paramText renders a parameter value as text, for protocol version 1.
func paramText(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case bool:
		return strconv.FormatBool(x), nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case int:
		return strconv.Itoa(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case nil:
		return "", nil
	}
	return "", fmt.Errorf("value of type %T cannot be sent to a protocol version 1 plugin: %w", v, immy.ErrInvalid)
}

func (c *v1Conn) deviceGroups(context.Context, string) ([]DeviceGroup, error) {
	return nil, ErrUnsupported
}

func (c *v1Conn) clientGroups(context.Context, string) ([]ClientGroup, error) {
	return nil, ErrUnsupported
}

func (c *v1Conn) ticket(context.Context, string, string) (Ticket, error) {
	return Ticket{}, ErrUnsupported
}

func (c *v1Conn) installToken(context.Context, string, string) (InstallToken, error) {
	return InstallToken{}, ErrUnsupported
}

func (c *v1Conn) dynamicVersions(context.Context, string, string) ([]DynamicVersion, error) {
	return nil, ErrUnsupported
}

func (c *v1Conn) maintenanceMode(context.Context, string, bool, time.Duration) error {
	return ErrUnsupported
}

func (c *v1Conn) agentLink(context.Context, string, string, LinkKind) (string, error) {
	return "", ErrUnsupported
}
