package redact

import (
	"strings"
	"testing"
)

// FuzzMask writes output in chunks through a Stream: however it is cut, the
// stream passes on what String makes of the whole, and neither shows a
// secret or any transform of one.
func FuzzMask(f *testing.F) {
	f.Add("user=admin pass=hunter2\n", "hunter2", "admin", uint8(3))
	f.Add("aaaa", "aa", "a", uint8(1))
	f.Add("huntQ\x80\x80\x80er2abc", "hunter2", "", uint8(2))
	f.Add("aHVudGVyMg== SFVOVEVSMg 68756E74657232", "hunter2", "HUNTER2", uint8(5))
	f.Fuzz(func(t *testing.T, data, sec1, sec2 string, step uint8) {
		secrets := []string{sec1, sec2}
		for _, s := range secrets {
			if strings.Contains(s, "*") {
				return // the token itself would show it
			}
		}
		m := New(tok, secrets...)
		whole := m.String(data)
		got, _ := stream(m, data, int(step%16)+1)
		if got != whole {
			t.Fatalf("streamed %q, whole %q", got, whole)
		}
		assertHidden(t, whole, secrets...)
	})
}

// assertHidden fails when out shows one of the secrets or its transforms:
// a folded transform in any case, an exact one as it is.
func assertHidden(t *testing.T, out string, secrets ...string) {
	t.Helper()
	fo := foldString(out)
	for _, s := range secrets {
		if s == "" {
			continue
		}
		folded, exact := variants(s)
		for _, p := range folded {
			if strings.Contains(fo, foldString(p.text)) {
				t.Fatalf("secret %q shows as %q in %q", s, p.text, out)
			}
		}
		for _, p := range exact {
			if strings.Contains(out, p.text) {
				t.Fatalf("secret %q shows as %q in %q", s, p.text, out)
			}
		}
	}
}
