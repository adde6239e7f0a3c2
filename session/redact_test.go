package session

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
)

// Issue 16: a script that prints the password transformed (upper-cased,
// hex, URL-escaped) leaks it to neither the report, the journal nor the events.
func TestTransformedSecretsHidden(t *testing.T) {
	const secret = "correct horse battery staple"
	task := immy.Task{ID: "wifi", Name: "Wi-Fi", Parameters: []immy.Parameter{
		{Name: "key", Type: immy.ParamPassword, Required: true},
	},
		Test: luaScript(`return get("key") == key`),
		Set: luaScript(`print("upper " .. string.upper(key))
local h = "" for i = 1, #key do h = h .. string.format("%02X", string.byte(key, i)) end
print("hex " .. h)
print("url " .. string.gsub(key, " ", "+"))
set("key", key)`),
	}
	h := newHarness(t, taskFleet(task, immy.ModeEnforce, map[string]any{"key": secret}, nil), nil)
	sub := h.engine.Subscribe("")
	defer sub.Close()
	rep := h.run(Request{Computer: "pc1"})
	events := until(t, sub, rep.ID)
	require.Equal(t, Passed, rep.Status, "%v %s", outcomes(rep.Actions), rep.Actions[0].Message)
	var logs []string
	for _, ev := range events {
		if ev.Kind == EventLog {
			logs = append(logs, ev.Text)
		}
	}
	for _, want := range []string{"upper " + Redacted, "hex " + Redacted, "url " + Redacted} {
		require.Contains(t, logs, want)
	}
	hexed := fmt.Sprintf("%X", secret)
	for what, v := range map[string]any{"report": rep, "journal": h.journal.Records(), "events": events} {
		b, err := json.Marshal(v)
		require.NoError(t, err)
		for _, leak := range []string{"HORSE", "horse", hexed[:16], "correct+horse"} {
			require.NotContains(t, string(b), leak, "the password is in the %s", what)
		}
	}
}
