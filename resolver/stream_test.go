package resolver

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/immytest"
)

// TestPlanEachAsPlan: PlanEach yields every computer once, by id, each
// plan the same as Plan's, whether the fleet fits one window or several, in
// every kind of session; Planner.WriteJSON writes Plan.WriteJSON's bytes.
func TestPlanEachAsPlan(t *testing.T) {
	cfg := immytest.FleetScale(20_000)
	cfg.Computers = 700
	f := immytest.Generate(cfg)
	p := newPlanner(t, f, Config{})
	adhoc := Session{Kind: AdHocSession}
	for i, it := range p.cat.items {
		if i%4 == 0 {
			adhoc.Named = append(adhoc.Named, it.id)
		}
	}
	defer func(w int) { planWindow = w }(planWindow)
	ctx := context.Background()
	for _, window := range []int{8192, 256, 100} {
		planWindow = window
		for _, s := range []Session{{}, {Kind: OnboardingSession}, adhoc} {
			plan, err := p.Plan(ctx, s)
			require.NoError(t, err)
			i := 0
			for cp, err := range p.PlanEach(ctx, s) {
				require.NoError(t, err)
				require.Less(t, i, len(plan.Computers))
				want := &plan.Computers[i]
				require.Equal(t, want.ID, cp.ID)
				require.Equal(t, want.Excluded, cp.Excluded, cp.ID)
				wa, wl := want.decode(nil, nil)
				ga, gl := cp.decode(nil, nil)
				require.Equal(t, wa, ga, "window %d, %s session, %s", window, s.Kind, cp.ID)
				require.Equal(t, wl, gl, "window %d, %s session, %s", window, s.Kind, cp.ID)
				require.Equal(t, want.Problems(), cp.Problems(), cp.ID)
				i++
			}
			require.Equal(t, len(plan.Computers), i)
			var whole, streamed bytes.Buffer
			require.NoError(t, plan.WriteJSON(&whole))
			require.NoError(t, p.WriteJSON(ctx, &streamed, s))
			require.Equal(t, whole.String(), streamed.String())
		}
	}
}

// TestPlanEachStops: a loop that breaks stops the planning, and one whose
// context is cancelled gets the error once; either way PlanEach leaves no
// goroutine behind. An unknown session is an error before anything is
// planned.
func TestPlanEachStops(t *testing.T) {
	cfg := immytest.FleetScale(20_000)
	cfg.Computers = 2000
	f := immytest.Generate(cfg)
	p := newPlanner(t, f, Config{})
	defer func(w int) { planWindow = w }(planWindow)
	planWindow = 256
	before := runtime.NumGoroutine()

	n := 0
	for cp, err := range p.PlanEach(context.Background(), Session{}) {
		require.NoError(t, err)
		require.NotNil(t, cp)
		if n++; n == 300 {
			break
		}
	}
	require.Equal(t, 300, n)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n, errs := 0, 0
	for cp, err := range p.PlanEach(ctx, Session{}) {
		if err != nil {
			require.ErrorIs(t, err, context.Canceled)
			require.Nil(t, cp)
			errs++
			continue
		}
		if n++; n == 10 {
			cancel()
		}
	}
	require.Equal(t, 1, errs)
	require.Less(t, n, len(f.Computers), "a cancelled plan stops before the end")

	errs = 0
	for _, err := range p.PlanEach(context.Background(), Session{Kind: AdHocSession, Named: []string{"no-such-item"}}) {
		require.ErrorIs(t, err, immy.ErrNotFound)
		errs++
	}
	require.Equal(t, 1, errs)

	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	require.LessOrEqual(t, runtime.NumGoroutine(), before)
}

// errWriter fails every write.
type errWriter struct{}

func (errWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// TestPlanWriterError: a writer's error comes back, by Write once the
// buffer is flushed, else by Close.
func TestPlanWriterError(t *testing.T) {
	f := immytest.Generate(immytest.GenConfig{Seed: 1, Computers: 50})
	plan, err := PlanFleet(context.Background(), f, Config{}, Session{})
	require.NoError(t, err)
	require.ErrorContains(t, plan.WriteJSON(errWriter{}), "disk full")
	pw := NewPlanWriter(errWriter{}, plan.At)
	require.ErrorContains(t, pw.Close(), "disk full")
}
