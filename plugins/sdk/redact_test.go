package sdk

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	pluginv2 "github.com/immyoss/engine/plugins/proto/immy/plugin/v2"
)

// sentOutput records the output events a RunScript stream sends.
type sentOutput struct {
	grpc.ServerStreamingServer[pluginv2.RunScriptEvent]
	out strings.Builder
}

func (s *sentOutput) Send(ev *pluginv2.RunScriptEvent) error {
	s.out.Write(ev.GetOutput())
	return nil
}

// Issue 16: what a plugin's script writes leaves the plugin with the
// secrets and their transforms masked, even when written a byte at a time,
// and the cap never joins fragments into a secret.
func TestOutputMasked(t *testing.T) {
	secrets := &secretSet{}
	secrets.set([]string{"cfg-T0ken"})
	sent := &sentOutput{}
	w := &outputWriter{stream: sent, room: 1 << 20}
	w.masked = secrets.with("hunter2").Stream(w.send)
	text := "token=CFG-T0KEN pass=hunter2 b64=" + base64.StdEncoding.EncodeToString([]byte("admin:hunter2")) + " HUNTER2\n"
	for i := range len(text) {
		_, err := w.Write([]byte{text[i]})
		require.NoError(t, err)
	}
	w.close()
	require.Equal(t, "token=[redacted] pass=[redacted] b64=YWRta[redacted] [redacted]\n", sent.out.String())

	sent = &sentOutput{}
	w = &outputWriter{stream: sent, room: 7}
	w.masked = secrets.with("hunter2").Stream(w.send)
	w.Write([]byte("huntQ\x80\x80\x80"))
	w.Write([]byte("er2abc"))
	w.close()
	require.Equal(t, "huntQ\x80\x80", sent.out.String(), "nothing is sent after the cap cut")
	require.True(t, w.truncated)
}
