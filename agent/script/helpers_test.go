package script_test

import (
	"context"
	"testing"

	"github.com/immyoss/engine/agent/script"
	"github.com/immyoss/engine/agent/sysinfo"
	"github.com/immyoss/engine/immy"
)

func noLogins(context.Context) ([]sysinfo.Login, error) { return nil, nil }

func run(t *testing.T, r *script.Runner, s immy.Script, mod ...func(*immy.ScriptRequest)) (immy.ScriptResult, error) {
	t.Helper()
	req := immy.ScriptRequest{Script: s}
	for _, m := range mod {
		m(&req)
	}
	return r.RunScript(t.Context(), req)
}
