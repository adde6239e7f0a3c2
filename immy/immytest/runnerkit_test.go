package immytest_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/immytest"
)

func TestFakePassesRunnerKit(t *testing.T) {
	immytest.TestRunner(t, func(t *testing.T) immytest.RunnerKit { return immytest.FakeRunnerKit() })
}

// brokenRunner breaks the contract in the ways the kit must notice.
type brokenRunner struct{ immy.ScriptRunner }

func (b brokenRunner) RunScript(ctx context.Context, req immy.ScriptRequest) (immy.ScriptResult, error) {
	req.MaxOutput = 0                // ignores the cap
	req.Output = nil                 // does not stream
	ctx = context.WithoutCancel(ctx) // ignores cancellation and deadlines
	req.Timeout = 0
	if strings.Contains(req.Script.Body, "sleep") {
		return immy.ScriptResult{}, nil // pretends the sleep ran
	}
	if req.Computer == "off" || req.Computer == "nouser" {
		req.Computer = "pc"
		req.Script.Context = immy.ContextSystem
	}
	return b.ScriptRunner.RunScript(ctx, req)
}

func TestRunnerKitFindsBrokenRunners(t *testing.T) {
	kit := immytest.FakeRunnerKit()
	kit.Runner = brokenRunner{kit.Runner}
	err := immytest.CheckRunner(context.Background(), kit)
	require.Error(t, err)
	for _, check := range []string{"output-cap", "streaming", "deadline", "timeout", "cancel", "offline", "no-user"} {
		require.Contains(t, err.Error(), check+":")
	}
	for _, check := range []string{"output:", "exit-code:", "parameters:", "concurrency:"} {
		require.NotContains(t, err.Error(), check)
	}
	require.NoError(t, immytest.CheckRunner(context.Background(), immytest.FakeRunnerKit()))
}
