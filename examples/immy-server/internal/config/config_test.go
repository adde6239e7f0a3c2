package config

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestPrecedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "immy.yaml")
	require.NoError(t, os.WriteFile(file, []byte(`listen: 0.0.0.0:9000
data-dir: /from/file
max-sessions: 7
script-timeout: 1m
plugins:
  - id: ninja
    path: /opt/ninja
    sha256: abc
    settings: {api_key: k, region: eu}
    secrets: [api_key]
`), 0o600))
	var out bytes.Buffer
	c, err := Parse([]string{"--config", file, "--max-sessions", "9"}, env(map[string]string{"IMMY_DATA_DIR": "/from/env"}), &out)
	require.NoError(t, err)
	require.Equal(t, "0.0.0.0:9000", c.Listen, "file")
	require.Equal(t, "/from/env", c.DataDir, "the environment wins over the file")
	require.Equal(t, 9, c.MaxSessions, "a flag wins over the file")
	require.Equal(t, time.Minute, c.ScriptTimeout)
	require.Equal(t, "/from/env/immy.db", c.DB)
	require.Len(t, c.Plugins, 1)
	require.Equal(t, []string{"api_key"}, c.Plugins[0].Secrets)
}

func TestEveryProblem(t *testing.T) {
	file := filepath.Join(t.TempDir(), "immy.yaml")
	require.NoError(t, os.WriteFile(file, []byte("lisen: x\nmax-sessions: many\nplugins:\n  - {id: a}\n"), 0o600))
	_, err := Parse([]string{"--config", file, "--tls-cert", "c.pem"}, env(map[string]string{"IMMY_SCRIPT_TIMEOUT": "soon"}), &bytes.Buffer{})
	require.Error(t, err)
	for _, want := range []string{`unknown key "lisen"`, "immy.yaml:2: max-sessions", "plugins[0]: id and path", "IMMY_SCRIPT_TIMEOUT", "--tls-cert and --tls-key"} {
		require.ErrorContains(t, err, want)
	}
}

func TestHelpDocumentsEveryOption(t *testing.T) {
	var out bytes.Buffer
	_, err := Parse([]string{"--help"}, env(nil), &out)
	require.True(t, errors.Is(err, flag.ErrHelp))
	for _, name := range []string{"config", "listen", "public-url", "data-dir", "db", "tls-cert", "tls-key", "client-id",
		"max-sessions", "script-timeout", "log-level", "fleet", "no-demo", "reset-admin-token", "example-rmm",
		"schedule-interval", "sync-interval", "shutdown-grace",
		"smtp-host", "smtp-port", "smtp-user", "smtp-password", "smtp-password-file", "smtp-from", "smtp-from-name",
		"smtp-ca", "smtp-plaintext", "link-ttl", "postpone-for", "link-key-file"} {
		require.True(t, strings.Contains(out.String(), "-"+name+" ") || strings.Contains(out.String(), "-"+name+"\n"), "--help documents --%s", name)
	}
	require.Contains(t, out.String(), "IMMY_DATA_DIR")
	require.Contains(t, out.String(), "Every option but --reset-admin-token may also be given as an environment variable")
	require.Contains(t, out.String(), "a flag only")
}

// TestResetAdminTokenFlagOnly: --reset-admin-token is read from the command
// line only; from the environment or the config file (where it would make
// a new admin token at every restart) it is refused, naming where.
func TestResetAdminTokenFlagOnly(t *testing.T) {
	c, err := Parse([]string{"--reset-admin-token"}, env(nil), &bytes.Buffer{})
	require.NoError(t, err)
	require.True(t, c.ResetAdminToken)

	_, err = Parse(nil, env(map[string]string{"IMMY_RESET_ADMIN_TOKEN": "true"}), &bytes.Buffer{})
	require.ErrorContains(t, err, "IMMY_RESET_ADMIN_TOKEN: --reset-admin-token is a flag only")

	file := filepath.Join(t.TempDir(), "immy.yaml")
	require.NoError(t, os.WriteFile(file, []byte("listen: 127.0.0.1:9443\nreset-admin-token: true\n"), 0o600))
	_, err = Parse([]string{"--config", file}, env(nil), &bytes.Buffer{})
	require.ErrorContains(t, err, "immy.yaml:2: reset-admin-token is a flag only")

	// with the flag given, the environment is not read for it
	_, err = Parse([]string{"--reset-admin-token"}, env(map[string]string{"IMMY_RESET_ADMIN_TOKEN": "1"}), &bytes.Buffer{})
	require.NoError(t, err, "the flag wins; the environment is not read for a flag given")
}

func TestSMTP(t *testing.T) {
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw")
	require.NoError(t, os.WriteFile(pwFile, []byte("from-file-pw\n"), 0o600))
	file := filepath.Join(dir, "immy.yaml")
	require.NoError(t, os.WriteFile(file, []byte(`smtp-host: mail.example
smtp-from: it@msp.example
tenants:
  acme: {name: Acme IT, primary: "#112233", to: [it@acme.example]}
`), 0o600))
	c, err := Parse([]string{"--config", file, "--smtp-password-file", pwFile}, env(map[string]string{"IMMY_SMTP_USER": "mailer"}), &bytes.Buffer{})
	require.NoError(t, err)
	require.Equal(t, "mail.example", c.SMTP.Host)
	require.Equal(t, 587, c.SMTP.Port)
	require.Equal(t, "mailer", c.SMTP.User)
	require.Equal(t, "from-file-pw", c.SMTP.Password)
	require.Equal(t, TenantNotify{Name: "Acme IT", Primary: "#112233", To: []string{"it@acme.example"}}, c.Tenants["acme"])
	require.NotContains(t, c.SMTP.String(), "from-file-pw", "the password is never shown")

	c, err = Parse([]string{"--smtp-password", "flag-pw", "--smtp-password-file", pwFile}, env(nil), &bytes.Buffer{})
	require.NoError(t, err)
	require.Equal(t, "flag-pw", c.SMTP.Password, "the password given wins over the file")

	_, err = Parse([]string{"--smtp-host", "m", "--smtp-user", "u", "--smtp-plaintext", "--smtp-port", "0"}, env(nil), &bytes.Buffer{})
	for _, want := range []string{"needs --smtp-from", "--smtp-plaintext with --smtp-user", "--smtp-port 0"} {
		require.ErrorContains(t, err, want)
	}
	require.NotContains(t, err.Error(), "flag-pw")
}
