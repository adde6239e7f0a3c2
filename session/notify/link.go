package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// LinkAction is what a link in a notification asks for.
type LinkAction string

// Values of LinkAction.
const (
	LinkPostpone LinkAction = "postpone" // postpone the session by Link.Postpone
	LinkDecline  LinkAction = "decline"  // cancel the session
)

// Link is what a signed link in a notification carries.
type Link struct {
	Session  string     `json:"s"`
	Computer string     `json:"c"`
	Action   LinkAction `json:"a"`
	// Postpone is how long a postpone link postpones the session.
	Postpone time.Duration `json:"p,omitempty"`
	// Expires is when the link stops working (whole seconds).
	Expires time.Time `json:"-"`
}

// linkWire is a Link as signed.
type linkWire struct {
	Link
	Exp int64 `json:"e"`
}

// Errors of Verify.
var (
	// ErrLinkInvalid: the token is malformed, or its signature does not
	// verify with any key (tampered with, or signed with another key).
	ErrLinkInvalid = errors.New("notify: invalid link")
	// ErrLinkExpired: the link verified but its time has passed.
	ErrLinkExpired = errors.New("notify: link expired")
)

// MinKeyLen is the shortest key a Signer accepts, in bytes.
const MinKeyLen = 32

// maxToken bounds a token Verify reads.
const maxToken = 2048

// Signer signs and verifies the postpone and decline links of
// notifications with HMAC-SHA-256. Key signs; Key and then OldKeys verify,
// so that a key can be rotated without breaking the links already sent.
type Signer struct {
	Key     []byte
	OldKeys [][]byte
}

// Sign returns the token of a link: its fields as JSON, base64url, a dot,
// and the HMAC-SHA-256 of "immy-link-v1." and that text, base64url.
func (s Signer) Sign(l Link) (string, error) {
	if len(s.Key) < MinKeyLen {
		return "", fmt.Errorf("notify: signing key of %d bytes, at least %d needed", len(s.Key), MinKeyLen)
	}
	switch {
	case l.Session == "" || l.Computer == "":
		return "", errors.New("notify: a link needs a session and a computer")
	case l.Action != LinkPostpone && l.Action != LinkDecline:
		return "", fmt.Errorf("notify: link action %q: want postpone or decline", l.Action)
	case l.Expires.IsZero():
		return "", errors.New("notify: a link needs an expiry")
	}
	b, err := json.Marshal(linkWire{Link: l, Exp: l.Expires.Unix()})
	if err != nil {
		return "", fmt.Errorf("notify: %w", err)
	}
	payload := base64.RawURLEncoding.EncodeToString(b)
	return payload + "." + base64.RawURLEncoding.EncodeToString(mac(s.Key, payload)), nil
}

// URL returns base with the link's token as its query parameter t.
func (s Signer) URL(base string, l Link) (string, error) {
	tok, err := s.Sign(l)
	if err != nil {
		return "", err
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("notify: link base %q is not an http(s) URL", base)
	}
	q := u.Query()
	q.Set("t", tok)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func mac(key []byte, payload string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte("immy-link-v1."))
	h.Write([]byte(payload))
	return h.Sum(nil)
}

// Verify checks a token (the t parameter of a link) and returns its link.
// It fails with ErrLinkInvalid for a token that is malformed or whose
// signature no key verifies, and ErrLinkExpired, with the link, for one
// whose expiry is not after now. The example server calls it where the
// links point, then postpones or cancels the session by the link.
func (s Signer) Verify(token string, now time.Time) (Link, error) {
	if len(token) > maxToken {
		return Link{}, fmt.Errorf("%w: token of %d bytes", ErrLinkInvalid, len(token))
	}
	payload, sig, ok := strings.Cut(token, ".")
	if !ok {
		return Link{}, fmt.Errorf("%w: no signature", ErrLinkInvalid)
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		return Link{}, fmt.Errorf("%w: signature is not base64url", ErrLinkInvalid)
	}
	var verified bool
	for _, k := range append([][]byte{s.Key}, s.OldKeys...) {
		if len(k) >= MinKeyLen && hmac.Equal(got, mac(k, payload)) {
			verified = true
			break
		}
	}
	if !verified {
		return Link{}, fmt.Errorf("%w: the signature does not verify", ErrLinkInvalid)
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return Link{}, fmt.Errorf("%w: payload is not base64url", ErrLinkInvalid)
	}
	var w linkWire
	if err := json.Unmarshal(b, &w); err != nil {
		return Link{}, fmt.Errorf("%w: payload: %v", ErrLinkInvalid, err)
	}
	l := w.Link
	l.Expires = time.Unix(w.Exp, 0).UTC()
	if !now.Before(l.Expires) {
		return l, fmt.Errorf("%w at %s", ErrLinkExpired, l.Expires.Format(time.RFC3339))
	}
	return l, nil
}
