package main

import (
	"fmt"
	"io"
)

// runTargets is built in the targets issue.
func runTargets(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "immyctl targets: not built yet")
	return exitFailure
}
