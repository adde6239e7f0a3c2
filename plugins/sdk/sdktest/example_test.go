package sdktest_test

import (
	"fmt"
	"time"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/plugins/sdk/sdktest"
)

// A Suite for a plugin that runs shell scripts; in a test, call
// suite.Run(t, impl).
func ExampleSuite() {
	suite := sdktest.Suite{
		Options: sdktest.Options{Config: map[string]string{"url": "https://rmm.example.com", "api_key": "k"}, Secrets: []string{"api_key"}},
		Agent:   "agent-1",
		Echo: func(text string) immy.Script {
			return immy.Script{Language: immy.LanguageShell, Body: "echo '" + text + "'"}
		},
		Exit: func(code int) immy.Script {
			return immy.Script{Language: immy.LanguageShell, Body: fmt.Sprint("exit ", code)}
		},
		Sleep: func(d time.Duration) immy.Script {
			return immy.Script{Language: immy.LanguageShell, Body: fmt.Sprint("sleep ", d.Seconds())}
		},
	}
	fmt.Println(suite.Echo("hi").Body)
	// Output:
	// echo 'hi'
}
