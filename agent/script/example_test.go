package script_test

import (
	"context"
	"fmt"

	"github.com/immyoss/engine/agent/script"
	"github.com/immyoss/engine/immy"
)

func ExampleRunner_RunScript() {
	r := script.New(script.Config{})
	res, err := r.RunScript(context.Background(), immy.ScriptRequest{
		Script: immy.Script{Language: immy.LanguageLua, Body: `
print("connecting as " .. User .. " with " .. Password)
return Major + 1`},
		Parameters: map[string]any{"User": "svc-backup", "Password": "s3cret!", "Major": 4},
		Secrets:    []string{"Password"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(res.Output)
	fmt.Println("exit", res.ExitCode, "value", res.Value)
	// Output:
	// connecting as svc-backup with ********
	// exit 0 value 5
}
