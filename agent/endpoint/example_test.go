package endpoint_test

import (
	"fmt"

	"github.com/immyoss/engine/agent/endpoint"
)

// The agent speaks TLS only, unless told otherwise for development.
func ExampleNew() {
	_, err := endpoint.New(endpoint.Config{Server: "ws://engine.example.com/agent", InstallToken: "immy1_..."})
	fmt.Println(err)
	// Output:
	// endpoint: server URL "ws://engine.example.com/agent": plaintext ws:// is refused; use wss:// (TLS)
}

// A pin as openssl prints a certificate's fingerprint, read back in the
// form the agent logs.
func ExampleParsePin() {
	p, err := endpoint.ParsePin("sha256 Fingerprint=5F:0C:1A:9B:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:01:23:45:67:89:AB:CD:EF:10:32:54:E1")
	fmt.Println(p, err)
	_, err = endpoint.ParsePin("5f0c")
	fmt.Println(err)
	// Output:
	// sha256:5f0c1a9b00112233445566778899aabbccddeeff0123456789abcdef103254e1 <nil>
	// endpoint: pin "5f0c": want the certificate's SHA-256 as 64 hex digits, got 4
}
