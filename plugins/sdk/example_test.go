package sdk_test

import (
	"context"
	"fmt"

	"github.com/immyoss/engine/plugins/sdk"
)

func ExampleConfig() {
	cfg := sdk.NewConfig("psa-1", map[string]string{"url": "https://psa.example.com", "api_key": "k-42"}, "api_key")
	fmt.Println(cfg)
	fmt.Println(cfg.Get("api_key"), cfg.IsSecret("api_key"))
	// Output:
	// {api_key=[redacted] url=https://psa.example.com}
	// k-42 true
}

// tickets is a minimal plugin: the base plus one capability.
type tickets struct{}

func (tickets) Info() sdk.Info { return sdk.Info{Name: "tickets", Version: "0.1.0"} }

func (tickets) Configure(context.Context, sdk.Config, *sdk.Host) error { return nil }

func (tickets) Health(context.Context) error { return nil }

func (tickets) Ticket(_ context.Context, id string) (sdk.Ticket, error) {
	if id != "T-1" {
		return sdk.Ticket{}, fmt.Errorf("ticket %q: %w", id, sdk.ErrNotFound)
	}
	return sdk.Ticket{ID: "T-1", ClientID: "C-1"}, nil
}

// A plugin's main serves its implementation; the capabilities it declares
// are the interfaces it implements.
func ExampleServe() {
	var impl sdk.Integration = tickets{}
	_, isTicketFinder := impl.(sdk.TicketFinder)
	_, isAgentLister := impl.(sdk.AgentLister)
	fmt.Println(isTicketFinder, isAgentLister)
	if false {
		sdk.Serve(impl) // in main: never returns
	}
	// Output:
	// true false
}
