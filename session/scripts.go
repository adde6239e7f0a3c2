package session

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/internal/luasandbox"
	"github.com/immyoss/engine/internal/redact"
)

// errOffline stops a session's work when no pathway reaches its computer.
var errOffline = errors.New("session: computer offline")

// scriptRun is one script a session runs.
type scriptRun struct {
	index    int // the action's index, -1 outside actions
	what     string
	script   *immy.Script
	params   map[string]any
	secrets  []string
	red      redactor
	readOnly bool // detection and tests: safe to try on another pathway
}

// runners returns the runners of a computer's pathways in the order they are
// tried: those believed online first, then by priority (higher first), then
// by integration and agent id. A computer without pathways is reached by
// Config.Runner.
func (e *Engine) runners(c *immy.Computer) []pathRunner {
	if len(c.Pathways) == 0 {
		if e.cfg.Runner == nil {
			return nil
		}
		return []pathRunner{{runner: e.cfg.Runner, online: true}}
	}
	ps := make([]pathRunner, 0, len(c.Pathways))
	for _, p := range c.Pathways {
		r := e.cfg.Runners[p.Integration]
		if p.Integration == "" {
			r = e.cfg.Runner
		}
		if r == nil {
			continue
		}
		online := p.Online
		if v, ok := e.pathOnline.Load(pathKey(c.ID, p.Integration)); ok {
			online = v.(bool)
		}
		ps = append(ps, pathRunner{runner: r, integration: p.Integration, agent: p.AgentID, priority: p.Priority, online: online})
	}
	slices.SortStableFunc(ps, func(a, b pathRunner) int {
		switch {
		case a.online != b.online:
			if a.online {
				return -1
			}
			return 1
		case a.priority != b.priority:
			return b.priority - a.priority
		case a.integration != b.integration:
			return strings.Compare(a.integration, b.integration)
		}
		return strings.Compare(a.agent, b.agent)
	})
	return ps
}

type pathRunner struct {
	runner      immy.ScriptRunner
	integration string
	agent       string
	priority    int
	online      bool
}

func pathKey(computer, integration string) string { return computer + "\x00" + integration }

// SetPathwayOnline records that one pathway of a computer (an integration
// instance id, "" for the engine's own agent) is online or not; the engine
// tries online pathways first. A pathway that answers immy.ErrOffline is
// marked offline by the engine itself; Connected forgets those marks. A
// pathway put online wakes the computer's session pending connectivity, as
// Connected does.
func (e *Engine) SetPathwayOnline(computer, integration string, online bool) {
	e.pathOnline.Store(pathKey(computer, integration), online)
	if online {
		e.reachable(computer)
	}
}

func (e *Engine) forgetPathways(c *immy.Computer) {
	for _, p := range c.Pathways {
		e.pathOnline.Delete(pathKey(c.ID, p.Integration))
	}
}

// inventory reads a computer's inventory through Config.Inventory, or the
// first of its runners that is an inventory source.
func (x *runCtx) readInventory() (immy.Inventory, error) {
	e := x.e
	if e.cfg.Inventory != nil {
		inv, err := e.cfg.Inventory.Inventory(x.ctx, x.comp.ID)
		if err != nil {
			return immy.Inventory{}, x.runnerErr(err)
		}
		return x.saw(inv), nil
	}
	var last error = immy.ErrOffline
	for _, p := range e.runners(x.comp) {
		inv, err := x.inventoryThrough(p) // natively, else by script (pathway.go)
		if err == nil {
			return x.saw(inv), nil
		}
		last = err
		if !errors.Is(err, immy.ErrOffline) || x.ctx.Err() != nil {
			break
		}
		if len(x.comp.Pathways) > 0 {
			e.SetPathwayOnline(x.comp.ID, p.integration, false)
		}
	}
	return immy.Inventory{}, x.runnerErr(last)
}

// runnerErr turns an error of a runner into a stop error (offline, the
// session's context ended) or returns it.
func (x *runCtx) runnerErr(err error) error {
	if x.ctx.Err() != nil {
		return context.Cause(x.ctx)
	}
	if errors.Is(err, immy.ErrOffline) {
		return x.offline(err)
	}
	return err
}

// runScript runs a script for the session, by its context: on the computer
// (system, user), or on the server in Lua (metascript, cloud). A script that
// ran and failed is a result with a non-zero exit code. Errors: a stop error
// (errOffline, errCancel, errShutdown) or a runner's error, which the caller
// turns into the action's reason.
func (x *runCtx) runScript(r scriptRun) (immy.ScriptResult, error) {
	switch r.script.Context {
	case immy.ContextMetascript, immy.ContextCloud:
		return x.runServer(r)
	}
	return x.runOnComputer(r, r.script, r.params, x.e.cfg.ScriptTimeout)
}

func (x *runCtx) runOnComputer(r scriptRun, script *immy.Script, params map[string]any, timeout time.Duration) (immy.ScriptResult, error) {
	e := x.e
	// Output streamed while the script runs is masked before it is cut into
	// lines (a secret split across chunks or lines stays hidden), and each
	// line once more when whole.
	lines := lineLogger{emit: func(line string) { e.log(x.s, r.index, r.red.str(line)) }}
	req := immy.ScriptRequest{
		Computer:   x.comp.ID,
		Script:     *script,
		Parameters: params,
		Secrets:    secretNames(params, r.secrets),
		Timeout:    timeout,
		MaxOutput:  e.cfg.MaxOutput,
	}
	var masked *redact.Stream
	if e.hub.active() {
		req.Output = func(p []byte) { masked.Write(p) }
	}
	ctx, cancel := context.WithTimeout(x.ctx, timeout)
	defer cancel()
	var last error = immy.ErrOffline
	for _, p := range e.runners(x.comp) {
		masked = r.red.stream(lines.write)
		res, err := p.runner.RunScript(ctx, req)
		masked.Close()
		lines.flush()
		if err == nil {
			return res, nil
		}
		last = x.pathwayErr(p, err)
		if !errors.Is(err, immy.ErrOffline) || x.ctx.Err() != nil {
			break
		}
		if len(x.comp.Pathways) > 0 {
			e.SetPathwayOnline(x.comp.ID, p.integration, false)
		}
		if !r.readOnly {
			// The script may have run before the pathway went away: do
			// not run it again blindly on another one.
			break
		}
	}
	if x.ctx.Err() != nil {
		return immy.ScriptResult{}, context.Cause(x.ctx)
	}
	if errors.Is(last, immy.ErrOffline) {
		return immy.ScriptResult{}, x.offline(last)
	}
	return immy.ScriptResult{}, last
}

// secretNames are the names of the parameters whose values are secrets.
func secretNames(params map[string]any, secrets []string) []string {
	if len(secrets) == 0 {
		return nil
	}
	var out []string
	for _, k := range sortedKeys(params) {
		if s, ok := params[k].(string); ok && slices.Contains(secrets, s) {
			out = append(out, k)
		}
	}
	return out
}

// lineLogger turns output chunks into log lines.
type lineLogger struct {
	emit    func(string)
	partial strings.Builder
}

func (l *lineLogger) write(chunk []byte) {
	s := string(chunk)
	for {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			l.partial.WriteString(s)
			return
		}
		l.partial.WriteString(s[:i])
		l.emit(strings.TrimRight(l.partial.String(), "\r"))
		l.partial.Reset()
		s = s[i+1:]
	}
}

func (l *lineLogger) flush() {
	if l.partial.Len() > 0 {
		l.emit(l.partial.String())
		l.partial.Reset()
	}
}

// compiled is a server-side script compiled once.
type compiled struct {
	proto *lua.FunctionProto
	err   error
}

func (e *Engine) compile(body string) compiled {
	if v, ok := e.protos.Load(body); ok {
		return v.(compiled)
	}
	p, err := luasandbox.Compile("script", body)
	c := compiled{proto: p, err: err}
	e.protos.Store(body, c)
	return c
}

// serverRun is the state of one metascript or cloud script, reached by the
// library's functions through the run's context.
type serverRun struct {
	x     *runCtx
	r     scriptRun
	out   strings.Builder
	last  string
	fatal error // a stop error met by invoke_command: ends the script
	user  error // immy.ErrNoUserLoggedOn met by invoke_command
	cloud bool
}

type serverRunKey struct{}

func (sr *serverRun) write(line string) {
	line = sr.r.red.str(line)
	sr.x.e.log(sr.x.s, sr.r.index, line)
	if sr.out.Len() < sr.x.e.cfg.MaxOutput {
		sr.out.WriteString(line)
		sr.out.WriteByte('\n')
	}
	if strings.TrimSpace(line) != "" {
		sr.last = strings.TrimSpace(line)
	}
}

// runServer runs a metascript (bound to the computer) or a cloud script
// (bound to its tenant) in the Lua sandbox.
func (x *runCtx) runServer(r scriptRun) (immy.ScriptResult, error) {
	e := x.e
	c := e.compile(r.script.Body)
	if c.err != nil {
		msg := r.red.str(c.err.Error())
		return immy.ScriptResult{ExitCode: 1, Output: msg + "\n", Value: msg}, nil
	}
	sr := &serverRun{x: x, r: r, cloud: r.script.Context == immy.ContextCloud}
	ctx, cancel := context.WithTimeout(x.ctx, e.cfg.MetascriptTimeout)
	defer cancel()
	ctx = context.WithValue(ctx, serverRunKey{}, sr)
	v, err := e.lua.Run(ctx, c.proto, func(s *luasandbox.State, env *lua.LTable) {
		params := s.L.CreateTable(0, len(r.params))
		for _, k := range sortedKeys(r.params) {
			lv := luasandbox.FromGo(s.L, r.params[k])
			params.RawSetString(k, lv)
			env.RawSetString(k, lv)
		}
		env.RawSetString("parameters", params)
		t := e.tenants[x.comp.Tenant]
		if t != nil {
			env.RawSetString("tenant", luasandbox.FromGo(s.L, map[string]any{"id": t.ID, "name": t.Name, "tags": t.Tags}))
		}
		if !sr.cloud {
			env.RawSetString("computer", luasandbox.FromGo(s.L, map[string]any{
				"id": x.comp.ID, "name": x.comp.Name, "tenant": x.comp.Tenant, "os": x.comp.OS,
				"kind": x.comp.Kind.String(), "tags": x.comp.Tags,
			}))
		}
	})
	if sr.fatal != nil {
		return immy.ScriptResult{}, sr.fatal
	}
	if err != nil {
		if x.ctx.Err() != nil {
			return immy.ScriptResult{}, context.Cause(x.ctx)
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return immy.ScriptResult{}, fmt.Errorf("session: %s script: %w", r.script.Context, err)
		}
		if sr.user != nil {
			return immy.ScriptResult{}, sr.user
		}
		msg := err.Error()
		var re *luasandbox.RuntimeError
		if errors.As(err, &re) {
			msg = re.Message
		}
		sr.write(msg)
		return immy.ScriptResult{ExitCode: 1, Output: sr.out.String(), Value: sr.last}, nil
	}
	res := immy.ScriptResult{Output: sr.out.String(), Value: r.red.str(luasandbox.String(v))}
	if res.Value == "" {
		res.Value = sr.last
	}
	return res, nil
}

func serverRunOf(L *lua.LState) *serverRun {
	sr, _ := L.Context().Value(serverRunKey{}).(*serverRun)
	if sr == nil {
		L.RaiseError("no session script is running")
	}
	return sr
}

// serverLibrary adds the functions of metascripts and cloud scripts.
func serverLibrary(s *luasandbox.State, lib *lua.LTable) {
	logFn := func(L *lua.LState) int {
		sr := serverRunOf(L)
		parts := make([]string, L.GetTop())
		for i := range parts {
			v := L.Get(i + 1)
			parts[i] = luasandbox.String(v)
			if v == lua.LNil {
				parts[i] = "nil"
			}
		}
		sr.write(strings.Join(parts, " "))
		return 0
	}
	lib.RawSetString("log", s.L.NewFunction(logFn))
	lib.RawSetString("print", s.L.NewFunction(logFn))
	lib.RawSetString("progress", s.L.NewFunction(func(L *lua.LState) int {
		sr := serverRunOf(L)
		pct := float64(L.CheckNumber(1))
		text := sr.r.red.str(L.OptString(2, ""))
		sr.x.e.progress(sr.x.s, sr.r.index, min(max(pct, 0), 100), text)
		return 0
	}))
	lib.RawSetString("invoke_command", s.L.NewFunction(invokeCommand))
	lib.RawSetString("integration", s.L.NewFunction(integrationCall)) // integration.go
}

// invokeCommand runs a script on the metascript's computer:
//
//	value, exit_code, output = invoke_command(body [, {context = "system" | "user", language = "powershell", timeout = seconds}])
func invokeCommand(L *lua.LState) int {
	sr := serverRunOf(L)
	if sr.cloud {
		L.RaiseError("invoke_command: a cloud script is bound to a tenant, not a computer")
	}
	body := L.CheckString(1)
	script := immy.Script{Language: immy.LanguagePowerShell, Context: immy.ContextSystem, Body: body}
	timeout := sr.x.e.cfg.ScriptTimeout
	if opts, ok := L.Get(2).(*lua.LTable); ok {
		if v := opts.RawGetString("context"); v != lua.LNil {
			c, err := immy.ParseScriptContext(v.String())
			if err != nil || (c != immy.ContextSystem && c != immy.ContextUser) {
				L.RaiseError("invoke_command: context %q: want system or user", v.String())
			}
			script.Context = c
		}
		if v := opts.RawGetString("language"); v != lua.LNil {
			lang, err := immy.ParseScriptLanguage(v.String())
			if err != nil {
				L.RaiseError("invoke_command: language %q: %v", v.String(), err)
			}
			script.Language = lang
		}
		if v, ok := opts.RawGetString("timeout").(lua.LNumber); ok && v > 0 {
			timeout = time.Duration(float64(v) * float64(time.Second))
		}
	} else if L.Get(2) != lua.LNil {
		L.ArgError(2, "want a table of options")
	}
	res, err := sr.x.runOnComputer(sr.r, &script, sr.r.params, timeout)
	if err != nil {
		switch {
		case errors.Is(err, errOffline), errors.Is(err, errCancel), errors.Is(err, errShutdown):
			sr.fatal = err
			L.RaiseError("invoke_command: %v", err)
		case errors.Is(err, immy.ErrNoUserLoggedOn):
			sr.user = err
		}
		L.RaiseError("invoke_command: %s", sr.r.red.str(err.Error()))
	}
	L.Push(lua.LString(sr.r.red.str(res.Value)))
	L.Push(lua.LNumber(res.ExitCode))
	L.Push(lua.LString(sr.r.red.str(res.Output)))
	return 3
}
