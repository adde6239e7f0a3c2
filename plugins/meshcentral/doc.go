// Package meshcentral is the engine's integration with MeshCentral, the
// open-source remote management server (and the remote-control backbone of
// Tactical RMM). The program cmd/immy-meshcentral serves it as a plugin
// process, which the engine starts through plugins.Manager like any other:
//
//	in, err := m.Start(ctx, plugins.Spec{
//		ID: "mesh-eu", Path: "/opt/immy/plugins/immy-meshcentral", SHA256: sum,
//		Config: map[string]string{
//			"url":       "https://mesh.example.com/",
//			"user":      "immy",
//			"login_key": key, // meshcentral --logintokenkey
//		},
//		Secrets: []string{"login_key"},
//	})
//
// Several instances (several servers, or several accounts on one) run side
// by side, each a process of its own.
//
// # What it does
//
//   - Clients: MeshCentral's device groups. Map each to a tenant with
//     plugins.ClientMap; a node's client is its device group.
//   - Agents: the nodes, online when their MeshAgent is connected, with the
//     OS the agent describes and the hardware identity (SMBIOS UUID, serial,
//     manufacturer, model) of the sysinfo it reported, which identification
//     merges with the same machine's other agents. A machine without SMBIOS
//     tables reports no sysinfo: its node has a hostname and an OS only.
//   - Device groups: the nodes' tags, as "tag:NAME".
//   - Scripts: sh on Linux and macOS, PowerShell and cmd on Windows, run by
//     the MeshAgent through MeshCentral's runcommands, with output, exit
//     code, timeout and cancellation (below). An offline node is
//     immy.ErrOffline; a user-context script with nobody logged on,
//     immy.ErrNoUserLoggedOn; a language the node's OS does not run,
//     immy.ErrInvalid.
//   - Inventory: MeshCentral has no software inventory; sessions read it with
//     the built-in inventory script (package immy/inventory) run through this
//     plugin, as for any RMM that runs scripts.
//   - Links: AgentLink gives a URL into MeshCentral's web UI at the node,
//     logged in by a fresh login token (valid one hour): its page, or for a
//     remote session its desktop (Windows, or a node with a user logged on)
//     or its terminal.
//   - Health: the server answers, the login is accepted, and (for a site
//     administrator) its version, read from the server console's info.
//
// # The protocol
//
// The plugin keeps one WebSocket to the server's /control.ashx, the
// connection MeshCentral's web UI and its meshctrl tool use, and sends JSON
// actions that carry a response id (random per connection: MeshCentral sends
// a run's answer to every session of the account) and waits for the answer
// that carries it. The connection is dialled on the first call and again
// after it drops, with exponential backoff between failed dials (0.5 s to
// 30 s); a refused login is ErrAuth.
//
// It logs in with a login token, as Tactical RMM does: login_key is the
// server's login-token key (LoginCookieEncryptionKey, 80 bytes in hex), and
// the plugin seals a token naming the account with it (AES-256-GCM, as
// MeshCentral's own encodeCookie), fresh for every connection and link.
// Without a key, it logs in with the account's user and password. The key
// and the password are secrets: the SDK keeps them out of logs and errors.
//
// # How a script runs
//
// MeshCentral's runcommands hands the agent a command text for its shell
// (sh, or PowerShell on Windows) and sends back what the shell printed once
// it exits, with no exit code. The plugin wraps each script: the wrapper
// writes it to a folder of its own, runs it with standard input closed, in
// a process group of its own, under a watchdog that kills the group at the
// timeout, and prints its exit code last behind a marker with a fresh nonce.
// Parameters become environment variables. Cancelling the call (ctx) kills
// the run's process groups through the agent's console (an eval the console
// runs even while the agent is busy): the MeshAgent's children inherit its
// blocked signals, so only SIGKILL reaches them on Linux.
//
// # Limits
//
//   - One run at a time per node: the MeshAgent drops a run while it is
//     running another, saying so to every session. Runs of one instance
//     queue for the node; a run dropped for another's (another instance, a
//     technician) is told by the wrapper's start line, which carries the
//     run's nonce, and retried with backoff within its deadline.
//   - Output arrives whole when the script ends, not streamed; the engine
//     keeps up to its MaxOutput of it.
//   - MeshCentral records every run's command text (script and parameters)
//     in its event log, which the device group's administrators can read, and
//     sends its output to every session of the account. Secret parameters
//     are therefore refused (ErrInvalid) unless allow_secret_parameters is
//     true.
//   - A node that disconnects during a run fails it with immy.ErrOffline:
//     whether the script finished is unknown.
//   - The account needs the device groups' rights to see nodes, run
//     commands and use the agent console (for cancellation); the server
//     version needs a site administrator.
//   - Windows scripts (PowerShell, cmd) go through a PowerShell wrapper and
//     taskkill; they are tested here only for their text, as the tests run a
//     Linux MeshAgent.
//
// # Testing
//
// The tests run against a real MeshCentral server and a real MeshAgent on
// this machine: eval "$(bash .ci/meshcentral)" installs MeshCentral from the
// npm registry (Node from Debian's packages when missing), starts it on
// loopback with a generated configuration, admin account and login-token
// key, connects the Linux MeshAgent shipped in the package, and prints the
// IMMY_TEST_MESHCENTRAL_* variables the tests read; bash .ci/meshcentral
// stop ends it. Without them the tests skip, and under CI=true they fail.
package meshcentral
