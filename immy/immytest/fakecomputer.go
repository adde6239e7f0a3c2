package immytest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/internal/luasandbox"
)

// FakeFleet is a set of computers kept in memory, reached as an
// [immy.ScriptRunner] and an [immy.InventorySource], so that whole
// maintenance sessions run in unit tests. Every script it runs is Lua, in a
// sandbox, whatever language the request names, with functions over the
// computer's state:
//
//	install(name, version [, product_code])  add or replace the entry with this display name
//	uninstall(name)                          remove the entries with this display name; returns how many
//	installed(name)                          whether an entry has this display name
//	query(name)                              its version, or nil
//	set(key, value)                          keep a value (task state), as text
//	get(key)                                 a kept value, or nil
//	print(...)                               a line of output
//	sleep(seconds)                           wait, as long as the run's context allows
//	exit(code)                               end the script with this exit code
//	logged_on_user()                         the logged-on user, or nil
//
// The request's parameters are globals, and are also in the table params;
// computer_id names the computer. Display names compare case-insensitively.
// The script's value is what it returns, or else its last non-empty line of
// output; a Lua error ends it with exit code 1 and the message as its last
// line of output.
//
// Faults make computers fail on purpose (see [Fault]); every run and
// inventory read is logged (see [FakeComputer.Runs]). A FakeFleet is safe for
// concurrent use; the zero FakeFleet is empty and ready.
type FakeFleet struct {
	mu        sync.RWMutex
	computers map[string]*FakeComputer
	protos    sync.Map // script body -> *lua.FunctionProto or error
	poolOnce  sync.Once
	pool      *luasandbox.Pool
}

// NewFakeFleet returns a fake computer for every computer of f: online as f
// says (a computer with pathways is online when one of them is), its software
// inventory as installed software, its known task results as task state
// (key "task:ID", value "true" or "false", which is what the scripts of
// [FakeScripts] read), and its most recent user logged on.
func NewFakeFleet(f *immy.Fleet) *FakeFleet {
	ff := &FakeFleet{}
	for i := range f.Computers {
		c := &f.Computers[i]
		fc := ff.Add(c.ID)
		fc.identity = immy.Identity{UUID: c.UUID, Serial: c.Serial, Manufacturer: c.Manufacturer, Model: c.Model,
			Hostname: c.Name, OS: c.OS, OSInstallID: c.OSInstallID, Kind: c.Kind}
		online := c.Online
		for _, p := range c.Pathways {
			online = online || p.Online
		}
		fc.online = online
		fc.upns = slices.Clone(c.UPNs)
		if len(c.UPNs) > 0 {
			fc.user = c.UPNs[0]
		}
		for _, s := range c.Software {
			fc.software = append(fc.software, s)
		}
		for _, id := range sortedKeys(c.Tasks) {
			fc.state["task:"+id] = fmt.Sprint(c.Tasks[id])
		}
	}
	return ff
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Add adds an online computer with nothing installed, or returns the one
// with that id.
func (ff *FakeFleet) Add(id string) *FakeComputer {
	ff.mu.Lock()
	defer ff.mu.Unlock()
	if ff.computers == nil {
		ff.computers = map[string]*FakeComputer{}
	}
	if c, ok := ff.computers[id]; ok {
		return c
	}
	c := &FakeComputer{id: id, online: true, state: map[string]string{}}
	ff.computers[id] = c
	return c
}

// Computer returns the fake computer with that id, or nil.
func (ff *FakeFleet) Computer(id string) *FakeComputer {
	ff.mu.RLock()
	defer ff.mu.RUnlock()
	return ff.computers[id]
}

// IDs returns the ids of the computers, sorted.
func (ff *FakeFleet) IDs() []string {
	ff.mu.RLock()
	defer ff.mu.RUnlock()
	return sortedKeys(ff.computers)
}

// Inventory implements immy.InventorySource: the installed software sorted by
// display name, the identity and the recent users. An offline computer is
// immy.ErrOffline; an unknown one wraps immy.ErrNotFound.
func (ff *FakeFleet) Inventory(ctx context.Context, computer string) (immy.Inventory, error) {
	c := ff.Computer(computer)
	if c == nil {
		return immy.Inventory{}, fmt.Errorf("immytest: unknown computer %q: %w", computer, immy.ErrNotFound)
	}
	return c.inventory(ctx)
}

// RunScript implements immy.ScriptRunner.
func (ff *FakeFleet) RunScript(ctx context.Context, req immy.ScriptRequest) (immy.ScriptResult, error) {
	c := ff.Computer(req.Computer)
	if c == nil {
		return immy.ScriptResult{}, fmt.Errorf("immytest: unknown computer %q: %w", req.Computer, immy.ErrNotFound)
	}
	return c.run(ctx, ff, req)
}

func (ff *FakeFleet) compile(body string) (*lua.FunctionProto, error) {
	if v, ok := ff.protos.Load(body); ok {
		if p, ok := v.(*lua.FunctionProto); ok {
			return p, nil
		}
		return nil, v.(error)
	}
	p, err := luasandbox.Compile("script", body)
	if err != nil {
		ff.protos.Store(body, err)
		return nil, err
	}
	ff.protos.Store(body, p)
	return p, nil
}

func (ff *FakeFleet) statePool() *luasandbox.Pool {
	ff.poolOnce.Do(func() {
		ff.pool = luasandbox.NewPool(0, luasandbox.Config{Library: fakeLibrary, Timeout: time.Hour})
	})
	return ff.pool
}

// FakeComputer is one computer of a FakeFleet.
type FakeComputer struct {
	id string

	mu       sync.Mutex
	online   bool
	user     string
	upns     []string
	identity immy.Identity
	software []immy.DetectedSoftware
	state    map[string]string
	faults   []*Fault
	runs     []FakeRun
	seq      int
	reboot   fakeReboot // fakereboot.go
}

// ID returns the computer's id.
func (c *FakeComputer) ID() string { return c.id }

// SetOnline puts the computer on or off line.
func (c *FakeComputer) SetOnline(online bool) {
	c.mu.Lock()
	c.online = online
	c.mu.Unlock()
}

// Online reports whether the computer is online.
func (c *FakeComputer) Online() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.online
}

// LogOn sets the logged-on user; "" logs everyone off.
func (c *FakeComputer) LogOn(user string) {
	c.mu.Lock()
	c.user = user
	c.mu.Unlock()
}

// Install adds or replaces the software entry with that display name.
func (c *FakeComputer) Install(name, version string) error {
	v, err := immy.ParseVersion(version)
	if err != nil {
		return fmt.Errorf("immytest: install %q: %w", name, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.install(immy.DetectedSoftware{Name: name, Version: v})
	return nil
}

// Uninstall removes the entries with that display name and returns how many
// there were.
func (c *FakeComputer) Uninstall(name string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.uninstall(name)
}

// Software returns the installed software, sorted by display name.
func (c *FakeComputer) Software() []immy.DetectedSoftware {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sortedSoftware()
}

// Set keeps a value of the computer's state.
func (c *FakeComputer) Set(key, value string) {
	c.mu.Lock()
	c.state[key] = value
	c.mu.Unlock()
}

// Get returns a value of the computer's state.
func (c *FakeComputer) Get(key string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.state[key]
	return v, ok
}

// Inject adds a fault; faults are tried in the order they were injected, and
// the first that applies to a run decides it.
func (c *FakeComputer) Inject(f Fault) {
	c.mu.Lock()
	c.faults = append(c.faults, &f)
	c.mu.Unlock()
}

// ClearFaults removes every fault.
func (c *FakeComputer) ClearFaults() {
	c.mu.Lock()
	c.faults = nil
	c.mu.Unlock()
}

// Runs returns the log of the scripts run and the inventories read, oldest first.
func (c *FakeComputer) Runs() []FakeRun {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.runs)
}

// FakeRun is one entry of a fake computer's log.
type FakeRun struct {
	Seq        int  // 1, 2, ... per computer
	Inventory  bool // an inventory read; the other fields are zero
	Script     immy.Script
	Parameters map[string]any
	Result     immy.ScriptResult
	Err        error
	Fault      FaultEffect // the fault that decided the run, FaultNone for none
}

// Fault makes a fake computer misbehave on purpose.
type Fault struct {
	// Match selects the scripts it applies to: a substring of the body; ""
	// matches every script.
	Match string
	// Param, when set, selects scripts whose parameter of that name has the
	// value Value (compared as text).
	Param, Value string
	// Inventory applies the fault to inventory reads instead of scripts
	// (FaultOffline and FaultHang only).
	Inventory bool
	// Skip lets this many matching runs through before the fault applies.
	Skip int
	// Times is how many runs the fault applies to; zero means every one.
	Times int
	// Effect is what happens.
	Effect FaultEffect
	// ExitCode is the exit code of FaultExit; zero means 1.
	ExitCode int

	seen, applied int
}

// FaultEffect is what a fault does to a run.
type FaultEffect uint8

// Values of FaultEffect.
const (
	FaultNone FaultEffect = iota
	// FaultExit: the script does not run; it ends with Fault.ExitCode.
	FaultExit
	// FaultNoop: the script does not run, yet ends with exit code 0 (an
	// installer that claims success and does nothing).
	FaultNoop
	// FaultHang: the script blocks until its context ends or the request's
	// Timeout passes, and the run returns that error.
	FaultHang
	// FaultOffline: the computer goes offline before the run; the run and
	// every later one are immy.ErrOffline until SetOnline(true).
	FaultOffline
	// FaultOfflineAfter: the script runs, then the computer goes offline
	// and the caller gets immy.ErrOffline without the result.
	FaultOfflineAfter
)

var faultNames = [...]string{"none", "exit", "noop", "hang", "offline", "offline-after"}

func (e FaultEffect) String() string {
	if int(e) < len(faultNames) {
		return faultNames[e]
	}
	return fmt.Sprintf("fault(%d)", uint8(e))
}

// fault returns the fault that applies to a run and counts it; c.mu is held.
func (c *FakeComputer) fault(inventory bool, req *immy.ScriptRequest) *Fault {
	for _, f := range c.faults {
		if f.Inventory != inventory {
			continue
		}
		if !inventory {
			if f.Match != "" && !strings.Contains(req.Script.Body, f.Match) {
				continue
			}
			if f.Param != "" && fmt.Sprint(req.Parameters[f.Param]) != f.Value {
				continue
			}
		}
		if f.Times > 0 && f.applied >= f.Times {
			continue
		}
		f.seen++
		if f.seen <= f.Skip {
			continue
		}
		f.applied++
		return f
	}
	return nil
}

func (c *FakeComputer) log(r FakeRun) {
	c.seq++
	r.Seq = c.seq
	c.runs = append(c.runs, r)
}

func (c *FakeComputer) inventory(ctx context.Context) (immy.Inventory, error) {
	c.mu.Lock()
	f := c.fault(true, nil)
	eff := FaultNone
	if f != nil {
		eff = f.Effect
		if eff == FaultOffline {
			c.online = false
		}
	}
	if !c.online {
		c.log(FakeRun{Inventory: true, Err: immy.ErrOffline, Fault: eff})
		c.mu.Unlock()
		return immy.Inventory{}, fmt.Errorf("immytest: computer %q: %w", c.id, immy.ErrOffline)
	}
	if eff == FaultHang {
		c.log(FakeRun{Inventory: true, Fault: eff})
		c.mu.Unlock()
		<-ctx.Done()
		return immy.Inventory{}, fmt.Errorf("immytest: computer %q: inventory: %w", c.id, ctx.Err())
	}
	if err := ctx.Err(); err != nil {
		c.mu.Unlock()
		return immy.Inventory{}, fmt.Errorf("immytest: computer %q: inventory: %w", c.id, err)
	}
	inv := immy.Inventory{Identity: c.identity, Software: c.sortedSoftware(), UPNs: slices.Clone(c.upns)}
	if inv.Identity.Hostname == "" {
		inv.Identity.Hostname = c.id
	}
	c.log(FakeRun{Inventory: true})
	c.mu.Unlock()
	return inv, nil
}

func (c *FakeComputer) sortedSoftware() []immy.DetectedSoftware {
	out := slices.Clone(c.software)
	slices.SortStableFunc(out, func(a, b immy.DetectedSoftware) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func (c *FakeComputer) install(s immy.DetectedSoftware) {
	for i := range c.software {
		if strings.EqualFold(c.software[i].Name, s.Name) {
			c.software[i] = s
			return
		}
	}
	c.software = append(c.software, s)
}

func (c *FakeComputer) uninstall(name string) int {
	n := len(c.software)
	c.software = slices.DeleteFunc(c.software, func(s immy.DetectedSoftware) bool { return strings.EqualFold(s.Name, name) })
	return n - len(c.software)
}

// defaultMaxOutput is the output a fake keeps when the request names no cap.
const defaultMaxOutput = 1 << 20

// fakeRun is the state of one script run, reached by the Lua functions
// through the run's context.
type fakeRun struct {
	c         *FakeComputer
	req       *immy.ScriptRequest
	out       strings.Builder
	lastLine  string
	truncated bool
	max       int
	exited    bool
	exitCode  int
}

type fakeRunKey struct{}

func (r *fakeRun) write(line string) {
	chunk := line + "\n"
	if r.req.Output != nil {
		r.req.Output([]byte(chunk))
	}
	if strings.TrimSpace(line) != "" {
		r.lastLine = strings.TrimSpace(line)
	}
	if room := r.max - r.out.Len(); room < len(chunk) {
		if room > 0 {
			r.out.WriteString(chunk[:room])
		}
		r.truncated = true
		return
	}
	r.out.WriteString(chunk)
}

func (c *FakeComputer) run(ctx context.Context, ff *FakeFleet, req immy.ScriptRequest) (immy.ScriptResult, error) {
	entry := FakeRun{Script: req.Script, Parameters: req.Parameters}
	c.mu.Lock()
	f := c.fault(false, &req)
	if f != nil {
		entry.Fault = f.Effect
		if f.Effect == FaultOffline {
			c.online = false
		}
	}
	switch {
	case !c.online:
		entry.Err = immy.ErrOffline
		c.log(entry)
		c.mu.Unlock()
		return immy.ScriptResult{}, fmt.Errorf("immytest: computer %q: %w", c.id, immy.ErrOffline)
	case req.Script.Context == immy.ContextMetascript || req.Script.Context == immy.ContextCloud:
		entry.Err = fmt.Errorf("immytest: a %s script runs on the server, not on computer %q: %w", req.Script.Context, c.id, immy.ErrInvalid)
		c.log(entry)
		c.mu.Unlock()
		return immy.ScriptResult{}, entry.Err
	case req.Script.Context == immy.ContextUser && c.user == "":
		entry.Err = immy.ErrNoUserLoggedOn
		c.log(entry)
		c.mu.Unlock()
		return immy.ScriptResult{}, fmt.Errorf("immytest: computer %q: %w", c.id, immy.ErrNoUserLoggedOn)
	}
	c.mu.Unlock()

	if req.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, req.Timeout)
		defer cancel()
	}
	var res immy.ScriptResult
	var err error
	switch entry.Fault {
	case FaultExit:
		code := f.ExitCode
		if code == 0 {
			code = 1
		}
		res = immy.ScriptResult{ExitCode: code, Output: "immytest: injected failure\n", Value: "immytest: injected failure"}
	case FaultNoop:
		res = immy.ScriptResult{}
	case FaultHang:
		<-ctx.Done()
		err = fmt.Errorf("immytest: computer %q: %w", c.id, ctx.Err())
	default:
		res, err = c.exec(ctx, ff, &req)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err == nil && entry.Fault == FaultOfflineAfter {
		c.online = false
		err = fmt.Errorf("immytest: computer %q went offline: %w", c.id, immy.ErrOffline)
	}
	entry.Result, entry.Err = res, err
	c.log(entry)
	if err != nil {
		return immy.ScriptResult{}, err
	}
	return res, nil
}

func (c *FakeComputer) exec(ctx context.Context, ff *FakeFleet, req *immy.ScriptRequest) (immy.ScriptResult, error) {
	r := &fakeRun{c: c, req: req, max: req.MaxOutput}
	if r.max <= 0 {
		r.max = defaultMaxOutput
	}
	proto, err := ff.compile(req.Script.Body)
	if err != nil {
		r.write(err.Error())
		return immy.ScriptResult{ExitCode: 1, Output: r.out.String(), Truncated: r.truncated, Value: r.lastLine}, nil
	}
	ctx = context.WithValue(ctx, fakeRunKey{}, r)
	v, err := ff.statePool().Run(ctx, proto, func(s *luasandbox.State, env *lua.LTable) {
		params := s.L.CreateTable(0, len(req.Parameters))
		for _, k := range sortedKeys(req.Parameters) {
			lv := luasandbox.FromGo(s.L, req.Parameters[k])
			params.RawSetString(k, lv)
			env.RawSetString(k, lv)
		}
		env.RawSetString("params", params)
		env.RawSetString("computer_id", lua.LString(c.id))
	})
	res := immy.ScriptResult{}
	switch {
	case r.exited:
		res.ExitCode = r.exitCode
	case err != nil:
		if cerr := ctx.Err(); cerr != nil {
			return immy.ScriptResult{}, fmt.Errorf("immytest: computer %q: %w", c.id, cerr)
		}
		msg := err.Error()
		var re *luasandbox.RuntimeError
		if errors.As(err, &re) {
			msg = re.Message
		}
		r.write(msg)
		res.ExitCode = 1
	}
	res.Output, res.Truncated = r.out.String(), r.truncated
	if s := luasandbox.String(v); err == nil && s != "" {
		res.Value = s
	} else {
		res.Value = r.lastLine
	}
	return res, nil
}

func runOf(L *lua.LState) *fakeRun {
	r, _ := L.Context().Value(fakeRunKey{}).(*fakeRun)
	if r == nil {
		L.RaiseError("immytest: no run")
	}
	return r
}

// fakeLibrary adds the fake computer's functions to every state.
func fakeLibrary(s *luasandbox.State, lib *lua.LTable) {
	fns := map[string]lua.LGFunction{
		"install": func(L *lua.LState) int {
			r := runOf(L)
			name, ver := L.CheckString(1), L.CheckString(2)
			v, err := immy.ParseVersion(ver)
			if err != nil {
				L.RaiseError("install %q: %v", name, err)
			}
			e := immy.DetectedSoftware{Name: name, Version: v}
			if L.GetTop() >= 3 {
				e.ProductCode = L.CheckString(3)
			}
			r.c.mu.Lock()
			r.c.install(e)
			r.c.mu.Unlock()
			return 0
		},
		"uninstall": func(L *lua.LState) int {
			r := runOf(L)
			name := L.CheckString(1)
			r.c.mu.Lock()
			n := r.c.uninstall(name)
			r.c.mu.Unlock()
			L.Push(lua.LNumber(n))
			return 1
		},
		"installed": func(L *lua.LState) int {
			r := runOf(L)
			name := L.CheckString(1)
			r.c.mu.Lock()
			found := slices.ContainsFunc(r.c.software, func(s immy.DetectedSoftware) bool { return strings.EqualFold(s.Name, name) })
			r.c.mu.Unlock()
			L.Push(lua.LBool(found))
			return 1
		},
		"query": func(L *lua.LState) int {
			r := runOf(L)
			name := L.CheckString(1)
			r.c.mu.Lock()
			i := slices.IndexFunc(r.c.software, func(s immy.DetectedSoftware) bool { return strings.EqualFold(s.Name, name) })
			var v lua.LValue = lua.LNil
			if i >= 0 {
				v = lua.LString(r.c.software[i].Version.String())
			}
			r.c.mu.Unlock()
			L.Push(v)
			return 1
		},
		"set": func(L *lua.LState) int {
			r := runOf(L)
			key := L.CheckString(1)
			val := luasandbox.String(L.Get(2))
			r.c.mu.Lock()
			if L.Get(2) == lua.LNil {
				delete(r.c.state, key)
			} else {
				r.c.state[key] = val
			}
			r.c.mu.Unlock()
			return 0
		},
		"get": func(L *lua.LState) int {
			r := runOf(L)
			key := L.CheckString(1)
			r.c.mu.Lock()
			v, ok := r.c.state[key]
			r.c.mu.Unlock()
			if ok {
				L.Push(lua.LString(v))
			} else {
				L.Push(lua.LNil)
			}
			return 1
		},
		"print": func(L *lua.LState) int {
			r := runOf(L)
			parts := make([]string, L.GetTop())
			for i := range parts {
				parts[i] = luasandbox.String(L.Get(i + 1))
				if L.Get(i+1) == lua.LNil {
					parts[i] = "nil"
				}
			}
			r.write(strings.Join(parts, "\t"))
			return 0
		},
		"sleep": func(L *lua.LState) int {
			secs := float64(L.CheckNumber(1))
			t := time.NewTimer(time.Duration(secs * float64(time.Second)))
			defer t.Stop()
			select {
			case <-t.C:
			case <-L.Context().Done():
				L.RaiseError("sleep: %v", L.Context().Err())
			}
			return 0
		},
		"exit": func(L *lua.LState) int {
			r := runOf(L)
			r.exited, r.exitCode = true, L.OptInt(1, 0)
			L.RaiseError("exit")
			return 0
		},
		"logged_on_user": func(L *lua.LState) int {
			r := runOf(L)
			r.c.mu.Lock()
			u := r.c.user
			r.c.mu.Unlock()
			if u == "" {
				L.Push(lua.LNil)
			} else {
				L.Push(lua.LString(u))
			}
			return 1
		},
	}
	for _, name := range sortedKeys(fns) {
		lib.RawSetString(name, s.L.NewFunction(fns[name]))
	}
}
