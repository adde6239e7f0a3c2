package plugins

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/plugins/internal/protocol"
	pluginv2 "github.com/immyoss/engine/plugins/proto/immy/plugin/v2"
)

// ErrUnhealthy: the plugin answered its health check, and said it cannot work
// (its API unreachable, its credentials refused).
var ErrUnhealthy = errors.New("plugins: unhealthy")

// crashGrace is how long a failed call waits for the process exit that would
// explain it, before taking the failure for a transport error.
const crashGrace = 3 * time.Second

// State is where an instance stands.
type State int

// States of an instance.
const (
	Starting   State = iota // first start under way
	Ready                   // serving calls
	Restarting              // crashed; calls wait for the restart
	Failed                  // the manager gave up; calls fail with ErrFailed
	Stopped                 // stopped or manager closed; calls fail with ErrStopped
)

func (s State) String() string {
	switch s {
	case Starting:
		return "starting"
	case Ready:
		return "ready"
	case Restarting:
		return "restarting"
	case Failed:
		return "failed"
	case Stopped:
		return "stopped"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// Status is a snapshot of an instance.
type Status struct {
	State    State
	Restarts int // restarts after crashes since Start
	// The last health check: when, and what the plugin said.
	CheckedAt     time.Time
	Healthy       bool
	HealthMessage string
	// Err is the last crash or start failure; nil when there was none.
	Err error
}

// Instance is one running plugin: a process of a plugin binary with its own
// configuration. Its methods call the plugin; each fails with ErrUnsupported
// when the plugin lacks the capability, and with a *CrashError when the
// process exits during the call. While a crashed instance restarts, calls wait
// for it (or for their ctx). An Instance is safe for concurrent use.
type Instance struct {
	id    string
	spec  Spec
	cfg   Config
	log   *slog.Logger // masks the secret configuration values
	red   *redactor    // the secret configuration values
	host  *hostServer
	ops   atomic.Uint64
	stopC chan struct{}
	wg    sync.WaitGroup

	mu       sync.Mutex
	state    State
	gen      *generation
	info     Info
	changed  chan struct{} // closed and replaced at every change of state
	restarts int
	streak   int // crashes in a row, for the backoff
	lastErr  error
	health   struct {
		at      time.Time
		healthy bool
		message string
	}
}

// generation is one process of an instance.
type generation struct {
	client  *plugin.Client
	conn    conn
	info    Info
	started time.Time
	group   int // the plugin's process group, when the host started it in its own (Unix)
}

// kill kills the plugin process, then what it left in its process group:
// children a plugin started without sdk.StartChild end with it.
func (g *generation) kill() {
	g.client.Kill()
	killGroup(g.group)
}

func newInstance(spec Spec, cfg Config, store Store) *Instance {
	spec.Args = append([]string(nil), spec.Args...)
	var secrets []string
	for _, k := range spec.Secrets {
		secrets = append(secrets, spec.Config[k])
	}
	red := newRedactor(secrets...)
	// Everything the host logs of the instance (the plugin's log records, its
	// stderr, go-plugin's messages, the manager's own) goes through red.
	log := slog.New(red.handler(cfg.Logger.Handler())).With("plugin", spec.ID)
	return &Instance{
		id: spec.ID, spec: spec, cfg: cfg, log: log, red: red,
		host:    &hostServer{instance: spec.ID, log: log, red: red, store: store, progress: cfg.Progress},
		stopC:   make(chan struct{}),
		changed: make(chan struct{}),
	}
}

// ID returns the instance id.
func (in *Instance) ID() string { return in.id }

// Info returns what the plugin said of itself at its last start.
func (in *Instance) Info() Info {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.info
}

// Status returns a snapshot of the instance's state.
func (in *Instance) Status() Status {
	in.mu.Lock()
	defer in.mu.Unlock()
	return Status{State: in.state, Restarts: in.restarts, CheckedAt: in.health.at,
		Healthy: in.health.healthy, HealthMessage: in.health.message, Err: in.lastErr}
}

// setState changes the state and wakes the waiters; in.mu is held.
func (in *Instance) setState(s State) {
	in.state = s
	close(in.changed)
	in.changed = make(chan struct{})
}

// start runs the first start; the instance is Starting.
func (in *Instance) start(ctx context.Context) error {
	ctx, cancel := in.stopContext(ctx)
	defer cancel()
	g, err := in.launch(ctx)
	in.mu.Lock()
	defer in.mu.Unlock()
	if err != nil {
		in.lastErr = err
		in.setState(Stopped)
		return err
	}
	if in.state == Stopped {
		go g.kill()
		return fmt.Errorf("plugins: start %q: %w", in.id, ErrStopped)
	}
	in.ready(g)
	in.wg.Add(1)
	go in.healthLoop()
	in.log.Info("plugin started", "name", g.info.Name, "version", g.info.Version, "protocol", g.info.Protocol)
	return nil
}

// ready installs a started generation; in.mu is held.
func (in *Instance) ready(g *generation) {
	in.gen = g
	in.info = g.info
	in.setState(Ready)
	in.wg.Add(1)
	go in.watch(g)
}

// stopContext returns ctx, also cancelled when the instance stops.
func (in *Instance) stopContext(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-in.stopC:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// launch starts a process, checking the checksum first, and configures it.
// Its errors show no secret configuration value.
func (in *Instance) launch(ctx context.Context) (*generation, error) {
	g, err := in.launchProcess(ctx)
	return g, in.red.err(err)
}

func (in *Instance) launchProcess(ctx context.Context) (*generation, error) {
	cc := &plugin.ClientConfig{
		HandshakeConfig:  protocol.Handshake,
		VersionedPlugins: hostPluginSets(),
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           newHCLogger(in.log.Handler(), "go-plugin", filepath.Base(in.spec.Path)),
		Stderr:           &stderrWriter{h: in.log.Handler()},
		StartTimeout:     in.cfg.StartTimeout,
	}
	if in.spec.Reattach != nil {
		// A reattached client does not negotiate: it speaks the version served.
		cc.Reattach = in.spec.Reattach
		cc.Plugins = cc.VersionedPlugins[in.spec.Reattach.ProtocolVersion]
		if cc.Plugins == nil {
			return nil, fmt.Errorf("plugins: start %q: the plugin serves protocol version %d, which this host does not speak: %w",
				in.id, in.spec.Reattach.ProtocolVersion, ErrUnsupported)
		}
	} else {
		want := strings.ToLower(in.spec.SHA256)
		got, err := FileSHA256(in.spec.Path)
		if err != nil {
			return nil, fmt.Errorf("plugins: start %q: %w", in.id, err)
		}
		if got != want {
			return nil, &ChecksumError{Path: in.spec.Path, Want: want, Got: got}
		}
		sum, _ := hex.DecodeString(want)
		// go-plugin checks again right before it runs the binary.
		cc.SecureConfig = &plugin.SecureConfig{Checksum: sum, Hash: sha256.New()}
		cc.Cmd = exec.Command(in.spec.Path, in.spec.Args...)
		ownGroup(cc.Cmd)
		cc.AutoMTLS = true
	}
	client := plugin.NewClient(cc)
	ok := false
	defer func() {
		if !ok {
			client.Kill()
			if cc.Cmd != nil && cc.Cmd.Process != nil {
				killGroup(cc.Cmd.Process.Pid)
			}
		}
	}()
	rpc, err := client.Client()
	if err != nil {
		if errors.Is(err, plugin.ErrChecksumsDoNotMatch) {
			got, _ := FileSHA256(in.spec.Path)
			return nil, &ChecksumError{Path: in.spec.Path, Want: strings.ToLower(in.spec.SHA256), Got: got}
		}
		return nil, fmt.Errorf("plugins: start %q: %w", in.id, err)
	}
	raw, err := rpc.Dispense(pluginName)
	if err != nil {
		return nil, fmt.Errorf("plugins: start %q: %w", in.id, err)
	}
	c, isConn := raw.(conn)
	if !isConn {
		return nil, fmt.Errorf("plugins: start %q: unexpected plugin client %T", in.id, raw)
	}
	g := &generation{client: client, conn: c, started: time.Now()}
	if cc.Cmd != nil && cc.Cmd.Process != nil && cc.Cmd.SysProcAttr != nil {
		g.group = cc.Cmd.Process.Pid
	}
	ctx, cancel := context.WithTimeout(ctx, in.cfg.StartTimeout)
	defer cancel()
	info, err := c.describe(ctx)
	if err != nil {
		return nil, in.classify(ctx, g, "Describe", err)
	}
	info.Protocol = client.NegotiatedVersion()
	g.info = info
	if err := c.configure(ctx, in.id, in.spec.entries(), in.host); err != nil {
		return nil, in.classify(ctx, g, "Configure", err)
	}
	ok = true
	return g, nil
}

// watch waits for a generation's process to exit, and restarts it unless the
// instance was stopped.
func (in *Instance) watch(g *generation) {
	defer in.wg.Done()
	select {
	case <-g.conn.exited():
		killGroup(g.group) // what the plugin left behind goes with it
	case <-in.stopC:
		return
	}
	in.mu.Lock()
	if in.gen != g || in.state == Stopped {
		in.mu.Unlock()
		return
	}
	in.gen = nil
	in.lastErr = fmt.Errorf("plugins: instance %q: plugin process exited: %w", in.id, ErrCrashed)
	if time.Since(g.started) >= in.cfg.MaxRestartDelay {
		in.streak = 0
	}
	in.streak++
	if in.spec.Reattach != nil {
		in.setState(Failed)
		in.mu.Unlock()
		in.log.Error("plugin exited; a reattached plugin is not restarted")
		g.kill()
		return
	}
	in.setState(Restarting)
	in.wg.Add(1)
	go in.restart(in.backoff(in.streak))
	in.mu.Unlock()
	in.log.Warn("plugin process exited; restarting it")
	g.kill() // reaps what is left
}

// backoff is the delay before the n-th restart in a row (n >= 1).
func (in *Instance) backoff(n int) time.Duration {
	d := in.cfg.RestartDelay
	for i := 1; i < n && d < in.cfg.MaxRestartDelay; i++ {
		d *= 2
	}
	return min(d, in.cfg.MaxRestartDelay)
}

// restart starts a new process after delay, retrying with backoff.
func (in *Instance) restart(delay time.Duration) {
	defer in.wg.Done()
	for attempt := 1; ; attempt++ {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-in.stopC:
			t.Stop()
			return
		}
		ctx, cancel := in.stopContext(context.Background())
		g, err := in.launch(ctx)
		cancel()
		in.mu.Lock()
		if in.state == Stopped {
			in.mu.Unlock()
			if g != nil {
				g.kill()
			}
			return
		}
		if err == nil {
			in.restarts++
			in.ready(g)
			in.mu.Unlock()
			in.log.Info("plugin restarted", "restarts", in.Status().Restarts)
			return
		}
		in.lastErr = err
		var ce *ChecksumError
		if errors.As(err, &ce) || errors.Is(err, immy.ErrInvalid) || attempt >= in.cfg.MaxStartAttempts {
			in.setState(Failed)
			in.mu.Unlock()
			in.log.Error("plugin could not be restarted; giving up", "attempts", attempt, "error", err)
			return
		}
		delay = in.backoff(in.streak + attempt)
		in.mu.Unlock()
		in.log.Warn("plugin restart failed; trying again", "attempt", attempt, "error", err)
	}
}

// healthLoop checks the plugin's health every HealthInterval; two missed
// checks in a row kill the process, which the watcher then restarts.
func (in *Instance) healthLoop() {
	defer in.wg.Done()
	if in.cfg.HealthInterval < 0 {
		return
	}
	t := time.NewTicker(in.cfg.HealthInterval)
	defer t.Stop()
	misses := 0
	for {
		select {
		case <-in.stopC:
			return
		case <-t.C:
		}
		in.mu.Lock()
		g := in.gen
		in.mu.Unlock()
		if g == nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), min(in.cfg.HealthInterval, 10*time.Second))
		err := in.checkHealth(ctx, g)
		cancel()
		if err == nil || errors.Is(err, ErrUnhealthy) {
			misses = 0
			continue
		}
		misses++
		in.log.Warn("plugin missed a health check", "misses", misses, "error", err)
		if misses >= 2 {
			misses = 0
			in.log.Error("plugin does not answer; killing it to restart it")
			go g.kill()
		}
	}
}

// checkHealth asks the plugin and records the answer.
func (in *Instance) checkHealth(ctx context.Context, g *generation) error {
	healthy, msg, err := g.conn.health(ctx)
	if err != nil {
		return in.classify(ctx, g, "Health", err)
	}
	// Masked before clip could cut a secret in two.
	msg = clip(in.red.str(msg))
	in.mu.Lock()
	in.health.at, in.health.healthy, in.health.message = time.Now(), healthy, msg
	in.mu.Unlock()
	if !healthy {
		return fmt.Errorf("plugins: instance %q: %w: %s", in.id, ErrUnhealthy, msg)
	}
	return nil
}

// stop kills the process and ends the instance's goroutines.
func (in *Instance) stop() {
	in.mu.Lock()
	if in.state == Stopped && in.gen == nil {
		in.mu.Unlock()
		in.wg.Wait()
		return
	}
	if in.state != Stopped {
		in.setState(Stopped)
		close(in.stopC)
	}
	g := in.gen
	in.gen = nil
	in.mu.Unlock()
	if g != nil {
		g.kill()
	}
	in.wg.Wait()
	in.log.Info("plugin stopped")
}

// acquire waits until the instance is ready and returns its process.
func (in *Instance) acquire(ctx context.Context) (*generation, error) {
	for {
		in.mu.Lock()
		state, g, ch, last := in.state, in.gen, in.changed, in.lastErr
		in.mu.Unlock()
		switch state {
		case Ready:
			if !exitedNow(g) {
				return g, nil
			}
			// The process is gone and the watcher is about to restart it: wait.
		case Failed:
			return nil, fmt.Errorf("plugins: instance %q: %w: %w", in.id, ErrFailed, last)
		case Stopped:
			return nil, fmt.Errorf("plugins: instance %q: %w", in.id, ErrStopped)
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("plugins: instance %q: waiting for the plugin to %s: %w", in.id, strings.TrimSuffix(state.String(), "ing"), ctx.Err())
		}
	}
}

// call runs fn on the ready process when the plugin has capability c ("" for the base).
func (in *Instance) call(ctx context.Context, c Capability, name string, fn func(g *generation) error) error {
	g, err := in.acquire(ctx)
	if err != nil {
		return err
	}
	if c != "" && !g.info.Has(c) {
		return fmt.Errorf("plugins: instance %q: %s: %w", in.id, name, ErrUnsupported)
	}
	return in.classify(ctx, g, name, fn(g))
}

func (in *Instance) stopped() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.state == Stopped
}

// classify maps a call's error onto the engine's errors, masking the
// instance's secret configuration values in what the plugin said.
func (in *Instance) classify(ctx context.Context, g *generation, call string, err error) error {
	return in.classifyMasked(ctx, g, call, err, in.red)
}

// classifyMasked is classify masking the values of red (the instance's
// secrets and perhaps a script's).
func (in *Instance) classifyMasked(ctx context.Context, g *generation, call string, err error, red *redactor) error {
	if err == nil {
		return nil
	}
	prefix := fmt.Sprintf("plugins: instance %q: %s", in.id, call)
	var cb callbackError
	if errors.As(err, &cb) {
		return cb.err // the caller's own error
	}
	var re *ResponseError
	if errors.As(err, &re) {
		re.Instance = in.id
		for i := range re.Problems {
			re.Problems[i].ID = red.str(re.Problems[i].ID)
			re.Problems[i].Message = red.str(re.Problems[i].Message)
		}
		return re
	}
	// From here on the plugin's words show no secret; the error still
	// unwraps to the original (status.FromError then takes the masked message).
	err = red.err(err)
	if errors.Is(err, ErrUnsupported) || errors.Is(err, immy.ErrInvalid) {
		return fmt.Errorf("%s: %w", prefix, err)
	}
	if in.stopped() {
		return fmt.Errorf("%s: %w", prefix, ErrStopped)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%s: %w", prefix, ctx.Err())
	}
	st, isStatus := status.FromError(err)
	if isStatus {
		msg := clip(st.Message())
		switch protocol.Reason(err) {
		case pluginv2.ErrorReason_ERROR_REASON_OFFLINE:
			return fmt.Errorf("%s: %s: %w", prefix, msg, immy.ErrOffline)
		case pluginv2.ErrorReason_ERROR_REASON_NO_USER_LOGGED_ON:
			return fmt.Errorf("%s: %s: %w", prefix, msg, immy.ErrNoUserLoggedOn)
		case pluginv2.ErrorReason_ERROR_REASON_NOT_FOUND:
			return fmt.Errorf("%s: %s: %w", prefix, msg, immy.ErrNotFound)
		case pluginv2.ErrorReason_ERROR_REASON_INVALID:
			return fmt.Errorf("%s: %s: %w", prefix, msg, immy.ErrInvalid)
		}
		switch st.Code() {
		case codes.Unimplemented:
			return fmt.Errorf("%s: %w", prefix, ErrUnsupported)
		case codes.NotFound:
			return fmt.Errorf("%s: %s: %w", prefix, msg, immy.ErrNotFound)
		case codes.InvalidArgument:
			return fmt.Errorf("%s: %s: %w", prefix, msg, immy.ErrInvalid)
		case codes.DeadlineExceeded:
			return fmt.Errorf("%s: %s: %w", prefix, msg, context.DeadlineExceeded)
		case codes.Unavailable, codes.Canceled, codes.Internal:
			// The transport failed: the process may have died.
		default:
			if exitedNow(g) {
				return &CrashError{Instance: in.id, Call: call, Err: err}
			}
			return fmt.Errorf("%s: plugin error: %s", prefix, msg)
		}
	}
	if waitExit(g, crashGrace) {
		in.log.Error("plugin process exited during a call", "call", call)
		return &CrashError{Instance: in.id, Call: call, Err: err}
	}
	return fmt.Errorf("%s: %w", prefix, err)
}

func exitedNow(g *generation) bool {
	select {
	case <-g.conn.exited():
		return true
	default:
		return false
	}
}

func waitExit(g *generation, grace time.Duration) bool {
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-g.conn.exited():
		return true
	case <-t.C:
		return false
	}
}
