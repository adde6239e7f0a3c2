// Package protocol holds what the host (package plugins) and the SDK (package
// plugins/sdk) must agree on beyond the generated code: the go-plugin
// handshake, the plugin's name in the plugin set, and the encoding of the
// errors the engine tells apart.
package protocol

import (
	"errors"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pluginv2 "github.com/immyoss/engine/plugins/proto/immy/plugin/v2"
)

// Current is the newest protocol version; the host serves every version in Supported.
const Current = 2

// Supported lists the protocol versions a host speaks, oldest first.
var Supported = []int{1, 2}

// PluginName is the name of the integration in every version's plugin set.
const PluginName = "integration"

// Handshake is the go-plugin handshake. The magic cookie keeps a plugin binary
// from being run by hand by mistake; it is no secret.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  Current,
	MagicCookieKey:   "IMMY_INTEGRATION_PLUGIN",
	MagicCookieValue: "5b1d5c8e7f7c4e0a9d8f3c2b1a0e9d8c",
}

// ErrorDomain is the google.rpc.ErrorInfo domain of the engine's error reasons.
const ErrorDomain = "immy.plugin"

// Error returns a gRPC status error with code c, message msg and an ErrorInfo
// detail naming reason.
func Error(c codes.Code, reason pluginv2.ErrorReason, msg string) error {
	st := status.New(c, msg)
	if reason == pluginv2.ErrorReason_ERROR_REASON_UNSPECIFIED {
		return st.Err()
	}
	withInfo, err := st.WithDetails(&errdetails.ErrorInfo{Reason: reason.String(), Domain: ErrorDomain})
	if err != nil {
		return st.Err()
	}
	return withInfo.Err()
}

// Reason returns the engine error reason an error carries, or UNSPECIFIED.
func Reason(err error) pluginv2.ErrorReason {
	var se interface{ GRPCStatus() *status.Status }
	if !errors.As(err, &se) {
		return pluginv2.ErrorReason_ERROR_REASON_UNSPECIFIED
	}
	for _, d := range se.GRPCStatus().Details() {
		info, ok := d.(*errdetails.ErrorInfo)
		if !ok || info.GetDomain() != ErrorDomain {
			continue
		}
		if v, ok := pluginv2.ErrorReason_value[info.GetReason()]; ok {
			return pluginv2.ErrorReason(v)
		}
	}
	return pluginv2.ErrorReason_ERROR_REASON_UNSPECIFIED
}
