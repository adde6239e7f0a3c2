package immytest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/immytest"
	"github.com/immyoss/engine/targets"
)

// filterShapes counts the filter targets of f: filtered deployments, their
// distinct sources, the Lua ones, and the forms that leave the plainest
// paths (named in the counts' keys).
func filterShapes(f *immy.Fleet) map[string]int {
	n := map[string]int{}
	seen := map[string]bool{}
	for _, d := range f.Deployments {
		t := d.Target
		if t.Type != immy.TargetFilter {
			continue
		}
		n["filtered"]++
		src := t.Expr
		if t.Lua != "" {
			src = "lua:" + t.Lua
			n["lua"]++
			for form, mark := range map[string]string{
				"lua local": "local ", "lua for": "for ", "lua ipairs": "ipairs(", "lua #": "#",
				"lua tonumber": "tonumber(", "lua string.": "string.", "lua method": ":sub(",
				"lua multi-line": "\n",
			} {
				if strings.Contains(t.Lua, mark) {
					n[form]++
				}
			}
		} else {
			for form, mark := range map[string]string{"expr any": "any(", "expr all": "all(", "expr int": "int(", "expr count": "count("} {
				if strings.Contains(t.Expr, mark) {
					n[form]++
				}
			}
		}
		if !seen[src] {
			seen[src] = true
			n["distinct"]++
		}
	}
	return n
}

// TestFleetScaleFilters: FleetScale's deployments target by filter as MSPs
// write filters: over a third of them, most sources distinct, a quarter or so
// Lua in the shapes people write; FleetScaleUniform keeps the old shape (few
// sources).
func TestFleetScaleFilters(t *testing.T) {
	cfg := immytest.FleetScale(100_000)
	cfg.Computers = 3_000 // the 5,000 deployments and 2,000 tenants of 100k, fewer computers
	f := immytest.Generate(cfg)
	require.Len(t, f.Deployments, 5_000)
	n := filterShapes(f)
	t.Logf("%v", n)
	require.GreaterOrEqual(t, 3*n["filtered"], len(f.Deployments), "a third of the deployments filtered")
	require.GreaterOrEqual(t, 10*n["distinct"], 8*n["filtered"], "most sources distinct")
	require.GreaterOrEqual(t, 5*n["lua"], n["filtered"], "a fifth or more Lua")
	for _, form := range []string{"lua local", "lua for", "lua ipairs", "lua #", "lua tonumber", "lua string.", "lua method", "lua multi-line"} {
		require.GreaterOrEqual(t, 10*n[form], n["lua"], "%s in a tenth of the Lua filters or more", form)
	}
	for _, form := range []string{"expr any", "expr all", "expr int", "expr count"} {
		require.GreaterOrEqual(t, 40*n[form], n["filtered"]-n["lua"], "%s in a fortieth of the expr filters or more", form)
	}

	u := immytest.Generate(immytest.FleetScaleUniform(100_000))
	nu := filterShapes(u)
	require.LessOrEqual(t, nu["distinct"], 16, "the uniform shape draws from few sources")
	require.Less(t, 10*nu["filtered"], len(u.Deployments)*2, "the uniform shape filters few deployments")
}

// TestGeneratedFiltersRun: every filter of a FleetScale fleet compiles, and
// runs on every computer of its scope without an error.
func TestGeneratedFiltersRun(t *testing.T) {
	cfg := immytest.FleetScale(100_000)
	cfg.Computers = 3_000
	f := immytest.Generate(cfg)
	require.Empty(t, targets.CheckFilters(f))
	ix, err := targets.NewIndex(f, targets.Config{})
	require.NoError(t, err)
	m, err := ix.Compile(f.Deployments)
	require.NoError(t, err)
	// the budget of a Lua run is the deadline's: the default (100 ms) is
	// tight for a loaded machine running the race detector
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	selected := 0
	for i, d := range f.Deployments {
		if d.Target.Type != immy.TargetFilter {
			continue
		}
		cs, err := m.Resolve(ctx, i)
		require.NoError(t, err, "deployment %s", d.ID)
		if len(cs) > 0 {
			selected++
		}
	}
	n := filterShapes(f)["filtered"]
	// 3,000 computers over 2,000 tenants: many a customer's filter finds
	// none of its one or two computers; at 100,000 most do
	require.GreaterOrEqual(t, 4*selected, n, "a quarter of the filters select a computer (%d of %d)", selected, n)
}
