package meshcentral_test

import (
	"testing"

	"github.com/immyoss/engine/plugins/meshcentral"
	"github.com/immyoss/engine/plugins/sdk/sdktest"
)

// TestConformance runs the SDK's conformance suite against the real server,
// logged in once by the login-token key and once by password.
func TestConformance(t *testing.T) {
	s := testServer(t)
	for _, byPassword := range []bool{false, true} {
		name := "LoginKey"
		if byPassword {
			name = "Password"
		}
		t.Run(name, func(t *testing.T) {
			cfg, secrets := s.config(byPassword)
			p := &meshcentral.Plugin{}
			t.Cleanup(p.Close)
			sdktest.Suite{
				Options:      sdktest.Options{Config: cfg, Secrets: secrets},
				Agent:        s.node,
				OfflineAgent: s.offline,
				Echo:         echo,
				Exit:         exit,
				Sleep:        sleep,
			}.Run(t, p)
		})
	}
}
