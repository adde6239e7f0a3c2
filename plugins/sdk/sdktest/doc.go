// Package sdktest tests integration plugins written with plugins/sdk, in the
// manner of testing/slogtest.
//
// Start serves a plugin implementation inside the test process, over the real
// gRPC stack of go-plugin (its in-process test mode), and connects a
// plugins.Manager to it, so that the test calls it exactly as the engine would,
// host services included:
//
//	h := sdktest.Start(t, &myRMM{}, sdktest.Options{Config: map[string]string{"url": srv.URL}})
//	agents, err := h.Instance.Agents(ctx)
//
// Suite is the conformance suite: it runs, for every capability the plugin
// has, the checks the engine relies on (stable listings, references between
// clients, agents and groups, streamed script output, exit codes, deadlines,
// offline agents, unknown tickets, secrets kept out of the logs):
//
//	func TestConformance(t *testing.T) {
//		sdktest.Suite{
//			Options: sdktest.Options{Config: cfg, Secrets: []string{"api_key"}},
//			Agent:   "test-agent",
//			Echo:    func(s string) immy.Script { return immy.Script{Language: immy.LanguageShell, Body: "echo " + s} },
//		}.Run(t, &myRMM{})
//	}
package sdktest
