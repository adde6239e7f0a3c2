package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// openStream opens an event stream as role and returns the answer, its
// body left open (closed with the test).
func openStream(t *testing.T, e *env, srv *httptest.Server, ctx context.Context, role, path string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, "GET", srv.URL+path, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+e.tokens[role])
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// TestStreamLimit: a token holds at most 4 open event streams; a 5th is 429
// with the one error shape; another token is not held back by it; a stream
// closed gives its place back.
func TestStreamLimit(t *testing.T) {
	e := newEnv(t)
	srv := httptest.NewServer(e.h)
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	paths := []string{"/api/events", "/api/sessions/" + e.fabSession + "/events", "/api/events?tenant=contoso", "/api/events"}
	var open []*http.Response
	for _, p := range paths {
		resp := openStream(t, e, srv, ctx, "tech", p)
		require.Equal(t, 200, resp.StatusCode, p)
		open = append(open, resp)
	}
	doc := newResponseSchemas(t, e)
	for _, p := range []struct{ path, route string }{
		{"/api/events", "/api/events"},
		{"/api/sessions/" + e.fabSession + "/events", "/api/sessions/{id}/events"},
	} {
		resp := openStream(t, e, srv, ctx, "tech", p.path)
		require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, p)
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		var er Error
		require.NoError(t, json.Unmarshal(b, &er))
		require.Equal(t, CodeTooMany, er.Code)
		require.NotEmpty(t, er.Message)
		// the OpenAPI document declares the 429, with the error shape
		doc.check(t, "GET", p.route, http.StatusTooManyRequests, b)
	}
	resp := openStream(t, e, srv, ctx, "admin", "/api/events")
	require.Equal(t, 200, resp.StatusCode, "another token has its own places")

	open[0].Body.Close() // the server sees the stream end at its next write or poll
	require.Eventually(t, func() bool {
		rctx, rcancel := context.WithCancel(ctx)
		defer rcancel()
		req, _ := http.NewRequestWithContext(rctx, "GET", srv.URL+"/api/events", nil)
		req.Header.Set("Authorization", "Bearer "+e.tokens["tech"])
		r, err := srv.Client().Do(req)
		if err != nil {
			return false
		}
		defer r.Body.Close()
		return r.StatusCode == 200
	}, 10*time.Second, 100*time.Millisecond, "a closed stream gives its place back")

	var l StreamLimit
	l.PerToken, l.Total = 2, 3
	r1, ok := l.Acquire("a")
	require.True(t, ok)
	_, ok = l.Acquire("a")
	require.True(t, ok)
	_, ok = l.Acquire("a")
	require.False(t, ok, "per token")
	_, ok = l.Acquire("b")
	require.True(t, ok)
	_, ok = l.Acquire("c")
	require.False(t, ok, "overall")
	r1()
	r1() // twice is once
	_, ok = l.Acquire("c")
	require.True(t, ok)
	_, ok = l.Acquire("d")
	require.False(t, ok)
}

// TestRevokedTokenStreamEnds: a stream open when its token is revoked ends
// (session and fleet streams alike).
func TestRevokedTokenStreamEnds(t *testing.T) {
	e := newEnv(t)
	var tok struct {
		Token string `json:"token"`
		Info  struct {
			ID string `json:"id"`
		} `json:"info"`
	}
	require.Equal(t, 201, e.do(t, "admin", "POST", "/api/tokens", `{"name":"short","role":"tenant-user","tenant":"contoso"}`, &tok))
	e.tokens["short"] = tok.Token
	srv := httptest.NewServer(e.h)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	fleet := openStream(t, e, srv, ctx, "short", "/api/events")
	require.Equal(t, 200, fleet.StatusCode)
	one := openStream(t, e, srv, ctx, "short", "/api/sessions/"+e.contosoSession+"/events")
	require.Equal(t, 200, one.StatusCode)
	// unrevoked, the same streams stay open
	for _, p := range []string{"/api/events", "/api/sessions/" + e.contosoSession + "/events"} {
		sctx, scancel := context.WithTimeout(ctx, 1500*time.Millisecond)
		resp := openStream(t, e, srv, sctx, "tenant", p)
		require.Equal(t, 200, resp.StatusCode)
		_, err := io.ReadAll(resp.Body)
		scancel()
		require.Error(t, err, "%s stays open till the client leaves", p)
	}
	require.Equal(t, 200, e.do(t, "admin", "DELETE", "/api/tokens/"+tok.Info.ID, "", nil))
	for name, resp := range map[string]*http.Response{"fleet": fleet, "session": one} {
		_, err := io.ReadAll(resp.Body) // ends when the server ends the stream
		require.NoError(t, err, "%s: the stream of a revoked token ends (not the test's deadline)", name)
		require.NoError(t, ctx.Err(), name)
	}
}

// TestStreamOutlivesWriteDeadline: a write's deadline bounds that write,
// not the stream: a stream quiet for longer than it still gets its
// keep-alives (and, when it ends, a clean end of the response), session and
// fleet streams alike. The two durations are shortened for the test.
func TestStreamOutlivesWriteDeadline(t *testing.T) {
	dead, keep := sseDeadTime, sseKeepAli
	sseDeadTime, sseKeepAli = 200*time.Millisecond, 500*time.Millisecond
	t.Cleanup(func() { sseDeadTime, sseKeepAli = dead, keep })
	e := newEnv(t)
	srv := httptest.NewServer(e.h)
	defer srv.Close()
	for _, p := range []string{"/api/sessions/" + e.contosoSession + "/events", "/api/events"} {
		ctx, cancel := context.WithTimeout(context.Background(), 2500*time.Millisecond)
		resp := openStream(t, e, srv, ctx, "admin", p)
		require.Equal(t, 200, resp.StatusCode, p)
		b, err := io.ReadAll(resp.Body)
		cancel()
		require.ErrorIs(t, err, context.DeadlineExceeded, "%s stays open till the client leaves (read %q)", p, b)
		require.GreaterOrEqual(t, strings.Count(string(b), ": keep-alive\n\n"), 3, "%s: keep-alives past the write deadline: %q", p, b)
	}
}
