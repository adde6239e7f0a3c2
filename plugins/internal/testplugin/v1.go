package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/immyoss/engine/plugins/internal/protocol"
	pluginv1 "github.com/immyoss/engine/plugins/proto/immy/plugin/v1"
)

// serveV1 serves the first protocol version, without the SDK, the way a
// plugin built before version 2 does.
func serveV1() {
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  protocol.Handshake,
		VersionedPlugins: map[int]plugin.PluginSet{1: {protocol.PluginName: &v1Plugin{}}},
		GRPCServer:       plugin.DefaultGRPCServer,
	})
}

type v1Plugin struct {
	plugin.NetRPCUnsupportedPlugin
}

func (v1Plugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pluginv1.RegisterIntegrationServer(s, &v1Server{})
	return nil
}

func (v1Plugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, fmt.Errorf("plugin side only")
}

type v1Server struct {
	pluginv1.UnimplementedIntegrationServer
	cfg map[string]string
}

func (s *v1Server) Describe(context.Context, *pluginv1.DescribeRequest) (*pluginv1.DescribeResponse, error) {
	return &pluginv1.DescribeResponse{Name: "legacy", Version: "0.9.0", Capabilities: []string{"agents", "run-script"}}, nil
}

// A version 1 plugin knows nothing of secrets: with leak=true it echoes its
// "token" in errors, health messages and on stderr, and only the host can
// mask it.

func (s *v1Server) Configure(_ context.Context, r *pluginv1.ConfigureRequest) (*pluginv1.ConfigureResponse, error) {
	s.cfg = r.GetConfig()
	if s.cfg["leak"] == "true" {
		fmt.Fprintf(stderr, "[WARN] logging in with token %s\n", s.cfg["token"])
		fmt.Fprintf(stderr, `{"@level":"warn","@message":"token %s","token":"%s"}`+"\n", s.cfg["token"], s.cfg["token"])
	}
	return &pluginv1.ConfigureResponse{}, nil
}

func (s *v1Server) Health(context.Context, *pluginv1.HealthRequest) (*pluginv1.HealthResponse, error) {
	if s.cfg["leak"] == "true" {
		return &pluginv1.HealthResponse{Healthy: false, Message: "token " + s.cfg["token"] + " refused"}, nil
	}
	return &pluginv1.HealthResponse{Healthy: true}, nil
}

func (s *v1Server) ListAgents(context.Context, *pluginv1.ListAgentsRequest) (*pluginv1.ListAgentsResponse, error) {
	if s.cfg["leak"] == "true" {
		return nil, status.Errorf(codes.PermissionDenied, "token %s refused", s.cfg["token"])
	}
	return &pluginv1.ListAgentsResponse{Agents: []*pluginv1.Agent{
		{Id: "old-1", ClientId: "c1", Name: "OLD-1", Online: true, Uuid: "4C4C4544-0042-3510-8051-000000000001", Serial: "OLD1", Manufacturer: "Dell Inc.", Hostname: "old-1", Os: "Windows 10 Pro", OsInstallId: "i-1"},
		{Id: "old-2", ClientId: "c1", Name: "OLD-2", Uuid: "00000000-0000-0000-0000-000000000000", Hostname: "old-2"},
	}}, nil
}

func (s *v1Server) RunScript(_ context.Context, r *pluginv1.RunScriptRequest) (*pluginv1.RunScriptResponse, error) {
	var out strings.Builder
	fmt.Fprintf(&out, "agent=%s language=%s\n", r.GetAgentId(), r.GetLanguage())
	fmt.Fprintf(&out, "greeting=%s\n", r.GetParameters()["greeting"])
	fmt.Fprintf(&out, "configured=%s\n", s.cfg["site"])
	return &pluginv1.RunScriptResponse{ExitCode: 7, Output: out.String()}, nil
}
