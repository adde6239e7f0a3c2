package meshcentral

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/plugins/sdk"
)

// openToken is MeshCentral's decodeCookieAESGCM, written from its
// description: '@' and '$' back to '+' and '/', base64, then IV (12), tag
// (16), ciphertext, AES-256-GCM keyed with the key's first 32 bytes.
func openToken(t *testing.T, key []byte, tok string) map[string]any {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(strings.NewReplacer("@", "+", "$", "/").Replace(tok))
	require.NoError(t, err)
	block, err := aes.NewCipher(key[:32])
	require.NoError(t, err)
	gcm, err := cipher.NewGCM(block)
	require.NoError(t, err)
	iv, tag, ct := raw[:12], raw[12:28], raw[28:]
	plain, err := gcm.Open(nil, iv, append(append([]byte{}, ct...), tag...), nil)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(plain, &m))
	return m
}

func TestLoginTokens(t *testing.T) {
	key := make([]byte, LoginKeySize)
	for i := range key {
		key[i] = byte(i * 7)
	}
	now := time.Unix(1796638613, 0)

	tok, err := controlToken(key, "user//admin", "", now)
	require.NoError(t, err)
	require.NotContains(t, tok, "+")
	require.NotContains(t, tok, "/")
	require.Equal(t, map[string]any{"userid": "user//admin", "domainid": "", "time": float64(now.Unix())}, openToken(t, key, tok))

	tok2, err := controlToken(key, "user//admin", "", now)
	require.NoError(t, err)
	require.NotEqual(t, tok, tok2, "a fresh IV for every token")

	web, err := webToken(key, "user/acme/tech", now)
	require.NoError(t, err)
	require.Equal(t, map[string]any{"u": "user/acme/tech", "a": float64(3), "time": float64(now.Unix())}, openToken(t, key, web))
}

func TestParseLoginKey(t *testing.T) {
	_, err := ParseLoginKey(strings.Repeat("ab", LoginKeySize))
	require.NoError(t, err)
	for _, bad := range []string{"", "abc", strings.Repeat("ab", LoginKeySize-1), strings.Repeat("zz", LoginKeySize)} {
		_, err := ParseLoginKey(bad)
		require.Error(t, err, bad)
	}
}

func TestConfigure(t *testing.T) {
	key := strings.Repeat("ab", LoginKeySize)
	tests := []struct {
		name    string
		values  map[string]string
		secrets []string
		want    []string // parts of the error; none: valid
	}{
		{name: "login key", values: map[string]string{"url": "https://mc.example.com", "login_key": key}, secrets: []string{"login_key"}},
		{name: "password", values: map[string]string{"url": "https://mc.example.com:8443/acme/", "user": "tech", "password": "pw-secret", "domain": "acme"}, secrets: []string{"password"}},
		{name: "everything wrong at once",
			values:  map[string]string{"url": "ftp://x", "user": "a/b", "login_key": "nothex-secret", "password": "pw-secret", "ca_file": "/no/such/file", "allow_secret_parameters": "maybe"},
			secrets: []string{"login_key", "password"},
			want:    []string{`url: "ftp://x"`, `user: "a/b"`, "login_key and password: set one", "ca_file:", `allow_secret_parameters: "maybe"`}},
		{name: "no credentials", values: map[string]string{"url": "https://mc.example.com"}, want: []string{"login_key or password: one is required"}},
		{name: "key not marked secret", values: map[string]string{"url": "https://mc.example.com", "login_key": key}, want: []string{"login_key: must be marked secret"}},
		{name: "bad key", values: map[string]string{"url": "https://mc.example.com", "login_key": "abcd"}, secrets: []string{"login_key"}, want: []string{"login_key: must be 160 hex digits"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Plugin{}
			err := p.Configure(context.Background(), sdk.NewConfig("i", tt.values, tt.secrets...), &sdk.Host{})
			if len(tt.want) == 0 {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, sdk.ErrInvalid)
			for _, w := range tt.want {
				require.ErrorContains(t, err, w)
			}
			for _, k := range tt.secrets {
				if v := tt.values[k]; v != "" {
					require.NotContains(t, err.Error(), v, "the value of secret %s in the error", k)
				}
			}
		})
	}
}
