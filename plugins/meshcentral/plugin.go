package meshcentral

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/plugins/sdk"
)

// Version is the plugin's version.
const Version = "1.0.0"

// Plugin is the MeshCentral integration: a value for sdk.Serve. Its zero
// value is ready; Configure connects it to one server.
type Plugin struct {
	host   *sdk.Host
	client *Client
	cfg    clientConfig

	allowSecrets bool
	sysinfoConc  int

	locks   sync.Map     // node id -> chan struct{} (one script at a time per node)
	version atomic.Value // string: the server's version, as last logged
}

// Config keys.
const (
	KeyURL          = "url"
	KeyUser         = "user"
	KeyLoginKey     = "login_key"
	KeyPassword     = "password"
	KeyDomain       = "domain"
	KeyCAFile       = "ca_file"
	KeyAllowSecrets = "allow_secret_parameters"
)

// Info describes the plugin.
func (p *Plugin) Info() sdk.Info {
	return sdk.Info{
		Name: "meshcentral", Version: Version,
		Description: "MeshCentral: device groups as clients, nodes as agents, scripts through the MeshAgent",
		ConfigFields: []sdk.ConfigField{
			{Key: KeyURL, Description: "the server's address, https://host[:port]/ (a domain's path included)", Required: true},
			{Key: KeyUser, Description: "the account to act as (default admin)"},
			{Key: KeyLoginKey, Description: "the server's login-token key, 160 hex digits (meshcentral --logintokenkey); or password", Secret: true},
			{Key: KeyPassword, Description: "the account's password, when no login_key", Secret: true},
			{Key: KeyDomain, Description: "the MeshCentral domain of the account (default: the default domain)"},
			{Key: KeyCAFile, Description: "PEM file of the certificate authority to trust for the server (default: the system's)"},
			{Key: KeyAllowSecrets, Description: "true lets secret script parameters through, although MeshCentral keeps every run's command text in its event log"},
		},
	}
}

// Configure checks the configuration, every problem at once, and prepares
// the connection; it does not dial (Health does).
func (p *Plugin) Configure(_ context.Context, cfg sdk.Config, host *sdk.Host) error {
	p.host = host
	var problems []string
	bad := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }

	var base *url.URL
	switch raw := cfg.Get(KeyURL); {
	case raw == "":
		bad("%s: required", KeyURL)
	default:
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" {
			bad("%s: %q is not an https://host[:port]/ address", KeyURL, raw)
			break
		}
		if !strings.HasSuffix(u.Path, "/") {
			u.Path += "/"
		}
		base = u
	}
	user := cmp.Or(cfg.Get(KeyUser), "admin")
	if strings.ContainsAny(user, "/ ") {
		bad("%s: %q may not hold '/' or spaces", KeyUser, user)
	}
	domain := cfg.Get(KeyDomain)
	if strings.ContainsAny(domain, "/ ") {
		bad("%s: %q may not hold '/' or spaces", KeyDomain, domain)
	}
	var key []byte
	password := cfg.Get(KeyPassword)
	switch k := cfg.Get(KeyLoginKey); {
	case k != "" && password != "":
		bad("%s and %s: set one, not both", KeyLoginKey, KeyPassword)
	case k != "":
		var err error
		if key, err = ParseLoginKey(k); err != nil {
			bad("%s: must be %d hex digits (meshcentral --logintokenkey prints it)", KeyLoginKey, 2*LoginKeySize)
		}
	case password == "":
		bad("%s or %s: one is required", KeyLoginKey, KeyPassword)
	}
	for _, k := range []string{KeyLoginKey, KeyPassword} {
		if cfg.Get(k) != "" && !cfg.IsSecret(k) {
			bad("%s: must be marked secret in the instance's Spec.Secrets", k)
		}
	}
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if f := cfg.Get(KeyCAFile); f != "" {
		pem, err := os.ReadFile(f)
		pool := x509.NewCertPool()
		switch {
		case err != nil:
			bad("%s: %v", KeyCAFile, err)
		case !pool.AppendCertsFromPEM(pem):
			bad("%s: %s holds no PEM certificate", KeyCAFile, f)
		default:
			tlsCfg.RootCAs = pool
		}
	}
	switch v := cfg.Get(KeyAllowSecrets); v {
	case "", "false":
	case "true":
		p.allowSecrets = true
	default:
		bad("%s: %q is neither true nor false", KeyAllowSecrets, v)
	}
	if len(problems) > 0 {
		return fmt.Errorf("meshcentral: %s: %w", strings.Join(problems, "; "), sdk.ErrInvalid)
	}
	p.cfg = clientConfig{base: base, domain: domain, user: user, key: key, password: password, tls: tlsCfg, logger: host.Logger()}
	p.client = newClient(p.cfg)
	p.sysinfoConc = 8
	return nil
}

// Close closes the connection to the server.
func (p *Plugin) Close() {
	if p.client != nil {
		p.client.Close()
	}
}

// Health dials the server (the login checks the credentials) and lists
// the device groups the account sees. The server's version, when the
// account may read it, is logged when first seen and when it changes.
func (p *Plugin) Health(ctx context.Context) error {
	if _, err := p.meshes(ctx); err != nil {
		return err
	}
	if v, err := p.ServerVersion(ctx); err == nil && v != "" {
		if old, _ := p.version.Swap(v).(string); old != v {
			p.host.Logger().Info("meshcentral: server", "url", p.cfg.base.Redacted(), "user", p.cfg.userID(), "version", v)
		}
	}
	return nil
}

// ServerVersion returns the MeshCentral server's version, read from its
// server console, which only a full site administrator may use; "" for
// other accounts (the server does not answer them).
func (p *Plugin) ServerVersion(ctx context.Context) (string, error) {
	s, err := p.client.connect(ctx)
	if err != nil {
		return "", err
	}
	if !s.admin {
		return "", nil
	}
	m, err := p.client.call(ctx, map[string]any{"action": "serverconsole", "value": "info"})
	if err != nil {
		return "", err
	}
	var r struct {
		Value string `json:"value"`
	}
	_ = json.Unmarshal(m.raw, &r)
	var info struct {
		MeshVersion string `json:"meshVersion"`
	}
	if json.Unmarshal([]byte(r.Value), &info) != nil {
		return "", nil
	}
	return strings.TrimPrefix(info.MeshVersion, "v"), nil
}

// mesh is a device group.
type mesh struct {
	ID      string `json:"_id"`
	Name    string `json:"name"`
	Type    int    `json:"mtype"`
	Deleted any    `json:"deleted"`
}

// node is a device as the nodes action lists it.
type node struct {
	ID     string   `json:"_id"`
	Name   string   `json:"name"`
	RName  string   `json:"rname"`
	Host   string   `json:"host"`
	OSDesc string   `json:"osdesc"`
	Conn   int      `json:"conn"`
	Tags   []string `json:"tags"`
	Users  []string `json:"users"`
	Agent  *struct {
		ID int `json:"id"`
	} `json:"agent"`
	mesh string
}

func (n node) online() bool  { return n.Conn&1 != 0 }
func (n node) windows() bool { return n.Agent != nil && n.Agent.ID >= 1 && n.Agent.ID <= 4 }

func (p *Plugin) meshes(ctx context.Context) ([]mesh, error) {
	m, err := p.client.call(ctx, map[string]any{"action": "meshes"})
	if err != nil {
		return nil, err
	}
	var r struct {
		Meshes []mesh `json:"meshes"`
	}
	if err := json.Unmarshal(m.raw, &r); err != nil {
		return nil, fmt.Errorf("meshcentral: meshes: %w", err)
	}
	out := r.Meshes[:0]
	for _, g := range r.Meshes {
		if g.Deleted == nil && g.ID != "" {
			out = append(out, g)
		}
	}
	slices.SortFunc(out, func(a, b mesh) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

func (p *Plugin) nodes(ctx context.Context) ([]node, error) {
	m, err := p.client.call(ctx, map[string]any{"action": "nodes"})
	if err != nil {
		return nil, err
	}
	var r struct {
		Nodes map[string][]node `json:"nodes"`
	}
	if err := json.Unmarshal(m.raw, &r); err != nil {
		return nil, fmt.Errorf("meshcentral: nodes: %w", err)
	}
	var out []node
	for meshID, ns := range r.Nodes {
		for _, n := range ns {
			n.mesh = meshID
			out = append(out, n)
		}
	}
	slices.SortFunc(out, func(a, b node) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// ListClients lists the device groups: each is a client of the engine,
// mapped to a tenant by the engine's ClientMap.
func (p *Plugin) ListClients(ctx context.Context, emit func(sdk.Client) error) error {
	ms, err := p.meshes(ctx)
	if err != nil {
		return err
	}
	for _, g := range ms {
		if err := emit(sdk.Client{ID: g.ID, Name: g.Name}); err != nil {
			return err
		}
	}
	return nil
}

// ListDeviceGroups lists the node tags as device groups ("tag:NAME").
func (p *Plugin) ListDeviceGroups(ctx context.Context) ([]sdk.DeviceGroup, error) {
	ns, err := p.nodes(ctx)
	if err != nil {
		return nil, err
	}
	byTag := map[string][]string{}
	for _, n := range ns {
		for _, t := range n.Tags {
			if t = strings.TrimSpace(t); t != "" && !slices.Contains(byTag[t], n.ID) {
				byTag[t] = append(byTag[t], n.ID)
			}
		}
	}
	out := make([]sdk.DeviceGroup, 0, len(byTag))
	for t, ids := range byTag {
		out = append(out, sdk.DeviceGroup{ID: "tag:" + t, Name: t, AgentIDs: ids})
	}
	slices.SortFunc(out, func(a, b sdk.DeviceGroup) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// ListAgents lists the nodes: the device group is the client, the node's
// hardware identity comes from the sysinfo its agent reported (a few
// requests at a time), the OS from the agent's description.
func (p *Plugin) ListAgents(ctx context.Context, emit func(sdk.Agent) error) error {
	ns, err := p.nodes(ctx)
	if err != nil {
		return err
	}
	last := p.lastConnects(ctx)
	ids := make([]immy.Identity, len(ns))
	sem := make(chan struct{}, max(1, p.sysinfoConc))
	var wg sync.WaitGroup
	for i, n := range ns {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			ids[i] = p.identity(ctx, n)
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	now := time.Now().UTC()
	for i, n := range ns {
		a := sdk.Agent{ID: n.ID, ClientID: n.mesh, Name: cmp.Or(n.Name, n.RName), Online: n.online(), Identity: ids[i]}
		if a.Online {
			a.LastSeen = now
		} else if t, ok := last[n.ID]; ok {
			a.LastSeen = t
		}
		if err := emit(a); err != nil {
			return err
		}
	}
	return nil
}

// lastConnects returns when each node was last connected; none on error.
func (p *Plugin) lastConnects(ctx context.Context) map[string]time.Time {
	m, err := p.client.call(ctx, map[string]any{"action": "lastconnects"})
	if err != nil {
		return nil
	}
	var r struct {
		LastConnects map[string]float64 `json:"lastconnects"`
	}
	if json.Unmarshal(m.raw, &r) != nil {
		return nil
	}
	out := make(map[string]time.Time, len(r.LastConnects))
	for id, ms := range r.LastConnects {
		if ms > 0 {
			out[strings.TrimPrefix(id, "lc")] = time.UnixMilli(int64(ms)).UTC()
		}
	}
	return out
}

// identity is what the node says of itself: its sysinfo when it reported
// one (none on a machine without SMBIOS), its names and OS always.
func (p *Plugin) identity(ctx context.Context, n node) immy.Identity {
	id := immy.Identity{Hostname: cmp.Or(n.RName, n.Name), OS: n.OSDesc}
	switch {
	case n.windows():
		id.OS = cmp.Or(id.OS, "Windows")
	case n.Agent != nil:
		id.OS = cmp.Or(id.OS, "Linux")
	}
	m, err := p.client.call(ctx, map[string]any{"action": "getsysinfo", "nodeid": n.ID})
	if err != nil {
		return id
	}
	hw, err := parseSysinfo(m.raw)
	if err != nil {
		p.host.Logger().Debug("meshcentral: sysinfo unreadable", "node", n.ID, "error", err)
		return id
	}
	hw.Hostname, hw.OS = cmp.Or(hw.Hostname, id.Hostname), cmp.Or(id.OS, hw.OS)
	return hw
}

// AgentLink gives a login-token URL to the node in MeshCentral's web UI:
// its page, or for LinkRemoteSession its desktop (Windows, a desktop
// session) or terminal. It needs login_key: with a password there is no
// token to give, and the link asks the technician to log in.
func (p *Plugin) AgentLink(ctx context.Context, agentID string, kind sdk.LinkKind) (string, error) {
	if !strings.HasPrefix(agentID, "node/") {
		return "", fmt.Errorf("agent %q is not a MeshCentral node id: %w", agentID, sdk.ErrNotFound)
	}
	q := url.Values{}
	q.Set("gotonode", strings.TrimPrefix(agentID, "node/"+p.cfg.domain+"/"))
	switch kind {
	case sdk.LinkRemoteSession:
		q.Set("viewmode", "11") // desktop
		if ns, err := p.nodes(ctx); err == nil {
			i := slices.IndexFunc(ns, func(n node) bool { return n.ID == agentID })
			if i < 0 {
				return "", fmt.Errorf("agent %q: %w", agentID, sdk.ErrNotFound)
			}
			if !ns[i].windows() && len(ns[i].Users) == 0 {
				q.Set("viewmode", "12") // terminal: no desktop to see
			}
		}
		q.Set("hide", "31")
	default:
		q.Set("viewmode", "10")
	}
	if p.cfg.key != nil {
		tok, err := webToken(p.cfg.key, p.cfg.userID(), time.Now())
		if err != nil {
			return "", err
		}
		q.Set("login", tok)
	}
	u := *p.cfg.base
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// RunScript runs a script on a node through MeshCentral's runcommands, one
// at a time per node (the agent runs one and drops the others while busy).
func (p *Plugin) RunScript(ctx context.Context, req sdk.ScriptRequest, out io.Writer) (sdk.ScriptResult, error) {
	if !strings.HasPrefix(req.AgentID, "node/") {
		return sdk.ScriptResult{}, fmt.Errorf("agent %q is not a MeshCentral node id: %w", req.AgentID, sdk.ErrNotFound)
	}
	if len(req.Secrets) > 0 && !p.allowSecrets {
		return sdk.ScriptResult{}, fmt.Errorf("secret parameters %s: MeshCentral keeps each run's command text in its event log; set %s=true to let them through: %w",
			strings.Join(req.Secrets, ", "), KeyAllowSecrets, sdk.ErrInvalid)
	}
	runAs := 0
	if req.Script.Context == immy.ContextUser {
		ns, err := p.nodes(ctx)
		if err != nil {
			return sdk.ScriptResult{}, err
		}
		i := slices.IndexFunc(ns, func(n node) bool { return n.ID == req.AgentID })
		switch {
		case i < 0:
			return sdk.ScriptResult{}, fmt.Errorf("agent %q: %w", req.AgentID, sdk.ErrNotFound)
		case !ns[i].online():
			return sdk.ScriptResult{}, fmt.Errorf("agent %q: %w", req.AgentID, sdk.ErrOffline)
		case len(ns[i].Users) == 0:
			return sdk.ScriptResult{}, fmt.Errorf("agent %q: %w", req.AgentID, sdk.ErrNoUserLoggedOn)
		}
		runAs = 2 // the logged-on user only
	}

	unlock, err := p.lock(ctx, req.AgentID)
	if err != nil {
		return sdk.ScriptResult{}, err
	}
	defer unlock()

	gone, unwatch := p.client.watch(req.AgentID)
	defer unwatch()
	for attempt := 0; ; attempt++ {
		timeout := req.Timeout
		if dl, ok := ctx.Deadline(); ok && (timeout == 0 || time.Until(dl) < timeout) {
			timeout = time.Until(dl)
		}
		w, err := wrap(req.Script, req.Parameters, timeout, newNonce())
		if err != nil {
			return sdk.ScriptResult{}, err
		}
		res, err := p.runOnce(ctx, req, w, runAs, gone, out)
		if !errors.Is(err, errBusy) {
			return res, err
		}
		// Another run (of another engine instance, or a technician's) holds
		// the agent: try again, backing off, within ctx.
		d := min(500*time.Millisecond<<min(attempt, 4), 5*time.Second)
		p.host.Logger().Info("meshcentral: the agent is busy with another run; retrying", "agent", req.AgentID, "in", d)
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return sdk.ScriptResult{}, ctx.Err()
		}
	}
}

// errBusy is a run the agent dropped because it was running another.
var errBusy = errors.New("meshcentral: the agent is busy with another run")

// busyText is what the MeshAgent says when it drops a run.
const busyText = "Run commands can't execute, already busy."

// runOnce sends one run and waits for its report. The agent runs one
// runcommands at a time and drops others with a console message naming
// nobody; the wrapper's start line, with the run's own nonce, tells a run
// that started from one that was dropped.
func (p *Plugin) runOnce(ctx context.Context, req sdk.ScriptRequest, w wrapped, runAs int, gone <-chan struct{}, out io.Writer) (sdk.ScriptResult, error) {
	console, unsubscribe := p.client.console(req.AgentID)
	defer unsubscribe()
	done := make(chan answer, 1)
	callCtx, cancelCall := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelCall()
	go func() {
		m, err := p.client.call(callCtx, map[string]any{
			"action": "runcommands", "nodeids": []string{req.AgentID}, "type": w.cmdType,
			"cmds": w.text, "runAsUser": runAs, "reply": true,
		})
		done <- answer{m, err}
	}()
	_ = p.progress(ctx, req.Operation, 0, "sent to MeshCentral")

	started := false
	var busy <-chan time.Time
	var a answer
wait:
	for {
		select {
		case a = <-done:
			break wait
		case text := <-console:
			switch {
			case strings.Contains(text, w.start):
				started, busy = true, nil
			case !started && busy == nil && strings.Contains(text, busyText):
				busy = time.After(3 * time.Second)
			}
		case <-busy:
			if !started {
				return sdk.ScriptResult{}, errBusy
			}
		case <-gone:
			return sdk.ScriptResult{}, fmt.Errorf("agent %q disconnected during the run (whether the script finished is unknown): %w", req.AgentID, sdk.ErrOffline)
		case <-ctx.Done():
			p.cancelRun(req.AgentID, w.cancel, done)
			return sdk.ScriptResult{}, ctx.Err()
		}
	}
	if a.err != nil {
		if errors.Is(a.err, ErrDisconnected) {
			return sdk.ScriptResult{}, fmt.Errorf("agent %q: %w: %w", req.AgentID, a.err, sdk.ErrOffline)
		}
		return sdk.ScriptResult{}, a.err
	}
	var r struct {
		Action string `json:"action"`
		Type   string `json:"type"`
		Result string `json:"result"`
	}
	if err := json.Unmarshal(a.m.raw, &r); err != nil {
		return sdk.ScriptResult{}, fmt.Errorf("meshcentral: runcommands answer: %w", err)
	}
	if r.Action == "runcommands" { // refused by the server
		switch r.Result {
		case "Agent not connected":
			return sdk.ScriptResult{}, fmt.Errorf("agent %q: %w", req.AgentID, sdk.ErrOffline)
		case "Invalid nodeid", "Invalid domain":
			return sdk.ScriptResult{}, fmt.Errorf("agent %q: %w", req.AgentID, sdk.ErrNotFound)
		case "Invalid command type":
			return sdk.ScriptResult{}, fmt.Errorf("agent %q does not run %s scripts: %w", req.AgentID, req.Script.Language, sdk.ErrInvalid)
		default:
			return sdk.ScriptResult{}, fmt.Errorf("meshcentral: runcommands on %q refused: %s", req.AgentID, printable(r.Result))
		}
	}
	output, code, ok := w.result(r.Result)
	if _, err := io.WriteString(out, output); err != nil {
		return sdk.ScriptResult{}, err
	}
	if err := ctx.Err(); err != nil {
		return sdk.ScriptResult{}, err
	}
	if !ok {
		return sdk.ScriptResult{}, fmt.Errorf("meshcentral: agent %q reported no exit code (the script was killed or the agent restarted)", req.AgentID)
	}
	_ = p.progress(ctx, req.Operation, 100, "done")
	return sdk.ScriptResult{ExitCode: code}, nil
}

// cancelRun ends a run through the agent's console, which runs while
// runcommands is busy: the command kills the run's process groups. The
// wrapper then reports, which frees the agent; the command is sent again
// (a run cancelled as it starts may not have written its group ids yet)
// until the report arrives, for 10 seconds at most.
func (p *Plugin) cancelRun(agentID, command string, done <-chan answer) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		err := p.client.send(ctx, map[string]any{
			"action": "runcommands", "nodeids": []string{agentID}, "type": cmdTypeConsole, "cmds": command,
		})
		if err != nil {
			p.host.Logger().Warn("meshcentral: cancelling a run failed", "agent", agentID, "error", err)
			return
		}
		t := time.NewTimer(time.Second)
		select {
		case <-done:
			t.Stop()
			return
		case <-ctx.Done():
			t.Stop()
			p.host.Logger().Warn("meshcentral: a cancelled run did not end in 10s", "agent", agentID)
			return
		case <-t.C:
		}
	}
}

// answer is how a runcommands call ended.
type answer struct {
	m   message
	err error
}

// lock takes the node's run slot, waiting within ctx.
func (p *Plugin) lock(ctx context.Context, agentID string) (func(), error) {
	v, _ := p.locks.LoadOrStore(agentID, make(chan struct{}, 1))
	ch := v.(chan struct{})
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (p *Plugin) progress(ctx context.Context, op string, pct float64, msg string) error {
	if p.host == nil || op == "" {
		return nil
	}
	return p.host.Progress(ctx, op, pct, msg)
}
