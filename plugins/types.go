package plugins

import (
	"log/slog"
	"time"

	"github.com/immyoss/engine/immy"
)

// Capability is one optional part of an integration.
type Capability string

// The capabilities an integration may declare.
const (
	CapClients         Capability = "clients"          // list clients (the engine's tenants)
	CapAgents          Capability = "agents"           // list agents (the engine's computers)
	CapRunScript       Capability = "run-script"       // run a script on an agent
	CapDeviceGroups    Capability = "device-groups"    // the RMM's device groups
	CapClientGroups    Capability = "client-groups"    // PSA agreement types and products, with agreements
	CapTickets         Capability = "tickets"          // look up a ticket's client, person and computer
	CapInstallToken    Capability = "install-token"    // a token that installs the integration's agent
	CapDynamicVersions Capability = "dynamic-versions" // versions of a software the integration can install
	CapMaintenanceMode Capability = "maintenance-mode" // suppress the integration's alerts for an agent
	CapAgentLinks      Capability = "agent-links"      // links to an agent's page or a remote session
	CapInventory       Capability = "inventory"        // the software installed on an agent's machine
)

// Info is what a plugin says of itself, and the protocol version it speaks.
type Info struct {
	Name         string
	Version      string
	Description  string
	Protocol     int          // the negotiated protocol version
	Capabilities []Capability // sorted
	ConfigFields []ConfigField
}

// Has reports whether the plugin declared c.
func (i Info) Has(c Capability) bool {
	for _, x := range i.Capabilities {
		if x == c {
			return true
		}
	}
	return false
}

// ConfigField is one configuration key a plugin reads.
type ConfigField struct {
	Key         string
	Description string
	Required    bool
	Secret      bool
}

// Client is a customer as the integration knows it; a ClientMap maps it to a tenant.
type Client struct {
	Integration string // instance id
	ID          string
	Name        string
}

// Agent is one agent of an integration (or of the engine's own agent, with
// Integration ""): the input of identification.
type Agent struct {
	Integration string // instance id; "" for the engine's own agent
	ID          string
	Client      string // the integration's client id
	Name        string
	Online      bool
	LastSeen    time.Time // zero when unknown
	Identity    immy.Identity
}

// DeviceGroup is an RMM's group of agents.
type DeviceGroup struct {
	Integration string
	ID          string
	Name        string
	Agents      []string // agent ids, sorted
}

// ClientGroupKind tells an agreement type from a product.
type ClientGroupKind string

// Kinds of client group.
const (
	AgreementType ClientGroupKind = "agreement-type"
	Product       ClientGroupKind = "product"
)

// ClientGroup is a PSA agreement type or product, with the clients' agreements.
type ClientGroup struct {
	Integration string
	ID          string
	Name        string
	Kind        ClientGroupKind
	Agreements  []ClientAgreement // sorted by id
}

// ClientAgreement is one client's agreement in a client group.
type ClientAgreement struct {
	ID       string
	Client   string // the integration's client id
	From, To immy.Date
}

// Ticket is a PSA ticket as technician tools see it.
type Ticket struct {
	Integration string
	ID          string
	Subject     string
	Client      string // the integration's client id
	Person      *TicketPerson
	Agent       string // agent of the ticket's computer, "" when none
}

// TicketPerson is the person a ticket names.
type TicketPerson struct {
	UPN, Name, Email string
}

// InstallToken installs an integration's agent for a client. The token is a
// secret: String and LogValue hide it.
type InstallToken struct {
	Token   string
	Expires time.Time // zero when it does not expire
}

// String hides the token.
func (t InstallToken) String() string { return "install token [redacted]" }

// LogValue hides the token from slog.
func (t InstallToken) LogValue() slog.Value {
	return slog.GroupValue(slog.String("token", "[redacted]"), slog.Time("expires", t.Expires))
}

// DynamicVersion is a version of a software that an integration can install.
type DynamicVersion struct {
	Version  immy.Version
	URL      string
	FileName string
	SHA256   string // lower-case hex, "" when unknown
}

// LinkKind is the kind of console link asked of AgentLink.
type LinkKind int

// Kinds of link.
const (
	LinkPage          LinkKind = iota // the agent's page in the integration's console
	LinkRemoteSession                 // a remote session on the agent
)

// Progress is a plugin's report of how far an operation has come.
type Progress struct {
	Instance  string
	Operation string  // the operation id; "" for the instance as a whole
	Percent   float64 // 0 to 100; negative when unknown
	Message   string
}
