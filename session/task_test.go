package session

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
)

// taskFleet is computers pc1 and pc2 and one task deployed in a mode, whose
// state on the computers is "task:ID" = state.
func taskFleet(task immy.Task, mode immy.TaskMode, params map[string]any, state *bool) *immy.Fleet {
	f := &immy.Fleet{
		Tenants: []immy.Tenant{{ID: "t1", Name: "Tenant One", Tags: []string{"vip"}}},
		Computers: []immy.Computer{
			{ID: "pc1", Tenant: "t1", Name: "PC1", Kind: immy.KindWorkstation, UPNs: []string{"ann@t1.com"}},
			{ID: "pc2", Tenant: "t1", Name: "PC2", Kind: immy.KindWorkstation},
		},
		Tasks: []immy.Task{task},
		Deployments: []immy.Deployment{{ID: "d-task", Item: task.ID, Target: immy.Target{Type: immy.TargetAllComputers},
			Mode: mode, Parameters: params}},
	}
	if state != nil {
		for i := range f.Computers {
			f.Computers[i].Tasks = map[string]bool{task.ID: *state}
		}
	}
	return f
}

func ptr[T any](v T) *T { return &v }

// taskRuns lists the methods of the scripts run on pc1 (the parameter
// "method", or the script's own name by its body).
func taskRuns(h *harness) []string {
	var out []string
	for _, r := range h.fake.Computer("pc1").Runs() {
		if r.Inventory {
			continue
		}
		switch m, ok := r.Parameters["method"]; {
		case ok:
			out = append(out, m.(string))
		case strings.HasPrefix(r.Script.Body, "return get(") && strings.Contains(r.Script.Body, "=="):
			out = append(out, "test")
		case strings.HasPrefix(r.Script.Body, "set("):
			out = append(out, "set")
		case strings.HasPrefix(r.Script.Body, "return get("):
			out = append(out, "get")
		default:
			out = append(out, r.Script.Body)
		}
	}
	return out
}

func TestTaskModes(t *testing.T) {
	told := luaScript(`if method == "test" then return get("k") == "on"
elseif method == "set" then set("k", "on")
else print("k is " .. tostring(get("k"))) return get("k") end`)
	tests := []struct {
		name   string
		task   immy.Task
		mode   immy.TaskMode
		state  *bool
		want   string
		runs   []string
		status Status
		output string
	}{
		{name: "enforce sets and verifies", task: immy.Task{ID: "bl"}, mode: immy.ModeEnforce, state: ptr(false),
			want: "bl:task-enforce:complete:success:verified", runs: []string{"test", "test", "set", "test"}, status: Passed},
		{name: "enforce already compliant", task: immy.Task{ID: "bl"}, mode: immy.ModeEnforce, state: ptr(true),
			want: "bl:none:complete:success:test-passed", runs: []string{"test"}, status: Passed},
		{name: "enforce that does not take", task: immy.Task{ID: "bl", Test: luaScript(`return get("task:bl") == "true"`), Set: luaScript(`set("other", "x")`)}, mode: immy.ModeEnforce, state: ptr(false),
			want: "bl:task-enforce:complete:failed:verification-failed", runs: []string{"test", "test", "set", "test"}, status: Failed},
		{name: "audit compliant", task: immy.Task{ID: "bl"}, mode: immy.ModeAudit, state: ptr(true),
			want: "bl:task-audit:complete:success:compliant", runs: []string{"test"}, status: Passed},
		{name: "audit non-compliant", task: immy.Task{ID: "bl"}, mode: immy.ModeAudit, state: ptr(false),
			want: "bl:task-audit:complete:failed:non-compliant", runs: []string{"test"}, status: Failed},
		{name: "monitor keeps the output", task: immy.Task{ID: "bl", Get: luaScript(`print("escrowed: " .. tostring(get("task:bl"))) return "42"`)}, mode: immy.ModeMonitor, state: ptr(true),
			want: "bl:task-monitor:complete:success:output-kept", runs: []string{`print("escrowed: " .. tostring(get("task:bl"))) return "42"`}, status: Passed, output: "escrowed: true\n"},
		{name: "ignored", task: immy.Task{ID: "bl"}, mode: immy.ModeIgnored, state: ptr(false),
			want: "bl:none:skipped::ignored", status: Passed},
		{name: "one script told its method", task: immy.Task{ID: "bl", Script: told}, mode: immy.ModeEnforce,
			want: "bl:task-enforce:complete:success:verified", runs: []string{"test", "test", "set", "test"}, status: Passed},
		{name: "one script, monitor", task: immy.Task{ID: "bl", Script: told}, mode: immy.ModeMonitor,
			want: "bl:task-monitor:complete:success:output-kept", runs: []string{"get"}, status: Passed, output: "k is nil\n"},
		{name: "audit without a test script", task: immy.Task{ID: "bl", Get: luaScript(`return 1`)}, mode: immy.ModeAudit,
			want: "bl:task-audit:complete:failed:no-script:test", status: Failed},
		{name: "a test that answers neither", task: immy.Task{ID: "bl", Test: luaScript(`return "maybe"`)}, mode: immy.ModeAudit,
			want: "bl:task-audit:complete:failed:script-failed", runs: []string{`return "maybe"`}, status: Failed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, taskFleet(tt.task, tt.mode, nil, tt.state), nil)
			rep := h.run(Request{Computer: "pc1"})
			require.Len(t, rep.Actions, 1)
			require.Equal(t, tt.want, outcomes(rep.Actions)[0], rep.Actions[0].Message)
			require.Equal(t, tt.status, rep.Status)
			if diff := cmp.Diff(tt.runs, taskRuns(h)); diff != "" {
				t.Errorf("runs (-want +got):\n%s", diff)
			}
			require.Equal(t, tt.output, rep.Actions[0].Output)
		})
	}
}

func TestTaskParametersAndSecrets(t *testing.T) {
	task := immy.Task{ID: "wifi", Name: "Wi-Fi", Parameters: []immy.Parameter{
		{Name: "ssid", Type: immy.ParamText, Required: true},
		{Name: "key", Type: immy.ParamPassword, Required: true},
		{Name: "band", Type: immy.ParamSelect, Options: []string{"2.4", "5"}, Default: "5"},
		{Name: "retries", Type: immy.ParamNumber, Default: 3.0},
	},
		Test: luaScript(`return get("key") == key`),
		Set:  luaScript(`print("joining " .. ssid .. " with " .. key .. " on " .. band) set("key", key) set("retries", retries)`),
	}
	const secret = "correct horse battery staple"
	h := newHarness(t, taskFleet(task, immy.ModeEnforce, map[string]any{"ssid": "office", "key": secret}, nil), nil)
	sub := h.engine.Subscribe("")
	defer sub.Close()
	rep := h.run(Request{Computer: "pc1"})
	events := until(t, sub, rep.ID)
	require.Equal(t, Passed, rep.Status, "%v %s", outcomes(rep.Actions), rep.Actions[0].Message)
	got, _ := h.fake.Computer("pc1").Get("key")
	require.Equal(t, secret, got, "the script got the password")
	got, _ = h.fake.Computer("pc1").Get("retries")
	require.Equal(t, "3", got, "the default applies")

	// The password appears nowhere: not in the report, the journal or the events.
	var logs []string
	for _, ev := range events {
		if ev.Kind == EventLog {
			logs = append(logs, ev.Text)
		}
	}
	require.Contains(t, logs, "joining office with "+Redacted+" on 5")
	for what, v := range map[string]any{"report": rep, "journal": h.journal.Records(), "events": events} {
		b, err := json.Marshal(v)
		require.NoError(t, err)
		require.NotContains(t, string(b), secret, "the password is in the %s", what)
		require.NotContains(t, string(b), "horse", "part of the password is in the %s", what)
	}
}

func TestInvalidParameters(t *testing.T) {
	task := immy.Task{ID: "wifi", Parameters: []immy.Parameter{
		{Name: "ssid", Type: immy.ParamText, Required: true},
		{Name: "key", Type: immy.ParamPassword},
		{Name: "band", Type: immy.ParamSelect, Options: []string{"2.4", "5"}},
		{Name: "portal", Type: immy.ParamURI},
	}}
	h := newHarness(t, taskFleet(task, immy.ModeEnforce, map[string]any{"key": 12345, "band": "6", "portal": "not a uri", "colour": "blue"}, nil), nil)
	rep := h.run(Request{Computer: "pc1"})
	require.Equal(t, []string{"wifi:task-enforce:complete:failed:invalid-parameters"}, outcomes(rep.Actions))
	msg := rep.Actions[0].Message
	for _, want := range []string{
		`deployment "d-task": parameters.band: select parameter of task "wifi": the value is not one of the options 2.4, 5`,
		`deployment "d-task": parameters.colour: task "wifi" has no parameter "colour"`,
		`deployment "d-task": parameters.key: password parameter of task "wifi": want text, got a number`,
		`deployment "d-task": parameters.portal: uri parameter of task "wifi": the value is not an absolute URI`,
		`deployment "d-task": parameters.ssid: required text parameter of task "wifi" has no value`,
	} {
		require.Contains(t, msg, want)
	}
	require.NotContains(t, msg, "12345")
	require.NotContains(t, msg, "not a uri")
	require.Empty(t, taskRuns(h), "a task with invalid parameters ran a script")
}

func TestParameters(t *testing.T) {
	task := &immy.Task{ID: "t", Parameters: []immy.Parameter{
		{Name: "n", Type: immy.ParamNumber},
		{Name: "b", Type: immy.ParamBoolean, Default: true},
		{Name: "kv", Type: immy.ParamKeyValue},
		{Name: "f", Type: immy.ParamFile},
		{Name: "u", Type: immy.ParamURI},
		{Name: "p", Type: immy.ParamPassword},
	}}
	params, secrets, err := Parameters(task, "d", map[string]any{"n": 3, "kv": map[string]any{"a": "1"}, "f": "C:/x.msi", "u": "https://example.com/a", "p": "s3cret"})
	require.NoError(t, err)
	require.Equal(t, map[string]any{"n": 3.0, "b": true, "kv": map[string]string{"a": "1"}, "f": "C:/x.msi", "u": "https://example.com/a", "p": "s3cret"}, params)
	require.Equal(t, []string{"s3cret"}, secrets)

	_, _, err = Parameters(task, "d", map[string]any{"n": "three", "b": "yes", "kv": map[string]any{"a": 1}})
	var ps immy.Problems
	require.ErrorAs(t, err, &ps)
	require.Len(t, ps, 3)
	require.ErrorIs(t, err, immy.ErrInvalid)
}

func TestUserContextWithNobodyLoggedOn(t *testing.T) {
	task := immy.Task{ID: "printer", Set: &immy.Script{Language: immy.LanguageLua, Context: immy.ContextUser, Body: `set("printer", logged_on_user())`}}
	h := newHarness(t, taskFleet(task, immy.ModeEnforce, nil, nil), nil)
	rep := h.run(Request{Computer: "pc2"})
	require.Equal(t, "printer:task-enforce:complete:failed:no-user-logged-on", outcomes(rep.Actions)[0])
	require.Contains(t, rep.Actions[0].Message, "nobody is logged on")

	rep = h.run(Request{Computer: "pc1"})
	require.Equal(t, "printer:task-enforce:complete:success:set-without-test", outcomes(rep.Actions)[0])
	got, _ := h.fake.Computer("pc1").Get("printer")
	require.Equal(t, "ann@t1.com", got)
}

// concurrency counts the scripts with a body that run at once.
type concurrency struct {
	runner immy.ScriptRunner
	body   string
	now    atomic.Int32
	peak   atomic.Int32
}

func (c *concurrency) RunScript(ctx context.Context, req immy.ScriptRequest) (immy.ScriptResult, error) {
	if !strings.Contains(req.Script.Body, c.body) {
		return c.runner.RunScript(ctx, req)
	}
	n := c.now.Add(1)
	defer c.now.Add(-1)
	for {
		p := c.peak.Load()
		if n <= p || c.peak.CompareAndSwap(p, n) {
			break
		}
	}
	return c.runner.RunScript(ctx, req)
}

func TestExecuteSerially(t *testing.T) {
	task := immy.Task{ID: "backup", ExecuteSerially: true, Set: luaScript(`sleep(0.02) set("task:backup", "true")`)}
	f := taskFleet(task, immy.ModeEnforce, nil, ptr(false))
	for i := 3; i <= 6; i++ {
		f.Computers = append(f.Computers, immy.Computer{ID: "pc" + string(rune('0'+i)), Tenant: "t1", Tasks: map[string]bool{"backup": false}})
	}
	var c *concurrency
	h := newHarness(t, f, func(cfg *Config) {
		c = &concurrency{runner: cfg.Runner, body: "sleep(0.02)"}
		cfg.Runner = c
	})
	var ids []string
	for _, comp := range f.Computers {
		id, err := h.engine.Start(context.Background(), Request{Computer: comp.ID})
		require.NoError(t, err)
		ids = append(ids, id)
	}
	for _, id := range ids {
		rep := h.wait(id)
		require.Equal(t, Passed, rep.Status, "%v", outcomes(rep.Actions))
	}
	require.Equal(t, int32(1), c.peak.Load(), "two sessions ran the task at once")
}

func TestMetascriptAndCloudScripts(t *testing.T) {
	meta := &immy.Script{Language: immy.LanguageLua, Context: immy.ContextMetascript, Body: `
log("checking " .. computer.name .. " of " .. tenant.name .. " for " .. parameters.owner)
progress(50, "half way")
local value, code = invoke_command('return get("task:inv")', {context = "system"})
if method == "set" then
  invoke_command('set("task:inv", "done")')
  return nil
end
return value == "done"`}
	task := immy.Task{ID: "inv", Script: meta, Parameters: []immy.Parameter{{Name: "owner", Type: immy.ParamText}}}
	h := newHarness(t, taskFleet(task, immy.ModeEnforce, map[string]any{"owner": "ops"}, nil), nil)
	sub := h.engine.Subscribe("")
	defer sub.Close()
	rep := h.run(Request{Computer: "pc1"})
	events := until(t, sub, rep.ID)
	require.Equal(t, Passed, rep.Status, "%v %s", outcomes(rep.Actions), rep.Actions[0].Message)
	got, _ := h.fake.Computer("pc1").Get("task:inv")
	require.Equal(t, "done", got)
	var logs []string
	var progress []float64
	for _, ev := range events {
		switch ev.Kind {
		case EventLog:
			logs = append(logs, ev.Text)
		case EventProgress:
			progress = append(progress, ev.Percent)
			require.Equal(t, "half way", ev.Text)
		}
	}
	require.Contains(t, logs, "checking PC1 of Tenant One for ops")
	require.NotEmpty(t, progress)

	// A cloud script is bound to the tenant: it cannot reach a computer.
	cloud := immy.Task{ID: "inv", Script: &immy.Script{Language: immy.LanguageLua, Context: immy.ContextCloud, Body: `
if method == "get" then return tenant.name .. ":" .. table.concat(tenant.tags, ",") .. ":" .. tostring(computer) end
return invoke_command("return 1")`}}
	h2 := newHarness(t, taskFleet(cloud, immy.ModeMonitor, nil, nil), nil)
	rep = h2.run(Request{Computer: "pc1"})
	require.Equal(t, "Tenant One:vip:nil", rep.Actions[0].Value)
	h3 := newHarness(t, taskFleet(cloud, immy.ModeAudit, nil, nil), nil)
	rep = h3.run(Request{Computer: "pc1"})
	require.Equal(t, "inv:task-audit:complete:failed:script-failed", outcomes(rep.Actions)[0])
	require.Contains(t, rep.Actions[0].Message, "invoke_command: a cloud script is bound to a tenant")

	// The sandbox holds.
	escape := immy.Task{ID: "inv", Get: &immy.Script{Language: immy.LanguageLua, Context: immy.ContextMetascript, Body: `return tostring(os) .. tostring(io) .. tostring(require) .. tostring(load)`}}
	h4 := newHarness(t, taskFleet(escape, immy.ModeMonitor, nil, nil), nil)
	rep = h4.run(Request{Computer: "pc1"})
	require.Equal(t, "nilnilnilnil", rep.Actions[0].Value)
}

func TestMetascriptGoesOfflineMidway(t *testing.T) {
	meta := &immy.Script{Language: immy.LanguageLua, Context: immy.ContextMetascript, Body: `
local ok, err = pcall(invoke_command, 'set("task:inv", "done")')
return "swallowed: " .. tostring(err)`}
	task := immy.Task{ID: "inv", Set: meta}
	h := newHarness(t, taskFleet(task, immy.ModeEnforce, nil, nil), nil)
	h.fake.Computer("pc1").Inject(offlineFault())
	rep := h.run(Request{Computer: "pc1", Offline: SkipOffline})
	require.Equal(t, Failed, rep.Status)
	require.Equal(t, ReasonComputerOffline, rep.Reason)
	require.Equal(t, "inv:task-enforce:complete:indeterminable:computer-offline", outcomes(rep.Actions)[0])
}

func TestMetascriptTimeout(t *testing.T) {
	task := immy.Task{ID: "inv", Set: &immy.Script{Language: immy.LanguageLua, Context: immy.ContextMetascript, Body: `while true do end`}}
	h := newHarness(t, taskFleet(task, immy.ModeEnforce, nil, nil), func(c *Config) { c.MetascriptTimeout = 20 * time.Millisecond })
	rep := h.run(Request{Computer: "pc1"})
	require.Equal(t, "inv:task-enforce:complete:failed:script-timeout", outcomes(rep.Actions)[0])
}

func FuzzParseTest(f *testing.F) {
	for _, s := range []string{"True", "$false", "result: compliant", "", "maybe", "1\n0"} {
		f.Add(s, 0)
	}
	f.Fuzz(func(t *testing.T, value string, code int) {
		pass, err := parseTest(immy.ScriptResult{ExitCode: code, Value: value})
		if code != 0 && err == nil {
			t.Fatalf("exit code %d read as a verdict", code)
		}
		if err != nil && pass {
			t.Fatal("an error that passes")
		}
		if err == nil {
			again, err2 := parseTest(immy.ScriptResult{Value: lastWord(value)})
			if err2 != nil || again != pass {
				t.Fatalf("the verdict of %q depends on more than its last word", value)
			}
		}
	})
}

func FuzzInBusinessHours(f *testing.F) {
	f.Add("08:00", "18:00", int64(0))
	f.Add("22:00", "06:00", int64(1e9))
	f.Add("8am", "", int64(-5))
	f.Fuzz(func(t *testing.T, start, end string, unix int64) {
		at := time.Unix(unix%(1<<34), 0).UTC()
		in, err := InBusinessHours(&immy.BusinessHours{Start: start, End: end}, at)
		if err != nil && in {
			t.Fatal("in business hours with an error")
		}
	})
}
