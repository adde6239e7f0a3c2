package console

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestCharts(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	rows := []sessionRow{
		{ID: "a", Computer: "pc1", Status: "failed", Updated: "2026-12-05T10:00:00Z"},
		{ID: "b", Computer: "pc1", Status: "passed", Updated: "2026-12-06 09:00:00.123 +0000 UTC"},
		{ID: "c", Computer: "pc2", Status: "passed", Updated: "2026-12-06T11:00:00Z"},
		{ID: "d", Computer: "pc3", Status: "cancelled", Updated: "2026-12-07T08:00:00Z"},
		{ID: "e", Computer: "pc3", Status: "running", Updated: "2026-12-07T09:00:00Z"},
		{ID: "f", Computer: "hidden", Status: "failed", Updated: "2026-12-07T09:00:00Z"},
		{ID: "g", Computer: "pc1", Status: "passed", Updated: "2026-11-01T09:00:00Z"}, // before the window
	}
	tenantOf := map[string]string{"pc1": "acme", "pc2": "acme", "pc3": "bolt"}
	cs := chartsOf(rows, tenantOf, now)
	out := string(cs.outcomes)
	for _, want := range []string{"2026-12-05: 1 failed", "2026-12-06: 2 passed", "2026-12-07: 1 cancelled", "2026-12-07: 1 failed"} {
		require.Contains(t, out, want)
	}
	require.NotContains(t, out, "running")
	comp := string(cs.compliance)
	// acme: pc1 failed on the 5th (0%), pc1 and pc2 passed on the 6th (100%)
	require.Contains(t, comp, "<title>acme</title>")
	require.Contains(t, comp, "<title>bolt</title>")
	require.NotContains(t, comp, "hidden", "a computer the token cannot see is left out")
	acme := comp[strings.Index(comp, `points="`):]
	acme = acme[:strings.Index(acme, `"><title>acme`)]
	pts := strings.Fields(strings.TrimPrefix(acme, `points="`))
	// pc1 passed on 2026-11-01 before the window: 100% from the first day,
	// 0% on the 5th, 100% from the 6th
	require.Len(t, pts, chartDays)
	top, bottom := padT, padT+plotH
	require.True(t, strings.HasSuffix(pts[0], ","+strconv.Itoa(top)), pts[0])
	require.True(t, strings.HasSuffix(pts[chartDays-3], ","+strconv.Itoa(bottom)), pts[chartDays-3])
	require.True(t, strings.HasSuffix(pts[chartDays-2], ","+strconv.Itoa(top)), pts[chartDays-2])
	// deterministic
	require.Equal(t, cs, chartsOf(rows, tenantOf, now))
	// escaped names
	esc := chartsOf([]sessionRow{{Computer: "x", Status: "passed", Updated: "2026-12-07"}}, map[string]string{"x": `<script>`}, now)
	require.NotContains(t, string(esc.compliance), "<script>")
}
