package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/immyoss/engine/resolver"
)

// writePlanProblems lists on stderr what held or refused part of a plan,
// one a line, located in the file as validate locates problems: a filter
// that failed at run time on a computer holds its item there, and an item
// private to another tenant is refused as a prerequisite or configuration
// task. The plan itself (on stdout) lists them too, per computer; the rest
// is planned and the status stays 0.
func writePlanProblems(w io.Writer, ps []resolver.Problem) {
	if len(ps) == 0 {
		return
	}
	var b strings.Builder
	noun := "problems"
	if len(ps) == 1 {
		noun = "problem"
	}
	fmt.Fprintf(&b, "immyctl plan: %d %s held or refused part of the plan; the rest is planned:\n", len(ps), noun)
	for _, p := range ps {
		b.WriteString(strings.TrimPrefix(p.Error(), "resolver: "))
		b.WriteByte('\n')
	}
	io.WriteString(w, b.String())
}
