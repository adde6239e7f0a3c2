package links

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/session/notify"
)

var now = time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)

// TestRefusals: what the handler refuses before it looks a session up. A
// session's postponement and cancellation through a link are tested end to
// end with the server (TestNotificationLinks).
func TestRefusals(t *testing.T) {
	signer := notify.Signer{Key: []byte("0123456789abcdef0123456789abcdef")}
	expired, err := signer.Sign(notify.Link{Session: "s1", Computer: "pc1", Action: notify.LinkPostpone, Expires: now.Add(-time.Second)})
	require.NoError(t, err)
	valid, err := signer.Sign(notify.Link{Session: "s1", Computer: "pc1", Action: notify.LinkPostpone, Expires: now.Add(time.Hour)})
	require.NoError(t, err)
	other, err := notify.Signer{Key: []byte("another key of thirty-two bytes!!")}.Sign(notify.Link{Session: "s1", Computer: "pc1", Action: notify.LinkDecline, Expires: now.Add(time.Hour)})
	require.NoError(t, err)
	h := &Handler{Signer: signer, Now: func() time.Time { return now }}
	tests := []struct {
		name, method, target, body string
		status                     int
		says, token                string
	}{
		{name: "another path", method: "GET", target: "/notify/linkx?t=" + valid, status: 404, says: "no such link", token: valid},
		{name: "a PUT", method: "PUT", target: Path + "?t=" + valid, status: 405, says: "Open the link in a browser", token: valid},
		{name: "no token", method: "GET", target: Path, status: 400, says: "not valid"},
		{name: "garbage", method: "GET", target: Path + "?t=garbage", status: 400, says: "not valid"},
		{name: "another key", method: "POST", target: Path, body: url.Values{"t": {other}}.Encode(), status: 400, says: "not valid", token: other},
		{name: "expired GET", method: "GET", target: Path + "?t=" + expired, status: 410, says: "expired", token: expired},
		{name: "expired POST", method: "POST", target: Path, body: url.Values{"t": {expired}}.Encode(), status: 410, says: "expired", token: expired},
		{name: "a POST too large", method: "POST", target: Path, body: "t=" + strings.Repeat("a", maxForm+1), status: 400, says: "could not be read"},
		{name: "the token in the query of a POST is not read", method: "POST", target: Path + "?t=" + valid, status: 400, says: "not valid", token: valid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.target, strings.NewReader(tt.body))
			if tt.body != "" {
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			require.Equal(t, tt.status, w.Code, w.Body.String())
			require.Contains(t, w.Body.String(), tt.says)
			require.Equal(t, "text/html; charset=utf-8", w.Header().Get("Content-Type"))
			require.Equal(t, "no-store", w.Header().Get("Cache-Control"))
			if tt.token != "" {
				require.NotContains(t, w.Body.String(), tt.token, "the page does not show the token")
			}
		})
	}
}
