package plugins_test

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/immyoss/engine/plugins"
	"github.com/immyoss/engine/plugins/sdk"
)

// psa is a tiny PSA integration: it finds one ticket.
type psa struct{}

func (psa) Info() sdk.Info                                         { return sdk.Info{Name: "example-psa", Version: "1.0.0"} }
func (psa) Configure(context.Context, sdk.Config, *sdk.Host) error { return nil }
func (psa) Health(context.Context) error                           { return nil }
func (psa) Ticket(_ context.Context, id string) (sdk.Ticket, error) {
	if id != "T-1042" {
		return sdk.Ticket{}, fmt.Errorf("ticket %q: %w", id, sdk.ErrNotFound)
	}
	return sdk.Ticket{ID: id, ClientID: "contoso"}, nil
}

// A Manager runs plugin instances and calls their capabilities. In a
// product each instance is a binary the Manager starts (Spec.Path, checked
// against Spec.SHA256) as a separate process; here the plugin serves from
// this process and the Manager reattaches to it, as tests do.
func ExampleManager() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reattach, closed := make(chan *plugin.ReattachConfig, 1), make(chan struct{})
	sc := sdk.ServeConfig(psa{})
	sc.Logger = hclog.NewNullLogger()
	sc.Test = &plugin.ServeTestConfig{Context: ctx, ReattachConfigCh: reattach, CloseCh: closed}
	go plugin.Serve(sc)
	defer func() { cancel(); <-closed }()

	m := plugins.NewManager(plugins.Config{HealthInterval: -1, Logger: slog.New(slog.DiscardHandler)})
	defer m.Close()
	in, err := m.Start(ctx, plugins.Spec{ID: "psa-1", Reattach: <-reattach,
		Config: map[string]string{"url": "https://psa.example.com", "api_key": "k-42"}, Secrets: []string{"api_key"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(in.ID(), in.Info().Name, in.Info().Version, in.Health(ctx))
	t, err := in.Ticket(ctx, "T-1042")
	fmt.Println(t.ID, t.Client, err)
	_, err = in.Ticket(ctx, "T-1")
	fmt.Println(err)
	// Output:
	// psa-1 example-psa 1.0.0 <nil>
	// T-1042 contoso <nil>
	// plugins: instance "psa-1": GetTicket: ticket "T-1": not found: not found
}
