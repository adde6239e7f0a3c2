package redact

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
)

const tok = "********"

func TestTransformsHidden(t *testing.T) {
	const secret = "hunter2"
	m := New(tok, secret)
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, tt := range []struct{ name, in, want string }{
		{"plain", "pass=hunter2.", "pass=********."},
		{"upper", "pass=HUNTER2.", "pass=********."},
		{"mixed case", "Hunter2 hUnTeR2", "******** ********"},
		{"twice in a row is one token", "hunter2hunter2", "********"},
		{"base64", "b64=" + b64(secret) + ".", "b64=********."},
		{"base64 url, no padding", "x " + base64.RawURLEncoding.EncodeToString([]byte("\xfb\xff"+secret)) + " y", "x -******** y"}, // -: bits of \xfb only
		{"base64 inside a longer encoding", "auth: Basic " + b64("admin:"+secret), "auth: Basic YWRta********"},                    // YWRta: admin
		{"base64 offset 1", b64("x" + secret + "tail"), "e********0YWls"},                                                          // e and 0YWls: bits of x and tail only
		{"base64 offset 2", b64("xy" + secret), "e********"},
		{"hex", "68756e74657232 68756E74657232", "******** ********"},
		{"url escaped", "q=" + url.QueryEscape(secret), "q=********"},
		{"nothing else touched", "hunter hunter3 aGVsbG8=", "hunter hunter3 aGVsbG8="},
	} {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, m.String(tt.in))
		})
	}
}

// Secrets with characters that escaping changes: every encoder's output is hidden.
func TestEscapedTransformsHidden(t *testing.T) {
	for _, secret := range []string{`p&ss w/rd"<ä>'`, "Grüße+%2F\\\t€𝄞"} {
		m := New(tok, secret)
		goJSON, err := json.Marshal(secret)
		require.NoError(t, err)
		var js strings.Builder
		enc := json.NewEncoder(&js)
		enc.SetEscapeHTML(false)
		require.NoError(t, enc.Encode(secret))
		for _, in := range []string{
			string(goJSON), js.String(),
			strings.Trim(jsonEscape(secret, jsonStyle{ascii: true}), `"`),
			strings.ToUpper(jsonEscape(secret, jsonStyle{ascii: true, slash: true})),
			url.QueryEscape(secret), url.PathEscape(secret), strings.ToLower(url.QueryEscape(secret)),
			strings.ToUpper(secret), strings.ToLower(secret), hex.EncodeToString([]byte(secret)),
			base64.URLEncoding.EncodeToString([]byte(secret)),
		} {
			got := m.String("[" + in + "]")
			require.NotContains(t, got, in, "from %q", in)
			require.Contains(t, got, tok)
		}
	}
}

// Wherever a secret sits in a longer text that is then base64-encoded, no
// character carrying any of its bits stays visible, and characters that
// carry only bits of other bytes are kept (beyond three on each side).
func TestBase64EveryAlignment(t *testing.T) {
	const secret = "s3cr3t-Value"
	m := New(tok, secret)
	for _, e := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding} {
		for pre := range 9 {
			for post := range 9 {
				prefix, suffix := strings.Repeat("P", pre), strings.Repeat("Q", post)
				enc := e.EncodeToString([]byte(prefix + secret + suffix))
				got := m.String(enc)
				first := len(prefix) * 8 / 6                  // first character with a bit of the secret
				last := ((len(prefix)+len(secret))*8 + 5) / 6 // one past the last such
				i := strings.Index(got, tok)
				require.GreaterOrEqual(t, i, 0, "%q", enc)
				require.Equal(t, 1, strings.Count(got, tok), "%q -> %q", enc, got)
				require.LessOrEqual(t, i, first, "prefix %d suffix %d: %q -> %q", pre, post, enc, got)
				require.Equal(t, enc[:i], got[:i])
				rest := got[i+len(tok):]
				require.LessOrEqual(t, len(rest), len(enc)-last, "prefix %d suffix %d: %q -> %q", pre, post, enc, got)
				require.True(t, strings.HasSuffix(enc, rest))
				require.GreaterOrEqual(t, i, first-b64Widen-1, "at most the widening is hidden")
			}
		}
	}
}

func TestLongestAndOverlapping(t *testing.T) {
	m := New("[x]", "abc", "bcdefgh", "")
	require.Equal(t, "1[x]2", m.String("1abcdefgh2"))
	require.Equal(t, []string{"abc", "bcdefgh"}, m.Secrets())
	require.Nil(t, New(tok, "", ""))
	var none *Masker
	require.Equal(t, "abc", none.String("abc"))
	require.Equal(t, "1[x]2[x]", m.With("", "zz").String("1abcZZ2zz"))
}

func TestError(t *testing.T) {
	m := New(tok, "hunter2")
	base := fmt.Errorf("login with HUNTER2: %w", fs.ErrPermission)
	err := m.Error(base)
	require.EqualError(t, err, "login with ********: permission denied")
	require.ErrorIs(t, err, fs.ErrPermission)
	require.True(t, errors.Is(err, base))
	plain := errors.New("nothing secret")
	require.Same(t, plain, m.Error(plain))
	require.NoError(t, m.Error(nil))
}

// stream writes text in chunks of n bytes into a Stream and returns what it passed on.
func stream(m *Masker, text string, n int) (string, int) {
	var b strings.Builder
	s := m.Stream(func(p []byte) { b.Write(p) })
	held := 0
	for i := 0; i < len(text); i += n {
		s.Write([]byte(text[i:min(i+n, len(text))]))
		held = max(held, s.Held())
	}
	s.Close()
	return b.String(), held
}

// However the text is cut into chunks, the stream passes on what String
// makes of the whole, and holds back no more than the longest transform
// and the base64 widening.
func TestStreamMatchesString(t *testing.T) {
	m := New(tok, "hunter2", "Pässwort")
	text := "a hunter2 b HUNTER2 c aHVudGVyMg== d " + base64.StdEncoding.EncodeToString([]byte("xxhunter2yy")) +
		" e P%C3%A4sswort f PÄSSWORT g 68756e74657232 end"
	want := m.String(text)
	require.NotContains(t, want, "unter")
	maxHold := 0
	for _, v := range append(Variants("hunter2"), Variants("Pässwort")...) {
		maxHold = max(maxHold, len(v))
	}
	maxHold += 2 * b64Widen
	for n := 1; n <= len(text); n++ {
		got, held := stream(m, text, n)
		require.Equal(t, want, got, "chunks of %d", n)
		require.LessOrEqual(t, held, maxHold+n, "chunks of %d", n)
	}
	plain, _ := stream(nil, text, 5)
	require.Equal(t, text, plain)
}

func TestVariants(t *testing.T) {
	got := Variants("a b/é")
	want := []string{
		"a b/é", "6120622fc3a9", "a+b%2F%C3%A9", "a%20b%2F%C3%A9", "a%20b%2F%C3%A9", "a%20b%2F%C3%A9",
	}
	_ = want
	for _, v := range []string{"a b/é", "6120622fc3a9", "a+b%2F%C3%A9", "a%20b%2F%C3%A9", `a b/\u00e9`, `a b\/\u00e9`, "YSBiL8Op", "YSBiL8Op"} {
		require.Contains(t, got, v)
	}
	if diff := cmp.Diff(got, Variants("a b/é")); diff != "" {
		t.Fatal(diff)
	}
}

func TestCut(t *testing.T) {
	for _, tt := range []struct {
		in   string
		n    int
		want int
	}{
		{"abc", 5, 3},
		{"abcdef", 4, 4},
		{"ab\u00e9cd", 3, 2},           // inside é
		{"ab\u00e9cd", 4, 4},           // after é
		{"a\u20acb", 2, 1},             // inside €
		{"a\u20acb", 3, 1},             // inside €
		{"huntQ\x80\x80\x80er2", 7, 7}, // not UTF-8: cut where asked
		{"\xe2\x82", 1, 1},             // a character that never ends
		{"x", 0, 0},
	} {
		require.Equal(t, tt.want, Cut([]byte(tt.in), tt.n), "%q at %d", tt.in, tt.n)
	}
}

// TestStreamSplitCharacter: a chunk that ends inside a character of a
// secret in another letter case holds the character back until the next
// chunk completes it (an outside review found "ПАроль" for "пароль" passed
// when cut after five bytes).
func TestStreamSplitCharacter(t *testing.T) {
	m := New(tok, "пароль")
	for _, text := range []string{"ПАроль", "x ПАРОЛЬ y", "пароль"} {
		want := m.String(text)
		require.NotContains(t, want, "оль", text)
		for i := 0; i <= len(text); i++ {
			var got []byte
			s := m.Stream(func(b []byte) { got = append(got, b...) })
			_, _ = s.Write([]byte(text[:i]))
			_, _ = s.Write([]byte(text[i:]))
			s.Close()
			require.Equal(t, want, string(got), "%q cut at %d", text, i)
		}
	}
}

// TestOtherURLEscapers: the forms of Python's quote and JavaScript's
// encodeURIComponent, which Go's escapers do not write (an outside review's
// examples).
func TestOtherURLEscapers(t *testing.T) {
	for secret, forms := range map[string][]string{
		"p@ss/w0rd": {"p%40ss/w0rd", "p%40ss%2Fw0rd", "p%40ss%2fw0rd"},
		"p@ss!w0rd": {"p%40ss!w0rd", "p%40ss%21w0rd"},
	} {
		m := New(tok, secret)
		for _, f := range forms {
			require.Equal(t, "<"+tok+">", m.String("<"+f+">"), "%s as %s", secret, f)
		}
	}
}
