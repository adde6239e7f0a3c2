// Package ephemeral brings the engine's own agent onto a computer that only
// an RMM reaches, for one session: when a session needs what the RMM's
// run-script cannot give (user context, long scripts, large output), a
// Bootstrapper runs, through the RMM, the fetch script of immy/installer (the
// immy-agent binary downloaded from the server, its SHA-256 checked, a
// mismatch refused with nothing run) and then starts it in ephemeral mode
// with a one-time install token. The agent connects back; the Bootstrapper
// waits for the agent that enrolled with that very token, checks that it
// is the computer it was started for, and hands back its id, which the
// caller routes the computer's scripts to for the session. Release ends it:
// the agent says bye and exits, the server forgets it, and the launch
// script removes the binary.
//
//	b, err := ephemeral.New(ephemeral.Config{Server: srv, URL: "wss://engine.example.com/agent",
//		Binary: immy.Installer{URL: "https://engine.example.com/dl/immy-agent-linux-amd64", SHA256: sum}})
//	a, err := b.Start(ctx, rmm, computer, sessionID) // rmm: the computer's RMM runner
//	defer a.Release()
//	routes[computer.ID] = []string{a.ID}                // scripts of the session go to the agent
//
// The token is bound to the computer and the session: it enrols one agent
// (MaxUses 1) of the computer's tenant within Config.TokenTTL; the agent
// that used it must report the computer's hardware UUID (when both know
// one) and OS installation id (likewise), or it is revoked and Start fails.
// The token is a secret parameter of the RMM script: masked in everything
// the engine and the SDK log. Linux computers only for now (sh).
package ephemeral
