package schedule

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/targets"
)

// planFleet: contoso in New York (one laptop overriding to Berlin), fabrikam
// without a zone (UTC), and schedules of every kind.
func planFleet() *immy.Fleet {
	return &immy.Fleet{
		At: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
		Tenants: []immy.Tenant{
			{ID: "msp"},
			{ID: "contoso", Parent: "msp", TimeZone: "America/New_York"},
			{ID: "fabrikam", Parent: "msp"},
		},
		Computers: []immy.Computer{
			{ID: "c-ws-2", Tenant: "contoso", Kind: immy.KindWorkstation, OS: "Windows 11 Pro"},
			{ID: "c-ws-1", Tenant: "contoso", Kind: immy.KindWorkstation, OS: "Windows 11 Pro"},
			{ID: "c-lt-1", Tenant: "contoso", Kind: immy.KindPortable, OS: "Windows 10 Pro", TimeZone: "Europe/Berlin"},
			{ID: "c-srv-1", Tenant: "contoso", Kind: immy.KindServer, OS: "Windows Server 2022"},
			{ID: "f-ws-1", Tenant: "fabrikam", Kind: immy.KindWorkstation, OS: "Windows 11 Pro"},
			{ID: "f-old", Tenant: "fabrikam", Kind: immy.KindWorkstation, ExcludedFromMaintenance: true},
		},
		Software: []immy.Software{{ID: "7zip"}, {ID: "contoso-app", Tenant: "contoso"}},
		Tasks: []immy.Task{
			{ID: "cleanup"},
			{ID: "m365-licences", Category: immy.TaskTenant},
			{ID: "rename", OnboardingOnly: true},
		},
		Schedules: []immy.Schedule{
			{ID: "nightly", Cron: "0 2 * * *", ExecuteRightAfterDetection: true},
			{ID: "weekly-7zip", Cron: "0 12 * * 3", TimeZone: "Europe/London", ExecuteAfterMinutes: 360, JitterMinutes: 30, Item: "7zip",
				Target: immy.Target{Type: immy.TargetFilter, Expr: `computer.os startsWith "Windows 11"`}},
			{ID: "contoso-app", Cron: "30 1 * * *", Item: "contoso-app", Target: immy.Target{Type: immy.TargetAllComputers, Tenant: "contoso"}},
			{ID: "off", Cron: "0 3 * * *", Disabled: true},
		},
	}
}

func newPlanner(t *testing.T, f *immy.Fleet, cfg Config) *Planner {
	t.Helper()
	ix, err := targets.NewIndex(f, targets.Config{})
	require.NoError(t, err)
	p, err := New(ix, cfg)
	require.NoError(t, err)
	return p
}

func TestPlannerZonesAndDue(t *testing.T) {
	ctx := context.Background()
	p := newPlanner(t, planFleet(), Config{})
	zones, err := p.Zones(ctx, "nightly")
	require.NoError(t, err)
	require.Equal(t, []string{"America/New_York", "Europe/Berlin", "UTC"}, zones)
	zones, err = p.Zones(ctx, "weekly-7zip")
	require.NoError(t, err)
	require.Equal(t, []string{"Europe/London"}, zones)
	cs, err := p.Computers(ctx, "nightly")
	require.NoError(t, err)
	require.Equal(t, []string{"c-lt-1", "c-srv-1", "c-ws-1", "c-ws-2", "f-ws-1"}, cs, "sorted, excluded computer left out")

	tests := []struct {
		name, id, last, now string
		want                []Fire
	}{
		{"each zone once, on time", "nightly", "2026-03-08T00:00:00Z", "2026-03-08T07:01:00Z", []Fire{
			{Schedule: "nightly", Zone: "Europe/Berlin", At: utc("2026-03-08T01:00:00Z"), Start: utc("2026-03-08T07:01:00Z"), Missed: true},
			{Schedule: "nightly", Zone: "UTC", At: utc("2026-03-08T02:00:00Z"), Start: utc("2026-03-08T07:01:00Z"), Missed: true},
			// 02:00 does not exist in New York that night: 03:00 EDT.
			{Schedule: "nightly", Zone: "America/New_York", At: utc("2026-03-08T07:00:00Z"), Start: utc("2026-03-08T07:00:00Z")},
		}},
		{"away a week: the latest only", "nightly", "2026-03-01T00:00:00Z", "2026-03-08T07:02:30Z", []Fire{
			{Schedule: "nightly", Zone: "Europe/Berlin", At: utc("2026-03-08T01:00:00Z"), Start: utc("2026-03-08T07:02:30Z"), Missed: true},
			{Schedule: "nightly", Zone: "UTC", At: utc("2026-03-08T02:00:00Z"), Start: utc("2026-03-08T07:02:30Z"), Missed: true},
			{Schedule: "nightly", Zone: "America/New_York", At: utc("2026-03-08T07:00:00Z"), Start: utc("2026-03-08T07:00:00Z")},
		}},
		{"nothing new", "nightly", "2026-03-08T07:02:30Z", "2026-03-08T07:03:30Z", nil},
		{"never watched", "nightly", "", "2026-03-08T07:03:30Z", nil},
		{"disabled", "off", "2026-03-01T00:00:00Z", "2026-03-08T07:03:30Z", nil},
		{"own zone", "weekly-7zip", "2026-03-10T00:00:00Z", "2026-03-11T12:00:10Z", []Fire{
			{Schedule: "weekly-7zip", Zone: "Europe/London", At: utc("2026-03-11T12:00:00Z"), Start: utc("2026-03-11T12:00:00Z")},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var last time.Time
			if tt.last != "" {
				last = utc(tt.last)
			}
			got, err := p.Due(ctx, tt.id, last, utc(tt.now))
			require.NoError(t, err)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Due (-want +got):\n%s", diff)
			}
		})
	}
	_, err = p.Due(ctx, "nope", time.Time{}, time.Now())
	require.ErrorIs(t, err, immy.ErrNotFound)
}

func TestPlannerPoll(t *testing.T) {
	now := utc("2026-03-11T12:00:30Z")
	p := newPlanner(t, planFleet(), Config{Now: func() time.Time { return now }})
	got, err := p.Poll(context.Background(), map[string]time.Time{
		"weekly-7zip": utc("2026-03-11T11:59:30Z"),
		"nightly":     utc("2026-03-11T11:59:30Z"),
		"off":         utc("2026-03-01T00:00:00Z"),
	})
	require.NoError(t, err)
	want := []Fire{{Schedule: "weekly-7zip", Zone: "Europe/London", At: utc("2026-03-11T12:00:00Z"), Start: utc("2026-03-11T12:00:00Z")}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Poll (-want +got):\n%s", diff)
	}
}

func TestPlannerSessions(t *testing.T) {
	ctx := context.Background()
	p := newPlanner(t, planFleet(), Config{})
	// One-item schedule in its own zone, with jitter and a six-hour wait.
	fire := Fire{Schedule: "weekly-7zip", Zone: "Europe/London", At: utc("2026-03-11T12:00:00Z"), Start: utc("2026-03-11T12:00:00Z")}
	got, err := p.Sessions(ctx, fire)
	require.NoError(t, err)
	s, _ := p.Schedule("weekly-7zip")
	var want []Session
	for _, c := range []string{"c-ws-1", "c-ws-2", "f-ws-1"} {
		j := s.Jitter(c, fire.At)
		want = append(want, Session{
			Key: "weekly-7zip/2026-03-11T12:00:00Z/" + c, Schedule: "weekly-7zip", Fire: fire.At, Zone: "Europe/London", Computer: c,
			Item: "7zip", Jitter: j, DetectAt: fire.At.Add(j), ExecuteAt: fire.At.Add(j + 6*time.Hour),
		})
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Sessions (-want +got):\n%s", diff)
	}
	for _, x := range got {
		require.False(t, x.FullMaintenance())
		require.Less(t, x.Jitter, 30*time.Minute)
	}

	// Full maintenance in each computer's zone: only New York's computers
	// at New York's fire; a missed fire starts from when it was found.
	ny := Fire{Schedule: "nightly", Zone: "America/New_York", At: utc("2026-03-08T07:00:00Z"), Start: utc("2026-03-08T09:00:00Z"), Missed: true}
	got, err = p.Sessions(ctx, ny)
	require.NoError(t, err)
	want = nil
	for _, c := range []string{"c-srv-1", "c-ws-1", "c-ws-2"} {
		want = append(want, Session{
			Key: "nightly/2026-03-08T07:00:00Z/" + c, Schedule: "nightly", Fire: ny.At, Zone: "America/New_York", Computer: c,
			DetectAt: ny.Start, ExecuteAt: ny.Start,
		})
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Sessions (-want +got):\n%s", diff)
	}
	require.True(t, got[0].FullMaintenance())

	// Fires that are not the schedule's.
	for _, bad := range []Fire{
		{Schedule: "nightly", Zone: "America/New_York", At: utc("2026-03-08T06:00:00Z")},
		{Schedule: "nightly", Zone: "Asia/Tokyo", At: utc("2026-03-08T07:00:00Z")},
		{Schedule: "weekly-7zip", Zone: "UTC", At: utc("2026-03-11T12:00:00Z")},
	} {
		_, err := p.Sessions(ctx, bad)
		require.ErrorIs(t, err, immy.ErrInvalid, "%+v", bad)
	}
	_, err = p.Sessions(ctx, Fire{Schedule: "nope"})
	require.ErrorIs(t, err, immy.ErrNotFound)
}

func TestPlannerBatches(t *testing.T) {
	f := planFleet()
	f.Computers = nil
	for i := range 1234 {
		f.Computers = append(f.Computers, immy.Computer{ID: fmt.Sprintf("pc-%04d", 1233-i), Tenant: "fabrikam", Kind: immy.KindWorkstation})
	}
	ctx := context.Background()
	fire := Fire{Schedule: "nightly", Zone: "UTC", At: utc("2026-03-08T02:00:00Z"), Start: utc("2026-03-08T02:00:00Z")}
	for _, tt := range []struct {
		size  int
		sizes []int
	}{{0, []int{500, 500, 234}}, {100, []int{100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 34}}, {5000, []int{1234}}} {
		p := newPlanner(t, f, Config{BatchSize: tt.size})
		bs, err := p.Batches(ctx, fire)
		require.NoError(t, err)
		var sizes []int
		var keys []string
		for _, b := range bs {
			sizes = append(sizes, len(b))
			for _, s := range b {
				keys = append(keys, s.Key)
			}
		}
		require.Equal(t, tt.sizes, sizes)
		require.Len(t, keys, 1234)
		require.Equal(t, "nightly/2026-03-08T02:00:00Z/pc-0000", keys[0])
		require.Equal(t, "nightly/2026-03-08T02:00:00Z/pc-1233", keys[1233])
		require.IsIncreasing(t, keys, "batches in computer order, keys unique")
	}
}

func TestNewProblems(t *testing.T) {
	f := planFleet()
	f.Tenants[2].TimeZone = "Nowhere/Town"
	f.Computers[0].TimeZone = "Mars/Olympus"
	f.Schedules = append(f.Schedules,
		immy.Schedule{ID: "bad-cron", Cron: "0 25 * * *", ExecuteAfterMinutes: 10, Item: "missing"},
		immy.Schedule{ID: "cloud", Cron: "0 2 * * *", Item: "m365-licences", Target: immy.Target{Type: immy.TargetAllTenants}},
		immy.Schedule{ID: "cloud-on-computers", Cron: "0 2 * * *", Item: "m365-licences"},
		immy.Schedule{ID: "onboarding", Cron: "0 2 * * *", Item: "rename"},
		immy.Schedule{ID: "private", Cron: "0 2 * * *", Item: "contoso-app", Target: immy.Target{Type: immy.TargetAllComputers}},
		immy.Schedule{ID: "filter", Cron: "0 2 * * *", Target: immy.Target{Type: immy.TargetFilter, Expr: `computer.os ==`}},
		immy.Schedule{ID: "nightly", Cron: "0 4 * * *"},
	)
	ix, err := targets.NewIndex(f, targets.Config{})
	require.NoError(t, err)
	_, err = New(ix, Config{})
	var ps immy.Problems
	require.True(t, errors.As(err, &ps))
	var got []string
	for _, p := range ps {
		got = append(got, fmt.Sprintf("%s %s %s", p.Section, p.ID, p.Field))
	}
	want := []string{
		"computers c-ws-2 time_zone",
		"schedules bad-cron cron",
		"schedules bad-cron execute_after_minutes",
		"schedules bad-cron item",
		"schedules cloud item",
		"schedules cloud-on-computers item",
		"schedules onboarding item",
		"schedules private target",
		"schedules filter target.expr",
		"schedules nightly id",
		"tenants fabrikam time_zone",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s\n%v", diff, err)
	}
	require.ErrorIs(t, err, immy.ErrNotFound, "the unknown item")
	_, err = New(nil, Config{})
	require.ErrorIs(t, err, immy.ErrInvalid)
}

// TestPlannerConcurrent uses one Planner from many goroutines (run with
// -race): every goroutine gets the same sessions.
func TestPlannerConcurrent(t *testing.T) {
	ctx := context.Background()
	p := newPlanner(t, planFleet(), Config{})
	fire := Fire{Schedule: "weekly-7zip", Zone: "Europe/London", At: utc("2026-03-11T12:00:00Z"), Start: utc("2026-03-11T12:00:00Z")}
	require.Equal(t, "weekly-7zip/2026-03-11T12:00:00Z/Europe%2FLondon", fire.Key())
	want, err := p.Sessions(ctx, fire)
	require.NoError(t, err)
	results := make(chan []Session, 8)
	for range 8 {
		go func() {
			s, _ := p.Schedule("nightly")
			s.Fires(utc("2026-03-01T00:00:00Z"), utc("2026-03-20T00:00:00Z"), nil)
			got, err := p.Sessions(ctx, fire)
			if err != nil {
				got = nil
			}
			results <- got
		}()
	}
	for range 8 {
		if diff := cmp.Diff(want, <-results); diff != "" {
			t.Errorf("concurrent Sessions (-want +got):\n%s", diff)
		}
	}
}

// TestPlannerSkipsComputersAFilterFailsOn: a schedule whose target filter
// fails at run time on one computer (an index out of range) starts on the
// others; the failure is told to Config.OnFilterError with the computer.
func TestPlannerSkipsComputersAFilterFailsOn(t *testing.T) {
	f := planFleet()
	for i := range f.Computers {
		f.Computers[i].Tags = []string{"a", "b"}
	}
	f.Computers[0].Tags = []string{"a", "b", "c", "d"} // c-ws-2
	f.Schedules = []immy.Schedule{{ID: "tagged", Cron: "0 2 * * *",
		Target: immy.Target{Type: immy.TargetFilter, Expr: `computer.tags[3] == "d"`}}}
	type failure struct{ schedule, deployment, computer string }
	var failed []failure
	p := newPlanner(t, f, Config{OnFilterError: func(s string, fe *targets.FilterError) {
		failed = append(failed, failure{s, fe.ID, fe.Computer})
	}})
	ctx := context.Background()
	got, err := p.Computers(ctx, "tagged")
	require.NoError(t, err)
	require.Equal(t, []string{"c-ws-2"}, got)
	// every other computer in maintenance failed, in order of id
	require.Empty(t, cmp.Diff([]failure{{"tagged", "tagged", "c-lt-1"}, {"tagged", "tagged", "c-srv-1"},
		{"tagged", "tagged", "c-ws-1"}, {"tagged", "tagged", "f-ws-1"}}, failed, cmp.AllowUnexported(failure{})))
}

// tenantFleet is planFleet with initech (tag gold, excluded from
// cross-tenant targets, in Tokyo) and schedules of tenants: every tenant in
// its own zone, one tenant in the schedule's zone, a tag, a client group.
func tenantFleet() *immy.Fleet {
	f := planFleet()
	f.Tenants[1].Tags = []string{"gold"}
	f.Tenants = append(f.Tenants, immy.Tenant{ID: "initech", Parent: "msp", TimeZone: "Asia/Tokyo", Tags: []string{"gold"}, ExcludeFromCrossTenant: true})
	f.Agreements = []immy.Agreement{{ID: "a1", Tenant: "contoso", ClientGroup: "east"}, {ID: "a2", Tenant: "initech", ClientGroup: "east"}}
	f.Schedules = append(f.Schedules,
		immy.Schedule{ID: "cloud-nightly", Cron: "0 2 * * *", ExecuteRightAfterDetection: true, Target: immy.Target{Type: immy.TargetAllTenants}},
		immy.Schedule{ID: "cloud-initech", Cron: "30 6 * * *", TimeZone: "Europe/London", JitterMinutes: 10, ExecuteRightAfterDetection: true,
			Target: immy.Target{Type: immy.TargetTenant, Tenant: "initech"}},
		immy.Schedule{ID: "cloud-gold", Cron: "0 3 * * *", ExecuteRightAfterDetection: true, Target: immy.Target{Type: immy.TargetTenantTag, Tag: "gold"}},
		immy.Schedule{ID: "cloud-east", Cron: "0 4 * * *", ExecuteRightAfterDetection: true,
			Target: immy.Target{Type: immy.TargetClientGroup, ClientGroup: "east", Category: immy.CategoryTenant}},
	)
	return f
}

func TestPlannerTenantSchedules(t *testing.T) {
	ctx := context.Background()
	p := newPlanner(t, tenantFleet(), Config{})
	tests := []struct {
		id      string
		tenants []string
		zones   []string
	}{
		{"cloud-nightly", []string{"contoso", "fabrikam", "msp"}, []string{"America/New_York", "UTC"}},
		{"cloud-initech", []string{"initech"}, []string{"Europe/London"}},
		{"cloud-gold", []string{"contoso"}, []string{"America/New_York"}},
		{"cloud-east", []string{"contoso"}, []string{"America/New_York"}},
		{"nightly", nil, []string{"America/New_York", "Europe/Berlin", "UTC"}},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			got, err := p.Tenants(ctx, tt.id)
			require.NoError(t, err)
			require.Empty(t, cmp.Diff(tt.tenants, got, cmpopts.EquateEmpty()), "tenants")
			zones, err := p.Zones(ctx, tt.id)
			require.NoError(t, err)
			require.Equal(t, tt.zones, zones)
			if tt.tenants != nil {
				cs, err := p.Computers(ctx, tt.id)
				require.NoError(t, err)
				require.Empty(t, cs, "a tenant schedule reaches no computer")
			}
		})
	}

	// Each tenant fires at 02:00 in its own zone: contoso in New York,
	// fabrikam and msp in UTC; one tenant session each.
	due, err := p.Due(ctx, "cloud-nightly", utc("2026-03-10T00:00:00Z"), utc("2026-03-10T07:00:30Z"))
	require.NoError(t, err)
	require.Equal(t, []Fire{
		{Schedule: "cloud-nightly", Zone: "UTC", At: utc("2026-03-10T02:00:00Z"), Start: utc("2026-03-10T07:00:30Z"), Missed: true},
		{Schedule: "cloud-nightly", Zone: "America/New_York", At: utc("2026-03-10T06:00:00Z"), Start: utc("2026-03-10T07:00:30Z"), Missed: true},
	}, due)
	sessionsOf := func(f Fire) []Session {
		t.Helper()
		ss, err := p.Sessions(ctx, f)
		require.NoError(t, err)
		return ss
	}
	at := utc("2026-03-10T02:00:00Z")
	want := []Session{
		{Key: "cloud-nightly/2026-03-10T02:00:00Z/tenant:fabrikam", Schedule: "cloud-nightly", Fire: at, Zone: "UTC", Computer: "tenant:fabrikam", DetectAt: at, ExecuteAt: at},
		{Key: "cloud-nightly/2026-03-10T02:00:00Z/tenant:msp", Schedule: "cloud-nightly", Fire: at, Zone: "UTC", Computer: "tenant:msp", DetectAt: at, ExecuteAt: at},
	}
	if diff := cmp.Diff(want, sessionsOf(Fire{Schedule: "cloud-nightly", Zone: "UTC", At: at})); diff != "" {
		t.Errorf("Sessions (-want +got):\n%s", diff)
	}
	ny := utc("2026-03-10T06:00:00Z")
	got := sessionsOf(Fire{Schedule: "cloud-nightly", Zone: "America/New_York", At: ny})
	require.Len(t, got, 1)
	require.Equal(t, "tenant:contoso", got[0].Computer)
	require.True(t, got[0].FullMaintenance())

	// The schedule's own zone, with each tenant's jitter.
	london := utc("2026-03-10T06:30:00Z")
	s, _ := p.Schedule("cloud-initech")
	j := s.Jitter("tenant:initech", london)
	want = []Session{{Key: "cloud-initech/2026-03-10T06:30:00Z/tenant:initech", Schedule: "cloud-initech", Fire: london, Zone: "Europe/London",
		Computer: "tenant:initech", Jitter: j, DetectAt: london.Add(j), ExecuteAt: london.Add(j)}}
	if diff := cmp.Diff(want, sessionsOf(Fire{Schedule: "cloud-initech", Zone: "Europe/London", At: london})); diff != "" {
		t.Errorf("Sessions (-want +got):\n%s", diff)
	}
	_, err = p.Sessions(ctx, Fire{Schedule: "cloud-nightly", Zone: "UTC", At: utc("2026-03-10T02:30:00Z")})
	require.ErrorIs(t, err, immy.ErrInvalid, "not one of its fires")
}

// A fleet of tenants alone: a tenant schedule fires in UTC for the tenants
// without a zone.
func TestPlannerTenantsOnly(t *testing.T) {
	ctx := context.Background()
	f := &immy.Fleet{Tenants: []immy.Tenant{{ID: "a"}, {ID: "b", TimeZone: "Asia/Tokyo"}},
		Schedules: []immy.Schedule{{ID: "cloud", Cron: "0 2 * * *", Target: immy.Target{Type: immy.TargetAllTenants}}}}
	p := newPlanner(t, f, Config{})
	zones, err := p.Zones(ctx, "cloud")
	require.NoError(t, err)
	require.Equal(t, []string{"Asia/Tokyo", "UTC"}, zones)
	for _, tt := range []struct {
		zone, at, tenant string
	}{{"UTC", "2026-03-10T02:00:00Z", "tenant:a"}, {"Asia/Tokyo", "2026-03-09T17:00:00Z", "tenant:b"}} {
		ss, err := p.Sessions(ctx, Fire{Schedule: "cloud", Zone: tt.zone, At: utc(tt.at)})
		require.NoError(t, err, tt.zone)
		require.Len(t, ss, 1, tt.zone)
		require.Equal(t, tt.tenant, ss[0].Computer)
	}
}
