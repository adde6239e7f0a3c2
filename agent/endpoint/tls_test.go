package endpoint_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/agent/endpoint"
)

func TestParsePin(t *testing.T) {
	hex := strings.Repeat("ab", 32)
	colons := strings.TrimSuffix(strings.Repeat("AB:", 32), ":")
	var want endpoint.Pin
	for i := range want {
		want[i] = 0xab
	}
	for _, s := range []string{hex, "sha256:" + hex, colons, "sha256 Fingerprint=" + colons, " " + hex + "\n"} {
		p, err := endpoint.ParsePin(s)
		require.NoError(t, err, s)
		require.Equal(t, want, p, s)
	}
	require.Equal(t, "sha256:"+hex, want.String())
	for s, msg := range map[string]string{
		"":                                 "want the certificate's SHA-256 as 64 hex digits, got 0",
		strings.Repeat("ab", 20):           "got 40",
		strings.Repeat("zz", 32):           "invalid byte",
		"sha1:" + strings.Repeat("ab", 32): "got 68",
	} {
		_, err := endpoint.ParsePin(s)
		require.ErrorContains(t, err, msg, s)
	}
}

// selfSigned is a certificate for other.example, signed by nobody.
func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "other.example"}, DNSNames: []string{"other.example"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}
}

func handshake(t *testing.T, addr string, cfg *tls.Config) error {
	t.Helper()
	c, err := tls.Dial("tcp", addr, cfg)
	if err == nil {
		c.Close()
	}
	return err
}

func TestPinnedTLS(t *testing.T) {
	ok := func(w http.ResponseWriter, r *http.Request) {}
	signed := httptest.NewTLSServer(http.HandlerFunc(ok)) // the test CA's certificate for 127.0.0.1
	defer signed.Close()
	self := httptest.NewUnstartedServer(http.HandlerFunc(ok))
	cert := selfSigned(t)
	self.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	self.StartTLS()
	defer self.Close()
	addr := func(s *httptest.Server) string { return strings.TrimPrefix(s.URL, "https://") }

	signedPin, selfPin := endpoint.PinOf(signed.Certificate()), endpoint.PinOf(cert.Leaf)
	cfg, err := endpoint.PinnedTLS(selfPin)
	require.NoError(t, err)
	require.NoError(t, handshake(t, addr(self), cfg), "a self-signed certificate for another name, pinned")
	err = handshake(t, addr(signed), cfg)
	require.ErrorContains(t, err, "endpoint: the server's certificate "+signedPin.String()+" matches no pinned certificate")

	both, err := endpoint.PinnedTLS(signedPin, selfPin)
	require.NoError(t, err)
	require.NoError(t, handshake(t, addr(signed), both), "any of several pins")
	require.NoError(t, handshake(t, addr(self), both))

	require.Error(t, handshake(t, addr(self), &tls.Config{}), "without the pin the self-signed server is refused")
	_, err = endpoint.PinnedTLS()
	require.EqualError(t, err, "endpoint: PinnedTLS: no pin")
}

func TestCATLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})

	only, err := endpoint.CATLS(caPEM, true)
	require.NoError(t, err)
	want := x509.NewCertPool()
	want.AddCert(srv.Certificate())
	require.True(t, only.RootCAs.Equal(want), "with only, the given CA and nothing else")

	besides, err := endpoint.CATLS(caPEM, false)
	require.NoError(t, err)
	if system, err := x509.SystemCertPool(); err == nil {
		system.AddCert(srv.Certificate())
		require.True(t, besides.RootCAs.Equal(system), "without only, the system's CAs and the given one")
	}
	for _, cfg := range []*tls.Config{only, besides} {
		require.NoError(t, handshake(t, strings.TrimPrefix(srv.URL, "https://"), cfg))
	}
	_, err = endpoint.CATLS([]byte("not PEM"), true)
	require.EqualError(t, err, "endpoint: no PEM certificate among the CAs")
}

func FuzzParsePin(f *testing.F) {
	for _, s := range []string{strings.Repeat("ab", 32), "sha256:" + strings.Repeat("0", 64), strings.TrimSuffix(strings.Repeat("AB:", 32), ":"), "", "sha256 Fingerprint=zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := endpoint.ParsePin(s)
		if err != nil {
			return
		}
		again, err := endpoint.ParsePin(p.String())
		if err != nil || again != p {
			t.Fatalf("pin %q reads as %s, which reads back as %s, %v", s, p, again, err)
		}
	})
}
