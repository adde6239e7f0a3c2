package meshcentral_test

import (
	"context"
	"testing"
	"time"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/plugins"
	"github.com/immyoss/engine/plugins/meshcentral"
	"github.com/immyoss/engine/plugins/sdk/sdktest"
)

// BenchmarkRunScript measures the round trip of one small script on this
// machine by each pathway: through MeshCentral (the plugin binary under a
// Manager, the server, the MeshAgent), through MeshCentral with the plugin
// served in-process (no plugin process hop), and through the engine's own
// agent (agent.Server and the immy-agent binary). The script is the same
// echo; what differs is the way there and back.
//
//	eval "$(bash .ci/meshcentral)"
//	go test -run '^$' -bench BenchmarkRunScript -benchtime 50x ./plugins/meshcentral
func BenchmarkRunScript(b *testing.B) {
	s := testServer(b)
	script := shell("echo round-trip")
	check := func(b *testing.B, res immy.ScriptResult, err error) {
		if err != nil {
			b.Fatal(err)
		}
		if res.Output != "round-trip\n" {
			b.Fatalf("output %q", res.Output)
		}
	}
	b.Run("pathway=meshcentral", func(b *testing.B) {
		cfg, secrets := s.config(false)
		in := startInstances(b, nil, plugins.Spec{ID: "mesh", Config: cfg, Secrets: secrets})[0]
		ctx := context.Background()
		for b.Loop() {
			res, err := in.RunScript(ctx, immy.ScriptRequest{Computer: s.node, Script: script, Timeout: time.Minute})
			check(b, res, err)
		}
	})
	b.Run("pathway=meshcentral-in-process", func(b *testing.B) {
		cfg, secrets := s.config(false)
		p := &meshcentral.Plugin{}
		b.Cleanup(p.Close)
		h := sdktest.Start(b, p, sdktest.Options{Config: cfg, Secrets: secrets})
		ctx := context.Background()
		for b.Loop() {
			res, err := h.Instance.RunScript(ctx, immy.ScriptRequest{Computer: s.node, Script: script, Timeout: time.Minute})
			check(b, res, err)
		}
	})
	b.Run("pathway=engine-agent", func(b *testing.B) {
		own := startEngineAgent(b, "acme")
		ctx := context.Background()
		for b.Loop() {
			res, err := own.srv.RunScript(ctx, immy.ScriptRequest{Computer: own.status.AgentID, Script: script, Timeout: time.Minute})
			check(b, res, err)
		}
	})
}
