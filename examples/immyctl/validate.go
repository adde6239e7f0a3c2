package main

import (
	"fmt"
	"io"
)

// runValidate is built in the foundation issue.
func runValidate(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "immyctl validate: not built yet")
	return exitFailure
}
