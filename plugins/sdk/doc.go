// Package sdk is what an integration author writes a plugin with. A plugin is
// a program whose main calls Serve with a value implementing Integration
// (name, configuration, health) and any of the capability interfaces:
// ClientLister, AgentLister, ScriptRunner, DeviceGroupLister,
// ClientGroupLister, TicketFinder, InstallTokenIssuer, DynamicVersionLister,
// MaintenanceModeSetter, AgentLinker. Serve tells the engine exactly the
// capabilities the value has; no generated protocol type appears here.
//
//	type myRMM struct{ api *Client }
//
//	func (p *myRMM) Info() sdk.Info { return sdk.Info{Name: "my-rmm", Version: "1.0.0"} }
//
//	func (p *myRMM) Configure(ctx context.Context, cfg sdk.Config, host *sdk.Host) error {
//		p.api = NewClient(cfg.Get("url"), cfg.Get("api_key"))
//		host.Logger().Info("configured", "config", cfg) // secret values print as [redacted]
//		return nil
//	}
//
//	func (p *myRMM) Health(ctx context.Context) error { return p.api.Ping(ctx) }
//
//	func (p *myRMM) ListAgents(ctx context.Context, emit func(sdk.Agent) error) error {
//		for page := range p.api.Devices(ctx) {
//			for _, d := range page {
//				if err := emit(sdk.Agent{ID: d.ID, ClientID: d.Org, Online: d.Online,
//					Identity: immy.Identity{UUID: d.SMBIOSUUID, Serial: d.Serial}}); err != nil {
//					return err
//				}
//			}
//		}
//		return nil
//	}
//
//	func main() { sdk.Serve(&myRMM{}) }
//
// The SDK streams listings in batches, streams a script's output as it is
// written, passes the engine's deadline and cancellation through ctx, turns a
// panic into an error of the call, and maps the errors ErrOffline,
// ErrNoUserLoggedOn, ErrNotFound and ErrInvalid (wrap them with %w) to the
// engine's. Values of secret configuration keys and secret script parameters,
// and their common transforms (other letter case, base64, hex, URL and JSON
// escaping), are kept out of the logs, error messages, script output and
// values it sends.
//
// A plugin that runs processes (scripts, installers, a vendor's tool) starts
// them with StartChild or RunChild: a process and everything it starts then
// die when the call's context ends, and when the plugin process dies however
// it dies (kill -9 included), through a process group and a watchdog on
// Unix, the parent-death signal on Linux, and a job object on Windows.
//
// Host gives the plugin the engine's services: a logger, progress reports,
// and a private key-value context for cursors and tokens that must outlive a
// restart.
//
// Test a plugin with plugins/sdk/sdktest: its Harness serves the plugin in the
// test process over the real gRPC stack, and its Suite checks what the engine
// relies on. The programs examples/rmm-plugin and examples/psa-plugin are
// complete plugins.
package sdk
