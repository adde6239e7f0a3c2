// Command rmm-plugin is an example RMM integration: its agents are shells on
// this machine, and it really runs scripts on them with sh, streaming their
// output, honouring the deadline and killing the script's whole process tree
// when the engine cancels it or when the plugin itself dies (sdk.RunChild).
//
// The engine starts it as a plugin (it is not run by hand):
//
//	spec := plugins.Spec{ID: "local-rmm", Path: "rmm-plugin", SHA256: sum,
//		Config: map[string]string{"shells": "shell-1,shell-2"}}
//
// Configuration:
//
//	shells        agent ids, comma-separated (default "shell-1")
//	offline       agents reported offline, comma-separated
//	client        the client all agents belong to (default "local")
//	root          directory holding each shell's working directory (default: a temporary one)
//	uuid, serial, manufacturer
//	              override the hardware identity read from SMBIOS, for
//	              machines that have none to read (containers)
//
// Inventory: by default the plugin has no inventory capability, and the
// engine runs its built-in inventory script (package immy/inventory) through
// RunScript. Started with -native-inventory (plugins.Spec.Args), the plugin
// answers GetInventory itself (capability inventory), which the engine then
// prefers: it runs the same script in the agent's shell and returns what
// inventory.Parse read, as an RMM whose API runs scripts but lists no
// software would.
//
// Each agent reports this machine's identity: SMBIOS UUID, serial and
// manufacturer from /sys/class/dmi/id, /etc/machine-id as the OS installation
// id, and /etc/os-release. Several shells are thus one computer to the engine.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/inventory"
	"github.com/immyoss/engine/plugins/sdk"
)

func main() {
	native := flag.Bool("native-inventory", false, "answer GetInventory (capability inventory) by running the inventory script in the agent's shell")
	flag.Parse()
	if *native {
		sdk.Serve(&nativeInventory{&rmm{}})
		return
	}
	sdk.Serve(&rmm{})
}

// nativeInventory is the integration with the inventory capability.
type nativeInventory struct{ *rmm }

// Inventory runs the built-in Linux inventory script in the agent's shell
// and returns what it read.
func (n *nativeInventory) Inventory(ctx context.Context, agentID string) ([]sdk.InstalledSoftware, error) {
	script, err := inventory.Script(inventory.Linux)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	res, err := n.RunScript(ctx, sdk.ScriptRequest{AgentID: agentID, Script: script, Operation: "inventory"}, &out)
	if err != nil {
		return nil, err
	}
	if res.ExitCode != 0 {
		return nil, fmt.Errorf("inventory script exited with code %d", res.ExitCode)
	}
	sw, err := inventory.Parse(out.String())
	if err != nil {
		return nil, err
	}
	list := make([]sdk.InstalledSoftware, len(sw))
	for i, s := range sw {
		list[i] = sdk.InstalledSoftware{Name: s.Name, Version: s.Version.String(), Publisher: s.Publisher, ProductCode: s.ProductCode, UpgradeCode: s.UpgradeCode}
	}
	if n.host != nil {
		n.host.Logger().Info("inventory read natively", "agent", agentID, "entries", len(list))
	}
	return list, nil
}

// rmm is the integration.
type rmm struct {
	host     *sdk.Host
	client   string
	shells   []string
	offline  map[string]bool
	root     string
	identity immy.Identity
}

func (r *rmm) Info() sdk.Info {
	return sdk.Info{
		Name: "local-shell-rmm", Version: "1.0.0",
		Description: "an RMM whose agents are shells on the plugin's machine",
		ConfigFields: []sdk.ConfigField{
			{Key: "shells", Description: "agent ids, comma-separated"},
			{Key: "offline", Description: "agents reported offline, comma-separated"},
			{Key: "client", Description: "the client of the agents"},
			{Key: "root", Description: "directory of the shells' working directories"},
			{Key: "uuid", Description: "hardware UUID override"},
			{Key: "serial", Description: "serial number override"},
			{Key: "manufacturer", Description: "manufacturer override"},
		},
	}
}

var agentID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func (r *rmm) Configure(ctx context.Context, cfg sdk.Config, host *sdk.Host) error {
	r.host = host
	r.client = cfg.Get("client")
	if r.client == "" {
		r.client = "local"
	}
	r.shells = splitList(cfg.Get("shells"))
	if len(r.shells) == 0 {
		r.shells = []string{"shell-1"}
	}
	var problems []string
	for _, s := range r.shells {
		if !agentID.MatchString(s) {
			problems = append(problems, fmt.Sprintf("shells: %q is not a valid agent id (letters, digits, '.', '_', '-')", s))
		}
	}
	if dup := duplicates(r.shells); len(dup) > 0 {
		problems = append(problems, fmt.Sprintf("shells: listed twice: %s", strings.Join(dup, ", ")))
	}
	r.offline = map[string]bool{}
	for _, s := range splitList(cfg.Get("offline")) {
		if !slices.Contains(r.shells, s) {
			problems = append(problems, fmt.Sprintf("offline: %q is not one of the shells", s))
		}
		r.offline[s] = true
	}
	if len(problems) > 0 {
		return fmt.Errorf("rmm-plugin: %s: %w", strings.Join(problems, "; "), sdk.ErrInvalid)
	}
	r.root = cfg.Get("root")
	if r.root == "" {
		r.root = filepath.Join(os.TempDir(), "immy-rmm-plugin", cfg.Instance())
	}
	for _, s := range r.shells {
		if err := os.MkdirAll(filepath.Join(r.root, s), 0o700); err != nil {
			return fmt.Errorf("rmm-plugin: %w", err)
		}
	}
	r.identity = readIdentity()
	if v := cfg.Get("uuid"); v != "" {
		r.identity.UUID = v
	}
	if v := cfg.Get("serial"); v != "" {
		r.identity.Serial = v
	}
	if v := cfg.Get("manufacturer"); v != "" {
		r.identity.Manufacturer = v
	}
	host.Logger().Info("local shells ready", "shells", len(r.shells), "root", r.root)
	return nil
}

func duplicates(s []string) []string {
	seen := map[string]bool{}
	var dup []string
	for _, x := range s {
		if seen[x] && !slices.Contains(dup, x) {
			dup = append(dup, x)
		}
		seen[x] = true
	}
	return dup
}

func (r *rmm) Health(context.Context) error {
	if _, err := exec.LookPath("sh"); err != nil {
		return fmt.Errorf("no sh on this machine: %w", err)
	}
	return nil
}

func (r *rmm) ListClients(_ context.Context, emit func(sdk.Client) error) error {
	return emit(sdk.Client{ID: r.client, Name: r.client})
}

func (r *rmm) ListAgents(_ context.Context, emit func(sdk.Agent) error) error {
	now := time.Now().UTC()
	for _, s := range r.shells {
		id := r.identity
		a := sdk.Agent{ID: s, ClientID: r.client, Name: s, Online: !r.offline[s], Identity: id}
		if a.Online {
			a.LastSeen = now
		}
		if err := emit(a); err != nil {
			return err
		}
	}
	return nil
}

func (r *rmm) ListDeviceGroups(context.Context) ([]sdk.DeviceGroup, error) {
	return []sdk.DeviceGroup{{ID: "local-shells", Name: "Local shells", AgentIDs: slices.Clone(r.shells)}}, nil
}

// SetMaintenanceMode records the mode in the instance's private context.
func (r *rmm) SetMaintenanceMode(ctx context.Context, agent string, on bool, d time.Duration) error {
	if !slices.Contains(r.shells, agent) {
		return fmt.Errorf("agent %q: %w", agent, sdk.ErrNotFound)
	}
	key := "maintenance/" + agent
	if !on {
		return r.host.Delete(ctx, key)
	}
	until := "forever"
	if d > 0 {
		until = time.Now().Add(d).UTC().Format(time.RFC3339)
	}
	return r.host.Set(ctx, key, []byte(until))
}

var paramName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// RunScript runs a shell script in the agent's working directory. Parameters
// become environment variables of the same name.
func (r *rmm) RunScript(ctx context.Context, req sdk.ScriptRequest, out io.Writer) (sdk.ScriptResult, error) {
	if !slices.Contains(r.shells, req.AgentID) {
		return sdk.ScriptResult{}, fmt.Errorf("agent %q: %w", req.AgentID, sdk.ErrNotFound)
	}
	if r.offline[req.AgentID] {
		return sdk.ScriptResult{}, fmt.Errorf("agent %q: %w", req.AgentID, sdk.ErrOffline)
	}
	if req.Script.Context == immy.ContextUser {
		return sdk.ScriptResult{}, fmt.Errorf("agent %q: a local shell has no interactive user session: %w", req.AgentID, sdk.ErrNoUserLoggedOn)
	}
	if req.Script.Language != immy.LanguageShell {
		return sdk.ScriptResult{}, fmt.Errorf("script language %s: this RMM runs sh only: %w", req.Script.Language, sdk.ErrInvalid)
	}
	dir := filepath.Join(r.root, req.AgentID)
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "LANG=C.UTF-8", "IMMY_AGENT=" + req.AgentID}
	names := make([]string, 0, len(req.Parameters))
	for k := range req.Parameters {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		if !paramName.MatchString(k) {
			return sdk.ScriptResult{}, fmt.Errorf("parameter %q is not a shell variable name: %w", k, sdk.ErrInvalid)
		}
		env = append(env, k+"="+envValue(req.Parameters[k]))
	}

	cmd := exec.CommandContext(ctx, "sh", "-c", req.Script.Body)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 2 * time.Second

	_ = r.progress(ctx, req.Operation, 0, "started")
	// The script and whatever it starts die when the run is cancelled or
	// times out, and when this plugin dies, even by kill -9.
	err := sdk.RunChild(cmd)
	if ctx.Err() != nil {
		return sdk.ScriptResult{}, ctx.Err()
	}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		_ = r.progress(ctx, req.Operation, 100, "failed")
		return sdk.ScriptResult{ExitCode: exit.ExitCode()}, nil
	case err != nil:
		return sdk.ScriptResult{}, fmt.Errorf("running sh: %w", err)
	}
	_ = r.progress(ctx, req.Operation, 100, "done")
	return sdk.ScriptResult{}, nil
}

func (r *rmm) progress(ctx context.Context, op string, pct float64, msg string) error {
	if r.host == nil {
		return nil
	}
	return r.host.Progress(ctx, op, pct, msg)
}

// envValue renders a parameter for the environment: text as is, numbers and
// booleans as Go prints them, lists and maps as JSON.
func envValue(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// readIdentity reads what this machine says of itself; missing files leave
// fields empty.
func readIdentity() immy.Identity {
	read := func(path string) string {
		b, err := os.ReadFile(path)
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(b))
	}
	id := immy.Identity{
		UUID:         read("/sys/class/dmi/id/product_uuid"),
		Serial:       read("/sys/class/dmi/id/product_serial"),
		Manufacturer: read("/sys/class/dmi/id/sys_vendor"),
		Model:        read("/sys/class/dmi/id/product_name"),
		OSInstallID:  read("/etc/machine-id"),
		OS:           "Linux",
		Kind:         chassisKind(read("/sys/class/dmi/id/chassis_type")),
	}
	id.Hostname, _ = os.Hostname()
	if f, err := os.Open("/etc/os-release"); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			k, v, _ := strings.Cut(sc.Text(), "=")
			v = strings.Trim(v, `"`)
			switch k {
			case "PRETTY_NAME":
				id.OS = v
			case "VERSION_ID":
				id.OSVersion = v
			}
		}
	}
	return id
}

// chassisKind maps an SMBIOS chassis type to a kind of computer.
func chassisKind(t string) immy.ComputerKind {
	switch t {
	case "8", "9", "10", "14", "30", "31", "32":
		return immy.KindPortable
	case "3", "4", "5", "6", "7", "13", "15", "16", "35", "36":
		return immy.KindWorkstation
	case "17", "23", "25", "28", "29":
		return immy.KindServer
	}
	return immy.KindUnknown
}
