package plugins

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/go-plugin"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/plugins/internal/protocol"
)

const pluginName = protocol.PluginName

// SupportedProtocols lists the plugin protocol versions this host speaks,
// oldest first. A plugin offering several gets the newest one both speak.
func SupportedProtocols() []int { return slices.Clone(protocol.Supported) }

// Config configures a Manager. The zero value is usable: every field has a default.
type Config struct {
	// Logger receives the manager's messages, go-plugin's, and the plugins' own
	// logs (through the host services, and whatever they write to stderr),
	// each with the attribute "plugin" set to the instance id. Default: slog.Default().
	Logger *slog.Logger
	// Store keeps the instances' private key-value contexts. Default: a MemoryStore.
	Store Store
	// Progress, when set, receives the plugins' progress reports. It must not block.
	Progress func(Progress)
	// HealthInterval is how often each instance's health is checked; a plugin
	// that misses two checks in a row is killed and restarted. Default: 30s;
	// negative: no periodic checks.
	HealthInterval time.Duration
	// StartTimeout bounds a plugin's start: the process up, Describe and Configure. Default: 1m.
	StartTimeout time.Duration
	// RestartDelay is the wait before the first restart of a crashed plugin;
	// it doubles with each crash in a row, up to MaxRestartDelay. A plugin that
	// ran for MaxRestartDelay without crashing starts again from RestartDelay.
	// Defaults: 500ms and 30s.
	RestartDelay, MaxRestartDelay time.Duration
	// MaxStartAttempts is how many failed starts in a row the manager tries
	// before it gives up on an instance (ErrFailed). Default: 5.
	MaxStartAttempts int
}

func (c Config) withDefaults() Config {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.HealthInterval == 0 {
		c.HealthInterval = 30 * time.Second
	}
	if c.StartTimeout <= 0 {
		c.StartTimeout = time.Minute
	}
	if c.RestartDelay <= 0 {
		c.RestartDelay = 500 * time.Millisecond
	}
	if c.MaxRestartDelay <= 0 {
		c.MaxRestartDelay = 30 * time.Second
	}
	if c.MaxRestartDelay < c.RestartDelay {
		c.MaxRestartDelay = c.RestartDelay
	}
	if c.MaxStartAttempts <= 0 {
		c.MaxStartAttempts = 5
	}
	return c
}

// Spec describes one plugin instance: which binary, and its configuration.
// Several instances may run the same binary with different configurations.
type Spec struct {
	// ID names the instance, unique in its Manager; pathways and device groups refer to it.
	ID string
	// Path is the plugin binary; SHA256 its expected checksum (hex), checked
	// before every start: a binary that does not match is refused.
	Path   string
	Args   []string
	SHA256 string
	// Config is handed to the plugin's Configure. The keys listed in Secrets
	// are marked secret: neither the host nor the SDK logs or echoes them.
	Config  map[string]string
	Secrets []string
	// Reattach connects to a plugin already serving, in this process or
	// another, instead of starting Path (go-plugin's reattach, as sdktest
	// uses). Such an instance has no checksum and is not restarted.
	Reattach *plugin.ReattachConfig
}

// LogValue hides the values of secret configuration keys from slog.
func (s Spec) LogValue() slog.Value {
	secret := map[string]bool{}
	for _, k := range s.Secrets {
		secret[k] = true
	}
	keys := make([]string, 0, len(s.Config))
	for k := range s.Config {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	cfg := make([]slog.Attr, 0, len(keys))
	for _, k := range keys {
		v := s.Config[k]
		if secret[k] {
			v = "[redacted]"
		}
		cfg = append(cfg, slog.String(k, v))
	}
	return slog.GroupValue(slog.String("id", s.ID), slog.String("path", s.Path),
		slog.Any("config", slog.GroupValue(cfg...)))
}

func (s Spec) validate() error {
	var ps immy.Problems
	add := func(field, format string, args ...any) {
		ps = append(ps, immy.Problem{Section: "plugins", ID: s.ID, Field: field, Message: fmt.Sprintf(format, args...), Err: immy.ErrInvalid})
	}
	if s.ID == "" {
		add("id", "is empty")
	} else if len(s.ID) > maxIDLen {
		add("id", "is longer than %d bytes", maxIDLen)
	}
	switch {
	case s.Reattach != nil && s.Path != "":
		add("path", "set together with reattach: give one")
	case s.Reattach == nil && s.Path == "":
		add("path", "is empty")
	case s.Reattach == nil:
		if b, err := hex.DecodeString(s.SHA256); err != nil || len(b) != sha256.Size {
			add("sha256", "must be the binary's SHA-256 in 64 hexadecimal digits")
		}
	}
	for k := range s.Config {
		if k == "" {
			add("config", "has an empty key")
		}
	}
	for _, k := range s.Secrets {
		if _, ok := s.Config[k]; !ok {
			add("secrets", "names %q, which is not a configuration key", k)
		}
	}
	ps.Sort()
	return ps.Err()
}

// entries returns the configuration sorted by key, secrets marked.
func (s Spec) entries() []configEntry {
	secret := map[string]bool{}
	for _, k := range s.Secrets {
		secret[k] = true
	}
	out := make([]configEntry, 0, len(s.Config))
	for k, v := range s.Config {
		out = append(out, configEntry{key: k, value: v, secret: secret[k]})
	}
	slices.SortFunc(out, func(a, b configEntry) int {
		switch {
		case a.key < b.key:
			return -1
		case a.key > b.key:
			return 1
		}
		return 0
	})
	return out
}

// FileSHA256 returns the SHA-256 of a file in lower-case hex, as Spec.SHA256 wants it.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("plugins: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("plugins: %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Manager starts plugin instances, checks their health, restarts the ones
// that crash and stops them all on Close. The caller owns it: nothing of it is
// global, and several managers may live in one process. The zero value is
// usable with the defaults of Config; NewManager sets a Config.
type Manager struct {
	cfg Config

	mu        sync.Mutex
	store     Store
	instances map[string]*Instance
	closed    bool
}

// NewManager returns a Manager with the given configuration.
func NewManager(cfg Config) *Manager {
	return &Manager{cfg: cfg}
}

// Start checks the binary's checksum, starts the plugin, negotiates the
// protocol version, and configures it. It returns when the instance is ready,
// or with the reason it is not: a *ChecksumError, a Problems of the spec, the
// plugin's refusal of its configuration (immy.ErrInvalid), or a start failure.
func (m *Manager) Start(ctx context.Context, spec Spec) (*Instance, error) {
	if err := spec.validate(); err != nil {
		return nil, fmt.Errorf("plugins: %w", err)
	}
	cfg := m.cfg.withDefaults()
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil, fmt.Errorf("plugins: start %q: manager closed: %w", spec.ID, ErrStopped)
	}
	if _, dup := m.instances[spec.ID]; dup {
		m.mu.Unlock()
		return nil, fmt.Errorf("plugins: start %q: an instance with this id exists: %w", spec.ID, immy.ErrInvalid)
	}
	if m.store == nil {
		m.store = cfg.Store
		if m.store == nil {
			m.store = &MemoryStore{}
		}
	}
	in := newInstance(spec, cfg, m.store)
	if m.instances == nil {
		m.instances = map[string]*Instance{}
	}
	m.instances[spec.ID] = in // reserves the id while starting
	m.mu.Unlock()

	if err := in.start(ctx); err != nil {
		m.mu.Lock()
		delete(m.instances, spec.ID)
		m.mu.Unlock()
		return nil, err
	}
	return in, nil
}

// Instance returns the instance with the id, if it was started and not stopped.
func (m *Manager) Instance(id string) (*Instance, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	in, ok := m.instances[id]
	if !ok || in.Status().State == Starting {
		return nil, false
	}
	return in, true
}

// Instances returns the running instances, sorted by id.
func (m *Manager) Instances() []*Instance {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*Instance, 0, len(m.instances))
	for _, in := range m.instances {
		if in.Status().State != Starting {
			out = append(out, in)
		}
	}
	slices.SortFunc(out, func(a, b *Instance) int {
		switch {
		case a.id < b.id:
			return -1
		case a.id > b.id:
			return 1
		}
		return 0
	})
	return out
}

// Stop stops one instance and kills its process; calls in flight on it fail
// with ErrStopped.
func (m *Manager) Stop(id string) error {
	m.mu.Lock()
	in, ok := m.instances[id]
	delete(m.instances, id)
	m.mu.Unlock()
	if !ok {
		return fmt.Errorf("plugins: stop %q: %w", id, immy.ErrNotFound)
	}
	in.stop()
	return nil
}

// Close stops every instance and kills their processes, and refuses new ones.
// It returns when all are gone. Closing twice is harmless.
func (m *Manager) Close() error {
	m.mu.Lock()
	m.closed = true
	all := make([]*Instance, 0, len(m.instances))
	for _, in := range m.instances {
		all = append(all, in)
	}
	m.instances = nil
	m.mu.Unlock()
	var wg sync.WaitGroup
	for _, in := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in.stop()
		}()
	}
	wg.Wait()
	return nil
}
