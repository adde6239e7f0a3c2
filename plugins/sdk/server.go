package sdk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/internal/redact"
	"github.com/immyoss/engine/plugins/internal/protocol"
	pluginv2 "github.com/immyoss/engine/plugins/proto/immy/plugin/v2"
)

// Batches of a listing close at this many records or this many bytes,
// whichever comes first, well under gRPC's 4 MiB message limit.
const (
	batchRecords = 1000
	batchBytes   = 1 << 20
)

// server adapts an Integration to the protocol's Integration service.
type server struct {
	pluginv2.UnimplementedIntegrationServer
	impl    Integration
	broker  *plugin.GRPCBroker
	secrets *secretSet // the instance's secret configuration values

	mu   sync.Mutex
	host *Host
}

func (s *server) capabilities() []pluginv2.Capability {
	var caps []pluginv2.Capability
	add := func(ok bool, c pluginv2.Capability) {
		if ok {
			caps = append(caps, c)
		}
	}
	_, ok := s.impl.(ClientLister)
	add(ok, pluginv2.Capability_CAPABILITY_CLIENTS)
	_, ok = s.impl.(AgentLister)
	add(ok, pluginv2.Capability_CAPABILITY_AGENTS)
	_, ok = s.impl.(ScriptRunner)
	add(ok, pluginv2.Capability_CAPABILITY_RUN_SCRIPT)
	_, ok = s.impl.(DeviceGroupLister)
	add(ok, pluginv2.Capability_CAPABILITY_DEVICE_GROUPS)
	_, ok = s.impl.(ClientGroupLister)
	add(ok, pluginv2.Capability_CAPABILITY_CLIENT_GROUPS)
	_, ok = s.impl.(TicketFinder)
	add(ok, pluginv2.Capability_CAPABILITY_TICKETS)
	_, ok = s.impl.(InstallTokenIssuer)
	add(ok, pluginv2.Capability_CAPABILITY_INSTALL_TOKEN)
	_, ok = s.impl.(DynamicVersionLister)
	add(ok, pluginv2.Capability_CAPABILITY_DYNAMIC_VERSIONS)
	_, ok = s.impl.(MaintenanceModeSetter)
	add(ok, pluginv2.Capability_CAPABILITY_MAINTENANCE_MODE)
	_, ok = s.impl.(AgentLinker)
	add(ok, pluginv2.Capability_CAPABILITY_AGENT_LINKS)
	_, ok = s.impl.(InventoryReporter)
	add(ok, pluginv2.Capability_CAPABILITY_INVENTORY)
	return caps
}

func (s *server) Describe(context.Context, *pluginv2.DescribeRequest) (*pluginv2.DescribeResponse, error) {
	info := s.impl.Info()
	r := &pluginv2.DescribeResponse{Name: info.Name, Version: info.Version, Description: info.Description, Capabilities: s.capabilities()}
	for _, f := range info.ConfigFields {
		r.ConfigFields = append(r.ConfigFields, &pluginv2.ConfigField{Key: f.Key, Description: f.Description, Required: f.Required, Secret: f.Secret})
	}
	return r, nil
}

func (s *server) Configure(ctx context.Context, r *pluginv2.ConfigureRequest) (*pluginv2.ConfigureResponse, error) {
	values := map[string]string{}
	var secrets []string
	for _, e := range r.GetConfig() {
		values[e.GetKey()] = e.GetValue()
		if e.GetSecret() {
			secrets = append(secrets, e.GetKey())
		}
	}
	cfg := NewConfig(r.GetInstanceId(), values, secrets...)
	// From now on every error leaving the plugin is masked with them.
	s.secrets.set(cfg.secrets())
	// Required keys first, all of them at once.
	var missing []string
	for _, f := range s.impl.Info().ConfigFields {
		if _, ok := values[f.Key]; f.Required && !ok {
			missing = append(missing, f.Key)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return nil, s.status(fmt.Errorf("sdk: configuration lacks the required key(s) %s: %w", strings.Join(missing, ", "), ErrInvalid))
	}
	var host *Host
	if id := r.GetHostBrokerId(); id != 0 && s.broker != nil {
		cc, err := s.broker.Dial(id)
		if err != nil {
			return nil, s.status(fmt.Errorf("sdk: dialing the host services: %w", err))
		}
		host = newHost(pluginv2.NewHostClient(cc), fromWireLevel(r.GetLogLevel()), cfg)
	}
	if err := s.impl.Configure(ctx, cfg, host); err != nil {
		return nil, s.status(err)
	}
	s.mu.Lock()
	s.host = host
	s.mu.Unlock()
	return &pluginv2.ConfigureResponse{}, nil
}

func (s *server) Health(ctx context.Context, _ *pluginv2.HealthRequest) (*pluginv2.HealthResponse, error) {
	if err := s.impl.Health(ctx); err != nil {
		return &pluginv2.HealthResponse{Healthy: false, Message: s.secrets.with().String(err.Error())}, nil
	}
	return &pluginv2.HealthResponse{Healthy: true}, nil
}

// batcher gathers records into messages of bounded size.
type batcher[T proto.Message] struct {
	items []T
	size  int
	send  func([]T) error
}

func (b *batcher[T]) add(item T) error {
	n := proto.Size(item)
	if len(b.items) > 0 && (len(b.items) >= batchRecords || b.size+n > batchBytes) {
		if err := b.flush(); err != nil {
			return err
		}
	}
	b.items = append(b.items, item)
	b.size += n
	return nil
}

func (b *batcher[T]) flush() error {
	if len(b.items) == 0 {
		return nil
	}
	err := b.send(b.items)
	b.items, b.size = nil, 0
	return err
}

// sendError marks an error of the stream, as opposed to one of the plugin.
type sendError struct{ err error }

func (e sendError) Error() string { return e.err.Error() }
func (e sendError) Unwrap() error { return e.err }

func (s *server) ListClients(_ *pluginv2.ListClientsRequest, stream grpc.ServerStreamingServer[pluginv2.ClientBatch]) error {
	impl, ok := s.impl.(ClientLister)
	if !ok {
		return unimplemented("ListClients")
	}
	b := &batcher[*pluginv2.Client]{send: func(items []*pluginv2.Client) error {
		if err := stream.Send(&pluginv2.ClientBatch{Clients: items}); err != nil {
			return sendError{err}
		}
		return nil
	}}
	err := impl.ListClients(stream.Context(), func(c Client) error {
		return b.add(&pluginv2.Client{Id: c.ID, Name: c.Name})
	})
	if err == nil {
		err = b.flush()
	}
	return s.streamStatus(err)
}

func (s *server) ListAgents(r *pluginv2.ListAgentsRequest, stream grpc.ServerStreamingServer[pluginv2.AgentBatch]) error {
	impl, ok := s.impl.(AgentLister)
	if !ok {
		return unimplemented("ListAgents")
	}
	b := &batcher[*pluginv2.Agent]{send: func(items []*pluginv2.Agent) error {
		if err := stream.Send(&pluginv2.AgentBatch{Agents: items}); err != nil {
			return sendError{err}
		}
		return nil
	}}
	only := r.GetClientId()
	err := impl.ListAgents(stream.Context(), func(a Agent) error {
		if only != "" && a.ClientID != only {
			return nil
		}
		return b.add(agentToWire(a))
	})
	if err == nil {
		err = b.flush()
	}
	return s.streamStatus(err)
}

func (s *server) streamStatus(err error) error {
	var se sendError
	if errors.As(err, &se) {
		return se.err
	}
	return s.status(err)
}

// status encodes an error of the plugin for the wire, masking the instance's
// secret configuration values and the given values.
func (s *server) status(err error, more ...string) error {
	return toStatus(err, s.secrets.with(more...))
}

var kindToWire = map[immy.ComputerKind]pluginv2.ComputerKind{
	immy.KindUnknown:                 pluginv2.ComputerKind_COMPUTER_KIND_UNSPECIFIED,
	immy.KindWorkstation:             pluginv2.ComputerKind_COMPUTER_KIND_WORKSTATION,
	immy.KindPortable:                pluginv2.ComputerKind_COMPUTER_KIND_PORTABLE,
	immy.KindServer:                  pluginv2.ComputerKind_COMPUTER_KIND_SERVER,
	immy.KindDomainController:        pluginv2.ComputerKind_COMPUTER_KIND_DOMAIN_CONTROLLER,
	immy.KindPrimaryDomainController: pluginv2.ComputerKind_COMPUTER_KIND_PRIMARY_DOMAIN_CONTROLLER,
}

func agentToWire(a Agent) *pluginv2.Agent {
	id := a.Identity
	w := &pluginv2.Agent{
		Id: a.ID, ClientId: a.ClientID, Name: a.Name, Online: a.Online,
		Identity: &pluginv2.Identity{
			Uuid: id.UUID, Serial: id.Serial, Manufacturer: id.Manufacturer, Model: id.Model,
			Hostname: id.Hostname, Os: id.OS, OsVersion: id.OSVersion, OsInstallId: id.OSInstallID,
			Kind: kindToWire[id.Kind], Domain: id.Domain,
		},
	}
	if !a.LastSeen.IsZero() {
		w.LastSeen = timestamppb.New(a.LastSeen)
	}
	return w
}

var languageFromWire = map[pluginv2.ScriptLanguage]immy.ScriptLanguage{
	pluginv2.ScriptLanguage_SCRIPT_LANGUAGE_POWERSHELL: immy.LanguagePowerShell,
	pluginv2.ScriptLanguage_SCRIPT_LANGUAGE_CMD:        immy.LanguageCmd,
	pluginv2.ScriptLanguage_SCRIPT_LANGUAGE_SHELL:      immy.LanguageShell,
}

var contextFromWire = map[pluginv2.ScriptContext]immy.ScriptContext{
	pluginv2.ScriptContext_SCRIPT_CONTEXT_SYSTEM: immy.ContextSystem,
	pluginv2.ScriptContext_SCRIPT_CONTEXT_USER:   immy.ContextUser,
}

// outputWriter streams a script's output, masked, dropping what exceeds the
// cap. The instance's secrets and the request's secret parameters, and their
// common transforms, are masked before anything is sent; a write's tail that
// may start a secret waits for the next write or close.
type outputWriter struct {
	mu        sync.Mutex
	stream    grpc.ServerStreamingServer[pluginv2.RunScriptEvent]
	masked    *redact.Stream
	room      int64
	truncated bool
	err       error
}

func (w *outputWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return 0, w.err
	}
	w.masked.Write(p)
	if w.err != nil {
		return 0, w.err
	}
	return len(p), nil
}

// close sends what the masking held back; later writes are dropped.
func (w *outputWriter) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.masked.Close()
}

// send sends masked output within the cap; once the cap cut it, nothing more.
func (w *outputWriter) send(p []byte) {
	if w.err != nil || w.truncated {
		return
	}
	if int64(len(p)) > w.room {
		w.truncated = true
		p = p[:redact.Cut(p, int(max(w.room, 0)))]
	}
	if len(p) == 0 {
		return
	}
	w.room -= int64(len(p))
	if err := w.stream.Send(&pluginv2.RunScriptEvent{Event: &pluginv2.RunScriptEvent_Output{Output: p}}); err != nil {
		w.err = err
	}
}

func (s *server) RunScript(r *pluginv2.RunScriptRequest, stream grpc.ServerStreamingServer[pluginv2.RunScriptEvent]) error {
	impl, ok := s.impl.(ScriptRunner)
	if !ok {
		return unimplemented("RunScript")
	}
	lang, ok := languageFromWire[r.GetLanguage()]
	if !ok {
		return protocol.Error(codes.InvalidArgument, pluginv2.ErrorReason_ERROR_REASON_INVALID, fmt.Sprintf("unknown script language %d", r.GetLanguage()))
	}
	sctx, ok := contextFromWire[r.GetContext()]
	if !ok {
		return protocol.Error(codes.InvalidArgument, pluginv2.ErrorReason_ERROR_REASON_INVALID, fmt.Sprintf("unknown script context %d", r.GetContext()))
	}
	req := ScriptRequest{
		AgentID: r.GetAgentId(), Script: immy.Script{Language: lang, Context: sctx, Body: r.GetBody()},
		Parameters: map[string]any{}, Secrets: r.GetSecretParameters(),
		Timeout: time.Duration(r.GetTimeoutMs()) * time.Millisecond, MaxOutput: int(r.GetMaxOutput()),
		Operation: r.GetOperationId(),
	}
	for k, v := range r.GetParameters() {
		req.Parameters[k] = v.AsInterface()
	}
	ctx := stream.Context()
	if req.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, req.Timeout)
		defer cancel()
	}
	room := r.GetMaxOutput()
	if room <= 0 {
		room = 1 << 62
	}
	m := s.secrets.with(secretValues(req)...)
	out := &outputWriter{stream: stream, room: room}
	out.masked = m.Stream(out.send)
	res, err := impl.RunScript(ctx, req, out)
	out.close()
	if err != nil {
		return toStatus(err, m)
	}
	out.mu.Lock()
	defer out.mu.Unlock()
	if out.err != nil {
		return out.err
	}
	return stream.Send(&pluginv2.RunScriptEvent{Event: &pluginv2.RunScriptEvent_Result{Result: &pluginv2.ScriptResult{
		ExitCode: int32(res.ExitCode), Truncated: out.truncated, Value: m.String(res.Value),
	}}})
}

// secretValues returns the text of the secret parameters (a text, or the
// texts of a list or map), to keep them out of errors and output.
func secretValues(req ScriptRequest) []string {
	var out []string
	var add func(v any)
	add = func(v any) {
		switch x := v.(type) {
		case string:
			out = append(out, x)
		case []any:
			for _, e := range x {
				add(e)
			}
		case map[string]any:
			for _, e := range x {
				add(e)
			}
		}
	}
	for _, k := range req.Secrets {
		add(req.Parameters[k])
	}
	return out
}

func (s *server) ListDeviceGroups(ctx context.Context, _ *pluginv2.ListDeviceGroupsRequest) (*pluginv2.ListDeviceGroupsResponse, error) {
	impl, ok := s.impl.(DeviceGroupLister)
	if !ok {
		return nil, unimplemented("ListDeviceGroups")
	}
	groups, err := impl.ListDeviceGroups(ctx)
	if err != nil {
		return nil, s.status(err)
	}
	r := &pluginv2.ListDeviceGroupsResponse{}
	for _, g := range groups {
		r.Groups = append(r.Groups, &pluginv2.DeviceGroup{Id: g.ID, Name: g.Name, AgentIds: g.AgentIDs})
	}
	return r, nil
}

var groupKindToWire = map[ClientGroupKind]pluginv2.ClientGroupKind{
	AgreementType: pluginv2.ClientGroupKind_CLIENT_GROUP_KIND_AGREEMENT_TYPE,
	Product:       pluginv2.ClientGroupKind_CLIENT_GROUP_KIND_PRODUCT,
}

func (s *server) ListClientGroups(ctx context.Context, _ *pluginv2.ListClientGroupsRequest) (*pluginv2.ListClientGroupsResponse, error) {
	impl, ok := s.impl.(ClientGroupLister)
	if !ok {
		return nil, unimplemented("ListClientGroups")
	}
	groups, err := impl.ListClientGroups(ctx)
	if err != nil {
		return nil, s.status(err)
	}
	r := &pluginv2.ListClientGroupsResponse{}
	for _, g := range groups {
		w := &pluginv2.ClientGroup{Id: g.ID, Name: g.Name, Kind: groupKindToWire[g.Kind]}
		for _, a := range g.Agreements {
			w.Agreements = append(w.Agreements, &pluginv2.Agreement{Id: a.ID, ClientId: a.ClientID, From: a.From.String(), To: a.To.String()})
		}
		r.Groups = append(r.Groups, w)
	}
	return r, nil
}

func (s *server) GetTicket(ctx context.Context, r *pluginv2.GetTicketRequest) (*pluginv2.GetTicketResponse, error) {
	impl, ok := s.impl.(TicketFinder)
	if !ok {
		return nil, unimplemented("GetTicket")
	}
	t, err := impl.Ticket(ctx, r.GetTicketId())
	if err != nil {
		return nil, s.status(err)
	}
	w := &pluginv2.GetTicketResponse{Id: t.ID, Subject: t.Subject, ClientId: t.ClientID, AgentId: t.AgentID}
	if t.Person != nil {
		w.Person = &pluginv2.Person{Upn: t.Person.UPN, Name: t.Person.Name, Email: t.Person.Email}
	}
	return w, nil
}

func (s *server) GetInstallToken(ctx context.Context, r *pluginv2.GetInstallTokenRequest) (*pluginv2.GetInstallTokenResponse, error) {
	impl, ok := s.impl.(InstallTokenIssuer)
	if !ok {
		return nil, unimplemented("GetInstallToken")
	}
	t, err := impl.InstallToken(ctx, r.GetClientId())
	if err != nil {
		return nil, s.status(err)
	}
	w := &pluginv2.GetInstallTokenResponse{Token: t.Token}
	if !t.Expires.IsZero() {
		w.Expires = timestamppb.New(t.Expires)
	}
	return w, nil
}

func (s *server) ListDynamicVersions(ctx context.Context, r *pluginv2.ListDynamicVersionsRequest) (*pluginv2.ListDynamicVersionsResponse, error) {
	impl, ok := s.impl.(DynamicVersionLister)
	if !ok {
		return nil, unimplemented("ListDynamicVersions")
	}
	vs, err := impl.DynamicVersions(ctx, r.GetSoftware())
	if err != nil {
		return nil, s.status(err)
	}
	w := &pluginv2.ListDynamicVersionsResponse{}
	for _, v := range vs {
		w.Versions = append(w.Versions, &pluginv2.DynamicVersion{Version: v.Version, Url: v.URL, FileName: v.FileName, Sha256: v.SHA256})
	}
	return w, nil
}

func (s *server) GetInventory(ctx context.Context, r *pluginv2.GetInventoryRequest) (*pluginv2.GetInventoryResponse, error) {
	impl, ok := s.impl.(InventoryReporter)
	if !ok {
		return nil, unimplemented("GetInventory")
	}
	sw, err := impl.Inventory(ctx, r.GetAgentId())
	if err != nil {
		return nil, s.status(err)
	}
	w := &pluginv2.GetInventoryResponse{Software: make([]*pluginv2.InstalledSoftware, 0, len(sw))}
	for _, e := range sw {
		w.Software = append(w.Software, &pluginv2.InstalledSoftware{Name: e.Name, Version: e.Version, Publisher: e.Publisher, ProductCode: e.ProductCode, UpgradeCode: e.UpgradeCode})
	}
	return w, nil
}

func (s *server) SetMaintenanceMode(ctx context.Context, r *pluginv2.SetMaintenanceModeRequest) (*pluginv2.SetMaintenanceModeResponse, error) {
	impl, ok := s.impl.(MaintenanceModeSetter)
	if !ok {
		return nil, unimplemented("SetMaintenanceMode")
	}
	if err := impl.SetMaintenanceMode(ctx, r.GetAgentId(), r.GetEnabled(), time.Duration(r.GetDurationSeconds())*time.Second); err != nil {
		return nil, s.status(err)
	}
	return &pluginv2.SetMaintenanceModeResponse{}, nil
}

func (s *server) GetAgentLink(ctx context.Context, r *pluginv2.GetAgentLinkRequest) (*pluginv2.GetAgentLinkResponse, error) {
	impl, ok := s.impl.(AgentLinker)
	if !ok {
		return nil, unimplemented("GetAgentLink")
	}
	kind := LinkPage
	if r.GetKind() == pluginv2.LinkKind_LINK_KIND_REMOTE_SESSION {
		kind = LinkRemoteSession
	}
	u, err := impl.AgentLink(ctx, r.GetAgentId(), kind)
	if err != nil {
		return nil, s.status(err)
	}
	return &pluginv2.GetAgentLinkResponse{Url: u}, nil
}

func unimplemented(call string) error {
	return protocol.Error(codes.Unimplemented, pluginv2.ErrorReason_ERROR_REASON_UNSPECIFIED, call+" is not a capability of this plugin")
}

// toStatus encodes a plugin's error for the wire, hiding the secret values.
func toStatus(err error, m *redact.Masker) error {
	if err == nil {
		return nil
	}
	msg := m.String(err.Error())
	switch {
	case errors.Is(err, context.Canceled):
		return protocol.Error(codes.Canceled, pluginv2.ErrorReason_ERROR_REASON_UNSPECIFIED, msg)
	case errors.Is(err, context.DeadlineExceeded):
		return protocol.Error(codes.DeadlineExceeded, pluginv2.ErrorReason_ERROR_REASON_UNSPECIFIED, msg)
	case errors.Is(err, immy.ErrOffline):
		return protocol.Error(codes.FailedPrecondition, pluginv2.ErrorReason_ERROR_REASON_OFFLINE, msg)
	case errors.Is(err, immy.ErrNoUserLoggedOn):
		return protocol.Error(codes.FailedPrecondition, pluginv2.ErrorReason_ERROR_REASON_NO_USER_LOGGED_ON, msg)
	case errors.Is(err, immy.ErrNotFound):
		return protocol.Error(codes.NotFound, pluginv2.ErrorReason_ERROR_REASON_NOT_FOUND, msg)
	case errors.Is(err, immy.ErrInvalid):
		return protocol.Error(codes.InvalidArgument, pluginv2.ErrorReason_ERROR_REASON_INVALID, msg)
	}
	return protocol.Error(codes.Unknown, pluginv2.ErrorReason_ERROR_REASON_UNSPECIFIED, msg)
}

// recoverUnary and recoverStream turn a panic of the plugin's code into an
// error of the call, logged with its stack, instead of a dead process; the
// secret values are masked in both.
func recoverUnary(secrets *secretSet) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if r := recover(); r != nil {
				err = panicked(info.FullMethod, r, secrets)
			}
		}()
		return handler(ctx, req)
	}
}

func recoverStream(secrets *secretSet) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = panicked(info.FullMethod, r, secrets)
			}
		}()
		return handler(srv, ss)
	}
}

func panicked(method string, r any, secrets *secretSet) error {
	m := secrets.with()
	slog.New(stderrHandler()).Error("plugin panicked", "method", method, "panic", m.String(fmt.Sprint(r)), "stack", m.String(string(debug.Stack())))
	return protocol.Error(codes.Unknown, pluginv2.ErrorReason_ERROR_REASON_UNSPECIFIED, m.String(fmt.Sprintf("plugin panicked in %s: %v", method, r)))
}

var _ io.Writer = (*outputWriter)(nil)
