// Package durabletest holds what the durable package's tests and their
// engine process share: a fleet whose sessions run every kind of change, and
// a fake fleet whose computers keep their state in an action log that
// survives the process being killed.
package durabletest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/immytest"
	"github.com/immyoss/engine/resolver"
	"github.com/immyoss/engine/targets"
)

// At is the fleet's time.
var At = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// Computer names the i-th computer of Fleet.
func Computer(i int) string { return fmt.Sprintf("pc%03d", i) }

// Fleet returns n computers that each need an update by uninstall then
// install (App 1.0 to 2.0), a prerequisite installed before its dependent
// (VC Redist before Phone), and an enforced task set (BitLocker): five
// scripts that change the computer, each verified by detecting again. The
// fleet has fake scripts (immytest.FakeScripts).
func Fleet(n int) *immy.Fleet {
	f := &immy.Fleet{
		At:      At,
		Tenants: []immy.Tenant{{ID: "t1", Name: "Tenant One"}},
		Software: []immy.Software{
			{ID: "app", Name: "App", Detection: immy.Detection{DisplayName: "App"}, Versions: versions("1.0", "2.0"),
				UpgradeStrategy: immy.UpgradeUninstallInstall},
			{ID: "vcredist", Name: "VC Redist", Detection: immy.Detection{DisplayName: "VC Redist*"}, Versions: versions("14.40")},
			{ID: "phone", Name: "Phone", Detection: immy.Detection{DisplayName: "Phone"}, Versions: versions("18.1"),
				Prerequisites: []immy.Prerequisite{{Condition: immy.ConditionNotInstalled, Subjects: []string{"vcredist"}, Then: immy.PrereqInstall, On: []string{"vcredist"}}}},
		},
		Tasks: []immy.Task{{ID: "bitlocker", Name: "BitLocker"}},
		Deployments: []immy.Deployment{
			{ID: "d-app", Item: "app", Target: immy.Target{Type: immy.TargetAllComputers}, Desired: immy.DesiredLatest},
			{ID: "d-phone", Item: "phone", Target: immy.Target{Type: immy.TargetAllComputers}, Desired: immy.DesiredLatest},
			{ID: "d-bitlocker", Item: "bitlocker", Target: immy.Target{Type: immy.TargetAllComputers}, Mode: immy.ModeEnforce},
		},
	}
	for i := range n {
		f.Computers = append(f.Computers, immy.Computer{ID: Computer(i), Tenant: "t1", Name: strings.ToUpper(Computer(i)),
			Kind: immy.KindWorkstation, Online: true,
			Software: []immy.DetectedSoftware{{Name: "App", Version: immy.MustParseVersion("1.0")}},
			Tasks:    map[string]bool{"bitlocker": false}})
	}
	immytest.FakeScripts(f)
	return f
}

func versions(list ...string) []immy.SoftwareVersion {
	out := make([]immy.SoftwareVersion, len(list))
	for i, s := range list {
		out[i] = immy.SoftwareVersion{Version: immy.MustParseVersion(s)}
	}
	return out
}

// Planner compiles a planner over f.
func Planner(f *immy.Fleet) (*resolver.Planner, error) {
	cat, err := resolver.NewCatalogue(f)
	if err != nil {
		return nil, err
	}
	ix, err := targets.NewIndex(f, targets.Config{At: At})
	if err != nil {
		return nil, err
	}
	return resolver.NewPlanner(ix, cat, resolver.Config{At: At})
}

// Entry is one line of the action log.
type Entry struct {
	Proc     string         `json:"proc"`
	Computer string         `json:"computer"`
	Kind     string         `json:"kind"` // "run": a script that changes the computer; "detect": an inventory read or a test
	Body     string         `json:"body,omitempty"`
	Params   map[string]any `json:"params,omitempty"`
}

// Mutating reports whether a fake script changes the computer.
func Mutating(body string) bool {
	return strings.HasPrefix(body, "install(") || strings.HasPrefix(body, "uninstall(") || strings.HasPrefix(body, "set(")
}

// Logged is a fake fleet whose changes are kept in an action log: every
// script that changes a computer is appended to the log, and synced, before
// it returns; every inventory read and test script is logged as a
// detection. The log is the computers' state: a Logged replays what other
// processes (and earlier runs) appended before each read and run. Runs and
// reads take turns, so that the log's order is the order they happened in.
type Logged struct {
	ff    *immytest.FakeFleet
	proc  string // this process's name in the log: its name and pid
	delay time.Duration
	mu    sync.Mutex
	f     *os.File      // appends
	r     *bufio.Reader // reads what other processes append
	rf    *os.File
	// tenantState is each tenant's integration (cloud.go): key -> value.
	tenantState map[string]map[string]string
}

// OpenLogged makes the fake computers of f, replays the log at path (if any)
// onto them, and appends to it as proc. The changes other processes append
// are replayed before each script and inventory read, so that processes
// that share the log share the computers. Each script and inventory read
// waits up to delay (at random) first, so that sessions take time.
func OpenLogged(ctx context.Context, f *immy.Fleet, path, proc string, delay time.Duration) (*Logged, error) {
	file, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	rf, err := os.Open(path)
	if err != nil {
		file.Close()
		return nil, err
	}
	l := &Logged{ff: immytest.NewFakeFleet(f), proc: fmt.Sprintf("%s#%d", proc, os.Getpid()), delay: delay,
		f: file, rf: rf, r: bufio.NewReader(rf)}
	if err := l.sync(ctx); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// sync replays the changes appended by other processes since the last
// sync; l.mu is held.
func (l *Logged) sync(ctx context.Context) error {
	for {
		line, err := l.r.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			if len(line) > 0 {
				return fmt.Errorf("durabletest: a line of the action log was cut short: %q", line)
			}
			return nil
		}
		if err != nil {
			return err
		}
		var e Entry
		if err := json.Unmarshal(line, &e); err != nil {
			return fmt.Errorf("durabletest: action log: %w", err)
		}
		if e.Kind != "run" || e.Proc == l.proc {
			continue
		}
		if tenant, err := l.replayTenant(e); tenant || err != nil {
			if err != nil {
				return err
			}
			continue
		}
		if _, err := l.ff.RunScript(ctx, immy.ScriptRequest{Computer: e.Computer, Script: immy.Script{Language: immy.LanguageLua, Body: e.Body}, Parameters: e.Params}); err != nil {
			return fmt.Errorf("durabletest: replay %s on %s: %w", e.Body, e.Computer, err)
		}
	}
}

// Fake returns the fake computers.
func (l *Logged) Fake() *immytest.FakeFleet { return l.ff }

// Close closes the log.
func (l *Logged) Close() error {
	l.rf.Close()
	return l.f.Close()
}

func (l *Logged) append(e Entry, sync bool) error {
	e.Proc = l.proc
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if _, err := l.f.Write(append(b, '\n')); err != nil {
		return err
	}
	if sync {
		return l.f.Sync()
	}
	return nil
}

func (l *Logged) wait(ctx context.Context) error {
	if l.delay <= 0 {
		return nil
	}
	t := time.NewTimer(rand.N(l.delay))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Inventory implements immy.InventorySource, logging a detection.
func (l *Logged) Inventory(ctx context.Context, computer string) (immy.Inventory, error) {
	if err := l.wait(ctx); err != nil {
		return immy.Inventory{}, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.sync(ctx); err != nil {
		return immy.Inventory{}, err
	}
	if err := l.append(Entry{Computer: computer, Kind: "detect"}, false); err != nil {
		return immy.Inventory{}, err
	}
	return l.ff.Inventory(ctx, computer)
}

// RunScript implements immy.ScriptRunner: a change is logged, and synced,
// once it ran and before it returns.
func (l *Logged) RunScript(ctx context.Context, req immy.ScriptRequest) (immy.ScriptResult, error) {
	if err := l.wait(ctx); err != nil {
		return immy.ScriptResult{}, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.sync(ctx); err != nil {
		return immy.ScriptResult{}, err
	}
	if !Mutating(req.Script.Body) {
		if err := l.append(Entry{Computer: req.Computer, Kind: "detect", Body: req.Script.Body}, false); err != nil {
			return immy.ScriptResult{}, err
		}
		return l.ff.RunScript(ctx, req)
	}
	res, err := l.ff.RunScript(ctx, req)
	if err != nil || res.ExitCode != 0 {
		return res, err
	}
	params := map[string]any{}
	for k, v := range req.Parameters {
		if k == "version" {
			params[k] = v
		}
	}
	if err := l.append(Entry{Computer: req.Computer, Kind: "run", Body: req.Script.Body, Params: params}, true); err != nil {
		return immy.ScriptResult{}, err
	}
	return res, nil
}

// ReadLog reads an action log; a last line cut short by a kill is dropped.
func ReadLog(path string) ([]Entry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Entry
	r := bufio.NewReader(f)
	for {
		line, err := r.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			return out, nil // a line without its newline was being written
		}
		if err != nil {
			return nil, err
		}
		var e Entry
		if err := json.Unmarshal(line, &e); err != nil {
			return nil, fmt.Errorf("durabletest: %s: line %d: %w", path, len(out)+1, err)
		}
		out = append(out, e)
	}
}

// Repeats lists the changes run twice on a computer without a detection of
// that computer in between: each would be a change run again blindly.
func Repeats(entries []Entry) []string {
	type key struct{ computer, body string }
	ranSinceDetect := map[key]bool{}
	var out []string
	for i, e := range entries {
		switch e.Kind {
		case "detect":
			// an inventory read detects software; a task's test or get
			// script detects the task whose state it reads
			for k := range ranSinceDetect {
				if k.computer != e.Computer {
					continue
				}
				task, isTask := strings.CutPrefix(k.body, "set(")
				if !isTask && e.Body == "" {
					delete(ranSinceDetect, k)
				}
				name, _, _ := strings.Cut(task, ",")
				if isTask && e.Body != "" && strings.Contains(e.Body, "get("+name) {
					delete(ranSinceDetect, k)
				}
			}
		case "run":
			k := key{e.Computer, e.Body}
			if ranSinceDetect[k] {
				out = append(out, fmt.Sprintf("entry %d: %s ran again on %s without a detection in between", i+1, e.Body, e.Computer))
			}
			ranSinceDetect[k] = true
		}
	}
	return out
}
