package api

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/session"
)

type sse struct {
	ID   int64
	Type string
}

// parseSSE reads the events of a stream's body (comments skipped).
func parseSSE(t *testing.T, b []byte) []sse {
	t.Helper()
	var out []sse
	for _, block := range strings.Split(string(b), "\n\n") {
		var ev sse
		seen := false
		for _, line := range strings.Split(block, "\n") {
			switch {
			case strings.HasPrefix(line, "id: "):
				n, err := strconv.ParseInt(strings.TrimPrefix(line, "id: "), 10, 64)
				require.NoError(t, err, line)
				ev.ID, seen = n, true
			case strings.HasPrefix(line, "event: "):
				ev.Type = strings.TrimPrefix(line, "event: ")
			}
		}
		if seen {
			out = append(out, ev)
		}
	}
	return out
}

// TestEventStreams: a session's stream gives its records in order, each
// id its Seq, and ends with "end" once the session has ended; resumed
// after an id it gives only what came later. The fleet stream's ids rise;
// resumed after one it gives exactly the rest.
func TestEventStreams(t *testing.T) {
	e := newEnv(t)
	require.Equal(t, 202, e.do(t, "admin", "POST", "/api/sessions/"+e.fabSession+"/cancel", "", nil))
	require.Eventually(t, func() bool {
		var rep session.Report
		return e.do(t, "admin", "GET", "/api/sessions/"+e.fabSession, "", &rep) == 200 && rep.Status.Final()
	}, 15*time.Second, 50*time.Millisecond)

	code, b := e.stream(t, "admin", "/api/sessions/"+e.fabSession+"/events")
	require.Equal(t, 200, code)
	all := parseSSE(t, b)
	require.GreaterOrEqual(t, len(all), 3, "%s", b)
	for i, ev := range all[:len(all)-1] {
		require.EqualValues(t, i+1, ev.ID, "the records in order: %s", b)
	}
	last := all[len(all)-1]
	require.Equal(t, sse{ID: int64(len(all) - 1), Type: "end"}, last, "the stream ends once the session has")
	require.Equal(t, "status", all[len(all)-2].Type)

	code, b = e.stream(t, "admin", "/api/sessions/"+e.fabSession+"/events?after=1")
	require.Equal(t, 200, code)
	require.Equal(t, all[1:], parseSSE(t, b), "resumed after 1")
	// resumed past the final status: the end, at once
	end := strconv.FormatInt(last.ID, 10)
	code, b = e.stream(t, "admin", "/api/sessions/"+e.fabSession+"/events?after="+end)
	require.Equal(t, 200, code)
	require.Equal(t, []sse{last}, parseSSE(t, b), "resumed after %s", end)

	code, b = e.stream(t, "admin", "/api/events?after=0")
	require.Equal(t, 200, code)
	fleet := parseSSE(t, b)
	require.Greater(t, len(fleet), len(all)-1, "both sessions' records: %s", b)
	for i := 1; i < len(fleet); i++ {
		require.Greater(t, fleet[i].ID, fleet[i-1].ID, "the fleet's ids rise")
	}
	mid := fleet[len(fleet)/2].ID
	code, b = e.stream(t, "admin", "/api/events?after="+strconv.FormatInt(mid, 10))
	require.Equal(t, 200, code)
	require.Equal(t, fleet[len(fleet)/2+1:], parseSSE(t, b), "resumed after %d", mid)

	code, _ = e.stream(t, "admin", "/api/events?after=-1")
	require.Equal(t, 422, code)
}
