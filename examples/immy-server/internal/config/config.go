// Package config reads the example server's configuration from, in order
// of precedence, command-line flags, environment variables (IMMY_ and the
// flag's name in capitals, dashes as underscores: --data-dir is
// IMMY_DATA_DIR) and an optional YAML file (--config, keys named as the
// flags, plus the plugin instances), over the built-in defaults.
package config

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Plugin is a plugin instance to start through plugins.Manager.
type Plugin struct {
	ID     string `yaml:"id" json:"id"`
	Path   string `yaml:"path" json:"path"`
	SHA256 string `yaml:"sha256" json:"sha256,omitempty"`
	// Build, when set, is a Go package path built into Path at start when
	// Path does not exist (the default RMM plugin, under go run).
	Build    string            `yaml:"build" json:"-"`
	Settings map[string]string `yaml:"settings" json:"-"`
	// Secrets names the settings that are secret: never logged nor shown.
	Secrets  []string `yaml:"secrets" json:"secrets,omitempty"`
	Priority int      `yaml:"priority" json:"priority,omitempty"`
	// Tenant maps the plugin's clients to a tenant: client id -> tenant id.
	Clients map[string]string `yaml:"clients" json:"clients,omitempty"`
}

// Config is the server's configuration.
type Config struct {
	Listen          string
	PublicURL       string
	DataDir         string
	DB              string
	TLSCert         string
	TLSKey          string
	ClientID        string
	MaxSessions     int
	ScriptTimeout   time.Duration
	LogLevel        string
	Fleet           string
	NoDemo          bool
	ResetAdminToken bool
	DefaultPlugins  bool
	ScheduleEvery   time.Duration
	SyncEvery       time.Duration
	ShutdownGrace   time.Duration
	Plugins         []Plugin
	ConfigFile      string
	// SMTP: the notifications' mail server; none configured (no
	// SMTPHost), nobody is mailed.
	SMTP SMTP
	// LinkKeyFile holds the key that signs the postpone and decline links
	// (made under the data directory on the first start when unset).
	LinkKeyFile string
	// Tenants is each tenant's notification settings (the file's key
	// tenants), by tenant id.
	Tenants map[string]TenantNotify
}

// SMTP is the mail server the notifications go through.
type SMTP struct {
	Host string
	Port int
	User string
	// Password is secret: never logged, never shown. From
	// --smtp-password, IMMY_SMTP_PASSWORD, the file's smtp-password, or
	// read from --smtp-password-file.
	Password     string
	PasswordFile string
	From         string
	FromName     string
	// CAFile is a PEM file of the CAs the server's certificate is checked
	// against (default the system's roots).
	CAFile string
	// Plaintext allows a server that offers no STARTTLS (never with a User).
	Plaintext bool
	// LinkTTL is how long the links in a message work.
	LinkTTL time.Duration
	// PostponeFor is how long a postpone link postpones.
	PostponeFor time.Duration
}

// TenantNotify is a tenant's notification settings: its branding, and the
// addresses told of its computers whose user the fleet does not know.
type TenantNotify struct {
	Name    string   `yaml:"name"`
	LogoURL string   `yaml:"logo_url"`
	Primary string   `yaml:"primary"`
	Accent  string   `yaml:"accent"`
	To      []string `yaml:"to"`
}

// String shows the SMTP settings without the password.
func (s SMTP) String() string {
	pw := ""
	if s.Password != "" {
		pw = " password=[redacted]"
	}
	return fmt.Sprintf("smtp://%s@%s:%d from=%s%s", s.User, s.Host, s.Port, s.From, pw)
}

// flagOnly are the options read from the command line only: acted on at
// every start, from the environment or a file they would act at every
// restart.
var flagOnly = map[string]bool{"reset-admin-token": true}

// Parse reads the configuration. A -h or --help prints every option to
// out and returns flag.ErrHelp.
func Parse(args []string, getenv func(string) string, out io.Writer) (*Config, error) {
	c := &Config{}
	fs := flag.NewFlagSet("immy-server", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&c.ConfigFile, "config", "", "YAML file of options (keys named as these flags; plugins: a list of instances)")
	fs.StringVar(&c.Listen, "listen", "127.0.0.1:8443", "address of the HTTPS listener")
	fs.StringVar(&c.PublicURL, "public-url", "", "the URL agents and clients reach the server at (default https://localhost:PORT)")
	fs.StringVar(&c.DataDir, "data-dir", "immy-data", "directory of the server's data: database, certificate, demo files")
	fs.StringVar(&c.DB, "db", "", "SQLite file, or a postgres:// URL for several server processes (default DATA-DIR/immy.db)")
	fs.StringVar(&c.TLSCert, "tls-cert", "", "PEM certificate (chain) of the listener (default: a self-signed one made in DATA-DIR)")
	fs.StringVar(&c.TLSKey, "tls-key", "", "PEM private key of --tls-cert")
	fs.StringVar(&c.ClientID, "client-id", "", "this process's name for the session queue, stable across restarts (default the host name)")
	fs.IntVar(&c.MaxSessions, "max-sessions", 64, "sessions this process works at once")
	fs.DurationVar(&c.ScriptTimeout, "script-timeout", 10*time.Minute, "longest a script may run on a computer")
	fs.StringVar(&c.LogLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&c.Fleet, "fleet", "", "fleet file imported on first start (default: the bundled example fleet; \"none\" for none)")
	fs.BoolVar(&c.NoDemo, "no-demo", false, "do not add the demo tenant on first start")
	fs.BoolVar(&c.ResetAdminToken, "reset-admin-token", false, "make a new msp-admin API token, print it and revoke the earlier one (a flag only: never read from the environment or the --config file)")
	fs.BoolVar(&c.DefaultPlugins, "example-rmm", true, "start the example RMM plugin (examples/rmm-plugin) when the config file declares no plugins")
	fs.DurationVar(&c.ScheduleEvery, "schedule-interval", time.Minute, "how often the fleet's schedules are checked for due sessions")
	fs.DurationVar(&c.SyncEvery, "sync-interval", 30*time.Second, "how often the plugins' agents are listed and identified against the fleet's computers")
	fs.DurationVar(&c.ShutdownGrace, "shutdown-grace", 20*time.Second, "how long a shutdown waits for requests and sessions to reach a journal point")
	fs.StringVar(&c.SMTP.Host, "smtp-host", "", "SMTP server of the notification emails (none: no emails are sent)")
	fs.IntVar(&c.SMTP.Port, "smtp-port", 587, "port of --smtp-host (submission; STARTTLS is required unless --smtp-plaintext)")
	fs.StringVar(&c.SMTP.User, "smtp-user", "", "SMTP user name (AUTH PLAIN, only over TLS)")
	fs.StringVar(&c.SMTP.Password, "smtp-password", "", "SMTP password (secret: prefer IMMY_SMTP_PASSWORD or --smtp-password-file; never logged)")
	fs.StringVar(&c.SMTP.PasswordFile, "smtp-password-file", "", "file holding the SMTP password (its first line)")
	fs.StringVar(&c.SMTP.From, "smtp-from", "", "sender address of the notification emails")
	fs.StringVar(&c.SMTP.FromName, "smtp-from-name", "IT maintenance", "sender name when the tenant has no branding name")
	fs.StringVar(&c.SMTP.CAFile, "smtp-ca", "", "PEM file of the CAs that sign the SMTP server's certificate (default the system's roots)")
	fs.BoolVar(&c.SMTP.Plaintext, "smtp-plaintext", false, "allow an SMTP server without STARTTLS (refused with --smtp-user)")
	fs.DurationVar(&c.SMTP.LinkTTL, "link-ttl", 24*time.Hour, "how long the postpone and decline links of an email work")
	fs.DurationVar(&c.SMTP.PostponeFor, "postpone-for", 24*time.Hour, "how long a postpone link postpones the session")
	fs.StringVar(&c.LinkKeyFile, "link-key-file", "", "file of the key signing the email links: base64 of 32 bytes or more (default DATA-DIR/link.key, made on the first start; several processes on one database need the same key)")
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: immy-server [options]\n\nThe example MSP engine server: HTTPS API, live events, agents, plugins, schedules.\nEvery option but --reset-admin-token may also be given as an environment variable IMMY_NAME\n(--data-dir: IMMY_DATA_DIR) or as a key of the --config file; flags win over the environment,\nwhich wins over the file.\n\nOptions:\n")
		fs.PrintDefaults()
		fmt.Fprintf(out, "\nThe --config file may also hold tenants: per tenant id, the branding of its emails and who\nis told of its computers whose user is unknown:\n  tenants: {acme: {name: Acme IT, logo_url: https://..., primary: \"#112233\", accent: \"#ff8800\", to: [it@acme.example]}}\n")
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("config: unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var errs []error
	// the environment, for what no flag set
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] {
			return
		}
		env := "IMMY_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := getenv(env); v != "" {
			if flagOnly[f.Name] {
				errs = append(errs, fmt.Errorf("config: %s: --%s is a flag only (every start would make a new admin token): unset it", env, f.Name))
				return
			}
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("config: %s: %w", env, err))
			}
			set[f.Name] = true
		}
	})
	if c.ConfigFile != "" {
		if err := c.readFile(fs, set); err != nil {
			errs = append(errs, err)
		}
	}
	if c.DB == "" {
		c.DB = filepath.Join(c.DataDir, "immy.db")
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, errors.New("config: --tls-cert and --tls-key go together"))
	}
	if c.MaxSessions < 1 {
		errs = append(errs, errors.New("config: --max-sessions must be at least 1"))
	}
	if c.SMTP.PasswordFile != "" && c.SMTP.Password == "" {
		b, err := os.ReadFile(c.SMTP.PasswordFile)
		if err != nil {
			errs = append(errs, fmt.Errorf("config: --smtp-password-file: %w", err))
		} else {
			line, _, _ := strings.Cut(string(b), "\n")
			c.SMTP.Password = strings.TrimRight(line, "\r")
		}
	}
	if c.SMTP.Host != "" {
		if c.SMTP.From == "" {
			errs = append(errs, errors.New("config: --smtp-host needs --smtp-from"))
		}
		if c.SMTP.User != "" && c.SMTP.Plaintext {
			errs = append(errs, errors.New("config: --smtp-plaintext with --smtp-user would send the password in clear"))
		}
		if c.SMTP.Port < 1 || c.SMTP.Port > 65535 {
			errs = append(errs, fmt.Errorf("config: --smtp-port %d: want 1 to 65535", c.SMTP.Port))
		}
	}
	if c.ClientID == "" {
		h, _ := os.Hostname()
		c.ClientID = "immy-server-" + h
	}
	return c, errors.Join(errs...)
}

// readFile applies the file's keys that neither a flag nor the environment
// set, and reads its plugins.
func (c *Config) readFile(fs *flag.FlagSet, set map[string]bool) error {
	b, err := os.ReadFile(c.ConfigFile)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if len(b) > 1<<20 {
		return fmt.Errorf("config: %s: larger than 1 MiB", c.ConfigFile)
	}
	var doc map[string]yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("config: %s: %w", c.ConfigFile, err)
	}
	var errs []error
	keys := make([]string, 0, len(doc))
	for k := range doc {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		n := doc[k]
		if k == "tenants" {
			dec := yaml.NewDecoder(bytes.NewReader(mustYAML(&n)))
			dec.KnownFields(true)
			if err := dec.Decode(&c.Tenants); err != nil {
				errs = append(errs, fmt.Errorf("config: %s:%d: tenants: %w", c.ConfigFile, n.Line, err))
			}
			continue
		}
		if k == "plugins" {
			dec := yaml.NewDecoder(bytes.NewReader(mustYAML(&n)))
			dec.KnownFields(true)
			if err := dec.Decode(&c.Plugins); err != nil {
				errs = append(errs, fmt.Errorf("config: %s:%d: plugins: %w", c.ConfigFile, n.Line, err))
			}
			continue
		}
		f := fs.Lookup(k)
		if f == nil || k == "config" {
			errs = append(errs, fmt.Errorf("config: %s:%d: unknown key %q", c.ConfigFile, n.Line, k))
			continue
		}
		if flagOnly[k] {
			errs = append(errs, fmt.Errorf("config: %s:%d: %s is a flag only (every start would make a new admin token)", c.ConfigFile, n.Line, k))
			continue
		}
		if set[k] {
			continue
		}
		if err := fs.Set(k, n.Value); err != nil {
			errs = append(errs, fmt.Errorf("config: %s:%d: %s: %w", c.ConfigFile, n.Line, k, err))
		}
	}
	for i, p := range c.Plugins {
		if p.ID == "" || p.Path == "" {
			errs = append(errs, fmt.Errorf("config: %s: plugins[%d]: id and path are required", c.ConfigFile, i))
		}
	}
	return errors.Join(errs...)
}

func mustYAML(n *yaml.Node) []byte {
	b, _ := yaml.Marshal(n)
	return b
}
