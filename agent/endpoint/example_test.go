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
