package durable_test

import (
	"fmt"
	"time"

	"github.com/immyoss/engine/session/durable"
	"github.com/immyoss/engine/session/schedule"
)

// A schedule's session becomes a fire: started at its detection time, it
// waits for its execution time before it changes anything.
func ExampleScheduledFire() {
	fire := time.Date(2026, 3, 8, 7, 0, 0, 0, time.UTC)
	s := schedule.Session{Key: schedule.SessionKey("weekly-7zip", fire, "pc-1"), Schedule: "weekly-7zip",
		Fire: fire, Computer: "pc-1", Item: "7zip", DetectAt: fire.Add(90 * time.Second), ExecuteAt: fire.Add(6 * time.Hour)}
	f := durable.ScheduledFire(s)
	fmt.Println(f.Key)
	fmt.Println(f.At.Format(time.RFC3339), f.Request.Kind, f.Request.Item, f.Request.Source)
	fmt.Println(f.Request.ExecuteAt.Format(time.RFC3339))
	// Output:
	// weekly-7zip/2026-03-08T07:00:00Z/pc-1
	// 2026-03-08T07:01:30Z single-item 7zip scheduled
	// 2026-03-08T13:00:00Z
}
