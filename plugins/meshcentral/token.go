package meshcentral

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// LoginKeySize is the size of MeshCentral's login-token key
// (LoginCookieEncryptionKey): 80 bytes, 160 hex digits, as
// `meshcentral --logintokenkey` prints it.
const LoginKeySize = 80

// ParseLoginKey decodes a login-token key from its hex form.
func ParseLoginKey(s string) ([]byte, error) {
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil || len(b) != LoginKeySize {
		return nil, fmt.Errorf("meshcentral: the login-token key must be %d hex digits (meshcentral --logintokenkey prints it)", 2*LoginKeySize)
	}
	return b, nil
}

// loginToken seals payload (with the time of creation added, in seconds)
// under key as MeshCentral's encodeCookie does: AES-256-GCM keyed with the
// key's first 32 bytes, a random 12-byte IV, then IV, tag and ciphertext in
// base64 with '+' and '/' written '@' and '$'. The server accepts a token for
// an hour after its time.
func loginToken(key []byte, payload map[string]any, now time.Time) (string, error) {
	if len(key) < 32 {
		return "", fmt.Errorf("meshcentral: login-token key too short")
	}
	p := make(map[string]any, len(payload)+1)
	for k, v := range payload {
		p[k] = v
	}
	p["time"] = now.Unix()
	plain, err := json.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("meshcentral: login token: %w", err)
	}
	block, err := aes.NewCipher(key[:32])
	if err != nil {
		return "", fmt.Errorf("meshcentral: login token: %w", err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return "", fmt.Errorf("meshcentral: login token: %w", err)
	}
	iv := make([]byte, gcm.NonceSize())
	if _, err := rand.Read(iv); err != nil {
		return "", fmt.Errorf("meshcentral: login token: %w", err)
	}
	sealed := gcm.Seal(nil, iv, plain, nil) // ciphertext then 16-byte tag
	ct, tag := sealed[:len(sealed)-gcm.Overhead()], sealed[len(sealed)-gcm.Overhead():]
	raw := make([]byte, 0, len(iv)+len(tag)+len(ct))
	raw = append(append(append(raw, iv...), tag...), ct...)
	s := base64.StdEncoding.EncodeToString(raw)
	return strings.NewReplacer("+", "@", "/", "$").Replace(s), nil
}

// controlToken authenticates the control WebSocket as userID (user/DOMAIN/NAME).
func controlToken(key []byte, userID, domain string, now time.Time) (string, error) {
	return loginToken(key, map[string]any{"userid": userID, "domainid": domain}, now)
}

// webToken logs a browser in as userID (the ?login= parameter of the web UI).
func webToken(key []byte, userID string, now time.Time) (string, error) {
	return loginToken(key, map[string]any{"u": userID, "a": 3}, now)
}
