// Package schedule turns the fleet's schedules into maintenance sessions:
// when each schedule fires, in which time zone, which computers each fire
// reaches, and when each computer's detection and execution start. It holds
// no state and starts nothing: a caller (the River-backed dispatcher) asks
// what is due, persists what it started, and creates the sessions, each under
// a unique key, so that several engine processes asking at once start each
// session once.
//
// # Compiling
//
// Compile checks one immy.Schedule: a five-field cron expression (minute hour
// day-of-month month day-of-week, parsed by github.com/adhocore/gronx, with
// its names MON and JAN, ranges, steps, L, W and #; macros such as @daily and
// six-field crons are refused, as in the fleet file), an IANA time zone, and
// the minutes. New compiles every schedule of a fleet against a targets.Index
// and adds the checks that need the fleet. Every problem comes back at once as
// immy.Problems naming the schedule and the field:
//
//	ix, err := targets.NewIndex(fleet, targets.Config{})
//	p, err := schedule.New(ix, schedule.Config{})
//
// The rules decided here:
//
//   - A cron that can never fire (the 30th of February) is refused.
//   - "Local" is refused as a zone: it means something different on each
//     engine process. The package embeds time/tzdata, so zones read the same
//     everywhere.
//   - Execution comes ExecuteAfterMinutes after detection. Zero means the
//     least, one hour (MinExecuteAfter); 1 to 59 minutes are refused rather
//     than silently raised; ExecuteRightAfterDetection makes both equal and
//     refuses a non-zero ExecuteAfterMinutes beside it. Minutes are at most a
//     week (MaxMinutes), jitter too.
//   - A schedule without a target reaches every computer (as an all-computers
//     target). A target that selects tenants (all tenants, a tenant, a tenant
//     tag, a client group of category tenant) makes a tenant schedule: each
//     fire starts one tenant session per tenant the target selects, resolved
//     as a cloud task deployment's (targets.Matcher.ResolveTenants), with
//     Session.Computer session.TenantSession(tenant): the tenant's cloud
//     tasks, full maintenance. A tenant schedule has no item (refused:
//     the tenant session runs the winning deployment of each of the
//     tenant's cloud tasks), and fires in its own zone, else in each
//     tenant's (the tenant's TimeZone, else UTC).
//   - A one-item schedule's item must be a software or a task of the fleet;
//     a task that runs against tenants or persons, or only in onboarding
//     sessions, is refused; an item private to a tenant must target only that
//     tenant, as for deployments.
//   - "Filters that would run a script on every computer" are not refused for
//     one-item schedules because there are none: expr and Lua filters run on
//     the engine over the fleet's data (inventory, tags, attributes), each at
//     most once per computer for the life of the Planner, and never reach a
//     computer. The only scripts a schedule runs on its computers are the
//     item's own detection, which is the point of the schedule.
//
// # Fire times and daylight saving
//
// A schedule fires at the wall-clock minutes its cron names in a zone: its
// own TimeZone, or, when that is empty, each computer's own (the computer's
// TimeZone, else its tenant's, else UTC). Next and Fires compute them:
//
//	s, _ := p.Schedule("nightly")
//	t := s.Next(time.Now(), loc) // first fire after now, in UTC
//
// Where the clocks go back, a wall time that happens twice fires once, at its
// first occurrence. Where the clocks go forward, a wall time that does not
// exist fires at the first minute after the gap (02:30 on a night New York
// skips from 02:00 to 03:00 fires at 03:00 EDT), once however many skipped
// minutes match, and once even when the cron also names that minute.
//
// # Due fires, missed fires
//
// Due(ctx, id, last, now) gives, for each zone the schedule fires in, the
// latest fire in (last, now]. last is what the caller persisted after its
// previous call (that call's now). When the engine was away over several
// fires, only the latest starts, once: never a burst. A fire found more than
// Config.LateAfter (5 minutes) after its time is Missed, and its sessions
// start from when it was found, with their jitter and their wait before
// execution intact, rather than at once and in the past. A zero last means
// the schedule was never watched: nothing is due, so that a new schedule does
// not start at once for a time before it existed. Poll does the same for
// every schedule at Config.Now.
//
// A caller should ask more often than the schedule fires: fires between two
// calls but the latest are skipped, by the rule above.
//
// # Sessions and batches
//
// Sessions(ctx, fire) gives one Session per computer of the schedule's
// target in the fire's zone, sorted by computer id; Batches cuts them into
// groups of Config.BatchSize (500). Each carries:
//
//   - Key: SessionKey(schedule, fire time in UTC RFC 3339, computer), such as
//     "nightly/2026-03-08T07:00:00Z/pc-1", unique per (schedule, fire,
//     computer) whichever process computes it; Fire.Key is the same for a fire
//     in a zone;
//   - Jitter: a delay in [0, JitterMinutes), to the second, from a SHA-256 of
//     the schedule id, the computer id and the fire time, so that every
//     process computes the same delay and computers spread over the window;
//   - DetectAt: the fire's start plus the jitter; ExecuteAt: DetectAt plus
//     ExecuteAfter;
//   - Item: the one item, or "" for full maintenance.
//
// The targets are resolved as deployments' are (package targets), on the
// index the Planner was built with: build a new Planner when the fleet
// changes. Computers excluded from maintenance are never reached.
//
// The Planner and the Schedule are immutable and safe for concurrent use.
package schedule
