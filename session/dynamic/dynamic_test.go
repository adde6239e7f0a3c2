package dynamic_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/session/dynamic"
)

const sum1 = "1111111111111111111111111111111111111111111111111111111111111111"
const sum2 = "2222222222222222222222222222222222222222222222222222222222222222"

// vendor serves latest.txt: "VERSION SHA256" lines, newest last.
func vendor(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte("4.1.0 " + sum1 + "\n4.2.0 " + sum2 + "\n"))
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func appWithScript(base string) immy.Software {
	return immy.Software{ID: "app", Name: "App", Versions: []immy.SoftwareVersion{{Version: immy.MustParseVersion("4.0.0")}},
		Dynamic: &immy.DynamicSource{Script: &immy.Script{Language: immy.LanguageLua, Context: immy.ContextMetascript, Body: `
local out = {}
for v, sum in http_get("` + base + `/latest.txt"):gmatch("(%S+)%s+(%x+)") do
	out[#out + 1] = {version = v, url = "` + base + `/app-" .. v .. ".sh", sha256 = sum, file_name = software.id .. "-" .. v .. ".sh"}
end
return out
`}}}
}

func TestMetascriptSourceAndTTL(t *testing.T) {
	srv, hits := vendor(t)
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	c := &dynamic.Cache{TTL: time.Hour, HTTPClient: srv.Client(), Now: func() time.Time { return now }}
	f := &immy.Fleet{Software: []immy.Software{appWithScript(srv.URL), {ID: "static", Versions: []immy.SoftwareVersion{{Version: immy.MustParseVersion("1.0")}}}}}

	got, err := c.Apply(t.Context(), f)
	require.NoError(t, err)
	app := got.Software[0]
	require.Equal(t, "4.2.0", app.Latest().String(), "latest is the newest dynamic version")
	require.Len(t, app.Versions, 3)
	v, ok := app.Version(immy.MustParseVersion("4.2.0"))
	require.True(t, ok)
	require.Equal(t, &immy.Installer{URL: srv.URL + "/app-4.2.0.sh", SHA256: sum2, FileName: "app-4.2.0.sh"}, v.Installer)
	require.Nil(t, f.Software[0].Versions[0].Installer, "the fleet given is not changed")
	require.Len(t, f.Software[0].Versions, 1)
	require.Equal(t, got.Software[1], f.Software[1], "a software without a source is as it was")
	require.EqualValues(t, 1, hits.Load())

	// within the TTL: from the cache, the vendor not asked
	now = now.Add(59 * time.Minute)
	_, err = c.Apply(t.Context(), f)
	require.NoError(t, err)
	require.EqualValues(t, 1, hits.Load())
	require.Equal(t, 1, c.Asked())
	// past it: asked again
	now = now.Add(2 * time.Minute)
	_, err = c.Apply(t.Context(), f)
	require.NoError(t, err)
	require.EqualValues(t, 2, hits.Load())
	require.Equal(t, 2, c.Asked())
}

func TestBadSources(t *testing.T) {
	script := func(body string) immy.Software {
		return immy.Software{ID: "bad", Dynamic: &immy.DynamicSource{Script: &immy.Script{Language: immy.LanguageLua, Body: body}}}
	}
	c := &dynamic.Cache{Timeout: 200 * time.Millisecond}
	for _, tt := range []struct {
		sw   immy.Software
		errs []string
	}{
		{script(`return {{version = "1.0", url = "ftp://x/y", sha256 = "abc"}, {version = "", url = "https://x/y", sha256 = "` + sum1 + `"}, "nope"}`),
			[]string{`[1] 1.0: installer: url "ftp://x/y" is not an http(s) URL`, `sha256 "abc"`, `[2] version ""`, "[3]: not a table"}},
		{script(`return "4.2"`), []string{"returned a string, not a list of versions"}},
		{script(`return http_get("https://x")`), []string{"attempt to call a non-function"}}, // no client: no http_get
		{script(`while true do end`), []string{"dynamic: software \"bad\""}},
		{immy.Software{ID: "ghost", Dynamic: &immy.DynamicSource{Integration: "nowhere"}}, []string{`no integration "nowhere"`}},
	} {
		f := &immy.Fleet{Software: []immy.Software{tt.sw}}
		got, err := c.Apply(t.Context(), f)
		for _, want := range tt.errs {
			require.ErrorContains(t, err, want)
		}
		require.Equal(t, f.Software, got.Software, "a failed source adds nothing")
	}
}

func TestIntegrationSource(t *testing.T) {
	var asked []string
	c := &dynamic.Cache{Integrations: map[string]dynamic.Lister{"rmm": dynamic.ListerFunc(func(_ context.Context, name string) ([]dynamic.Version, error) {
		asked = append(asked, name)
		if name == "broken" {
			return nil, errors.New("vendor API down")
		}
		return []dynamic.Version{{Version: immy.MustParseVersion("2.0"), Installer: immy.Installer{URL: "https://x.example/a.msi", SHA256: strings.ToUpper(sum1)}}}, nil
	})}}
	f := &immy.Fleet{Software: []immy.Software{
		{ID: "a", Dynamic: &immy.DynamicSource{Integration: "rmm", Name: "App A"}},
		{ID: "b", Dynamic: &immy.DynamicSource{Integration: "rmm", Name: "broken"}},
	}}
	got, err := c.Apply(t.Context(), f)
	require.ErrorContains(t, err, `software "b": vendor API down`)
	require.Equal(t, []string{"App A", "broken"}, asked)
	require.Equal(t, "2.0", got.Software[0].Latest().String())
	require.Equal(t, sum1, got.Software[0].Versions[0].Installer.SHA256, "lower case")
	require.Empty(t, got.Software[1].Versions)
}
