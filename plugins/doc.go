// Package plugins runs the engine's integrations (RMM and PSA products) as
// separate processes over hashicorp/go-plugin, the way Terraform runs its
// providers: a plugin that crashes or misbehaves cannot take the engine down,
// and plugins are written, built and shipped apart from it.
//
// # The pieces
//
//   - The wire contract is a versioned gRPC protocol in plugins/proto, with
//     its generated code checked in. Protocol 2 is current; protocol 1, the
//     first release, is still served, so an old plugin keeps working.
//   - The host side is this package: a Manager, owned by the caller, starts
//     plugin instances, checks them and restarts them.
//   - Plugin authors use plugins/sdk, which hides the protocol behind Go
//     interfaces, and test with plugins/sdk/sdktest.
//
// # Starting plugins
//
// A Spec names a plugin binary, its SHA-256, and the instance's configuration;
// several instances of one binary may run with different configurations:
//
//	m := plugins.NewManager(plugins.Config{Logger: logger})
//	defer m.Close() // kills every plugin process
//	rmm, err := m.Start(ctx, plugins.Spec{
//		ID: "ninja-eu", Path: "/opt/immy/plugins/ninja", SHA256: sum,
//		Config:  map[string]string{"region": "eu", "api_key": key},
//		Secrets: []string{"api_key"}, // never logged, by host or SDK
//	})
//
// Start checks the checksum before the binary runs and refuses one that does
// not match (a *ChecksumError); go-plugin checks again as it executes it. The
// connection is gRPC over a local socket with mutual TLS (go-plugin's
// AutoMTLS), and the protocol version is negotiated: the newest one both
// sides speak. The plugin describes itself (name, version, capabilities) and
// is configured; then the Instance serves calls.
//
// # Calls and failures
//
// Instance's methods map onto the capabilities: ListClients, ListAgents
// (streamed in batches: a hundred thousand agents in well under a second),
// RunScript (streamed output, the deadline of ctx, cancellation), DeviceGroups,
// ClientGroups, Ticket, InstallToken, DynamicVersions, SetMaintenanceMode,
// AgentLink and Inventory. A capability the plugin lacks is ErrUnsupported. Instance
// implements immy.ScriptRunner, with the agent's id in ScriptRequest.Computer;
// PathwayRunner implements it over computers, trying their pathways in order.
//
// # Computers reached only through an RMM
//
// IntegrationRunner is what a session.Config's Runners holds for one
// instance: it takes computer ids, runs scripts on each computer's agent of
// that instance, and is an immy.InventorySource that answers from the
// plugin's inventory capability (GetInventory) when it has one, and
// ErrUnsupported otherwise, upon which the session runs the built-in
// inventory script of package immy/inventory through RunScript and reads it
// with the agent's own parser. A computer whose only pathway is an RMM is
// thus inventoried, detected, changed and verified through the RMM:
//
//	engine, err := session.New(session.Config{Planner: planner,
//		Runners: map[string]immy.ScriptRunner{"ninja-eu": &plugins.IntegrationRunner{Instance: rmm, Computer: lookup}}})
//
// A plugin author whose RMM runs scripts but lists no software may serve
// the capability by running inventory.Script through the RMM and returning
// what inventory.Parse read (the example RMM plugin does, with
// -native-inventory).
//
// DynamicLister turns an instance's DynamicVersions into a source of
// session/dynamic (a software whose versions come from the integration).
//
// What a plugin answers is checked before it becomes an engine type: ids
// present and unique, sizes bounded, enums known, dates and versions parsed.
// Bad records are skipped and reported all together in a *ResponseError; the
// good ones are still delivered. Errors the plugin reports on purpose arrive
// as immy.ErrOffline, immy.ErrNoUserLoggedOn, immy.ErrNotFound or
// immy.ErrInvalid.
//
// A plugin process that exits during a call fails that call with a
// *CrashError (errors.Is ErrCrashed): what it was doing did not complete, and
// the session retries it after detecting the state again. For RunScript, a
// crash, a lost connection, a stopped or failed instance and an offline agent
// all match immy.ErrOffline, so the session waits for the computer and
// detects again rather than failing the action; ErrNotDelivered beside it
// marks the cases where the script provably never reached the agent, the only
// ones after which PathwayRunner tries the next pathway. The manager
// restarts the plugin with exponential backoff (Config.RestartDelay up to
// MaxRestartDelay); calls made meanwhile wait for it, within their ctx. A
// plugin that misses two health checks is killed and restarted too. After
// MaxStartAttempts failed starts in a row, or a refused checksum or
// configuration, the instance is Failed and calls fail with ErrFailed.
//
// A plugin's processes do not outlive it. On Unix the host starts each
// plugin in its own process group and kills that group when the plugin
// exits, crashes, is killed or stopped; the SDK's StartChild ties the
// processes a plugin runs for a call (each in a group of its own) to the
// plugin by a watchdog, by the parent-death signal on Linux, and by a job
// object on Windows.
//
// # Host services
//
// Each instance gets services from the engine through go-plugin's broker:
// logging (its records reach Config.Logger with the attribute plugin=ID),
// progress reports (Config.Progress), and a private key-value context
// (Config.Store) that only that instance sees and that survives its restarts.
// What a plugin writes to stderr, panics included, reaches the logger too.
// The values of the instance's secret configuration keys (Spec.Secrets) are
// masked as "[redacted]" in everything the host logs of the instance and in
// every error a call returns, as the SDK masks them on the plugin's side;
// RunScript also masks the request's secret parameters, in its errors and in
// the script's output (streamed and kept) and value. Masking hides the
// common transforms of a secret too (other letter case, base64 at any
// alignment, hex, URL and JSON escaping; the engine's one masker), and is
// done on the output as it arrives, before the cap: the tail of a chunk
// that may start a secret waits for the next chunk.
//
// # Identification
//
// Identifier.Identify merges the agents of every integration, and of the
// engine's own agent, into computers: one machine, however many agents reach
// it. The hardware UUID identifies a machine, bogus UUIDs rejected (all zeros,
// all F, 03000200-0400-0500-0006-000700080009); serial and manufacturer guard
// against clones sharing a UUID; machines of trusted manufacturers are known
// by their serial. A changed OS installation id marks a wiped machine, which
// needs onboarding again. A computer's agents become its pathways, ordered by
// a per-integration priority; the computer is online when any pathway is.
// Events tell the operator what was merged, suspected or unidentified.
//
// A machine with no hardware identity at all (a container, a virtual
// machine without SMBIOS) has one narrow fallback: agents of one tenant
// that report no UUID, serial, manufacturer or model (not even a bogus
// one), one hostname (letter case ignored; never "localhost") and one OS
// family (Windows, macOS, Linux, BSD), one agent per integration, are one
// computer, reported by an EventHostnameMatch. Anything hardware reported by
// any of the tenant's agents of that hostname, two agents of one
// integration, or families that differ keep them all apart: a machine with
// a UUID is never joined by its hostname, and the fallback never reaches
// another tenant or an agent of none.
//
// Identification never crosses tenants: an agent's tenant is its client's
// (the ClientMap), or the tenant its install token enrolled it for; it joins
// only computers of its own tenant (or of none). An agent whose client is
// not mapped yet stays a computer of its own, of no tenant, until it is:
// its pathway would otherwise receive a tenant's scripts and secrets on a
// claim of hardware nobody vouched for.
//
// Clients map to tenants through a ClientMap; Agreements turns PSA client
// groups into the fleet's agreements for client-group targets; ResolveTicket
// and TicketDeployments serve the technician tools.
package plugins
