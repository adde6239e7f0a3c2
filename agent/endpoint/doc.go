// Package endpoint is the agent's side of the connection to the engine's
// server: it dials out over WebSocket and TLS, enrols with an install token
// or authenticates with its credential, answers the server's requests (run
// a script, report the inventory), and reconnects with backoff when the
// connection drops. The immy-agent command is a thin wrapper around it;
// a program that wants an agent inside itself uses it directly:
//
//	a, err := endpoint.New(endpoint.Config{
//		Server:       "wss://engine.example.com/agent",
//		InstallToken: os.Getenv("IMMY_AGENT_TOKEN"), // until enrolled
//		StateFile:    "/var/lib/immy-agent/state.json",
//	})
//	err = a.Run(ctx) // until ctx ends, or the server refuses the agent for good
//
// The credential is an Ed25519 key generated at enrolment; the state file
// keeps its seed and the agent's id, written atomically with mode 0600. The
// server only ever sees signatures over its per-connection challenge (see
// package agent for the protocol). Run returns a *RefusedError when the
// server turns the agent away for a reason retrying cannot fix (a wrong or
// expired install token, a revoked agent); other failures are retried,
// waiting MinBackoff doubling to MaxBackoff, with jitter.
//
// Config.TLS says which servers the agent trusts: nil is the system's CAs;
// CATLS adds a CA file's certificates to them or trusts those alone;
// PinnedTLS accepts only a server certificate of a given SHA-256 (ParsePin
// reads openssl's fingerprint), whoever issued it.
//
// An ephemeral agent (Config.Ephemeral) keeps its credential in memory and
// ends Run with nil when the server releases it or when it has had no
// request for IdleTimeout; the server then forgets it.
//
// Scripts run through Config.Scripts (a script.Runner by default) and
// inventories come from Config.Sysinfo; a script keeps running when the
// connection drops, until its own timeout or OrphanTimeout, and its result
// is then dropped. Stopping the agent (ending Run's context) kills the
// scripts it runs.
package endpoint
