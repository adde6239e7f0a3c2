package agent_test

import (
	"testing"

	"github.com/immyoss/engine/agent"
	"github.com/immyoss/engine/agent/endpoint"
	"github.com/immyoss/engine/immy"
)

// One script's round trip through the server and an in-process agent, over
// TLS on loopback: a Lua script (in the agent's process) and a sh script
// (a child process).
func BenchmarkRunScript(b *testing.B) {
	h := newHarness(b, agent.Config{})
	id, _, _ := h.inProcess(endpoint.Config{InstallToken: h.token("acme")})
	for _, s := range []immy.Script{
		{Language: immy.LanguageLua, Body: `return "ok"`},
		{Language: immy.LanguageShell, Body: `echo ok`},
	} {
		b.Run(s.Language.String(), func(b *testing.B) {
			for b.Loop() {
				res, err := h.srv.RunScript(b.Context(), immy.ScriptRequest{Computer: id, Script: s})
				if err != nil || res.Value != "ok" {
					b.Fatal(res, err)
				}
			}
		})
	}
}

// Streaming 1 MiB of output from a script to the server.
func BenchmarkOutput1MiB(b *testing.B) {
	h := newHarness(b, agent.Config{})
	id, _, _ := h.inProcess(endpoint.Config{InstallToken: h.token("acme")})
	b.SetBytes(1 << 20)
	for b.Loop() {
		res, err := h.srv.RunScript(b.Context(), immy.ScriptRequest{Computer: id, Script: immy.Script{Language: immy.LanguageShell, Body: `head -c 1048576 /dev/zero`}})
		if err != nil || len(res.Output) != 1<<20 {
			b.Fatal(len(res.Output), err)
		}
	}
}
