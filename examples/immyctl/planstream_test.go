package main

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/fleetfile"
	"github.com/immyoss/engine/immy/immytest"
	"github.com/immyoss/engine/resolver"
	"github.com/immyoss/engine/targets"
)

// writePlan renders a whole plan and its totals, as immyctl plan wrote it
// before it streamed: in text, a last block; in JSON, a last field
// "totals". streamPlan is pinned to it.
func writePlan(w *bytes.Buffer, plan *resolver.Plan, t planTotals, format string) error {
	if format == "json" {
		var doc bytes.Buffer
		if err := plan.WriteJSON(&doc); err != nil {
			return err
		}
		b, err := withJSONField(doc.Bytes(), "totals", t)
		if err != nil {
			return err
		}
		w.Write(b)
		return nil
	}
	if err := plan.WriteText(w); err != nil {
		return err
	}
	t.writeText(w)
	return nil
}

func plannerOf(t *testing.T, f *immy.Fleet) *resolver.Planner {
	t.Helper()
	cat, err := resolver.NewCatalogue(f)
	require.NoError(t, err)
	ix, err := targets.NewIndex(f, targets.Config{At: f.At})
	require.NoError(t, err)
	p, err := resolver.NewPlanner(ix, cat, resolver.Config{At: f.At})
	require.NoError(t, err)
	return p
}

// The plan streamed is the whole plan written, byte for byte, with the same
// totals and problems: on the bundled fleet and on a generated one larger
// than a window of PlanEach (8,192 computers), of every computer or one
// tenant's, in JSON and in text, planned whole or streamed past holdAtMost.
func TestStreamPlanEqualsWholePlan(t *testing.T) {
	ctx := context.Background()
	bundled, err := loadFleet("", nil)
	require.NoError(t, err)
	gen := immytest.Generate(immytest.GenConfig{Seed: 7, Tenants: 40, Computers: 9000})
	for _, fc := range []struct {
		name string
		f    *immy.Fleet
	}{{"bundled", bundled.Fleet}, {"generated", gen}} {
		p := plannerOf(t, fc.f)
		for _, s := range []resolver.Session{{}, {Kind: resolver.OnboardingSession}} {
			whole, err := p.Plan(ctx, s)
			require.NoError(t, err)
			tenant := fc.f.Computers[0].Tenant
			ids := computersOf(fc.f, tenant)
			part := &resolver.Plan{At: whole.At, Session: whole.Session}
			for _, id := range ids {
				cp, ok := whole.Computer(id)
				require.True(t, ok)
				part.Computers = append(part.Computers, *cp)
			}
			for _, format := range []string{"json", "text"} {
				for _, c := range []struct {
					name string
					ids  []string
					plan *resolver.Plan
				}{{"whole", nil, whole}, {"tenant", ids, part}} {
					var want bytes.Buffer
					require.NoError(t, writePlan(&want, c.plan, totalsOf(c.plan, fc.f), format))
					var got bytes.Buffer
					problems, err := streamPlan(ctx, &got, p, fc.f, c.ids, s, format)
					require.NoError(t, err)
					name := strings.Join([]string{fc.name, s.Kind.String(), format, c.name}, "/")
					require.Empty(t, cmp.Diff(want.String(), got.String()), name)
					require.Equal(t, problemTexts(c.plan.Problems()), problemTexts(problems), name)
				}
			}
		}
	}
}

func problemTexts(ps []resolver.Problem) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Error())
	}
	return out
}

// holdBack passes on all but the last n bytes, however the writes come.
func TestHoldBack(t *testing.T) {
	doc := []byte(strings.Repeat("0123456789", 50) + jsonEnd)
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		var out bytes.Buffer
		h := &holdBack{w: &out, n: len(jsonEnd)}
		for rest := doc; len(rest) > 0; {
			k := min(len(rest), r.IntN(9))
			n, err := h.Write(rest[:k])
			require.NoError(t, err)
			require.Equal(t, k, n)
			rest = rest[k:]
		}
		require.Equal(t, string(doc[:len(doc)-len(jsonEnd)]), out.String())
		require.Equal(t, jsonEnd, string(h.tail))
	}
}

// writeLog records each write to it, and fails from the write that would
// take it past failAt bytes (0: never).
type writeLog struct {
	bytes.Buffer
	writes int
	failAt int
}

var errFull = errors.New("disk full")

func (w *writeLog) Write(b []byte) (int, error) {
	if w.failAt > 0 && w.Len()+len(b) > w.failAt {
		return 0, errFull
	}
	w.writes++
	return w.Buffer.Write(b)
}

// A plan past holdAtMost streams (it is written in parts, the same bytes);
// one within it is written once, complete. A write that fails ends the
// command with status 1 and the error, whichever way.
func TestPlanStreamsPastHoldAtMost(t *testing.T) {
	f := immytest.Generate(immytest.GenConfig{Seed: 3, Tenants: 10, Computers: 600, At: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)})
	var src bytes.Buffer
	require.NoError(t, fleetfile.Write(&src, f))
	path := writeFleet(t, src.String())
	for _, format := range []string{"json", "text"} {
		args := []string{"plan", "-f", path, "--format", format}
		var whole writeLog
		require.Equal(t, exitOK, run(args, &whole, &bytes.Buffer{}))
		require.Equal(t, 1, whole.writes, "%s: a plan within holdAtMost is written once", format)
		require.Greater(t, whole.Len(), 64<<10, "the plan is large enough to stream")
		failing := writeLog{failAt: 100}
		var errb bytes.Buffer
		require.Equal(t, exitFailure, run(args, &failing, &errb), format)
		require.Equal(t, "immyctl plan: "+errFull.Error()+"\n", errb.String())
		require.Zero(t, failing.Len())

		func() {
			defer func(n int) { holdAtMost = n }(holdAtMost)
			holdAtMost = 4096
			var streamed writeLog
			require.Equal(t, exitOK, run(args, &streamed, &bytes.Buffer{}))
			require.Greater(t, streamed.writes, 1, "%s: a plan past holdAtMost streams", format)
			require.Equal(t, whole.String(), streamed.String(), format)

			for _, failAt := range []int{100, 3 * whole.Len() / 4} {
				failing := writeLog{failAt: failAt}
				var errb bytes.Buffer
				require.Equal(t, exitFailure, run(args, &failing, &errb), "%s: failing at %d", format, failAt)
				require.Contains(t, errb.String(), "immyctl plan: ")
				require.Contains(t, errb.String(), errFull.Error())
				require.Equal(t, 1, strings.Count(errb.String(), "\n"), errb.String())
			}
		}()
	}
}
