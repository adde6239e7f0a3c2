package console_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// client is a browser without a browser: a cookie jar and the test server's
// TLS configuration.
func client(t *testing.T, e *env) *http.Client {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	cl := e.srv.Client()
	cl.Jar = jar
	return cl
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

func get(t *testing.T, cl *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := cl.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func post(t *testing.T, cl *http.Client, u string, form url.Values) (int, string, *http.Response) {
	t.Helper()
	resp, err := cl.PostForm(u, form)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp
}

// signIn signs cl in with the token and returns the session's CSRF token.
func signIn(t *testing.T, e *env, cl *http.Client, token string) string {
	t.Helper()
	code, body := get(t, cl, e.url("/console/signin"))
	require.Equal(t, 200, code)
	m := csrfRE.FindStringSubmatch(body)
	require.NotNil(t, m, body)
	code, body, _ = post(t, cl, e.url("/console/signin"), url.Values{"csrf": {m[1]}, "token": {token}, "next": {"/console/fleet"}})
	require.Equal(t, 200, code, body)
	require.Contains(t, body, "<h1>Fleet</h1>")
	m = csrfRE.FindStringSubmatch(body)
	require.NotNil(t, m)
	return m[1]
}

func TestSignInCookieAndCSRF(t *testing.T) {
	e := newEnv(t)
	cl := client(t, e)

	// signed out: pages send to the sign-in page
	code, body := get(t, cl, e.url("/console/fleet"))
	require.Equal(t, 200, code)
	require.Contains(t, body, "Sign in to the immy console")

	// the sign-in form without its CSRF token is refused
	code, _, _ = post(t, cl, e.url("/console/signin"), url.Values{"token": {e.tokens["admin"]}})
	require.Equal(t, http.StatusForbidden, code)

	// a wrong token is refused, and says so
	_, body = get(t, cl, e.url("/console/signin"))
	m := csrfRE.FindStringSubmatch(body)
	code, body, _ = post(t, cl, e.url("/console/signin"), url.Values{"csrf": {m[1]}, "token": {"immyapi_nope_0000"}})
	require.Equal(t, http.StatusUnauthorized, code)
	require.Contains(t, body, "not valid")

	// the session cookie's attributes
	_, body = get(t, cl, e.url("/console/signin"))
	m = csrfRE.FindStringSubmatch(body)
	noRedirect := *cl
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	code, _, resp := post(t, &noRedirect, e.url("/console/signin"), url.Values{"csrf": {m[1]}, "token": {e.tokens["admin"]}, "next": {"https://evil.example/"}})
	require.Equal(t, http.StatusSeeOther, code)
	require.Equal(t, "/console/fleet", resp.Header.Get("Location"), "a redirect after sign-in stays in the console")
	var session *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "immy_console" && ck.Value != "" {
			session = ck
		}
	}
	require.NotNil(t, session)
	require.True(t, session.HttpOnly)
	require.True(t, session.Secure)
	require.Equal(t, http.SameSiteStrictMode, session.SameSite)
	require.NotContains(t, session.Value, "immyapi_", "the cookie is a session id, not the API token")

	// signed in, a form without the session's CSRF token is refused
	_, body = get(t, cl, e.url("/console/fleet"))
	require.Contains(t, body, "<h1>Fleet</h1>")
	csrf := csrfRE.FindStringSubmatch(body)[1]
	code, _, _ = post(t, cl, e.url("/console/computers/other-pc/sessions"), url.Values{"kind": {"detection-only"}})
	require.Equal(t, http.StatusForbidden, code)
	code, _, _ = post(t, cl, e.url("/console/computers/other-pc/sessions"), url.Values{"kind": {"detection-only"}, "csrf": {forged(csrf)}})
	require.Equal(t, http.StatusForbidden, code)
	code, body, _ = post(t, cl, e.url("/console/computers/other-pc/sessions"), url.Values{"kind": {"detection-only"}, "csrf": {csrf}})
	require.Equal(t, 200, code)
	require.Contains(t, body, "<h1>Session ")

	// sign out ends the session: the old cookie no longer works
	code, body, _ = post(t, cl, e.url("/console/signout"), url.Values{"csrf": {csrf}})
	require.Equal(t, 200, code)
	require.Contains(t, body, "Sign in to the immy console")
	req, _ := http.NewRequest("GET", e.url("/console/fleet"), nil)
	req.AddCookie(&http.Cookie{Name: "immy_console", Value: session.Value})
	resp, err := noRedirect.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
}

func TestTenantUserSeesOnlyItsTenant(t *testing.T) {
	e := newEnv(t)
	cl := client(t, e)
	signIn(t, e, cl, e.tokens["lab"])
	code, body := get(t, cl, e.url("/console/fleet"))
	require.Equal(t, 200, code)
	require.NotContains(t, body, "other-pc")
	require.NotContains(t, body, "Other PC")
	for _, p := range []string{"/console/computers/other-pc", "/console/deployments", "/console/deployments/quick-latest", "/console/integrations"} {
		code, body = get(t, cl, e.url(p))
		require.Equal(t, http.StatusNotFound, code, p)
		require.NotContains(t, body, "Other PC", p)
	}
	code, _ = get(t, cl, e.url("/console/audit?tenant=other"))
	require.Equal(t, 200, code, "the audit page shows the token's own tenant whatever is asked")
	_, body = get(t, cl, e.url("/console/audit?tenant=other"))
	require.Contains(t, body, "Changes to the fleet of lab")
}

func TestFilterCompileRoute(t *testing.T) {
	e := newEnv(t)
	cl := client(t, e)
	csrf := signIn(t, e, cl, e.tokens["tech"])
	for _, tc := range []struct{ lang, src, want string }{
		{"expr", `computer.name == "x"`, `{"ok":true}`},
		{"expr", `computer.name == `, `"line":1,"column"`},
		{"expr", `computer.nosuch == "x"`, `"line":1,"column"`},
		{"lua", `return computer.name == "x"`, `{"ok":true}`},
		{"lua", "return (", `"line":1`},
		{"cobol", "x", `unknown language`},
	} {
		req, _ := http.NewRequest("POST", e.url("/console/filter"), strings.NewReader(`{"language":"`+tc.lang+`","source":`+strconvQuote(tc.src)+`}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-CSRF-Token", csrf)
		resp, err := cl.Do(req)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, 200, resp.StatusCode)
		require.Contains(t, string(b), tc.want, "%s %q", tc.lang, tc.src)
	}
	// without the CSRF header: refused
	req, _ := http.NewRequest("POST", e.url("/console/filter"), strings.NewReader(`{"language":"expr","source":"true"}`))
	resp, err := cl.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
}

// forged is the CSRF token with its first digit changed (never the same).
func forged(csrf string) string {
	if csrf[0] == '0' {
		return "1" + csrf[1:]
	}
	return "0" + csrf[1:]
}

func strconvQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

func TestPostponeAndCancel(t *testing.T) {
	e := newEnv(t)
	cl := client(t, e)
	csrf := signIn(t, e, cl, e.tokens["tech"])
	// other-pc has no agent: its session waits for it
	code, body, resp := post(t, cl, e.url("/console/computers/other-pc/sessions"), url.Values{"kind": {"full"}, "csrf": {csrf}})
	require.Equal(t, 200, code, body)
	require.Contains(t, body, `id="cancel"`)
	require.Contains(t, body, `id="output"`, "a running session's page follows its output")
	session := resp.Request.URL.Path
	require.True(t, strings.HasPrefix(session, "/console/sessions/"), session)

	code, body, _ = post(t, cl, e.url(session+"/postpone"), url.Values{"csrf": {csrf}, "until": {"not a time"}})
	require.Equal(t, 200, code)
	require.Contains(t, body, "Postpone: the time is not valid")
	code, body, _ = post(t, cl, e.url(session+"/postpone"), url.Values{"csrf": {csrf}})
	require.Equal(t, 200, code)
	require.Contains(t, body, "Postponement asked.")
	code, body, _ = post(t, cl, e.url(session+"/cancel"), url.Values{"csrf": {csrf}})
	require.Equal(t, 200, code)
	require.Contains(t, body, "Cancellation asked.")
	require.Eventually(t, func() bool {
		_, body := get(t, cl, e.url(session+"/live"))
		return strings.Contains(body, `data-final="true"`)
	}, 60*time.Second, 200*time.Millisecond, "the session ends")
	_, body = get(t, cl, e.url(session))
	require.NotContains(t, body, `id="cancel"`, "an ended session has no controls")
	require.Regexp(t, `<strong id="status" data-final="true">(cancelled|postponed)</strong>`, body)

	// an unknown verb, and another tenant-user's view of it
	code, _, _ = post(t, cl, e.url(session+"/explode"), url.Values{"csrf": {csrf}})
	require.Equal(t, http.StatusNotFound, code)
	lab := client(t, e)
	signIn(t, e, lab, e.tokens["lab"])
	code, _ = get(t, lab, e.url(session))
	require.Equal(t, http.StatusNotFound, code, "a lab tenant-user cannot see another tenant's session")
	code, _ = get(t, lab, e.url(session+"/live"))
	require.Equal(t, http.StatusNotFound, code)
	code, _ = get(t, lab, e.url(session+"/output"))
	require.Equal(t, http.StatusNotFound, code)
}

// TestNoItemToRunAlone: a computer that nothing is deployed to offers no
// single-item session (an empty choice beside a button), and says why.
func TestNoItemToRunAlone(t *testing.T) {
	e := newEnv(t)
	cl := client(t, e)
	signIn(t, e, cl, e.tokens["admin"])
	code, body := get(t, cl, e.url("/console/computers/other-pc"))
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, "Nothing is deployed to this computer.")
	require.NotContains(t, body, `id="start-item"`)
	require.Contains(t, body, `id="no-item"`)
	require.Contains(t, body, `id="start-full"`, "the other sessions are still offered")
}
