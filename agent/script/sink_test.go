package script

import (
	"strings"
	"testing"
)

// However the output is cut into writes, no secret gets through, and
// without secrets or a cap the output is kept as written.
func FuzzSink(f *testing.F) {
	f.Add("user=admin pass=hunter2\n", "hunter2", "admin", uint8(3), uint16(100))
	f.Add("aaaa", "aa", "a", uint8(1), uint16(2))
	f.Fuzz(func(t *testing.T, data, sec1, sec2 string, step uint8, max uint16) {
		if strings.Contains(sec1, "*") || strings.Contains(sec2, "*") {
			return
		}
		var streamed strings.Builder
		s := newSink(int(max), func(b []byte) { streamed.Write(b) }, []string{sec1, sec2})
		n := int(step%16) + 1
		for i := 0; i < len(data); i += n {
			s.Write([]byte(data[i:min(i+n, len(data))]))
		}
		s.close()
		out, truncated := s.result()
		if out != streamed.String() {
			t.Fatalf("kept %q, streamed %q", out, streamed.String())
		}
		if len(out) > int(max) {
			t.Fatalf("kept %d bytes, over the cap %d", len(out), max)
		}
		for _, sec := range []string{sec1, sec2} {
			if sec != "" && strings.Contains(out, sec) {
				t.Fatalf("secret %q in the output %q", sec, out)
			}
		}
		if sec1 == "" && sec2 == "" && !truncated && out != data {
			t.Fatalf("kept %q, wrote %q", out, data)
		}
	})
}
