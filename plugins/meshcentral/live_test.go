package meshcentral

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/plugins/sdk"
)

// livePlugin configures a Plugin against the server .ci/meshcentral started
// (see server_test.go, whose environment this reads too), skipping without
// one, failing under CI=true.
func livePlugin(t *testing.T, values map[string]string) (*Plugin, map[string]string) {
	t.Helper()
	env := map[string]string{}
	for _, k := range []string{"URL", "USER", "PASSWORD", "LOGIN_KEY", "CA", "NODE", "TECH_USER", "TECH_PASSWORD"} {
		env[k] = os.Getenv("IMMY_TEST_MESHCENTRAL_" + k)
	}
	if env["URL"] == "" || env["NODE"] == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("meshcentral: IMMY_TEST_MESHCENTRAL_URL is not set, and CI=true: run .ci/meshcentral first")
		}
		t.Skip("meshcentral: IMMY_TEST_MESHCENTRAL_URL is not set: no MeshCentral server to test with")
	}
	cfg := map[string]string{KeyURL: env["URL"], KeyUser: env["USER"], KeyCAFile: env["CA"], KeyLoginKey: env["LOGIN_KEY"]}
	for k, v := range values {
		if v == "" {
			delete(cfg, k)
		} else {
			cfg[k] = v
		}
	}
	p := &Plugin{}
	require.NoError(t, p.Configure(t.Context(), sdk.NewConfig("live", cfg, KeyLoginKey, KeyPassword), &sdk.Host{}))
	t.Cleanup(p.Close)
	return p, env
}

// TestReconnect: a control connection the server drops is dialled again by
// the next call.
func TestReconnect(t *testing.T) {
	p, _ := livePlugin(t, nil)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	v, err := p.ServerVersion(ctx)
	require.NoError(t, err)
	require.NotEmpty(t, v)
	for range 3 {
		p.client.mu.Lock()
		s := p.client.sess
		p.client.mu.Unlock()
		require.NotNil(t, s)
		s.ws.CloseNow() // as a dropped network would
		<-s.done
		v2, err := p.ServerVersion(ctx)
		require.NoError(t, err)
		require.Equal(t, v, v2)
	}
}

// TestServerVersion: a site administrator reads the server's version; a
// technician, whom the server console does not answer, gets "" at once.
func TestServerVersion(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	admin, env := livePlugin(t, nil)
	v, err := admin.ServerVersion(ctx)
	require.NoError(t, err)
	require.Regexp(t, `^\d+\.\d+\.\d+$`, v)

	tech, _ := livePlugin(t, map[string]string{KeyLoginKey: "", KeyUser: env["TECH_USER"], KeyPassword: env["TECH_PASSWORD"]})
	v, err = tech.ServerVersion(ctx)
	require.NoError(t, err)
	require.Empty(t, v)
	require.NoError(t, tech.Health(ctx))
}

// TestBadCredentials: a wrong key or password is ErrAuth, and says neither.
func TestBadCredentials(t *testing.T) {
	wrongKey := strings.Repeat("5a", LoginKeySize)
	for name, values := range map[string]map[string]string{
		"key":      {KeyLoginKey: wrongKey},
		"password": {KeyLoginKey: "", KeyPassword: "not-the-password"},
	} {
		t.Run(name, func(t *testing.T) {
			p, _ := livePlugin(t, values)
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			err := p.Health(ctx)
			require.ErrorIs(t, err, ErrAuth)
			require.NotContains(t, err.Error(), wrongKey)
			require.NotContains(t, err.Error(), "not-the-password")
			// after a refused login, calls wait out the backoff, not hammer the server
			start := time.Now()
			require.ErrorIs(t, p.Health(ctx), ErrAuth)
			require.GreaterOrEqual(t, time.Since(start), 400*time.Millisecond)
		})
	}
}

// TestAgentLink: the link logs a browser in to the node's page on the real
// server (MeshCentral serves its device view, not its login page).
func TestAgentLink(t *testing.T) {
	p, env := livePlugin(t, nil)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	pem, err := os.ReadFile(env["CA"])
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(pem))
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	get := func(link string) string {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, link, nil)
		require.NoError(t, err)
		resp, err := client.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return string(b)
	}
	for _, kind := range []sdk.LinkKind{sdk.LinkPage, sdk.LinkRemoteSession} {
		link, err := p.AgentLink(ctx, env["NODE"], kind)
		require.NoError(t, err)
		u, err := url.Parse(link)
		require.NoError(t, err)
		require.Equal(t, strings.TrimPrefix(env["NODE"], "node//"), u.Query().Get("gotonode"))
		want := map[sdk.LinkKind]string{sdk.LinkPage: "10", sdk.LinkRemoteSession: "12"}[kind] // a Linux node with nobody logged on: its terminal
		require.Equal(t, want, u.Query().Get("viewmode"))
		page := get(link)
		require.Contains(t, page, "devListToolbar", "the link did not log in")
		require.NotContains(t, page, "id=loginpanel")
	}
	// without the token, the server asks to log in
	page := get(env["URL"] + "/")
	require.Contains(t, page, "id=loginpanel")

	_, err = p.AgentLink(ctx, "not-a-node", sdk.LinkPage)
	require.ErrorIs(t, err, sdk.ErrNotFound)
}
