package wire_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/agent/internal/wire"
	"github.com/immyoss/engine/immy"
)

func TestRoundTrip(t *testing.T) {
	nonce := make([]byte, wire.NonceSize)
	msgs := []wire.Message{
		{Type: wire.TypeChallenge, Challenge: &wire.Challenge{Nonce: nonce}},
		{Type: wire.TypeHello, Hello: &wire.Hello{AgentID: "agt-1", Signature: make([]byte, 64), Version: "1.0", Identity: wire.Identity{Hostname: "pc", Kind: "portable"}}},
		{Type: wire.TypeWelcome, Welcome: &wire.Welcome{AgentID: "agt-1", Tenant: "acme", MaxMessage: 1 << 20}},
		{Type: wire.TypeRefused, Refused: &wire.Refused{Code: wire.RefusedToken, Message: "no"}},
		{Type: wire.TypeRun, ID: 1, Run: &wire.Run{Language: "sh", Context: "system", Body: "echo", Parameters: map[string]json.RawMessage{"a": json.RawMessage(`1`)}, TimeoutMS: 5}},
		{Type: wire.TypeCancel, ID: 1},
		{Type: wire.TypeOutput, ID: 1, Output: &wire.Output{Data: []byte{0, 0xff, 'x'}}},
		{Type: wire.TypeResult, ID: 1, Result: &wire.Result{ExitCode: 3, Value: "v", Error: &wire.Error{Kind: wire.ErrorTimeout, Message: "late"}}},
		{Type: wire.TypeInventoryRequest, ID: 2},
		{Type: wire.TypeInventory, ID: 2, Inventory: &wire.Inventory{Software: []wire.Software{{Name: "x", Version: "1.2"}}}},
		{Type: wire.TypeRelease},
		{Type: wire.TypeBye},
	}
	for _, m := range msgs {
		b, err := wire.Encode(m)
		require.NoError(t, err, m.Type)
		got, err := wire.Decode(b)
		require.NoError(t, err, m.Type)
		if diff := cmp.Diff(m, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", m.Type, diff)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct{ in, err string }{
		{`not json`, "wire: malformed message"},
		{`{"type":"hello"} {}`, "wire: malformed message: invalid character '{' after top-level value"},
		{`{}`, "wire: message has no type"},
		{`{"type":"launch"}`, `wire: unknown message type "launch" (want one of bye, cancel, challenge,`},
		{`{"type":"run","id":1}`, "wire: run message lacks its run payload"},
		{`{"type":"cancel"}`, "wire: cancel message has no id"},
		{`{"type":"bye","hello":{}}`, "wire: bye message carries a hello payload"},
		{`{"type":"challenge","challenge":{"nonce":"AAAA"}}`, "wire: challenge nonce is 3 bytes, want 32"},
		{`{"type":"hello","hello":{"signature":""}}`, "wire: hello signature is 0 bytes, want 64\nwire: hello has neither an agent id nor an install token\nwire: enrolling hello's public key is 0 bytes, want 32"},
		{`{"type":"run","id":1,"run":{"timeout_ms":-1,"max_output":-2}}`, "wire: run timeout_ms -1 is negative\nwire: run max_output -2 is negative"},
		{`{"type":"result","id":1,"result":{"error":{}}}`, "wire: result error has no kind"},
	}
	for _, tt := range tests {
		_, err := wire.Decode([]byte(tt.in))
		require.ErrorContains(t, err, tt.err, tt.in)
	}
}

func TestSignature(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	n1, n2 := make([]byte, wire.NonceSize), make([]byte, wire.NonceSize)
	rand.Read(n1)
	rand.Read(n2)
	h := &wire.Hello{AgentID: "agt-1"}
	wire.Sign(priv, n1, h)
	require.True(t, wire.Verify(pub, n1, h))
	require.False(t, wire.Verify(pub, n2, h), "a signature is good for its own challenge only")
	other := *h
	other.AgentID = "agt-2"
	require.False(t, wire.Verify(pub, n1, &other), "nor for another agent")
	enrol := &wire.Hello{InstallToken: "immy1_a", PublicKey: pub}
	wire.Sign(priv, n1, enrol)
	swapped := *enrol
	swapped.InstallToken = "immy1_b"
	require.False(t, wire.Verify(pub, n1, &swapped), "nor for another install token")
	require.False(t, wire.Verify(pub[:5], n1, h))
}

func TestConvert(t *testing.T) {
	inv := immy.Inventory{
		Identity: immy.Identity{UUID: "U", Hostname: "pc", Kind: immy.KindServer},
		Software: []immy.DetectedSoftware{{Name: "a", Version: immy.MustParseVersion("1.02"), Publisher: "Igor Pavlov"}, {Name: "b"}},
		UPNs:     []string{"x@y"},
	}
	got, err := wire.FromInventory(inv).Immy()
	require.NoError(t, err)
	if diff := cmp.Diff(inv, got, cmp.Comparer(func(a, b immy.Version) bool { return a.String() == b.String() })); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	bad := &wire.Inventory{Identity: wire.Identity{Kind: "mainframe"}, Software: []wire.Software{{Name: "a", Version: "x.y"}}}
	_, err = bad.Immy()
	require.Error(t, err)
	require.True(t, strings.Contains(err.Error(), "identity kind") && strings.Contains(err.Error(), `software #1 ("a")`), err.Error())
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"type":"hello","hello":{"agent_id":"a","signature":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="}}`,
		`{"type":"run","id":1,"run":{"language":"sh","body":"echo"}}`,
		`{"type":"output","id":3,"output":{"data":"aGk="}}`,
		`{"type":"bye"}`,
		`[]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := wire.Decode(b)
		if err != nil {
			return
		}
		// What decodes encodes, and decodes to the same message.
		again, err := wire.Encode(m)
		if err != nil {
			t.Fatalf("decoded %q but cannot encode it: %v", b, err)
		}
		m2, err := wire.Decode(again)
		if err != nil {
			t.Fatalf("re-decoding %q: %v", again, err)
		}
		if diff := cmp.Diff(m, m2); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}
