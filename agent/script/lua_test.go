package script_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/agent/script"
	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/immytest"
)

func luaKit(t *testing.T) immytest.RunnerKit {
	return immytest.RunnerKit{
		Runner:   script.New(script.Config{Logins: noLogins}),
		Computer: "this machine",
		Language: immy.LanguageLua,
		Print: func(lines ...string) string {
			var b strings.Builder
			for _, l := range lines {
				fmt.Fprintf(&b, "print(%q)\n", l)
			}
			return b.String()
		},
		Exit:       func(code int) string { return fmt.Sprintf("exit(%d)", code) },
		Sleep:      func(d time.Duration) string { return fmt.Sprintf("sleep(%g)", d.Seconds()) },
		PrintParam: func(name string) string { return fmt.Sprintf("print(params[%q])", name) },
	}
}

func TestConformanceLua(t *testing.T) { immytest.TestRunner(t, luaKit) }

func TestLua(t *testing.T) {
	r := script.New(script.Config{Logins: noLogins})
	lua := func(body string) immy.Script { return immy.Script{Language: immy.LanguageLua, Body: body} }
	tests := []struct {
		name   string
		body   string
		params map[string]any
		want   immy.ScriptResult
	}{
		{"returned value", "print('working'); return 40 + 2", nil, immy.ScriptResult{Output: "working\n", Value: "42"}},
		{"no returned value: the last line", "print('1.2.3'); print('')", nil, immy.ScriptResult{Output: "1.2.3\n\n", Value: "1.2.3"}},
		{"parameters", "return Name .. ' ' .. params.Count .. ' ' .. tostring(Flag) .. ' ' .. List[2] .. ' ' .. Obj.k", map[string]any{"Name": "web", "Count": 3.0, "Flag": false, "List": []any{"a", "b"}, "Obj": map[string]any{"k": "v"}},
			immy.ScriptResult{Value: "web 3 false b v"}},
		{"a parameter does not hide a built-in", "return type(print) .. ' ' .. params.print", map[string]any{"print": "x"}, immy.ScriptResult{Value: "function x"}},
		{"error", "print('a'); error('boom')", nil, immy.ScriptResult{ExitCode: 1, Output: "a\nlua: <string>:1: boom\n", Value: "lua: <string>:1: boom"}},
		{"syntax error", "return (", nil, immy.ScriptResult{ExitCode: 1, Output: "lua: <string>:1:9: syntax error near \"(\" at the end of the chunk\n", Value: "lua: <string>:1:9: syntax error near \"(\" at the end of the chunk"}},
		{"exit", "print('x'); exit(5); print('not reached')", nil, immy.ScriptResult{ExitCode: 5, Output: "x\n", Value: "x"}},
		{"exit inside pcall", "pcall(exit, 6); return 'ignored'", nil, immy.ScriptResult{ExitCode: 6}},
		{"sandbox: no os, io, require, load", "return tostring(os) .. tostring(io) .. tostring(require) .. tostring(load) .. tostring(dofile) .. tostring(debug)", nil, immy.ScriptResult{Value: "nilnilnilnilnilnil"}},
		{"string.rep is bounded", "local s = string.rep('x', 1e9)", nil, immy.ScriptResult{ExitCode: 1, Output: "lua: <string>:1: string.rep: result longer than 16777216 bytes\n", Value: "lua: <string>:1: string.rep: result longer than 16777216 bytes"}},
		{"string.rep up to the bound", "return #string.rep('ab', 8 * 1024 * 1024)", nil, immy.ScriptResult{Value: "16777216"}},
		{"the library is read-only", "string.upper = nil", nil, immy.ScriptResult{ExitCode: 1, Output: "lua: <string>:1: cannot change a read-only table\n", Value: "lua: <string>:1: cannot change a read-only table"}},
		{"a returned table's __tostring", "return setmetatable({}, {__tostring = function() return 'v1.2' end})", nil, immy.ScriptResult{Value: "v1.2"}},
		{"an error in a returned table's __tostring", "return setmetatable({}, {__tostring = function() error('bad') end})", nil, immy.ScriptResult{ExitCode: 1, Output: "lua: <string>:1: bad\n", Value: "lua: <string>:1: bad"}},
		{"a multi-line error message", "error('one\\ntwo', 0)", nil, immy.ScriptResult{ExitCode: 1, Output: "lua: one\ntwo\n", Value: "two"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := run(t, r, lua(tt.body), func(q *immy.ScriptRequest) { q.Parameters = tt.params })
			require.NoError(t, err)
			if diff := cmp.Diff(tt.want, res); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	// An endless loop ends at the deadline.
	_, err := run(t, r, lua("while true do end"), func(q *immy.ScriptRequest) { q.Timeout = 100 * time.Millisecond })
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

// Runs share the agent's Lua states: nothing one run writes, prints or
// exits with is seen by the next, whatever the order.
func TestLuaRunsAreIsolated(t *testing.T) {
	r := script.New(script.Config{Logins: noLogins})
	dirty := immy.Script{Language: immy.LanguageLua, Body: `
		leak, X = 1, 2
		params.X = 3
		print = nil
		pcall(exit, 7)`}
	check := immy.Script{Language: immy.LanguageLua, Body: `
		print("clean")
		return tostring(leak) .. " " .. tostring(X) .. " " .. tostring(params.X) .. " " .. tostring(rawget(_G, "print"))`}
	for range 3 {
		res, err := run(t, r, dirty, func(q *immy.ScriptRequest) { q.Parameters = map[string]any{"X": "p"} })
		require.NoError(t, err)
		require.Equal(t, immy.ScriptResult{ExitCode: 7}, res)
		res, err = run(t, r, check)
		require.NoError(t, err)
		if diff := cmp.Diff(immy.ScriptResult{Output: "clean\n", Value: "nil nil nil nil"}, res); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	}
}

func TestLuaConcurrentRuns(t *testing.T) {
	r := script.New(script.Config{Logins: noLogins})
	body := immy.Script{Language: immy.LanguageLua, Body: `for i = 1, 20 do print(Name) end return Name .. "!"`}
	var wg sync.WaitGroup
	results := make([]immy.ScriptResult, 16)
	errs := make([]error, len(results))
	for i := range results {
		wg.Go(func() {
			results[i], errs[i] = r.RunScript(t.Context(), immy.ScriptRequest{Script: body, Parameters: map[string]any{"Name": fmt.Sprint("pc", i)}})
		})
	}
	wg.Wait()
	for i, res := range results {
		require.NoError(t, errs[i])
		name := fmt.Sprint("pc", i)
		want := immy.ScriptResult{Output: strings.Repeat(name+"\n", 20), Value: name + "!"}
		if diff := cmp.Diff(want, res); diff != "" {
			t.Errorf("run %d (-want +got):\n%s", i, diff)
		}
	}
}
