package resolver

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
)

func marshalIndent(t testing.TB, p *Plan) string {
	t.Helper()
	b, err := json.MarshalIndent(p, "", "  ")
	require.NoError(t, err)
	return string(b) + "\n"
}

func TestWriteJSONIsMarshalIndent(t *testing.T) {
	// Odd ids, escaped as encoding/json escapes them.
	odd := "odd \"names\" <&> \u2028\u2029 \x01\b\f\n\r\t \xff é"
	f := &immy.Fleet{
		At:        time.Date(2026, 1, 2, 3, 4, 5, 600, time.FixedZone("x", 3600)),
		Tenants:   []immy.Tenant{{ID: "t"}},
		Computers: []immy.Computer{{ID: odd, Tenant: "t"}, {ID: "excluded", Tenant: "t", ExcludedFromMaintenance: true}, {ID: "empty", Tenant: "other"}},
		Software:  []immy.Software{software("v", "1.0"), with(software(odd+"app", "1.0"), prereqs(needs("v")), func(s *immy.Software) { s.Detection = immy.Detection{ProductCode: "x"} })},
		Tasks:     []immy.Task{{ID: "b"}},
		Deployments: []immy.Deployment{
			{ID: "w", Item: odd + "app", Target: immy.Target{Type: immy.TargetAllComputers, Tenant: "t"}, Desired: immy.DesiredLatest},
			{ID: "l1", Item: odd + "app", Target: immy.Target{Type: immy.TargetAllComputers}, Desired: immy.DesiredLatest},
			{ID: "l2<>", Item: odd + "app", Target: immy.Target{Type: immy.TargetAllComputers}, Desired: immy.DesiredLatest},
			{ID: "w2", Item: "b", Target: immy.Target{Type: immy.TargetAllComputers}, Mode: immy.ModeEnforce},
		},
	}
	small := newPlanner(t, f, Config{})
	oddPlan, err := small.Plan(context.Background(), Session{})
	require.NoError(t, err)
	p := newPlanner(t, bigFleet(150), Config{})
	big, err := p.Plan(context.Background(), Session{})
	require.NoError(t, err)
	plans := []*Plan{{At: testAt}, oddPlan, big}
	for _, plan := range plans {
		var b bytes.Buffer
		require.NoError(t, plan.WriteJSON(&b))
		require.Equal(t, marshalIndent(t, plan), b.String())
	}
}

func FuzzJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", "\"\\", "<a&b>", "\u2028\u2029", "\x00\x1f\x7f", "\xff\xfe", "é\u00e9日本"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		require.NoError(t, err)
		require.Equal(t, string(want), string(appendJSONString(nil, s)))
	})
}
