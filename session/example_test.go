package session_test

import (
	"context"
	"fmt"
	"time"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/immytest"
	"github.com/immyoss/engine/resolver"
	"github.com/immyoss/engine/session"
	"github.com/immyoss/engine/targets"
)

// A full maintenance session on a fake computer: the 3CX client needs the
// Visual C++ runtime, so the runtime is installed right before it; each
// install is verified by detecting again.
func Example() {
	f := immytest.NewFleet().At("2026-11-23T10:00:00Z").
		Tenant("northwind").
		Computer("nw-01", "northwind", immy.KindWorkstation).
		Software("vcredist", immytest.Name("Microsoft Visual C++ 2015-2022 Redistributable"), immytest.Versions("14.40.33810.0")).
		Software("3cx", immytest.Name("3CX Desktop App"), immytest.Versions("18.13.959"),
			immytest.SoftwareFunc(func(s *immy.Software) {
				s.Prerequisites = []immy.Prerequisite{{Condition: immy.ConditionNotInstalled,
					Subjects: []string{"vcredist"}, Then: immy.PrereqInstall, On: []string{"vcredist"}}}
			})).
		Deploy("3cx-everywhere", "3cx", immytest.OnAllComputers()).
		Build()
	immytest.FakeScripts(f) // install and uninstall scripts the fake computers run
	computers := immytest.NewFakeFleet(f)

	cat, _ := resolver.NewCatalogue(f)
	ix, _ := targets.NewIndex(f, targets.Config{At: f.At})
	planner, _ := resolver.NewPlanner(ix, cat, resolver.Config{})
	engine, err := session.New(session.Config{Planner: planner, Runner: computers, Inventory: computers})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer engine.Close(context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	report, err := engine.Run(ctx, session.Request{Computer: "nw-01"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(report.Status)
	for _, a := range report.Actions {
		fmt.Printf("%s %s %s: %s, %s (%s)\n", a.Planned.Action, a.Item(), a.Planned.Version, a.Status, a.Result, a.Reason)
	}
	for _, s := range computers.Computer("nw-01").Software() {
		fmt.Println("installed:", s.Name, s.Version)
	}
	// Output:
	// passed
	// install vcredist 14.40.33810.0: complete, success (verified)
	// install 3cx 18.13.959: complete, success (verified)
	// installed: 3CX Desktop App 18.13.959
	// installed: Microsoft Visual C++ 2015-2022 Redistributable 14.40.33810.0
}

// Parameters checks a deployment's values against a task's typed parameters,
// reporting every problem at once, and names the secrets to redact.
func ExampleParameters() {
	task := &immy.Task{ID: "wifi", Parameters: []immy.Parameter{
		{Name: "ssid", Type: immy.ParamText, Required: true},
		{Name: "key", Type: immy.ParamPassword},
		{Name: "band", Type: immy.ParamSelect, Options: []string{"2.4", "5"}, Default: "5"},
	}}
	params, secrets, err := session.Parameters(task, "d-wifi", map[string]any{"ssid": "office", "key": "hunter2"})
	fmt.Println(params["band"], len(secrets), err)

	_, _, err = session.Parameters(task, "d-wifi", map[string]any{"band": "6", "channel": 11})
	fmt.Println(err)
	// Output:
	// 5 1 <nil>
	// deployment "d-wifi": parameters.band: select parameter of task "wifi": the value is not one of the options 2.4, 5
	// deployment "d-wifi": parameters.channel: task "wifi" has no parameter "channel"
	// deployment "d-wifi": parameters.ssid: required text parameter of task "wifi" has no value
}

// A detection-only session is the what-if on the real computer: it reads
// the inventory and plans, and changes nothing.
func ExampleKind_detectionOnly() {
	f := immytest.NewFleet().At("2026-11-23T10:00:00Z").
		Tenant("acme").
		Computer("acme-office", "acme", immy.KindWorkstation, immytest.Installed("Google Chrome", "118.0.5993.118")).
		Software("chrome", immytest.Name("Google Chrome"), immytest.Versions("131.0.6778.86")).
		Deploy("chrome-latest", "chrome", immytest.OnAllComputers()).
		Build()
	immytest.FakeScripts(f)
	computers := immytest.NewFakeFleet(f)
	cat, _ := resolver.NewCatalogue(f)
	ix, _ := targets.NewIndex(f, targets.Config{At: f.At})
	planner, _ := resolver.NewPlanner(ix, cat, resolver.Config{})
	engine, _ := session.New(session.Config{Planner: planner, Runner: computers, Inventory: computers})
	defer engine.Close(context.Background())

	report, _ := engine.Run(context.Background(), session.Request{Computer: "acme-office", Kind: session.DetectionOnly})
	a := report.Actions[0]
	fmt.Println(report.Status, report.Reason)
	fmt.Println(a.Planned.Action, a.Item(), a.Planned.Detected, "->", a.Planned.Version, a.Status)
	// Output:
	// passed detection-only
	// update chrome 118.0.5993.118 -> 131.0.6778.86 not-started
}
