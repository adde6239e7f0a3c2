// Package agent is the engine's own way to reach computers: an agent that
// runs on each machine, and this package, the server side that an
// embedding product mounts on its own HTTPS listener.
//
// The parts:
//
//   - agent (this package): Server, an http.Handler agents connect to, which
//     is an immy.ScriptRunner and an immy.InventorySource for the sessions;
//     install tokens per tenant; the store of enrolled agents.
//   - agent/cmd/immy-agent: the agent, one static binary for Linux and
//     Windows (macOS builds, and runs Lua and sh, without an inventory).
//   - agent/endpoint: the agent's connection loop, for programs that embed
//     an agent rather than run the binary.
//   - agent/sysinfo: identity, software inventory and logged-on users of the
//     machine (Linux files, the Windows registry and APIs), with the parsers.
//   - agent/script: running sh, PowerShell, cmd and sandboxed Lua scripts.
//   - agent/ephemeral: bringing the agent, in ephemeral mode, onto a
//     computer only an RMM reaches, for one session, through the RMM's
//     run-script (binary SHA-256 checked, one-time token bound to the
//     computer).
//
// # Serving agents
//
//	store, err := sqlstore.Open(ctx, "/var/lib/immy/immy.db", sqlstore.Config{}) // or a postgres:// URL; package agent/sqlstore
//	defer store.Close()
//	srv := agent.NewServer(agent.Config{
//		Store:    store,                         // nil: in memory, forgotten at a restart
//		Route:    pathwaysOf,                    // computer id -> agent ids; nil: they are the same
//		Tenant:   tenantOf,                      // computer id -> tenant: only its tenant's agents are used
//		OnStatus: func(s agent.Status) { ... },  // online, offline, gone
//	})
//	defer srv.Close()
//	mux.Handle("/agent", srv)                   // on the product's TLS listener
//	token, _, err := srv.CreateInstallToken(ctx, "acme", agent.TokenOptions{MaxUses: 20}) // 7 days
//
//	res, err := srv.RunScript(ctx, immy.ScriptRequest{Computer: id, Script: s, Timeout: time.Minute})
//	inv, err := srv.Inventory(ctx, id)
//
// An agent's identity (Status.Identity) is what it says of itself: an
// agent enrolled with one tenant's token may report another machine's
// hardware. Feed it to plugins.Identifier as an Agent with Integration ""
// and Client set to Status.Tenant, which keeps it out of other tenants'
// computers, and set Config.Tenant, so that a script is never sent to an
// agent of another tenant than its computer's, whatever Route says.
//
// RunScript keeps the immy.ScriptRunner contract: a script that ran is a
// result whatever its exit code; a script stopped by ctx or by its Timeout
// returns its output so far with an error wrapping ctx's error or
// context.DeadlineExceeded; when ctx ends the agent kills the script's whole
// process group (job object on Windows) and RunScript waits up to
// Config.CancelGrace for its last output. A computer with no online agent is
// immy.ErrOffline, a user-context script with nobody logged on
// immy.ErrNoUserLoggedOn; a connection lost mid-run is ErrDisconnected
// (whether the script finished is unknown: detect again before re-running).
// Output streams to ScriptRequest.Output as the agent sends it, capped at
// MaxOutput (1 MiB by default) on both sides.
//
// # Connection and credentials
//
// The agent dials out (nothing listens on the endpoint, NAT is no obstacle)
// and keeps one WebSocket over TLS open, subprotocol immy-agent.v1, one JSON
// message per WebSocket message. The server opens with a challenge: 32
// random bytes, new for every connection. The agent answers with a hello
// signed with its Ed25519 key over that nonce, its agent id, its public key
// and a digest of its install token.
//
//   - Enrolment: an agent without a credential generates a key pair and
//     sends the tenant's install token and its public key, signed with the
//     new key. The server checks the token (stored as a SHA-256 hash;
//     revocable; valid for 7 days unless TokenOptions say otherwise, Never
//     included; optionally for a number of enrolments, counted atomically
//     by stores that are a TokenUser), stores the agent's public key, and
//     welcomes it with its new id, which the agent keeps with its private
//     key in a state file readable by its own user only.
//   - Reconnection: the agent sends its id, signed. The server checks the
//     signature against the stored public key.
//
// Why a key pair rather than a bearer secret: the credential never crosses
// the wire, so a hello captured anywhere (a TLS-terminating proxy's log, a
// debugging dump) is good for its own connection's nonce only and is
// refused on any other (the replay test shows it); and the server stores
// only public keys and token hashes, so a leaked database lets nobody act
// as an agent. TLS protects the rest: the agent refuses ws:// unless told
// otherwise for development, and verifies the server's certificate: against
// the system's CAs, with extra ones (-ca FILE), against only those
// (-ca FILE -ca-only), or by the certificate's SHA-256 instead of any CA
// (-pin; endpoint.PinnedTLS for an embedded agent).
//
// Before it is authenticated a connection may send 64 KiB and must say
// hello within Config.HelloTimeout; afterwards messages are bounded by
// Config.MaxMessageSize (8 MiB): a larger one closes that connection with
// WebSocket status 1009 and a reason naming the limit, a malformed one
// with 1008 and the decoding error. A refused agent gets a refusal message
// saying why (install-token, credential), then the close. An agent id that
// is not enrolled is refused exactly as a known one whose signature does
// not verify (it is checked against a key of no agent), so that refusals
// tell nobody which agent ids exist.
// None of this disturbs the other agents' connections. Both sides ping
// every Config.PingInterval and drop a silent connection; the agent then
// reconnects with exponential backoff (1 s doubling to 1 min, jittered). A
// newer connection of an agent replaces the older (close code 4001).
//
// Scripts keep running when their connection drops (an installer is better
// left to finish), until their own timeout, or for those without one
// endpoint.Config.OrphanTimeout; their results are then dropped.
//
// # Installing the agent
//
// Linux, as a systemd service (the state file defaults to
// /var/lib/immy-agent/state.json):
//
//	install -m 0755 immy-agent /usr/local/bin/immy-agent
//	cat > /etc/systemd/system/immy-agent.service <<'EOF'
//	[Unit]
//	Description=immy agent
//	After=network-online.target
//	Wants=network-online.target
//	[Service]
//	Environment=IMMY_AGENT_SERVER=wss://engine.example.com/agent
//	EnvironmentFile=-/etc/immy-agent.env
//	ExecStart=/usr/local/bin/immy-agent
//	Restart=on-failure
//	RestartPreventExitStatus=3
//	[Install]
//	WantedBy=multi-user.target
//	EOF
//	echo IMMY_AGENT_TOKEN=immy1_... > /etc/immy-agent.env && chmod 600 /etc/immy-agent.env
//	systemctl enable --now immy-agent
//
// Windows, as a service running as LocalSystem (it talks to the service
// control manager by itself; the state file defaults to
// %ProgramData%\immy-agent\state.json):
//
//	sc.exe create immy-agent binPath= "C:\Program Files\immy-agent\immy-agent.exe -server wss://engine.example.com/agent -token immy1_..." start= auto
//	sc.exe start immy-agent
//
// The token is only needed until the agent has enrolled. Exit status 3 means
// the server refused the agent (a wrong or expired token, a revoked agent):
// restarting cannot help.
//
// Ephemeral mode is for an RMM's run-script: the same binary, not installed,
// for one session's span. It enrols as ephemeral, keeps no state, and exits
// when the server calls Server.Release or after -idle (2 min) without a
// request; the server then forgets it:
//
//	immy-agent -server wss://engine.example.com/agent -ephemeral -idle 5m   # token in IMMY_AGENT_TOKEN
//
// immy-agent identify prints what the agent would report, as JSON, without
// a server. -root DIR reads a Linux file system mounted elsewhere (an agent
// in a container with the host's / at /host).
//
// # Scripts on the agent
//
// sh (Linux, macOS) and PowerShell (pwsh where installed on Linux;
// powershell.exe, else pwsh, on Windows) and cmd (Windows) run as child
// processes in a private temporary directory; Lua runs inside the agent in
// a sandbox (base, string, table and math only: no os, io, load or require;
// print, exit, sleep; string.rep bounded). Parameters are environment
// variables for sh and cmd, PowerShell parameters (those the script
// declares with param(), variables otherwise), Lua globals and the table
// params. The values of secret parameters are masked as ******** in the
// output before it leaves the machine. The Value of a result is a Lua
// script's returned value, else the last non-empty line of the output;
// a script killed by a signal exits 128+signal.
//
// User context runs the script as the logged-on user: on Linux the console
// user from systemd-logind or utmp, by setuid (the agent must run as
// root, else ErrPermission); on Windows with the active session's token
// (the agent must run as SYSTEM). Lua runs in the system context only.
//
// # What the agent reports
//
// See package sysinfo: hardware UUID, serial, manufacturer and model (DMI
// on Linux, the SMBIOS table on Windows), hostname, OS name and version,
// the OS installation id (machine-id, MachineGuid), the kind (workstation,
// portable from the chassis, server, domain controller, primary domain
// controller), the domain, logged-on users newest first, and the installed
// software (dpkg and rpm; the Uninstall keys of HKLM, WOW6432Node and every
// loaded user hive, with product and upgrade codes).
package agent
