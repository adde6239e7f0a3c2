//go:build unix

package sdk_test

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"time"

	"github.com/immyoss/engine/plugins/sdk"
)

func ExampleRunChild() {
	// In a plugin's RunScript: the script, and whatever it starts, ends
	// with ctx or with the plugin.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, "sh", "-c", "echo hello from the script")
	cmd.Stdout = &out
	if err := sdk.RunChild(cmd); err != nil {
		fmt.Println(err)
	}
	fmt.Print(out.String())
	// Output:
	// hello from the script
}
