package console_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRootRedirect: a browser that opens the server's URL is sent to the
// console; an API client gets the API's JSON as before, and no other path
// moves.
func TestRootRedirect(t *testing.T) {
	e := newEnv(t)
	cl := e.srv.Client()
	cl.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	for _, tc := range []struct {
		method, path, accept string
		status               int
		location, body       string
	}{
		{"GET", "/", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", http.StatusSeeOther, "/console/", ""},
		{"HEAD", "/", "text/html", http.StatusSeeOther, "/console/", ""},
		{"GET", "/", "application/xhtml+xml", http.StatusSeeOther, "/console/", ""},
		{"GET", "/", "TEXT/HTML; q=0.5", http.StatusSeeOther, "/console/", ""},
		// not a browser: the API's answer
		{"GET", "/", "", http.StatusNotFound, "", `"code":"not_found"`},
		{"GET", "/", "*/*", http.StatusNotFound, "", `"code":"not_found"`},
		{"GET", "/", "application/json", http.StatusNotFound, "", `"code":"not_found"`},
		{"GET", "/", "text/html;q=0", http.StatusNotFound, "", `"code":"not_found"`},
		{"POST", "/", "text/html", http.StatusNotFound, "", `"code":"not_found"`},
		// the other paths are as they were
		{"GET", "/healthz", "text/html", http.StatusOK, "", `"status":"ok"`},
		{"GET", "/api/openapi.json", "text/html", http.StatusOK, "", `"openapi":"3.1.0"`},
		{"GET", "/nosuch", "text/html", http.StatusNotFound, "", `"code":"not_found"`},
		{"GET", "/console/", "text/html", http.StatusSeeOther, "/console/signin?next=/console/", ""},
	} {
		req, err := http.NewRequest(tc.method, e.url(tc.path), nil)
		require.NoError(t, err)
		if tc.accept != "" {
			req.Header.Set("Accept", tc.accept)
		}
		resp, err := cl.Do(req)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		name := tc.method + " " + tc.path + " Accept: " + tc.accept
		require.Equal(t, tc.status, resp.StatusCode, "%s: %s", name, b)
		require.Equal(t, tc.location, resp.Header.Get("Location"), name)
		require.Contains(t, string(b), tc.body, name)
		if tc.path == "/" && tc.method != "POST" { // both answers of GET / depend on Accept
			require.Contains(t, resp.Header.Values("Vary"), "Accept", name)
		}
	}
}
