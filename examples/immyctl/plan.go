package main

import (
	"fmt"
	"io"
)

// runPlan is built in the resolver issue.
func runPlan(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "immyctl plan: not built yet")
	return exitFailure
}
