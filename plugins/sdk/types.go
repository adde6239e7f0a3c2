package sdk

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"time"

	"github.com/immyoss/engine/immy"
)

// Integration is the base every plugin implements: it says what it is, takes
// its configuration, and reports its health. Capabilities are the optional
// interfaces below (ClientLister, AgentLister, ScriptRunner, ...): Serve
// declares to the engine exactly those the implementation has.
type Integration interface {
	// Info tells the plugin's name and version. It must not depend on the configuration.
	Info() Info
	// Configure hands the plugin its instance configuration and the host's
	// services. It is called once, before any capability; an error wrapping
	// ErrInvalid tells the engine the configuration is wrong (it then does not
	// restart the plugin in a loop).
	Configure(ctx context.Context, cfg Config, host *Host) error
	// Health returns nil when the integration can work, else the reason it cannot.
	Health(ctx context.Context) error
}

// Info is what a plugin says of itself.
type Info struct {
	Name        string
	Version     string
	Description string
	// ConfigFields documents the configuration keys the plugin reads.
	ConfigFields []ConfigField
}

// ConfigField is one configuration key.
type ConfigField struct {
	Key         string
	Description string
	Required    bool
	Secret      bool
}

// ClientLister lists the integration's clients (the engine's tenants).
type ClientLister interface {
	// ListClients calls emit for every client; the SDK sends them in batches.
	// Stop and return emit's error when it returns one.
	ListClients(ctx context.Context, emit func(Client) error) error
}

// AgentLister lists the integration's agents (the engine's computers).
type AgentLister interface {
	// ListAgents calls emit for every agent; the SDK sends them in batches, so
	// a hundred thousand agents stream without being held at once. Stop and
	// return emit's error when it returns one.
	ListAgents(ctx context.Context, emit func(Agent) error) error
}

// ScriptRunner runs scripts on agents.
type ScriptRunner interface {
	// RunScript runs req on its agent, writing output to output as it comes
	// (output is safe for concurrent writes). ctx carries the deadline and is
	// cancelled when the engine cancels the run. A script that ran and failed
	// is a result with its exit code; return ErrOffline when the agent is
	// offline, ErrNoUserLoggedOn for a user script with nobody logged on.
	RunScript(ctx context.Context, req ScriptRequest, output io.Writer) (ScriptResult, error)
}

// DeviceGroupLister lists an RMM's device groups.
type DeviceGroupLister interface {
	ListDeviceGroups(ctx context.Context) ([]DeviceGroup, error)
}

// ClientGroupLister lists a PSA's agreement types and products with the
// clients' agreements.
type ClientGroupLister interface {
	ListClientGroups(ctx context.Context) ([]ClientGroup, error)
}

// TicketFinder looks up tickets; ErrNotFound for an unknown ticket.
type TicketFinder interface {
	Ticket(ctx context.Context, id string) (Ticket, error)
}

// InstallTokenIssuer issues tokens that install the integration's agent.
type InstallTokenIssuer interface {
	InstallToken(ctx context.Context, clientID string) (InstallToken, error)
}

// DynamicVersionLister lists the versions of a software the integration can install.
type DynamicVersionLister interface {
	DynamicVersions(ctx context.Context, software string) ([]DynamicVersion, error)
}

// InventoryReporter reports the software installed on an agent's machine,
// as the integration knows it (capability inventory). An integration whose
// API lists no software can still implement it by running the built-in
// inventory script of package immy/inventory through its own run-script
// and returning what inventory.Parse read; without it, the engine runs that
// script through RunScript itself. ErrNotFound for an unknown agent,
// ErrOffline for one that cannot answer now.
type InventoryReporter interface {
	Inventory(ctx context.Context, agentID string) ([]InstalledSoftware, error)
}

// InstalledSoftware is one entry of an agent's inventory.
type InstalledSoftware struct {
	Name        string // the display name; required
	Version     string // as the installer or package manager wrote it; "" when unknown
	Publisher   string
	ProductCode string // Windows Installer product code, a braced GUID; "" when none
	UpgradeCode string // Windows Installer upgrade code; "" when none
}

// MaintenanceModeSetter turns the integration's maintenance mode on or off.
type MaintenanceModeSetter interface {
	// SetMaintenanceMode: d bounds it when on; 0 means until turned off.
	SetMaintenanceMode(ctx context.Context, agentID string, on bool, d time.Duration) error
}

// AgentLinker gives links into the integration's console.
type AgentLinker interface {
	AgentLink(ctx context.Context, agentID string, kind LinkKind) (string, error)
}

// Errors a plugin returns for the engine to tell apart; wrap them with %w.
var (
	ErrOffline        = immy.ErrOffline
	ErrNoUserLoggedOn = immy.ErrNoUserLoggedOn
	ErrNotFound       = immy.ErrNotFound
	ErrInvalid        = immy.ErrInvalid
)

// Client is a customer of the integration.
type Client struct {
	ID   string
	Name string
}

// Agent is one agent of the integration.
type Agent struct {
	ID       string
	ClientID string
	Name     string
	Online   bool
	LastSeen time.Time // zero when unknown
	Identity immy.Identity
}

// ScriptRequest is one script to run on one agent.
type ScriptRequest struct {
	AgentID string
	// Script.Language is PowerShell, Cmd or Shell; Script.Context system or user.
	Script     immy.Script
	Parameters map[string]any // string, float64, bool, map[string]any, []any
	// Secrets names the parameters whose values must never be logged or echoed.
	Secrets []string
	// Timeout is also in ctx's deadline; it is here for runners that pass it on.
	Timeout time.Duration
	// MaxOutput is what the engine keeps; the SDK drops output beyond it.
	MaxOutput int
	// Operation names the run in Host.Progress calls.
	Operation string
}

// ScriptResult is how a script ended. The output went to RunScript's writer.
type ScriptResult struct {
	ExitCode int
	// Value is the script's value; empty lets the engine take the last
	// non-empty line of output.
	Value string
}

// DeviceGroup is a group of agents in an RMM.
type DeviceGroup struct {
	ID       string
	Name     string
	AgentIDs []string
}

// ClientGroupKind tells an agreement type from a product.
type ClientGroupKind int

// Kinds of client group.
const (
	AgreementType ClientGroupKind = iota + 1
	Product
)

// ClientGroup is an agreement type or a product, with its agreements.
type ClientGroup struct {
	ID         string
	Name       string
	Kind       ClientGroupKind
	Agreements []Agreement
}

// Agreement is a client's agreement; the dates are whole days, both inclusive,
// a zero date an open bound.
type Agreement struct {
	ID       string
	ClientID string
	From, To immy.Date
}

// Ticket is a PSA ticket.
type Ticket struct {
	ID       string
	Subject  string
	ClientID string
	Person   *Person // nil when the ticket names nobody
	AgentID  string  // the agent of the ticket's computer, "" when none
}

// Person is the person a ticket names.
type Person struct {
	UPN, Name, Email string
}

// InstallToken installs the integration's agent. The token is a secret.
type InstallToken struct {
	Token   string
	Expires time.Time
}

// DynamicVersion is one installable version of a software.
type DynamicVersion struct {
	Version  string
	URL      string
	FileName string
	SHA256   string
}

// LinkKind is the kind of console link.
type LinkKind int

// Kinds of link.
const (
	LinkPage LinkKind = iota
	LinkRemoteSession
)

// Config is a plugin instance's configuration. Secret values never appear in
// its String or LogValue.
type Config struct {
	instance string
	values   map[string]string
	secret   map[string]bool
}

// NewConfig builds a Config, for tests of a plugin's Configure.
func NewConfig(instance string, values map[string]string, secrets ...string) Config {
	c := Config{instance: instance, values: map[string]string{}, secret: map[string]bool{}}
	for k, v := range values {
		c.values[k] = v
	}
	for _, k := range secrets {
		c.secret[k] = true
	}
	return c
}

// Instance returns the engine's id of this plugin instance.
func (c Config) Instance() string { return c.instance }

// Get returns the value of key, "" when absent.
func (c Config) Get(key string) string { return c.values[key] }

// Lookup returns the value of key and whether it is set.
func (c Config) Lookup(key string) (string, bool) {
	v, ok := c.values[key]
	return v, ok
}

// IsSecret reports whether key is marked secret.
func (c Config) IsSecret(key string) bool { return c.secret[key] }

// Keys returns the keys, sorted.
func (c Config) Keys() []string {
	keys := make([]string, 0, len(c.values))
	for k := range c.values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// secrets returns the secret values, for redaction.
func (c Config) secrets() []string {
	var out []string
	for k := range c.secret {
		out = append(out, c.values[k])
	}
	return out
}

// String lists the configuration with secret values hidden.
func (c Config) String() string {
	b := []byte("{")
	for i, k := range c.Keys() {
		if i > 0 {
			b = append(b, ' ')
		}
		v := c.values[k]
		if c.secret[k] {
			v = "[redacted]"
		}
		b = append(b, k...)
		b = append(b, '=')
		b = append(b, v...)
	}
	return string(append(b, '}'))
}

// LogValue hides secret values from slog.
func (c Config) LogValue() slog.Value {
	attrs := make([]slog.Attr, 0, len(c.values))
	for _, k := range c.Keys() {
		v := c.values[k]
		if c.secret[k] {
			v = "[redacted]"
		}
		attrs = append(attrs, slog.String(k, v))
	}
	return slog.GroupValue(attrs...)
}
