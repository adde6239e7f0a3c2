package plugins_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/plugins"
)

func benchManager(b *testing.B) *plugins.Manager {
	m := plugins.NewManager(plugins.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), HealthInterval: -1})
	b.Cleanup(func() { m.Close() })
	return m
}

// BenchmarkListAgents100k lists 100,000 agents from a plugin process, decoded
// into engine types. Goal: under 1 s per listing.
func BenchmarkListAgents100k(b *testing.B) {
	path, sum := testPlugin(b)
	in, err := benchManager(b).Start(context.Background(), plugins.Spec{ID: "rmm", Path: path, SHA256: sum, Config: map[string]string{"agents": "100000"}})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		n, batches := 0, 0
		err := in.ListAgents(ctx, func(a []plugins.Agent) error {
			n += len(a)
			batches++
			return nil
		})
		if err != nil || n != 100000 {
			b.Fatalf("listed %d agents: %v", n, err)
		}
		b.ReportMetric(float64(batches), "batches/op")
	}
}

// inProcess is what a run-script costs without a plugin process: the same
// work (a line of output, a result) as the test plugin's "echo ok".
type inProcess struct{}

func (inProcess) RunScript(_ context.Context, req immy.ScriptRequest) (immy.ScriptResult, error) {
	out := []byte("ok\n")
	if req.Output != nil {
		req.Output(out)
	}
	return immy.ScriptResult{Output: string(out), Value: "ok"}, nil
}

// BenchmarkRunScriptRoundTrip compares a run-script through a plugin process
// (gRPC over mTLS on a local socket, streamed output) with an in-process call
// doing the same work; the difference is the plugin's overhead. Goal: under 1 ms.
func BenchmarkRunScriptRoundTrip(b *testing.B) {
	path, sum := testPlugin(b)
	in, err := benchManager(b).Start(context.Background(), plugins.Spec{ID: "rmm", Path: path, SHA256: sum})
	if err != nil {
		b.Fatal(err)
	}
	req := immy.ScriptRequest{Computer: "agent-1", Script: shell("echo ok"), Output: func([]byte) {}}
	for _, r := range []struct {
		name   string
		runner immy.ScriptRunner
	}{{"in-process", inProcess{}}, {"plugin-process", in}} {
		b.Run(r.name, func(b *testing.B) {
			ctx := context.Background()
			for b.Loop() {
				res, err := r.runner.RunScript(ctx, req)
				if err != nil || res.Value != "ok" {
					b.Fatalf("%+v %v", res, err)
				}
			}
		})
	}
}
