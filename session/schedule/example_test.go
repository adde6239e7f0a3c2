package schedule_test

import (
	"context"
	"fmt"
	"time"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/session/schedule"
	"github.com/immyoss/engine/targets"
)

// A schedule at 02:30 in New York: on the night the clocks skip from 02:00
// to 03:00 it fires at 03:00, once.
func ExampleSchedule_Fires() {
	s, err := schedule.Compile(immy.Schedule{ID: "nightly", Cron: "30 2 * * *", TimeZone: "America/New_York"})
	if err != nil {
		fmt.Println(err)
		return
	}
	ny, _ := schedule.LoadZone("America/New_York")
	from := time.Date(2026, 3, 7, 0, 0, 0, 0, ny)
	for _, t := range s.Fires(from, from.AddDate(0, 0, 3), nil) {
		fmt.Println(t.In(ny).Format("Mon Jan 2 15:04 MST"))
	}
	// Output:
	// Sat Mar 7 02:30 EST
	// Sun Mar 8 03:00 EDT
	// Mon Mar 9 02:30 EDT
}

func ExampleCompile() {
	_, err := schedule.Compile(immy.Schedule{ID: "bad", Cron: "0 25 * * *", TimeZone: "Mars/Olympus", ExecuteAfterMinutes: 30})
	fmt.Println(err)
	// Output:
	// schedule "bad": cron: cron "0 25 * * *": hour field "25": '25' out of bounds(0, 23)
	// schedule "bad": execute_after_minutes: 30 minutes: execution comes at least 60 minutes after detection, unless execute_right_after_detection
	// schedule "bad": time_zone: unknown time zone "Mars/Olympus" (want an IANA name such as Europe/Paris)
}

// The engine was away for three nights: only the latest fire starts, from
// the moment it is found, in batches of sessions with unique keys.
func ExamplePlanner_Due() {
	f := &immy.Fleet{
		Tenants: []immy.Tenant{{ID: "contoso", TimeZone: "Europe/Berlin"}},
		Computers: []immy.Computer{
			{ID: "pc-2", Tenant: "contoso", Kind: immy.KindWorkstation},
			{ID: "pc-1", Tenant: "contoso", Kind: immy.KindWorkstation},
			{ID: "pc-3", Tenant: "contoso", Kind: immy.KindWorkstation},
		},
		Schedules: []immy.Schedule{{ID: "nightly", Cron: "0 2 * * *", ExecuteAfterMinutes: 120}},
	}
	ix, err := targets.NewIndex(f, targets.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	p, err := schedule.New(ix, schedule.Config{BatchSize: 2})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	last := time.Date(2026, 3, 6, 12, 0, 0, 0, time.UTC)
	now := time.Date(2026, 3, 9, 8, 0, 0, 0, time.UTC)
	fires, _ := p.Due(ctx, "nightly", last, now)
	for _, fire := range fires {
		fmt.Println(fire.Zone, fire.At.Format(time.RFC3339), "missed:", fire.Missed)
		batches, _ := p.Batches(ctx, fire)
		for i, b := range batches {
			for _, s := range b {
				fmt.Println(i, s.Key, s.DetectAt.Format("15:04"), s.ExecuteAt.Format("15:04"))
			}
		}
	}
	// Output:
	// Europe/Berlin 2026-03-09T01:00:00Z missed: true
	// 0 nightly/2026-03-09T01:00:00Z/pc-1 08:00 10:00
	// 0 nightly/2026-03-09T01:00:00Z/pc-2 08:00 10:00
	// 1 nightly/2026-03-09T01:00:00Z/pc-3 08:00 10:00
}

// A schedule whose target selects tenants starts one tenant session (the
// tenant's cloud tasks) per tenant, at 06:00 in each tenant's own zone.
func ExamplePlanner_Tenants() {
	f := &immy.Fleet{
		Tenants: []immy.Tenant{{ID: "contoso", TimeZone: "Europe/Berlin"}, {ID: "fabrikam"}},
		Schedules: []immy.Schedule{{ID: "cloud", Cron: "0 6 * * *", ExecuteRightAfterDetection: true,
			Target: immy.Target{Type: immy.TargetAllTenants}}},
	}
	ix, _ := targets.NewIndex(f, targets.Config{})
	p, err := schedule.New(ix, schedule.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	tenants, _ := p.Tenants(ctx, "cloud")
	fmt.Println(tenants)
	last, now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 6, 1, 6, 0, 0, 0, time.UTC)
	fires, _ := p.Due(ctx, "cloud", last, now)
	for _, fire := range fires {
		ss, _ := p.Sessions(ctx, fire)
		for _, s := range ss {
			fmt.Println(s.Zone, s.Computer, s.Fire.Format(time.RFC3339))
		}
	}
	// Output:
	// [contoso fabrikam]
	// Europe/Berlin tenant:contoso 2026-06-01T04:00:00Z
	// UTC tenant:fabrikam 2026-06-01T06:00:00Z
}
