// Command testplugin is the plugin the tests of package plugins load: an
// integration built with the SDK whose agents are generated and whose scripts
// are a tiny line language, so that a test can make it crash, hang, panic or
// report progress on purpose. With -protocol=1 it is instead a plugin built
// against protocol version 1, as an old plugin would be.
//
// Script lines:
//
//	echo TEXT      write TEXT and a newline
//	exit N         end with exit code N
//	sleep DUR      wait DUR (or until cancelled)
//	progress P     report P percent through the host services
//	param NAME     write the value of parameter NAME
//	crash          exit the plugin process at once, mid-call
//	offline        report the agent offline, mid-run
//	panic          panic in the plugin's code
//	value TEXT     end with TEXT as the value
//
// Agents whose id starts with "offline" are offline.
//
// Configured with leak=true, the plugin echoes its secret "token" in the
// errors of Health and ListAgents, in a log record, and in a raw stderr line,
// for the tests of redaction.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/plugins/sdk"
)

func main() {
	proto := flag.Int("protocol", 2, "protocol version to speak: 1 or 2")
	flag.Parse()
	if *proto == 1 {
		serveV1()
		return
	}
	sdk.Serve(&testPlugin{})
}

type testPlugin struct {
	agents    int
	badAgents bool
	unhealthy string
	hang      bool
	leak      string // the token, echoed everywhere, when leak=true
	host      *sdk.Host
}

// stderr is the stderr the process started with, which the host reads:
// go-plugin's Serve redirects os.Stderr.
var stderr = os.Stderr

func (p *testPlugin) Info() sdk.Info {
	return sdk.Info{
		Name: "testplugin", Version: "1.0.0", Description: "plugin of the tests of package plugins",
		ConfigFields: []sdk.ConfigField{
			{Key: "agents", Description: "how many agents to list"},
			{Key: "token", Description: "an API token", Secret: true},
		},
	}
}

func (p *testPlugin) Configure(ctx context.Context, cfg sdk.Config, host *sdk.Host) error {
	p.host = host
	p.agents = 3
	if v, ok := cfg.Lookup("agents"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("agents: %q is not a count: %w", v, sdk.ErrInvalid)
		}
		p.agents = n
	}
	if cfg.Get("reject") != "" {
		return fmt.Errorf("configuration rejected: %s: %w", cfg.Get("reject"), sdk.ErrInvalid)
	}
	p.badAgents = cfg.Get("bad_agents") == "true"
	p.unhealthy = cfg.Get("unhealthy")
	p.hang = cfg.Get("hang_health") == "true"
	if cfg.Get("leak") == "true" {
		p.leak = cfg.Get("token")
		fmt.Fprintf(stderr, "debug: logging in with token %s\n", p.leak)
		host.Logger().Warn("logging in with token " + p.leak)
	}
	// Count the starts in the private key-value context, which survives restarts.
	starts := 0
	if b, ok, err := host.Get(ctx, "starts"); err == nil && ok {
		starts, _ = strconv.Atoi(string(b))
	}
	starts++
	if err := host.Set(ctx, "starts", []byte(strconv.Itoa(starts))); err != nil {
		return err
	}
	host.Logger().Info("configured", "config", cfg, "starts", starts, "token_value_for_redaction_test", cfg.Get("token"))
	return nil
}

func (p *testPlugin) Health(ctx context.Context) error {
	if p.hang {
		<-ctx.Done() // a plugin stuck in a call
		return ctx.Err()
	}
	if p.unhealthy != "" {
		return errors.New(p.unhealthy)
	}
	if p.leak != "" {
		return fmt.Errorf("token %s refused", p.leak)
	}
	return nil
}

func (p *testPlugin) ListClients(_ context.Context, emit func(sdk.Client) error) error {
	for _, c := range []sdk.Client{{ID: "c1", Name: "Contoso"}, {ID: "c2", Name: "Fabrikam"}} {
		if err := emit(c); err != nil {
			return err
		}
	}
	return nil
}

// Agent returns the i-th generated agent.
func Agent(i int) sdk.Agent {
	return sdk.Agent{
		ID: fmt.Sprintf("agent-%06d", i), ClientID: []string{"c1", "c2"}[i%2], Name: fmt.Sprintf("PC-%06d", i),
		Online: i%3 != 0, LastSeen: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC),
		Identity: immy.Identity{
			UUID: fmt.Sprintf("4C4C4544-0042-3510-8051-%012X", i), Serial: fmt.Sprintf("SN%06d", i),
			Manufacturer: "Dell Inc.", Model: "Latitude 7440", Hostname: fmt.Sprintf("pc-%06d", i),
			OS: "Windows 11 Pro", OSVersion: "10.0.22631", OSInstallID: fmt.Sprintf("install-%06d", i),
			Kind: immy.KindWorkstation, Domain: "contoso.local",
		},
	}
}

func (p *testPlugin) ListAgents(ctx context.Context, emit func(sdk.Agent) error) error {
	if p.leak != "" {
		return fmt.Errorf("listing agents with token %s: %w", p.leak, sdk.ErrNotFound)
	}
	for i := range p.agents {
		if err := emit(Agent(i)); err != nil {
			return err
		}
	}
	if p.badAgents {
		for _, a := range []sdk.Agent{{ID: "", ClientID: "c1"}, {ID: "agent-000000", ClientID: "c1"}, {ID: "x", ClientID: ""}} {
			if err := emit(a); err != nil {
				return err
			}
		}
	}
	return nil
}

func (p *testPlugin) RunScript(ctx context.Context, req sdk.ScriptRequest, out io.Writer) (sdk.ScriptResult, error) {
	if strings.HasPrefix(req.AgentID, "offline") {
		return sdk.ScriptResult{}, fmt.Errorf("agent %s has not checked in: %w", req.AgentID, sdk.ErrOffline)
	}
	if req.Script.Context == immy.ContextUser {
		return sdk.ScriptResult{}, fmt.Errorf("agent %s: %w", req.AgentID, sdk.ErrNoUserLoggedOn)
	}
	for _, line := range strings.Split(req.Script.Body, "\n") {
		cmd, arg, _ := strings.Cut(strings.TrimSpace(line), " ")
		switch cmd {
		case "":
		case "echo":
			fmt.Fprintln(out, arg)
		case "exit":
			n, _ := strconv.Atoi(arg)
			return sdk.ScriptResult{ExitCode: n}, nil
		case "value":
			return sdk.ScriptResult{Value: arg}, nil
		case "sleep":
			d, err := time.ParseDuration(arg)
			if err != nil {
				return sdk.ScriptResult{}, fmt.Errorf("sleep %q: %w", arg, sdk.ErrInvalid)
			}
			select {
			case <-time.After(d):
			case <-ctx.Done():
				return sdk.ScriptResult{}, ctx.Err()
			}
		case "progress":
			pct, _ := strconv.ParseFloat(arg, 64)
			if err := p.host.Progress(ctx, req.Operation, pct, "working"); err != nil {
				return sdk.ScriptResult{}, err
			}
		case "param":
			fmt.Fprintln(out, req.Parameters[arg])
		case "spawn":
			// A child started plainly, not with sdk.StartChild: it stays in
			// the plugin's process group.
			c := exec.Command("sleep", arg)
			if err := c.Start(); err != nil {
				return sdk.ScriptResult{}, err
			}
			go c.Wait() //nolint:errcheck
			fmt.Fprintln(out, c.Process.Pid, os.Getpid())
		case "crash":
			os.Exit(3)
		case "offline":
			return sdk.ScriptResult{}, fmt.Errorf("agent %s went away: %w", req.AgentID, sdk.ErrOffline)
		case "panic":
			panic("asked to panic")
		case "fail":
			return sdk.ScriptResult{}, fmt.Errorf("failed with secret %v", req.Parameters[arg])
		default:
			return sdk.ScriptResult{}, fmt.Errorf("unknown command %q: %w", cmd, sdk.ErrInvalid)
		}
	}
	return sdk.ScriptResult{}, nil
}
