// Package wire is the protocol between the agent and the server: one JSON
// object per WebSocket text message, each naming its type and carrying the
// payload of that type only.
//
// A connection opens with the server's Challenge (a fresh random nonce); the
// agent answers with Hello, signed over that nonce with its Ed25519 key (see
// HelloPayload); the server answers Welcome or Refused. After that the server
// sends Run, Cancel, InventoryRequest and Release; the agent sends Output,
// Result, Inventory and Bye. Requests and their answers share an ID.
package wire

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Subprotocol is the WebSocket subprotocol both sides require.
const Subprotocol = "immy-agent.v1"

// NonceSize is the length of a challenge nonce, in bytes.
const NonceSize = 32

// Type names a message's kind.
type Type string

// The message types.
const (
	TypeChallenge        Type = "challenge"         // server -> agent, first message
	TypeHello            Type = "hello"             // agent -> server, answers the challenge
	TypeWelcome          Type = "welcome"           // server -> agent: authenticated
	TypeRefused          Type = "refused"           // server -> agent: not authenticated, the connection closes
	TypeRun              Type = "run"               // server -> agent: run a script
	TypeCancel           Type = "cancel"            // server -> agent: cancel the run with this ID
	TypeOutput           Type = "output"            // agent -> server: output of a run, in order
	TypeResult           Type = "result"            // agent -> server: a run ended
	TypeInventoryRequest Type = "inventory-request" // server -> agent
	TypeInventory        Type = "inventory"         // agent -> server: answers an inventory request
	TypeRelease          Type = "release"           // server -> agent: an ephemeral agent may exit
	TypeBye              Type = "bye"               // agent -> server: the agent goes away for good
)

// Message is one protocol message. Exactly the payload field of its Type is
// set (none for Cancel, InventoryRequest, Release and Bye).
type Message struct {
	Type      Type       `json:"type"`
	ID        uint64     `json:"id,omitempty"`
	Challenge *Challenge `json:"challenge,omitempty"`
	Hello     *Hello     `json:"hello,omitempty"`
	Welcome   *Welcome   `json:"welcome,omitempty"`
	Refused   *Refused   `json:"refused,omitempty"`
	Run       *Run       `json:"run,omitempty"`
	Output    *Output    `json:"output,omitempty"`
	Result    *Result    `json:"result,omitempty"`
	Inventory *Inventory `json:"inventory,omitempty"`
}

// Challenge opens a connection.
type Challenge struct {
	Nonce []byte `json:"nonce"`
}

// Hello authenticates the agent. Enrolment carries InstallToken and PublicKey
// and no AgentID; a known agent carries its AgentID only. Either way Signature
// is the agent's Ed25519 signature of HelloPayload.
type Hello struct {
	AgentID      string   `json:"agent_id,omitempty"`
	InstallToken string   `json:"install_token,omitempty"`
	PublicKey    []byte   `json:"public_key,omitempty"`
	Signature    []byte   `json:"signature"`
	Version      string   `json:"version,omitempty"` // the agent's build
	OS           string   `json:"os,omitempty"`      // GOOS
	Arch         string   `json:"arch,omitempty"`    // GOARCH
	Ephemeral    bool     `json:"ephemeral,omitempty"`
	Identity     Identity `json:"identity"`
}

// Welcome accepts the agent.
type Welcome struct {
	AgentID  string `json:"agent_id"`
	Tenant   string `json:"tenant"`
	Enrolled bool   `json:"enrolled,omitempty"` // true when this hello enrolled a new agent
	// MaxMessage is the largest message the server reads, in bytes.
	MaxMessage int64 `json:"max_message"`
}

// Refusal codes.
const (
	RefusedToken      = "install-token"  // the install token is unknown, revoked or expired
	RefusedCredential = "credential"     // the signature does not verify against the agent's key
	RefusedUnknown    = "unknown-agent"  // no longer sent: an unknown agent is refused as RefusedCredential, so that refusals tell no agent ids
	RefusedProtocol   = "protocol"       // the hello was malformed
	RefusedInternal   = "internal-error" // the server could not decide; try again later
)

// Refused turns the agent away; the server closes the connection after it.
type Refused struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Run asks the agent to run a script.
type Run struct {
	Language   string                     `json:"language"` // immy.ScriptLanguage spelling
	Context    string                     `json:"context"`  // immy.ScriptContext spelling
	Body       string                     `json:"body"`
	Parameters map[string]json.RawMessage `json:"parameters,omitempty"`
	Secrets    []string                   `json:"secrets,omitempty"`
	TimeoutMS  int64                      `json:"timeout_ms,omitempty"`
	MaxOutput  int                        `json:"max_output,omitempty"`
}

// Output is a chunk of a run's output.
type Output struct {
	Data []byte `json:"data"`
}

// Error kinds of a Result or an Inventory that could not be produced.
const (
	ErrorNoUser      = "no-user"     // a user-context script found nobody logged on
	ErrorUnavailable = "unavailable" // the language's interpreter is not on this machine
	ErrorInvalid     = "invalid"     // the request itself was wrong
	ErrorTimeout     = "timeout"     // the run's timeout passed; the script was stopped
	ErrorCanceled    = "canceled"    // the run was cancelled; the script was stopped
	ErrorPermission  = "permission"  // the agent may not do this (user context without root)
	ErrorTooLarge    = "too-large"   // the answer would exceed the server's message limit
	ErrorFailed      = "failed"      // anything else that kept the work from being done
)

// Error says why a run or an inventory could not be done.
type Error struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

// Result ends a run. Output came before it in Output messages.
type Result struct {
	ExitCode  int    `json:"exit_code"`
	Truncated bool   `json:"truncated,omitempty"`
	Value     string `json:"value,omitempty"`
	Error     *Error `json:"error,omitempty"`
}

// Inventory answers an InventoryRequest.
type Inventory struct {
	Identity Identity   `json:"identity"`
	Software []Software `json:"software,omitempty"`
	UPNs     []string   `json:"upns,omitempty"`
	Error    *Error     `json:"error,omitempty"`
}

// Identity is immy.Identity on the wire.
type Identity struct {
	UUID         string `json:"uuid,omitempty"`
	Serial       string `json:"serial,omitempty"`
	Manufacturer string `json:"manufacturer,omitempty"`
	Model        string `json:"model,omitempty"`
	Hostname     string `json:"hostname,omitempty"`
	OS           string `json:"os,omitempty"`
	OSVersion    string `json:"os_version,omitempty"`
	OSInstallID  string `json:"os_install_id,omitempty"`
	Kind         string `json:"kind,omitempty"` // immy.ComputerKind spelling
	Domain       string `json:"domain,omitempty"`
}

// Software is immy.DetectedSoftware on the wire.
type Software struct {
	Name        string `json:"name"`
	Version     string `json:"version,omitempty"`
	ProductCode string `json:"product_code,omitempty"`
	UpgradeCode string `json:"upgrade_code,omitempty"`
	Publisher   string `json:"publisher,omitempty"` // absent from older agents
}

// Encode renders m as one message.
func Encode(m Message) ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("wire: encode %s: %w", m.Type, err)
	}
	return b, nil
}

// Decode parses and validates one message. Unknown fields are ignored, so
// that a newer peer may add some; an unknown type is an error.
func Decode(b []byte) (Message, error) {
	var m Message
	if err := json.Unmarshal(b, &m); err != nil {
		return Message{}, fmt.Errorf("wire: malformed message: %w", err)
	}
	if err := m.Validate(); err != nil {
		return Message{}, err
	}
	return m, nil
}

// payloads lists which payload each type carries.
var payloads = map[Type]string{
	TypeChallenge:        "challenge",
	TypeHello:            "hello",
	TypeWelcome:          "welcome",
	TypeRefused:          "refused",
	TypeRun:              "run",
	TypeCancel:           "",
	TypeOutput:           "output",
	TypeResult:           "result",
	TypeInventoryRequest: "",
	TypeInventory:        "inventory",
	TypeRelease:          "",
	TypeBye:              "",
}

// needsID lists the types that belong to a request.
var needsID = map[Type]bool{TypeRun: true, TypeCancel: true, TypeOutput: true, TypeResult: true, TypeInventoryRequest: true, TypeInventory: true}

// Validate checks that m's payload matches its type and holds what the type
// requires, reporting every problem at once.
func (m Message) Validate() error {
	want, ok := payloads[m.Type]
	if !ok {
		if m.Type == "" {
			return errors.New("wire: message has no type")
		}
		return fmt.Errorf("wire: unknown message type %q (want one of %s)", m.Type, strings.Join(typeNames(), ", "))
	}
	var errs []error
	have := map[string]bool{
		"challenge": m.Challenge != nil, "hello": m.Hello != nil, "welcome": m.Welcome != nil,
		"refused": m.Refused != nil, "run": m.Run != nil, "output": m.Output != nil,
		"result": m.Result != nil, "inventory": m.Inventory != nil,
	}
	for _, name := range slices.Sorted(maps.Keys(have)) {
		switch {
		case have[name] && name != want:
			errs = append(errs, fmt.Errorf("wire: %s message carries a %s payload", m.Type, name))
		case !have[name] && name == want:
			errs = append(errs, fmt.Errorf("wire: %s message lacks its %s payload", m.Type, name))
		}
	}
	if needsID[m.Type] && m.ID == 0 {
		errs = append(errs, fmt.Errorf("wire: %s message has no id", m.Type))
	}
	switch {
	case m.Challenge != nil && len(m.Challenge.Nonce) != NonceSize:
		errs = append(errs, fmt.Errorf("wire: challenge nonce is %d bytes, want %d", len(m.Challenge.Nonce), NonceSize))
	case m.Hello != nil:
		errs = append(errs, m.Hello.validate()...)
	case m.Refused != nil && m.Refused.Code == "":
		errs = append(errs, errors.New("wire: refused message has no code"))
	case m.Welcome != nil && m.Welcome.AgentID == "":
		errs = append(errs, errors.New("wire: welcome message has no agent id"))
	case m.Run != nil:
		if m.Run.TimeoutMS < 0 {
			errs = append(errs, fmt.Errorf("wire: run timeout_ms %d is negative", m.Run.TimeoutMS))
		}
		if m.Run.MaxOutput < 0 {
			errs = append(errs, fmt.Errorf("wire: run max_output %d is negative", m.Run.MaxOutput))
		}
	case m.Result != nil && m.Result.Error != nil && m.Result.Error.Kind == "":
		errs = append(errs, errors.New("wire: result error has no kind"))
	case m.Inventory != nil && m.Inventory.Error != nil && m.Inventory.Error.Kind == "":
		errs = append(errs, errors.New("wire: inventory error has no kind"))
	}
	return errors.Join(errs...)
}

func (h *Hello) validate() []error {
	var errs []error
	if len(h.Signature) != ed25519.SignatureSize {
		errs = append(errs, fmt.Errorf("wire: hello signature is %d bytes, want %d", len(h.Signature), ed25519.SignatureSize))
	}
	if h.AgentID == "" {
		if h.InstallToken == "" {
			errs = append(errs, errors.New("wire: hello has neither an agent id nor an install token"))
		}
		if len(h.PublicKey) != ed25519.PublicKeySize {
			errs = append(errs, fmt.Errorf("wire: enrolling hello's public key is %d bytes, want %d", len(h.PublicKey), ed25519.PublicKeySize))
		}
	} else if h.InstallToken != "" || len(h.PublicKey) != 0 {
		errs = append(errs, errors.New("wire: hello carries both an agent id and enrolment fields"))
	}
	return errs
}

func typeNames() []string {
	var s []string
	for t := range payloads {
		s = append(s, string(t))
	}
	slices.Sort(s)
	return s
}

// helloDomain separates hello signatures from anything else the key might sign.
const helloDomain = "immy-agent hello v1\x00"

// HelloPayload is what the agent signs: the challenge's nonce bound to the
// agent id, the enrolling public key and a digest of the install token, so a
// signature is good for one connection and one claim only.
func HelloPayload(nonce []byte, h *Hello) []byte {
	tok := sha256.Sum256([]byte(h.InstallToken))
	var b bytes.Buffer
	b.WriteString(helloDomain)
	b.Write(nonce)
	b.WriteByte(0)
	b.WriteString(h.AgentID)
	b.WriteByte(0)
	b.Write(h.PublicKey)
	b.WriteByte(0)
	b.Write(tok[:])
	return b.Bytes()
}

// Sign sets h.Signature for nonce with key.
func Sign(key ed25519.PrivateKey, nonce []byte, h *Hello) {
	h.Signature = ed25519.Sign(key, HelloPayload(nonce, h))
}

// Verify reports whether h is signed for nonce by pub.
func Verify(pub ed25519.PublicKey, nonce []byte, h *Hello) bool {
	if len(pub) != ed25519.PublicKeySize {
		return false
	}
	return ed25519.Verify(pub, HelloPayload(nonce, h), h.Signature)
}
