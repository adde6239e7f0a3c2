package script

import (
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/immyoss/engine/internal/redact"
)

// However the output is cut into writes, no secret nor any transform of one
// gets through, kept or streamed; what is kept is one prefix of what is
// streamed, within the cap; without secrets or a cap the output is kept as
// written. testdata/fuzz/FuzzSink holds the crasher of issue 16
// ("huntQ\x80\x80\x80er2abc" capped at 7 kept "hunt" and then "er2").
func FuzzSink(f *testing.F) {
	f.Add("user=admin pass=hunter2\n", "hunter2", "admin", uint8(3), uint16(100))
	f.Add("aaaa", "aa", "a", uint8(1), uint16(2))
	f.Add("HUNTER2 "+base64.StdEncoding.EncodeToString([]byte("x:hunter2"))+" "+hex.EncodeToString([]byte("hunter2")), "hunter2", "", uint8(4), uint16(1000))
	f.Fuzz(func(t *testing.T, data, sec1, sec2 string, step uint8, max uint16) {
		if strings.Contains(sec1, "*") || strings.Contains(sec2, "*") {
			return // the mask itself would show it
		}
		var streamed strings.Builder
		s := newSink(int(max), func(b []byte) { streamed.Write(b) }, []string{sec1, sec2})
		n := int(step%16) + 1
		for i := 0; i < len(data); i += n {
			s.Write([]byte(data[i:min(i+n, len(data))]))
		}
		s.close()
		out, truncated := s.result()
		if !strings.HasPrefix(streamed.String(), out) && out != streamed.String() {
			t.Fatalf("kept %q, streamed %q", out, streamed.String())
		}
		if len(out) > int(max) {
			t.Fatalf("kept %d bytes, over the cap %d", len(out), max)
		}
		whole := redact.New(mask, sec1, sec2).String(data)
		if !truncated && out != whole {
			t.Fatalf("kept %q, the whole output masked is %q", out, whole)
		}
		for _, text := range []string{out, streamed.String(), s.value()} {
			for _, sec := range []string{sec1, sec2} {
				if sec == "" {
					continue
				}
				for _, v := range redact.Variants(sec) {
					if strings.Contains(text, v) {
						t.Fatalf("secret %q shows as %q in %q", sec, v, text)
					}
				}
				if utf8.ValidString(sec) && strings.Contains(strings.ToLower(text), strings.ToLower(sec)) {
					t.Fatalf("secret %q shows in another case in %q", sec, text)
				}
			}
		}
		if sec1 == "" && sec2 == "" && !truncated && out != data {
			t.Fatalf("kept %q, wrote %q", out, data)
		}
	})
}
