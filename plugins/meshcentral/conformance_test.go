package meshcentral_test

import (
	"testing"

	"github.com/immyoss/engine/plugins/meshcentral"
	"github.com/immyoss/engine/plugins/sdk/sdktest"
)

// TestConformance runs the SDK's conformance suite against the real server,
// logged in as the administrator by the login-token key and by password,
// and as a technician (no site administrator; rights on the device group
// only) by password.
func TestConformance(t *testing.T) {
	s := testServer(t)
	for _, login := range []string{"LoginKey", "Password", "Technician"} {
		t.Run(login, func(t *testing.T) {
			cfg, secrets := s.config(login == "Password")
			if login == "Technician" {
				cfg, secrets = s.techConfig()
			}
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
