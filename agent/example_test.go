package agent_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/immyoss/engine/agent"
	"github.com/immyoss/engine/agent/endpoint"
	"github.com/immyoss/engine/immy"
)

// A server mounted on a TLS listener, an agent enrolled with a tenant's
// install token, and a script run through the server.
func Example() {
	ctx := context.Background()
	online := make(chan string, 1)
	srv := agent.NewServer(agent.Config{OnStatus: func(s agent.Status) {
		if s.Online {
			online <- s.AgentID
		}
	}})
	ts := httptest.NewTLSServer(srv)
	defer ts.Close()
	defer srv.Close()

	token, _, err := srv.CreateInstallToken(ctx, "acme", agent.TokenOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	a, err := endpoint.New(endpoint.Config{
		Server:       "wss" + strings.TrimPrefix(ts.URL, "https"),
		InstallToken: token,
		TLS:          ts.Client().Transport.(*http.Transport).TLSClientConfig, // trusts the test certificate
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	agentCtx, stop := context.WithCancel(ctx)
	defer stop()
	go a.Run(agentCtx)

	id := <-online
	st, _ := srv.Status(id)
	fmt.Println("online in tenant", st.Tenant)
	res, err := srv.RunScript(ctx, immy.ScriptRequest{
		Computer:   id,
		Script:     immy.Script{Language: immy.LanguageLua, Body: `return "hello from " .. Name`},
		Parameters: map[string]any{"Name": "the agent"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Value)
	// Output:
	// online in tenant acme
	// hello from the agent
}
