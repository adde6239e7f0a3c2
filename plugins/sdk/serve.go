package sdk

import (
	"context"
	"errors"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/immyoss/engine/plugins/internal/protocol"
	pluginv2 "github.com/immyoss/engine/plugins/proto/immy/plugin/v2"
)

// Serve serves impl as an integration plugin over go-plugin and does not
// return: call it from main. Run by hand, the binary says it is a plugin and exits.
func Serve(impl Integration) {
	plugin.Serve(ServeConfig(impl))
}

// ServeConfig returns the go-plugin configuration Serve uses: the handshake,
// the protocol versions this SDK speaks, and a gRPC server that turns a panic
// of impl into an error of the call. Harnesses (sdktest) set its Test field to
// serve impl inside a test process.
func ServeConfig(impl Integration) *plugin.ServeConfig {
	secrets := &secretSet{}
	return &plugin.ServeConfig{
		HandshakeConfig: protocol.Handshake,
		VersionedPlugins: map[int]plugin.PluginSet{
			2: {protocol.PluginName: &goPlugin{impl: impl, secrets: secrets}},
		},
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			opts = append(opts, grpc.ChainUnaryInterceptor(recoverUnary(secrets)), grpc.ChainStreamInterceptor(recoverStream(secrets)))
			return grpc.NewServer(opts...)
		},
		Logger: hclog.New(&hclog.LoggerOptions{Level: hclog.Info, JSONFormat: true, Output: hclog.DefaultOutput}),
	}
}

// goPlugin is the plugin side of the go-plugin plugin.
type goPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	impl    Integration
	secrets *secretSet // shared with the panic interceptors
}

func (p *goPlugin) GRPCServer(broker *plugin.GRPCBroker, s *grpc.Server) error {
	secrets := p.secrets
	if secrets == nil {
		secrets = &secretSet{}
	}
	pluginv2.RegisterIntegrationServer(s, &server{impl: p.impl, broker: broker, secrets: secrets})
	return nil
}

func (p *goPlugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, errors.New("sdk: the plugin side has no client")
}
