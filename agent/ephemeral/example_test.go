package ephemeral_test

import (
	"fmt"

	"github.com/immyoss/engine/agent"
	"github.com/immyoss/engine/agent/ephemeral"
	"github.com/immyoss/engine/immy"
)

// New checks the whole configuration at once and names every problem: a
// bootstrapper that could not check the agent binary it fetches is refused
// before anything runs.
func ExampleNew() {
	_, err := ephemeral.New(ephemeral.Config{
		URL:    "https://engine.example.com/agent",
		Binary: immy.Installer{URL: "https://engine.example.com/dl/immy-agent"},
	})
	fmt.Println(err)

	b, err := ephemeral.New(ephemeral.Config{
		Server: agent.NewServer(agent.Config{}),
		URL:    "wss://engine.example.com/agent",
		Binary: immy.Installer{
			URL:    "https://engine.example.com/dl/immy-agent-linux-amd64",
			SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		},
	})
	fmt.Println(b != nil, err)
	// Output:
	// ephemeral: Server is required
	// URL "https://engine.example.com/agent" is not a ws(s) URL
	// Binary: installer: sha256 "" is not 64 hexadecimal digits
	// true <nil>
}
