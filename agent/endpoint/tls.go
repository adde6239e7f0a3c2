package endpoint

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Pin is the SHA-256 of a server certificate (of its DER encoding), as
// `openssl x509 -noout -fingerprint -sha256 -in server.pem` prints it.
type Pin [sha256.Size]byte

// ParsePin reads a pin: 64 hex digits, optionally in pairs separated by
// colons (openssl's form), optionally prefixed "sha256:" or openssl's
// "sha256 Fingerprint=".
func ParsePin(s string) (Pin, error) {
	t := strings.TrimSpace(s)
	for _, prefix := range []string{"sha256 Fingerprint=", "SHA256 Fingerprint=", "sha256:", "SHA256:"} {
		t = strings.TrimPrefix(t, prefix)
	}
	t = strings.ReplaceAll(t, ":", "")
	var p Pin
	if len(t) != 2*len(p) {
		return Pin{}, fmt.Errorf("endpoint: pin %q: want the certificate's SHA-256 as 64 hex digits, got %d", s, len(t))
	}
	if _, err := hex.Decode(p[:], []byte(t)); err != nil {
		return Pin{}, fmt.Errorf("endpoint: pin %q: %w", s, err)
	}
	return p, nil
}

// PinOf returns the pin of a certificate.
func PinOf(cert *x509.Certificate) Pin { return sha256.Sum256(cert.Raw) }

func (p Pin) String() string { return "sha256:" + hex.EncodeToString(p[:]) }

// PinnedTLS returns a TLS configuration that accepts a server only when its
// certificate is one of pins, whoever issued it and whatever names it holds
// (a self-signed certificate will do): the pin replaces the CA and name
// checks, and a certificate renewed with a new key or a new signature needs
// a new pin (give the next one beside the current one before renewing).
func PinnedTLS(pins ...Pin) (*tls.Config, error) {
	if len(pins) == 0 {
		return nil, errors.New("endpoint: PinnedTLS: no pin")
	}
	pins = append([]Pin(nil), pins...)
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		// The chain and names are not checked by crypto/tls: VerifyConnection
		// checks the certificate itself against the pins, which is stricter.
		InsecureSkipVerify: true, //nolint:gosec // the pin is checked below
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("endpoint: the server sent no certificate")
			}
			got := PinOf(cs.PeerCertificates[0])
			for _, p := range pins {
				if subtle.ConstantTimeCompare(got[:], p[:]) == 1 {
					return nil
				}
			}
			return fmt.Errorf("endpoint: the server's certificate %s matches no pinned certificate", got)
		},
	}, nil
}

// CATLS returns a TLS configuration that trusts the certificates of caPEM:
// beside the system's CAs, or, with only, instead of them.
func CATLS(caPEM []byte, only bool) (*tls.Config, error) {
	var pool *x509.CertPool
	if !only {
		pool, _ = x509.SystemCertPool() // none on some systems: the given CAs alone
	}
	if pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("endpoint: no PEM certificate among the CAs")
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}
