// Command immy-agent is the engine's endpoint agent: installed on a
// computer, it dials the engine's server, enrols with a tenant's install
// token, and then identifies the machine, reports its inventory and runs
// scripts for maintenance sessions. See the documentation of package
// github.com/immyoss/engine/agent for installing and running it.
//
// Usage:
//
//	immy-agent -server wss://HOST/PATH [-token TOKEN] [flags]   run (enrols first if needed)
//	  -ca FILE [-ca-only]   trust the CAs of FILE besides the system's (or, with -ca-only, alone)
//	  -pin SHA256[,...]     accept only a server certificate of this SHA-256 (instead of CA checks)
//	immy-agent -server wss://HOST/PATH -ephemeral [flags]       run for one session's span, keeping no state
//	immy-agent identify [-root DIR]                             print this machine's inventory as JSON
//
// The install token is best passed in the environment as IMMY_AGENT_TOKEN,
// where other users cannot read it; the server as IMMY_AGENT_SERVER.
//
// Exit status: 0 when stopped or (ephemeral) done, 1 on error, 2 on bad
// usage, 3 when the server refused the agent (a wrong or expired install
// token, a revoked agent).
package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/immyoss/engine/agent/endpoint"
	"github.com/immyoss/engine/agent/sysinfo"
)

// version is set at build time: -ldflags "-X main.version=1.2.3".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := runService(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// defaultStateFile is where an installed agent keeps its credential.
func defaultStateFile() string {
	if runtime.GOOS == "windows" {
		dir := os.Getenv("ProgramData")
		if dir == "" {
			dir = `C:\ProgramData`
		}
		return filepath.Join(dir, "immy-agent", "state.json")
	}
	return "/var/lib/immy-agent/state.json"
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "identify" {
		return identify(ctx, args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("immy-agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	server := fs.String("server", os.Getenv("IMMY_AGENT_SERVER"), "the server's URL, wss://HOST/PATH (or $IMMY_AGENT_SERVER)")
	token := fs.String("token", "", "install token to enrol with (better: $IMMY_AGENT_TOKEN)")
	state := fs.String("state", defaultStateFile(), "file keeping the agent's id and credential")
	ephemeral := fs.Bool("ephemeral", false, "run for one session's span: keep no state, exit when released or idle")
	idle := fs.Duration("idle", endpoint.DefaultIdleTimeout, "ephemeral: exit after this long without a request")
	caFile := fs.String("ca", "", "PEM file of CA certificates to trust besides the system's")
	caOnly := fs.Bool("ca-only", false, "trust only the CAs of -ca, not the system's")
	pins := fs.String("pin", os.Getenv("IMMY_AGENT_PIN"), "accept only a server certificate of this SHA-256 (64 hex digits; several comma-separated), instead of CA checks (or $IMMY_AGENT_PIN)")
	plaintext := fs.Bool("insecure-plaintext", false, "allow a ws:// server URL (development only)")
	root := fs.String("root", "", "read the machine's files under this directory (a container with the host's / mounted)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	minBackoff := fs.Duration("backoff-min", endpoint.DefaultMinBackoff, "first wait before reconnecting")
	maxBackoff := fs.Duration("backoff-max", endpoint.DefaultMaxBackoff, "longest wait before reconnecting")
	ping := fs.Duration("ping", endpoint.DefaultPingInterval, "how often to check the connection")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *showVersion {
		fmt.Fprintln(stdout, "immy-agent", version, runtime.GOOS+"/"+runtime.GOARCH)
		return 0
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "immy-agent: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *server == "" {
		fmt.Fprintln(stderr, "immy-agent: -server is required (or $IMMY_AGENT_SERVER)")
		return 2
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(stderr, "immy-agent: -log-level: %v\n", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if *token == "" {
		*token = os.Getenv("IMMY_AGENT_TOKEN")
	}
	tlsCfg, err := tlsConfig(*caFile, *caOnly, *pins)
	if err != nil {
		fmt.Fprintf(stderr, "immy-agent: %v\n", err)
		return 2
	}
	stateFile := *state
	if *ephemeral {
		stateFile = ""
	}
	a, err := endpoint.New(endpoint.Config{
		Server: *server, InstallToken: *token, StateFile: stateFile,
		Ephemeral: *ephemeral, IdleTimeout: *idle, TLS: tlsCfg, AllowPlaintext: *plaintext,
		Sysinfo: &sysinfo.Source{Root: *root}, Logger: log,
		MinBackoff: *minBackoff, MaxBackoff: *maxBackoff, PingInterval: *ping, Version: version,
	})
	if err != nil {
		fmt.Fprintf(stderr, "immy-agent: %v\n", err)
		return 2
	}
	err = a.Run(ctx)
	var refused *endpoint.RefusedError
	switch {
	case errors.As(err, &refused):
		fmt.Fprintf(stderr, "immy-agent: %v\n", err)
		return 3
	case err != nil:
		fmt.Fprintf(stderr, "immy-agent: %v\n", err)
		return 1
	}
	return 0
}

// tlsConfig is how the agent checks the server: the system's CAs (nil),
// with those of caFile, or those alone (caOnly), or the pinned certificates
// instead of any CA.
func tlsConfig(caFile string, caOnly bool, pins string) (*tls.Config, error) {
	if pins != "" {
		if caFile != "" || caOnly {
			return nil, errors.New("-pin replaces the CA checks: give -pin, or -ca (with -ca-only), not both")
		}
		var ps []endpoint.Pin
		for _, s := range strings.Split(pins, ",") {
			p, err := endpoint.ParsePin(s)
			if err != nil {
				return nil, fmt.Errorf("-pin: %w", err)
			}
			ps = append(ps, p)
		}
		return endpoint.PinnedTLS(ps...)
	}
	if caFile == "" {
		if caOnly {
			return nil, errors.New("-ca-only needs -ca: the file of the CAs to trust")
		}
		return nil, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("-ca: %w", err)
	}
	cfg, err := endpoint.CATLS(pem, caOnly)
	if err != nil {
		return nil, fmt.Errorf("-ca %s: %w", caFile, err)
	}
	return cfg, nil
}

// identify prints what the agent would report, without a server.
func identify(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("immy-agent identify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	root := fs.String("root", "", "read the machine's files under this directory")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	src := &sysinfo.Source{Root: *root}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	inv, err := src.Inventory(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "immy-agent: %v\n", err)
		return 1
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(inv); err != nil {
		fmt.Fprintf(stderr, "immy-agent: %v\n", err)
		return 1
	}
	return 0
}
