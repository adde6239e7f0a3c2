package console_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestOutputStreams: a token follows at most 4 sessions' live output at
// once (a 5th is 429), and a revoked token's live output ends.
func TestOutputStreams(t *testing.T) {
	e := newEnv(t)
	// a token of its own, to revoke
	var tok struct {
		Token string `json:"token"`
		Info  struct {
			ID string `json:"id"`
		} `json:"info"`
	}
	api := func(method, path, body string, out any) int {
		req, err := http.NewRequest(method, e.url(path), strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+e.tokens["admin"])
		req.Header.Set("Content-Type", "application/json")
		resp, err := e.srv.Client().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		if out != nil {
			require.NoError(t, json.NewDecoder(resp.Body).Decode(out))
		}
		return resp.StatusCode
	}
	require.Equal(t, 201, api("POST", "/api/tokens", `{"name":"short","role":"msp-technician"}`, &tok))
	cl := client(t, e)
	csrf := signIn(t, e, cl, tok.Token)
	// other-pc has no agent: its session waits for it
	code, body, resp := post(t, cl, e.url("/console/computers/other-pc/sessions"), url.Values{"kind": {"full"}, "csrf": {csrf}})
	require.Equal(t, 200, code, body)
	output := e.url(resp.Request.URL.Path + "/output")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	open := func() *http.Response {
		req, err := http.NewRequestWithContext(ctx, "GET", output, nil)
		require.NoError(t, err)
		resp, err := cl.Do(req)
		require.NoError(t, err)
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	var streams []*http.Response
	for range 4 {
		r := open()
		require.Equal(t, 200, r.StatusCode)
		streams = append(streams, r)
	}
	require.Equal(t, http.StatusTooManyRequests, open().StatusCode, "a 5th stream of one token")

	require.Equal(t, 200, api("DELETE", "/api/tokens/"+tok.Info.ID, "", nil))
	for i, r := range streams {
		_, err := io.ReadAll(r.Body) // ends when the server ends the stream
		require.NoError(t, err, "stream %d: a revoked token's live output ends (not the test's deadline)", i)
	}
	require.NoError(t, ctx.Err())
}
