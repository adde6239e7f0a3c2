package immytest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/immyoss/engine/immy"
)

// RunnerKit tells the conformance checks of [CheckRunner] how to reach an
// [immy.ScriptRunner] under test and how to write small scripts in the
// language it runs. Bodies returned by the functions are run with Language in
// the system context.
type RunnerKit struct {
	Runner immy.ScriptRunner
	// Computer is an online computer the runner reaches.
	Computer string
	// Offline is a computer the runner knows and cannot reach now; "" skips
	// the offline check.
	Offline string
	// NoUser is a reachable computer on which nobody is logged on; "" skips
	// the user-context check.
	NoUser string
	// Language of the scripts below.
	Language immy.ScriptLanguage

	// Print returns a script that writes each line, in order, and exits 0.
	Print func(lines ...string) string
	// Exit returns a script that exits with code, writing nothing.
	Exit func(code int) string
	// Sleep returns a script that runs for d, then exits 0.
	Sleep func(d time.Duration) string
	// PrintParam returns a script that writes the value of the parameter
	// name (as text) and exits 0.
	PrintParam func(name string) string
}

// CheckRunner runs the conformance checks of the ScriptRunner contract
// against a runner and returns every failure joined, or nil:
//
//   - output: the lines a script writes come back in order in Output, and
//     Value is the last non-empty line, exit code 0;
//   - exit code: a script that exits non-zero is a result, not an error;
//   - parameters: passed by name;
//   - output cap: MaxOutput bounds Output and sets Truncated;
//   - streaming: Output (the callback) receives the whole output, in order;
//   - deadline, timeout and cancellation: a run ends early with an error
//     wrapping context.DeadlineExceeded (ctx's deadline, or the request's
//     Timeout) or context.Canceled;
//   - concurrency: runs at once keep their outputs apart;
//   - offline: a computer that cannot be reached is immy.ErrOffline;
//   - user context: with nobody logged on, immy.ErrNoUserLoggedOn.
//
// Timing checks allow a generous margin: a sleep cut short must return within
// half of its length.
func CheckRunner(ctx context.Context, kit RunnerKit) error {
	var errs []error
	for _, c := range runnerChecks {
		if err := c.run(ctx, &kit); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c.name, err))
		}
	}
	return errors.Join(errs...)
}

// TestRunner runs the checks of CheckRunner as subtests; newKit is called for
// each, so that every check gets a fresh runner.
func TestRunner(t *testing.T, newKit func(t *testing.T) RunnerKit) {
	t.Helper()
	for _, c := range runnerChecks {
		t.Run(c.name, func(t *testing.T) {
			kit := newKit(t)
			if err := c.run(t.Context(), &kit); err != nil {
				t.Error(err)
			}
		})
	}
}

type runnerCheck struct {
	name string
	run  func(ctx context.Context, k *RunnerKit) error
}

func (k *RunnerKit) request(body string) immy.ScriptRequest {
	return immy.ScriptRequest{Computer: k.Computer, Script: immy.Script{Language: k.Language, Context: immy.ContextSystem, Body: body}}
}

// sleepFor is how long the scripts of the deadline checks would run.
const sleepFor = 10 * time.Second

var runnerChecks = []runnerCheck{
	{"output", func(ctx context.Context, k *RunnerKit) error {
		res, err := k.Runner.RunScript(ctx, k.request(k.Print("first line", "second line", "")))
		if err != nil {
			return fmt.Errorf("run: %w", err)
		}
		var errs []error
		if res.ExitCode != 0 {
			errs = append(errs, fmt.Errorf("exit code %d, want 0", res.ExitCode))
		}
		i, j := strings.Index(res.Output, "first line"), strings.Index(res.Output, "second line")
		if i < 0 || j < 0 || j < i {
			errs = append(errs, fmt.Errorf("output %q does not hold the two lines in order", res.Output))
		}
		if res.Value != "second line" {
			errs = append(errs, fmt.Errorf("value %q, want the last non-empty line %q", res.Value, "second line"))
		}
		return errors.Join(errs...)
	}},
	{"exit-code", func(ctx context.Context, k *RunnerKit) error {
		res, err := k.Runner.RunScript(ctx, k.request(k.Exit(3)))
		if err != nil {
			return fmt.Errorf("a script that exits 3 is an error, want a result: %w", err)
		}
		if res.ExitCode != 3 {
			return fmt.Errorf("exit code %d, want 3", res.ExitCode)
		}
		return nil
	}},
	{"parameters", func(ctx context.Context, k *RunnerKit) error {
		req := k.request(k.PrintParam("greeting"))
		req.Parameters = map[string]any{"greeting": "hello from the kit", "other": "not this"}
		res, err := k.Runner.RunScript(ctx, req)
		if err != nil {
			return fmt.Errorf("run: %w", err)
		}
		if !strings.Contains(res.Output, "hello from the kit") || strings.Contains(res.Output, "not this") {
			return fmt.Errorf("output %q, want the value of parameter greeting only", res.Output)
		}
		return nil
	}},
	{"output-cap", func(ctx context.Context, k *RunnerKit) error {
		long := strings.Repeat("x", 200)
		req := k.request(k.Print(long, long))
		req.MaxOutput = 64
		res, err := k.Runner.RunScript(ctx, req)
		if err != nil {
			return fmt.Errorf("run: %w", err)
		}
		var errs []error
		if len(res.Output) > 64 {
			errs = append(errs, fmt.Errorf("output of %d bytes, want at most MaxOutput 64", len(res.Output)))
		}
		if !res.Truncated {
			errs = append(errs, errors.New("Truncated is false, want true"))
		}
		return errors.Join(errs...)
	}},
	{"streaming", func(ctx context.Context, k *RunnerKit) error {
		var mu sync.Mutex
		var got strings.Builder
		req := k.request(k.Print("one", "two", "three"))
		req.Output = func(chunk []byte) {
			mu.Lock()
			got.Write(chunk)
			mu.Unlock()
		}
		res, err := k.Runner.RunScript(ctx, req)
		if err != nil {
			return fmt.Errorf("run: %w", err)
		}
		mu.Lock()
		defer mu.Unlock()
		if got.String() != res.Output {
			return fmt.Errorf("streamed %q, want the result's output %q", got.String(), res.Output)
		}
		return nil
	}},
	{"deadline", func(ctx context.Context, k *RunnerKit) error {
		ctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := k.Runner.RunScript(ctx, k.request(k.Sleep(sleepFor)))
		if !errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("error %v, want one wrapping context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d > sleepFor/2 {
			return fmt.Errorf("returned after %v, want soon after the deadline", d)
		}
		return nil
	}},
	{"timeout", func(ctx context.Context, k *RunnerKit) error {
		req := k.request(k.Sleep(sleepFor))
		req.Timeout = 50 * time.Millisecond
		start := time.Now()
		_, err := k.Runner.RunScript(ctx, req)
		if !errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("error %v, want one wrapping context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d > sleepFor/2 {
			return fmt.Errorf("returned after %v, want soon after the request's Timeout", d)
		}
		return nil
	}},
	{"cancel", func(ctx context.Context, k *RunnerKit) error {
		ctx, cancel := context.WithCancel(ctx)
		timer := time.AfterFunc(50*time.Millisecond, cancel)
		defer timer.Stop()
		defer cancel()
		_, err := k.Runner.RunScript(ctx, k.request(k.Sleep(sleepFor)))
		if !errors.Is(err, context.Canceled) {
			return fmt.Errorf("error %v, want one wrapping context.Canceled", err)
		}
		return nil
	}},
	{"concurrency", func(ctx context.Context, k *RunnerKit) error {
		const n = 8
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				want := fmt.Sprintf("run number %d", i)
				res, err := k.Runner.RunScript(ctx, k.request(k.Print(want)))
				switch {
				case err != nil:
					errs[i] = fmt.Errorf("run %d: %w", i, err)
				case res.Value != want:
					errs[i] = fmt.Errorf("run %d: value %q, want %q", i, res.Value, want)
				}
			})
		}
		wg.Wait()
		return errors.Join(errs...)
	}},
	{"offline", func(ctx context.Context, k *RunnerKit) error {
		if k.Offline == "" {
			return nil
		}
		req := k.request(k.Print("unreachable"))
		req.Computer = k.Offline
		_, err := k.Runner.RunScript(ctx, req)
		if !errors.Is(err, immy.ErrOffline) {
			return fmt.Errorf("error %v, want one wrapping immy.ErrOffline", err)
		}
		return nil
	}},
	{"no-user", func(ctx context.Context, k *RunnerKit) error {
		if k.NoUser == "" {
			return nil
		}
		req := k.request(k.Print("as the user"))
		req.Computer = k.NoUser
		req.Script.Context = immy.ContextUser
		_, err := k.Runner.RunScript(ctx, req)
		if !errors.Is(err, immy.ErrNoUserLoggedOn) {
			return fmt.Errorf("error %v, want one wrapping immy.ErrNoUserLoggedOn", err)
		}
		return nil
	}},
}

// FakeRunnerKit returns the kit for a FakeFleet: a fresh fleet with an online
// computer "pc", an offline one "off" and one "nouser" with nobody logged on,
// and Lua scripts over the fake's functions. It is how the fake passes its
// own conformance checks, and an example of a kit.
func FakeRunnerKit() RunnerKit {
	ff := &FakeFleet{}
	ff.Add("pc").LogOn("user@example.com")
	ff.Add("off").SetOnline(false)
	ff.Add("nouser")
	return RunnerKit{
		Runner:   ff,
		Computer: "pc",
		Offline:  "off",
		NoUser:   "nouser",
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
